#include "arch/x86/timer.h"
#include "arch/x86/cpu.h"

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61
#define GATE_CH2_ENABLE 0x01
#define GATE_SPEAKER 0x02
#define GATE_OUT2 0x20

struct timing timing;

/* Channel 2 in mode 0 counts down from `count`; OUT2, readable at port 0x61 bit 5,
 * goes high when it reaches zero, and the count wraps on. The gate works the same on
 * real chipsets. Returns the gate's old value. */
static uint8_t pit_ch2_start(uint16_t count)
{
    uint8_t gate = inb(PIT_GATE);
    outb(PIT_GATE, (uint8_t)((gate & ~GATE_SPEAKER) | GATE_CH2_ENABLE));
    outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    return gate;
}

void pit_wait_us(uint32_t us)
{
    uint32_t count = (uint32_t)((uint64_t)PIT_HZ * us / 1000000u);
    uint8_t gate = pit_ch2_start(count > 0xffff ? 0xffff : (uint16_t)count);
    for (uint64_t spins = 0; !(inb(PIT_GATE) & GATE_OUT2) && spins < 100000000ull; spins++)
        cpu_pause();
    outb(PIT_GATE, gate);
}

static uint64_t pit_ch2_count(void)
{
    outb(PIT_CMD, 0x80); /* counter latch, channel 2 */
    uint8_t lo = inb(PIT_CH2);
    return (uint16_t)(lo | inb(PIT_CH2) << 8);
}

uint64_t read_at_tsc(uint64_t (*read)(void), uint64_t *tsc)
{
    uint64_t best = ~0ull, value = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t a = rdtsc(), v = read(), b = rdtsc();
        if (b - a < best) {
            best = b - a;
            value = v;
            *tsc = a + (b - a) / 2;
        }
    }
    return value;
}

void tsc_calibrate(void)
{
    const uint16_t want = (uint16_t)((uint64_t)PIT_HZ * CALIBRATION_US / 1000000u);
    uint8_t gate = pit_ch2_start(0xffff);
    uint64_t t0 = 0;
    uint16_t c0 = (uint16_t)read_at_tsc(pit_ch2_count, &t0), gone = 0;
    uint64_t t1 = t0;
    for (uint32_t spins = 0; gone < want && spins < 10000000u; spins++)
        gone = (uint16_t)(c0 - read_at_tsc(pit_ch2_count, &t1)); /* one wrap at most: 55 ms */
    outb(PIT_GATE, gate);
    timing.tsc_hz = gone ? (t1 - t0) * PIT_HZ / gone : 0;
}
