/*
 * hoptrace-live-demo: the live view on this terminal, fed by the fake
 * monitor (a new round every 200 ms), for trying the keys, resizing and
 * signals by hand or from tmux, and for strace. Not installed.
 *
 *   hoptrace-live-demo [--sandbox errno|trap] [--rounds N] [--ascii]
 *
 * --sandbox enters the program's seccomp filter after the view is open
 * (errno: a forbidden call fails with EPERM; trap: it prints its number
 * and exits 70). Exit status: 0 on q, 128 + the signal on SIGINT,
 * SIGTERM, SIGHUP.
 */
#include "fake_monitor.h"
#include "io/io.h"
#include "live.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *name_fn(void *u, const ht_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	(void)u;
	ht_addr_str(a, buf, sizeof(buf));
	return strcmp(buf, "192.168.1.1") == 0 ? "gw.home.example" : NULL;
}

int main(int argc, char **argv)
{
	struct ht_live_opts o = {.target = "example.net", .flows = 2, .extensions = true,
	                         .name = name_fn};
	int sandbox = 0;
	uint64_t max_rounds = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sandbox") && i + 1 < argc) {
			i++;
			sandbox = !strcmp(argv[i], "trap") ? HT_SANDBOX_TRAP : HT_SANDBOX_ERRNO;
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			max_rounds = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--ascii")) {
			o.charset = HT_LIVE_CHARSET_ASCII;
		} else {
			fprintf(stderr, "usage: %s [--sandbox errno|trap] [--rounds N] [--ascii]\n",
			        argv[0]);
			return 2;
		}
	}
	ht_addr_parse("192.0.2.80", &o.dst);
	o.start_us = now_us();

	ht_monitor *m = fake_new();
	struct ht_live *lv;
	int rc = ht_live_install_signals();
	if (rc == 0)
		rc = ht_live_open(&lv, &o);
	if (rc < 0) {
		fprintf(stderr, "live-demo: cannot open the live view: %s\n", strerror(-rc));
		return 1;
	}
	if (sandbox && (rc = ht_sandbox_enter_flags(sandbox)) < 0) {
		ht_live_close(lv);
		fprintf(stderr, "live-demo: sandbox: %s\n", strerror(-rc));
		return 1;
	}

	uint64_t round = 0, next = now_us();
	bool paused = false;
	for (;;) {
		uint64_t t = now_us();
		if (!paused && t >= next && (!max_rounds || round < max_rounds)) {
			round++;
			/* Rebuild the scenario with one more round: simple and
			 * deterministic. */
			ht_monitor *n = fake_new();
			fake_scenario(n, round, o.start_us);
			n->paused = paused;
			free(m);
			m = n;
			next = t + 200000;
			ht_live_draw(lv, m, t);
		}
		struct pollfd p[2] = {{.fd = ht_live_fd(lv), .events = POLLIN},
		                      {.fd = ht_live_signal_fd(lv), .events = POLLIN}};
		int wait = next > t ? (int)((next - t) / 1000) + 1 : 0;
		if (paused || (max_rounds && round >= max_rounds))
			wait = -1;
		if (poll(p, 2, wait) < 0)
			continue;
		unsigned a = ht_live_key(lv);
		if (a & HT_LIVE_QUIT)
			break;
		if (a & HT_LIVE_PAUSE)
			m->paused = paused = !paused;
		if (a & HT_LIVE_RESET) {
			round = 0;
			free(m);
			m = fake_new();
		}
		if (a)
			ht_live_draw(lv, m, now_us());
	}
	ht_live_close(lv);
	free(m);
	int sig = ht_live_signal_caught();
	return sig ? 128 + sig : 0;
}
