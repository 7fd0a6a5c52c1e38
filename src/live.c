/*
 * The live view: see live.h. The screen is first rendered into a grid of
 * cells (one UTF-8 character and an attribute each), the same for the
 * terminal and for ht_live_render(); ht_live_draw() then copies the grid
 * into ncurses' virtual screen and sends the difference in one update.
 */
#include "live.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

/* The longest Host text: a sanitised name, " (", an address, ")". */
#define HOST_MAX 320

/* ---------------------------------------------------------------- text */

/* One UTF-8 character of s: its code point in *cp (0xFFFD when invalid)
 * and its length in bytes (at least 1). */
static int u8_next(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	int n;
	uint32_t c;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
		c = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		c = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		c = u[0] & 0x07;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (int i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = c << 6 | (u[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = c;
	return n;
}

/* Display columns of code point cp: 1 or 2; 0 when it must be shown as
 * '?' (controls, invalid, zero-width). */
static int cp_width(uint32_t cp, bool utf8)
{
	if (cp < 0x20 || cp == 0x7f || cp == 0xfffd)
		return 0;
	if (cp < 0x7f)
		return 1;
	if (!utf8 || (cp >= 0x80 && cp < 0xa0))
		return 0;
	/* Our own glyphs, whatever the locale says. */
	if (cp == 0xb7 || (cp >= 0x2580 && cp <= 0x259f))
		return 1;
	int w = wcwidth((wchar_t)cp);
	if (w < 0)
		return 1; /* not in this locale's tables: assume one column */
	return w > 2 ? 0 : w;
}

int ht_live_fit(char *dst, size_t dstlen, const char *src, int cols, bool utf8)
{
	size_t used = 0;
	int width = 0, total = 0;
	uint32_t cp;

	if (!dstlen)
		return 0;
	/* Does all of it fit? */
	for (const char *p = src; *p;) {
		int n = utf8 ? u8_next(p, &cp) : 1;
		if (!utf8)
			cp = (unsigned char)*p;
		int w = cp_width(cp, utf8);
		total += w ? w : 1;
		p += n;
	}
	int room = total <= cols ? cols : cols - 1;
	bool cut = total > cols;
	for (const char *p = src; *p;) {
		int n = utf8 ? u8_next(p, &cp) : 1;
		if (!utf8)
			cp = (unsigned char)*p;
		int w = cp_width(cp, utf8);
		const char *bytes = p;
		size_t nb = (size_t)n;
		if (!w) {
			bytes = "?";
			nb = 1;
			w = 1;
		}
		if (width + w > room)
			break;
		if (used + nb + 2 > dstlen) {
			cut = true;
			break;
		}
		memcpy(dst + used, bytes, nb);
		used += nb;
		width += w;
		p += n;
	}
	if (cut && cols > 0 && width < cols && used + 2 <= dstlen) {
		dst[used++] = '~';
		width++;
	}
	dst[used] = '\0';
	return width;
}

void ht_live_fmt_ms(char *buf, size_t len, uint32_t us)
{
	if (us < 999950)
		snprintf(buf, len, "%.1f", us / 1000.0);
	else if (us < 99999500)
		snprintf(buf, len, "%.0f", us / 1000.0);
	else
		snprintf(buf, len, "%" PRIu64 "s", ((uint64_t)us + 500000) / 1000000);
}

void ht_live_fmt_loss(char *buf, size_t len, uint32_t sent, uint32_t received)
{
	if (!sent) {
		snprintf(buf, len, "-");
		return;
	}
	uint32_t lost = received >= sent ? 0 : sent - received;
	snprintf(buf, len, "%.1f", 100.0 * lost / sent);
}

void ht_live_fmt_count(char *buf, size_t len, uint64_t n)
{
	if (n <= 99999)
		snprintf(buf, len, "%" PRIu64, n);
	else if (n <= UINT64_C(99999999))
		snprintf(buf, len, "%" PRIu64 "k", n / 1000);
	else if (n <= UINT64_C(99999999999))
		snprintf(buf, len, "%" PRIu64 "M", n / 1000000);
	else
		snprintf(buf, len, "many");
}

void ht_live_fmt_cause(char *buf, size_t len, enum ht_mon_loss_cause c, double confidence)
{
	int pct = (int)(confidence * 100.0);

	if (!(confidence >= 0))
		pct = 0;
	if (pct > 99)
		pct = 99;
	switch (c) {
	case HT_MON_CAUSE_NONE:
		snprintf(buf, len, "-");
		break;
	case HT_MON_CAUSE_UNKNOWN:
		snprintf(buf, len, "?");
		break;
	case HT_MON_CAUSE_FORWARDING:
		snprintf(buf, len, "fwd %d%%", pct);
		break;
	case HT_MON_CAUSE_REPLY_ONLY:
		snprintf(buf, len, "reply %d%%", pct);
		break;
	case HT_MON_CAUSE_LAST_HOP:
		snprintf(buf, len, "last");
		break;
	default:
		snprintf(buf, len, "?");
		break;
	}
}

int ht_live_spark_level(uint32_t rtt_us, uint32_t lo_us, uint32_t hi_us, int levels)
{
	if (levels <= 1 || hi_us <= lo_us)
		return 0;
	if (rtt_us <= lo_us)
		return 0;
	if (rtt_us >= hi_us)
		return levels - 1;
	uint64_t span = hi_us - lo_us;
	return (int)(((uint64_t)(rtt_us - lo_us) * (uint64_t)(levels - 1) + span / 2) / span);
}

const char *ht_live_spark_glyph(int level, bool utf8)
{
	static const char *const blocks[8] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
	                                      "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
	                                      "\xe2\x96\x87", "\xe2\x96\x88"};
	static const char *const ascii[8] = {"1", "2", "3", "4", "5", "6", "7", "8"};

	if (level < 0)
		level = 0;
	if (level > 7)
		level = 7;
	return utf8 ? blocks[level] : ascii[level];
}

/* Columns of the statistics display, after the Host column: Loss%, Snt,
 * Last, Avg, Best, Wrst, StDev, Jttr (5 wide, one blank before each),
 * then Cause (9 wide). Before Host: the marker, the TTL and a blank. */
#define PREFIX_W 5
#define FIELD_W 5
#define NFIELDS 8
#define CAUSE_W 9
#define STATS_FIXED (PREFIX_W + NFIELDS * (FIELD_W + 1) + 1 + CAUSE_W)
#define FLOW_W 2
#define FLOWS_FIXED (PREFIX_W + FLOW_W + 1 + NFIELDS * (FIELD_W + 1))

int ht_live_host_width(int cols)
{
	int w = cols - STATS_FIXED;
	return w < 8 ? 8 : w;
}

/* ---------------------------------------------------------------- grid */

enum { AT_NONE = 0, AT_BOLD, AT_REV, AT_LOST, AT_DIM };

struct cell {
	char s[5]; /* one UTF-8 character; "" continues a wide one */
	uint8_t attr;
};

struct grid {
	int rows, cols;
	struct cell *c;
};

/* Put fitted text at (y, x), at most maxw columns; returns columns used. */
static int put(struct grid *g, int y, int x, int attr, const char *text, int maxw, bool utf8)
{
	int used = 0;
	uint32_t cp;

	if (y < 0 || y >= g->rows)
		return 0;
	if (maxw < 0 || x + maxw > g->cols)
		maxw = g->cols - x;
	for (const char *p = text; *p && used < maxw;) {
		int n = utf8 ? u8_next(p, &cp) : 1;
		if (!utf8)
			cp = (unsigned char)*p;
		int w = cp_width(cp, utf8);
		struct cell *c = &g->c[y * g->cols + x + used];
		if (!w || (w == 2 && used + 2 > maxw)) {
			strcpy(c->s, "?");
			w = 1;
		} else {
			memcpy(c->s, p, (size_t)n);
			c->s[n] = '\0';
			if (w == 2) {
				c[1].s[0] = '\0';
				c[1].attr = (uint8_t)attr;
			}
		}
		c->attr = (uint8_t)attr;
		used += w;
		p += n;
	}
	return used;
}

/* Right-align text in a field of width w ending at column x + w. */
static void put_right(struct grid *g, int y, int x, int w, const char *text, bool utf8)
{
	int len = (int)strlen(text); /* ASCII only */
	if (len > w)
		len = w;
	put(g, y, x + w - len, AT_NONE, text, len, utf8);
}

static void put_attr_row(struct grid *g, int y, int attr)
{
	if (y < 0 || y >= g->rows)
		return;
	for (int x = 0; x < g->cols; x++)
		g->c[y * g->cols + x].attr = (uint8_t)attr;
}

/* ---------------------------------------------------------------- state */

struct ht_live {
	struct ht_live_opts o;
	char target[256];
	bool utf8;
	bool names;
	bool help;
	bool redraw_all;
	enum ht_live_display display;
	int scroll;
	int body_h;
	SCREEN *screen;
	struct grid g;
};

static volatile sig_atomic_t g_term_sig;
static volatile sig_atomic_t g_winch;
static int g_pipe[2] = {-1, -1};
static struct ht_live *g_open; /* the view holding the terminal */
static bool g_atexit;

static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGWINCH)
		g_winch = 1;
	else
		g_term_sig = sig;
	if (g_pipe[1] >= 0) {
		ssize_t r = write(g_pipe[1], "s", 1);
		(void)r; /* full pipe: a byte is already waiting */
	}
	errno = saved;
}

int ht_live_install_signals(void)
{
	struct sigaction sa;
	static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
	static const int ignored[] = {SIGTSTP, SIGTTIN, SIGTTOU, SIGQUIT};

	if (g_pipe[0] < 0 && pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (sigaction(handled[i], &sa, NULL) < 0)
			return -errno;
	sa.sa_handler = SIG_IGN;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (sigaction(ignored[i], &sa, NULL) < 0)
			return -errno;
	return 0;
}

int ht_live_signal_caught(void)
{
	return (int)g_term_sig;
}

static void live_atexit(void)
{
	if (g_open && g_open->screen && !isendwin())
		endwin();
}

int ht_live_open(struct ht_live **out, const struct ht_live_opts *o)
{
	struct ht_live *lv;

	*out = NULL;
	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return -ENOMEM;
	lv->o = *o;
	lv->o.target = NULL;
	if (lv->o.flows < 1)
		lv->o.flows = 1;
	if (lv->o.flows > HT_MON_MAX_FLOWS)
		lv->o.flows = HT_MON_MAX_FLOWS;
	if (o->target)
		ht_sanitize(lv->target, sizeof(lv->target), o->target, strlen(o->target));
	lv->names = !o->numeric && o->name;

	if (!o->headless) {
		if (g_open || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			free(lv);
			return -ENOTTY;
		}
		setlocale(LC_CTYPE, "");
	}
	switch (o->charset) {
	case HT_LIVE_CHARSET_UTF8:
		lv->utf8 = true;
		break;
	case HT_LIVE_CHARSET_ASCII:
		lv->utf8 = false;
		break;
	default:
		lv->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
		break;
	}
	if (o->headless) {
		*out = lv;
		return 0;
	}

	fflush(stdout);
	lv->screen = newterm(NULL, stdout, stdin);
	if (!lv->screen) {
		free(lv);
		return -ENOTTY;
	}
	set_term(lv->screen);
	raw();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	leaveok(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	g_open = lv;
	if (!g_atexit) {
		atexit(live_atexit);
		g_atexit = true;
	}
	*out = lv;
	return 0;
}

void ht_live_close(struct ht_live *lv)
{
	if (!lv)
		return;
	if (lv->screen) {
		if (!isendwin()) {
			curs_set(1);
			endwin();
		}
		delscreen(lv->screen);
		lv->screen = NULL;
	}
	if (g_open == lv)
		g_open = NULL;
	free(lv->g.c);
	free(lv);
}

int ht_live_fd(const struct ht_live *lv)
{
	return lv->screen ? STDIN_FILENO : -1;
}

int ht_live_signal_fd(const struct ht_live *lv)
{
	(void)lv;
	return g_pipe[0];
}

enum ht_live_display ht_live_display(const struct ht_live *lv)
{
	return lv->display;
}

bool ht_live_names(const struct ht_live *lv)
{
	return lv->names;
}

unsigned ht_live_handle_key(struct ht_live *lv, int key)
{
	int page = lv->body_h > 1 ? lv->body_h - 1 : 1;

	if (key == 'q' || key == 'Q' || key == 3 /* Ctrl-C */)
		return HT_LIVE_QUIT;
	if (lv->help) {
		lv->help = false;
		return HT_LIVE_REDRAW;
	}
	switch (key) {
	case 'p':
	case 'P':
	case ' ':
		return HT_LIVE_PAUSE | HT_LIVE_REDRAW;
	case 'r':
	case 'R':
		return HT_LIVE_RESET | HT_LIVE_REDRAW;
	case 'n':
	case 'N':
		lv->names = !lv->names;
		return HT_LIVE_REDRAW;
	case 'd':
	case 'D':
		lv->display = (enum ht_live_display)((lv->display + 1) % HT_LIVE_NDISPLAYS);
		lv->scroll = 0;
		return HT_LIVE_REDRAW;
	case '?':
	case 'h':
	case 'H':
		lv->help = true;
		return HT_LIVE_REDRAW;
	case 12: /* Ctrl-L */
		lv->redraw_all = true;
		return HT_LIVE_REDRAW;
	case KEY_DOWN:
	case 'j':
		lv->scroll++;
		return HT_LIVE_REDRAW;
	case KEY_UP:
	case 'k':
		lv->scroll = lv->scroll > 0 ? lv->scroll - 1 : 0;
		return HT_LIVE_REDRAW;
	case KEY_NPAGE:
		lv->scroll += page;
		return HT_LIVE_REDRAW;
	case KEY_PPAGE:
		lv->scroll = lv->scroll > page ? lv->scroll - page : 0;
		return HT_LIVE_REDRAW;
	case KEY_HOME:
		lv->scroll = 0;
		return HT_LIVE_REDRAW;
	case KEY_END:
		lv->scroll = 1 << 20; /* clamped when drawn */
		return HT_LIVE_REDRAW;
	case KEY_RESIZE:
		return HT_LIVE_REDRAW;
	default:
		return HT_LIVE_NONE;
	}
}

/* Apply a SIGWINCH: ask the terminal its size and resize ncurses' screens. */
static bool apply_resize(struct ht_live *lv)
{
	struct winsize ws;

	if (!g_winch || !lv->screen)
		return false;
	g_winch = 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resize_term(ws.ws_row, ws.ws_col);
	return true;
}

unsigned ht_live_key(struct ht_live *lv)
{
	unsigned act = HT_LIVE_NONE;
	char buf[64];

	if (g_pipe[0] >= 0)
		while (read(g_pipe[0], buf, sizeof(buf)) > 0)
			;
	if (g_term_sig)
		return HT_LIVE_QUIT;
	if (apply_resize(lv))
		act |= HT_LIVE_REDRAW;
	if (!lv->screen)
		return act;
	for (int i = 0; i < 256; i++) {
		int ch = getch();
		if (ch == ERR)
			break;
		unsigned a = ht_live_handle_key(lv, ch);
		/* Two p's cancel out. */
		act = ((act ^ (a & HT_LIVE_PAUSE)) & HT_LIVE_PAUSE) | ((act | a) & ~(unsigned)HT_LIVE_PAUSE);
		if (a & HT_LIVE_QUIT)
			break;
	}
	if (act & HT_LIVE_PAUSE)
		act |= HT_LIVE_REDRAW;
	return act;
}

/* ---------------------------------------------------------------- body */

/* The lines of the body, drawn from scroll on into [y0, y0 + h). */
struct body {
	int y0, h, scroll, n;
};

/* The screen line of the next body line, or -1 when it is not shown. */
static int next_line(struct body *b)
{
	int i = b->n++ - b->scroll;
	return i >= 0 && i < b->h ? b->y0 + i : -1;
}

static const char *method_name(enum ht_method m)
{
	switch (m) {
	case HT_METHOD_ICMP:
		return "ICMP";
	case HT_METHOD_TCP:
		return "TCP";
	default:
		return "UDP";
	}
}

static void fmt_elapsed(char *buf, size_t len, uint64_t us)
{
	uint64_t s = us / 1000000;
	snprintf(buf, len, "%" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s / 60 % 60),
	         (unsigned)(s % 60));
}

/* The Host text of an address: "name (addr)" with names on and a name
 * known, else the address. */
static void host_full(struct ht_live *lv, const ht_addr *a, char *buf, size_t len,
                      const char **name_out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *name = NULL;

	ht_addr_str(a, addr, sizeof(addr));
	if (lv->names && lv->o.name)
		name = lv->o.name(lv->o.name_u, a);
	*name_out = name;
	if (name && name[0])
		snprintf(buf, len, "%s (%s)", name, addr);
	else
		snprintf(buf, len, "%s", addr);
}

/* Fit the Host text into w columns without ever cutting the address: the
 * name is shortened first. Returns false when even the address alone does
 * not fit (the row then takes two lines). */
static bool host_cell(struct ht_live *lv, const ht_addr *a, int w, char *out, size_t outlen)
{
	char full[HOST_MAX];
	char addr[INET6_ADDRSTRLEN];
	const char *name;

	host_full(lv, a, full, sizeof(full), &name);
	ht_addr_str(a, addr, sizeof(addr));
	int alen = (int)strlen(addr);
	char probe[HOST_MAX];
	if (ht_live_fit(probe, sizeof(probe), full, 1 << 20, lv->utf8) <= w) {
		snprintf(out, outlen, "%s", probe);
		return true;
	}
	/* A name shortened to less than 8 columns says little: two lines. */
	int nlen = ht_live_fit(probe, sizeof(probe), name ? name : "", 1 << 20, lv->utf8);
	if (name && name[0] && w - alen - 3 >= (nlen < 8 ? nlen : 8)) {
		char nm[HOST_MAX - INET6_ADDRSTRLEN - 4];
		ht_live_fit(nm, sizeof(nm), name, w - alen - 3, lv->utf8);
		snprintf(out, outlen, "%s (%s)", nm, addr);
		return true;
	}
	if (alen <= w && !(name && name[0])) {
		snprintf(out, outlen, "%s", addr);
		return true;
	}
	/* Two lines: the whole text first. */
	ht_live_fit(out, outlen, full, lv->g.cols - PREFIX_W, lv->utf8);
	return false;
}

/* -e: MPLS labels and the interface of the address's last reply, as the
 * text output writes them. */
static void ext_text(const struct ht_reply *r, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	char ifname[sizeof(r->if_name)];
	size_t used = 0;
	int n;

#define ADD(...)                                                                     \
	do {                                                                         \
		if (used < len) {                                                    \
			n = snprintf(buf + used, len - used, __VA_ARGS__);           \
			used = n < 0 ? len : used + (size_t)n;                       \
		}                                                                    \
	} while (0)
	buf[0] = '\0';
	if (r->n_mpls) {
		ADD("<MPLS:");
		for (int i = 0; i < r->n_mpls && i < HT_MAX_MPLS; i++)
			ADD("%sL=%" PRIu32 ",E=%u,S=%u,T=%u", i ? "/" : "", r->mpls[i].label,
			    r->mpls[i].tc, r->mpls[i].s, r->mpls[i].ttl);
		ADD(">");
	}
	if (r->has_ifinfo) {
		bool sep = false;
		ADD("%s<INC:", used ? " " : "");
		if (r->if_index) {
			ADD("index=%" PRIu32, r->if_index);
			sep = true;
		}
		if (r->if_addr.family) {
			ADD("%saddr=%s", sep ? "," : "", ht_addr_str(&r->if_addr, addr, sizeof(addr)));
			sep = true;
		}
		if (r->if_name[0]) {
			ht_sanitize(ifname, sizeof(ifname), r->if_name, strnlen(r->if_name, sizeof(r->if_name)));
			ADD("%sname=%s", sep ? "," : "", ifname);
			sep = true;
		}
		if (r->if_mtu)
			ADD("%smtu=%" PRIu32, sep ? "," : "", r->if_mtu);
		ADD(">");
	}
#undef ADD
	if (used >= len && len)
		buf[len - 1] = '\0';
}

/* The RTT fields (Last, Avg, Best, Wrst, StDev, Jttr) of r from column x. */
static void put_rtt(struct grid *g, int y, int x, const struct ht_mon_rtt *r, bool utf8)
{
	char f[16];

	for (int i = 0; i < 6; i++, x += FIELD_W + 1) {
		if (!r || !r->count) {
			put_right(g, y, x + 1, FIELD_W, "-", utf8);
			continue;
		}
		double v;
		switch (i) {
		case 0: v = r->last_us; break;
		case 1: v = r->mean_us; break;
		case 2: v = r->best_us; break;
		case 3: v = r->worst_us; break;
		case 4: v = ht_mon_rtt_stdev_us(r); break;
		default: v = r->jitter_us; break;
		}
		if ((i == 4 || i == 5) && r->count < 2) {
			put_right(g, y, x + 1, FIELD_W, "-", utf8);
			continue;
		}
		if (!(v >= 0))
			v = 0;
		if (v > 4e9)
			v = 4e9;
		ht_live_fmt_ms(f, sizeof(f), (uint32_t)(v + 0.5));
		put_right(g, y, x + 1, FIELD_W, f, utf8);
	}
}

/* The marker and TTL of a hop's first line. */
static void put_prefix(struct grid *g, int y, const struct ht_mon_hop *h, bool first, bool utf8)
{
	char t[8];

	if (!first)
		return;
	if (h->changed)
		put(g, y, 0, AT_BOLD, "!", 1, utf8);
	snprintf(t, sizeof(t), "%3d", h->ttl);
	put(g, y, 1, AT_NONE, t, 3, utf8);
}

/* One (hop, address) row of the statistics or per-flow display: its host
 * line(s), its figures, its extensions. loss_sent/loss_recv and cause
 * are shown on the hop's (or flow's) first row only. */
struct rowspec {
	const struct ht_mon_hop *hop;
	const struct ht_mon_addr *addr; /* NULL: no reply yet */
	bool first;                     /* first row of the hop */
	bool group_first;               /* first row of the hop (or flow) */
	int flow;                       /* -1: not the per-flow display */
	uint32_t sent, received;
};

static void draw_row(struct ht_live *lv, struct body *b, const struct rowspec *rs)
{
	struct grid *g = &lv->g;
	bool utf8 = lv->utf8;
	int hx = PREFIX_W + (rs->flow >= 0 ? FLOW_W + 1 : 0);
	int hostw = (rs->flow >= 0 ? g->cols - FLOWS_FIXED : ht_live_host_width(g->cols));
	char host[HOST_MAX];
	char f[32];
	bool one = true;
	int y;

	if (rs->addr)
		one = host_cell(lv, &rs->addr->addr, hostw, host, sizeof(host));
	else
		snprintf(host, sizeof(host), "(no reply)");
	y = next_line(b);
	if (y >= 0) {
		put_prefix(g, y, rs->hop, rs->first, utf8);
		if (rs->flow >= 0 && rs->group_first) {
			snprintf(f, sizeof(f), "%2d", rs->flow + 1);
			put(g, y, PREFIX_W, AT_NONE, f, FLOW_W, utf8);
		}
		put(g, y, hx, rs->addr ? AT_NONE : AT_DIM, host, one ? hostw : g->cols - hx, utf8);
	}
	if (!one)
		y = next_line(b);
	if (y >= 0) {
		int x = hx + hostw;
		if (rs->group_first) {
			ht_live_fmt_loss(f, sizeof(f), rs->sent, rs->received);
			put_right(g, y, x + 1, FIELD_W, f, utf8);
			ht_live_fmt_count(f, sizeof(f), rs->sent);
			put_right(g, y, x + 1 + FIELD_W + 1, FIELD_W, f, utf8);
		}
		put_rtt(g, y, x + 2 * (FIELD_W + 1), rs->addr ? &rs->addr->rtt : NULL, utf8);
		if (rs->flow < 0 && rs->first) {
			ht_live_fmt_cause(f, sizeof(f), rs->hop->cause, rs->hop->cause_confidence);
			put(g, y, x + NFIELDS * (FIELD_W + 1) + 1, AT_NONE, f, CAUSE_W, utf8);
		}
	}
	if (lv->o.extensions && rs->addr && rs->addr->received) {
		char ext[512];
		ext_text(&rs->addr->last, ext, sizeof(ext));
		if (ext[0]) {
			char fit[600];
			y = next_line(b);
			ht_live_fit(fit, sizeof(fit), ext, g->cols - hx - 2, utf8);
			if (y >= 0)
				put(g, y, hx + 2, AT_DIM, fit, -1, utf8);
		}
	}
}

static void body_stats(struct ht_live *lv, const ht_monitor *m, struct body *b, bool flows)
{
	int first = ht_monitor_first_ttl(m), last = ht_monitor_last_ttl(m);

	for (int ttl = first; ttl <= last; ttl++) {
		const struct ht_mon_hop *h = ht_monitor_hop(m, ttl);
		struct rowspec rs = {.hop = h, .first = true, .flow = -1};
		if (!h)
			continue;
		if (!flows) {
			rs.sent = h->sent;
			rs.received = h->received;
			rs.group_first = true;
			int n = h->naddrs < HT_MON_MAX_ADDRS ? h->naddrs : HT_MON_MAX_ADDRS;
			for (int i = 0; i < (n ? n : 1); i++) {
				rs.addr = n ? &h->addrs[i] : NULL;
				draw_row(lv, b, &rs);
				rs.first = rs.group_first = false;
			}
			continue;
		}
		for (int fl = 0; fl < lv->o.flows; fl++) {
			int n = h->flow[fl].naddrs;
			if (n > HT_MON_MAX_ADDRS)
				n = HT_MON_MAX_ADDRS;
			rs.flow = fl;
			rs.sent = h->flow[fl].sent;
			rs.received = h->flow[fl].received;
			rs.group_first = true;
			for (int i = 0; i < (n ? n : 1); i++) {
				rs.addr = n ? &h->flow[fl].addrs[i] : NULL;
				draw_row(lv, b, &rs);
				rs.first = rs.group_first = false;
			}
		}
	}
}

/* The history display's widths at cols: Host, then Loss%, then the strip. */
static int hist_host_width(int cols)
{
	int w = 20 + (cols - HT_LIVE_MIN_COLS) / 3;
	return w > 45 ? 45 : w;
}

static int hist_strip_width(int cols)
{
	int w = cols - PREFIX_W - hist_host_width(cols) - 1 - FIELD_W - 1;
	return w > HT_MON_HISTORY ? HT_MON_HISTORY : w;
}

static void body_history(struct ht_live *lv, const ht_monitor *m, struct body *b)
{
	struct grid *g = &lv->g;
	int hostw = hist_host_width(g->cols), sw = hist_strip_width(g->cols);
	int sx = PREFIX_W + hostw + 1 + FIELD_W + 1;
	uint64_t done = ht_monitor_rounds_done(m);
	uint64_t nr = done < (uint64_t)sw ? done : (uint64_t)sw;
	uint64_t r0 = done - nr + 1; /* rounds are numbered from 1 */
	char host[HOST_MAX];
	char f[16];

	for (int ttl = ht_monitor_first_ttl(m); ttl <= ht_monitor_last_ttl(m); ttl++) {
		const struct ht_mon_hop *h = ht_monitor_hop(m, ttl);
		if (!h)
			continue;
		int n = h->naddrs < HT_MON_MAX_ADDRS ? h->naddrs : HT_MON_MAX_ADDRS;
		for (int i = 0; i < (n ? n : 1); i++) {
			const struct ht_mon_addr *a = n ? &h->addrs[i] : NULL;
			bool one = true;
			int y;
			if (a)
				one = host_cell(lv, &a->addr, hostw, host, sizeof(host));
			else
				snprintf(host, sizeof(host), "(no reply)");
			y = next_line(b);
			if (y >= 0) {
				put_prefix(g, y, h, i == 0, lv->utf8);
				put(g, y, PREFIX_W, a ? AT_NONE : AT_DIM, host,
				    one ? hostw : g->cols - PREFIX_W, lv->utf8);
			}
			if (!one)
				y = next_line(b);
			if (y < 0)
				continue;
			if (i == 0) {
				ht_live_fmt_loss(f, sizeof(f), h->sent, h->received);
				put_right(g, y, PREFIX_W + hostw + 1, FIELD_W, f, lv->utf8);
			}
			/* The row's scale: its best and worst RTT on the strip. */
			uint32_t lo = UINT32_MAX, hi = 0;
			for (uint64_t r = r0; a && r <= done; r++) {
				uint32_t v = a->hist[r % HT_MON_HISTORY];
				if (v) {
					lo = v < lo ? v : lo;
					hi = v > hi ? v : hi;
				}
			}
			for (uint64_t r = r0; r <= done && nr; r++) {
				int idx = (int)(r % HT_MON_HISTORY);
				int x = sx + (int)(r - r0);
				uint32_t v = a ? a->hist[idx] : 0;
				bool other = false;
				for (int k = 0; k < n && !v; k++)
					if (h->addrs[k].hist[idx])
						other = true;
				if (v)
					put(g, y, x, AT_NONE,
					    ht_live_spark_glyph(ht_live_spark_level(v, lo, hi, 8), lv->utf8),
					    1, lv->utf8);
				else if (h->lost_hist[idx])
					put(g, y, x, AT_LOST, "x", 1, lv->utf8);
				else if (other)
					put(g, y, x, AT_DIM, "-", 1, lv->utf8);
			}
		}
	}
}

static void draw_help(struct ht_live *lv)
{
	static const char *const lines[] = {
		"hoptrace --live: keys",
		"",
		"q, Ctrl-C   quit",
		"p, space    pause or resume the rounds",
		"r           reset the statistics (the path stays)",
		"n           show names or addresses only",
		"d           display: statistics, history, per flow",
		"Up Down j k PgUp PgDn Home End   scroll",
		"Ctrl-L      redraw the screen",
		"?           this help (any key closes it)",
		"",
		"Loss%  probes to the hop without a reply; Snt sent",
		"Last Avg Best Wrst StDev Jttr: RTT in ms of the row's",
		"       address (Jttr: mean change between rounds)",
		"Cause  of the loss: fwd = it persists at every later",
		"       hop (forwarding); reply = later hops lose less",
		"       (ICMP rate limiting, policy); last = no later",
		"       hop to compare; ? = too few samples; - none",
		"!      the addresses at this hop changed",
	};
	struct grid *g = &lv->g;
	int n = (int)(sizeof(lines) / sizeof(lines[0]));
	int w = 0;

	for (int i = 0; i < n; i++)
		w = (int)strlen(lines[i]) > w ? (int)strlen(lines[i]) : w;
	w += 4;
	if (w > g->cols)
		w = g->cols;
	int h = n + 2 > g->rows ? g->rows : n + 2;
	int x0 = (g->cols - w) / 2, y0 = (g->rows - h) / 2;
	for (int y = y0; y < y0 + h; y++) {
		for (int x = x0; x < x0 + w; x++) {
			struct cell *c = &g->c[y * g->cols + x];
			bool edge_y = y == y0 || y == y0 + h - 1, edge_x = x == x0 || x == x0 + w - 1;
			strcpy(c->s, edge_y && edge_x ? "+" : edge_y ? "-" : edge_x ? "|" : " ");
			c->attr = AT_NONE;
		}
		if (y > y0 && y < y0 + h - 1 && y - y0 - 1 < n)
			put(g, y, x0 + 2, y == y0 + 1 ? AT_BOLD : AT_NONE, lines[y - y0 - 1], w - 4,
			    lv->utf8);
	}
}

/* Render the whole screen into lv->g (rows x cols). */
static int render(struct ht_live *lv, const ht_monitor *m, uint64_t now_us, int rows, int cols)
{
	struct grid *g = &lv->g;
	char line[1024], fit[1024];
	char addr[INET6_ADDRSTRLEN];
	char el[32];

	if (rows < 1 || cols < 1)
		return -EINVAL;
	if (g->rows != rows || g->cols != cols || !g->c) {
		struct cell *c = calloc((size_t)rows * (size_t)cols, sizeof(*c));
		if (!c)
			return -ENOMEM;
		free(g->c);
		g->c = c;
		g->rows = rows;
		g->cols = cols;
	}
	for (int i = 0; i < rows * cols; i++) {
		strcpy(g->c[i].s, " ");
		g->c[i].attr = AT_NONE;
	}
	if (rows < HT_LIVE_MIN_ROWS || cols < HT_LIVE_MIN_COLS) {
		snprintf(line, sizeof(line), "terminal too small (%dx%d, needs %dx%d); q quits", cols,
		         rows, HT_LIVE_MIN_COLS, HT_LIVE_MIN_ROWS);
		ht_live_fit(fit, sizeof(fit), line, cols, false);
		put(g, 0, 0, AT_NONE, fit, cols, false);
		return 0;
	}

	/* Header. */
	const struct ht_monitor_config *mc = ht_monitor_config(m);
	uint64_t done = ht_monitor_rounds_done(m);
	fmt_elapsed(el, sizeof(el), now_us > lv->o.start_us ? now_us - lv->o.start_us : 0);
	snprintf(line, sizeof(line), "hoptrace --live  %s (%s)  %s, %d flow%s, %.3g s",
	         lv->target, ht_addr_str(&lv->o.dst, addr, sizeof(addr)), method_name(lv->o.method),
	         lv->o.flows, lv->o.flows > 1 ? "s" : "",
	         mc ? mc->interval_us / 1e6 : 1.0);
	char right[96];
	snprintf(right, sizeof(right), "%sround %" PRIu64 "  %s",
	         ht_monitor_paused(m) ? "[PAUSED]  " : "", done, el);
	int rw = (int)strlen(right);
	ht_live_fit(fit, sizeof(fit), line, cols - rw - 2, lv->utf8);
	put(g, 0, 0, AT_BOLD, fit, cols - rw - 2, lv->utf8);
	put(g, 0, cols - rw, ht_monitor_paused(m) ? AT_BOLD : AT_NONE, right, rw, lv->utf8);
	static const char *const dnames[] = {"statistics", "history", "per flow"};
	put(g, 1, 0, AT_NONE, "q quit  p pause  r reset  n names  d display  ? help", cols,
	    lv->utf8);
	snprintf(line, sizeof(line), "[%s%s]", dnames[lv->display], lv->names ? "" : ", no names");
	put(g, 1, cols - (int)strlen(line), AT_NONE, line, -1, lv->utf8);
	int y = 2;
	const char *warn = ht_monitor_rate_limit_warning(m);
	if (warn) {
		snprintf(line, sizeof(line), "warning: %s", warn);
		ht_live_fit(fit, sizeof(fit), line, cols, lv->utf8);
		put(g, y++, 0, AT_BOLD, fit, cols, lv->utf8);
	}

	/* Column header. */
	int hostw;
	switch (lv->display) {
	case HT_LIVE_HISTORY:
		hostw = hist_host_width(cols);
		snprintf(line, sizeof(line), " Hop %-*s Loss%% Last %d rounds, newest right", hostw,
		         "Host", hist_strip_width(cols));
		break;
	case HT_LIVE_FLOWS:
		hostw = cols - FLOWS_FIXED;
		snprintf(line, sizeof(line), " Hop Fl %-*s Loss%%   Snt  Last   Avg  Best  Wrst StDev  Jttr",
		         hostw, "Host");
		break;
	default:
		hostw = ht_live_host_width(cols);
		snprintf(line, sizeof(line),
		         " Hop %-*s Loss%%   Snt  Last   Avg  Best  Wrst StDev  Jttr Cause", hostw,
		         "Host");
		break;
	}
	put(g, y, 0, AT_REV, line, cols, lv->utf8);
	put_attr_row(g, y, AT_REV);
	y++;

	/* Footer: the legend (history) and the latest path changes. */
	const struct ht_mon_path_change *ch = NULL;
	int nch = ht_monitor_changes(m, &ch);
	int legend = lv->display == HT_LIVE_HISTORY ? 1 : 0;
	int avail = rows - y;
	int shown = nch < 3 ? nch : 3;
	while (shown > 0 && avail - legend - (shown + 1) < 3)
		shown--;
	int footer = legend + (shown ? shown + 1 : 0);
	if (avail - footer < 1)
		footer = legend = shown = 0;

	/* Body: count the lines, clamp the scroll, draw. */
	struct body b = {.y0 = y, .h = 0, .scroll = 0};
	bool flows = lv->display == HT_LIVE_FLOWS;
	if (lv->display == HT_LIVE_HISTORY)
		body_history(lv, m, &b);
	else
		body_stats(lv, m, &b, flows);
	int total = b.n;
	int h = avail - footer;
	bool more = total > h;
	if (more)
		h--; /* the last line says how many more */
	lv->body_h = h;
	if (lv->scroll > total - h)
		lv->scroll = total - h > 0 ? total - h : 0;
	b = (struct body){.y0 = y, .h = h, .scroll = lv->scroll};
	if (lv->display == HT_LIVE_HISTORY)
		body_history(lv, m, &b);
	else
		body_stats(lv, m, &b, flows);
	if (more) {
		snprintf(line, sizeof(line), "  -- lines %d-%d of %d: Up/Down, PgUp/PgDn scroll --",
		         lv->scroll + 1, lv->scroll + h, total);
		put(g, y + h, 0, AT_DIM, line, cols, lv->utf8);
	}
	int fy = y + h + (more ? 1 : 0);
	if (legend) {
		snprintf(line, sizeof(line), "  %s..%s RTT, the row's best..worst   x lost   - another address answered",
		         ht_live_spark_glyph(0, lv->utf8), ht_live_spark_glyph(7, lv->utf8));
		put(g, fy++, 0, AT_DIM, line, cols, lv->utf8);
	}
	if (shown) {
		snprintf(line, sizeof(line), "Path changes: %d (latest %d)", nch, shown);
		put(g, fy++, 0, AT_BOLD, line, cols, lv->utf8);
		for (int i = nch - shown; i < nch; i++) {
			char gone[INET6_ADDRSTRLEN], came[INET6_ADDRSTRLEN];
			const struct ht_mon_path_change *c = &ch[i];
			fmt_elapsed(el, sizeof(el), c->at_us > lv->o.start_us ? c->at_us - lv->o.start_us : 0);
			snprintf(line, sizeof(line), "  round %" PRIu64 "  +%s  TTL %d  %s -> %s", c->round,
			         el, c->ttl, c->gone.family ? ht_addr_str(&c->gone, gone, sizeof(gone)) : "(none)",
			         c->came.family ? ht_addr_str(&c->came, came, sizeof(came)) : "(none)");
			ht_live_fit(fit, sizeof(fit), line, cols, lv->utf8);
			put(g, fy++, 0, AT_NONE, fit, cols, lv->utf8);
		}
	}
	if (lv->help)
		draw_help(lv);
	return 0;
}

int ht_live_render(struct ht_live *lv, const ht_monitor *m, uint64_t now_us, int rows, int cols,
                   char *out, size_t outlen)
{
	size_t used = 0;
	int rc;

	if (!outlen)
		return -EINVAL;
	rc = render(lv, m, now_us, rows, cols);
	if (rc < 0)
		return rc;
	for (int y = 0; y < rows; y++) {
		size_t start = used;
		size_t keep = used; /* after the last non-blank */
		for (int x = 0; x < cols; x++) {
			const char *s = lv->g.c[y * cols + x].s;
			size_t n = strlen(s);
			if (used + n + 2 > outlen)
				break;
			memcpy(out + used, s, n);
			used += n;
			if (n && strcmp(s, " ") != 0)
				keep = used;
		}
		(void)start;
		used = keep;
		if (used + 2 <= outlen)
			out[used++] = '\n';
	}
	out[used] = '\0';
	return (int)used;
}

static attr_t curses_attr(int a)
{
	switch (a) {
	case AT_BOLD:
		return A_BOLD;
	case AT_REV:
		return A_REVERSE;
	case AT_LOST:
		return A_BOLD | A_REVERSE;
	case AT_DIM:
		return A_DIM;
	default:
		return A_NORMAL;
	}
}

void ht_live_draw(struct ht_live *lv, const ht_monitor *m, uint64_t now_us)
{
	char run[1024];

	if (!lv->screen)
		return;
	apply_resize(lv);
	if (render(lv, m, now_us, LINES, COLS) < 0)
		return;
	werase(stdscr);
	for (int y = 0; y < lv->g.rows; y++) {
		int x = 0;
		while (x < lv->g.cols) {
			int a = lv->g.c[y * lv->g.cols + x].attr;
			int x0 = x;
			size_t used = 0;
			while (x < lv->g.cols && lv->g.c[y * lv->g.cols + x].attr == a) {
				const char *s = lv->g.c[y * lv->g.cols + x].s;
				size_t n = strlen(s);
				if (used + n + 1 > sizeof(run))
					break;
				memcpy(run + used, s, n);
				used += n;
				x++;
			}
			run[used] = '\0';
			attrset(curses_attr(a));
			/* The bottom right cell cannot be written without
			 * scrolling: leave it out. */
			if (y == lv->g.rows - 1 && x == lv->g.cols && used) {
				const char *s = lv->g.c[y * lv->g.cols + x - 1].s;
				used -= strlen(s);
				run[used] = '\0';
			}
			mvaddstr(y, x0, run);
		}
	}
	attrset(A_NORMAL);
	if (lv->redraw_all) {
		clearok(curscr, TRUE);
		lv->redraw_all = false;
	}
	wnoutrefresh(stdscr);
	doupdate();
}
