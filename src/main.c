/*
 * hoptrace: the program. Parses the command line, resolves the target(s),
 * opens the sockets while privileged, drops every privilege, then runs a
 * session per target and turns its events into text, JSON or JSON lines.
 */
#include "batch.h"
#include "dns.h"
#include "frontend.h"
#include "options.h"

#include "hoptrace/hoptrace.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct app {
	struct ht_opts o;
	ht_dns *dns;
	ht_session *session;
	const struct ht_frontend *fe; /* the output, picked from ht_frontends[] */
	void *fe_state;
	uint32_t trace_id;    /* the trace running (events are tagged with it) */
	bool ran;             /* some session ran (for --stats) */
	char batch_name[512]; /* --batch: the file as messages name it (sanitised) */
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

/* For the privilege tests: show what the process holds after setup, each
 * line after prefix. */
static void print_status(const char *prefix)
{
	static const char *keys[] = {"Uid:",    "Gid:",    "Groups:",     "CapInh:", "CapPrm:",
	                             "CapEff:", "CapBnd:", "CapAmb:",     "NoNewPrivs:",
	                             "Seccomp:"};
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f) {
		fprintf(stderr, "hoptrace: cannot read /proc/self/status: %s\n", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				fprintf(stderr, "%s%s", prefix, line);
	fclose(f);
}

/* What the resolver process reports back: fixed size, checked by the parent. */
struct resolve_msg {
	int rc;
	ht_addr addr;
	char err[256];
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One target: what the user typed, and what it resolved to or why not. */
struct target {
	const char *host;
	unsigned long line; /* --batch: its line in the file */
	bool by_line;       /* --batch: messages name the line, not the host */
	ht_addr addr;
	int rc;    /* 0, or negative errno with err */
	char *err; /* allocated only for a target that failed */
};

/* Mark t failed with a (printable) message. */
static void target_fail(struct target *t, int rc, const char *msg)
{
	t->rc = rc < 0 ? rc : -EINVAL;
	free(t->err);
	t->err = strdup(msg);
	memset(&t->addr, 0, sizeof(t->addr));
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* In a child that has dropped every privilege, before it parses DNS
 * answers: the resolver's own filter, narrower than the program's (no event
 * loop, bind or terminal calls). Returns 0, or a negative errno with a
 * message in err. */
static int child_confine(const struct app *app, char *err, size_t errlen)
{
	int rc;

	if (!app->o.no_sandbox && (rc = ht_sandbox_enter_resolver()) < 0) {
		snprintf(err, errlen, "cannot confine the resolver: %s", strerror(-rc));
		return rc;
	}
	if (app->o.debug_status)
		print_status("resolver status: ");
	return 0;
}

/*
 * Resolve host names in a child process that has dropped every privilege
 * first: DNS answers, /etc/hosts and the resolver's environment variables
 * are untrusted input, and this process still holds CAP_NET_RAW (its raw
 * sockets are not open yet, because their family depends on the answer).
 * The privileged parent only reads fixed-size messages, one per name in
 * order, and checks each. Targets already numeric (rc 0 and an address)
 * are skipped.
 */
static int resolve_unprivileged(const struct app *app, struct target *t, size_t n, int family,
                                char *err, size_t errlen)
{
	struct resolve_msg m;
	int fds[2], status, rc = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the resolver: %s", strerror(errno));
		return -EMFILE;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		snprintf(err, errlen, "cannot start the resolver: %s", strerror(errno));
		return -EAGAIN;
	}
	if (pid == 0) {
		ht_dns *d = NULL;
		int base;
		memset(&m, 0, sizeof(m));
		close(fds[0]);
		base = ht_priv_drop();
		if (base < 0)
			snprintf(m.err, sizeof(m.err), "cannot drop privileges to resolve names: %s",
			         strerror(-base));
		else if ((base = ht_dns_new(&d)) < 0)
			snprintf(m.err, sizeof(m.err), "cannot start the resolver: %s",
			         strerror(-base));
		else
			base = child_confine(app, m.err, sizeof(m.err));
		for (size_t i = 0; i < n; i++) {
			if (t[i].addr.family || t[i].rc)
				continue;
			if (base < 0) {
				m.rc = base;
			} else {
				memset(&m, 0, sizeof(m));
				m.rc = ht_dns_resolve_host(d, t[i].host, family ? family : AF_UNSPEC,
				                           &m.addr, m.err, sizeof(m.err), 0);
			}
			if (write_all(fds[1], &m, sizeof(m)) < 0)
				_exit(1);
		}
		ht_dns_free(d);
		_exit(0);
	}
	close(fds[1]);
	for (size_t i = 0; i < n; i++) {
		if (t[i].addr.family || t[i].rc)
			continue;
		memset(&m, 0, sizeof(m));
		if (read_all(fds[0], &m, sizeof(m)) < 0 || m.rc > 0 || m.rc < -4095 ||
		    (m.rc == 0 && m.addr.family != AF_INET && m.addr.family != AF_INET6) ||
		    (m.rc == 0 && family && m.addr.family != family)) {
			snprintf(err, errlen, "the resolver process failed");
			rc = -EIO;
			break;
		}
		if (m.rc < 0) {
			char clean[sizeof(m.err)];
			m.err[sizeof(m.err) - 1] = '\0';
			ht_sanitize(clean, sizeof(clean), m.err, strlen(m.err));
			target_fail(&t[i], m.rc, clean);
		} else {
			t[i].addr = m.addr;
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/*
 * --batch: the list is read, checked and resolved by a child process that
 * has dropped every privilege first, so it is opened with the invoking
 * user's rights only (under sudo, nobody's): a file the user may not
 * read is refused. No message shows a line of the file (a refused byte is
 * named by value, an unknown name by its line), so a file of secrets
 * cannot leak through the errors either. The child sends a head, then
 * one message per target; the privileged parent checks each.
 */
struct batch_head {
	int rc;          /* 0, or a negative errno with err */
	unsigned long n; /* targets that follow */
	char err[1024];
};

struct batch_msg {
	unsigned long line;
	char host[HT_BATCH_HOST_MAX + 1];
	int rc; /* 0 with addr, or a negative errno with err */
	ht_addr addr;
	char err[256];
};

static _Noreturn void batch_child(int fd, const struct app *app)
{
	struct batch_head h;
	struct batch_msg m;
	struct ht_batch b = {0};
	ht_dns *d = NULL;
	int fam = app->o.family_forced, dns_rc = 0, rc;
	bool std = !strcmp(app->o.batch, "-"), was_root = getuid() == 0, names = false;
	char dns_err[sizeof(m.err)] = "";
	FILE *f = NULL;

	memset(&h, 0, sizeof(h));
	rc = ht_priv_drop();
	if (rc < 0) {
		h.rc = rc;
		snprintf(h.err, sizeof(h.err), "cannot drop privileges to read %s: %s",
		         app->batch_name, strerror(-rc));
	} else if (!(f = std ? stdin : fopen(app->o.batch, "re"))) {
		int e = errno;
		h.rc = -e;
		snprintf(h.err, sizeof(h.err), "cannot read %s: %s%s", app->batch_name, strerror(e),
		         e == EACCES && was_root
		                 ? " (read without root's rights: give it on standard input, "
		                   "--batch - <FILE)"
		                 : "");
	} else {
		rc = ht_batch_read(f, app->batch_name, &b, h.err, sizeof(h.err));
		if (!std)
			fclose(f);
		if (rc < 0)
			h.rc = rc;
		else
			h.n = b.n;
	}
	/* The list is read: from here on only names are resolved (when there
	 * are any) and results written, under the resolver's own filter. */
	for (size_t i = 0; i < b.n && !names; i++)
		names = ht_addr_parse(b.hosts[i], &m.addr) != 0;
	if (h.rc == 0 && names && (dns_rc = ht_dns_new(&d)) < 0) {
		d = NULL;
		snprintf(dns_err, sizeof(dns_err), "cannot start the resolver: %s", strerror(-dns_rc));
	}
	if (h.rc == 0 && (rc = child_confine(app, h.err, sizeof(h.err))) < 0) {
		h.rc = rc;
		h.n = 0;
	}
	if (write_all(fd, &h, sizeof(h)) < 0)
		_exit(1);
	for (size_t i = 0; i < h.n; i++) {
		memset(&m, 0, sizeof(m));
		m.line = b.lines[i];
		snprintf(m.host, sizeof(m.host), "%s", b.hosts[i]);
		if (ht_addr_parse(m.host, &m.addr) == 0) {
			if (fam && m.addr.family != fam) {
				m.rc = -EAFNOSUPPORT;
				memset(&m.addr, 0, sizeof(m.addr));
				snprintf(m.err, sizeof(m.err), "not an %s address",
				         fam == AF_INET ? "IPv4" : "IPv6");
			}
		} else if (!d) {
			m.rc = dns_rc;
			snprintf(m.err, sizeof(m.err), "%s", dns_err);
		} else {
			m.rc = ht_dns_resolve_host_noecho(d, m.host, fam ? fam : AF_UNSPEC, &m.addr,
			                                  m.err, sizeof(m.err), 0);
		}
		if (write_all(fd, &m, sizeof(m)) < 0)
			_exit(1);
	}
	ht_dns_free(d);
	ht_batch_free(&b);
	_exit(0);
}

/* Read the list through batch_child: targets in *tp (their hosts owned
 * by b). Returns 0, or -EINVAL with a one-line message in err. */
static int read_batch(struct app *app, struct ht_batch *b, struct target **tp, size_t *np,
                      char *err, size_t errlen)
{
	struct batch_head h;
	struct batch_msg m;
	struct target *t = NULL;
	int fds[2], status, rc = 0;
	pid_t pid;

	*tp = NULL;
	*np = 0;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the batch reader: %s", strerror(errno));
		return -EINVAL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		snprintf(err, errlen, "cannot start the batch reader: %s", strerror(errno));
		return -EINVAL;
	}
	if (pid == 0) {
		close(fds[0]);
		batch_child(fds[1], app);
	}
	close(fds[1]);
	memset(&h, 0, sizeof(h));
	if (read_all(fds[0], &h, sizeof(h)) < 0 || h.rc > 0 || h.rc < -4095 ||
	    (h.rc == 0 && (h.n < 1 || h.n > HT_BATCH_MAX_TARGETS))) {
		snprintf(err, errlen, "the batch reader process failed");
		rc = -EINVAL;
	} else if (h.rc < 0) {
		h.err[sizeof(h.err) - 1] = '\0';
		ht_sanitize(err, errlen, h.err, strlen(h.err));
		rc = -EINVAL;
	} else if (!(t = calloc(h.n, sizeof(*t)))) {
		snprintf(err, errlen, "out of memory");
		rc = -EINVAL;
	}
	for (size_t i = 0; rc == 0 && i < h.n; i++) {
		memset(&m, 0, sizeof(m));
		if (read_all(fds[0], &m, sizeof(m)) < 0 || !memchr(m.host, '\0', sizeof(m.host)) ||
		    ht_batch_add(b, m.host, m.line) < 0 || m.rc > 0 || m.rc < -4095 ||
		    (m.rc == 0 && m.addr.family != AF_INET && m.addr.family != AF_INET6) ||
		    (m.rc == 0 && app->o.family_forced && m.addr.family != app->o.family_forced)) {
			snprintf(err, errlen, "the batch reader process failed");
			rc = -EINVAL;
			break;
		}
		t[i].host = b->hosts[i];
		t[i].line = m.line;
		if (m.rc < 0) {
			char clean[sizeof(m.err)];
			m.err[sizeof(m.err) - 1] = '\0';
			ht_sanitize(clean, sizeof(clean), m.err, strlen(m.err));
			target_fail(&t[i], m.rc, clean);
			t[i].by_line = true;
		} else {
			t[i].addr = m.addr;
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		for (size_t i = 0; t && i < h.n; i++)
			free(t[i].err);
		free(t);
		return rc;
	}
	*tp = t;
	*np = h.n;
	return 0;
}

/* Numeric targets directly, names through the resolver process. */
static int resolve_targets(struct app *app, struct target *t, size_t n, char *err,
                           size_t errlen)
{
	int fam = app->o.family_forced;
	size_t names = 0;

	for (size_t i = 0; i < n; i++) {
		if (ht_addr_parse(t[i].host, &t[i].addr) == 0) {
			if (fam && t[i].addr.family != fam) {
				/* A numeric address: short and printable. */
				char shown[128], msg[192];
				ht_sanitize(shown, sizeof(shown), t[i].host, strlen(t[i].host));
				snprintf(msg, sizeof(msg), "'%s' is not an %s address", shown,
				         fam == AF_INET ? "IPv4" : "IPv6");
				target_fail(&t[i], -EAFNOSUPPORT, msg);
			}
		} else {
			names++;
		}
	}
	return names ? resolve_unprivileged(app, t, n, fam, err, errlen) : 0;
}

/* In batch mode every message about a target names it: by its line when
 * it did not resolve (the line is not shown), else as the host. */
static void target_error(const struct app *app, const struct target *t, const char *msg)
{
	char shown[HT_BATCH_HOST_MAX * 4 + 1];

	if (!app->o.batch) {
		fprintf(stderr, "hoptrace: %s\n", msg);
		return;
	}
	if (t->by_line) {
		fprintf(stderr, "hoptrace: %s:%lu: %s\n", app->batch_name, t->line, msg);
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

int main(int argc, char **argv)
{
	struct app app;
	struct ht_batch batch = {0};
	struct target *t = NULL;
	size_t n = 1;
	char err[1024] = "";
	/* Per family: the io, why there is none, which target it points at. */
	ht_io *io[2] = {NULL, NULL};
	char io_err[2][512] = {"", ""};
	int io_status[2] = {0, 0};
	size_t io_at[2] = {0, 0};
	int rc, status = 0;

	memset(&app, 0, sizeof(app));
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
	if (app.o.batch) {
		/* Read, checked and resolved with no privilege (see
		 * batch_child), before anything else: the whole list is checked
		 * before the first probe. */
		if (!strcmp(app.o.batch, "-"))
			snprintf(app.batch_name, sizeof(app.batch_name), "standard input");
		else
			ht_sanitize(app.batch_name, sizeof(app.batch_name), app.o.batch,
			            strlen(app.o.batch));
		if (read_batch(&app, &batch, &t, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "hoptrace: %s\n", err);
			ht_batch_free(&batch);
			return 2;
		}
	} else {
		t = calloc(1, sizeof(*t));
		if (!t) {
			fprintf(stderr, "hoptrace: out of memory\n");
			return 1;
		}
		t[0].host = app.o.host;
	}
	if (!app.o.batch && resolve_targets(&app, t, n, err, sizeof(err)) < 0) {
		fprintf(stderr, "hoptrace: %s\n", err);
		status = 2;
		goto out;
	}
	if (!app.o.batch && t[0].rc < 0) {
		fprintf(stderr, "hoptrace: %s\n", t[0].err ? t[0].err : "out of memory");
		status = 2;
		goto out;
	}

	/* Sockets for each family in use, aimed at its first target, while
	 * still privileged. */
	for (int k = 0; k < 2; k++) {
		int fam = k ? AF_INET6 : AF_INET;
		for (size_t i = 0; i < n && !io[k]; i++) {
			if (t[i].rc < 0 || t[i].addr.family != fam)
				continue;
			if (family_refusal(&app, fam, io_err[k], sizeof(io_err[k]))) {
				io_status[k] = 2;
				break;
			}
			struct ht_config cfg = app.o.cfg;
			cfg.dst = t[i].addr;
			cfg.family = fam;
			io_err[k][0] = '\0';
			rc = ht_io_open(&io[k], &cfg, &app.o.io, io_err[k], sizeof(io_err[k]));
			if (rc == 0) {
				io_at[k] = i;
				break;
			}
			if (!io_err[k][0])
				snprintf(io_err[k], sizeof(io_err[k]), "%s", strerror(-rc));
			io_status[k] = 1;
			/* No route to this target: it alone fails, and the next
			 * target of the family gets to set up the sockets. */
			if (app.o.batch && (rc == -ENETUNREACH || rc == -EHOSTUNREACH ||
			                    rc == -ENETDOWN || rc == -EHOSTDOWN)) {
				target_fail(&t[i], rc, io_err[k]);
				continue;
			}
			break;
		}
		/* Unprivileged mode costs features (flow stability for UDP/TCP,
		 * ICMP extensions): say so once, on stderr, so the output stays
		 * classic. */
		const char *note = io[k] ? ht_io_mode_note(io[k]) : NULL;
		if (note && !(k == 1 && io[0] && ht_io_mode_note(io[0]) &&
		              !strcmp(note, ht_io_mode_note(io[0]))))
			fprintf(stderr, "hoptrace: %s\n", note);
	}
	if (!app.o.batch && !io[fam_index(t[0].addr.family)]) {
		fprintf(stderr, "hoptrace: %s\n", io_err[fam_index(t[0].addr.family)]);
		status = io_status[fam_index(t[0].addr.family)];
		goto out;
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
		print_status("status: ");

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

	for (size_t i = 0; i < n; i++) {
		int k = fam_index(t[i].addr.family);
		int st;
		if (t[i].rc < 0) {
			target_error(&app, &t[i], t[i].err ? t[i].err : "out of memory");
			st = 1;
		} else if (!io[k]) {
			target_error(&app, &t[i], io_err[k]);
			st = io_status[k];
		} else if (i != io_at[k] &&
		           (rc = ht_io_retarget(io[k], &t[i].addr, err, sizeof(err))) < 0) {
			target_error(&app, &t[i], err[0] ? err : strerror(-rc));
			st = 1;
		} else {
			app.trace_id = (uint32_t)i;
			st = run_one(&app, io[k], &t[i]);
		}
		if (st > status)
			status = st;
	}
	if (app.o.stats && app.ran) {
		struct ht_io_stats ios = {0}, one;
		for (int k = 0; k < 2; k++) {
			if (!io[k])
				continue;
			ht_io_get_stats(io[k], &one);
			ios.rx_packets += one.rx_packets;
			ios.rx_matched += one.rx_matched;
			ios.rx_unmatched += one.rx_unmatched;
			ios.rx_malformed += one.rx_malformed;
		}
		fprintf(stderr,
		        "hoptrace: %llu packets read: %llu replies to our probes, %llu not ours, "
		        "%llu malformed\n",
		        (unsigned long long)ios.rx_packets, (unsigned long long)ios.rx_matched,
		        (unsigned long long)ios.rx_unmatched, (unsigned long long)ios.rx_malformed);
	}
	/* A batch exits 1 when any target failed (each one said why). */
	if (app.o.batch && status > 1)
		status = 1;
out:
	if (app.fe)
		app.fe->close(app.fe_state);
	ht_io_close(io[0]);
	ht_io_close(io[1]);
	ht_dns_free(app.dns);
	for (size_t i = 0; t && i < n; i++)
		free(t[i].err);
	free(t);
	ht_batch_free(&batch);
	return status;
}
