/*
 * A one-line progress display for a batch, on stderr when it is a
 * terminal: targets done, in flight, probes sent, probe rate and (when the
 * number of targets is known) the time left. Redrawn in place with '\r'
 * at most HT_PROGRESS_EVERY_US apart, and erased at the end, so nothing of
 * it stays in the terminal or reaches a file.
 */
#ifndef HT_SRC_PROGRESS_H
#define HT_SRC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HT_PROGRESS_EVERY_US 250000u /* at most four redraws a second */
#define HT_PROGRESS_WIDTH 79         /* the line never wraps an 80-column terminal */

struct ht_progress {
	uint64_t start_us;      /* monotonic time the batch started */
	unsigned long done;     /* targets finished (traced, failed or skipped) */
	unsigned long in_flight;
	unsigned long total;    /* targets in all, or 0 when not known (a streamed list) */
	uint64_t probes_sent;
};

/*
 * The line, without '\r' or newline, in buf (at most HT_PROGRESS_WIDTH
 * characters and len - 1): "12 done, 64 in flight, 3104 probes, 815/s"
 * then ", ETA 1m05s" when total is known and something is done. Rates are
 * averages since start_us. Returns the length written.
 */
size_t ht_progress_format(char *buf, size_t len, const struct ht_progress *p, uint64_t now_us);

struct ht_progress_display {
	int fd;
	bool on;          /* fd is a terminal */
	bool drawn;       /* a line is on screen */
	uint64_t last_us; /* when it was drawn */
};

/* Draw on fd only if it is a terminal (asked now: call before the seccomp
 * filter, which refuses terminal ioctls to nothing but the program). */
void ht_progress_init(struct ht_progress_display *d, int fd);
/* Redraw, unless the last drawing is less than HT_PROGRESS_EVERY_US old
 * (force: draw anyway). Nothing when not a terminal. */
void ht_progress_draw(struct ht_progress_display *d, const struct ht_progress *p, uint64_t now_us,
                      bool force);
/* Erase the line (before other output on the terminal, and at the end). */
void ht_progress_clear(struct ht_progress_display *d);

#endif
