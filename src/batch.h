/*
 * Batch input: the list of targets for `hoptrace --batch FILE`.
 *
 * One target per line: a host name or a numeric IPv4/IPv6 address.
 * Blank lines and lines starting with '#' are skipped; a '#' after
 * blanks starts a comment. Anything else (two words on a line, control
 * bytes, characters no host name or address has, an overlong line) is an
 * error naming the file, line and column. The program reads the list as a
 * stream (ht_batch_next): a refused line is reported and skipped, and the
 * batch goes on. ht_batch_read() reads a whole list and stops at the first
 * refused line (tests and fuzzing compare the two).
 *
 * The file may be anything the user can make the program open (a file of
 * secrets, under sudo), so no message ever shows a line's text: a bad
 * byte is named by its value ("invalid byte 0x24"). The program reads the
 * list only in a process that has dropped every privilege.
 */
#ifndef HT_SRC_BATCH_H
#define HT_SRC_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HT_BATCH_HOST_MAX 253   /* longest host name (RFC 1035 text form) */
#define HT_BATCH_LINE_MAX 4096  /* longest line (comment included, "\n" or "\r\n" not) */
/* ht_batch_read() only (a list held in memory); a streamed list has no
 * limit on its length. */
#define HT_BATCH_MAX_TARGETS 1000000

struct ht_batch {
	char **hosts;
	unsigned long *lines; /* the line of the file each target is on */
	size_t n, cap;
};

/*
 * Parse one line (without or with its "\n" / "\r\n"), len bytes, which
 * may contain any byte including NUL. Returns 1 and the target in host
 * (NUL-terminated, at most HT_BATCH_HOST_MAX bytes), 0 for a blank or
 * comment line, or -EINVAL with the 1-based byte column of the problem in
 * *col and a one-line reason in err (no file/line/column; no byte of the
 * line except as a value: "invalid byte 0x2f").
 */
int ht_batch_parse_line(const char *line, size_t len, char *host, size_t hostcap, size_t *col,
                        char *err, size_t errlen);

/* Reading a list line by line: f, and the number of the last line read. */
struct ht_batch_reader {
	FILE *f;
	unsigned long line;
};

/*
 * The next target of the list, skipping blank and comment lines. Returns 1
 * with the target in host (its line in r->line), 0 at the end of the
 * file, -EINVAL for a refused line (r->line, the column in *col and a
 * one-line reason in err, as ht_batch_parse_line(); an overlong line is
 * skipped to its end and reported at column HT_BATCH_LINE_MAX + 1), or
 * -EIO for a read error ("read error" in err). After -EINVAL the next call
 * goes on with the next line. Memory does not grow with the list.
 */
int ht_batch_next(struct ht_batch_reader *r, char *host, size_t hostcap, size_t *col, char *err,
                  size_t errlen);

/* Whether host is a target exactly as the line parser would return it. */
bool ht_batch_host_ok(const char *host);

/*
 * Read every line of f. name is shown in errors ("FILE:LINE:COL: reason",
 * "FILE: no targets"). Returns the number of targets (at least 1) or a
 * negative errno with a one-line message in err; b is then empty.
 */
int ht_batch_read(FILE *f, const char *name, struct ht_batch *b, char *err, size_t errlen);

/*
 * Append one target found on `line`: refused with -EINVAL unless host is
 * a target as the parser would return it and lines only grow; -ENOMEM.
 */
int ht_batch_add(struct ht_batch *b, const char *host, unsigned long line);

void ht_batch_free(struct ht_batch *b);

#endif
