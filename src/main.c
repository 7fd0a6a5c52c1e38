/*
 * hoptrace: the program. Parses the command line, resolves the target(s),
 * opens the sockets while privileged, drops every privilege, then runs a
 * session per target and turns its events into text, JSON or JSON lines.
 */
#include "batch.h"
#include "dns.h"
#include "frontend.h"
#include "options.h"
#include "resolver.h"

#include "hoptrace/hoptrace.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct app {
	struct ht_opts o;
	ht_dns *dns;
	ht_session *session;
	const struct ht_frontend *fe; /* the output, picked from ht_frontends[] */
	void *fe_state;
	uint32_t trace_id;    /* the trace running (events are tagged with it) */
	bool ran;             /* some session ran (for --stats) */
};

static void on_event(void *u, const struct ht_event *ev)
{
	struct app *app = u;

	app->fe->event(app->fe_state, app->trace_id, ev);
	/* Start the reverse lookup as soon as an address is known, so names
	 * resolve while the rest of the trace is still running. */
	if (ev->type == HT_EV_PROBE_DONE && app->dns && ev->probe->state == HT_PROBE_REPLIED)
		ht_dns_ptr_request(app->dns, &ev->probe->reply.from);
}

/* One target: what the user gave and the address it resolved to. */
struct target {
	const char *host;
	ht_addr addr;
};

/* In batch mode every message about a target names it (a target that did
 * not resolve is named by its line instead: the resolver says so). */
static void target_error(const struct app *app, const struct target *t, const char *msg)
{
	char shown[HT_BATCH_HOST_MAX * 4 + 1];

	if (!app->o.batch) {
		fprintf(stderr, "hoptrace: %s\n", msg);
		return;
	}
	ht_sanitize(shown, sizeof(shown), t->host, strlen(t->host));
	fprintf(stderr, "hoptrace: %s: %s\n", shown, msg);
}

/*
 * Trace one target through io (already aimed at it). Returns the exit
 * status of that trace: 0, 1 (sending failed) or 2 (refused settings).
 */
static int run_one(struct app *app, ht_io *io, const struct target *t)
{
	struct ht_config *cfg = &app->o.cfg;
	int rc, status = 0;

	cfg->dst = t->addr;
	cfg->family = t->addr.family;
	const struct ht_flow *flow = ht_io_flow(io);
	const struct ht_fe_trace ft = {.host = t->host, .cfg = cfg, .flow = flow};
	char msg[128];
	uint32_t id = app->trace_id;
	if (app->fe->begin(app->fe_state, id, &ft, msg, sizeof(msg)) < 0) {
		target_error(app, t, msg);
		return 1;
	}

	rc = ht_session_new(&app->session, cfg, ht_io_ops(), io, on_event, app);
	if (rc < 0) {
		const char *why = NULL;
		ht_config_validate(cfg, &why);
		target_error(app, t, why ? why : strerror(-rc));
		app->fe->end(app->fe_state, id, NULL, NULL);
		return 2;
	}

	app->ran = true;
	struct ht_io_watch watch = {0};
	if (app->dns)
		ht_dns_watch(app->dns, &watch);
	rc = ht_io_run(io, app->session, app->dns ? &watch : NULL);
	struct ht_session_stats st;
	ht_session_stats(app->session, &st);
	int end_rc = app->fe->end(app->fe_state, id, app->session, &st);
	if (rc < 0 || ht_session_stop_reason(app->session) == HT_STOP_ERROR) {
		snprintf(msg, sizeof(msg), "sending probes failed: %s", strerror(rc < 0 ? -rc : EIO));
		target_error(app, t, msg);
		status = 1;
	}
	if (end_rc < 0)
		status = 1;
	fflush(stdout);
	if (app->o.stats) {
		char shown[HT_BATCH_HOST_MAX * 4 + 3] = "";
		if (app->o.batch) {
			ht_sanitize(shown, sizeof(shown) - 2, t->host, strlen(t->host));
			strcat(shown, ": ");
		}
		fprintf(stderr,
		        "hoptrace: %s%u probes sent, %u replies matched, %u unmatched, %u "
		        "duplicates, %u probes past the destination",
		        shown, st.probes_sent, st.replies_matched, st.replies_unmatched,
		        st.replies_duplicate, st.probes_past_dst);
		if (st.probes_second_look || st.probes_rate_limited)
			fprintf(stderr, ", %u second looks, %u marked rate limited",
			        st.probes_second_look, st.probes_rate_limited);
		fputc('\n', stderr);
	}
	ht_session_free(app->session);
	app->session = NULL;
	return status;
}

/* Settings that depend on the family: a refusal, or NULL. */
static const char *family_refusal(const struct app *app, int family, char *buf, size_t len)
{
	const struct ht_config *c = &app->o.cfg;

	if (c->src.family && c->src.family != family) {
		snprintf(buf, len, "source address %s is not of the target's family",
		         app->o.src_text);
		return buf;
	}
	if (c->packet_len && c->packet_len < ht_probe_min_len(family, c->method)) {
		snprintf(buf, len, "packet length %zu is too short: this method needs at least %zu",
		         c->packet_len, ht_probe_min_len(family, c->method));
		return buf;
	}
	return NULL;
}

static int fam_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

/* Per family: the io, or why there is none; the line of the batch
 * target it was opened toward (it needs no retargeting). */
struct fam {
	ht_io *io;
	char err[512];
	int status;  /* without io: the exit status of its targets */
	bool final;  /* without io: no later target may open it */
	unsigned long at_line;
};

/*
 * Open the sockets of dst's family toward it, while privileged. Returns 0,
 * or a negative errno with f->err and f->status set; a target with no
 * route (-ENETUNREACH and the like) fails alone: in a batch the next
 * target of the family tries again.
 */
static int open_io(struct app *app, struct fam *f, const ht_addr *dst)
{
	int fam = dst->family, rc;

	if (family_refusal(app, fam, f->err, sizeof(f->err))) {
		f->status = 2;
		f->final = true;
		return -EINVAL;
	}
	struct ht_config cfg = app->o.cfg;
	cfg.dst = *dst;
	cfg.family = fam;
	f->err[0] = '\0';
	rc = ht_io_open(&f->io, &cfg, &app->o.io, f->err, sizeof(f->err));
	if (rc == 0)
		return 0;
	f->io = NULL;
	if (!f->err[0])
		snprintf(f->err, sizeof(f->err), "%s", strerror(-rc));
	f->status = 1;
	f->final = !(rc == -ENETUNREACH || rc == -EHOSTUNREACH || rc == -ENETDOWN ||
	             rc == -EHOSTDOWN);
	return rc;
}

/*
 * --batch: the targets read while the process is still privileged, so that
 * each family's sockets open toward its first target. At most
 * BATCH_LOOKAHEAD items: a family whose first target comes later gets no
 * sockets (its targets fail, saying so). They are traced first, in order.
 */
#define BATCH_LOOKAHEAD 1024

struct lookahead {
	struct ht_batch_target *v;
	size_t n, head;
};

static int batch_lookahead(struct app *app, struct ht_batch_stream *bs, struct lookahead *q,
                           struct fam *fams)
{
	bool need[2] = {app->o.family_forced != AF_INET6, app->o.family_forced != AF_INET};
	bool eof = false;

	q->v = calloc(BATCH_LOOKAHEAD, sizeof(*q->v));
	if (!q->v)
		return -ENOMEM;
	while (q->n < BATCH_LOOKAHEAD) {
		bool all = true;
		for (int k = 0; k < 2; k++)
			if (need[k] && !fams[k].io && !fams[k].final)
				all = false;
		if (all)
			break;
		struct ht_batch_target *it = &q->v[q->n];
		if (ht_batch_stream_next(bs, it, true) <= 0) {
			eof = true;
			break;
		}
		q->n++;
		if (it->kind == HT_BATCH_FATAL)
			eof = true;
		if (it->kind != HT_BATCH_TARGET || it->rc < 0)
			continue;
		struct fam *f = &fams[fam_index(it->addr.family)];
		if (f->io || f->final)
			continue;
		int rc = open_io(app, f, &it->addr);
		if (rc == 0) {
			f->at_line = it->line;
		} else if (!f->final) {
			/* No route to this target: it alone fails. */
			char shown[HT_BATCH_HOST_MAX * 4 + 1];
			ht_sanitize(shown, sizeof(shown), it->host, strlen(it->host));
			it->rc = rc;
			snprintf(it->msg, sizeof(it->msg), "%.500s: %.500s", shown, f->err);
		}
	}
	for (int k = 0; k < 2 && !eof; k++) {
		struct fam *f = &fams[k];
		if (!need[k] || f->io || f->final)
			continue;
		snprintf(f->err, sizeof(f->err),
		         "no %s sockets: the list's first %s target came after its first %d "
		         "lines read (sockets open before privileges are dropped)",
		         k ? "IPv6" : "IPv4", k ? "IPv6" : "IPv4", BATCH_LOOKAHEAD);
		f->status = 1;
		f->final = true;
	}
	return 0;
}

/* The next item of the batch: the lookahead first, then the stream.
 * Returns 1, or 0 at the end. */
static int batch_next(struct ht_batch_stream *bs, struct lookahead *q,
                      struct ht_batch_target *out)
{
	if (q->head < q->n) {
		*out = q->v[q->head++];
		return 1;
	}
	return ht_batch_stream_next(bs, out, true);
}

/* Trace one target: retarget its family's io when needed. Returns its
 * exit status. */
static int trace_target(struct app *app, struct fam *fams, const struct target *t,
                        unsigned long line)
{
	struct fam *f = &fams[fam_index(t->addr.family)];
	char err[512] = "";
	int rc;

	if (!f->io) {
		target_error(app, t, f->err);
		return f->status;
	}
	if (line != f->at_line && (rc = ht_io_retarget(f->io, &t->addr, err, sizeof(err))) < 0) {
		target_error(app, t, err[0] ? err : strerror(-rc));
		return 1;
	}
	f->at_line = 0;
	app->trace_id++;
	return run_one(app, f->io, t);
}

int main(int argc, char **argv)
{
	struct app app;
	struct ht_batch_stream *bs = NULL;
	struct lookahead q = {0};
	struct target one = {0};
	struct fam fams[2];
	char err[1024] = "";
	int rc, status = 0;

	memset(&app, 0, sizeof(app));
	memset(fams, 0, sizeof(fams));
	rc = ht_opts_parse(&app.o, argc, argv, err, sizeof(err));
	if (rc == HT_OPTS_EXIT_OK)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "hoptrace: %s\n", err);
		return 2;
	}
	/* Who started us decides what may be asked for (read before any
	 * privilege is dropped, and remembered). */
	int start = ht_priv_start();
	if (start < 0) {
		fprintf(stderr, "hoptrace: cannot read the process's privileges: %s\n",
		        strerror(-start));
		return 1;
	}
	/* Like HOPTRACE_NO_SANDBOX: a privileged process always confines
	 * itself, whoever asks. */
	if (app.o.no_sandbox && start != HT_PRIV_START_NONE) {
		fprintf(stderr, "hoptrace: --no-sandbox is refused: the process started privileged "
		                "(root, setuid or capabilities)\n");
		return 2;
	}
	/* Another user through a privileged install gets the rate and window
	 * limits of ping's non-root users; root keeps everything. */
	if (start == HT_PRIV_START_USER && ht_opts_user_limits(&app.o, err, sizeof(err)) < 0) {
		fprintf(stderr, "hoptrace: %s\n", err);
		return 2;
	}
	/* Nor may they send from an address this host does not have (raw
	 * sockets, with ip_nonlocal_bind, would let them). */
	if (start == HT_PRIV_START_USER && app.o.cfg.src.family) {
		rc = ht_io_addr_local(&app.o.cfg.src);
		if (rc < 0) {
			fprintf(stderr, "hoptrace: cannot list this host's addresses: %s\n",
			        strerror(-rc));
			return 1;
		}
		if (rc == 0) {
			fprintf(stderr,
			        "hoptrace: source address %s is not configured on this host: only "
			        "root may send from another address\n",
			        app.o.src_text);
			return 2;
		}
	}
	const struct ht_resolver_opts ro = {
		.family = app.o.family_forced,
		.no_sandbox = app.o.no_sandbox,
		.debug_status = app.o.debug_status,
	};
	if (app.o.batch) {
		/* Read and resolved with no privilege, as a stream (see
		 * resolver.h); the first targets are read now, to open the
		 * sockets. */
		bool std = !strcmp(app.o.batch, "-");
		if (ht_batch_stream_open(&bs, &ro, app.o.batch, std ? "standard input" : app.o.batch,
		                         err, sizeof(err)) < 0) {
			fprintf(stderr, "hoptrace: %s\n", err);
			return 2;
		}
		if (batch_lookahead(&app, bs, &q, fams) < 0) {
			fprintf(stderr, "hoptrace: out of memory\n");
			status = 1;
			goto out;
		}
		/* The list could not be read at all (or holds no target):
		 * refused as a whole, as a bad command line is. */
		if (q.n && q.v[0].kind == HT_BATCH_FATAL) {
			fprintf(stderr, "hoptrace: %s\n", q.v[0].msg);
			status = 2;
			goto out;
		}
	} else {
		/* Numeric targets directly, names through the resolver process. */
		int fam = app.o.family_forced;
		one.host = app.o.host;
		if (ht_addr_parse(one.host, &one.addr) == 0) {
			if (fam && one.addr.family != fam) {
				/* A numeric address: short and printable. */
				char shown[128];
				ht_sanitize(shown, sizeof(shown), one.host, strlen(one.host));
				fprintf(stderr, "hoptrace: '%s' is not an %s address\n", shown,
				        fam == AF_INET ? "IPv4" : "IPv6");
				return 2;
			}
		} else if (ht_resolve_unprivileged(&ro, one.host, &one.addr, err, sizeof(err)) < 0) {
			fprintf(stderr, "hoptrace: %s\n", err);
			return 2;
		}
		/* Sockets for the target's family, while still privileged. */
		struct fam *f = &fams[fam_index(one.addr.family)];
		if (open_io(&app, f, &one.addr) < 0) {
			fprintf(stderr, "hoptrace: %s\n", f->err);
			return f->status;
		}
	}
	/* Unprivileged mode costs features (flow stability for UDP/TCP, ICMP
	 * extensions): say so once, on stderr, so the output stays classic. */
	for (int k = 0; k < 2; k++) {
		const char *note = fams[k].io ? ht_io_mode_note(fams[k].io) : NULL;
		if (note && !(k == 1 && fams[0].io && ht_io_mode_note(fams[0].io) &&
		              !strcmp(note, ht_io_mode_note(fams[0].io))))
			fprintf(stderr, "hoptrace: %s\n", note);
	}
	rc = ht_priv_drop();
	if (rc < 0) {
		fprintf(stderr, "hoptrace: cannot drop privileges: %s\n", strerror(-rc));
		status = 1;
		goto out;
	}

	if (!app.o.numeric && ht_dns_new(&app.dns) < 0)
		app.dns = NULL; /* no resolver: print addresses */
	/* From here on the process parses packets and DNS answers from the
	 * network: restrict it to the system calls that needs. */
	if (!app.o.no_sandbox) {
		rc = ht_sandbox_enter();
		if (rc < 0) {
			fprintf(stderr, "hoptrace: cannot enter the seccomp sandbox: %s\n",
			        strerror(-rc));
			status = 1;
			goto out;
		}
	}
	if (app.o.debug_status)
		ht_print_status("status: ");

	/* The output: one front end of the table, by the options. */
	const struct ht_fe_ctx fe_ctx = {
		.out = stdout,
		.dns = app.dns,
		.numeric = app.o.numeric,
		.extensions = app.o.extensions,
	};
	app.fe = ht_frontend_find(app.o.json ? "json" : app.o.jsonl ? "jsonl" : "text");
	if (!app.fe || app.fe->open(&app.fe_state, &fe_ctx) < 0) {
		fprintf(stderr, "hoptrace: out of memory\n");
		app.fe = NULL;
		status = 1;
		goto out;
	}

	if (!bs) {
		status = trace_target(&app, fams, &one, 0);
	} else {
		/* One after the other for now; a refused line or a target that
		 * failed is reported in its place and the batch goes on. */
		struct ht_batch_target it;
		while (batch_next(bs, &q, &it) > 0) {
			int st = 1;
			if (it.kind != HT_BATCH_TARGET || it.rc < 0) {
				fprintf(stderr, "hoptrace: %s\n", it.msg);
			} else {
				const struct target t = {.host = it.host, .addr = it.addr};
				st = trace_target(&app, fams, &t, it.line);
			}
			if (st > status)
				status = st;
		}
	}
	if (app.o.stats && app.ran) {
		struct ht_io_stats ios = {0}, st;
		for (int k = 0; k < 2; k++) {
			if (!fams[k].io)
				continue;
			ht_io_get_stats(fams[k].io, &st);
			ios.rx_packets += st.rx_packets;
			ios.rx_matched += st.rx_matched;
			ios.rx_unmatched += st.rx_unmatched;
			ios.rx_malformed += st.rx_malformed;
		}
		fprintf(stderr,
		        "hoptrace: %llu packets read: %llu replies to our probes, %llu not ours, "
		        "%llu malformed\n",
		        (unsigned long long)ios.rx_packets, (unsigned long long)ios.rx_matched,
		        (unsigned long long)ios.rx_unmatched, (unsigned long long)ios.rx_malformed);
	}
	/* A batch exits 1 when any line or target failed (each one said why). */
	if (bs && status > 1)
		status = 1;
out:
	if (app.fe)
		app.fe->close(app.fe_state);
	ht_io_close(fams[0].io);
	ht_io_close(fams[1].io);
	ht_dns_free(app.dns);
	ht_batch_stream_close(bs);
	free(q.v);
	return status;
}
