/*
 * The unprivileged resolver children: one name (ht_resolve_unprivileged)
 * or a whole --batch list streamed (ht_batch_stream_*). See resolver.h.
 */
#include "resolver.h"

#include "dns.h"
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

void ht_print_status(const char *prefix)
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
 * answers (or reads the list): the resolver's own filter, narrower than
 * the program's (no event loop, bind or terminal calls). Returns 0, or a
 * negative errno with a message in err. */
static int child_confine(const struct ht_resolver_opts *o, char *err, size_t errlen)
{
	int rc;

	if (!o->no_sandbox && (rc = ht_sandbox_enter_resolver()) < 0) {
		snprintf(err, errlen, "cannot confine the resolver: %s", strerror(-rc));
		return rc;
	}
	if (o->debug_status)
		ht_print_status("resolver status: ");
	return 0;
}

static bool rc_ok(int rc)
{
	return rc <= 0 && rc >= -4095;
}

static bool addr_ok(const ht_addr *a, int family)
{
	return (a->family == AF_INET || a->family == AF_INET6) && (!family || a->family == family);
}

/* ---- One name ---- */

/* What the resolver process reports back: fixed size, checked by the parent. */
struct resolve_msg {
	int rc;
	ht_addr addr;
	char err[256];
};

int ht_resolve_unprivileged(const struct ht_resolver_opts *o, const char *host, ht_addr *addr,
                            char *err, size_t errlen)
{
	struct resolve_msg m;
	int fds[2], status, rc;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the resolver: %s", strerror(errno));
		return -EMFILE;
	}
	fflush(NULL);
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
		else if ((m.rc = child_confine(o, m.err, sizeof(m.err))) == 0)
			m.rc = ht_dns_resolve_host(d, host, o->family ? o->family : AF_UNSPEC,
			                           &m.addr, m.err, sizeof(m.err), 0);
		if (write_all(fds[1], &m, sizeof(m)) < 0)
			_exit(1);
		ht_dns_free(d);
		_exit(0);
	}
	close(fds[1]);
	memset(&m, 0, sizeof(m));
	if (read_all(fds[0], &m, sizeof(m)) < 0 || !rc_ok(m.rc) ||
	    (m.rc == 0 && !addr_ok(&m.addr, o->family))) {
		snprintf(err, errlen, "the resolver process failed");
		rc = -EIO;
	} else if (m.rc < 0) {
		m.err[sizeof(m.err) - 1] = '\0';
		ht_sanitize(err, errlen, m.err, strlen(m.err));
		rc = m.rc;
	} else {
		*addr = m.addr;
		rc = 0;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* ---- A --batch list, streamed ---- */

enum { W_TARGET = 1, W_BAD, W_FATAL, W_END };

/* One line's worth, child to parent: fixed size, checked by the parent. */
struct wire {
	uint32_t kind;
	uint32_t col;       /* W_BAD */
	unsigned long line; /* W_TARGET, W_BAD */
	int rc;             /* W_TARGET: 0 with addr, or a negative errno with err */
	ht_addr addr;
	char host[HT_BATCH_HOST_MAX + 1];
	char err[HT_BATCH_MSG_MAX - 32]; /* a reason (W_BAD, W_TARGET) or a message (W_FATAL) */
};

struct ht_batch_stream {
	int fd;
	int family;
	bool done;
	struct wire w; /* the message being read */
	size_t got;    /* bytes of it so far */
	unsigned long last_line, targets, refused;
	char name[512];
};

static _Noreturn void send_last(int fd, struct wire *m, int kind)
{
	m->kind = (uint32_t)kind;
	write_all(fd, m, sizeof(*m));
	_exit(0);
}

static _Noreturn void batch_child(int fd, const struct ht_resolver_opts *o, const char *path,
                                  const char *name)
{
	struct wire m;
	struct ht_batch_reader r = {0};
	ht_dns *d = NULL;
	int fam = o->family, dns_rc, rc;
	bool std = !strcmp(path, "-"), was_root = getuid() == 0;
	char dns_err[sizeof(m.err)] = "", why[256];
	unsigned long targets = 0, refused = 0;
	size_t col;

	memset(&m, 0, sizeof(m));
	rc = ht_priv_drop();
	if (rc < 0) {
		snprintf(m.err, sizeof(m.err), "cannot drop privileges to read %s: %s", name,
		         strerror(-rc));
		send_last(fd, &m, W_FATAL);
	}
	if (!(r.f = std ? stdin : fopen(path, "re"))) {
		int e = errno;
		snprintf(m.err, sizeof(m.err), "cannot read %s: %s%s", name, strerror(e),
		         e == EACCES && was_root
		                 ? " (read without root's rights: give it on standard input, "
		                   "--batch - <FILE)"
		                 : "");
		send_last(fd, &m, W_FATAL);
	}
	/* Its buffer given now: stdio would otherwise ask, at the first read,
	 * whether a device is a terminal (ioctl), which the filter refuses. */
	static char buf[BUFSIZ];
	setvbuf(r.f, buf, _IOFBF, sizeof(buf));
	/* The resolver reads its configuration now, before the filter; a
	 * failure matters only to the names of the list. */
	if ((dns_rc = ht_dns_new(&d)) < 0) {
		d = NULL;
		snprintf(dns_err, sizeof(dns_err), "cannot start the resolver: %s", strerror(-dns_rc));
	}
	/* From here on: the list's lines, DNS answers, and results written,
	 * under the resolver's own filter. */
	if (child_confine(o, m.err, sizeof(m.err)) < 0)
		send_last(fd, &m, W_FATAL);
	for (;;) {
		memset(&m, 0, sizeof(m));
		rc = ht_batch_next(&r, m.host, sizeof(m.host), &col, why, sizeof(why));
		if (rc == 0)
			break;
		if (rc == -EIO) {
			snprintf(m.err, sizeof(m.err), "%s: read error", name);
			send_last(fd, &m, W_FATAL);
		}
		m.line = r.line;
		if (rc < 0) {
			m.kind = W_BAD;
			m.col = (uint32_t)col;
			memset(m.host, 0, sizeof(m.host));
			snprintf(m.err, sizeof(m.err), "%s", why);
			refused++;
		} else {
			m.kind = W_TARGET;
			targets++;
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
				m.rc = ht_dns_resolve_host_noecho(d, m.host, fam ? fam : AF_UNSPEC,
				                                  &m.addr, m.err, sizeof(m.err), 0);
			}
		}
		if (write_all(fd, &m, sizeof(m)) < 0)
			_exit(1);
	}
	memset(&m, 0, sizeof(m));
	if (!targets && !refused) {
		snprintf(m.err, sizeof(m.err), "%s: no targets", name);
		send_last(fd, &m, W_FATAL);
	}
	send_last(fd, &m, W_END);
}

int ht_batch_stream_open(struct ht_batch_stream **out, const struct ht_resolver_opts *o,
                         const char *path, const char *name, char *err, size_t errlen)
{
	struct ht_batch_stream *s = calloc(1, sizeof(*s));
	int fds[2], status;
	pid_t pid;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->family = o->family;
	ht_sanitize(s->name, sizeof(s->name), name, strlen(name));
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the batch reader: %s", strerror(errno));
		free(s);
		return -EMFILE;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		free(s);
		snprintf(err, errlen, "cannot start the batch reader: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		/* The reader runs in a grandchild: this child exits at once and
		 * is reaped below, so the reader is never left a zombie of a
		 * parent whose filter has no wait4 (init reaps it). */
		close(fds[0]);
		pid = fork();
		if (pid < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		batch_child(fds[1], o, path, s->name);
	}
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	s->fd = fds[0];
	if (fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "cannot start the batch reader: %s", strerror(errno));
		close(s->fd);
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

int ht_batch_stream_fd(const struct ht_batch_stream *s)
{
	return s->done ? -1 : s->fd;
}

const char *ht_batch_stream_name(const struct ht_batch_stream *s)
{
	return s->name;
}

unsigned long ht_batch_stream_targets(const struct ht_batch_stream *s)
{
	return s->targets;
}

unsigned long ht_batch_stream_refused(const struct ht_batch_stream *s)
{
	return s->refused;
}

static void stream_end(struct ht_batch_stream *s)
{
	if (!s->done) {
		close(s->fd);
		s->fd = -1;
		s->done = true;
	}
}

/* The child broke the protocol (or died): the list ends here. */
static int stream_broken(struct ht_batch_stream *s, struct ht_batch_target *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = HT_BATCH_FATAL;
	snprintf(out->msg, sizeof(out->msg), "the batch reader process failed");
	stream_end(s);
	return 1;
}

/* The child's text, trusted for nothing: cut, then made printable. */
static void clean_text(char *dst, size_t len, char *src, size_t srclen)
{
	src[srclen - 1] = '\0';
	ht_sanitize(dst, len, src, strlen(src));
}

int ht_batch_stream_next(struct ht_batch_stream *s, struct ht_batch_target *out, bool wait)
{
	struct wire *w = &s->w;
	char reason[256];

	if (s->done)
		return 0;
	while (s->got < sizeof(*w)) {
		ssize_t n = read(s->fd, (char *)w + s->got, sizeof(*w) - s->got);
		if (n > 0) {
			s->got += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = s->fd, .events = POLLIN};
			if (!wait)
				return -EAGAIN;
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return stream_broken(s, out);
		} else {
			return stream_broken(s, out);
		}
	}
	s->got = 0;
	memset(out, 0, sizeof(*out));
	switch (w->kind) {
	case W_TARGET:
		if (!memchr(w->host, '\0', sizeof(w->host)) || !ht_batch_host_ok(w->host) ||
		    w->line <= s->last_line || !rc_ok(w->rc) ||
		    (w->rc == 0 && !addr_ok(&w->addr, s->family)))
			return stream_broken(s, out);
		out->kind = HT_BATCH_TARGET;
		out->line = s->last_line = w->line;
		memcpy(out->host, w->host, sizeof(out->host));
		out->rc = w->rc;
		if (w->rc == 0) {
			out->addr = w->addr;
		} else {
			clean_text(reason, sizeof(reason), w->err, sizeof(w->err));
			snprintf(out->msg, sizeof(out->msg), "%s:%lu: %s", s->name, w->line, reason);
		}
		s->targets++;
		return 1;
	case W_BAD:
		if (w->line <= s->last_line || w->col < 1 || w->col > HT_BATCH_LINE_MAX + 1)
			return stream_broken(s, out);
		out->kind = HT_BATCH_BAD;
		out->line = s->last_line = w->line;
		clean_text(reason, sizeof(reason), w->err, sizeof(w->err));
		snprintf(out->msg, sizeof(out->msg), "%s:%lu:%u: %s", s->name, w->line, w->col,
		         reason);
		s->refused++;
		return 1;
	case W_FATAL:
		out->kind = HT_BATCH_FATAL;
		clean_text(out->msg, sizeof(out->msg), w->err, sizeof(w->err));
		stream_end(s);
		return 1;
	case W_END:
		stream_end(s);
		return 0;
	default:
		return stream_broken(s, out);
	}
}

void ht_batch_stream_close(struct ht_batch_stream *s)
{
	if (!s)
		return;
	stream_end(s);
	free(s);
}
