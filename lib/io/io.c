/*
 * The I/O layer's entry points (io.h): open a family's sockets through a
 * backend (raw.c, or unpriv.c without CAP_NET_RAW), the traces of the
 * mux, sending; the event loop is in loop.c, what both backends share in
 * common.c.
 */
#include "io_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static size_t io_default_len(int family, enum ht_method m);

/* The flow's fields that come from the config (the source address, ports
 * and echo id are the backend's and the route's). */
static void io_flow_from_cfg(struct ht_io *io, const struct ht_config *cfg)
{
	struct ht_flow *f = &io->flow;

	f->family = io->family;
	f->method = cfg->method;
	f->dst = cfg->dst;
	f->dport = cfg->port ? cfg->port
	           : cfg->method == HT_METHOD_TCP ? HT_DEFAULT_TCP_PORT
	                                          : HT_DEFAULT_UDP_PORT;
	f->icmp_id = (uint16_t)(ht_io_random32() | 1);
	f->tag = ht_io_tag();
	f->tos = (uint8_t)cfg->tos;
	f->dont_fragment = cfg->dont_fragment;
	f->classic = cfg->classic;
	f->ncols =
	        (uint8_t)(cfg->nqueries > 1 && cfg->nqueries <= HT_MAX_QUERIES ? cfg->nqueries : 1);
	f->packet_len = cfg->packet_len ? cfg->packet_len : io_default_len(io->family, cfg->method);
	if (f->packet_len < ht_probe_min_len(io->family, cfg->method))
		f->packet_len = ht_probe_min_len(io->family, cfg->method);
}

static size_t io_default_len(int family, enum ht_method m)
{
	size_t min = ht_probe_min_len(family, m);
	/* Classic traceroute's defaults: 60 bytes (IPv4), 80 bytes (IPv6);
	 * for TCP that is a SYN with the usual options, as traceroute -T
	 * sends and as a real client's SYN looks to a firewall. */
	size_t def = family == AF_INET6 ? 80 : 60;

	return def > min ? def : min;
}

int ht_io_open(ht_io **out, const struct ht_config *cfg, const struct ht_io_opts *o, char *err,
               size_t errlen)
{
	struct ht_io *io;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (cfg->dst.family != AF_INET && cfg->dst.family != AF_INET6) {
		ht_io_errf(err, errlen, "no destination address");
		return -EINVAL;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->send_fd = io->rx_icmp_fd = io->rx_tcp_fd = io->reserve_fd = io->dgram_fd = -1;
	io->cfg = *cfg;
	io->family = cfg->dst.family;
	if (o && o->device) {
		if (strlen(o->device) >= sizeof(io->device)) {
			ht_io_errf(err, errlen, "interface name too long: %s", o->device);
			free(io);
			return -EINVAL;
		}
		strcpy(io->device, o->device);
	}

	io_flow_from_cfg(io, cfg);

	rc = ht_io_find_source(io, NULL, err, errlen);
	if (rc < 0)
		goto fail;

	/* Waits are bounded by wait_max_us; a per-probe socket is kept a
	 * little longer so that a late reply is still read (and ignored by
	 * the core) rather than provoking nothing at all. */
	io->psock_linger_us = (cfg->wait_max_us ? cfg->wait_max_us : 5000000u) + 1000000u;

	enum ht_io_mode mode = o ? o->mode : HT_IO_AUTO;
	if (mode == HT_IO_AUTO || mode == HT_IO_RAW) {
		rc = ht_io_backend_raw.open(io, err, errlen);
		if (rc == 0) {
			io->mode = HT_IO_RAW;
			io->be = &ht_io_backend_raw;
		} else if (mode == HT_IO_AUTO && (rc == -EPERM || rc == -EACCES)) {
			ht_io_close_fds(io);
			if (err && errlen)
				err[0] = '\0';
		} else {
			if (rc == -EPERM || rc == -EACCES)
				ht_io_errf(err, errlen,
				           "raw sockets need CAP_NET_RAW (run as root or "
				           "`setcap cap_net_raw+ep hoptrace`)");
			goto fail;
		}
	}
	if (io->mode != HT_IO_RAW) {
		io->be = &ht_io_backend_unpriv;
		rc = io->be->open(io, err, errlen);
		if (rc < 0)
			goto fail;
		io->mode = HT_IO_UNPRIV;
	}

	/* One message buffer must hold a full reply: an echo reply is as
	 * long as the probe; ICMP errors quote at most 1280 bytes (IPv6)
	 * plus extensions. */
	io->rxbuf_len = io->flow.packet_len + 256 > 4096 ? io->flow.packet_len + 256 : 4096;
	io->rxbuf = malloc(io->rxbuf_len * 16);
	if (!io->rxbuf) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = io;
	return 0;
fail:
	ht_io_close(io);
	return rc;
}

int ht_io_child_open(struct ht_io *parent, const struct ht_config *cfg, struct ht_io *c,
                     int *route_fd, const struct ht_io_port *adopt, char *err, size_t errlen)
{
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (cfg->dst.family != parent->family) {
		ht_io_errf(err, errlen, "not an %s destination",
		           parent->family == AF_INET ? "IPv4" : "IPv6");
		return -EAFNOSUPPORT;
	}
	*c = *parent;
	c->borrowed = true;
	c->cfg = *cfg;
	io_flow_from_cfg(c, cfg);
	c->flow.src = parent->flow.src;
	/* The family's receive buffer is lent: the trace's replies must fit. */
	if (c->flow.packet_len + 256 > parent->rxbuf_len) {
		ht_io_errf(err, errlen, "a %zu-byte probe is longer than the family's first trace's",
		           c->flow.packet_len);
		return -EMSGSIZE;
	}
	c->reserve_fd = c->dgram_fd = -1;
	c->ncol_fd = 0;
	c->ps = NULL;
	c->nps = c->cap_ps = 0;
	c->npending = 0;
	c->pending = NULL;
	memset(&c->stats, 0, sizeof(c->stats));
	c->rx_turn = 0;
	if (c->mode == HT_IO_UNPRIV)
		c->send_fd = c->rx_icmp_fd = c->rx_tcp_fd = -1;
	/* The kept socket was made for the family's -s address. */
	bool same_src = cfg->src.family == parent->cfg.src.family &&
	                (!cfg->src.family || ht_addr_equal(&cfg->src, &parent->cfg.src));
	rc = ht_io_find_source(c, same_src ? route_fd : NULL, err, errlen);
	if (rc == 0 && !ht_addr_equal(&c->flow.src, &parent->flow.src)) {
		char now[INET6_ADDRSTRLEN], was[INET6_ADDRSTRLEN];
		ht_io_errf(err, errlen,
		           "the route leaves from %s, not from %s like the first target "
		           "of this family (give -s, or one batch per source)",
		           ht_addr_str(&c->flow.src, now, sizeof(now)),
		           ht_addr_str(&parent->flow.src, was, sizeof(was)));
		rc = -EXDEV;
	}
	if (rc < 0)
		return rc;
	c->flow.icmp_id = (uint16_t)(ht_io_random32() | 1);
	c->flow.tag = ht_io_tag();
	return c->be->child_open(c, cfg, adopt, err, errlen);
}

void ht_io_child_close(struct ht_io *c)
{
	c->be->close(c);
	free(c->pending);
	c->pending = NULL;
}

void ht_io_close(ht_io *io)
{
	if (!io)
		return;
	if (io->be)
		io->be->close(io);
	else
		ht_io_close_fds(io);
	free(io->pending);
	free(io->rxbuf);
	free(io);
}

const struct ht_flow *ht_io_flow(const ht_io *io)
{
	return &io->flow;
}

enum ht_io_mode ht_io_mode_used(const ht_io *io)
{
	return io->mode;
}

const char *ht_io_mode_note(const ht_io *io)
{
	if (io->mode == HT_IO_RAW)
		return NULL;
	switch (io->flow.method) {
	case HT_METHOD_ICMP:
		return "no CAP_NET_RAW: using an unprivileged ICMP socket (the quoted TTL "
		       "and ICMP extensions such as MPLS labels are not available)";
	case HT_METHOD_UDP:
		if (io->flow.classic)
			return "no CAP_NET_RAW: using one UDP socket per probe (the quoted TTL "
			       "and ICMP extensions such as MPLS labels are not available)";
		return "no CAP_NET_RAW: using an ordinary UDP socket (no quoted TTL or ICMP "
		       "extensions such as MPLS labels; routers that quote only 8 bytes stay "
		       "silent: try --classic)";
	case HT_METHOD_TCP:
		return "no CAP_NET_RAW: using one TCP connect() per probe, so source "
		       "ports vary and the flow is not stable across load balancers";
	}
	return NULL;
}

void ht_io_get_stats(const ht_io *io, struct ht_io_stats *st)
{
	*st = io->stats;
}

int ht_io_send_probe(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	struct ht_io *io = ctx;
	int rc;

	rc = io->be->send(io, seq, ttl, tx_us);
	if (rc < 0) {
		io->stats.tx_errors++;
		/* A full socket buffer is transient: the core retries later. */
		if (rc == -EWOULDBLOCK)
			rc = -EAGAIN;
	} else {
		io->stats.tx_packets++;
	}
	return rc;
}

static const struct ht_io_ops io_ops = {.send_probe = ht_io_send_probe};

const struct ht_io_ops *ht_io_ops(void)
{
	return &io_ops;
}
