/*
 * hoptrace-sim: a deterministic simulated network behind a TUN device.
 *
 * The engine (engine.c, craft.c, scenario.c) is pure: it takes IP packets
 * the prober sent and a clock, and schedules the packets the simulated
 * network sends back. Namespaces, the TUN device and the command being
 * tested live in main.c and netns.c only, so the engine can be unit-tested
 * and benchmarked without root.
 */
#ifndef HT_SIM_H
#define HT_SIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_MAX_NODES 512
#define SIM_MAX_NEXT 16
#define SIM_MAX_MPLS 8
#define SIM_MAX_PKT 65536
#define SIM_NAME_LEN 32
#define SIM_PROBER 0 /* node index of the prober itself */
#define SIM_MAX_FAMILIES 256
#define SIM_MAX_FAMILY_HOSTS (1u << 20)

/* Protocol bits for "answer=" and hashing. */
enum {
	SIM_P_UDP = 1,
	SIM_P_ICMP = 2,
	SIM_P_TCP = 4,
	SIM_P_ALL = 7,
};

/* Fields a per-flow load balancer hashes. "ports" is the first four bytes
 * of the transport header (ports for UDP/TCP, type/code/checksum for
 * ICMP), which is what most routers actually hash. */
enum {
	SIM_H_SRC = 1,
	SIM_H_DST = 2,
	SIM_H_PROTO = 4,
	SIM_H_PORTS = 8,
	SIM_H_FLOWLABEL = 16,
	SIM_H_TOS = 32,
	SIM_H_L4CSUM = 64, /* UDP/TCP checksum, ICMP checksum (and echo id) */
};

/* Hostile behaviour of a node ("hostile=a,b,..."): along with every ICMP
 * error it sends, it first sends forged variants of it, which hoptrace
 * must reject; "ext" and "dup"/"late" alter or repeat the genuine one. */
enum {
	SIM_X_BADSUM = 1,   /* outer ICMP checksum wrong */
	SIM_X_IHL = 2,      /* quoted IPv4 header length 4 (impossible) */
	SIM_X_DST = 4,      /* quote names another destination */
	SIM_X_TRUNC = 8,    /* quote cut 4 bytes into the transport header */
	SIM_X_SEQ = 16,     /* quote of a probe never sent (seq fields flipped) */
	SIM_X_EXT = 32,     /* the genuine error's RFC 4884 length points past the end */
	SIM_X_DUP = 64,     /* the genuine error twice */
	SIM_X_LATE = 128,   /* the genuine error again, 3 s later */
	SIM_X_FLOOD = 256,  /* 200 forged errors quoting other destinations */
	SIM_X_OTHERSRC = 512, /* the quote's source is somebody else */
	SIM_X_TLEN = 1024,    /* quoted total/payload length shorter than its header */
	SIM_X_PROTO = 2048,   /* quoted protocol is not the probe's */
	SIM_X_IPTRUNC = 4096, /* quote cut inside the quoted IP header */
	SIM_X_EXT0 = 8192,    /* the genuine error, its first extension object of length 0 */
	SIM_X_EXTLONG = 16384, /* ... its first extension object longer than the packet */
	SIM_X_EXTSUM = 32768, /* ... its extension structure checksum wrong */
};
/* Kinds that replace the genuine error rather than precede it. */
#define SIM_X_REPLACE (SIM_X_EXT | SIM_X_EXT0 | SIM_X_EXTLONG | SIM_X_EXTSUM)
/* Where forged packets come from: an address on no path, so a forgery the
 * tracer wrongly accepts shows up as a wrong hop, not just in a counter. */
#define SIM_FORGER4 "198.19.66.6"
#define SIM_FORGER6 "2001:db8:666::6"
#define SIM_FLOOD_DEFAULT 200

enum sim_lb {
	SIM_LB_FLOW = 0,
	SIM_LB_PACKET,
};

/* What a node does with a packet addressed to it (or, for fake-dest, with
 * a packet whose TTL runs out there). */
enum sim_act {
	SIM_ACT_DEFAULT = 0, /* port unreach / echo reply / RST */
	SIM_ACT_SILENT,
	SIM_ACT_PORT_UNREACH,
	SIM_ACT_ECHO,
	SIM_ACT_SYNACK,
	SIM_ACT_RST,
	SIM_ACT_PROHIB,       /* !X */
	SIM_ACT_HOST_UNREACH, /* !H */
	SIM_ACT_NET_UNREACH,  /* !N */
	SIM_ACT_PROTO_UNREACH, /* !P */
	SIM_ACT_DNS,          /* UDP: a DNS server: answers queries with their first 2
	                       * bytes (the ID), drops what says it is a response (QR) */
	/* err:TYPE:CODE, any ICMP error: SIM_ACT_ERR + (TYPE << 8 | CODE) */
	SIM_ACT_ERR = 0x10000,
	SIM_ACT_ERR_LAST = 0x1ffff
};

enum sim_ext_form {
	SIM_EXT_RFC4884 = 0, /* length field set, extensions after padded quote */
	SIM_EXT_LEGACY,      /* length 0, extensions at offset 128 */
};

struct sim_mpls {
	uint32_t label;
	uint8_t exp, ttl;
};

struct sim_bucket {
	bool on;
	double burst, rate; /* tokens, tokens per second */
	double tokens;
	uint64_t last_us;
};

struct sim_node {
	char name[SIM_NAME_LEN];
	bool host; /* a destination host rather than a router */
	bool has4, has6;
	struct in_addr a4;
	struct in6_addr a6;
	char ptr[320]; /* reverse DNS name, may be empty (long ones are hostile) */

	uint32_t delay_us, jitter_us; /* one-way, on the link into this node */
	uint32_t late_us;             /* its time-exceeded messages leave this late */
	double loss, rloss;           /* forward loss, reply loss */
	struct sim_bucket rl;         /* ICMP error rate limit */
	bool silent;                  /* never sends ICMP errors */
	unsigned answer;              /* SIM_P_* it answers time exceeded for */
	uint8_t init_ttl;             /* TTL its own packets start with */

	/* Time exceeded details. */
	int quote;   /* bytes of transport quoted: 0 = as much as fits (RFC 1812) */
	int qttl;    /* quoted TTL: -1 as received (1), else 0 or 1 */
	int nmpls;
	struct sim_mpls mpls[SIM_MAX_MPLS];
	bool ifinfo;
	uint32_t ifindex, ifmtu;
	char ifname[64];
	enum sim_ext_form ext_form;

	/* Forwarding behaviour. */
	int tos;  /* rewrite TOS/traffic class of forwarded packets; -1 = no */
	bool nat; /* rewrite source address/port of forwarded packets */
	struct in_addr nat4;
	struct in6_addr nat6;
	uint16_t nat_port; /* 0: keep the port */
	bool conntrack;    /* with nat: tracks TCP connections like Linux (engine.c) */
	uint32_t mtu;      /* MTU of the link out of this node; 0 = unlimited */
	enum sim_act unreach; /* answer forwarded packets with this instead */
	bool fake_dest;       /* answers expiring probes as the destination would */
	bool redirect;        /* IPv4: sends a redirect for every packet it forwards */
	unsigned hostile;     /* SIM_X_*: forged packets sent along with its errors */
	unsigned flood_n;     /* SIM_X_FLOOD: forged errors per genuine one */

	/* Destination behaviour per protocol. */
	enum sim_act act_udp, act_icmp, act_tcp;

	/* Routing. */
	int nnext;
	int next[SIM_MAX_NEXT];
	enum sim_lb lb;
	unsigned hash;
	/* A path change: after `change_probes` probes seen by the simulator or
	 * `change_us` since start, next2 replaces next. */
	int nnext2;
	int next2[SIM_MAX_NEXT];
	uint64_t change_probes, change_us;
	uint32_t rr; /* per-packet round robin position */
};

/*
 * A family of destination hosts ("hosts NAME COUNT v4=A [v6=A] ..."):
 * COUNT hosts at consecutive addresses, all with the options of `tmpl`.
 * They are not nodes (a scenario may hold a million of them): the engine
 * makes member i's node on the fly from the template. Member i hangs off
 * behind[i % nbehind] (when nbehind) and off every router in parent[]
 * (`link R NAME`, `path ... NAME`).
 */
struct sim_family {
	char name[SIM_NAME_LEN];
	struct sim_node tmpl; /* a4 / a6: member 0's addresses */
	uint32_t count;
	int nbehind, behind[SIM_MAX_NEXT];
	int nparent, parent[SIM_MAX_NEXT];
	struct sim_bucket *rl; /* each member's ICMP error bucket, when tmpl.rl.on */
};

/* The address index: every node address and every family range, sorted by
 * (family, address), for a binary search per probe. */
struct sim_addr_ix {
	uint8_t af; /* 4 or 6 */
	uint8_t key[16];
	uint32_t count; /* 1 for a node */
	int node;       /* node index, or -1 */
	int fam;        /* family index, or -1 */
};

/* Who owns an address: a node (node >= 0) or member `member` of family
 * `fam` (fam >= 0). */
struct sim_target {
	int node, fam;
	uint32_t member;
};

struct sim_scenario {
	char path[512];
	uint64_t seed;
	bool has4, has6;
	struct in_addr prober4;
	struct in6_addr prober6;
	int nnodes;
	struct sim_node nodes[SIM_MAX_NODES];
	/* reach[a * nnodes + b]: node b can be reached from node a. */
	uint8_t *reach;
	/* Host families and the address index. */
	int nfam;
	struct sim_family *fam;
	size_t nix;
	struct sim_addr_ix *ix;

	/* Environment. */
	char run_as[64];
	int nsysctl;
	char sysctl_key[16][96];
	char sysctl_val[16][64];
	bool dns;
	struct in_addr dns4;
	/* "flood RATE [4|6]": unrelated ICMP packets at RATE per second to the
	 * prober for as long as the command runs. */
	unsigned flood_pps;
	int flood_family;
	/* "quote=ADDR": every flood packet is an error quoting a probe to ADDR
	 * (the trace's destination), which a tracer's kernel filter lets in. */
	bool flood_has_quote4, flood_has_quote6;
	struct in_addr flood_quote4;
	struct in6_addr flood_quote6;

	/* Test: command, expected output, exit code, record assertions. */
	char *command;
	char *expect;        /* NULL: not checked */
	char *expect_stderr; /* NULL: not checked */
	int expect_exit;     /* -1: not checked */
	char *record_checks;
	unsigned timeout_s;
};

/* Scenario file: parse, validate (addresses must lie in 198.18.0.0/15 or
 * 2001:db8::/32). On error returns -1 and writes a message into err. */
int sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t errlen);
int sim_scenario_parse(struct sim_scenario *sc, const char *text, char *err, size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);
bool sim_addr4_allowed(struct in_addr a);
bool sim_addr6_allowed(const struct in6_addr *a);
int sim_node_find(const struct sim_scenario *sc, const char *name);
int sim_family_find(const struct sim_scenario *sc, const char *name);
/* The owner of address a (4 or 16 bytes of family AF_INET/AF_INET6):
 * false when nobody owns it. O(log(nodes + families)). */
bool sim_lookup(const struct sim_scenario *sc, int family, const uint8_t *a, struct sim_target *t);
/* Member m of family f as a node (its own addresses, the family's options;
 * the rate limit bucket is the template's, see sim_family.rl). */
void sim_family_member(const struct sim_scenario *sc, int f, uint32_t m, struct sim_node *out);
/* The routers member m of family f hangs off; returns how many. */
int sim_family_parents(const struct sim_scenario *sc, int f, uint32_t m, int *out);
/* Every host's address of one family, in order: host nodes first, then
 * each family's members. Calls fn for each; stops when it returns nonzero. */
int sim_each_host(const struct sim_scenario *sc, int family,
                  int (*fn)(void *user, const struct sim_target *t, const uint8_t *addr),
                  void *user);
/* Ground truth (truth.c): one JSON line per host of `family` (AF_INET or
 * AF_INET6) on out, for probes of protocol `proto` (IPPROTO_UDP, _TCP,
 * _ICMP) with TTLs up to max_ttl. */
int sim_truth(const struct sim_scenario *sc, FILE *out, int family, int proto, int max_ttl);
/* The same for one address; returns -1 when nobody owns it. */
int sim_truth_addr(const struct sim_scenario *sc, FILE *out, int family, const uint8_t *a,
                   int proto, int max_ttl);

/* One packet to emit at a given time. */
struct sim_out {
	uint64_t at_us;
	uint64_t order; /* tie-break so equal times keep creation order */
	uint32_t len;
	uint8_t data[];
};

struct sim_heap {
	struct sim_out **v;
	size_t n, cap;
};

int sim_heap_push(struct sim_heap *h, struct sim_out *o);
struct sim_out *sim_heap_pop(struct sim_heap *h);
static inline const struct sim_out *sim_heap_top(const struct sim_heap *h)
{
	return h->n ? h->v[0] : NULL;
}
void sim_heap_free(struct sim_heap *h);

struct sim_stats {
	uint64_t probes, other, replies, dropped_loss, dropped_rl, dns;
	uint64_t dropped_ct; /* answers a conntrack NAT did not translate back */
};

/* A connection tracking entry of a `conntrack` NAT (engine.c): the TCP
 * 5-tuple as it reached the NAT, and when a RST from the far side closed
 * it (UINT64_MAX: open). */
struct sim_ct {
	int node, family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint64_t closed_at;
};

struct sim_engine {
	struct sim_scenario *sc;
	struct sim_heap heap;
	uint64_t order;
	uint64_t nprobes;
	uint16_t ipid;
	FILE *record;
	struct sim_stats st;
	struct sim_ct *ct;
	size_t nct, cap_ct;
};

int sim_engine_init(struct sim_engine *e, struct sim_scenario *sc);
void sim_engine_free(struct sim_engine *e);
/* Feed one IP packet the prober sent, at time now_us (us since start). */
int sim_engine_input(struct sim_engine *e, const uint8_t *pkt, size_t len, uint64_t now_us);

/* The i-th packet of a "flood": an ICMP error quoting a packet of the
 * prober to an address no trace goes to, or an echo reply from such an
 * address; deterministic in (seed, i). Returns its length. */
size_t sim_flood_packet(const struct sim_scenario *sc, int family, uint64_t i, uint8_t *out,
                        size_t cap);

/* Packet crafting (craft.c), exposed for the unit tests. */
struct sim_icmp_err {
	int family;
	uint8_t type, code;
	uint32_t mtu; /* frag needed / packet too big */
	const void *src, *dst; /* in_addr or in6_addr */
	uint8_t ttl;
	const uint8_t *quote; /* packet being quoted, starting at its IP header */
	size_t quote_len;
	int quote_l4; /* bytes of transport to quote; 0 = as much as fits */
	const struct sim_node *ext; /* extensions from this node, or NULL */
	uint16_t ipid;
};
/* Build an ICMP/ICMPv6 error as a full IP packet. Returns its length. */
size_t sim_craft_icmp_error(const struct sim_icmp_err *p, uint8_t *out, size_t cap);
/* Build the ICMP extension structure (RFC 4884 header + objects). */
size_t sim_craft_ext(const struct sim_node *n, int family, uint8_t *out, size_t cap);
/* Echo reply for an echo request (full IP packet in, full IP packet out). */
size_t sim_craft_echo_reply(const uint8_t *req, size_t len, uint8_t ttl, uint16_t ipid,
                            uint8_t *out, size_t cap);
/* TCP SYN-ACK (synack=true) or RST for a segment (full IP packet in). */
size_t sim_craft_tcp_reply(const uint8_t *req, size_t len, bool synack, uint32_t isn, uint8_t ttl,
                           uint16_t ipid, uint8_t *out, size_t cap);
/* A UDP service's answer to a datagram (full IP packet in): from the port
 * it was sent to, back to its source port, with the first `keep` bytes of
 * its payload (an echo service keeps all, a DNS server echoes the 2-byte
 * ID) followed by zeros up to the request's payload length. */
size_t sim_craft_udp_reply(const uint8_t *req, size_t len, size_t keep, uint8_t ttl,
                           uint16_t ipid, uint8_t *out, size_t cap);
/* Answer a DNS query (full IPv4/UDP packet) from the scenario's names. */
size_t sim_dns_reply(const struct sim_scenario *sc, const uint8_t *pkt, size_t len, uint8_t *out,
                     size_t cap);
/* Recompute the IPv4 header checksum in place. */
void sim_ip4_csum(uint8_t *ip);
/* Recompute the transport checksum of a full packet in place. */
void sim_l4_csum(uint8_t *pkt, size_t len);

/* Expected-output matching (check.c). Returns true on match; on mismatch
 * writes a short explanation (line number, expected, got) into why. */
bool sim_match_output(const char *expect, const char *got, char *why, size_t whylen);
/* Record assertions against the record file text. */
bool sim_check_record(const char *checks, const char *record, double elapsed_ms, char *why,
                      size_t whylen);
/* The same, also with `flood OP PPS` lines checked against flood_pps, the
 * flood rate achieved while the command ran. */
bool sim_check_record_flood(const char *checks, const char *record, double elapsed_ms,
                            double flood_pps, char *why, size_t whylen);

/* Deterministic randomness: splitmix64. */
static inline uint64_t sim_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif
