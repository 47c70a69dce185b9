/* Ethernet, ARP, IPv4 and UDP: just enough to answer UDP requests. */
#include "net.h"
#include "libguest.h"

#define ARP_ENTRIES		16
#define UDP_BINDINGS		16

#define ARP_HTYPE_ETHERNET	1
#define ARP_OP_REQUEST		1
#define ARP_OP_REPLY		2
#define ARP_LEN			28

#define IP_FLAG_MF		0x2000
#define IP_FRAG_OFFSET		0x1fff
#define IP_FLAG_DF		0x4000
#define IP_TTL			64

static const uint8_t broadcast_mac[NET_ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct net_stats net_stats;

static uint8_t our_mac[NET_ETH_ALEN];
static uint32_t our_ip;
static net_xmit xmit;
static uint16_t ip_id;

static struct {
	uint32_t ip;		/* 0: free */
	uint8_t mac[NET_ETH_ALEN];
} arp_table[ARP_ENTRIES];
static unsigned arp_victim;	/* next entry to replace when the table is full */

static struct {
	uint16_t port;
	net_udp_handler handler;	/* NULL: free */
} bindings[UDP_BINDINGS];

/* Frames are built here: one at a time (the stack is not reentrant). */
static uint8_t tx_frame[NET_ETH_HLEN + 1500] __attribute__((aligned(16)));

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Internet checksum: the ones' complement sum of 16-bit words, folded, not inverted. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, unsigned len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

void net_format_ip(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}

void net_init(const uint8_t mac[NET_ETH_ALEN], uint32_t ip, net_xmit x)
{
	memcpy(our_mac, mac, NET_ETH_ALEN);
	our_ip = ip;
	xmit = x;
	memset(arp_table, 0, sizeof(arp_table));
	memset(bindings, 0, sizeof(bindings));
	memset(&net_stats, 0, sizeof(net_stats));
	arp_victim = 0;
}

bool net_udp_bind(uint16_t port, net_udp_handler h)
{
	for (unsigned i = 0; i < UDP_BINDINGS; i++)
		if (bindings[i].handler && bindings[i].port == port) {
			bindings[i].handler = h;
			return true;
		}
	for (unsigned i = 0; i < UDP_BINDINGS; i++)
		if (!bindings[i].handler) {
			bindings[i].port = port;
			bindings[i].handler = h;
			return true;
		}
	return false;
}

bool net_arp_lookup(uint32_t ip, uint8_t mac[NET_ETH_ALEN])
{
	for (unsigned i = 0; i < ARP_ENTRIES; i++)
		if (arp_table[i].ip == ip) {
			memcpy(mac, arp_table[i].mac, NET_ETH_ALEN);
			return true;
		}
	return false;
}

/* Records ip -> mac; with add false, only updates an entry that exists. */
static void arp_learn(uint32_t ip, const uint8_t *mac, bool add)
{
	if (!ip || (mac[0] & 1))
		return;
	for (unsigned i = 0; i < ARP_ENTRIES; i++)
		if (arp_table[i].ip == ip) {
			memcpy(arp_table[i].mac, mac, NET_ETH_ALEN);
			return;
		}
	if (!add)
		return;
	unsigned slot = ARP_ENTRIES;
	for (unsigned i = 0; i < ARP_ENTRIES && slot == ARP_ENTRIES; i++)
		if (!arp_table[i].ip)
			slot = i;
	if (slot == ARP_ENTRIES) {
		slot = arp_victim;
		arp_victim = (arp_victim + 1) % ARP_ENTRIES;
	}
	arp_table[slot].ip = ip;
	memcpy(arp_table[slot].mac, mac, NET_ETH_ALEN);
}

static bool send_frame(unsigned len)
{
	if (xmit && xmit(tx_frame, len)) {
		net_stats.tx_frames++;
		return true;
	}
	net_stats.tx_failed++;
	return false;
}

static void eth_header(const uint8_t *dst, uint16_t type)
{
	memcpy(tx_frame, dst, NET_ETH_ALEN);
	memcpy(tx_frame + NET_ETH_ALEN, our_mac, NET_ETH_ALEN);
	put16(tx_frame + 2 * NET_ETH_ALEN, type);
}

static void drop(uint64_t *counter)
{
	(*counter)++;
	net_stats.rx_dropped++;
}

static void arp_input(const uint8_t *p, unsigned len)
{
	if (len < ARP_LEN || get16(p) != ARP_HTYPE_ETHERNET || get16(p + 2) != NET_ETHERTYPE_IPV4 ||
	    p[4] != NET_ETH_ALEN || p[5] != 4) {
		drop(&net_stats.rx_bad);
		return;
	}
	uint16_t op = get16(p + 6);
	const uint8_t *sha = p + 8, *tha = p + 18;
	uint32_t spa = get32(p + 14), tpa = get32(p + 24);

	(void)tha;
	if (spa == tpa && spa != our_ip) {
		/* Gratuitous: a host announcing its own address. */
		net_stats.rx_arp++;
		arp_learn(spa, sha, true);
		return;
	}
	if (tpa != our_ip) {
		/* Not for us, but keep a known sender's address current. */
		arp_learn(spa, sha, false);
		drop(&net_stats.rx_not_ours);
		return;
	}
	net_stats.rx_arp++;
	arp_learn(spa, sha, true);
	if (op != ARP_OP_REQUEST)
		return;

	eth_header(sha, NET_ETHERTYPE_ARP);
	uint8_t *a = tx_frame + NET_ETH_HLEN;
	put16(a, ARP_HTYPE_ETHERNET);
	put16(a + 2, NET_ETHERTYPE_IPV4);
	a[4] = NET_ETH_ALEN;
	a[5] = 4;
	put16(a + 6, ARP_OP_REPLY);
	memcpy(a + 8, our_mac, NET_ETH_ALEN);
	put32(a + 14, our_ip);
	memcpy(a + 18, sha, NET_ETH_ALEN);
	put32(a + 24, spa);
	if (send_frame(NET_ETH_HLEN + ARP_LEN))
		net_stats.arp_replies++;
}

static uint32_t udp_pseudo_sum(uint32_t src, uint32_t dst, unsigned udp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + NET_IPPROTO_UDP +
	       udp_len;
}

static void udp_input(const uint8_t *eth_src, uint32_t src_ip, uint32_t dst_ip, const uint8_t *u,
		      unsigned len)
{
	if (len < NET_UDP_HLEN) {
		drop(&net_stats.rx_bad);
		return;
	}
	unsigned ulen = get16(u + 4);
	if (ulen < NET_UDP_HLEN || ulen > len) {
		drop(&net_stats.rx_bad);
		return;
	}
	if (get16(u + 6)) {	/* 0: the sender computed none */
		uint32_t sum = udp_pseudo_sum(src_ip, dst_ip, ulen);
		if (csum_fold(csum_add(sum, u, ulen)) != 0xffff) {
			drop(&net_stats.rx_bad_csum);
			return;
		}
	}
	struct net_udp_meta m = {
		.src_ip = src_ip,
		.src_port = get16(u),
		.dst_port = get16(u + 2),
	};
	memcpy(m.src_mac, eth_src, NET_ETH_ALEN);
	for (unsigned i = 0; i < UDP_BINDINGS; i++)
		if (bindings[i].handler && bindings[i].port == m.dst_port) {
			net_stats.rx_udp++;
			bindings[i].handler(&m, u + NET_UDP_HLEN, ulen - NET_UDP_HLEN);
			return;
		}
	drop(&net_stats.rx_no_port);
}

static void ipv4_input(const uint8_t *eth_src, const uint8_t *ip, unsigned len)
{
	if (len < NET_IP_HLEN || (ip[0] >> 4) != 4) {
		drop(&net_stats.rx_bad);
		return;
	}
	unsigned hlen = (ip[0] & 0xf) * 4u;
	unsigned total = get16(ip + 2);
	if (hlen < NET_IP_HLEN || hlen > len || total < hlen || total > len) {
		drop(&net_stats.rx_bad);
		return;
	}
	if (csum_fold(csum_add(0, ip, hlen)) != 0xffff) {
		drop(&net_stats.rx_bad_csum);
		return;
	}
	uint32_t src = get32(ip + 12), dst = get32(ip + 16);
	if (dst != our_ip) {
		drop(&net_stats.rx_not_ours);
		return;
	}
	if (get16(ip + 6) & (IP_FLAG_MF | IP_FRAG_OFFSET)) {
		drop(&net_stats.rx_fragments);
		return;
	}
	net_stats.rx_ip++;
	if (ip[9] != NET_IPPROTO_UDP) {
		drop(&net_stats.rx_other_proto);
		return;
	}
	/* The frame may carry padding after the datagram: total, not len. */
	udp_input(eth_src, src, dst, ip + hlen, total - hlen);
}

void net_input(const uint8_t *frame, unsigned len)
{
	net_stats.rx_frames++;
	if (len < NET_ETH_HLEN) {
		drop(&net_stats.rx_bad);
		return;
	}
	const uint8_t *dst = frame;
	if (memcmp(dst, our_mac, NET_ETH_ALEN) && memcmp(dst, broadcast_mac, NET_ETH_ALEN)) {
		drop(&net_stats.rx_not_ours);
		return;
	}
	switch (get16(frame + 2 * NET_ETH_ALEN)) {
	case NET_ETHERTYPE_ARP:
		arp_input(frame + NET_ETH_HLEN, len - NET_ETH_HLEN);
		break;
	case NET_ETHERTYPE_IPV4:
		ipv4_input(frame + NET_ETH_ALEN, frame + NET_ETH_HLEN, len - NET_ETH_HLEN);
		break;
	default:
		drop(&net_stats.rx_not_ours);
		break;
	}
}

bool net_udp_send(const uint8_t *dst_mac_hint, uint32_t dst_ip, uint16_t src_port,
		  uint16_t dst_port, const void *data, unsigned len)
{
	uint8_t mac[NET_ETH_ALEN];

	if (len > NET_UDP_PAYLOAD_MAX) {
		net_stats.tx_failed++;
		return false;
	}
	if (!net_arp_lookup(dst_ip, mac)) {
		if (!dst_mac_hint) {
			net_stats.tx_failed++;
			return false;
		}
		memcpy(mac, dst_mac_hint, NET_ETH_ALEN);
	}
	eth_header(mac, NET_ETHERTYPE_IPV4);

	uint8_t *ip = tx_frame + NET_ETH_HLEN;
	unsigned total = NET_IP_HLEN + NET_UDP_HLEN + len;
	ip[0] = 0x45;	/* version 4, 5 words */
	ip[1] = 0;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 4, ip_id++);
	put16(ip + 6, IP_FLAG_DF);
	ip[8] = IP_TTL;
	ip[9] = NET_IPPROTO_UDP;
	put16(ip + 10, 0);
	put32(ip + 12, our_ip);
	put32(ip + 16, dst_ip);
	put16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, NET_IP_HLEN)));

	uint8_t *u = ip + NET_IP_HLEN;
	put16(u, src_port);
	put16(u + 2, dst_port);
	put16(u + 4, (uint16_t)(NET_UDP_HLEN + len));
	put16(u + 6, 0);	/* no checksum */
	memcpy(u + NET_UDP_HLEN, data, len);
	return send_frame(NET_ETH_HLEN + total);
}

bool net_udp_reply(const struct net_udp_meta *m, const void *data, unsigned len)
{
	return net_udp_send(m->src_mac, m->src_ip, m->dst_port, m->src_port, data, len);
}
