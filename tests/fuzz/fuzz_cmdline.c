/* libFuzzer target: hv/core/cmdline.c, config_parse of eli's command line (with
 * hv/eli/mode.c for mode=).
 *
 * Input: the command line itself, made a NUL-terminated string in a heap block of
 * exactly its length + 1 (an embedded NUL ends it early, as it would in memory).
 * The error buffer is an exact heap block too. tests/fuzz/cmdline.dict gives
 * libFuzzer the option names and values. */
#include "fuzz.h"

#include "core/cmdline.h"
#include "core/errno.h"
#include "eli/mode.h"

#define ERRLEN 80

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char *err = malloc(ERRLEN);
    struct config *cfg = malloc(sizeof(*cfg));
    FUZZ_CHECK(s && err && cfg);
    memcpy(s, data, size);
    s[size] = '\0';
    memset(err, 0, ERRLEN);
    memset(cfg, 0xa5, sizeof(*cfg));

    int rc = config_parse(cfg, s, err, ERRLEN);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL, "rc %d", rc);
    if (rc) {
        FUZZ_CHECK(fuzz_nul_within(err, ERRLEN) && err[0] != '\0', "error without a message");
    } else {
        FUZZ_CHECK(fuzz_nul_within(cfg->guest, sizeof(cfg->guest)) && cfg->guest[0] != '\0');
        for (const char *p = cfg->guest; *p; p++)
            FUZZ_CHECK(name_char(*p), "guest name '%s'", cfg->guest);
        FUZZ_CHECK(strstr(s, cfg->guest) != NULL, "guest name not from the command line");
        FUZZ_CHECK(cfg->mem_mib >= 4 && cfg->mem_mib <= 3072, "mem %u", cfg->mem_mib);
        FUZZ_CHECK(cfg->tick_hz >= 10 && cfg->tick_hz <= 10000, "tick %u", cfg->tick_hz);
        FUZZ_CHECK((unsigned)cfg->mode < ELI_MODE_COUNT, "mode %d", cfg->mode);
        FUZZ_CHECK(fuzz_nul_within(cfg->assign, sizeof(cfg->assign)));
        FUZZ_CHECK(cfg->assign[0] == '\0' || strlen(cfg->assign) >= 5);
        volatile bool q = cfg->quiet; /* UBSan checks the bool's value on load */
        (void)q;
    }

    /* mode names round-trip */
    for (unsigned m = 0; m < ELI_MODE_COUNT; m++) {
        enum eli_mode back;
        FUZZ_CHECK(eli_mode_parse(eli_mode_name((enum eli_mode)m), &back) == 0 && back == (enum eli_mode)m);
    }
    free(cfg);
    free(err);
    free(s);
    return 0;
}
