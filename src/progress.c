/* The batch progress line. See progress.h. */
#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "45s", "3m05s", "2h07m". */
static void duration(char *buf, size_t len, uint64_t s)
{
	if (s < 60)
		snprintf(buf, len, "%us", (unsigned)s);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
	else if (s < 100 * 3600)
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s / 60 % 60));
	else
		snprintf(buf, len, ">99h");
}

size_t ht_progress_format(char *buf, size_t len, const struct ht_progress *p, uint64_t now_us)
{
	uint64_t el = now_us > p->start_us ? now_us - p->start_us : 0;
	uint64_t rate = el ? p->probes_sent * 1000000u / el : 0;
	char total[32] = "", eta[32] = "";
	size_t n;
	int w;

	if (!len)
		return 0;
	if (p->total)
		snprintf(total, sizeof(total), "/%lu", p->total);
	if (p->total && p->done && el && p->done < p->total) {
		/* Time per finished target so far, times what is left. */
		uint64_t left = (uint64_t)(p->total - p->done);
		char d[16];
		duration(d, sizeof(d), (el / p->done * left + 999999) / 1000000);
		snprintf(eta, sizeof(eta), ", ETA %s", d);
	}
	w = snprintf(buf, len, "%lu%s done, %lu in flight, %llu probes, %llu/s%s", p->done, total,
	             p->in_flight, (unsigned long long)p->probes_sent, (unsigned long long)rate,
	             eta);
	n = w < 0 ? 0 : (size_t)w;
	if (n >= len)
		n = len - 1;
	if (n > HT_PROGRESS_WIDTH)
		n = HT_PROGRESS_WIDTH;
	buf[n] = '\0';
	return n;
}

void ht_progress_init(struct ht_progress_display *d, int fd)
{
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->on = isatty(fd) == 1;
}

static void put(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void ht_progress_draw(struct ht_progress_display *d, const struct ht_progress *p, uint64_t now_us,
                      bool force)
{
	char line[HT_PROGRESS_WIDTH + 16];
	size_t n;

	if (!d->on || (!force && d->drawn && now_us - d->last_us < HT_PROGRESS_EVERY_US))
		return;
	/* "\r", the line, then erase what a longer line left on the right. */
	line[0] = '\r';
	n = 1 + ht_progress_format(line + 1, sizeof(line) - 4, p, now_us);
	memcpy(line + n, "\033[K", 3);
	put(d->fd, line, n + 3);
	d->drawn = true;
	d->last_us = now_us;
}

void ht_progress_clear(struct ht_progress_display *d)
{
	if (!d->on || !d->drawn)
		return;
	put(d->fd, "\r\033[K", 4);
	d->drawn = false;
}
