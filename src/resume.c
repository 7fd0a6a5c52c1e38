/* --resume: the set of targets a previous --jsonl batch finished. See resume.h. */
#include "resume.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Traces started and not finished yet, by "trace" id (-1: lines without
 * one). A run with N traces in flight keeps N of them. */
struct open_trace {
	long long id;
	char *name;
	struct open_trace *next;
};

struct ht_resume {
	char **slot; /* open addressing, linear probing; NULL: free */
	size_t cap, n;
	size_t bad, truncated;
	struct open_trace *open;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

struct ht_resume *ht_resume_new(void)
{
	struct ht_resume *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cap = 64;
	r->slot = calloc(r->cap, sizeof(*r->slot));
	if (!r->slot) {
		free(r);
		return NULL;
	}
	return r;
}

static size_t find(char *const *slot, size_t cap, const char *s)
{
	size_t i = (size_t)hash(s) & (cap - 1);

	while (slot[i] && strcmp(slot[i], s))
		i = (i + 1) & (cap - 1);
	return i;
}

bool ht_resume_done(const struct ht_resume *r, const char *target)
{
	return r && r->slot[find(r->slot, r->cap, target)] != NULL;
}

static int grow(struct ht_resume *r)
{
	size_t cap = r->cap * 2;
	char **slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < r->cap; i++)
		if (r->slot[i])
			slot[find(slot, cap, r->slot[i])] = r->slot[i];
	free(r->slot);
	r->slot = slot;
	r->cap = cap;
	return 0;
}

int ht_resume_add(struct ht_resume *r, const char *target)
{
	size_t i;

	if ((r->n + 1) * 2 > r->cap && grow(r) < 0)
		return -ENOMEM;
	i = find(r->slot, r->cap, target);
	if (r->slot[i])
		return 0;
	if (!(r->slot[i] = strdup(target)))
		return -ENOMEM;
	r->n++;
	return 1;
}

size_t ht_resume_count(const struct ht_resume *r)
{
	return r ? r->n : 0;
}

size_t ht_resume_bad_lines(const struct ht_resume *r)
{
	return r ? r->bad : 0;
}

size_t ht_resume_truncated(const struct ht_resume *r)
{
	return r ? r->truncated : 0;
}

static void drop_open(struct ht_resume *r)
{
	while (r->open) {
		struct open_trace *o = r->open;
		r->open = o->next;
		free(o->name);
		free(o);
	}
}

void ht_resume_free(struct ht_resume *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->cap; i++)
		free(r->slot[i]);
	free(r->slot);
	drop_open(r);
	free(r);
}

/* The "target"."name" of a line, or NULL. */
static const char *target_name(json_t *o)
{
	json_t *t = json_object_get(o, "target");
	json_t *n = json_is_object(t) ? json_object_get(t, "name") : NULL;

	if (json_is_string(n) && json_string_length(n) > 0)
		return json_string_value(n);
	return NULL;
}

/* The trace id of a line: its "trace" integer, or -1. */
static long long trace_id(json_t *o)
{
	json_t *t = json_object_get(o, "trace");

	return json_is_integer(t) && json_integer_value(t) >= 0 ? json_integer_value(t) : -1;
}

static struct open_trace **find_open(struct ht_resume *r, long long id)
{
	struct open_trace **p = &r->open;

	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

/* One whole line, parsed. Returns 0, or -ENOMEM. */
static int take_line(struct ht_resume *r, const char *line, size_t len)
{
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type, *name;
	long long id;
	int rc = 0;

	if (!json_is_object(o)) {
		r->bad++;
		json_decref(o);
		return 0;
	}
	type = json_string_value(json_object_get(o, "type"));
	id = trace_id(o);
	if (type && !strcmp(type, "trace_start") && (name = target_name(o))) {
		struct open_trace **p = find_open(r, id), *t = *p;
		char *copy = strdup(name);
		if (!copy) {
			rc = -ENOMEM;
		} else if (t) {
			free(t->name);
			t->name = copy;
		} else if (!(t = calloc(1, sizeof(*t)))) {
			free(copy);
			rc = -ENOMEM;
		} else {
			t->id = id;
			t->name = copy;
			t->next = r->open;
			r->open = t;
		}
	} else if (type && !strcmp(type, "trace_done")) {
		struct open_trace **p = find_open(r, id), *t = *p;
		json_t *stop = json_object_get(o, "stop");
		const char *reason = json_string_value(json_object_get(stop, "reason"));
		name = target_name(o);
		if (!name && t)
			name = t->name;
		if (name && !(reason && !strcmp(reason, "error")) && ht_resume_add(r, name) < 0)
			rc = -ENOMEM;
		if (t) {
			*p = t->next;
			free(t->name);
			free(t);
		}
	}
	json_decref(o);
	return rc;
}

int ht_resume_load(struct ht_resume **out, FILE *f, char *err, size_t errlen)
{
	struct ht_resume *r = ht_resume_new();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			/* The last line, cut short: the trace it ends is not done. */
			r->truncated++;
			break;
		}
		if ((rc = take_line(r, line, (size_t)n - 1)) < 0) {
			snprintf(err, errlen, "out of memory");
			break;
		}
	}
	free(line);
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "read error");
		rc = -EIO;
	}
	drop_open(r);
	if (rc < 0) {
		ht_resume_free(r);
		return rc;
	}
	*out = r;
	return 0;
}
