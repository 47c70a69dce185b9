#include "core/stats.h"
#include "core/fmt.h"
#include "eli/eli.h"

struct stats stats;

const char *const exit_reason_names[EXIT_R_COUNT] = {
    [EXIT_R_CPUID] = "cpuid",   [EXIT_R_MSR] = "msr",           [EXIT_R_IO] = "io",
    [EXIT_R_HLT] = "hlt",       [EXIT_R_INTR] = "intr",         [EXIT_R_NMI] = "nmi",
    [EXIT_R_NPF] = "npf",       [EXIT_R_SHUTDOWN] = "shutdown", [EXIT_R_EXCEPTION] = "exception",
    [EXIT_R_VM_INSN] = "vm_insn", [EXIT_R_CR] = "cr",           [EXIT_R_DTR] = "dtr",
    [EXIT_R_VINTR] = "vintr",   [EXIT_R_OTHER] = "other",
};

static struct stats_point point(const struct stats *s, uint64_t tsc)
{
    return (struct stats_point){ tsc, s->exits_total, s->guest_cycles, s->ticks };
}

void stats_line_start(struct stats *s, uint64_t tsc)
{
    s->line_start = point(s, tsc);
}

void stats_line_end(struct stats *s, uint64_t tsc)
{
    s->guest_lines++;
    s->marks[s->guest_lines % STATS_MARKS] =
        (struct stats_mark){ s->guest_lines, s->line_start, point(s, tsc) };
}

struct jbuf {
    char *buf;
    size_t len, at;
};

static void jput(struct jbuf *j, const char *fmt, unsigned long long v, const char *s)
{
    size_t room = j->at < j->len ? j->len - j->at : 0;
    char *at = room ? j->buf + j->at : NULL;
    int n = s ? fmt_snprintf(at, room, fmt, s) : fmt_snprintf(at, room, fmt, v);
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

static void put_point(struct jbuf *j, const struct stats_point *p)
{
    jput(j, ",%llu", p->tsc, NULL);
    jput(j, ",%llu", p->exits, NULL);
    jput(j, ",%llu", p->guest_cycles, NULL);
    jput(j, ",%llu", p->ticks, NULL);
}

/* "marks":[[line, tsc, exits, guest_cycles, ticks at its start, the same at its end],
 * ...], oldest first */
static void put_marks(struct jbuf *j, const struct stats *s)
{
    uint64_t n = s->guest_lines < STATS_MARKS ? s->guest_lines : STATS_MARKS;
    uint64_t first = s->guest_lines - n + 1;
    jput(j, ",\"marks\":[", 0, NULL);
    for (uint64_t i = 0; i < n; i++) {
        const struct stats_mark *k = &s->marks[(first + i) % STATS_MARKS];
        jput(j, i ? ",[%llu" : "[%llu", k->line, NULL);
        put_point(j, &k->start);
        put_point(j, &k->end);
        jput(j, "]", 0, NULL);
    }
    jput(j, "]", 0, NULL);
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
    jput(&j, ",\"ticks_missed\":%llu", s->ticks_missed, NULL);
    jput(&j, ",\"tick_irqs\":%llu", s->tick_irqs, NULL);
    jput(&j, ",\"tick_late_max\":%llu", s->tick_late_max, NULL);
    jput(&j, ",\"tick_hz\":%llu", m->tick_hz, NULL);
    jput(&j, ",\"host_irqs\":%llu", s->host_irqs, NULL);
    jput(&j, ",\"host_nmis\":%llu", s->host_nmis, NULL);
    jput(&j, ",\"watchdog_nmis\":%llu", s->watchdog_nmis, NULL);
    jput(&j, ",\"guest_status\":%llu", m->guest_status, NULL);
    jput(&j, ",\"end\":\"%s\"", 0, safe(m->end));
    jput(&j, ",\"backend\":\"%s\"", 0, safe(m->backend));
    jput(&j, ",\"guest\":\"%s\"", 0, safe(m->guest));
    jput(&j, ",\"mode\":\"%s\"", 0, safe(m->mode));
    if (m->eli) {
        const struct eli_counters *n = m->eli;
        jput(&j, ",\"eli\":{\"injected\":%llu", n->injected, NULL);
        jput(&j, ",\"injected_assigned\":%llu", n->injected_assigned, NULL);
        jput(&j, ",\"eoi_exits\":%llu", n->eoi_exits, NULL);
        jput(&j, ",\"bounces\":%llu", n->bounces, NULL);
        jput(&j, ",\"to_direct\":%llu", n->to_direct, NULL);
        jput(&j, ",\"to_injection\":%llu", n->to_injection, NULL);
        jput(&j, ",\"shadow_builds\":%llu", n->shadow_builds, NULL);
        jput(&j, ",\"idt_writes\":%llu", n->idt_writes, NULL);
        jput(&j, ",\"starved\":%llu", n->starved, NULL);
        jput(&j, ",\"warned\":%llu}", n->warned, NULL);
    }
    jput(&j, ",\"lapic\":{\"timer_fires\":%llu", m->lapic_timer_fires, NULL);
    jput(&j, ",\"dropped_ipis\":%llu}", m->lapic_dropped_ipis, NULL);
    if (m->integrity)
        jput(&j, ",\"integrity\":{\"ok\":%s}", 0, m->integrity == 1 ? "true" : "false");
    put_marks(&j, s);
    jput(&j, "}", 0, NULL);
    if (len)
        buf[j.at < len ? j.at : len - 1] = '\0';
    return j.at;
}
