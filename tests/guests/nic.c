/*
 * nic: UDP services on QEMU's e1000e (82574L), interrupt driven, for I/O-intensive workloads.
 *
 * The driver (lib/e1000e.c) takes MSI-X on three vectors (receive, transmit, other causes;
 * MSI if MSI-X is absent or msix=0); the stack (lib/net.c) answers ARP for 10.0.2.15 and
 * serves UDP from the receive interrupt handler:
 *   port 7      echo: the same payload back to the sender's port
 *   port 9      discard: counts datagrams and payload bytes; a payload starting with "STAT"
 *               is answered "STAT <frames> <bytes>" (every earlier port-9 datagram but STATs)
 *   port 11211  key-value store: "set <key> <value>" -> "STORED", "get <key>" -> "VALUE
 *               <value>" or "END" (keys up to 64 bytes, values up to 256, 3072 keys)
 *   port 5000   control: "QUIT" -> "BYE", then the guest stops; "STATS" -> the counters as
 *               JSON (the nic-result fields)
 * A trailing CR/LF is ignored in kv and control requests; anything else gets "ERROR".
 *
 * The main loop only waits (pause, or sti;hlt with idle=hlt, then a 100 ms x2APIC timer wakes
 * it to check the timeout). On QUIT it prints `nic: stopping`, the counters and `nic-result {json}`,
 * and passes; after timeout=S seconds without QUIT it stops the same way and fails.
 *
 * Options: itr=N (ITR/EITR interval in 256 ns units; 0 = no throttling asked), work=N (TSC
 * cycles of computation per echo/kv request before the reply), timeout=S (120), idle=hlt,
 * msix=0, vector=V (0x50: receive V, transmit V+1, other V+2), nic_bar=0x..., ecam=0x...,
 * tsc_hz=N (only used without a PIT), dma_offset=ADDR (added to every address the NIC is
 * given: eli's unsafe-dma-offset passes it where no IOMMU maps the guest's RAM).
 */
#include "e1000e.h"
#include "idt.h"
#include "libguest.h"
#include "net.h"
#include "pit.h"
#include "x2apic.h"

#define OUR_IP			NET_IP(10, 0, 2, 15)
#define PORT_ECHO		7
#define PORT_DISCARD		9
#define PORT_KV			11211
#define PORT_CONTROL		5000

#define DEFAULT_VECTOR		0x50
#define DEFAULT_TIMEOUT		120
#define TIMER_VECTOR		0x40	/* idle=hlt only: wakes the loop to check the timeout */
#define TIMER_COUNT		100000000u	/* 100 ms at QEMU's 1 GHz APIC timer */
#define GUESS_TSC_HZ		3000000000ull	/* for the timeout when nothing says the TSC rate */
#define TX_DRAIN_SECONDS_DIV	10	/* wait up to 100 ms for the last replies to leave */

#define KV_SLOTS		4096	/* open addressing, linear probing */
#define KV_MAX_KEYS		3072	/* keeps the table at most 3/4 full */
#define KV_KEY_MAX		64
#define KV_VALUE_MAX		256

static struct e1000e_rings rings;
static struct e1000e_dev nic;

static struct {
	uint64_t echo, kv_get, kv_set, kv_hit, kv_errors, stat_queries, control;
	uint64_t stat_frames, stat_bytes;	/* port 9 datagrams (not STAT) and payload bytes */
} svc;

static uint64_t opt_itr, opt_work, opt_vector;
static bool opt_msix;
static volatile bool stop_requested;
static volatile uint64_t timer_ticks;
static uint64_t serve_start, serve_end, hz;
static volatile uint64_t work_sink;

/* Reply buffer: services run one at a time, from the receive handler. */
static char reply[NET_UDP_PAYLOAD_MAX + 1];

/* ---- per-request computation ---- */

/* Real work rather than pause (which a hypervisor may intercept): an LCG until N cycles pass. */
static void do_work(void)
{
	if (!opt_work)
		return;
	uint64_t start = rdtsc(), x = work_sink;
	do {
		for (unsigned i = 0; i < 64; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	} while (rdtsc() - start < opt_work);
	work_sink = x;
}

/* ---- key-value store ---- */

struct kv_entry {
	uint8_t used;
	uint8_t klen;
	uint16_t vlen;
	char key[KV_KEY_MAX];
	char value[KV_VALUE_MAX];
};

static struct kv_entry kv[KV_SLOTS];
static unsigned kv_count;

static uint32_t kv_hash(const char *k, unsigned n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (unsigned i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	return h;
}

/* The entry for key, or a free slot for it if create (and there is room), else NULL. */
static struct kv_entry *kv_slot(const char *k, unsigned n, bool create)
{
	for (unsigned i = 0, s = kv_hash(k, n) % KV_SLOTS; i < KV_SLOTS; i++, s = (s + 1) % KV_SLOTS) {
		struct kv_entry *e = &kv[s];

		if (!e->used) {
			if (!create || kv_count >= KV_MAX_KEYS)
				return NULL;
			e->used = 1;
			e->klen = (uint8_t)n;
			memcpy(e->key, k, n);
			e->vlen = 0;
			kv_count++;
			return e;
		}
		if (e->klen == n && !memcmp(e->key, k, n))
			return e;
	}
	return NULL;
}

/* Length without a trailing CR/LF. */
static unsigned trim(const uint8_t *data, unsigned len)
{
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	return len;
}

static bool starts_with(const uint8_t *data, unsigned len, const char *word)
{
	unsigned n = strlen(word);
	return len >= n && !memcmp(data, word, n);
}

static const char *memchr_space(const char *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i] == ' ')
			return p + i;
	return NULL;
}

static void reply_str(const struct net_udp_meta *m, const char *s)
{
	net_udp_reply(m, s, strlen(s));
}

static void kv_handler(const struct net_udp_meta *m, const uint8_t *data, unsigned len)
{
	len = trim(data, len);
	if (starts_with(data, len, "set ")) {
		const char *k = (const char *)data + 4;
		unsigned rest = len - 4;
		const char *sp = memchr_space(k, rest);
		unsigned klen = sp ? (unsigned)(sp - k) : rest;
		unsigned vlen = sp ? rest - klen - 1 : 0;

		svc.kv_set++;
		do_work();
		if (!sp || !klen || klen > KV_KEY_MAX || vlen > KV_VALUE_MAX) {
			svc.kv_errors++;
			reply_str(m, "ERROR");
			return;
		}
		struct kv_entry *e = kv_slot(k, klen, true);
		if (!e) {
			svc.kv_errors++;
			reply_str(m, "SERVER_ERROR out of memory");
			return;
		}
		memcpy(e->value, sp + 1, vlen);
		e->vlen = (uint16_t)vlen;
		reply_str(m, "STORED");
		return;
	}
	if (starts_with(data, len, "get ")) {
		const char *k = (const char *)data + 4;
		unsigned klen = len - 4;

		svc.kv_get++;
		do_work();
		if (!klen || klen > KV_KEY_MAX || memchr_space(k, klen)) {
			svc.kv_errors++;
			reply_str(m, "ERROR");
			return;
		}
		struct kv_entry *e = kv_slot(k, klen, false);
		if (!e) {
			reply_str(m, "END");
			return;
		}
		svc.kv_hit++;
		memcpy(reply, "VALUE ", 6);
		memcpy(reply + 6, e->value, e->vlen);
		net_udp_reply(m, reply, 6 + e->vlen);
		return;
	}
	svc.kv_errors++;
	reply_str(m, "ERROR");
}

/* ---- echo, discard, control ---- */

static void echo_handler(const struct net_udp_meta *m, const uint8_t *data, unsigned len)
{
	svc.echo++;
	do_work();
	net_udp_reply(m, data, len);
}

static void discard_handler(const struct net_udp_meta *m, const uint8_t *data, unsigned len)
{
	if (starts_with(data, len, "STAT")) {
		svc.stat_queries++;
		int n = snprintf(reply, sizeof(reply), "STAT %lu %lu", svc.stat_frames,
				 svc.stat_bytes);
		net_udp_reply(m, reply, (unsigned)n);
		return;
	}
	svc.stat_frames++;
	svc.stat_bytes += len;
}

static uint64_t serve_cycles(void)
{
	if (!serve_start)
		return 0;
	return (serve_end ? serve_end : rdtsc()) - serve_start;
}

/* The counters as one JSON object with integer fields. */
static int format_result(char *buf, size_t size, bool timed_out)
{
	const struct e1000e_stats *s = &nic.stats;

	return snprintf(buf, size,
		"{\"rx_packets\":%lu,\"tx_packets\":%lu,\"irq_rx\":%lu,\"irq_tx\":%lu,"
		"\"irq_other\":%lu,\"echo\":%lu,\"kv_get\":%lu,\"kv_set\":%lu,"
		"\"stat_frames\":%lu,\"stat_bytes\":%lu,\"kv_hit\":%lu,\"kv_errors\":%lu,"
		"\"stat_queries\":%lu,\"arp\":%lu,\"rx_bytes\":%lu,\"tx_bytes\":%lu,"
		"\"rx_errors\":%lu,\"rx_dropped\":%lu,\"tx_full\":%lu,\"irq_rx_empty\":%lu,"
		"\"irq_tx_empty\":%lu,\"rx_overruns\":%lu,\"link_changes\":%lu,"
		"\"apic_spurious\":%lu,\"timer_ticks\":%lu,\"itr\":%lu,\"msix\":%d,\"work\":%lu,"
		"\"cycles\":%lu,\"tsc_hz\":%lu,\"timed_out\":%d,\"rx_left\":%lu,"
		"\"nic_rx_good\":%lu,\"nic_rx_missed\":%lu,\"rx_handler_cycles\":%lu,"
		"\"tdt_cycles\":%lu}",
		s->rx_packets, s->tx_packets, s->irq_rx, s->irq_tx, s->irq_other, svc.echo,
		svc.kv_get, svc.kv_set, svc.stat_frames, svc.stat_bytes, svc.kv_hit,
		svc.kv_errors, svc.stat_queries, net_stats.rx_arp, s->rx_bytes, s->tx_bytes,
		s->rx_errors, net_stats.rx_dropped, s->tx_full, s->irq_rx_empty, s->irq_tx_empty,
		s->rx_overruns, s->link_changes, e1000e_apic_spurious, timer_ticks, opt_itr,
		nic.msix ? 1 : 0, opt_work, serve_cycles(), hz, timed_out ? 1 : 0, s->rx_left,
		s->nic_rx_good, s->nic_rx_missed, s->rx_handler_cycles, s->tdt_cycles);
}

static void control_handler(const struct net_udp_meta *m, const uint8_t *data, unsigned len)
{
	svc.control++;
	len = trim(data, len);
	if (len == 4 && starts_with(data, len, "QUIT")) {
		reply_str(m, "BYE");
		stop_requested = true;
		return;
	}
	if (len == 5 && starts_with(data, len, "STATS")) {
		int n = format_result(reply, sizeof(reply), false);
		net_udp_reply(m, reply, (unsigned)n);
		return;
	}
	reply_str(m, "ERROR");
}

/* ---- plumbing ---- */

static bool nic_xmit(const void *frame, unsigned len)
{
	return e1000e_transmit(&nic, frame, len);
}

static void timer_handler(struct int_frame *frame)
{
	(void)frame;
	timer_ticks++;
	x2apic_eoi();
}

static void print_counters(void)
{
	const struct e1000e_stats *s = &nic.stats;
	uint64_t cycles = serve_cycles();
	uint64_t ms = hz ? cycles / (hz / 1000) : 0;

	printf("nic: served for %lu ms (%lu TSC cycles)\n", ms, cycles);
	printf("nic: rx %lu packets (%lu bytes, %lu descriptor errors), tx %lu packets "
	       "(%lu bytes, %lu dropped on a full ring, %lu reclaimed)\n", s->rx_packets,
	       s->rx_bytes, s->rx_errors, s->tx_packets, s->tx_bytes, s->tx_full, s->tx_reclaimed);
	printf("nic: interrupts: rx %lu (vector %#lx, %lu found nothing), tx %lu (vector %#lx, "
	       "%lu reclaimed nothing), other %lu (vector %#lx), APIC spurious %lu, timer %lu\n",
	       s->irq_rx, opt_vector, s->irq_rx_empty, s->irq_tx, opt_vector + 1,
	       s->irq_tx_empty, s->irq_other, opt_vector + 2, e1000e_apic_spurious, timer_ticks);
	if (ms)
		printf("nic: rates: %lu rx packets/s, %lu rx interrupts/s, %lu tx interrupts/s\n",
		       s->rx_packets * 1000 / ms, s->irq_rx * 1000 / ms, s->irq_tx * 1000 / ms);
	printf("nic: requests: echo %lu, kv get %lu (%lu hits) set %lu (%lu errors, %u keys), "
	       "discard %lu frames %lu bytes, STAT %lu, control %lu\n", svc.echo, svc.kv_get,
	       svc.kv_hit, svc.kv_set, svc.kv_errors, kv_count, svc.stat_frames, svc.stat_bytes,
	       svc.stat_queries, svc.control);
	printf("nic: stack: %lu frames in, %lu ARP (%lu replies), %lu IPv4, %lu UDP delivered; "
	       "dropped %lu (bad %lu, checksum %lu, fragments %lu, not ours %lu, no port %lu, "
	       "not UDP %lu); %lu frames out, %lu refused; link changes %lu, overruns %lu\n",
	       net_stats.rx_frames, net_stats.rx_arp, net_stats.arp_replies, net_stats.rx_ip,
	       net_stats.rx_udp, net_stats.rx_dropped, net_stats.rx_bad, net_stats.rx_bad_csum,
	       net_stats.rx_fragments, net_stats.rx_not_ours, net_stats.rx_no_port,
	       net_stats.rx_other_proto, net_stats.tx_frames, net_stats.tx_failed,
	       s->link_changes, s->rx_overruns);
}

int main(void)
{
	opt_itr = cmdline_get_u64("itr", 0);
	opt_work = cmdline_get_u64("work", 0);
	opt_vector = cmdline_get_u64("vector", DEFAULT_VECTOR);
	opt_msix = cmdline_get_u64("msix", 1) != 0;
	uint64_t timeout = cmdline_get_u64("timeout", DEFAULT_TIMEOUT);
	const char *idle = cmdline_get("idle");
	bool idle_hlt = idle && !strcmp(idle, "hlt");

	if (idle && !idle_hlt && strcmp(idle, "spin")) {
		report(false, "option idle=%s is spin or hlt", idle);
		return report_summary();
	}
	if (opt_itr > 0xffff || !timeout || opt_vector < 0x20 ||
	    opt_vector + 2 >= E1000E_APIC_SPURIOUS_VECTOR || opt_vector + 2 < 0x20 ||
	    (opt_vector <= TIMER_VECTOR && TIMER_VECTOR <= opt_vector + 2)) {
		report(false, "options: itr=%lu at most 0xffff, timeout=%lu at least 1, "
		       "vector=%#lx..+2 in 0x20-0xfe and not %#x", opt_itr, timeout, opt_vector,
		       TIMER_VECTOR);
		return report_summary();
	}

	hz = tsc_hz();
	uint64_t timeout_hz = hz;
	if (!timeout_hz) {
		timeout_hz = GUESS_TSC_HZ;
		printf("nic: TSC rate unknown, the timeout assumes %lu Hz\n", timeout_hz);
	}
	if (!e1000e_apic_setup())
		return report_summary();

	struct e1000e_config cfg = {
		.rings = &rings,
		.vector_rx = (uint8_t)opt_vector,
		.vector_tx = (uint8_t)(opt_vector + 1),
		.vector_other = (uint8_t)(opt_vector + 2),
		.itr = (uint32_t)opt_itr,
		.no_msix = !opt_msix,
		.dma_offset = cmdline_get_u64("dma_offset", 0),
		.rx = net_input,
	};
	if (!e1000e_setup(&nic, &cfg))
		return report_summary();
	net_init(nic.mac, OUR_IP, nic_xmit);
	net_udp_bind(PORT_ECHO, echo_handler);
	net_udp_bind(PORT_DISCARD, discard_handler);
	net_udp_bind(PORT_KV, kv_handler);
	net_udp_bind(PORT_CONTROL, control_handler);

	if (idle_hlt) {
		idt_set_handler(TIMER_VECTOR, timer_handler);
		x2apic_timer_start(TIMER_VECTOR, TIMER_COUNT, true);
	}

	char mac[18], ip[16];
	e1000e_format_mac(nic.mac, mac);
	net_format_ip(OUR_IP, ip);
	printf("nic: work %lu cycles per request, idle %s, timeout %lu s\n", opt_work,
	       idle_hlt ? "hlt" : "spin", timeout);
	printf("nic: ready mac %s ip %s itr %lu msix %s\n", mac, ip, opt_itr,
	       nic.msix ? "yes" : "no");
	printf("nic: serving\n");

	serve_start = rdtsc();
	uint64_t limit = timeout * timeout_hz;
	bool timed_out = false;
	sti();
	while (!stop_requested) {
		if (rdtsc() - serve_start >= limit) {
			timed_out = true;
			break;
		}
		if (idle_hlt)
			safe_halt();
		else
			pause();
	}
	cli();
	serve_end = rdtsc();

	/* Let the last replies (BYE) leave before the device stops. */
	uint64_t t0 = rdtsc();
	while (e1000e_tx_in_flight(&nic) && rdtsc() - t0 < timeout_hz / TX_DRAIN_SECONDS_DIV) {
		e1000e_tx_reclaim(&nic);
		pause();
	}
	if (idle_hlt)
		x2apic_timer_stop();
	e1000e_stop(&nic);

	printf("nic: stopping\n");
	printf("nic: stopped by %s\n", timed_out ? "the timeout" : "QUIT");
	print_counters();
	char json[1024];
	format_result(json, sizeof(json), timed_out);
	printf("nic-result %s\n", json);

	const struct e1000e_stats *s = &nic.stats;
	report(!timed_out, "stopped by QUIT within the %lu s timeout", timeout);
	report(s->rx_errors == 0, "%lu receive descriptors with errors", s->rx_errors);
	report(s->rx_packets + s->rx_left == s->nic_rx_good && s->nic_rx_missed == 0,
	       "the driver took %lu frames (%lu left in the ring) of the %lu the NIC received; "
	       "%lu missed for want of a buffer", s->rx_packets, s->rx_left, s->nic_rx_good,
	       s->nic_rx_missed);
	if (s->rx_packets)
		report(s->irq_rx > 0, "receive interrupts on vector %#lx: %lu for %lu packets",
		       opt_vector, s->irq_rx, s->rx_packets);
	if (nic.msix && s->tx_packets)
		report(s->irq_tx > 0, "transmit interrupts on vector %#lx: %lu for %lu packets",
		       opt_vector + 1, s->irq_tx, s->tx_packets);
	return report_summary();
}
