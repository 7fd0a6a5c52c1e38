/*
 * hoptrace: the program. Parses the command line, resolves the target,
 * opens the sockets while privileged, drops every privilege, then runs a
 * session and turns its events into text, JSON or JSON lines.
 */
#include "dns.h"
#include "json_out.h"
#include "options.h"
#include "text_out.h"

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
	struct ht_text_out text;
	ht_dns *dns;
	ht_session *session;
	struct ht_json *json;
	bool text_mode;
};

static const char *name_of(void *u, const ht_addr *a)
{
	struct app *app = u;

	return app->dns ? ht_dns_ptr_lookup(app->dns, a) : NULL;
}

static void emit_hop(void *u, const struct ht_hop *h)
{
	struct app *app = u;

	ht_text_hop(&app->text, h);
}

static void on_event(void *u, const struct ht_event *ev)
{
	struct app *app = u;

	if (app->json)
		ht_json_on_event(app->json, ev);
	switch (ev->type) {
	case HT_EV_PROBE_DONE:
		/* Start the reverse lookup as soon as an address is known, so
		 * names resolve while the rest of the trace is still running. */
		if (app->dns && ev->probe->state == HT_PROBE_REPLIED)
			ht_dns_ptr_request(app->dns, &ev->probe->reply.from);
		break;
	case HT_EV_HOP_DONE:
		if (!app->text_mode)
			break;
		if (app->dns)
			ht_dns_hold_push(app->dns, ev->hop, ht_now_us());
		else
			ht_text_hop(&app->text, ev->hop);
		break;
	default:
		break;
	}
}

/* For the privilege tests: show what the process holds after setup. */
static void print_status(void)
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
				fprintf(stderr, "status: %s", line);
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

/*
 * Resolve a host name in a child process that has dropped every privilege
 * first: DNS answers, /etc/hosts and the resolver's environment variables
 * are untrusted input, and this process still holds CAP_NET_RAW (its raw
 * sockets are not open yet, because their family depends on the answer).
 * The privileged parent only reads one fixed-size message and checks it.
 */
static int resolve_unprivileged(const char *host, int family, ht_addr *out, char *err,
                                size_t errlen)
{
	struct resolve_msg m;
	size_t got = 0;
	int fds[2], status;
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
		memset(&m, 0, sizeof(m));
		close(fds[0]);
		m.rc = ht_priv_drop();
		if (m.rc < 0)
			snprintf(m.err, sizeof(m.err), "cannot drop privileges to resolve names: %s",
			         strerror(-m.rc));
		else if ((m.rc = ht_dns_new(&d)) < 0)
			snprintf(m.err, sizeof(m.err), "cannot start the resolver: %s",
			         strerror(-m.rc));
		else
			m.rc = ht_dns_resolve_host(d, host, family ? family : AF_UNSPEC, &m.addr,
			                           m.err, sizeof(m.err), 0);
		ht_dns_free(d);
		_exit(write_all(fds[1], &m, sizeof(m)) < 0 ? 1 : 0);
	}
	close(fds[1]);
	memset(&m, 0, sizeof(m));
	while (got < sizeof(m)) {
		ssize_t n = read(fds[0], (char *)&m + got, sizeof(m) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(m) || m.rc > 0 || m.rc < -4095 ||
	    (m.rc == 0 && m.addr.family != AF_INET && m.addr.family != AF_INET6) ||
	    (m.rc == 0 && family && m.addr.family != family)) {
		snprintf(err, errlen, "the resolver process failed");
		return -EIO;
	}
	if (m.rc < 0) {
		m.err[sizeof(m.err) - 1] = '\0';
		ht_sanitize(err, errlen, m.err, strlen(m.err));
		return m.rc;
	}
	*out = m.addr;
	return 0;
}

static int resolve_target(struct app *app, char *err, size_t errlen)
{
	struct ht_config *c = &app->o.cfg;

	if (ht_addr_parse(app->o.host, &c->dst) == 0) {
		if (app->o.family_forced && c->dst.family != app->o.family_forced) {
			snprintf(err, errlen, "'%s' is not an %s address", app->o.host,
			         app->o.family_forced == AF_INET ? "IPv4" : "IPv6");
			return -EAFNOSUPPORT;
		}
		return 0;
	}
	return resolve_unprivileged(app->o.host, app->o.family_forced, &c->dst, err, errlen);
}

int main(int argc, char **argv)
{
	struct app app;
	char err[512] = "";
	ht_io *io = NULL;
	int rc, status = 0;

	memset(&app, 0, sizeof(app));
	rc = ht_opts_parse(&app.o, argc, argv, err, sizeof(err));
	if (rc == HT_OPTS_EXIT_OK)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "hoptrace: %s\n", err);
		return 2;
	}
	if (resolve_target(&app, err, sizeof(err)) < 0) {
		fprintf(stderr, "hoptrace: %s\n", err);
		ht_dns_free(app.dns);
		return 2;
	}
	app.o.cfg.family = app.o.cfg.dst.family;
	if (app.o.cfg.src.family && app.o.cfg.src.family != app.o.cfg.family) {
		fprintf(stderr, "hoptrace: source address %s is not of the target's family\n",
		        app.o.src_text);
		ht_dns_free(app.dns);
		return 2;
	}

	if (app.o.cfg.packet_len &&
	    app.o.cfg.packet_len < ht_probe_min_len(app.o.cfg.family, app.o.cfg.method)) {
		fprintf(stderr, "hoptrace: packet length %zu is too short: this method needs at least %zu\n",
		        app.o.cfg.packet_len, ht_probe_min_len(app.o.cfg.family, app.o.cfg.method));
		ht_dns_free(app.dns);
		return 2;
	}
	rc = ht_io_open(&io, &app.o.cfg, &app.o.io, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hoptrace: %s\n", err[0] ? err : strerror(-rc));
		ht_dns_free(app.dns);
		return 1;
	}
	/* Unprivileged mode costs features (flow stability for UDP/TCP, ICMP
	 * extensions): say so once, on stderr, so the output stays classic. */
	if (ht_io_mode_note(io))
		fprintf(stderr, "hoptrace: %s\n", ht_io_mode_note(io));
	rc = ht_priv_drop();
	if (rc < 0) {
		fprintf(stderr, "hoptrace: cannot drop privileges: %s\n", strerror(-rc));
		ht_io_close(io);
		ht_dns_free(app.dns);
		return 1;
	}

	if (!app.o.numeric && !app.dns && ht_dns_new(&app.dns) < 0)
		app.dns = NULL; /* no resolver: print addresses */
	if (app.o.numeric) {
		ht_dns_free(app.dns);
		app.dns = NULL;
	}
	/* From here on the process parses packets and DNS answers from the
	 * network: restrict it to the system calls that needs. */
	if (!app.o.no_sandbox) {
		rc = ht_sandbox_enter();
		if (rc < 0) {
			fprintf(stderr, "hoptrace: cannot enter the seccomp sandbox: %s\n",
			        strerror(-rc));
			ht_io_close(io);
			ht_dns_free(app.dns);
			return 1;
		}
	}
	if (app.o.debug_status)
		print_status();

	app.text_mode = !app.o.json && !app.o.jsonl;
	app.text = (struct ht_text_out){
		.out = stdout,
		.numeric = app.o.numeric,
		.extensions = app.o.extensions,
		.name = name_of,
		.name_u = &app,
	};
	if (app.dns && app.text_mode)
		ht_dns_hold_init(app.dns, 0, emit_hop, &app);

	const struct ht_flow *flow = ht_io_flow(io);
	if (app.text_mode) {
		ht_text_header(&app.text, app.o.host, &app.o.cfg.dst, app.o.cfg.max_ttl,
		               flow->packet_len);
	} else {
		struct ht_json_opts jo = {
			.mode = app.o.jsonl ? HT_JSON_LINES : HT_JSON_DOCUMENT,
			.pretty = app.o.json,
			.name_fn = app.dns ? name_of : NULL,
			.name_u = &app,
			.flow = flow,
		};
		rc = ht_json_begin(&app.json, stdout, &jo, &app.o.cfg, app.o.host);
		if (rc < 0) {
			fprintf(stderr, "hoptrace: cannot start JSON output: %s\n", strerror(-rc));
			ht_io_close(io);
			ht_dns_free(app.dns);
			return 1;
		}
		if (app.dns && app.o.jsonl)
			ht_dns_on_done(app.dns, ht_json_name_cb, app.json);
	}

	rc = ht_session_new(&app.session, &app.o.cfg, ht_io_ops(), io, on_event, &app);
	if (rc < 0) {
		const char *msg = NULL;
		ht_config_validate(&app.o.cfg, &msg);
		fprintf(stderr, "hoptrace: %s\n", msg ? msg : strerror(-rc));
		ht_io_close(io);
		ht_dns_free(app.dns);
		return 2;
	}

	struct ht_io_watch watch = {0};
	if (app.dns)
		ht_dns_watch(app.dns, &watch);
	rc = ht_io_run(io, app.session, app.dns ? &watch : NULL);
	if (app.dns && app.text_mode)
		ht_dns_hold_flush(app.dns);
	else if (app.dns)
		ht_dns_wait(app.dns, ht_now_us() + HT_DNS_HOLD_BUDGET_US);
	if (rc < 0 || ht_session_stop_reason(app.session) == HT_STOP_ERROR) {
		fprintf(stderr, "hoptrace: sending probes failed: %s\n", strerror(rc < 0 ? -rc : EIO));
		status = 1;
	}
	struct ht_session_stats st;
	ht_session_stats(app.session, &st);
	if (app.json && ht_json_end(app.json, &st) < 0)
		status = 1;
	if (app.o.stats) {
		fprintf(stderr,
		        "hoptrace: %u probes sent, %u replies matched, %u unmatched, %u "
		        "duplicates, %u probes past the destination\n",
		        st.probes_sent, st.replies_matched, st.replies_unmatched,
		        st.replies_duplicate, st.probes_past_dst);
		struct ht_io_stats ios;
		ht_io_get_stats(io, &ios);
		fprintf(stderr,
		        "hoptrace: %llu packets read: %llu replies to our probes, %llu not ours, "
		        "%llu malformed\n",
		        (unsigned long long)ios.rx_packets, (unsigned long long)ios.rx_matched,
		        (unsigned long long)ios.rx_unmatched, (unsigned long long)ios.rx_malformed);
	}
	ht_session_free(app.session);
	ht_io_close(io);
	ht_dns_free(app.dns);
	return status;
}
