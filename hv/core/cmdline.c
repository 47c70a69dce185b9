#include "core/cmdline.h"
#include "core/errno.h"
#include "core/fmt.h"
#include <string.h>

#define WORD_MAX 128

enum opt_kind { OPT_NAME, OPT_U32, OPT_FLAG, OPT_MODE, OPT_BDF };

struct option {
    const char *key;
    enum opt_kind kind;
    size_t offset;
    uint32_t min, max;
};

static const struct option options[] = {
    { "guest", OPT_NAME, offsetof(struct config, guest), 0, 0 },
    { "mem", OPT_U32, offsetof(struct config, mem_mib), 4, 3072 },
    { "tick", OPT_U32, offsetof(struct config, tick_hz), 10, 10000 },
    { "direct-tick", OPT_U32, offsetof(struct config, direct_tick_hz), 1, 10000 },
    { "watchdog", OPT_U32, offsetof(struct config, watchdog_ms), 0, 1000 },
    { "mode", OPT_MODE, offsetof(struct config, mode), 0, 0 },
    { "assign", OPT_BDF, offsetof(struct config, assign), 0, 0 },
    { "quiet", OPT_FLAG, offsetof(struct config, quiet), 0, 0 },
    { "unsafe-no-iommu", OPT_FLAG, offsetof(struct config, unsafe_no_iommu), 0, 0 },
    { "unsafe-dma-offset", OPT_FLAG, offsetof(struct config, unsafe_dma_offset), 0, 0 },
    { "keep-timer", OPT_FLAG, offsetof(struct config, keep_timer), 0, 0 },
    { "bochs-shutdown", OPT_FLAG, offsetof(struct config, bochs_shutdown), 0, 0 },
    { "kvm-signature", OPT_FLAG, offsetof(struct config, kvm_signature), 0, 0 },
};

static const struct option *find_option(const char *key, size_t keylen)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strlen(options[i].key) == keylen && !strncmp(options[i].key, key, keylen))
            return &options[i];
    return NULL;
}

/* Decimal or 0x-hex, no sign, no trailing garbage, no overflow. */
static bool parse_u32(const char *s, uint32_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        v = v * base + d;
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CONFIG_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

/* The shape of a PCI address ([SSSS:]BB:DD.F); its fields are checked when used. */
static bool valid_bdf(const char *s)
{
    size_t n = strlen(s);
    if (n < 5 || n >= sizeof(((struct config *)0)->assign))
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F') ||
              *s == ':' || *s == '.'))
            return false;
    return true;
}

static int apply_option(struct config *cfg, const struct option *opt, const char *word,
                        const char *value, char *err, size_t errlen)
{
    char *field = (char *)cfg + opt->offset;
    uint32_t v;
    switch (opt->kind) {
    case OPT_NAME:
        if (!value || !valid_name(value)) {
            fmt_snprintf(err, errlen, "option '%s': expected a name of 1 to %d characters [A-Za-z0-9_-]",
                         word, CONFIG_NAME_MAX - 1);
            return -EINVAL;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_U32:
        if (!value || !parse_u32(value, &v) || v < opt->min || v > opt->max) {
            fmt_snprintf(err, errlen, "option '%s': expected a number from %u to %u", word,
                         opt->min, opt->max);
            return -EINVAL;
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    case OPT_MODE:
        if (!value || eli_mode_parse(value, (enum eli_mode *)(void *)field)) {
            fmt_snprintf(err, errlen, "option '%s': expected baseline, eli-delivery or eli", word);
            return -EINVAL;
        }
        return 0;
    case OPT_BDF:
        if (!value || !valid_bdf(value)) {
            fmt_snprintf(err, errlen, "option '%s': expected a PCI address BB:DD.F", word);
            return -EINVAL;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_FLAG:
        if (value) {
            fmt_snprintf(err, errlen, "option '%s': takes no value", word);
            return -EINVAL;
        }
        *(bool *)field = true;
        return 0;
    }
    return -EINVAL;
}

static void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mem_mib = 64;
    /* eli's tick drives no scheduler (one guest, nothing else to run): 100 Hz keeps its
     * own exits low; the watchdog needs two tick periods to tell a late tick from none */
    cfg->tick_hz = 100;
    /* in direct mode the tick only shows that eli can get in, and each is an exit: a
     * guest that keeps eli out is found within 200 ms plus the watchdog's margin */
    cfg->direct_tick_hz = 5;
    cfg->watchdog_ms = 20;
    cfg->mode = ELI_MODE_FULL;
}

static int parse_word(struct config *cfg, const char *word, char *err, size_t errlen)
{
    const char *eq = strchr(word, '=');
    size_t keylen = eq ? (size_t)(eq - word) : strlen(word);
    const struct option *opt = find_option(word, keylen);
    if (!opt) {
        fmt_snprintf(err, errlen, "unknown option '%s'", word);
        return -EINVAL;
    }
    return apply_option(cfg, opt, word, eq ? eq + 1 : NULL, err, errlen);
}

int config_parse(struct config *cfg, const char *cmdline, char *err, size_t errlen)
{
    config_defaults(cfg);
    const char *p = cmdline ? cmdline : "";
    bool first = true;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - start);
        /* multiboot loaders (GRUB, QEMU) put the kernel's own path first: skip it,
         * however long it is */
        if (first && !memchr(start, '=', n) && !find_option(start, n)) {
            first = false;
            continue;
        }
        first = false;
        char word[WORD_MAX];
        if (n >= WORD_MAX) {
            fmt_snprintf(err, errlen, "option too long (%zu characters)", n);
            return -EINVAL;
        }
        memcpy(word, start, n);
        word[n] = '\0';
        int rc = parse_word(cfg, word, err, errlen);
        if (rc)
            return rc;
    }
    if (!cfg->guest[0]) {
        fmt_snprintf(err, errlen, "missing option 'guest=NAME' (the guest module to run)");
        return -EINVAL;
    }
    return 0;
}
