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
