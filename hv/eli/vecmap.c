#include "eli/vecmap.h"
#include "core/errno.h"
#include <string.h>

void vecmap_init(struct vecmap *m, const uint8_t *host_vectors, unsigned n)
{
    memset(m, 0, sizeof(*m));
    for (unsigned i = 0; i < n; i++)
        m->host_owned[host_vectors[i] / 64] |= 1ull << (host_vectors[i] % 64);
}

bool vecmap_host_owned(const struct vecmap *m, uint8_t p)
{
    return m->host_owned[p / 64] >> (p % 64) & 1;
}

/* No guest interrupt gets a physical vector in the priority class of one of eli's
 * own: in service and never completed, it would hold eli's vector off (SDM vol. 3,
 * 11.8.3). */
static bool host_class(const struct vecmap *m, unsigned p)
{
    for (unsigned v = p & 0xf0u; v < (p & 0xf0u) + 16; v++)
        if (vecmap_host_owned(m, (uint8_t)v))
            return true;
    return false;
}

static bool phys_free(const struct vecmap *m, unsigned p)
{
    return p >= VEC_FIRST_EXTERNAL && p < 256 && !host_class(m, p) && !m->p2g[p];
}

/* A free vector in the guest vector's own priority class first (so physical
 * priorities keep the guest's order where they can), then any, highest first. */
static int find_free(const struct vecmap *m, uint8_t g)
{
    unsigned cls = g & 0xf0u;
    for (unsigned p = cls + 15; p + 1 > cls; p--)
        if (phys_free(m, p))
            return (int)p;
    for (unsigned p = 255; p >= VEC_FIRST_EXTERNAL; p--)
        if (phys_free(m, p))
            return (int)p;
    return -ENOSPC;
}

int vecmap_map(struct vecmap *m, uint8_t g)
{
    if (g < VEC_FIRST_EXTERNAL)
        return -EINVAL;
    unsigned gi = g;
    if (m->g2p[gi])
        return m->g2p[gi];
    int p = phys_free(m, g) ? g : find_free(m, g);
    if (p < 0)
        return p;
    m->g2p[g] = (uint8_t)p;
    m->p2g[p] = g;
    return p;
}

void vecmap_unmap(struct vecmap *m, uint8_t g)
{
    uint8_t p = m->g2p[g];
    if (!p)
        return;
    m->p2g[p] = 0;
    m->g2p[g] = 0;
}

int vecmap_guest(const struct vecmap *m, uint8_t p)
{
    return m->p2g[p] ? m->p2g[p] : -1;
}

int vecmap_phys(const struct vecmap *m, uint8_t g)
{
    return m->g2p[g] ? m->g2p[g] : -1;
}
