/*
 * The front ends of ht_frontends[]: classic text, one JSON document per
 * trace, JSON lines. See frontend.h.
 */
#include "frontend.h"

#include "json_out.h"
#include "text_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *ctx_name(const struct ht_fe_ctx *c, const ht_addr *a)
{
	return c->dns ? ht_dns_ptr_lookup(c->dns, a) : NULL;
}


/* ---- batch helpers: traces by id in O(1), output in list order ---- */

/* Trace ids from the engine carry a slot in their low 20 bits. */
#define ID_SLOT(id) ((size_t)((id) & 0xfffffu))

struct idmap {
	void **v;
	uint32_t *ids;
	size_t n;
};

static int idmap_put(struct idmap *m, uint32_t id, void *p)
{
	size_t k = ID_SLOT(id);

	if (k >= m->n) {
		size_t n = m->n ? m->n : 64;
		while (n <= k)
			n *= 2;
		void **v = realloc(m->v, n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		uint32_t *ids = realloc(m->ids, n * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		m->ids = ids;
		memset(m->v + m->n, 0, (n - m->n) * sizeof(*v));
		memset(m->ids + m->n, 0, (n - m->n) * sizeof(*ids));
		m->n = n;
	}
	m->v[k] = p;
	m->ids[k] = id;
	return 0;
}

static void *idmap_get(const struct idmap *m, uint32_t id)
{
	size_t k = ID_SLOT(id);

	return k < m->n && m->ids[k] == id ? m->v[k] : NULL;
}

static void idmap_del(struct idmap *m, uint32_t id)
{
	size_t k = ID_SLOT(id);

	if (k < m->n && m->ids[k] == id) {
		m->v[k] = NULL;
		m->ids[k] = 0;
	}
}

static void idmap_free(struct idmap *m)
{
	free(m->v);
	free(m->ids);
}

/*
 * A batch's finished traces on their way out. Ordered (text, --json):
 * written in the order they began (the list's order), a trace that ends
 * early waits for those before it; unordered (--jsonl): written the
 * moment it ends. Either way each trace is written whole and flushed.
 */
struct oq_item {
	char *buf;
	size_t len;
	bool done;
};

struct outq {
	FILE *out;
	bool ordered;
	bool sep;            /* a blank line between traces (text) */
	bool wrote;
	struct oq_item *v;   /* ring */
	size_t cap, head, n;
	uint64_t base;       /* sequence number of v[head] */
	uint64_t next;       /* sequence number of the next trace */
	size_t held;         /* done, waiting for an earlier one */
	bool io_error;
};

static int oq_write(struct outq *q, char *buf, size_t len)
{
	if (q->sep && q->wrote)
		fputc('\n', q->out);
	q->wrote = true;
	if (len && fwrite(buf, 1, len, q->out) != len)
		q->io_error = true;
	if (fflush(q->out) == EOF)
		q->io_error = true;
	free(buf);
	return q->io_error ? -EIO : 0;
}

static int oq_begin(struct outq *q, uint64_t *seq)
{
	*seq = q->next++;
	if (!q->ordered)
		return 0;
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		struct oq_item *v = malloc(ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = ncap;
		q->head = 0;
	}
	q->v[(q->head + q->n) % q->cap] = (struct oq_item){0};
	q->n++;
	return 0;
}

/* Trace seq is over; buf (malloc'd, taken) holds its output, or NULL for
 * a trace that is not to be written. */
static int oq_end(struct outq *q, uint64_t seq, char *buf, size_t len)
{
	int rc = 0;

	if (!q->ordered)
		return buf ? oq_write(q, buf, len) : 0;
	struct oq_item *it = &q->v[(q->head + (size_t)(seq - q->base)) % q->cap];
	it->buf = buf;
	it->len = len;
	it->done = true;
	q->held++;
	while (q->n && q->v[q->head].done) {
		it = &q->v[q->head];
		if (it->buf && oq_write(q, it->buf, it->len) < 0)
			rc = -EIO;
		q->held--;
		q->head = (q->head + 1) % q->cap;
		q->n--;
		q->base++;
	}
	return rc;
}

static void oq_free(struct outq *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->v[(q->head + i) % q->cap].buf);
	free(q->v);
}

/* ---- text ---- */

/* Batch: one trace's text, kept until it ends. */
struct text_trace {
	uint32_t id;
	uint64_t seq;
	FILE *mem;
	char *buf;
	size_t len;
	struct ht_text_out text;
};

struct fe_text {
	struct ht_fe_ctx c;
	struct ht_text_out text;
	bool traced; /* a trace was written: the next one is set apart by a blank line */
	struct idmap live;  /* batch: traces begun and not ended */
	struct outq q;
};

static const char *text_name(void *u, const ht_addr *a)
{
	struct fe_text *t = u;

	return ctx_name(&t->c, a);
}

static void text_emit(void *u, const struct ht_hop *h)
{
	struct fe_text *t = u;

	ht_text_hop(&t->text, h);
}

static int text_open(void **fe, const struct ht_fe_ctx *ctx)
{
	struct fe_text *t = calloc(1, sizeof(*t));

	*fe = NULL;
	if (!t)
		return -ENOMEM;
	t->c = *ctx;
	t->q = (struct outq){.out = ctx->out, .ordered = true, .sep = true};
	t->text = (struct ht_text_out){
		.out = ctx->out,
		.numeric = ctx->numeric,
		.extensions = ctx->extensions,
		.name = text_name,
		.name_u = t,
	};
	*fe = t;
	return 0;
}

static int text_begin_batch(struct fe_text *t, uint32_t id, const struct ht_fe_trace *tr,
                            char *err, size_t errlen)
{
	struct text_trace *x = calloc(1, sizeof(*x));

	if (!x || !(x->mem = open_memstream(&x->buf, &x->len)) || oq_begin(&t->q, &x->seq) < 0 ||
	    idmap_put(&t->live, id, x) < 0) {
		if (x && x->mem) {
			fclose(x->mem);
			free(x->buf);
		}
		free(x);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->id = id;
	x->text = t->text;
	x->text.out = x->mem;
	ht_text_header(&x->text, tr->host, &tr->cfg->dst, tr->cfg->max_ttl,
	               tr->flow->packet_len);
	return 0;
}

/* Batch: the whole trace, hops with the names known now; out in list
 * order. s NULL: the trace is dropped unwritten. */
static int text_end_batch(struct fe_text *t, uint32_t id, const ht_session *s)
{
	struct text_trace *x = idmap_get(&t->live, id);
	int rc = 0;

	if (!x)
		return 0;
	idmap_del(&t->live, id);
	if (s) {
		int first = 0;
		for (int ttl = 1; ttl <= HT_MAX_TTL && !first; ttl++)
			if (ht_session_hop(s, ttl))
				first = ttl;
		for (int ttl = first; first && ttl <= ht_session_last_ttl(s); ttl++)
			ht_text_hop(&x->text, ht_session_hop(s, ttl));
		ht_text_note(&x->text, s);
	}
	if (fclose(x->mem) != 0)
		rc = -EIO;
	if (oq_end(&t->q, x->seq, s ? x->buf : NULL, x->len) < 0)
		rc = -EIO;
	if (!s)
		free(x->buf);
	free(x);
	return rc;
}

static int text_begin(void *fe, uint32_t id, const struct ht_fe_trace *tr, char *err,
                      size_t errlen)
{
	struct fe_text *t = fe;

	if (t->c.batch)
		return text_begin_batch(t, id, tr, err, errlen);
	(void)id;
	(void)err;
	(void)errlen;
	/* A blank line between the traces of a batch. */
	if (t->traced)
		fputc('\n', t->c.out);
	t->traced = true;
	if (t->c.dns)
		ht_dns_hold_init(t->c.dns, 0, text_emit, t);
	ht_text_header(&t->text, tr->host, &tr->cfg->dst, tr->cfg->max_ttl, tr->flow->packet_len);
	return 0;
}

static void text_event(void *fe, uint32_t id, const struct ht_event *ev)
{
	struct fe_text *t = fe;

	(void)id;
	if (ev->type != HT_EV_HOP_DONE || t->c.batch)
		return;
	/* With names, hops wait (in order, within a budget) for theirs. */
	if (t->c.dns)
		ht_dns_hold_push(t->c.dns, ev->hop, ht_now_us());
	else
		ht_text_hop(&t->text, ev->hop);
}

static int text_end(void *fe, uint32_t id, const ht_session *s,
                    const struct ht_session_stats *st)
{
	struct fe_text *t = fe;

	(void)st;
	if (t->c.batch)
		return text_end_batch(t, id, s);
	(void)id;
	if (!s)
		return 0;
	if (t->c.dns)
		ht_dns_hold_flush(t->c.dns);
	ht_text_note(&t->text, s);
	return 0;
}

static void text_close(void *fe)
{
	struct fe_text *t = fe;

	if (!t)
		return;
	/* Traces that never ended (the run stopped) are not written. */
	for (size_t k = 0; k < t->live.n; k++)
		if (t->live.v[k])
			text_end_batch(t, t->live.ids[k], NULL);
	idmap_free(&t->live);
	oq_free(&t->q);
	free(fe);
}

static size_t text_held(void *fe)
{
	return ((struct fe_text *)fe)->q.held;
}

/* ---- json and jsonl ---- */

struct json_trace {
	uint32_t id;
	uint64_t seq;
	struct ht_json *j;
	FILE *mem;      /* batch: the trace's output until it ends */
	char *buf;
	size_t len;
	struct json_trace *next, *prev;
};

struct fe_json {
	struct ht_fe_ctx c;
	enum ht_json_mode mode;
	struct json_trace *live; /* traces begun and not ended */
	struct idmap ids;        /* the same, by id */
	struct outq q;           /* batch */
};

static const char *json_name(void *u, const ht_addr *a)
{
	struct fe_json *f = u;

	return ctx_name(&f->c, a);
}

/* A reverse lookup finished: each live trace writes it if the address is
 * one of its own (lines mode). */
static void json_name_done(void *u, const ht_addr *a, const char *name)
{
	struct fe_json *f = u;

	for (struct json_trace *t = f->live; t; t = t->next)
		ht_json_name_cb(t->j, a, name);
}

static int json_open_mode(void **fe, const struct ht_fe_ctx *ctx, enum ht_json_mode mode)
{
	struct fe_json *f = calloc(1, sizeof(*f));

	*fe = NULL;
	if (!f)
		return -ENOMEM;
	f->c = *ctx;
	f->mode = mode;
	/* A batch's documents in list order; its lines the moment a trace
	 * ends (a machine reads them by "trace" id). */
	f->q = (struct outq){.out = ctx->out, .ordered = mode == HT_JSON_DOCUMENT};
	*fe = f;
	return 0;
}

static int json_open(void **fe, const struct ht_fe_ctx *ctx)
{
	return json_open_mode(fe, ctx, HT_JSON_DOCUMENT);
}

static int jsonl_open(void **fe, const struct ht_fe_ctx *ctx)
{
	return json_open_mode(fe, ctx, HT_JSON_LINES);
}

static struct json_trace *json_find(struct fe_json *f, uint32_t id)
{
	if (f->c.batch)
		return idmap_get(&f->ids, id);
	for (struct json_trace *t = f->live; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void json_unlink(struct fe_json *f, struct json_trace *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		f->live = t->next;
	if (t->next)
		t->next->prev = t->prev;
	if (f->c.batch)
		idmap_del(&f->ids, t->id);
}

static int json_begin(void *fe, uint32_t id, const struct ht_fe_trace *tr, char *err,
                      size_t errlen)
{
	struct fe_json *f = fe;
	struct json_trace *t = calloc(1, sizeof(*t));
	struct ht_json_opts jo = {
		.mode = f->mode,
		.pretty = f->mode == HT_JSON_DOCUMENT,
		.name_fn = f->c.dns ? json_name : NULL,
		.name_u = f,
		.flow = tr->flow,
		.trace_id = f->c.batch ? id : 0,
	};
	FILE *out = f->c.out;
	int rc = t ? 0 : -ENOMEM;

	if (t && f->c.batch &&
	    (!(out = t->mem = open_memstream(&t->buf, &t->len)) || idmap_put(&f->ids, id, t) < 0))
		rc = -ENOMEM;
	if (rc == 0)
		rc = ht_json_begin(&t->j, out, &jo, tr->cfg, tr->host);
	if (rc < 0) {
		if (t && t->mem) {
			fclose(t->mem);
			free(t->buf);
		}
		free(t);
		snprintf(err, errlen, "cannot start JSON output: %s", strerror(-rc));
		return rc;
	}
	t->id = id;
	if (f->c.batch && oq_begin(&f->q, &t->seq) < 0) {
		idmap_del(&f->ids, id);
		ht_json_end(t->j, NULL);
		fclose(t->mem);
		free(t->buf);
		free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!f->live && f->c.dns && f->mode == HT_JSON_LINES)
		ht_dns_on_done(f->c.dns, json_name_done, f);
	t->next = f->live;
	if (t->next)
		t->next->prev = t;
	f->live = t;
	return 0;
}

static void json_event(void *fe, uint32_t id, const struct ht_event *ev)
{
	struct json_trace *t = json_find(fe, id);

	if (t)
		ht_json_on_event(t->j, ev);
}

static int json_end(void *fe, uint32_t id, const ht_session *s,
                    const struct ht_session_stats *st)
{
	struct fe_json *f = fe;
	struct json_trace *t = json_find(f, id);
	int rc;

	if (!t)
		return 0;
	/* Names still on their way get a moment (lines mode writes them as
	 * they come, document mode asks for them as it writes); not in a
	 * batch, where other traces are being timed. */
	if (s && f->c.dns && !f->c.batch)
		ht_dns_wait(f->c.dns, ht_now_us() + HT_DNS_HOLD_BUDGET_US);
	json_unlink(f, t);
	if (!f->live && f->c.dns && f->mode == HT_JSON_LINES)
		ht_dns_on_done(f->c.dns, NULL, NULL);
	rc = ht_json_end(t->j, st);
	if (t->mem) {
		/* The whole trace at once, flushed: a run killed later keeps it. */
		if (fclose(t->mem) != 0)
			rc = -EIO;
		if (oq_end(&f->q, t->seq, t->buf, t->len) < 0)
			rc = -EIO;
	}
	free(t);
	return rc;
}

static void json_close(void *fe)
{
	struct fe_json *f = fe;

	if (!f)
		return;
	while (f->live) {
		struct json_trace *t = f->live;
		json_unlink(f, t);
		ht_json_end(t->j, NULL);
		if (t->mem) {
			/* A batch trace that never ended is not written. */
			fclose(t->mem);
			free(t->buf);
		}
		free(t);
	}
	idmap_free(&f->ids);
	oq_free(&f->q);
	if (f->c.dns && f->mode == HT_JSON_LINES)
		ht_dns_on_done(f->c.dns, NULL, NULL);
	free(f);
}

static size_t json_held(void *fe)
{
	return ((struct fe_json *)fe)->q.held;
}

const struct ht_frontend ht_frontends[] = {
	{"text", text_open, text_begin, text_event, text_end, text_close, text_held},
	{"json", json_open, json_begin, json_event, json_end, json_close, json_held},
	{"jsonl", jsonl_open, json_begin, json_event, json_end, json_close, json_held},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct ht_frontend *ht_frontend_find(const char *name)
{
	for (const struct ht_frontend *f = ht_frontends; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}
