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

/* Channel 2 in mode 0 counts down once; OUT2, readable at port 0x61 bit 5,
 * goes high when it reaches zero. The gate works the same on real chipsets. */
void pit_wait_us(uint32_t us)
{
    uint32_t count = (uint32_t)((uint64_t)PIT_HZ * us / 1000000u);
    if (count > 0xffff)
        count = 0xffff;
    uint8_t gate = inb(PIT_GATE);
    outb(PIT_GATE, (uint8_t)((gate & ~GATE_SPEAKER) | GATE_CH2_ENABLE));
    outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    for (uint64_t spins = 0; !(inb(PIT_GATE) & GATE_OUT2) && spins < 100000000ull; spins++)
        cpu_pause();
    outb(PIT_GATE, gate);
}

void tsc_calibrate(void)
{
    uint64_t t0 = rdtsc();
    pit_wait_us(CALIBRATION_US);
    timing.tsc_hz = (rdtsc() - t0) * (1000000 / CALIBRATION_US);
}
