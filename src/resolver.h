/*
 * The unprivileged children that turn names into addresses.
 *
 * DNS answers, /etc/hosts, the resolver's environment and a --batch list
 * are untrusted input, and the program still holds CAP_NET_RAW while it
 * resolves (its raw sockets are not open yet: their family depends on the
 * answer). So names are resolved, and the list is read, in a child that
 * drops every privilege first and then enters the resolver's own seccomp
 * filter. The privileged parent reads only fixed-size messages from it
 * and checks each one.
 */
#ifndef HT_SRC_RESOLVER_H
#define HT_SRC_RESOLVER_H

#include "batch.h"
#include "hoptrace/hoptrace.h"

#include <stdbool.h>
#include <stddef.h>

struct ht_resolver_opts {
	int family;        /* AF_INET / AF_INET6 (-4 / -6), or 0: either */
	bool no_sandbox;   /* --no-sandbox: the child enters no filter */
	bool debug_status; /* --debug-status: the child prints its status */
};

/*
 * Resolve one host name in a child (numeric addresses need none: parse
 * them first). Returns 0 with the address in *addr, or a negative errno
 * with a one-line, printable message in err (the name did not resolve,
 * or the child failed).
 */
int ht_resolve_unprivileged(const struct ht_resolver_opts *o, const char *host, ht_addr *addr,
                            char *err, size_t errlen);

/* Print the lines of /proc/self/status the privilege tests read, each
 * after prefix, to stderr. */
void ht_print_status(const char *prefix);

/*
 * --batch FILE: the list streamed by a child. The child drops every
 * privilege, opens the file (so only with the invoking user's rights;
 * under sudo, nobody's), enters the resolver's filter and then reads the
 * list line by line, sending each target (resolved) or each refused line
 * as it goes. The pipe's back-pressure bounds what is in flight: the list
 * is never held in memory, by either process. No message shows a line of
 * the file: a refused line is named by FILE:LINE:COL and a byte by its
 * value, a target that did not resolve by FILE:LINE.
 */
enum ht_batch_kind {
	HT_BATCH_TARGET = 1, /* host, line; rc 0 and addr, or rc < 0 and msg */
	HT_BATCH_BAD,        /* a refused line: msg "FILE:LINE:COL: reason" */
	HT_BATCH_FATAL,      /* the list cannot be read (on): msg; nothing follows */
};

#define HT_BATCH_MSG_MAX 1024

struct ht_batch_target {
	enum ht_batch_kind kind;
	unsigned long line;                /* its line in the file (FATAL: 0) */
	char host[HT_BATCH_HOST_MAX + 1];  /* TARGET: as given */
	int rc;                            /* TARGET: 0, or a negative errno */
	ht_addr addr;                      /* TARGET with rc 0: of o->family if set */
	char msg[HT_BATCH_MSG_MAX];        /* printable, one line, without "hoptrace: " */
};

struct ht_batch_stream;

/*
 * Start the child reading path ("-": standard input). The file is named
 * name in messages ("standard input" for "-"; sanitised here). Returns 0,
 * or a negative errno with a one-line message in err. Call while the
 * process may still fork and before its own seccomp filter.
 */
int ht_batch_stream_open(struct ht_batch_stream **out, const struct ht_resolver_opts *o,
                         const char *path, const char *name, char *err, size_t errlen);
/* The pipe to poll (POLLIN) for the next item; -1 once the list is over. */
int ht_batch_stream_fd(const struct ht_batch_stream *s);
/* The file as messages name it (sanitised). */
const char *ht_batch_stream_name(const struct ht_batch_stream *s);
/*
 * The next item. Returns 1 with *out filled, 0 when the list is over (after
 * its last item, or after a FATAL one), or, with wait false, -EAGAIN when
 * no whole item has arrived yet (poll the fd). Anything the child sends
 * that is not a well-formed item ends the stream with a FATAL item.
 */
int ht_batch_stream_next(struct ht_batch_stream *s, struct ht_batch_target *out, bool wait);
/* Counts so far: targets (resolved or not) and refused lines. */
unsigned long ht_batch_stream_targets(const struct ht_batch_stream *s);
unsigned long ht_batch_stream_refused(const struct ht_batch_stream *s);
/* Close the pipe (a child still writing then stops) and free s. */
void ht_batch_stream_close(struct ht_batch_stream *s);

#endif
