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

/* ---- text ---- */

struct fe_text {
	struct ht_fe_ctx c;
	struct ht_text_out text;
	bool traced; /* a trace began: the next one is set apart by a blank line */
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

static int text_begin(void *fe, uint32_t id, const struct ht_fe_trace *tr, char *err,
                      size_t errlen)
{
	struct fe_text *t = fe;

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
	if (ev->type != HT_EV_HOP_DONE)
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

	(void)id;
	(void)st;
	if (!s)
		return 0;
	if (t->c.dns)
		ht_dns_hold_flush(t->c.dns);
	ht_text_note(&t->text, s);
	return 0;
}

static void text_close(void *fe)
{
	free(fe);
}

/* ---- json and jsonl ---- */

struct json_trace {
	uint32_t id;
	struct ht_json *j;
	struct json_trace *next;
};

struct fe_json {
	struct ht_fe_ctx c;
	enum ht_json_mode mode;
	struct json_trace *live; /* traces begun and not ended */
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

static struct json_trace **json_find(struct fe_json *f, uint32_t id)
{
	struct json_trace **p = &f->live;

	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
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
	};
	int rc = t ? ht_json_begin(&t->j, f->c.out, &jo, tr->cfg, tr->host) : -ENOMEM;

	if (rc < 0) {
		free(t);
		snprintf(err, errlen, "cannot start JSON output: %s", strerror(-rc));
		return rc;
	}
	t->id = id;
	if (!f->live && f->c.dns && f->mode == HT_JSON_LINES)
		ht_dns_on_done(f->c.dns, json_name_done, f);
	t->next = f->live;
	f->live = t;
	return 0;
}

static void json_event(void *fe, uint32_t id, const struct ht_event *ev)
{
	struct json_trace *t = *json_find(fe, id);

	if (t)
		ht_json_on_event(t->j, ev);
}

static int json_end(void *fe, uint32_t id, const ht_session *s,
                    const struct ht_session_stats *st)
{
	struct fe_json *f = fe;
	struct json_trace **p = json_find(f, id), *t = *p;
	int rc;

	if (!t)
		return 0;
	/* Names still on their way get a moment (lines mode writes them as
	 * they come, document mode asks for them as it writes). */
	if (s && f->c.dns)
		ht_dns_wait(f->c.dns, ht_now_us() + HT_DNS_HOLD_BUDGET_US);
	*p = t->next;
	if (!f->live && f->c.dns && f->mode == HT_JSON_LINES)
		ht_dns_on_done(f->c.dns, NULL, NULL);
	rc = ht_json_end(t->j, st);
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
		f->live = t->next;
		ht_json_end(t->j, NULL);
		free(t);
	}
	if (f->c.dns && f->mode == HT_JSON_LINES)
		ht_dns_on_done(f->c.dns, NULL, NULL);
	free(f);
}

const struct ht_frontend ht_frontends[] = {
	{"text", text_open, text_begin, text_event, text_end, text_close},
	{"json", json_open, json_begin, json_event, json_end, json_close},
	{"jsonl", jsonl_open, json_begin, json_event, json_end, json_close},
	{NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct ht_frontend *ht_frontend_find(const char *name)
{
	for (const struct ht_frontend *f = ht_frontends; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}
