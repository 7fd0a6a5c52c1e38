/*
 * The live view (hoptrace --live): a full-screen table of a monitor's
 * statistics, redrawn as rounds come in, like mtr but saying what its
 * numbers mean. It only reads the monitor (include/hoptrace/monitor.h)
 * through its accessors; the caller owns the monitor, the event loop and
 * the keys' effects on the monitor (pause, reset).
 *
 * Use:
 *
 *   ht_live_install_signals();          // before ht_live_open (see below)
 *   ht_live_open(&lv, &opts);           // before the sandbox: terminfo,
 *                                       // locale and terminal modes
 *   ...enter the sandbox...
 *   loop:
 *     poll ht_live_fd(lv) and ht_live_signal_fd(lv) (POLLIN) with the rest;
 *     when either is readable: a = ht_live_key(lv);
 *       a & HT_LIVE_QUIT   -> leave the loop
 *       a & HT_LIVE_PAUSE  -> ht_monitor_pause(m, !ht_monitor_paused(m))
 *       a & HT_LIVE_RESET  -> ht_monitor_reset(m)
 *       a (anything)       -> draw now
 *     after a round (HT_MON_EV_ROUND_DONE, or a PROBE event, at most a few
 *     times a second) and when asked to: ht_live_draw(lv, m, now_us);
 *   ht_live_close(lv);                  // restores the terminal
 *   if ht_live_signal_caught() is a signal, exit 128 + it (or re-raise)
 *
 * Drawing is deterministic: the same monitor data, options, keys pressed
 * and now_us give the same screen (no clock is read, nothing random).
 * ht_live_render() gives the same screen as text, without a terminal.
 *
 * Signals: ht_live_install_signals() sets handlers for SIGINT, SIGTERM,
 * SIGHUP and SIGWINCH that only record the signal and write one byte to a
 * self-pipe (ht_live_signal_fd); SIGTSTP, SIGTTIN, SIGTTOU and SIGQUIT are
 * ignored (the terminal is in raw mode: Ctrl-C and Ctrl-Z arrive as keys;
 * Ctrl-C quits). Installed before ncurses starts, these handlers keep
 * ncurses from installing its own (which do unsafe work in the handler).
 * ht_live_key() turns a termination signal into HT_LIVE_QUIT and a
 * SIGWINCH into a resize at the terminal's new size. An atexit() handler
 * restores the terminal if the program exits without ht_live_close().
 *
 * Untrusted text: names come from the name callback already sanitised
 * (dns.c); addresses are printed with ht_addr_str(); the target text and
 * interface names are passed through ht_sanitize() again; outside a UTF-8
 * locale every byte above 0x7f is shown as '?'.
 */
#ifndef HT_SRC_LIVE_H
#define HT_SRC_LIVE_H

#include "hoptrace/hoptrace.h"
#include "hoptrace/monitor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The smallest terminal the table is drawn in; below it one line says
 * "terminal too small". Every column fits in 80; wider terminals give the
 * Host column the rest. */
#define HT_LIVE_MIN_COLS 80
#define HT_LIVE_MIN_ROWS 8

enum ht_live_display {
	HT_LIVE_STATS = 0,  /* one row per (hop, address): loss, RTTs, cause */
	HT_LIVE_HISTORY,    /* one strip per (hop, address): the last rounds */
	HT_LIVE_FLOWS,      /* one row per (hop, flow, address) */
	HT_LIVE_NDISPLAYS,
};

/* What the caller must do after ht_live_key(): a set of bits. */
enum ht_live_action {
	HT_LIVE_NONE = 0,
	HT_LIVE_REDRAW = 1 << 0, /* the view changed: call ht_live_draw() */
	HT_LIVE_QUIT = 1 << 1,   /* q, Ctrl-C, or SIGINT / SIGTERM / SIGHUP */
	HT_LIVE_PAUSE = 1 << 2,  /* p: toggle the monitor's pause */
	HT_LIVE_RESET = 1 << 3,  /* r: reset the monitor's statistics */
};

/* The reverse name of a, or NULL (not known yet, failed). The string is
 * copied before the next call. It may start a lookup itself (for example
 * ht_dns_ptr_request() then ht_dns_ptr_lookup()). */
typedef const char *(*ht_live_name_fn)(void *u, const ht_addr *a);

enum ht_live_charset {
	HT_LIVE_CHARSET_AUTO = 0, /* UTF-8 glyphs when LC_CTYPE's codeset is UTF-8 */
	HT_LIVE_CHARSET_UTF8,
	HT_LIVE_CHARSET_ASCII,
};

struct ht_live_opts {
	const char *target;       /* the host as given (sanitised here) */
	ht_addr dst;              /* its address */
	enum ht_method method;
	int flows;                /* --flows (1 if 0) */
	bool numeric;             /* -n: start without names ('n' toggles) */
	bool extensions;          /* -e: MPLS labels and interfaces under rows */
	uint64_t start_us;        /* monotonic time the monitor started: the
	                           * header's elapsed time, path changes' times */
	ht_live_name_fn name;     /* NULL: addresses only */
	void *name_u;
	/* No terminal: only ht_live_render() and ht_live_handle_key() work
	 * (tests, and a screen dump). ht_live_fd() is then -1. Otherwise the
	 * terminal is stdin and stdout. */
	bool headless;
	enum ht_live_charset charset;
};

struct ht_live;

/* Open the view: sets LC_CTYPE from the environment (UTF-8 glyphs when
 * the locale is UTF-8), reads terminfo, puts the terminal in raw mode
 * without echo and switches to the alternate screen. Call before the
 * sandbox. Returns 0, -ENOTTY (in or out is not a terminal, or TERM is
 * unknown), -ENOMEM; the terminal is untouched on error. */
int ht_live_open(struct ht_live **out, const struct ht_live_opts *o);
/* Restore the terminal (leave the alternate screen, original modes) and
 * free. NULL is a no-op. */
void ht_live_close(struct ht_live *lv);
/* The keyboard's descriptor, to poll for POLLIN (-1 headless). */
int ht_live_fd(const struct ht_live *lv);
/* The signal self-pipe's read end, to poll for POLLIN (-1 when
 * ht_live_install_signals() was not called or failed). */
int ht_live_signal_fd(const struct ht_live *lv);

/* Read every pending key (never blocks) and the signals recorded, and
 * return what the caller must do (enum ht_live_action bits). Keys:
 * q quit, p pause, r reset, n names, d next display, ? help, Up/Down
 * PgUp/PgDn Home j k scroll, Ctrl-L redraw from scratch. While the help
 * is shown, any key but q closes it. */
unsigned ht_live_key(struct ht_live *lv);
/* One key (a character or an ncurses KEY_ code), as ht_live_key does. */
unsigned ht_live_handle_key(struct ht_live *lv, int key);

/* Draw the monitor's state at now_us: erase, draw, one update (no flicker).
 * A pending resize is applied first. Does nothing headless. */
void ht_live_draw(struct ht_live *lv, const ht_monitor *m, uint64_t now_us);
/* The screen ht_live_draw() would show at rows x cols, as text: lines
 * ended by '\n', trailing blanks dropped, UTF-8. Returns the length
 * (truncated to outlen - 1, NUL terminated) or a negative errno. */
int ht_live_render(struct ht_live *lv, const ht_monitor *m, uint64_t now_us, int rows, int cols,
                   char *out, size_t outlen);

enum ht_live_display ht_live_display(const struct ht_live *lv);
bool ht_live_names(const struct ht_live *lv);

/* Handlers for SIGINT, SIGTERM, SIGHUP, SIGWINCH and ignoring the job
 * control signals, and the self-pipe; call once, before ht_live_open().
 * Returns 0 or a negative errno. */
int ht_live_install_signals(void);
/* The termination signal received (SIGINT, SIGTERM, SIGHUP), or 0. */
int ht_live_signal_caught(void);

/*
 * Formatting helpers (pure; exposed for tests).
 */
/* A time in microseconds as milliseconds in at most 5 columns: "0.3",
 * "12.3", "999.9", "1234", "99999", then seconds "4295s". */
void ht_live_fmt_ms(char *buf, size_t len, uint32_t us);
/* Loss in percent, 5 columns: "0.0" .. "100.0"; "-" when sent is 0. */
void ht_live_fmt_loss(char *buf, size_t len, uint32_t sent, uint32_t received);
/* A count in at most 5 columns: "99999", "100k", "99999k", "4294M". */
void ht_live_fmt_count(char *buf, size_t len, uint64_t n);
/* The Cause column: "-" no loss, "?" too few samples, "fwd 97%",
 * "reply 97%", "last"; the confidence is shown at most 99%. */
void ht_live_fmt_cause(char *buf, size_t len, enum ht_mon_loss_cause c, double confidence);
/* The sparkline level (0 .. levels-1) of rtt between lo and hi. */
int ht_live_spark_level(uint32_t rtt_us, uint32_t lo_us, uint32_t hi_us, int levels);
/* The glyph of a level of 8 (UTF-8 blocks, or ASCII "_.-~=+*#"). */
const char *ht_live_spark_glyph(int level, bool utf8);
/* Copy src into dst, at most cols display columns (UTF-8 aware when utf8;
 * otherwise bytes above 0x7f become '?'); when it does not fit, the last
 * column shown is '~'. Returns the columns used. */
int ht_live_fit(char *dst, size_t dstlen, const char *src, int cols, bool utf8);
/* The Host column's width in a terminal cols wide (statistics display). */
int ht_live_host_width(int cols);

#endif
