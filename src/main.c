/*
 * hoptrace: the program. Parses the command line, resolves the target(s),
 * opens the sockets while privileged, drops every privilege, then runs a
 * session per target and turns its events into text, JSON or JSON lines.
 */
#include "batch.h"
#include "dns.h"
#include "frontend.h"
#include "monitor_run.h"
#include "options.h"
#include "progress.h"
#include "resolver.h"
#include "resume.h"

#include "hoptrace/hoptrace.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct app {
	struct ht_opts o;
	ht_dns *dns;
	ht_session *session;
	const struct ht_frontend *fe; /* the output, picked from ht_frontends[] */
	void *fe_state;
	uint32_t trace_id;    /* the trace running (events are tagged with it) */
	FILE *resume_f;       /* --resume, opened before the drop when root runs us */
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

/* --stats: one trace's probe counts (host: named first, in a batch). */
static void stats_line(const char *host, const struct ht_session_stats *st)
{
	char shown[HT_BATCH_HOST_MAX * 4 + 3] = "";

	if (host) {
		ht_sanitize(shown, sizeof(shown) - 2, host, strlen(host));
		strcat(shown, ": ");
	}
	fprintf(stderr,
	        "hoptrace: %s%u probes sent, %u replies matched, %u unmatched, %u duplicates, "
	        "%u probes past the destination",
	        shown, st->probes_sent, st->replies_matched, st->replies_unmatched,
	        st->replies_duplicate, st->probes_past_dst);
	if (st->probes_second_look || st->probes_rate_limited)
		fprintf(stderr, ", %u second looks, %u marked rate limited", st->probes_second_look,
		        st->probes_rate_limited);
	fputc('\n', stderr);
}

/* --stats: what the receive path read. */
static void io_stats_line(const struct ht_io_stats *ios)
{
	fprintf(stderr,
	        "hoptrace: %llu packets read: %llu replies to our probes, %llu not ours, "
	        "%llu malformed\n",
	        (unsigned long long)ios->rx_packets, (unsigned long long)ios->rx_matched,
	        (unsigned long long)ios->rx_unmatched, (unsigned long long)ios->rx_malformed);
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
	if (app->o.stats)
		stats_line(NULL, &st);
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

/* Per family: the io (its sockets serve every target of the family), or
 * why there is none. */
struct fam {
	ht_io *io;
	char err[512];
	int status;  /* without io: the exit status of its targets */
	bool final;  /* without io: no later target may open it */
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
		if (rc < 0 && !f->final) {
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

/* Trace the one target of the command line. Returns its exit status. */
static int trace_target(struct app *app, struct fam *fams, const struct target *t)
{
	struct fam *f = &fams[fam_index(t->addr.family)];

	if (!f->io) {
		target_error(app, t, f->err);
		return f->status;
	}
	app->trace_id++;
	return run_one(app, f->io, t);
}

/*
 * --batch on the engine: up to --parallel traces at once, one packet-rate
 * budget for all of them, each trace's own flow on the families' sockets
 * (lib/io/mux.c). Targets are pulled from the stream as slots free up, so
 * memory does not grow with the list; each trace is written whole when it
 * ends (frontend.c), and --resume skips the targets a result file already
 * holds.
 */
struct bt {
	uint32_t id;            /* 0: free */
	ht_io_trace *iot;
	char host[HT_BATCH_HOST_MAX + 1];
};

struct batch {
	struct app *app;
	struct ht_batch_stream *bs;
	struct lookahead *q;
	struct fam *fams;
	ht_io_mux *mux;
	ht_engine *e;
	struct bt *bt;          /* by the id's slot (its low 20 bits) */
	size_t nbt;
	struct ht_resume *resume;
	struct ht_progress_display pd;
	struct ht_progress pr;
	struct ht_io_watch dns;
	struct ht_stopset *stopset;
	struct ht_distmap *distmap;
	bool eof;
	int status;
	unsigned long inflight, skipped;
};

#define BT_SLOT(id) ((id) & 0xfffffu)

static struct bt *bt_of(struct batch *b, uint32_t id)
{
	size_t k = BT_SLOT(id);

	return k < b->nbt && b->bt[k].id == id ? &b->bt[k] : NULL;
}

static void batch_status(struct batch *b, int st)
{
	if (st > b->status)
		b->status = st;
}

static void batch_fill(struct batch *b);

static void batch_event(void *u, const struct ht_event *ev)
{
	struct batch *b = u;
	struct app *app = b->app;
	struct bt *t = bt_of(b, ev->trace);

	if (!t)
		return;
	app->fe->event(app->fe_state, ev->trace, ev);
	if (ev->type == HT_EV_PROBE_DONE && app->dns && ev->probe->state == HT_PROBE_REPLIED)
		ht_dns_ptr_request(app->dns, &ev->probe->reply.from);
	if (ev->type != HT_EV_TRACE_DONE)
		return;
	/* The session lives until this callback returns: write it now. */
	const ht_session *s = ht_engine_session(b->e, ev->trace);
	struct ht_session_stats st;
	ht_session_stats(s, &st);
	if (app->fe->end(app->fe_state, ev->trace, s, &st) < 0)
		batch_status(b, 1);
	if (ev->reason == HT_STOP_ERROR) {
		const struct target tg = {.host = t->host};
		char msg[128];
		snprintf(msg, sizeof(msg), "sending probes failed: %s",
		         strerror(ev->error < 0 ? -ev->error : EIO));
		target_error(app, &tg, msg);
		batch_status(b, 1);
	}
	if (app->o.stats)
		stats_line(t->host, &st);
	ht_io_trace_close(t->iot);
	t->id = 0;
	t->iot = NULL;
	b->inflight--;
	b->pr.done++;
	batch_fill(b);
}

/* Start one target: its flow on the family's sockets, its trace on the
 * engine, its output. */
static void batch_start(struct batch *b, const struct ht_batch_target *it)
{
	struct app *app = b->app;
	struct fam *f = &b->fams[fam_index(it->addr.family)];
	const struct target tg = {.host = it->host, .addr = it->addr};
	struct ht_config cfg = app->o.cfg;
	char err[512] = "";
	ht_io_trace *iot;
	uint32_t id;
	int rc;

	if (!f->io) {
		target_error(app, &tg, f->err);
		batch_status(b, f->status);
		b->pr.done++;
		return;
	}
	cfg.dst = it->addr;
	cfg.family = it->addr.family;
	/* Probe economy: a batch trace sends nothing past its destination
	 * (it would spend the destination's ICMP budget), learns the distance
	 * first (at the distance traced neighbours have, when there is one),
	 * and walks back from there only to the hops no earlier trace from
	 * here has seen (docs/design.md, "Probe economy"). */
	cfg.no_overshoot = true;
	cfg.learn_distance = !app->o.no_distance;
	cfg.use_stopset = !app->o.no_stopset;
	rc = ht_io_trace_open(b->mux, &cfg, &iot, err, sizeof(err));
	if (rc < 0) {
		target_error(app, &tg, err[0] ? err : strerror(-rc));
		batch_status(b, 1);
		b->pr.done++;
		return;
	}
	rc = ht_engine_start(b->e, &cfg, ht_io_ops(), ht_io_trace_ctx(iot), ht_now_us(), &id);
	if (rc < 0) {
		const char *why = NULL;
		ht_config_validate(&cfg, &why);
		target_error(app, &tg, why ? why : strerror(-rc));
		ht_io_trace_close(iot);
		batch_status(b, rc == -EINVAL ? 2 : 1);
		b->pr.done++;
		return;
	}
	if (BT_SLOT(id) >= b->nbt) {
		size_t n = b->nbt ? b->nbt : 64;
		while (n <= BT_SLOT(id))
			n *= 2;
		struct bt *nb = realloc(b->bt, n * sizeof(*nb));
		if (!nb) {
			ht_engine_stop(b->e, id);
			ht_io_trace_close(iot);
			target_error(app, &tg, "out of memory");
			batch_status(b, 1);
			return;
		}
		memset(nb + b->nbt, 0, (n - b->nbt) * sizeof(*nb));
		b->bt = nb;
		b->nbt = n;
	}
	struct bt *t = &b->bt[BT_SLOT(id)];
	t->id = id;
	t->iot = iot;
	snprintf(t->host, sizeof(t->host), "%s", it->host);
	ht_io_trace_bind(iot, id);
	const struct ht_fe_trace ft = {.host = it->host, .cfg = &cfg, .flow = ht_io_trace_flow(iot)};
	if (app->fe->begin(app->fe_state, id, &ft, err, sizeof(err)) < 0) {
		target_error(app, &tg, err);
		ht_engine_stop(b->e, id);
		ht_io_trace_close(iot);
		t->id = 0;
		batch_status(b, 1);
		b->pr.done++;
		return;
	}
	app->ran = true;
	b->inflight++;
}

/* Start targets while there is room and the list has them ready. */
static void batch_fill(struct batch *b)
{
	/* Finished traces waiting for an earlier, slower one to be written
	 * (text, --json) count against the room too: memory stays bounded. */
	while (!b->eof &&
	       b->inflight + b->app->fe->held(b->app->fe_state) < 4ul * (unsigned long)b->app->o.parallel &&
	       b->inflight < (unsigned long)b->app->o.parallel) {
		struct ht_batch_target it;
		int rc;

		if (b->q->head < b->q->n) {
			it = b->q->v[b->q->head++];
			rc = 1;
		} else {
			rc = ht_batch_stream_next(b->bs, &it, false);
		}
		if (rc == -EAGAIN)
			return;
		if (rc <= 0) {
			b->eof = true;
			return;
		}
		if (it.kind != HT_BATCH_TARGET || it.rc < 0) {
			fprintf(stderr, "hoptrace: %s\n", it.msg);
			batch_status(b, 1);
			continue;
		}
		if (b->resume && ht_resume_done(b->resume, it.host)) {
			b->skipped++;
			continue;
		}
		batch_start(b, &it);
	}
}

static int batch_collect(void *u, struct pollfd *pfd, int max, uint64_t *deadline)
{
	struct batch *b = u;
	int n = 0, fd;
	uint64_t now = ht_now_us();

	batch_fill(b);
	if (b->app->dns) {
		n = b->dns.collect(b->dns.u, pfd, max, deadline);
		if (n < 0)
			n = 0;
	}
	fd = ht_batch_stream_fd(b->bs);
	if (!b->eof && fd >= 0 && n < max && b->inflight < (unsigned long)b->app->o.parallel)
		pfd[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
	if (b->pd.on && *deadline > now + HT_PROGRESS_EVERY_US)
		*deadline = now + HT_PROGRESS_EVERY_US;
	return n;
}

static void batch_process(void *u, const struct pollfd *pfd, int n, uint64_t now_us)
{
	struct batch *b = u;
	int nd = n;

	if (b->app->dns) {
		/* The DNS watch's own descriptors come first. */
		int fd = ht_batch_stream_fd(b->bs);
		if (n > 0 && fd >= 0 && pfd[n - 1].fd == fd)
			nd = n - 1;
		b->dns.process(b->dns.u, pfd, nd, now_us);
	}
	batch_fill(b);
	b->pr.in_flight = b->inflight;
	b->pr.probes_sent = ht_engine_budget(b->e)->sent;
	ht_progress_draw(&b->pd, &b->pr, now_us, false);
}

static bool batch_more(void *u)
{
	struct batch *b = u;

	return !b->eof;
}

static int run_batch(struct app *app, struct ht_batch_stream *bs, struct lookahead *q,
                     struct fam *fams)
{
	struct batch b = {.app = app, .bs = bs, .q = q, .fams = fams};
	struct ht_io_watch w = {.collect = batch_collect, .process = batch_process, .u = &b};
	int rc;

	if (app->o.resume) {
		char err[256];
		FILE *f = app->resume_f ? app->resume_f : fopen(app->o.resume, "re");
		app->resume_f = NULL;
		if (!f && errno != ENOENT) {
			char shown[512];
			ht_sanitize(shown, sizeof(shown), app->o.resume, strlen(app->o.resume));
			fprintf(stderr, "hoptrace: cannot read %s: %s\n", shown, strerror(errno));
			return 2;
		}
		if (f) {
			/* Output appended to the very file (hoptrace ... >> FILE)
			 * after a kill -9 that cut its last line: start on a line
			 * of our own, so that line stays the only bad one. */
			struct stat rs, os;
			char last;
			if (fstat(fileno(f), &rs) == 0 && fstat(STDOUT_FILENO, &os) == 0 &&
			    rs.st_dev == os.st_dev && rs.st_ino == os.st_ino && rs.st_size > 0 &&
			    pread(fileno(f), &last, 1, rs.st_size - 1) == 1 && last != '\n') {
				fputc('\n', stdout);
				fflush(stdout);
			}
			rc = ht_resume_load(&b.resume, f, err, sizeof(err));
			fclose(f);
			if (rc < 0) {
				fprintf(stderr, "hoptrace: %s\n", err);
				return 2;
			}
		}
	}
	if ((rc = ht_io_mux_new(&b.mux, fams[0].io, fams[1].io)) < 0 ||
	    (rc = ht_engine_new(&b.e, app->o.cfg.pps, batch_event, &b)) < 0) {
		fprintf(stderr, "hoptrace: cannot start the batch: %s\n", strerror(-rc));
		ht_io_mux_free(b.mux);
		ht_resume_free(b.resume);
		return 1;
	}
	{
		/* The tables' hashes are keyed: what they hold comes from the
		 * network. */
		uint64_t key = (uint64_t)ht_now_us() * 0x9e3779b97f4a7c15ull;
		if (getrandom(&key, sizeof(key), GRND_NONBLOCK) != (ssize_t)sizeof(key))
			key ^= (uint64_t)getpid();
		rc = 0;
		if (!app->o.no_stopset)
			rc = ht_stopset_new(&b.stopset, 0, key);
		if (rc >= 0 && !app->o.no_predict && !app->o.no_distance)
			rc = ht_distmap_new(&b.distmap, 0, key ^ 0x5bd1e9955bd1e995ull);
		if (rc < 0) {
			fprintf(stderr, "hoptrace: cannot start the batch: %s\n", strerror(-rc));
			ht_stopset_free(b.stopset);
			ht_engine_free(b.e);
			ht_io_mux_free(b.mux);
			ht_resume_free(b.resume);
			return 1;
		}
		ht_engine_set_stopset(b.e, b.stopset);
		ht_engine_set_distmap(b.e, b.distmap);
	}
	if (app->dns)
		ht_dns_watch(app->dns, &b.dns);
	ht_progress_init(&b.pd, 2);
	b.pr.start_us = ht_now_us();
	batch_fill(&b);
	rc = ht_io_mux_run(b.mux, b.e, &w, batch_more, &b);
	ht_progress_clear(&b.pd);
	if (rc < 0) {
		fprintf(stderr, "hoptrace: the batch stopped: %s\n", strerror(-rc));
		batch_status(&b, 1);
	}
	if (app->o.stats) {
		struct ht_io_stats ios;
		ht_io_mux_stats(b.mux, &ios);
		io_stats_line(&ios);
		if (b.skipped)
			fprintf(stderr, "hoptrace: %lu targets skipped: already in the --resume file\n",
			        b.skipped);
	}
	ht_engine_free(b.e);
	ht_io_mux_free(b.mux);
	ht_resume_free(b.resume);
	ht_stopset_free(b.stopset);
	ht_distmap_free(b.distmap);
	free(b.bt);
	/* A batch exits 1 when any line or target failed (each one said why). */
	return b.status > 1 ? 1 : b.status;
}

int main(int argc, char **argv)
{
	struct app app;
	struct ht_batch_stream *bs = NULL;
	struct lookahead q = {0};
	struct target one = {0};
	struct ht_monrun *mon = NULL;
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
	/* Sub-second rounds are root's, as in mtr. */
	if (ht_opts_monitor_limits(&app.o, getuid() == 0, err, sizeof(err)) < 0) {
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
		/* Each trace in flight holds a socket or more (its source ports,
		 * or without raw sockets its own): allow as many descriptors as
		 * the hard limit does, now, before the sandbox forbids it. */
		struct rlimit nf;
		if (getrlimit(RLIMIT_NOFILE, &nf) == 0 && nf.rlim_cur < nf.rlim_max) {
			nf.rlim_cur = nf.rlim_max > (1u << 20) ? (1u << 20) : nf.rlim_max;
			setrlimit(RLIMIT_NOFILE, &nf);
		}
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
	/* --resume names our own output file. Root's would not be readable
	 * by nobody, whom root drops to: root opens it now. Anyone else opens
	 * it after the drop, with no more than their own rights. */
	if (bs && app.o.resume && start == HT_PRIV_START_ROOT)
		app.resume_f = fopen(app.o.resume, "re");
	rc = ht_priv_drop();
	if (rc < 0) {
		fprintf(stderr, "hoptrace: cannot drop privileges: %s\n", strerror(-rc));
		status = 1;
		goto out;
	}

	if (!app.o.numeric && ht_dns_new(&app.dns) < 0)
		app.dns = NULL; /* no resolver: print addresses */
	/* A monitor's live view takes the terminal now, with no privilege
	 * left and before the sandbox (terminfo, terminal modes). */
	if (app.o.monitor) {
		struct fam *f = &fams[fam_index(one.addr.family)];
		app.o.cfg.dst = one.addr;
		app.o.cfg.family = one.addr.family;
		const struct ht_monrun_args ma = {.o = &app.o, .io = f->io, .host = one.host};
		if (!f->io || ht_monrun_prepare(&mon, &ma, err, sizeof(err)) < 0) {
			fprintf(stderr, "hoptrace: %s\n", f->io ? err : f->err);
			status = f->io ? 1 : f->status;
			goto out;
		}
	}
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
		.batch = bs != NULL,
	};
	app.fe = ht_frontend_find(app.o.json ? "json" : app.o.jsonl ? "jsonl" : "text");
	if (!app.fe || app.fe->open(&app.fe_state, &fe_ctx) < 0) {
		fprintf(stderr, "hoptrace: out of memory\n");
		app.fe = NULL;
		status = 1;
		goto out;
	}

	if (bs) {
		status = run_batch(&app, bs, &q, fams);
		goto out;
	}
	if (mon) {
		status = ht_monrun_run(mon, app.dns);
		goto out;
	}
	status = trace_target(&app, fams, &one);
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
		io_stats_line(&ios);
	}
out:
	ht_monrun_free(mon);
	if (app.resume_f)
		fclose(app.resume_f);
	if (app.fe)
		app.fe->close(app.fe_state);
	ht_io_close(fams[0].io);
	ht_io_close(fams[1].io);
	ht_dns_free(app.dns);
	ht_batch_stream_close(bs);
	free(q.v);
	return status;
}
