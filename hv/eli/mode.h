/* eli's interrupt-delivery modes (docs/eli.md section 2). */
#ifndef ELI_ELI_MODE_H
#define ELI_ELI_MODE_H

enum eli_mode {
    ELI_MODE_BASELINE, /* traditional assignment: every interrupt exits twice */
    ELI_MODE_DELIVERY, /* exitless delivery, intercepted EOI */
    ELI_MODE_FULL,     /* exitless delivery and completion */
    ELI_MODE_COUNT
};

/* "baseline", "eli-delivery", "eli" */
const char *eli_mode_name(enum eli_mode m);
/* Returns 0, or -EINVAL for an unknown name. */
int eli_mode_parse(const char *s, enum eli_mode *out);

#endif
