/* The one guest eli runs: its RAM, devices, interrupt state and how it ended. */
#ifndef ELI_CORE_GUEST_H
#define ELI_CORE_GUEST_H
#include "core/gmem.h"
#include "dev/vlapic.h"
#include "dev/vuart.h"
#include "eli/eli.h"
#include <stdint.h>

struct guest {
    const char *name;
    struct gmem mem;    /* hva == host-physical: eli identity-maps memory */
    uint64_t ram_hpa;
    struct vuart uart;
    struct vlapic lapic;
    struct eli eli;
};

extern struct guest guest;

#endif
