/*
 * --resume FILE: the targets a previous --batch --jsonl run finished, read
 * from its output, so a new run of the same list skips them.
 *
 * A target is done when the file holds its trace_done line: the target is
 * the "target"."name" of that line when it has one, else that of the
 * trace_start line of the same trace ("trace" field when lines carry one,
 * else the latest trace_start: traces written one after the other). A
 * trace that stopped with reason "error" is not done (it is traced again).
 * A last line without its newline (a run killed mid-write) is ignored,
 * and so is any line that is not a JSON object: they are counted.
 *
 * Memory: the finished targets' names in a hash set, and the trace_start
 * names of traces not finished yet; nothing else of the file is kept.
 */
#ifndef HT_SRC_RESUME_H
#define HT_SRC_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ht_resume;

/*
 * Read f to its end. Returns 0 and the set in *out, or a negative errno
 * with a one-line message in err (-EIO: read error; -ENOMEM).
 */
int ht_resume_load(struct ht_resume **out, FILE *f, char *err, size_t errlen);
/* An empty set (to add to). NULL when out of memory. */
struct ht_resume *ht_resume_new(void);
/* Whether target (as given in the list) was finished. */
bool ht_resume_done(const struct ht_resume *r, const char *target);
/* Mark target finished: 1 added, 0 already there, -ENOMEM. */
int ht_resume_add(struct ht_resume *r, const char *target);
/* Targets in the set. */
size_t ht_resume_count(const struct ht_resume *r);
/* Lines ht_resume_load() ignored: not JSON objects, and the last line when
 * it had no newline (reported apart: truncated is 0 or 1). */
size_t ht_resume_bad_lines(const struct ht_resume *r);
size_t ht_resume_truncated(const struct ht_resume *r);
void ht_resume_free(struct ht_resume *r);

#endif
