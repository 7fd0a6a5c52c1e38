/*
 * Batch input: the list of targets for `hoptrace --batch FILE`.
 *
 * One target per line: a host name or a numeric IPv4/IPv6 address.
 * Blank lines and lines starting with '#' are skipped; a '#' after
 * blanks starts a comment. Anything else (two words on a line, control
 * bytes, characters no host name or address has, an overlong line) is an
 * error naming the file, line and column, and the whole batch is refused
 * before any probe is sent.
 *
 * The file may be anything the user can make the program open (a file of
 * secrets, under sudo), so no message ever shows a line's text: a bad
 * byte is named by its value ("invalid byte 0x24"). The program reads the
 * list only in a process that has dropped every privilege.
 */
#ifndef HT_SRC_BATCH_H
#define HT_SRC_BATCH_H

#include <stddef.h>
#include <stdio.h>

#define HT_BATCH_HOST_MAX 253   /* longest host name (RFC 1035 text form) */
#define HT_BATCH_LINE_MAX 4096  /* longest line (comment included, "\n" or "\r\n" not) */
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

/*
 * Read every line of f. name is shown in errors ("FILE:LINE:COL: reason",
 * "FILE: no targets"). Returns the number of targets (at least 1) or a
 * negative errno with a one-line message in err; b is then empty.
 */
int ht_batch_read(FILE *f, const char *name, struct ht_batch *b, char *err, size_t errlen);

/*
 * Append one target found on `line` (after ht_batch_read in another
 * process): refused with -EINVAL unless host is a target as the parser
 * would return it and lines only grow; -ENOMEM.
 */
int ht_batch_add(struct ht_batch *b, const char *host, unsigned long line);

void ht_batch_free(struct ht_batch *b);

#endif
