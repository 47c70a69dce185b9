/* eli's start: the order in which the machine is brought up, then the guest. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/desc.h"
#include "arch/x86/serial.h"
#include "arch/x86/start.h"
#include "arch/x86/backend.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/x2apic.h"
#include "core/bootinfo.h"
#include "core/cmdline.h"
#include "core/console.h"
#include "core/fmt.h"
#include "core/guest.h"
#include "core/image.h"
#include "core/integrity.h"
#include "core/mbguest.h"
#include "core/mm.h"
#include "core/panic.h"
#include "core/stats.h"
#include "arch/x86/acpi.h"
#include "arch/x86/hpet.h"
#include "arch/x86/pci.h"
#include "dev/assign.h"
#include "dev/vacpi.h"
#include "dev/vlapic.h"
#include "eli/eli.h"
#include <stdarg.h>
#include <string.h>

#define GUEST_RAM_ALIGN_PAGES 512 /* 2 MiB, so nested paging can use large pages */
#define RESULT_MAX 8192

extern char __image_start[], __image_end[];

/* A marker the test `eli-memory` searches for from inside a guest: it must
 * never find it. */
__attribute__((used)) static const char eli_secret[] = "eli-secret-7f3a9c1e5b2d4680";

struct guest guest;
static uint64_t image_sum; /* eli_image_checksum() when the guest first ran */
static struct config config;
static struct boot_info bootinfo;

#define BOCHS_SHUTDOWN_PORT 0x8900

static void debug_exit(uint32_t value)
{
    outl(0xf4, value); /* QEMU's isa-debug-exit; harmless where absent */
    /* Bochs has no debug-exit device: it powers off when "Shutdown" is written to its
     * port 0x8900, byte by byte. Only with the option: elsewhere the port may be a device */
    if (!config.bochs_shutdown)
        return;
    /* Bochs drops what its UART still sends when it powers off: the transmitter empty,
     * and one character's time more (it reports empty while the last is on the line) */
    serial_flush();
    pit_wait_us(200);
    for (const char *p = "Shutdown"; *p; p++)
        outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
}

void run_end(uint32_t status, const char *why)
{
    static char buf[RESULT_MAX];
    irq_disable();
    vuart_flush(&guest.uart);
    hostclock_account(true);
    struct result_meta m = { why, status, rdtsc(), timing.tsc_hz, timing.tick_hz, backend ? backend->name : "none",
                             guest.name, eli_mode_name(guest.eli.mode), &guest.eli.n,
                             guest.lapic.timer_fires, guest.lapic.dropped_ipis, 0 };
    if (!stats.run_start_tsc)
        stats.run_start_tsc = m.now_tsc;
    assign_run_end();
    uint64_t sum = eli_image_checksum();
    m.integrity = !image_sum ? 0 : sum == image_sum ? 1 : 2;
    if (m.integrity == 1)
        log_line("integrity: eli's image checksum 0x%016llx unchanged since the guest started",
                 (unsigned long long)sum);
    else if (m.integrity == 2)
        log_line("integrity: eli's image CHANGED while the guest ran: checksum 0x%016llx, was "
                 "0x%016llx", (unsigned long long)sum, (unsigned long long)image_sum);
    size_t n = strlen(LOG_PREFIX "result ");
    memcpy(buf, LOG_PREFIX "result ", n);
    n += stats_result_json(&stats, &m, buf + n, sizeof(buf) - n - 1);
    if (n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    log_line("run ended: %s (status 0x%x)", why, status);
    console_write(buf, n);
    /* QEMU stops here; on a machine without the debug-exit device eli halts */
    debug_exit(status);
    cpu_halt_forever();
}

__attribute__((noreturn)) static void log_end(uint32_t code, const char *prefix, const char *msg)
{
    irq_disable();
    log_line("%s%s", prefix, msg);
    debug_exit(code);
    cpu_halt_forever();
}

void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_end(EXIT_PANIC, "PANIC: ", buf);
}

void config_error(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_end(EXIT_CONFIG_ERROR, "error: ", buf);
}

static const void *phys_read(void *ctx, uint64_t pa, uint64_t len)
{
    (void)ctx;
    /* eli identity-maps the first 4 GiB */
    if (pa == 0 || pa >= (4ull << 30) || len > (4ull << 30) - pa)
        return NULL;
    return (const void *)(uintptr_t)pa;
}

static uint64_t tsc_now(void *ctx)
{
    (void)ctx;
    return rdtsc();
}

static bool phys_in_service(uint8_t vector)
{
    return x2apic_in_service(vector);
}

static uint32_t phys_isr_word(unsigned word)
{
    return (uint32_t)rdmsr(X2APIC_ISR0 + word);
}

/* The guest's timer, raised physically (eli.c timer_hook), arrives like an assigned
 * device's interrupt when eli has the CPU. */
static void on_guest_timer_irq(uint8_t p)
{
    eli_on_host_irq(&guest.eli, p);
}

static void phys_raise(uint8_t p)
{
    trap_set_irq_handler(p, on_guest_timer_irq);
    wrmsr(X2APIC_SELF_IPI, p);
}

static void phys_timer_load(uint8_t p, bool periodic, uint64_t delta_tsc)
{
    if (p)
        trap_set_irq_handler(p, on_guest_timer_irq);
    x2apic_guest_timer_load(p, periodic, delta_tsc);
}

static const struct eli_phys_ops phys_apic = { phys_in_service, phys_isr_word, x2apic_eoi,
                                               phys_raise, phys_timer_load,
                                               x2apic_guest_timer_unload };
static const struct eli_phys_ops phys_apic_kept = { phys_in_service, phys_isr_word, x2apic_eoi,
                                                    phys_raise, NULL, NULL };
static const uint8_t host_vectors[] = { VEC_ELI_TIMER, VEC_ELI_PROBE, VEC_ELI_ERROR,
                                        VEC_ELI_SPURIOUS };

/* The guest's interrupt controller and eli's delivery mode. */
static void setup_guest_interrupts(void)
{
    vlapic_init(&guest.lapic, 0, timing.tsc_hz, tsc_now, NULL);
    eli_init(&guest.eli, config.mode, &guest.lapic,
             hpet_tick_ready() ? &phys_apic : &phys_apic_kept, host_vectors, sizeof(host_vectors));
}

static void guest_line_started(void)
{
    hostclock_account(false);
    stats_line_start(&stats, rdtsc());
}

/* PCI through ECAM from the ACPI MCFG table (type-1 ports without one), then the
 * device for the guest, if one is named. */
static struct acpi acpi;
static bool have_acpi;

static void setup_acpi(void)
{
    have_acpi = acpi_init(&acpi, phys_read, NULL) == 0;
    if (!have_acpi)
        log_line("no ACPI tables found: PCI through ports CF8/CFC, no HPET watchdog");
}

/* The bounded way back from a guest that keeps interrupts off (docs/security.md). */
static void setup_watchdog(void)
{
    if (!config.watchdog_ms) {
        log_line("watchdog off (watchdog=0): a guest with interrupts off can hold eli out");
        return;
    }
    if (!have_acpi || hpet_watchdog_init(&acpi, x2apic_id(), config.watchdog_ms * 1000)) {
        log_line("no HPET comparator can send an NMI (under QEMU: -global hpet.msi=on): "
                 "a guest with interrupts off can hold eli out");
        return;
    }
    if (config.keep_timer || config.mode == ELI_MODE_BASELINE)
        return;
    if (hpet_tick_init(x2apic_id(), VEC_ELI_TIMER))
        log_line("no second HPET comparator can send an MSI: the guest's timer stays on eli's "
                 "host clock in direct mode");
    else
        log_line("in direct mode eli's tick runs on an HPET comparator and the APIC timer runs "
                 "the guest's timer");
}

static void setup_pci(void)
{
    struct mcfg_entry mcfg[4];
    size_t n = 0;
    char err[160];
    if (have_acpi)
        acpi_parse_mcfg(&acpi, mcfg, 4, &n);
    if (n ? pci_init_mcfg(mcfg, n) : pci_init(0, 0, 0))
        config_error("cannot reach PCI configuration space");
    assign_iommu_probe(&acpi, config.unsafe_no_iommu, config.unsafe_dma_offset);
    if (!config.assign[0]) {
        assign_bus_only(&guest);
        return;
    }
    pci_bdf_t bdf;
    if (pci_bdf_parse(config.assign, &bdf))
        config_error("option 'assign=%s': expected a PCI address BB:DD.F on segment 0", config.assign);
    if (assign_device(&guest, bdf, err, sizeof(err)))
        config_error("%s", err);
}

static void emit_guest_line(const char *line, size_t len)
{
    console_write(GUEST_PREFIX, sizeof(GUEST_PREFIX) - 1);
    console_write(line, len);
    console_write("\n", 1);
    hostclock_account(false);
    stats_line_end(&stats, rdtsc());
}

static void setup_guest_ram(void)
{
    uint64_t bytes = (uint64_t)config.mem_mib << 20;
    uint64_t pages = (bytes + (2ull << 20) - 1) / PAGE_SIZE & ~(uint64_t)(GUEST_RAM_ALIGN_PAGES - 1);
    guest.ram_hpa = mm_alloc_zeroed(pages, GUEST_RAM_ALIGN_PAGES);
    if (!guest.ram_hpa)
        config_error("not enough host memory for mem=%u MiB of guest RAM", config.mem_mib);
    guest.mem = (struct gmem){ (uint8_t *)(uintptr_t)guest.ram_hpa, bytes };
}

/* A PVH kernel (Linux) also gets ACPI tables, below 1 MiB where the memory map says
 * reserved, and the TSC rate on its command line (tsc_early_khz=: under eli it has
 * no PIT to calibrate against), as a boot loader that knows it would pass it. */
#define PVH_ACPI_GPA 0xE0000ull
static void load_pvh_info(struct mbguest *mb, uint64_t base, uint64_t *info)
{
    static char cmdline[1024];
    char err[160];
    uint64_t end;
    uint64_t rsdp = vacpi_build(&guest.mem, PVH_ACPI_GPA, ASSIGN_ECAM_BASE, ASSIGN_ECAM_SIZE);
    if (!rsdp)
        config_error("guest '%s': no room for its ACPI tables", config.guest);
    const char *args = mb->cmdline ? mb->cmdline : "";
    fmt_snprintf(cmdline, sizeof(cmdline), "%s tsc_early_khz=%llu", args,
                     (unsigned long long)(timing.tsc_hz / 1000));
    mb->cmdline = cmdline;
    if (mbguest_build_pvh(&guest.mem, base, mb, rsdp, ASSIGN_ECAM_BASE, ASSIGN_ECAM_SIZE, info,
                          &end, err, sizeof(err)))
        config_error("guest '%s': %s", config.guest, err);
}

/* Loads the image and builds the boot information; returns the start state. */
static void load_guest(int mod, struct x86_start_state *st)
{
    char err[160];
    const struct boot_module *m = &bootinfo.mods[mod];
    struct image img;
    if (image_load(&guest.mem, guest.mem.size - START_RESERVED_BYTES,
                   (const uint8_t *)(uintptr_t)m->start, m->end - m->start, &img, err, sizeof(err)))
        config_error("guest '%s': %s", config.guest, err);

    struct mbguest mb = { .cmdline = module_args(m->string),
                          .reserved_top = img.kind == IMAGE_ELF64 ? START_RESERVED_BYTES : 0 };
    /* unsafe-dma-offset (with unsafe-no-iommu, on a machine with no IOMMU: Bochs): nothing
     * translates the device's DMA, whose addresses are host-physical, so eli tells the guest
     * where its RAM is in host memory, as a platform with a bus-address offset would; a
     * driver that adds dma_offset to the addresses it gives its device then works. The
     * device can still reach all of host memory. */
    static char dma_cmdline[1024];
    if (config.unsafe_dma_offset) {
        fmt_snprintf(dma_cmdline, sizeof(dma_cmdline), "%s dma_offset=0x%llx",
                     mb.cmdline ? mb.cmdline : "", (unsigned long long)guest.ram_hpa);
        mb.cmdline = dma_cmdline;
        log_line("unsafe-dma-offset: the guest is told dma_offset=0x%llx (its RAM's host "
                 "address): device DMA is not confined", (unsigned long long)guest.ram_hpa);
    }
    for (size_t i = 0; i < bootinfo.nmods; i++) {
        if ((int)i == mod)
            continue;
        if (mb.nmods == MBGUEST_MAX_MODS)
            config_error("too many modules for the guest (at most %d)", MBGUEST_MAX_MODS);
        const struct boot_module *x = &bootinfo.mods[i];
        mb.mods[mb.nmods++] = (struct mbguest_module){ (const uint8_t *)(uintptr_t)x->start,
                                                       x->end - x->start, x->string };
    }
    uint64_t base = (img.load_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1), info, end;
    if (img.kind == IMAGE_PVH) {
        load_pvh_info(&mb, base, &info);
        x86_start_pvh(st, img.entry, info);
    } else if (mbguest_build(&guest.mem, base, &mb, &info, &end, err, sizeof(err))) {
        config_error("guest '%s': %s", config.guest, err);
    } else if (img.kind == IMAGE_ELF64) {
        if (x86_start_long(st, &guest.mem, img.entry, info))
            config_error("guest '%s': no room for its page tables", config.guest);
    } else {
        x86_start_multiboot(st, img.entry, info);
    }
    log_line("guest '%s': %s image, entry 0x%llx, %llu KiB loaded, %zu module(s), %u MiB RAM",
             config.guest, img.kind == IMAGE_ELF64 ? "ELF64 (64-bit start)"
                           : img.kind == IMAGE_PVH ? "ELF64 with a PVH entry (Linux boot)" : "multiboot",
             (unsigned long long)img.entry,
             (unsigned long long)((img.load_end - img.load_start) >> 10), mb.nmods,
             config.mem_mib);
}

static void start_host_time(void)
{
    tsc_calibrate();
    if (!timing.tsc_hz)
        config_error("PIT channel 2 does not count: eli cannot calibrate the TSC");
    if (x2apic_init())
        config_error("this CPU has no x2APIC, which eli requires");
    if (config.direct_tick_hz > config.tick_hz)
        config_error("option 'direct-tick=%u': at most the tick's %u Hz", config.direct_tick_hz,
                     config.tick_hz);
    x2apic_timer_start(config.tick_hz, config.direct_tick_hz);
    irq_enable();
    log_line("TSC %llu kHz, APIC timer %llu kHz, host tick %u Hz (%u Hz in direct mode) on "
             "vector 0x%x", (unsigned long long)(timing.tsc_hz / 1000),
             (unsigned long long)(timing.apic_hz / 1000), config.tick_hz, config.direct_tick_hz,
             VEC_ELI_TIMER);
}

void kmain(uint32_t magic, uint32_t info);
void kmain(uint32_t magic, uint32_t info)
{
    char err[160];
    serial_init();
    log_line("eli hypervisor starting");
    desc_init();
    if (bootinfo_parse(magic, info, phys_read, NULL, &bootinfo, err, sizeof(err)))
        config_error("%s", err);
    if (config_parse(&config, bootinfo.cmdline, err, sizeof(err)))
        config_error("%s", err);
    guest.name = config.guest;
    vuart_init(&guest.uart, emit_guest_line);
    guest.uart.line_started = guest_line_started;
    uint64_t free_pages = mm_init(&bootinfo, (uint64_t)(uintptr_t)__image_start,
                                  (uint64_t)(uintptr_t)__image_end);
    log_line("command line '%s'; %llu MiB free; %zu module(s)", bootinfo.cmdline,
             (unsigned long long)(free_pages >> 8), bootinfo.nmods);
    int mod = bootinfo_find_module(&bootinfo, config.guest);
    if (mod < 0)
        config_error("no module named '%s' for guest=%s (give it with -initrd or GRUB's module)",
                     config.guest, config.guest);
    setup_acpi();
    cpuid_kvm_signature = config.kvm_signature;
    start_host_time();
    setup_watchdog();
    if (!backend_select(err, sizeof(err)) || backend->hw_init(err, sizeof(err)))
        config_error("%s", err);
    setup_guest_ram();
    setup_guest_interrupts();
    struct x86_start_state st;
    load_guest(mod, &st);
    if (backend->vcpu_init(&guest, &st))
        config_error("out of memory setting up the guest's %s and nested page tables",
                     backend->control_name);
    setup_pci();
    log_line("backend %s, mode %s: running guest '%s'", backend->name, eli_mode_name(guest.eli.mode),
             config.guest);
    image_sum = eli_image_checksum();
    backend->run(&guest);
}
