/*
 * libFuzzer target for the simulator's scenario files (tests/sim/
 * scenario.c), and for the engine driven by whatever scenario parses:
 * UDP, ICMP and TCP probes at TTL 1-8 toward the first host of each
 * family, every packet the simulated network sends back decoded by
 * ht_reply_decode as hoptrace would.
 *
 * Input: the scenario text (any bytes; a NUL ends it).
 */
#include "method/method.h"
#include "sim.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sim_node *first_host(const struct sim_scenario *sc, int family)
{
	const struct sim_node *any = NULL;

	for (int i = 1; i < sc->nnodes; i++) {
		const struct sim_node *n = &sc->nodes[i];
		bool has = family == AF_INET ? n->has4 : n->has6;
		if (has && n->host)
			return n;
		if (has && !any)
			any = n;
	}
	return any;
}

static void drive(struct sim_scenario *sc, int family, enum ht_method m)
{
	const struct sim_node *dst = first_host(sc, family);
	struct sim_engine e;
	struct ht_flow f;
	uint8_t pkt[2048];
	uint64_t now = 0;

	bool foreign = false; /* quotes that are not what we sent: NAT, forgery */

	if (!dst || (family == AF_INET ? !sc->has4 : !sc->has6))
		return;
	for (int i = 0; i < sc->nnodes; i++)
		/* Hostile nodes forge quotes of probes never sent on purpose
		 * (the session rejects their sequence numbers). */
		foreign = foreign || sc->nodes[i].nat || sc->nodes[i].hostile;
	memset(&f, 0, sizeof(f));
	f.family = family;
	f.method = m;
	f.src.family = f.dst.family = family;
	if (family == AF_INET) {
		f.src.u.v4 = sc->prober4;
		f.dst.u.v4 = dst->a4;
	} else {
		f.src.u.v6 = sc->prober6;
		f.dst.u.v6 = dst->a6;
	}
	f.sport = 40000;
	f.dport = m == HT_METHOD_TCP ? 80 : 33434;
	f.icmp_id = 0x4242;
	f.packet_len = 0;
	if (sim_engine_init(&e, sc) < 0)
		return;
	for (uint16_t seq = 0; seq < 8; seq++) {
		int n = ht_probe_build(&f, seq, (uint8_t)(seq + 1), pkt + 40, sizeof(pkt) - 40);
		uint8_t *ip = pkt + 40;
		if (n <= 0)
			break;
		if (family == AF_INET6) {
			/* The simulator takes whole IP packets: add the IPv6 header
			 * the kernel would write. */
			ip = pkt;
			memset(ip, 0, 40);
			ip[0] = 0x60;
			ip[4] = (uint8_t)(n >> 8);
			ip[5] = (uint8_t)n;
			ip[6] = m == HT_METHOD_UDP ? 17 : m == HT_METHOD_TCP ? 6 : 58;
			ip[7] = (uint8_t)(seq + 1);
			memcpy(ip + 8, &f.src.u.v6, 16);
			memcpy(ip + 24, &f.dst.u.v6, 16);
			n += 40;
		}
		sim_engine_input(&e, ip, (size_t)n, now);
		now += 1000;
	}
	/* Everything the network sends back, decoded as the prober would. */
	for (struct sim_out *o; (o = sim_heap_pop(&e.heap)); free(o)) {
		struct ht_reply r;
		ht_addr from = {.family = family};
		const uint8_t *p = o->data;
		size_t len = o->len;
		enum ht_rx_kind kind;

		if (family == AF_INET) {
			if (len < 20)
				continue;
			memcpy(&from.u.v4, p + 12, 4);
			kind = p[9] == 6 ? HT_RX_TCP4 : HT_RX_ICMP4;
		} else {
			if (len < 40)
				continue;
			memcpy(&from.u.v6, p + 8, 16);
			kind = p[6] == 6 ? HT_RX_TCP6 : HT_RX_ICMP6;
			p += 40;
			len -= 40;
		}
		int rc = ht_reply_decode(&f, kind, p, len, &from, &r);
		if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
			abort();
		/* Without address translation on the path, a decoded reply must
		 * name a probe that was sent. (Through a NAT the quote is not
		 * what we sent; see the report on IPv6 + 8-byte quotes.) */
		if (rc == 0 && r.seq >= 8 && !foreign)
			abort();
	}
	sim_engine_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_scenario *sc;
	char err[256];
	char *text;

	if (size > 16384)
		return 0;
	text = malloc(size + 1);
	sc = calloc(1, sizeof(*sc));
	if (!text || !sc) {
		free(text);
		free(sc);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (sim_scenario_parse(sc, text, err, sizeof(err)) == 0) {
		/* Whatever parsed must respect the simulator's address rule. */
		for (int i = 0; i < sc->nnodes; i++) {
			if (sc->nodes[i].has4 && !sim_addr4_allowed(sc->nodes[i].a4))
				abort();
			if (sc->nodes[i].has6 && !sim_addr6_allowed(&sc->nodes[i].a6))
				abort();
		}
		for (int fam = 0; fam < 2; fam++)
			for (int m = 0; m < 3; m++)
				drive(sc, fam ? AF_INET6 : AF_INET, (enum ht_method)m);
	} else if (!err[0]) {
		abort(); /* a rejected scenario must say why */
	}
	sim_scenario_free(sc);
	free(sc);
	free(text);
	return 0;
}
