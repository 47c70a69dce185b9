/*
 * loadgen: a netperf-like load generator that drives a guest's NIC from outside the VM.
 *
 * QEMU runs the NIC with `-netdev dgram,...,local.port=P1,...,remote.port=P2`: every UDP
 * datagram on loopback is exactly one Ethernet frame (no header, no FCS). loadgen binds
 * 127.0.0.1:P2, sends its frames to 127.0.0.1:P1 and speaks just enough ARP, IPv4 and UDP
 * to reach the guest's services:
 *
 *   guest 52:54:00:12:34:56 10.0.2.15    loadgen 52:54:00:00:00:02 10.0.2.2
 *   UDP 7 echo, 9 discard + "STAT" -> "STAT <frames> <bytes>", 11211 key-value
 *   ("set K V" -> "STORED", "get K" -> "VALUE V" | "END"), 5000 control ("QUIT" -> "BYE").
 *
 * Workloads: rr (UDP request-response to port 7), stream (paced one-way frames to port 9,
 * then STAT), kv (memcached-style sets and gets to port 11211), quit. Every wait has a
 * timeout and the whole run is bounded by --timeout. See tools/README.md.
 *
 * Exit status: 0 done; 1 the guest broke the contract (wrong echo payload, wrong kv value,
 * malformed reply); 2 usage; 3 the guest did not answer; 4 the overall --timeout cut the
 * run short; 5 a host error (socket).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_CONTRACT = 1, EXIT_USAGE = 2, EXIT_NO_ANSWER = 3,
       EXIT_TIMEOUT = 4, EXIT_HOST = 5 };

#define ETH_HLEN 14
#define IP_HLEN 20
#define UDP_HLEN 8
#define HDRS (ETH_HLEN + IP_HLEN + UDP_HLEN)
#define ETH_MIN 60 /* without FCS */
#define ETH_MAX 1514
#define MAX_PAYLOAD (ETH_MAX - HDRS) /* 1472 */
#define ETHERTYPE_IP 0x0800
#define ETHERTYPE_ARP 0x0806

#define PORT_ECHO 7
#define PORT_DISCARD 9
#define PORT_KV 11211
#define PORT_CTL 5000

#define NS 1000000000ull
#define US 1000ull
#define MS 1000000ull

static const uint8_t my_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x02};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint32_t my_ip = 0x0a000202;    /* 10.0.2.2 */
static const uint32_t guest_ip = 0x0a00020f; /* 10.0.2.15 */

/* ------------------------------------------------------------------------------------ */
/* Options */

enum workload { W_NONE, W_RR, W_STREAM, W_KV, W_QUIT };
static const char *const workload_name[] = {"", "rr", "stream", "kv", "quit"};

static struct {
    enum workload workload;
    unsigned port_local, port_qemu;
    unsigned size;
    bool size_set;
    uint64_t count;
    double duration;
    bool duration_set;
    double warmup;
    double rate;
    unsigned keys;
    double get_ratio;
    unsigned value_size;
    double reply_timeout_ms;
    double timeout;
    double wait_ready;
    bool json;
    uint64_t seed;
    unsigned src_port;
    unsigned retries;
    bool udp_csum;
} opt = {
    .size = 1, .duration = 5, .rate = 0, .keys = 100, .get_ratio = 0.9, .value_size = 16,
    .reply_timeout_ms = 200, .timeout = 60, .seed = 1, .src_port = 40000, .retries = 5,
    .udp_csum = true,
};

/* ------------------------------------------------------------------------------------ */
/* Time, errors */

static uint64_t deadline_all; /* the --timeout limit, CLOCK_MONOTONIC ns */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static bool overall_expired(void) { return now_ns() >= deadline_all; }

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static uint64_t secs_to_ns(double s) { return s <= 0 ? 0 : (uint64_t)(s * 1e9); }

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
    }
}

static void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(status);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "loadgen: overall timeout (safety alarm), stopping\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(EXIT_TIMEOUT);
}

/* xorshift64* */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}
static double rng_unit(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

/* ------------------------------------------------------------------------------------ */
/* Frames */

static int sock = -1;
static struct sockaddr_in qemu_addr;

static struct {
    uint64_t tx_frames, rx_frames, rx_bad, rx_other, arp_replies_sent, stale;
    bool guest_arp_seen;
} st;

static uint16_t ip_id;

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint16_t udp_len)
{
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = 17;
    put16(ph + 10, udp_len);
    return csum_add(0, ph, sizeof ph);
}

/* Sends one frame (padded to the Ethernet minimum). Returns false on a host error. */
static bool send_frame(uint8_t *frame, size_t len)
{
    if (len < ETH_MIN) {
        memset(frame + len, 0, ETH_MIN - len);
        len = ETH_MIN;
    }
    for (int tries = 0; tries < 1000; tries++) {
        ssize_t n = sendto(sock, frame, len, 0, (const struct sockaddr *)&qemu_addr,
                           sizeof qemu_addr);
        if (n == (ssize_t)len) {
            st.tx_frames++;
            return true;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)) {
            sleep_ns(10 * US);
            continue;
        }
        /* ECONNREFUSED etc.: the frame is gone, like on a wire without a receiver */
        if (n < 0 && errno == ECONNREFUSED)
            return true;
        fprintf(stderr, "loadgen: sendto 127.0.0.1:%u: %s\n", opt.port_qemu, strerror(errno));
        return false;
    }
    return true;
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, my_mac, 6);
    put16(f + 12, type);
}

/* op 1 request, 2 reply */
static void send_arp(uint16_t op, const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa)
{
    uint8_t f[ETH_MIN + 4];
    eth_header(f, eth_dst, ETHERTYPE_ARP);
    uint8_t *a = f + ETH_HLEN;
    put16(a, 1);            /* Ethernet */
    put16(a + 2, ETHERTYPE_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, my_mac, 6);
    put32(a + 14, my_ip);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    send_frame(f, ETH_HLEN + 28);
}

/* A gratuitous ARP (so the guest learns our MAC) and a request for the guest's. */
static void announce(void)
{
    static const uint8_t zero[6];
    send_arp(1, bcast_mac, zero, my_ip);
    send_arp(1, bcast_mac, zero, guest_ip);
}

/* Builds an Ethernet/IPv4/UDP frame to the guest in f (ETH_MAX + 4 bytes); returns its length. */
static size_t build_udp(uint8_t *f, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
    eth_header(f, guest_mac, ETHERTYPE_IP);
    uint8_t *ip = f + ETH_HLEN, *udp = ip + IP_HLEN;
    uint16_t udp_len = (uint16_t)(UDP_HLEN + len);
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IP_HLEN + udp_len));
    put16(ip + 4, ip_id++);
    put16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = 17;
    put16(ip + 10, 0);
    put32(ip + 12, my_ip);
    put32(ip + 16, guest_ip);
    put16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, udp_len);
    put16(udp + 6, 0);
    if (data != udp + UDP_HLEN)
        memcpy(udp + UDP_HLEN, data, len);
    if (opt.udp_csum) {
        uint16_t c = csum_fold(csum_add(pseudo_sum(my_ip, guest_ip, udp_len), udp, udp_len));
        put16(udp + 6, c ? c : 0xffff);
    }
    return ETH_HLEN + IP_HLEN + udp_len;
}

struct udp_msg {
    uint16_t sport, dport;
    const uint8_t *data;
    size_t len;
};

static void handle_arp(const uint8_t *f, size_t len)
{
    const uint8_t *a = f + ETH_HLEN;
    if (len < ETH_HLEN + 28 || get16(a) != 1 || get16(a + 2) != ETHERTYPE_IP || a[4] != 6 ||
        a[5] != 4) {
        st.rx_bad++;
        return;
    }
    uint16_t op = get16(a + 6);
    uint32_t spa = get32(a + 14), tpa = get32(a + 24);
    if (spa == guest_ip) {
        memcpy(guest_mac, a + 8, 6);
        st.guest_arp_seen = true;
    }
    if (op == 1 && tpa == my_ip) {
        send_arp(2, a + 8, a + 8, spa);
        st.arp_replies_sent++;
    }
}

/* Parses one received frame; true if it is a UDP datagram from the guest to us (in *m). */
static bool handle_frame(const uint8_t *f, size_t len, struct udp_msg *m)
{
    st.rx_frames++;
    if (len < ETH_HLEN) {
        st.rx_bad++;
        return false;
    }
    if (memcmp(f, my_mac, 6) != 0 && memcmp(f, bcast_mac, 6) != 0) {
        st.rx_other++;
        return false;
    }
    uint16_t type = get16(f + 12);
    if (type == ETHERTYPE_ARP) {
        handle_arp(f, len);
        return false;
    }
    if (type != ETHERTYPE_IP) {
        st.rx_other++;
        return false;
    }
    const uint8_t *ip = f + ETH_HLEN;
    size_t iplen = len - ETH_HLEN;
    if (iplen < IP_HLEN || ip[0] >> 4 != 4) {
        st.rx_bad++;
        return false;
    }
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t total = get16(ip + 2);
    if (ihl < IP_HLEN || ihl > iplen || total < ihl || total > iplen ||
        csum_fold(csum_add(0, ip, ihl)) != 0) {
        st.rx_bad++;
        return false;
    }
    if ((get16(ip + 6) & 0x3fff) != 0 || ip[9] != 17 || get32(ip + 16) != my_ip) {
        st.rx_other++; /* fragments, other protocols, not for us */
        return false;
    }
    const uint8_t *udp = ip + ihl;
    size_t ulen = total - ihl;
    if (ulen < UDP_HLEN || get16(udp + 4) < UDP_HLEN || get16(udp + 4) > ulen) {
        st.rx_bad++;
        return false;
    }
    ulen = get16(udp + 4);
    if (get16(udp + 6) != 0 &&
        csum_fold(csum_add(pseudo_sum(get32(ip + 12), my_ip, (uint16_t)ulen), udp, ulen)) != 0) {
        st.rx_bad++;
        return false;
    }
    if (get32(ip + 12) != guest_ip) {
        st.rx_other++;
        return false;
    }
    m->sport = get16(udp);
    m->dport = get16(udp + 2);
    m->data = udp + UDP_HLEN;
    m->len = ulen - UDP_HLEN;
    return true;
}

static uint8_t rx_buf[65536];

/* Takes one datagram off the socket without blocking. -1 none, 0 not a UDP message for us
 * (ARP handled, junk dropped), 1 a UDP message in *m (valid until the next call). */
static int rx_one(struct udp_msg *m)
{
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(sock, rx_buf, sizeof rx_buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED)
            return -1;
        die(EXIT_HOST, "recvfrom: %s", strerror(errno));
    }
    if (fl < sizeof from || from.sin_family != AF_INET ||
        from.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || ntohs(from.sin_port) != opt.port_qemu)
        return 0; /* not QEMU's socket */
    return handle_frame(rx_buf, (size_t)n, m) ? 1 : 0;
}

/* Handles everything queued (ARP) without waiting, dropping UDP messages. */
static void drain(void)
{
    struct udp_msg m;
    int r;
    while ((r = rx_one(&m)) >= 0)
        if (r == 1)
            st.stale++;
}

/* Waits until `until` (bounded by --timeout) for a UDP message from the guest; answers ARP
 * on the way. true with the message in *m; false at the time limit. */
static bool wait_udp(uint64_t until, struct udp_msg *m)
{
    until = min_u64(until, deadline_all);
    for (;;) {
        int r = rx_one(m);
        if (r == 1)
            return true;
        if (r == 0)
            continue;
        uint64_t t = now_ns();
        if (t >= until)
            return false;
        uint64_t left = until - t;
        struct timespec ts = {.tv_sec = (time_t)(left / NS), .tv_nsec = (long)(left % NS)};
        struct pollfd p = {.fd = sock, .events = POLLIN};
        if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR)
            die(EXIT_HOST, "ppoll: %s", strerror(errno));
    }
}

/* Sends a request from sport to dport and waits up to timeout_ns for the reply from dport to
 * sport (others are dropped as stale). true with the reply in *m and the round trip in *rtt. */
static bool transact(uint16_t sport, uint16_t dport, const void *req, size_t len,
                     uint64_t timeout_ns, struct udp_msg *m, uint64_t *rtt)
{
    uint8_t f[ETH_MAX + 4];
    size_t flen = build_udp(f, sport, dport, req, len);
    drain();
    uint64_t t0 = now_ns();
    if (!send_frame(f, flen))
        exit(EXIT_HOST);
    uint64_t until = t0 + timeout_ns;
    while (wait_udp(until, m)) {
        uint64_t t1 = now_ns();
        if (m->sport == dport && m->dport == sport) {
            *rtt = t1 - t0;
            return true;
        }
        st.stale++;
    }
    return false;
}

/* A request with up to `retries` tries (for STAT and QUIT); the reply must start with
 * `prefix`. Copies it NUL-terminated into out. */
static bool ask(uint16_t dport, const char *req, const char *prefix, char *out, size_t outsz,
                uint64_t timeout_ns)
{
    struct udp_msg m;
    uint64_t rtt;
    for (unsigned i = 0; i < opt.retries && !overall_expired(); i++) {
        if (!transact((uint16_t)opt.src_port, dport, req, strlen(req), timeout_ns, &m, &rtt))
            continue;
        size_t n = m.len < outsz - 1 ? m.len : outsz - 1;
        memcpy(out, m.data, n);
        out[n] = 0;
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == 0))
            out[--n] = 0;
        if (strncmp(out, prefix, strlen(prefix)) == 0)
            return true;
        fprintf(stderr, "loadgen: unexpected reply to %s from port %u: \"%s\"\n", req, dport, out);
    }
    return false;
}

/* ------------------------------------------------------------------------------------ */
/* Latency samples */

struct samples {
    uint64_t *v;
    size_t n, cap;
};

static void samples_add(struct samples *s, uint64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die(EXIT_HOST, "out of memory");
    }
    s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct lat {
    bool valid;
    double min, median, p99;
};

static struct lat samples_stats(struct samples *s)
{
    struct lat l = {0};
    if (s->n == 0)
        return l;
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    size_t i99 = (s->n * 99 + 99) / 100; /* nearest rank: ceil(0.99 n) */
    l.valid = true;
    l.min = (double)s->v[0] / 1e3;
    l.median = (double)s->v[(s->n - 1) / 2] / 1e3;
    l.p99 = (double)s->v[(i99 ? i99 : 1) - 1] / 1e3;
    return l;
}

/* ------------------------------------------------------------------------------------ */
/* Output */

static void json_lat(const struct lat *l)
{
    if (l->valid)
        printf("\"lat_min_us\":%.1f,\"lat_median_us\":%.1f,\"lat_p99_us\":%.1f", l->min,
               l->median, l->p99);
    else
        printf("\"lat_min_us\":null,\"lat_median_us\":null,\"lat_p99_us\":null");
}

static void json_tail(bool complete)
{
    printf(",\"complete\":%s,\"rx_bad\":%" PRIu64 ",\"stale\":%" PRIu64 "}\n",
           complete ? "true" : "false", st.rx_bad, st.stale);
}

static void human_lat(const struct lat *l)
{
    if (l->valid)
        printf("latency us: min %.1f  median %.1f  p99 %.1f\n", l->min, l->median, l->p99);
    else
        printf("latency us: no replies\n");
}

/* ------------------------------------------------------------------------------------ */
/* Readiness */

#define PROBE_PORT_OFFSET 2048 /* probes come from src_port + this, never a workload's port */

static void wait_ready(double secs)
{
    uint64_t until = min_u64(now_ns() + secs_to_ns(secs), deadline_all);
    uint16_t sport = (uint16_t)(opt.src_port + PROBE_PORT_OFFSET);
    static const char probe[] = "loadgen-ready?";
    struct udp_msg m;
    uint64_t rtt;
    for (uint64_t t; (t = now_ns()) < until;) {
        announce();
        if (transact(sport, PORT_ECHO, probe, sizeof probe - 1, min_u64(250 * MS, until - t), &m,
                     &rtt)) {
            drain();
            return;
        }
    }
    double waited = secs < opt.timeout ? secs : opt.timeout;
    die(EXIT_NO_ANSWER,
        "the guest did not answer within %g s%s (ARP: %s; UDP echo on port 7: no reply) "
        "via 127.0.0.1:%u",
        waited, secs < opt.timeout ? "" : " (the --timeout)",
        st.guest_arp_seen ? "answered" : "no reply", opt.port_qemu);
}

/* ------------------------------------------------------------------------------------ */
/* Workloads */

#define SPORTS 256 /* requests rotate over src_port .. src_port+255: late replies are stale */

/* If the guest has not answered for this long, the run stops: it is gone. */
static uint64_t silence_limit(void)
{
    uint64_t t = 10 * (uint64_t)(opt.reply_timeout_ms * 1e6);
    return t > 2 * NS ? t : 2 * NS;
}

/* Why replies may be missing, for the "stopped answering" message. */
static const char *rx_hint(void)
{
    static char buf[160];
    if (!st.rx_bad)
        return "";
    snprintf(buf, sizeof buf, " (%" PRIu64 " frames from QEMU failed the checks: length, "
             "IPv4 or UDP checksum)", st.rx_bad);
    return buf;
}


/* Whether a request-response loop stops before its next request: its time or count is
 * up (complete), the whole run's deadline passed (*complete = false), or the guest has
 * been silent too long (*gone = true). */
static bool exchange_done(uint64_t t, uint64_t end, uint64_t attempts, uint64_t last_reply,
                          bool *complete, bool *gone)
{
    if (t >= end || (opt.count && attempts >= opt.count))
        return true;
    if (t >= deadline_all) {
        *complete = false;
        return true;
    }
    if (t - last_reply > silence_limit()) {
        *gone = true;
        return true;
    }
    return false;
}

static int run_rr(void)
{
    uint8_t req[MAX_PAYLOAD];
    struct samples s = {0};
    struct udp_msg m;
    uint64_t lost = 0, errors = 0, seq = 0, attempts = 0;
    uint64_t tmo = (uint64_t)(opt.reply_timeout_ms * 1e6);
    uint64_t start = now_ns(), mstart = start + secs_to_ns(opt.warmup);
    uint64_t end = opt.duration_set || !opt.count ? mstart + secs_to_ns(opt.duration) : UINT64_MAX;
    uint64_t first = 0, last = 0, last_reply = start;
    bool complete = true, gone = false;

    for (;; seq++) {
        uint64_t t = now_ns();
        if (exchange_done(t, end, attempts, last_reply, &complete, &gone))
            break;
        for (unsigned i = 0; i < opt.size; i++)
            req[i] = (uint8_t)(seq * 7 + i);
        uint16_t sport = (uint16_t)(opt.src_port + seq % SPORTS);
        uint64_t rtt;
        bool ok = transact(sport, PORT_ECHO, req, opt.size, tmo, &m, &rtt);
        bool measured = t >= mstart;
        if (ok)
            last_reply = now_ns();
        if (!measured)
            continue;
        if (!first)
            first = t;
        last = now_ns();
        attempts++;
        if (!ok) {
            if (overall_expired()) {
                attempts--;
                complete = false;
                break;
            }
            lost++;
        } else if (m.len != opt.size || memcmp(m.data, req, opt.size) != 0) {
            errors++;
        } else {
            samples_add(&s, rtt);
        }
    }
    double secs = last > first ? (double)(last - first) / 1e9 : 0;
    struct lat l = samples_stats(&s);
    double tps = secs > 0 ? (double)s.n / secs : 0;
    if (opt.json) {
        printf("loadgen-result {\"workload\":\"rr\",\"transactions\":%zu,\"tps\":%.1f,", s.n, tps);
        json_lat(&l);
        printf(",\"lost\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"size\":%u,\"duration_s\":%.3f",
               lost, errors, opt.size, secs);
        json_tail(complete && !gone);
    } else {
        printf("rr: %zu transactions in %.3f s = %.1f/s, size %u, lost %" PRIu64
               ", errors %" PRIu64 "\n", s.n, secs, tps, opt.size, lost, errors);
        human_lat(&l);
    }
    fflush(stdout);
    if (gone || (attempts > 0 && lost == attempts))
        die(EXIT_NO_ANSWER, "rr: the guest stopped answering on port 7%s", rx_hint());
    if (!complete)
        die(EXIT_TIMEOUT, "rr: overall timeout of %g s cut the run short", opt.timeout);
    if (errors)
        die(EXIT_CONTRACT, "rr: %" PRIu64 " echo replies did not match their request", errors);
    return EXIT_OK;
}

static bool stat_query(uint64_t *frames, uint64_t *bytes)
{
    char out[256];
    uint64_t tmo = (uint64_t)(opt.reply_timeout_ms * 1e6);
    if (tmo < 500 * MS)
        tmo = 500 * MS;
    if (!ask(PORT_DISCARD, "STAT", "STAT ", out, sizeof out, tmo))
        return false;
    if (sscanf(out, "STAT %" SCNu64 " %" SCNu64, frames, bytes) != 2) {
        fprintf(stderr, "loadgen: malformed STAT reply \"%s\"\n", out);
        return false;
    }
    return true;
}

#define PACE_SPIN (20 * US)        /* the last stretch before a frame is due is spun */
#define PACE_MAX_BEHIND (100 * MS) /* further behind the schedule, it restarts from now */

static void sleep_until(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / NS), .tv_nsec = (long)(t % NS)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* Sends frames to port 9 at opt.rate (0: flat out): `count` frames (0: no limit) or for
 * `span` ns (0: no limit), whichever comes first. Returns the frames sent; *t0_out and *t_end
 * bound the sending interval; *cut says the --timeout stopped it. */
static uint64_t stream_send(uint64_t count, uint64_t span, uint64_t *t0_out, uint64_t *t_end,
                            bool *cut)
{
    uint8_t f[ETH_MAX + 4], payload[MAX_PAYLOAD];
    for (unsigned i = 0; i < opt.size; i++)
        payload[i] = (uint8_t)i;
    size_t flen = build_udp(f, (uint16_t)opt.src_port, PORT_DISCARD, payload, opt.size);
    if (flen < ETH_MIN) {
        memset(f + flen, 0, ETH_MIN - flen);
        flen = ETH_MIN;
    }
    uint64_t period = opt.rate > 0 ? (uint64_t)(1e9 / opt.rate) : 0;
    uint64_t sent = 0, t0 = now_ns(), next = t0;
    uint64_t until = span ? t0 + span : UINT64_MAX;
    *cut = false;
    if (deadline_all < until) {
        until = deadline_all;
        *cut = true; /* unless the count is reached first */
    }
    for (;;) {
        if (count && sent >= count) {
            *cut = false;
            break;
        }
        uint64_t t = now_ns();
        if (t >= until || (period && next >= until))
            break;
        if (period) {
            /* Sleep until just before the frame is due, spin the rest: the CPU stays free
             * for QEMU. Frames that fell behind (a late wake-up) go out back to back. */
            if (next > t + PACE_SPIN) {
                drain();
                sleep_until(next - PACE_SPIN);
                continue; /* re-check the limits */
            }
            while ((t = now_ns()) < next) {
            }
            if (t > next + PACE_MAX_BEHIND) /* descheduled for long: no catch-up burst */
                next = t;
            next += period;
        }
        /* The frame only differs in the IP id; the payload is constant. */
        put16(f + ETH_HLEN + 4, ip_id++);
        put16(f + ETH_HLEN + 10, 0);
        put16(f + ETH_HLEN + 10, csum_fold(csum_add(0, f + ETH_HLEN, IP_HLEN)));
        if (!send_frame(f, flen))
            exit(EXIT_HOST);
        sent++;
        if ((sent & 63) == 0)
            drain();
    }
    uint64_t t_after = now_ns();
    *t0_out = t0;
    *t_end = t_after;
    if (period && t0 + sent * period > t_after)
        *t_end = t0 + sent * period;
    return sent;
}

static int run_stream(void)
{
    uint64_t f0, b0, f1, b1, t0, t1, ws, we;
    bool cut;
    if (!stat_query(&f0, &b0))
        die(EXIT_NO_ANSWER, "stream: no STAT reply from port 9 (before sending)");
    if (opt.warmup > 0) {
        stream_send(0, secs_to_ns(opt.warmup), &ws, &we, &cut);
        if (cut)
            die(EXIT_TIMEOUT, "stream: overall timeout of %g s during the warmup", opt.timeout);
        sleep_ns(20 * MS);
        if (!stat_query(&f0, &b0))
            die(EXIT_NO_ANSWER, "stream: no STAT reply from port 9 (after the warmup)");
    }
    uint64_t span = opt.duration_set || !opt.count ? secs_to_ns(opt.duration) : 0;
    uint64_t sent = stream_send(opt.count, span, &t0, &t1, &cut);
    bool complete = !cut;
    /* Let the guest's ring drain so that the STAT is not dropped with the tail. */
    sleep_ns(20 * MS);
    uint64_t save = deadline_all;
    if (overall_expired())
        deadline_all = now_ns() + 2 * NS; /* a last chance for the STAT */
    bool got = stat_query(&f1, &b1);
    deadline_all = save;
    if (!got)
        die(EXIT_NO_ANSWER, "stream: no STAT reply from port 9 after sending %" PRIu64 " frames",
            sent);
    uint64_t recv = f1 - f0, rbytes = b1 - b0;
    double secs = (double)(t1 - t0) / 1e9;
    size_t flen = HDRS + opt.size;
    if (flen < ETH_MIN)
        flen = ETH_MIN;
    double fps = secs > 0 ? (double)recv / secs : 0;
    double bps = fps * opt.size * 8;
    double frame_bps = fps * (double)(flen + 4) * 8;  /* with FCS */
    double wire_bps = fps * (double)(flen + 24) * 8;  /* + preamble, SFD, inter-frame gap */
    double send_fps = secs > 0 ? (double)sent / secs : 0;
    int64_t lost = (int64_t)sent - (int64_t)recv;
    if (opt.json) {
        printf("loadgen-result {\"workload\":\"stream\",\"sent\":%" PRIu64 ",\"received\":%" PRIu64
               ",\"lost\":%" PRId64 ",\"fps\":%.1f,\"bps\":%.0f,\"size\":%u,\"offered_rate\":%.1f"
               ",\"send_fps\":%.1f,\"frame_bps\":%.0f,\"wire_bps\":%.0f,\"received_bytes\":%" PRIu64
               ",\"duration_s\":%.3f",
               sent, recv, lost, fps, bps, opt.size, opt.rate, send_fps, frame_bps, wire_bps,
               rbytes, secs);
        json_tail(complete);
    } else {
        printf("stream: sent %" PRIu64 " frames of %u payload bytes in %.3f s (%.1f/s offered "
               "%s), guest received %" PRIu64 ", lost %" PRId64 "\n",
               sent, opt.size, secs, send_fps,
               opt.rate > 0 ? "at a set rate" : "flat out", recv, lost);
        printf("received: %.1f frames/s, payload %.3f Mbit/s, Ethernet frames %.3f Mbit/s "
               "(on the wire %.3f Mbit/s)\n", fps, bps / 1e6, frame_bps / 1e6, wire_bps / 1e6);
    }
    fflush(stdout);
    if (lost < 0)
        fprintf(stderr, "loadgen: stream: the guest counted %" PRIu64 " frames, more than the %"
                PRIu64 " sent\n", recv, sent);
    if (!complete)
        die(EXIT_TIMEOUT, "stream: overall timeout of %g s cut the run short", opt.timeout);
    return EXIT_OK;
}

/* kv: per key, the value the guest must hold, or several candidates after a set whose
 * reply was lost (the guest may or may not have applied it). */
#define KV_ALTS 4
#define KV_VMAX 1400

struct kv_key {
    bool stored;   /* a set was confirmed: the key exists */
    bool any;      /* too many unconfirmed sets: any value is accepted once */
    unsigned nalt;
    char *val;     /* the confirmed value */
    char *alt[KV_ALTS];
};

static void kv_set_val(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    if (!*dst)
        die(EXIT_HOST, "out of memory");
}

static void kv_confirm(struct kv_key *k, const char *v)
{
    kv_set_val(&k->val, v);
    k->stored = true;
    k->any = false;
    for (unsigned i = 0; i < k->nalt; i++) {
        free(k->alt[i]);
        k->alt[i] = NULL;
    }
    k->nalt = 0;
}

static void kv_uncertain(struct kv_key *k, const char *v)
{
    if (k->nalt == KV_ALTS) {
        k->any = true;
        return;
    }
    k->alt[k->nalt] = NULL;
    kv_set_val(&k->alt[k->nalt++], v);
}

static bool kv_acceptable(const struct kv_key *k, const char *v)
{
    if (k->any || (k->stored && strcmp(k->val, v) == 0))
        return true;
    for (unsigned i = 0; i < k->nalt; i++)
        if (strcmp(k->alt[i], v) == 0)
            return true;
    return false;
}

/* Copies a reply without its line end into out (NUL-terminated). */
static void reply_text(const struct udp_msg *m, char *out, size_t outsz)
{
    size_t n = m->len < outsz - 1 ? m->len : outsz - 1;
    memcpy(out, m->data, n);
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
}

static void kv_value(char *v, uint64_t seq)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    int n = snprintf(v, KV_VMAX + 1, "v%" PRIx64 "-", seq);
    unsigned i = (unsigned)n < opt.value_size ? (unsigned)n : opt.value_size;
    for (; i < opt.value_size; i++)
        v[i] = alnum[rng() % (sizeof alnum - 1)];
    v[opt.value_size] = 0;
}

static int run_kv(void)
{
    struct kv_key *keys = calloc(opt.keys, sizeof *keys);
    if (!keys)
        die(EXIT_HOST, "out of memory");
    char req[MAX_PAYLOAD + 1], val[KV_VMAX + 1], out[MAX_PAYLOAD + 1];
    struct samples s = {0};
    struct udp_msg m;
    uint64_t tmo = (uint64_t)(opt.reply_timeout_ms * 1e6), rtt, seq = 0;
    uint64_t lost = 0, errors = 0, misses = 0, gets = 0, sets = 0, attempts = 0;
    uint64_t last_reply = now_ns();
    bool complete = true, gone = false;

    /* Fill: every key once (retried), not measured. */
    for (unsigned k = 0; k < opt.keys; k++) {
        kv_value(val, seq);
        int n = snprintf(req, sizeof req, "set key%u %s", k, val);
        bool done = false;
        for (unsigned tries = 0; tries < opt.retries && !done; tries++, seq++) {
            if (overall_expired())
                die(EXIT_TIMEOUT, "kv: overall timeout during the initial sets (%u of %u)", k,
                    opt.keys);
            uint16_t sport = (uint16_t)(opt.src_port + seq % SPORTS);
            if (!transact(sport, PORT_KV, req, (size_t)n, tmo, &m, &rtt)) {
                kv_uncertain(&keys[k], val);
                continue;
            }
            reply_text(&m, out, sizeof out);
            if (strcmp(out, "STORED") != 0)
                die(EXIT_CONTRACT, "kv: \"set key%u ...\" got \"%s\", not STORED", k, out);
            kv_confirm(&keys[k], val);
            done = true;
        }
        if (!done)
            die(EXIT_NO_ANSWER, "kv: no reply to \"set key%u ...\" after %u tries", k,
                opt.retries);
    }
    last_reply = now_ns();

    uint64_t start = now_ns(), mstart = start + secs_to_ns(opt.warmup);
    uint64_t end = opt.duration_set || !opt.count ? mstart + secs_to_ns(opt.duration) : UINT64_MAX;
    uint64_t first = 0, last = 0;
    for (;; seq++) {
        uint64_t t = now_ns();
        if (exchange_done(t, end, attempts, last_reply, &complete, &gone))
            break;
        unsigned k = (unsigned)(rng() % opt.keys);
        bool is_get = rng_unit() < opt.get_ratio;
        int n;
        if (is_get) {
            n = snprintf(req, sizeof req, "get key%u", k);
        } else {
            kv_value(val, seq);
            n = snprintf(req, sizeof req, "set key%u %s", k, val);
        }
        uint16_t sport = (uint16_t)(opt.src_port + seq % SPORTS);
        bool ok = transact(sport, PORT_KV, req, (size_t)n, tmo, &m, &rtt);
        bool measured = t >= mstart;
        if (ok)
            last_reply = now_ns();
        if (measured) {
            if (!first)
                first = t;
            last = now_ns();
            attempts++;
        }
        if (!ok) {
            if (!is_get)
                kv_uncertain(&keys[k], val);
            if (overall_expired()) {
                attempts -= measured;
                complete = false;
                break;
            }
            lost += measured;
            continue;
        }
        reply_text(&m, out, sizeof out);
        bool good;
        if (is_get) {
            if (strcmp(out, "END") == 0) {
                misses += measured;
                good = !keys[k].stored; /* a key once stored never goes away */
            } else if (strncmp(out, "VALUE ", 6) == 0 && kv_acceptable(&keys[k], out + 6)) {
                kv_confirm(&keys[k], out + 6);
                good = true;
            } else {
                good = false;
            }
        } else if (strcmp(out, "STORED") == 0) {
            kv_confirm(&keys[k], val);
            good = true;
        } else {
            kv_uncertain(&keys[k], val);
            good = false;
        }
        if (!good && errors < 5)
            fprintf(stderr, "loadgen: kv: \"%.60s\" got \"%.60s\"\n", req, out);
        if (!good) {
            errors++;
        } else if (measured) {
            samples_add(&s, rtt);
            if (is_get)
                gets++;
            else
                sets++;
        }
    }
    double secs = last > first ? (double)(last - first) / 1e9 : 0;
    struct lat l = samples_stats(&s);
    double tps = secs > 0 ? (double)s.n / secs : 0;
    if (opt.json) {
        printf("loadgen-result {\"workload\":\"kv\",\"transactions\":%zu,\"tps\":%.1f,", s.n, tps);
        json_lat(&l);
        printf(",\"lost\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"gets\":%" PRIu64 ",\"sets\":%" PRIu64 ",\"keys\":%u,\"get_ratio\":%.3f"
               ",\"value_size\":%u,\"duration_s\":%.3f",
               lost, misses, errors, gets, sets, opt.keys, opt.get_ratio, opt.value_size, secs);
        json_tail(complete && !gone);
    } else {
        printf("kv: %zu operations (%" PRIu64 " gets, %" PRIu64 " sets) in %.3f s = %.1f/s, "
               "%u keys, lost %" PRIu64 ", misses %" PRIu64 ", errors %" PRIu64 "\n",
               s.n, gets, sets, secs, tps, opt.keys, lost, misses, errors);
        human_lat(&l);
    }
    fflush(stdout);
    if (gone || (attempts > 0 && lost == attempts))
        die(EXIT_NO_ANSWER, "kv: the guest stopped answering on port %u%s", PORT_KV, rx_hint());
    if (!complete)
        die(EXIT_TIMEOUT, "kv: overall timeout of %g s cut the run short", opt.timeout);
    if (errors)
        die(EXIT_CONTRACT, "kv: %" PRIu64 " replies broke the contract", errors);
    return EXIT_OK;
}

static int run_quit(void)
{
    char out[64];
    uint64_t tmo = (uint64_t)(opt.reply_timeout_ms * 1e6);
    if (tmo < 500 * MS)
        tmo = 500 * MS;
    bool bye = ask(PORT_CTL, "QUIT", "BYE", out, sizeof out, tmo);
    if (opt.json)
        printf("loadgen-result {\"workload\":\"quit\",\"bye\":%s}\n", bye ? "true" : "false");
    else
        printf("quit: %s\n", bye ? "the guest said BYE" : "no BYE");
    fflush(stdout);
    if (!bye)
        die(EXIT_NO_ANSWER, "quit: no BYE from port %u after %u tries", PORT_CTL, opt.retries);
    return EXIT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Command line */

static void usage(FILE *f)
{
    fprintf(f,
"usage: loadgen --port-local P2 --port-qemu P1 [options] rr|stream|kv|quit\n"
"  QEMU: -netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=P1,\n"
"        remote.type=inet,remote.host=127.0.0.1,remote.port=P2\n"
"workloads:\n"
"  rr      UDP request-response to the guest's echo port 7 (like netperf UDP_RR)\n"
"  stream  frames to the discard port 9 at --rate, then STAT: what the guest received\n"
"  kv      --keys sets, then random gets and sets (--get-ratio) to port 11211\n"
"  quit    QUIT to port 5000, wait for BYE\n"
"options:\n"
"  --port-local P2      UDP port loadgen binds on 127.0.0.1 (QEMU's remote.port)\n"
"  --port-qemu P1       UDP port QEMU listens on (QEMU's local.port)\n"
"  --size N             UDP payload bytes, 0..%d (default 1)\n"
"  --count N            measured transactions (rr, kv) or frames (stream)\n"
"  --duration S         measured seconds (default 5; with --count only if given)\n"
"  --warmup S           seconds of load before measuring (default 0)\n"
"  --rate R             stream: frames/s, 0 = as fast as possible (default 0)\n"
"  --keys N             kv: number of keys (default 100)\n"
"  --get-ratio F        kv: share of gets (default 0.9)\n"
"  --value-size N       kv: value bytes (default 16)\n"
"  --reply-timeout MS   wait per request before counting it lost (default 200)\n"
"  --retries N          tries of STAT and QUIT, and of each initial kv set (default 5)\n"
"  --timeout S          limit of the whole run (default 60)\n"
"  --wait-ready S       first probe the guest (ARP, echo) for up to S seconds\n"
"  --src-port N         first UDP source port (default 40000)\n"
"  --seed N             kv random seed (default 1)\n"
"  --no-udp-csum        send UDP checksum 0\n"
"  --json               print one line: loadgen-result {json}\n"
"exit status: 0 done, 1 contract broken, 2 usage, 3 no answer, 4 timeout, 5 host error\n",
            MAX_PAYLOAD);
}

static double num_arg(const char *name, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "loadgen: --%s: \"%s\" is not a number in %g..%g\n", name, s, lo, hi);
        exit(EXIT_USAGE);
    }
    return v;
}

static unsigned uint_arg(const char *name, const char *s, double lo, double hi)
{
    double v = num_arg(name, s, lo, hi);
    if (v != (double)(uint64_t)v) {
        fprintf(stderr, "loadgen: --%s: \"%s\" is not an integer\n", name, s);
        exit(EXIT_USAGE);
    }
    return (unsigned)v;
}

static void parse_args(int argc, char **argv)
{
    enum { O_PL = 256, O_PQ, O_SIZE, O_COUNT, O_DUR, O_WARM, O_RATE, O_KEYS, O_GR, O_VS, O_RT,
           O_RETRIES, O_TIMEOUT, O_READY, O_SPORT, O_SEED, O_NOCSUM, O_JSON, O_HELP };
    static const struct option longs[] = {
        {"port-local", 1, 0, O_PL}, {"port-qemu", 1, 0, O_PQ}, {"size", 1, 0, O_SIZE},
        {"count", 1, 0, O_COUNT}, {"duration", 1, 0, O_DUR}, {"warmup", 1, 0, O_WARM},
        {"rate", 1, 0, O_RATE}, {"keys", 1, 0, O_KEYS}, {"get-ratio", 1, 0, O_GR},
        {"value-size", 1, 0, O_VS}, {"reply-timeout", 1, 0, O_RT}, {"retries", 1, 0, O_RETRIES},
        {"timeout", 1, 0, O_TIMEOUT}, {"wait-ready", 1, 0, O_READY}, {"src-port", 1, 0, O_SPORT},
        {"seed", 1, 0, O_SEED}, {"no-udp-csum", 0, 0, O_NOCSUM}, {"json", 0, 0, O_JSON},
        {"help", 0, 0, O_HELP}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case O_PL: opt.port_local = uint_arg("port-local", optarg, 1, 65535); break;
        case O_PQ: opt.port_qemu = uint_arg("port-qemu", optarg, 1, 65535); break;
        case O_SIZE: opt.size = uint_arg("size", optarg, 0, MAX_PAYLOAD); opt.size_set = true; break;
        case O_COUNT: opt.count = (uint64_t)num_arg("count", optarg, 1, 1e15); break;
        case O_DUR: opt.duration = num_arg("duration", optarg, 0.001, 1e6); opt.duration_set = true; break;
        case O_WARM: opt.warmup = num_arg("warmup", optarg, 0, 1e6); break;
        case O_RATE: opt.rate = num_arg("rate", optarg, 0, 1e8); break;
        case O_KEYS: opt.keys = uint_arg("keys", optarg, 1, 1e6); break;
        case O_GR: opt.get_ratio = num_arg("get-ratio", optarg, 0, 1); break;
        case O_VS: opt.value_size = uint_arg("value-size", optarg, 1, KV_VMAX); break;
        case O_RT: opt.reply_timeout_ms = num_arg("reply-timeout", optarg, 0.01, 60000); break;
        case O_RETRIES: opt.retries = uint_arg("retries", optarg, 1, 1000); break;
        case O_TIMEOUT: opt.timeout = num_arg("timeout", optarg, 0.01, 1e6); break;
        case O_READY: opt.wait_ready = num_arg("wait-ready", optarg, 0, 1e6); break;
        case O_SPORT: opt.src_port = uint_arg("src-port", optarg, 1024, 65535 - PROBE_PORT_OFFSET); break;
        case O_SEED: opt.seed = (uint64_t)num_arg("seed", optarg, 0, 1e15); break;
        case O_NOCSUM: opt.udp_csum = false; break;
        case O_JSON: opt.json = true; break;
        case 'h': case O_HELP: usage(stdout); exit(EXIT_OK);
        default: usage(stderr); exit(EXIT_USAGE);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "loadgen: give exactly one workload: rr, stream, kv or quit\n");
        usage(stderr);
        exit(EXIT_USAGE);
    }
    for (int w = W_RR; w <= W_QUIT; w++)
        if (strcmp(argv[optind], workload_name[w]) == 0)
            opt.workload = (enum workload)w;
    if (opt.workload == W_NONE)
        die(EXIT_USAGE, "unknown workload \"%s\" (rr, stream, kv or quit)", argv[optind]);
    if (!opt.port_local || !opt.port_qemu)
        die(EXIT_USAGE, "--port-local and --port-qemu are required");
    if (opt.workload == W_KV) {
        /* "set key<N> <value>" must fit one frame */
        if (opt.value_size + 24 > MAX_PAYLOAD)
            die(EXIT_USAGE, "--value-size %u does not fit one frame", opt.value_size);
    }
    if (opt.workload == W_KV && opt.size_set)
        fprintf(stderr, "loadgen: kv ignores --size (use --value-size)\n");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    uint64_t t_start = now_ns();
    deadline_all = t_start + secs_to_ns(opt.timeout);
    rng_state = opt.seed * 0x9e3779b97f4a7c15ull + 0x1234567ull;
    if (!rng_state)
        rng_state = 1;

    prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: sleeps end on time (stream pacing) */

    /* Safety net: whatever happens, the process ends shortly after --timeout. */
    signal(SIGALRM, on_alarm);
    alarm((unsigned)opt.timeout + 4);

    sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0)
        die(EXIT_HOST, "socket: %s", strerror(errno));
    int buf = 4 << 20;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port_local),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(sock, (struct sockaddr *)&local, sizeof local) < 0)
        die(EXIT_HOST, "bind 127.0.0.1:%u: %s", opt.port_local, strerror(errno));
    qemu_addr = (struct sockaddr_in){.sin_family = AF_INET,
                                     .sin_port = htons((uint16_t)opt.port_qemu),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

    if (opt.wait_ready > 0)
        wait_ready(opt.wait_ready);
    else
        announce();

    switch (opt.workload) {
    case W_RR: return run_rr();
    case W_STREAM: return run_stream();
    case W_KV: return run_kv();
    case W_QUIT: return run_quit();
    default: return EXIT_USAGE;
    }
}
