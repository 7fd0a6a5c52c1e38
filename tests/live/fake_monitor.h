/*
 * A fake monitor for the live view's tests: the accessors of
 * include/hoptrace/monitor.h over data the test fills in directly.
 */
#ifndef HT_TESTS_FAKE_MONITOR_H
#define HT_TESTS_FAKE_MONITOR_H

#include "hoptrace/monitor.h"

#define FAKE_MAX_TTL 40
#define FAKE_MAX_CHANGES 32

struct ht_monitor {
	struct ht_monitor_config cfg;
	uint64_t rounds_done;
	int first_ttl, last_ttl, dest_ttl;
	bool paused;
	const char *warning;
	struct ht_mon_hop hops[FAKE_MAX_TTL + 1];
	bool have[FAKE_MAX_TTL + 1];
	struct ht_mon_path_change changes[FAKE_MAX_CHANGES];
	int nchanges;
};

/* A monitor with no data; free() it. */
ht_monitor *fake_new(void);
/* Add one sample of a round: rtt_us 0 = lost at ttl. addr may be NULL
 * (lost). flow is the flow identity (0..). */
void fake_sample(ht_monitor *m, uint64_t round, int ttl, int flow, const char *addr,
                 uint32_t rtt_us);
/* A whole deterministic scenario of `rounds` rounds. */
void fake_scenario(ht_monitor *m, uint64_t rounds, uint64_t start_us);

#endif
