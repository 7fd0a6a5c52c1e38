/*
 * The engine: many traces at once, one packet-rate budget.
 *
 * Each trace is a session (session.c: its own probes, waits, second looks
 * and hop-ordered events) with an I/O context of its own; the engine owns
 * the slots, the one budget every session is paced by, and the schedule:
 *  - an indexed min-heap of each trace's next timer (a timeout, a second
 *    look, a send gap), so a tick touches only traces with something due;
 *  - a FIFO of traces with a probe ready that only the budget holds back:
 *    each budget slot goes to the trace at its head, which then queues
 *    again at the tail, so traces share the budget round robin.
 * A tick hands out at most ENGINE_SEND_PER_TICK probes, so the caller reads
 * the replies already waiting before more leave. Trace ids carry the slot
 * (low 20 bits) and a generation, so an id finds its trace in O(1) and a
 * stale id of a finished trace finds nothing. Like the session, the engine
 * opens no socket, prints nothing, and takes time as an argument.
 */
#include "hoptrace/hoptrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define ENGINE_MAX_TRACES (1u << SLOT_BITS)
#define ENGINE_SEND_PER_TICK 64

struct trace {
	ht_session *s;      /* NULL: the slot is free */
	uint32_t id;
	uint32_t gen;
	int heap_pos;       /* -1: not in the heap */
	uint64_t at;        /* heap key */
	bool queued;        /* in the ready FIFO */
	int next_free;
};

struct ht_engine {
	struct ht_budget budget;
	ht_event_cb cb;
	void *cb_user;

	struct trace *t;
	uint32_t cap, used, active;
	int free_head;

	uint32_t *heap;     /* slots, ordered by t[slot].at */
	uint32_t nheap;

	uint32_t *fifo;     /* ring of slots */
	uint32_t fhead, flen;

	struct ht_stopset *stopset; /* given to traces started from now on */
	struct ht_distmap *distmap; /* likewise */

	struct ht_engine_stats stats;
};

/* ---- indexed heap ---- */

static bool heap_less(const ht_engine *e, uint32_t a, uint32_t b)
{
	return e->t[e->heap[a]].at < e->t[e->heap[b]].at;
}

static void heap_swap(ht_engine *e, uint32_t a, uint32_t b)
{
	uint32_t x = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = x;
	e->t[e->heap[a]].heap_pos = (int)a;
	e->t[e->heap[b]].heap_pos = (int)b;
}

static void heap_up(ht_engine *e, uint32_t i)
{
	while (i > 0 && heap_less(e, i, (i - 1) / 2)) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(ht_engine *e, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->nheap && heap_less(e, l, m))
			m = l;
		if (r < e->nheap && heap_less(e, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

static void heap_remove(ht_engine *e, uint32_t slot)
{
	int pos = e->t[slot].heap_pos;

	if (pos < 0)
		return;
	e->nheap--;
	if ((uint32_t)pos != e->nheap) {
		heap_swap(e, (uint32_t)pos, e->nheap);
		heap_down(e, (uint32_t)pos);
		heap_up(e, (uint32_t)pos);
	}
	e->t[slot].heap_pos = -1;
}

static void heap_set(ht_engine *e, uint32_t slot, uint64_t at)
{
	struct trace *t = &e->t[slot];

	if (at == UINT64_MAX) {
		heap_remove(e, slot);
		return;
	}
	t->at = at;
	if (t->heap_pos < 0) {
		t->heap_pos = (int)e->nheap;
		e->heap[e->nheap++] = slot;
	}
	heap_up(e, (uint32_t)t->heap_pos);
	heap_down(e, (uint32_t)t->heap_pos);
}

/* ---- ready FIFO ---- */

static void fifo_push(ht_engine *e, uint32_t slot)
{
	if (e->t[slot].queued)
		return;
	e->fifo[(e->fhead + e->flen) % e->cap] = slot;
	e->flen++;
	e->t[slot].queued = true;
}

static uint32_t fifo_pop(ht_engine *e)
{
	uint32_t slot = e->fifo[e->fhead];

	e->fhead = (e->fhead + 1) % e->cap;
	e->flen--;
	e->t[slot].queued = false;
	return slot;
}

/* ---- slots ---- */

static int grow(ht_engine *e)
{
	uint32_t ncap = e->cap ? e->cap * 2 : 64;
	struct trace *nt;
	uint32_t *nh, *nf;

	if (ncap > ENGINE_MAX_TRACES)
		ncap = ENGINE_MAX_TRACES;
	if (ncap <= e->cap)
		return -ENOSPC;
	nt = realloc(e->t, ncap * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	e->t = nt;
	nh = realloc(e->heap, ncap * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	e->heap = nh;
	nf = malloc(ncap * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	/* Unroll the ring into the new buffer. */
	for (uint32_t i = 0; i < e->flen; i++)
		nf[i] = e->fifo[(e->fhead + i) % e->cap];
	free(e->fifo);
	e->fifo = nf;
	e->fhead = 0;
	for (uint32_t i = e->cap; i < ncap; i++) {
		nt[i] = (struct trace){.heap_pos = -1, .next_free = e->free_head};
		e->free_head = (int)i;
	}
	e->cap = ncap;
	return 0;
}

static struct trace *lookup(const ht_engine *e, uint32_t id)
{
	uint32_t slot = id & SLOT_MASK;

	if (!id || slot >= e->cap || !e->t[slot].s || e->t[slot].id != id)
		return NULL;
	return &e->t[slot];
}

static void release(ht_engine *e, uint32_t slot)
{
	struct trace *t = &e->t[slot];

	heap_remove(e, slot);
	/* A queued slot is skipped when it comes up (its session is gone). */
	ht_session_free(t->s);
	t->s = NULL;
	t->id = 0;
	t->next_free = e->free_head;
	e->free_head = (int)slot;
	e->active--;
	e->stats.traces_done++;
}

/* After a session was ticked or fed: free it when done, else file its next
 * timer and, if the budget is all that holds a probe back, queue it. */
static void reschedule(ht_engine *e, uint32_t slot, uint64_t now)
{
	struct trace *t = &e->t[slot];

	if (ht_session_done(t->s)) {
		release(e, slot);
		return;
	}
	heap_set(e, slot, ht_session_next_timer(t->s, now));
	if (ht_session_wants_send(t->s, now))
		fifo_push(e, slot);
}

int ht_engine_new(ht_engine **out, uint32_t pps, ht_event_cb cb, void *cb_user)
{
	ht_engine *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e)
		return -ENOMEM;
	ht_budget_init(&e->budget, pps);
	e->cb = cb;
	e->cb_user = cb_user;
	e->free_head = -1;
	*out = e;
	return 0;
}

void ht_engine_free(ht_engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->cap; i++)
		ht_session_free(e->t[i].s);
	free(e->t);
	free(e->heap);
	free(e->fifo);
	free(e);
}

int ht_engine_start(ht_engine *e, const struct ht_config *cfg, const struct ht_io_ops *io,
                    void *io_ctx, uint64_t now, uint32_t *id)
{
	struct ht_config c = *cfg;
	struct trace *t;
	uint32_t slot;
	int rc;

	*id = 0;
	if (e->free_head < 0 && (rc = grow(e)) < 0)
		return rc;
	slot = (uint32_t)e->free_head;
	t = &e->t[slot];
	c.pps = 0; /* the engine's budget governs, not the session's own */
	rc = ht_session_new(&t->s, &c, io, io_ctx, e->cb, e->cb_user);
	if (rc < 0) {
		t->s = NULL;
		return rc;
	}
	e->free_head = t->next_free;
	t->gen = (t->gen + 1) & ((1u << (32 - SLOT_BITS)) - 1);
	if (!t->gen)
		t->gen = 1;
	t->id = t->gen << SLOT_BITS | slot;
	t->heap_pos = -1;
	/* t->queued may still be true: the FIFO holds this slot from the trace
	 * that had it before, and that entry now serves this one. */
	ht_session_set_budget(t->s, &e->budget);
	ht_session_set_id(t->s, t->id);
	ht_session_set_stopset(t->s, e->stopset);
	ht_session_set_distmap(t->s, e->distmap);
	e->active++;
	e->stats.traces_started++;
	/* Due at once: its first tick sends what the budget allows. */
	heap_set(e, slot, now);
	*id = t->id;
	return 0;
}

void ht_engine_set_stopset(ht_engine *e, struct ht_stopset *ss)
{
	e->stopset = ss;
}

void ht_engine_set_distmap(ht_engine *e, struct ht_distmap *dm)
{
	e->distmap = dm;
}

int ht_engine_stop(ht_engine *e, uint32_t id)
{
	struct trace *t = lookup(e, id);

	if (!t)
		return -ENOENT;
	release(e, (uint32_t)(t - e->t));
	return 0;
}

const ht_session *ht_engine_session(const ht_engine *e, uint32_t id)
{
	const struct trace *t = lookup(e, id);

	return t ? t->s : NULL;
}

int ht_engine_input(ht_engine *e, uint32_t id, const struct ht_reply *r, uint64_t now)
{
	struct trace *t = lookup(e, id);
	uint32_t slot;
	int rc;

	if (!t) {
		e->stats.replies_stale++;
		return -ENOENT;
	}
	/* The callback may start traces (and move e->t): keep the index. */
	slot = (uint32_t)(t - e->t);
	rc = ht_session_input(t->s, r, now);
	reschedule(e, slot, now);
	return rc;
}

int ht_engine_tick(ht_engine *e, uint64_t now)
{
	uint64_t before = e->budget.sent;
	uint32_t n;

	/* Timers first: timeouts free window space, second looks queue up. */
	while (e->nheap && e->t[e->heap[0]].at <= now) {
		uint32_t slot = e->heap[0];

		heap_remove(e, slot);
		ht_session_tick(e->t[slot].s, now);
		reschedule(e, slot, now);
		if (e->budget.sent - before >= ENGINE_SEND_PER_TICK)
			break;
	}
	/* Then the budget, round robin over the traces that wait for it; each
	 * queued trace gets one turn per tick at most. */
	n = e->flen;
	while (n-- && e->flen && ht_budget_ready(&e->budget) <= now &&
	       e->budget.sent - before < ENGINE_SEND_PER_TICK) {
		uint32_t slot = fifo_pop(e);

		if (!e->t[slot].s)
			continue;
		ht_session_tick(e->t[slot].s, now);
		reschedule(e, slot, now);
	}
	e->stats.probes_sent = e->budget.sent;
	return 0;
}

uint64_t ht_engine_next_wakeup(const ht_engine *e)
{
	uint64_t t = e->nheap ? e->t[e->heap[0]].at : UINT64_MAX;

	if (e->flen) {
		uint64_t b = ht_budget_ready(&e->budget);
		if (b < t)
			t = b;
	}
	return t;
}

size_t ht_engine_active(const ht_engine *e)
{
	return e->active;
}

const struct ht_budget *ht_engine_budget(const ht_engine *e)
{
	return &e->budget;
}

void ht_engine_stats(const ht_engine *e, struct ht_engine_stats *st)
{
	*st = e->stats;
	st->probes_sent = e->budget.sent;
}
