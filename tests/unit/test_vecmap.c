/* Host unit tests of hv/eli/vecmap.c: which physical vector carries each guest vector
 * of the assigned device (p = g where free, else a free vector, never one in the
 * priority class (vector & 0xF0) of one of eli's: with eli's 0xF0, 0xFE and 0xFF the
 * whole class 0xF0-0xFF is eli's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/errno.h"
#include "eli/vecmap.h"

static const uint8_t host3[] = { 0xF0, 0xFE, 0xFF }; /* timer, error, spurious */
static struct vecmap m;

static int setup(void **state)
{
    (void)state;
    memset(&m, 0xA5, sizeof(m)); /* vecmap_init must not rely on zeroed memory */
    vecmap_init(&m, host3, sizeof(host3));
    return 0;
}

static bool is_host3(int p)
{
    return p == 0xF0 || p == 0xFE || p == 0xFF;
}

/* Whether p's priority class holds a vector eli owns (per the map's own bitmap, which
 * test_init_empty and test_host_owned_bitmap check). */
static bool in_host_class(int p)
{
    for (int v = p & 0xF0; v < (p & 0xF0) + 16; v++)
        if (vecmap_host_owned(&m, (uint8_t)v))
            return true;
    return false;
}

/* Every mapping is a bijection between the g2p and p2g views, and no physical vector
 * is an exception vector, one of eli's own or in the class of one of eli's own. */
static void check_consistent(void)
{
    unsigned seen[256] = { 0 };
    for (unsigned g = 0; g < 256; g++) {
        int p = vecmap_phys(&m, (uint8_t)g);
        if (p < 0)
            continue;
        assert_true(g >= VEC_FIRST_EXTERNAL);
        assert_in_range(p, VEC_FIRST_EXTERNAL, 255);
        assert_false(vecmap_host_owned(&m, (uint8_t)p));
        assert_false(in_host_class(p));
        assert_int_equal(vecmap_guest(&m, (uint8_t)p), g);
        seen[p]++;
        assert_int_equal(seen[p], 1); /* no physical vector carries two guest vectors */
    }
    for (unsigned p = 0; p < 256; p++) {
        int g = vecmap_guest(&m, (uint8_t)p);
        if (g >= 0)
            assert_int_equal(vecmap_phys(&m, (uint8_t)g), p);
    }
}

static void test_init_empty(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++) {
        assert_int_equal(vecmap_phys(&m, (uint8_t)v), -1);
        assert_int_equal(vecmap_guest(&m, (uint8_t)v), -1);
        assert_int_equal(vecmap_host_owned(&m, (uint8_t)v), is_host3((int)v));
    }
}

/* Host vectors in each of the four 64-bit words of the bitmap, at word edges. */
static void test_host_owned_bitmap(void **state)
{
    (void)state;
    static const uint8_t hv[] = { 0x20, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFF };
    vecmap_init(&m, hv, sizeof(hv));
    for (unsigned v = 0; v < 256; v++) {
        bool want = memchr(hv, (int)v, sizeof(hv)) != NULL;
        assert_int_equal(vecmap_host_owned(&m, (uint8_t)v), want);
    }
    /* none of them, nor any vector of their classes (0x20, 0x30, 0x40, 0x70, 0x80,
     * 0xB0, 0xC0, 0xF0), is ever handed to a guest: each goes to the highest free
     * vector outside those classes, 0xEF, 0xEE, ... */
    for (unsigned i = 0; i < sizeof(hv); i++) {
        int p = vecmap_map(&m, hv[i]);
        assert_int_equal(p, 0xEF - (int)i);
        assert_false(vecmap_host_owned(&m, (uint8_t)p));
        assert_true(memchr(hv, p, sizeof(hv)) == NULL);
    }
    check_consistent();
    /* the same for a vector of such a class that eli does not own itself */
    assert_int_equal(vecmap_map(&m, 0x35), 0xEF - (int)sizeof(hv));
    /* and a class with none of eli's keeps identity, at its edges too */
    assert_int_equal(vecmap_map(&m, 0x50), 0x50);
    assert_int_equal(vecmap_map(&m, 0x6F), 0x6F);
    assert_int_equal(vecmap_map(&m, 0xA0), 0xA0);
    check_consistent();
}

/* Identity holds outside the classes of eli's vectors, up to 0xEF. */
static void test_identity_when_free(void **state)
{
    (void)state;
    static const uint8_t gs[] = { 32, 0x41, 0x80, 0xDF, 0xE0, 0xEF };
    for (unsigned i = 0; i < sizeof(gs); i++) {
        assert_int_equal(vecmap_map(&m, gs[i]), gs[i]);
        assert_int_equal(vecmap_phys(&m, gs[i]), gs[i]);
        assert_int_equal(vecmap_guest(&m, gs[i]), gs[i]);
    }
    assert_int_equal(vecmap_phys(&m, 0x42), -1);
    assert_int_equal(vecmap_guest(&m, 0x42), -1);
    check_consistent();
}

/* A free vector in the class of one of eli's vectors is not identity-mapped: an
 * assigned interrupt there, in service and never EOIed, would hold eli's vector off.
 * Each goes to the highest free vector, searching down from 255 and skipping the
 * class: 0xEF first. */
static void test_host_class_never_identity(void **state)
{
    (void)state;
    assert_int_equal(vecmap_map(&m, 0xF1), 0xEF);
    assert_int_equal(vecmap_map(&m, 0xFD), 0xEE);
    assert_int_equal(vecmap_guest(&m, 0xF1), -1);
    assert_int_equal(vecmap_guest(&m, 0xFD), -1);
    assert_int_equal(vecmap_guest(&m, 0xEF), 0xF1);
    assert_int_equal(vecmap_guest(&m, 0xEE), 0xFD);
    check_consistent();

    /* all 16 of the class: none stays in it, all land on 0xEF, 0xEE, ... */
    setup(NULL);
    for (unsigned g = 0xF0; g <= 0xFF; g++)
        assert_int_equal(vecmap_map(&m, (uint8_t)g), 0xEF - (int)(g - 0xF0));
    for (unsigned p = 0xF0; p <= 0xFF; p++)
        assert_int_equal(vecmap_guest(&m, (uint8_t)p), -1);
    check_consistent();

    /* the class follows eli's vectors: with eli owning only 0x50, class 0x50 is out,
     * class 0xF0 is a guest's like any other (the search starts at 255) */
    static const uint8_t only50[] = { 0x50 };
    vecmap_init(&m, only50, sizeof(only50));
    assert_int_equal(vecmap_map(&m, 0x5A), 0xFF);
    assert_int_equal(vecmap_map(&m, 0x50), 0xFE);
    assert_int_equal(vecmap_map(&m, 0xF0), 0xF0);
    assert_int_equal(vecmap_map(&m, 0x4F), 0x4F);
    assert_int_equal(vecmap_map(&m, 0x60), 0x60);
    check_consistent();
}

/* A guest vector equal to one of eli's leaves the class; a collision with another
 * mapping outside eli's classes keeps the guest's class where it can. */
static void test_host_vector_remapped(void **state)
{
    (void)state;
    int p = vecmap_map(&m, 0xF0);
    assert_int_equal(p, 0xEF); /* the highest free vector outside class 0xF0 */
    assert_int_equal(vecmap_phys(&m, 0xF0), 0xEF);
    assert_int_equal(vecmap_guest(&m, 0xEF), 0xF0);
    assert_int_equal(vecmap_guest(&m, 0xF0), -1); /* the host vector carries nothing */

    /* a second host-owned guest vector gets the next one down */
    assert_int_equal(vecmap_map(&m, 0xFE), 0xEE);
    /* so does a guest vector of the class that eli does not own */
    assert_int_equal(vecmap_map(&m, 0xF5), 0xED);

    /* the guest's own vector 0xEF is now taken: it moves within its class 0xE0, to
     * the highest free vector there, never onto 0xEF, 0xEE or 0xED */
    assert_int_equal(vecmap_map(&m, 0xEF), 0xEC);
    assert_int_equal(vecmap_guest(&m, 0xEF), 0xF0); /* 0xEF still carries 0xF0 */
    assert_int_equal(vecmap_guest(&m, 0xEC), 0xEF);
    /* and the guest's 0xEC, displaced in turn, to 0xEB */
    assert_int_equal(vecmap_map(&m, 0xEC), 0xEB);
    check_consistent();

    /* a host vector in a middle class: that class and class 0xF0 (eli's 0xFE, 0xFF)
     * are out, so 0x50 goes to the highest free vector, 0xEF, not into class 0x50 */
    static const uint8_t mid[] = { 0x50, 0xFE, 0xFF };
    vecmap_init(&m, mid, sizeof(mid));
    assert_int_equal(vecmap_map(&m, 0x50), 0xEF);
    assert_int_equal(vecmap_map(&m, 0x5F), 0xEE);
    assert_int_equal(vecmap_map(&m, 0xF0), 0xED); /* class 0xF0 is still eli's */
    assert_int_equal(vecmap_map(&m, 0x40), 0x40); /* the classes around keep identity */
    assert_int_equal(vecmap_map(&m, 0x60), 0x60);
    check_consistent();
}

/* A guest vector whose own physical vector another mapping took stays in its class
 * if the class has a free vector, although higher vectors are free. */
static void test_collision_same_class_first(void **state)
{
    (void)state;
    for (unsigned g = 0x61; g <= 0xEF; g++)
        if (g != 0x65)
            assert_int_equal(vecmap_map(&m, (uint8_t)g), g);
    assert_int_equal(vecmap_map(&m, 0xF0), 0x65); /* the highest free one left */
    vecmap_unmap(&m, 0x90);                       /* 0x90 free again */
    assert_int_equal(vecmap_map(&m, 0x65), 0x60); /* class 0x60, not 0x90 */
    /* class 0x60 now full: the guest's 0x60, displaced, goes to the highest free */
    assert_int_equal(vecmap_map(&m, 0x60), 0x90);
    /* and with 0x90 gone as well, to the next one below the classes in use */
    assert_int_equal(vecmap_map(&m, 0x90), 0x5F);
    check_consistent();
}

/* With the guest's class full, the highest free vector of another class (never a
 * host or used one, nor one in eli's classes). */
static void test_remap_other_class_when_class_full(void **state)
{
    (void)state;
    for (unsigned g = 0xE1; g <= 0xEF; g++)
        assert_int_equal(vecmap_map(&m, (uint8_t)g), g);
    assert_int_equal(vecmap_map(&m, 0xF0), 0xE0); /* the last free one of class 0xE0 */
    /* guest 0xE0 collides and its class is full: down to class 0xD0 */
    assert_int_equal(vecmap_map(&m, 0xE0), 0xDF);
    assert_int_equal(vecmap_map(&m, 0xFF), 0xDE);
    assert_int_equal(vecmap_guest(&m, 0xE0), 0xF0);
    assert_int_equal(vecmap_guest(&m, 0xDF), 0xE0);
    check_consistent();

    /* a class made entirely of host vectors: class 0xF0 is a guest's here */
    uint8_t hv[16];
    for (unsigned i = 0; i < 16; i++)
        hv[i] = (uint8_t)(0x30 + i);
    vecmap_init(&m, hv, 16);
    assert_int_equal(vecmap_map(&m, 0x35), 0xFF);
    assert_int_equal(vecmap_map(&m, 0x3F), 0xFE);
    assert_int_equal(vecmap_map(&m, 0xFF), 0xFD); /* its own taken: its class first */
    check_consistent();
}

static void test_map_twice_same(void **state)
{
    (void)state;
    assert_int_equal(vecmap_map(&m, 0x60), 0x60);
    assert_int_equal(vecmap_map(&m, 0x60), 0x60);
    int p = vecmap_map(&m, 0xF0);
    assert_int_equal(p, 0xEF);
    assert_int_equal(vecmap_map(&m, 0xF0), p); /* not a second remapped vector */
    assert_int_equal(vecmap_map(&m, 0xF0), p);
    unsigned used = 0;
    for (unsigned v = 0; v < 256; v++)
        used += vecmap_guest(&m, (uint8_t)v) >= 0;
    assert_int_equal(used, 2);
    check_consistent();
}

static void test_exception_vectors_rejected(void **state)
{
    (void)state;
    for (unsigned g = 0; g < VEC_FIRST_EXTERNAL; g++) {
        assert_int_equal(vecmap_map(&m, (uint8_t)g), -EINVAL);
        assert_int_equal(vecmap_phys(&m, (uint8_t)g), -1);
    }
    for (unsigned p = 0; p < 256; p++)
        assert_int_equal(vecmap_guest(&m, (uint8_t)p), -1);
    assert_int_equal(vecmap_map(&m, VEC_FIRST_EXTERNAL), VEC_FIRST_EXTERNAL);
}

static void test_exhaustion(void **state)
{
    (void)state;
    unsigned ok = 0, nospc = 0;
    int failed_g = -1;
    for (unsigned g = VEC_FIRST_EXTERNAL; g < 256; g++) {
        int p = vecmap_map(&m, (uint8_t)g);
        if (p >= 0) {
            ok++;
        } else {
            assert_int_equal(p, -ENOSPC);
            nospc++;
            failed_g = (int)g;
            assert_int_equal(vecmap_phys(&m, (uint8_t)g), -1);
        }
    }
    /* 224 external vectors, the 16 of class 0xF0 (eli's 0xF0, 0xFE, 0xFF) out: the
     * 208 below it map to themselves, the guest's 0xF0-0xFF find no room */
    assert_int_equal(ok, 224 - 16);
    assert_int_equal(nospc, 16);
    assert_int_equal(failed_g, 0xFF);
    check_consistent();
    for (unsigned g = VEC_FIRST_EXTERNAL; g < 0xF0; g++)
        assert_int_equal(vecmap_phys(&m, (uint8_t)g), g);
    for (unsigned p = VEC_FIRST_EXTERNAL; p < 256; p++)
        assert_int_equal(vecmap_guest(&m, (uint8_t)p) >= 0, p < 0xF0);

    /* freeing one makes room for the guest vector that did not fit */
    int freed = vecmap_phys(&m, 0x77);
    assert_int_equal(freed, 0x77);
    vecmap_unmap(&m, 0x77);
    assert_int_equal(vecmap_map(&m, (uint8_t)failed_g), freed);
    assert_int_equal(vecmap_map(&m, 0x77), -ENOSPC);
    check_consistent();
}

static void test_unmap_frees(void **state)
{
    (void)state;
    assert_int_equal(vecmap_map(&m, 0x50), 0x50);
    vecmap_unmap(&m, 0x50);
    assert_int_equal(vecmap_phys(&m, 0x50), -1);
    assert_int_equal(vecmap_guest(&m, 0x50), -1);
    assert_int_equal(vecmap_map(&m, 0x50), 0x50);

    /* 0xF0 -> p, guest p -> r: unmapping guest p frees r, not p */
    int p = vecmap_map(&m, 0xF0);
    int r = vecmap_map(&m, (uint8_t)p);
    assert_int_equal(p, 0xEF);
    assert_int_equal(r, 0xEE);
    vecmap_unmap(&m, (uint8_t)p);
    assert_int_equal(vecmap_phys(&m, (uint8_t)p), -1);
    assert_int_equal(vecmap_guest(&m, (uint8_t)r), -1);
    assert_int_equal(vecmap_guest(&m, (uint8_t)p), 0xF0); /* untouched */
    assert_int_equal(vecmap_phys(&m, 0xF0), p);

    /* unmapping 0xF0 frees p: guest vector p now gets its own vector */
    vecmap_unmap(&m, 0xF0);
    assert_int_equal(vecmap_guest(&m, (uint8_t)p), -1);
    assert_int_equal(vecmap_map(&m, (uint8_t)p), p);

    /* unmapping what is not mapped changes nothing */
    vecmap_unmap(&m, 0x99);
    vecmap_unmap(&m, 0xFE);
    vecmap_unmap(&m, 3);
    assert_int_equal(vecmap_phys(&m, 0x50), 0x50);
    assert_int_equal(vecmap_phys(&m, (uint8_t)p), p);
    check_consistent();
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_empty),
        T(test_host_owned_bitmap),
        T(test_identity_when_free),
        T(test_host_class_never_identity),
        T(test_host_vector_remapped),
        T(test_collision_same_class_first),
        T(test_remap_other_class_when_class_full),
        T(test_map_twice_same),
        T(test_exception_vectors_rejected),
        T(test_exhaustion),
        T(test_unmap_frees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
