/*
 * A minimal IPv4 host stack over Ethernet: ARP (answers requests for its address, learns
 * the addresses of those asking and of gratuitous announcements), IPv4 (header checksum checked, unfragmented datagrams only, no
 * options needed) and UDP (checksum checked when present, sent as 0). Frames come in
 * through net_input and go out through the transmit function given to net_init.
 *
 * Addresses are host-order integers (10.0.2.15 is NET_IP(10, 0, 2, 15)). Not reentrant:
 * call everything from one context (the NIC's receive handler, or with interrupts off).
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include <stdbool.h>
#include <stdint.h>

#define NET_IP(a, b, c, d)	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
				 ((uint32_t)(c) << 8) | (uint32_t)(d))
#define NET_ETH_ALEN		6
#define NET_ETH_HLEN		14
#define NET_IP_HLEN		20
#define NET_UDP_HLEN		8
#define NET_UDP_PAYLOAD_MAX	(1500 - NET_IP_HLEN - NET_UDP_HLEN)	/* 1472 */

#define NET_ETHERTYPE_IPV4	0x0800
#define NET_ETHERTYPE_ARP	0x0806
#define NET_IPPROTO_UDP		17

/* Where a UDP datagram came from: what a reply needs. */
struct net_udp_meta {
	uint8_t src_mac[NET_ETH_ALEN];
	uint32_t src_ip;
	uint16_t src_port;
	uint16_t dst_port;
};

typedef void (*net_udp_handler)(const struct net_udp_meta *m, const uint8_t *data,
				unsigned len);
typedef bool (*net_xmit)(const void *frame, unsigned len);

struct net_stats {
	uint64_t rx_frames;
	uint64_t rx_arp;		/* ARP packets for us, and gratuitous ones */
	uint64_t arp_replies;		/* ARP replies sent */
	uint64_t rx_ip;			/* IPv4 datagrams for us */
	uint64_t rx_udp;		/* UDP datagrams delivered to a port's handler */
	uint64_t rx_dropped;		/* everything below, summed */
	uint64_t rx_bad;		/* malformed or short: Ethernet, ARP, IPv4, UDP */
	uint64_t rx_bad_csum;		/* IPv4 header or UDP checksum wrong */
	uint64_t rx_fragments;		/* fragmented IPv4: not reassembled */
	uint64_t rx_not_ours;		/* another destination address or EtherType */
	uint64_t rx_no_port;		/* UDP to a port nobody bound */
	uint64_t rx_other_proto;	/* IPv4 but not UDP */
	uint64_t tx_frames;
	uint64_t tx_failed;		/* the transmit function refused the frame */
};

extern struct net_stats net_stats;

/* Our addresses and how frames go out. Clears the ARP table, bindings and counters. */
void net_init(const uint8_t mac[NET_ETH_ALEN], uint32_t ip, net_xmit xmit);

/* Delivers UDP datagrams to port to h (replacing an earlier binding); false if the table is full. */
bool net_udp_bind(uint16_t port, net_udp_handler h);

/* One received Ethernet frame (without FCS). */
void net_input(const uint8_t *frame, unsigned len);

/*
 * Sends a UDP datagram from our address and src_port. The destination MAC comes from the ARP
 * table if it knows dst_ip, else dst_mac_hint (which may be NULL: then false).
 */
bool net_udp_send(const uint8_t *dst_mac_hint, uint32_t dst_ip, uint16_t src_port,
		  uint16_t dst_port, const void *data, unsigned len);

/* Replies to the sender of m, from the port it was sent to. */
bool net_udp_reply(const struct net_udp_meta *m, const void *data, unsigned len);

/* The MAC address the ARP table holds for ip; false if none. */
bool net_arp_lookup(uint32_t ip, uint8_t mac[NET_ETH_ALEN]);

/* "10.0.2.15" into buf (at least 16 bytes). */
void net_format_ip(uint32_t ip, char *buf);

#endif
