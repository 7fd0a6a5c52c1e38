/*
 * Clocks. Every time the core sees is CLOCK_MONOTONIC in microseconds;
 * kernel receive stamps (SO_TIMESTAMPNS) are CLOCK_REALTIME and are moved
 * onto the monotonic clock here.
 */
#include "io_internal.h"

#include <time.h>

uint64_t ht_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * The packet arrived (real_now - stamp) before the moment we read both
 * clocks, so on the monotonic clock it arrived at mono_now minus that age.
 * An age that is negative (stamp in the future after a clock step) or
 * absurdly large (a step backwards) is not trusted: the packet is taken
 * as arriving now.
 */
uint64_t ht_io_stamp_to_mono(const struct timespec *stamp, uint64_t mono_now_us,
                             const struct timespec *real_now)
{
	int64_t age_ns = ((int64_t)real_now->tv_sec - (int64_t)stamp->tv_sec) * 1000000000LL +
	                 ((int64_t)real_now->tv_nsec - (int64_t)stamp->tv_nsec);

	if (age_ns < 0 || age_ns > 60LL * 1000000000LL)
		return mono_now_us;
	/* Round to the nearest microsecond. */
	uint64_t age_us = (uint64_t)(age_ns + 500) / 1000u;
	return age_us > mono_now_us ? 0 : mono_now_us - age_us;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/*
 * Read the monotonic and the realtime clock "at the same moment". Reading
 * one after the other would put the whole gap between the two readings
 * into every converted stamp (microseconds under valgrind or on a loaded
 * machine; enough to make a reply appear to arrive before its probe left).
 * So the monotonic reading is bracketed by two realtime readings and
 * paired with their midpoint; the tightest of a few brackets wins.
 */
void ht_io_clock_pair(uint64_t *mono_us, struct timespec *real)
{
	int64_t best_gap = INT64_MAX, best_mid = 0, best_mono = 0;

	for (int i = 0; i < 4; i++) {
		struct timespec r1, m, r2;
		clock_gettime(CLOCK_REALTIME, &r1);
		clock_gettime(CLOCK_MONOTONIC, &m);
		clock_gettime(CLOCK_REALTIME, &r2);
		int64_t gap = ts_ns(&r2) - ts_ns(&r1);
		if (gap < 0)
			continue; /* the realtime clock was stepped back */
		if (gap < best_gap) {
			best_gap = gap;
			best_mid = ts_ns(&r1) + gap / 2;
			best_mono = ts_ns(&m);
		}
		if (gap < 1000)
			break;
	}
	if (best_gap == INT64_MAX) {
		struct timespec m;
		clock_gettime(CLOCK_REALTIME, real);
		clock_gettime(CLOCK_MONOTONIC, &m);
		*mono_us = (uint64_t)ts_ns(&m) / 1000u;
		return;
	}
	/* Keep the pair consistent at microsecond resolution: move the real
	 * midpoint by what truncating the monotonic reading drops. */
	int64_t drop = best_mono % 1000;
	best_mid -= drop;
	real->tv_sec = (time_t)(best_mid / 1000000000LL);
	real->tv_nsec = (long)(best_mid % 1000000000LL);
	*mono_us = (uint64_t)(best_mono / 1000);
}
