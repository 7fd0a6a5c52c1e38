/*
 * The packet-rate budget: probes are paced, never burst, under a cap.
 *
 * Each probe has a due time no sooner than 1/pps after the one before it
 * (a generic cell rate algorithm with no burst tolerance) and leaves in
 * the microsecond its due time falls in, or later. Due times are kept in
 * units of 1/pps microseconds, so the fraction of a microsecond carries
 * from one probe to the next while probes leave on time: a cap that does
 * not divide a million is met exactly, and caps above a million per
 * second send several probes in one microsecond. A late probe restarts
 * the schedule from its own send time, never earlier (no catching up in
 * a burst). Consequence, for every half-open window [t, t + w) of whole
 * microseconds: at most ceil(pps * w) probes, for every w at once (100 ms,
 * one second, an hour). tests/unit/test_budget.c checks it over random
 * caps, send attempts and windows.
 */
#include "hoptrace/hoptrace.h"

/* Rebase the origin well before (now - origin) * pps could overflow. */
#define BUDGET_REBASE_US (1ull << 31)

void ht_budget_init(struct ht_budget *b, uint32_t pps)
{
	*b = (struct ht_budget){.pps = pps};
}

uint64_t ht_budget_ready(const struct ht_budget *b)
{
	if (!b->pps || !b->started)
		return 0;
	return b->origin_us + b->tat / b->pps;
}

void ht_budget_spend(struct ht_budget *b, uint64_t now)
{
	uint64_t cand;

	b->sent++;
	if (!b->pps)
		return;
	if (!b->started || now < b->origin_us) {
		b->started = true;
		b->origin_us = now;
		b->tat = 0;
	} else if (now - b->origin_us > BUDGET_REBASE_US) {
		uint64_t shift = now - b->origin_us;
		uint64_t sub = shift * b->pps;

		b->origin_us = now;
		b->tat = b->tat > sub ? b->tat - sub : 0;
	}
	cand = (now - b->origin_us) * b->pps;
	/* On time (in the microsecond the schedule falls in): carry the
	 * fraction. Late: start again from now. Early (the caller did not ask
	 * ht_budget_ready): still no sooner than the schedule. */
	if (cand <= b->tat)
		b->tat += 1000000ull;
	else
		b->tat = cand + 1000000ull;
}

bool ht_budget_take(struct ht_budget *b, uint64_t now)
{
	if (ht_budget_ready(b) > now)
		return false;
	ht_budget_spend(b, now);
	return true;
}
