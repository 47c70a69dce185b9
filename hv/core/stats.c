#include "core/stats.h"
#include "core/fmt.h"

struct stats stats;

const char *const exit_reason_names[EXIT_R_COUNT] = {
    [EXIT_R_CPUID] = "cpuid",   [EXIT_R_MSR] = "msr",           [EXIT_R_IO] = "io",
    [EXIT_R_HLT] = "hlt",       [EXIT_R_INTR] = "intr",         [EXIT_R_NMI] = "nmi",
    [EXIT_R_NPF] = "npf",       [EXIT_R_SHUTDOWN] = "shutdown", [EXIT_R_EXCEPTION] = "exception",
    [EXIT_R_VM_INSN] = "vm_insn", [EXIT_R_CR] = "cr",           [EXIT_R_DTR] = "dtr",
    [EXIT_R_VINTR] = "vintr",   [EXIT_R_OTHER] = "other",
};

struct jbuf {
    char *buf;
    size_t len, at;
};

static void jput(struct jbuf *j, const char *fmt, unsigned long long v, const char *s)
{
    size_t room = j->at < j->len ? j->len - j->at : 0;
    int n = s ? fmt_snprintf(j->buf + j->at, room, fmt, s) : fmt_snprintf(j->buf + j->at, room, fmt, v);
    j->at += (size_t)n;
}

/* Names are ours and plain: no JSON escaping is needed, but refuse quotes anyway. */
static const char *safe(const char *s)
{
    for (const char *p = s; p && *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            return "?";
    return s ? s : "";
}

size_t stats_result_json(const struct stats *s, const struct result_meta *m, char *buf, size_t len)
{
    struct jbuf j = { buf, len, 0 };
    jput(&j, "{\"exits\":{", 0, NULL);
    for (int r = 0; r < EXIT_R_COUNT; r++) {
        jput(&j, r ? ",\"%s\":" : "\"%s\":", 0, exit_reason_names[r]);
        jput(&j, "%llu", s->exits[r], NULL);
    }
    jput(&j, "},\"exits_total\":%llu", s->exits_total, NULL);
    jput(&j, ",\"guest_cycles\":%llu", s->guest_cycles, NULL);
    jput(&j, ",\"wall_cycles\":%llu", m->now_tsc - s->run_start_tsc, NULL);
    jput(&j, ",\"tsc_hz\":%llu", m->tsc_hz, NULL);
    jput(&j, ",\"ticks\":%llu", s->ticks, NULL);
    jput(&j, ",\"tick_hz\":%llu", m->tick_hz, NULL);
    jput(&j, ",\"host_irqs\":%llu", s->host_irqs, NULL);
    jput(&j, ",\"host_nmis\":%llu", s->host_nmis, NULL);
    jput(&j, ",\"guest_status\":%llu", m->guest_status, NULL);
    jput(&j, ",\"end\":\"%s\"", 0, safe(m->end));
    jput(&j, ",\"backend\":\"%s\"", 0, safe(m->backend));
    jput(&j, ",\"guest\":\"%s\"}", 0, safe(m->guest));
    if (len)
        buf[j.at < len ? j.at : len - 1] = '\0';
    return j.at;
}
