/*
 * Expected-output matching for scenario files.
 *
 * Every character must match exactly except RTT placeholders: "~N"
 * matches a decimal number within a tolerance of N (N in the unit the
 * output uses, normally ms): by default [N - max(0.5, 10%), N + max(25,
 * 50%)]. The simulator never answers early, so the lower bound is tight;
 * the upper one absorbs scheduling noise on a loaded machine.
 * "~N+-T" (or "~N±T") gives an explicit tolerance, "~*" any number.
 * "{A|B}" matches either alternative (for choices the tested program makes
 * at random, such as which branch of a per-flow load balancer its source
 * port hashes to).
 *
 * Record assertions ([record] section), one per line:
 *   count [KEY=VALUE...] OP N      probes matching all filters
 *   span [KEY=VALUE...] OP MS      ms between first and last match
 *   elapsed OP MS                  ms from the start of the command to its exit
 * with OP one of == != <= >= < >, keys as in the record file (proto, ttl,
 * dst, fam, ...).
 */
#include "sim.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *line_end(const char *s)
{
	const char *e = strchr(s, '\n');
	return e ? e : s + strlen(s);
}

/* Match one line; returns true or sets *col to the first mismatch. */
static bool match_line(const char *e, const char *ee, const char *g, const char *ge, int *col,
                       char *note, size_t notelen)
{
	const char *g0 = g;
	while (e < ee) {
		if (*e == '{' && e + 1 < ee) {
			/* {A|B|...}: any one alternative, then the rest of the
			 * line. Tried in order; the first that matches wins. */
			const char *close = memchr(e, '}', (size_t)(ee - e));
			if (close) {
				const char *alt = e + 1;
				int bestcol = 0;
				for (;;) {
					const char *bar = memchr(alt, '|', (size_t)(close - alt));
					const char *aend = bar ? bar : close;
					size_t al = (size_t)(aend - alt), rl = (size_t)(ee - close - 1);
					char *tmp = malloc(al + rl + 1);
					if (!tmp)
						return false;
					memcpy(tmp, alt, al);
					memcpy(tmp + al, close + 1, rl);
					tmp[al + rl] = 0;
					int c2 = 0;
					bool ok = match_line(tmp, tmp + al + rl, g, ge, &c2, note, notelen);
					free(tmp);
					if (ok)
						return true;
					if (c2 > bestcol)
						bestcol = c2;
					if (!bar)
						break;
					alt = bar + 1;
				}
				*col = (int)(g - g0) + bestcol;
				return false;
			}
		}
		if (*e == '~' && e + 1 < ee && (isdigit((unsigned char)e[1]) || e[1] == '*')) {
			double want = 0, lo, hi;
			bool any = e[1] == '*';
			char *end;
			if (any) {
				end = (char *)e + 2;
			} else {
				want = strtod(e + 1, &end);
			}
			lo = want - (want * 0.1 > 0.5 ? want * 0.1 : 0.5);
			hi = want + (want * 0.5 > 25 ? want * 0.5 : 25);
			if (end + 2 <= ee && end[0] == '+' && end[1] == '-') {
				double t = strtod(end + 2, &end);
				lo = want - t;
				hi = want + t;
			} else if (end + 3 <= ee && (unsigned char)end[0] == 0xc2 &&
			           (unsigned char)end[1] == 0xb1) {
				double t = strtod(end + 2, &end);
				lo = want - t;
				hi = want + t;
			}
			e = end;
			char *gend;
			if (g >= ge || !(isdigit((unsigned char)*g) || *g == '-')) {
				*col = (int)(g - g0) + 1;
				snprintf(note, notelen, "a number was expected");
				return false;
			}
			double got = strtod(g, &gend);
			if (gend > ge) {
				*col = (int)(g - g0) + 1;
				return false;
			}
			if (!any && (got < lo || got > hi)) {
				*col = (int)(g - g0) + 1;
				snprintf(note, notelen, "%g is outside [%g, %g]", got, lo, hi);
				return false;
			}
			g = gend;
			continue;
		}
		if (g >= ge || *g != *e) {
			*col = (int)(g - g0) + 1;
			return false;
		}
		e++;
		g++;
	}
	if (g != ge) {
		*col = (int)(g - g0) + 1;
		return false;
	}
	return true;
}

bool sim_match_output(const char *expect, const char *got, char *why, size_t whylen)
{
	int lineno = 1;
	const char *e = expect, *g = got;

	for (;;) {
		/* Trailing blank lines are layout on either side. */
		if (!e[strspn(e, "\n")] && !g[strspn(g, "\n")])
			return true;
		const char *ee = line_end(e), *ge = line_end(g);
		int col = 0;
		char note[128] = "";
		if (!*e || !*g ||
		    !match_line(e, ee, g, ge, &col, note, sizeof(note))) {
			snprintf(why, whylen,
			         "line %d col %d differs%s%s\n  expected: %.*s\n  got:      %.*s", lineno,
			         col, note[0] ? ": " : "", note, *e ? (int)(ee - e) : 5,
			         *e ? e : "(end)", *g ? (int)(ge - g) : 5, *g ? g : "(end)");
			return false;
		}
		e = *ee ? ee + 1 : ee;
		g = *ge ? ge + 1 : ge;
		lineno++;
	}
}

/* Does record line `rec` carry every KEY=VALUE in filters? */
static bool rec_match(const char *rec, size_t reclen, char **filters, int nf)
{
	for (int i = 0; i < nf; i++) {
		size_t fl = strlen(filters[i]);
		bool hit = false;
		const char *s = rec, *end = rec + reclen;
		while (s < end) {
			const char *sp = memchr(s, ' ', (size_t)(end - s));
			size_t tl = sp ? (size_t)(sp - s) : (size_t)(end - s);
			if (tl == fl && memcmp(s, filters[i], fl) == 0) {
				hit = true;
				break;
			}
			s += tl + 1;
		}
		if (!hit)
			return false;
	}
	return true;
}

static bool cmp(double a, const char *op, double b, bool *ok)
{
	*ok = true;
	if (!strcmp(op, "=="))
		return a == b;
	if (!strcmp(op, "!="))
		return a != b;
	if (!strcmp(op, "<="))
		return a <= b;
	if (!strcmp(op, ">="))
		return a >= b;
	if (!strcmp(op, "<"))
		return a < b;
	if (!strcmp(op, ">"))
		return a > b;
	*ok = false;
	return false;
}

bool sim_check_record(const char *checks, const char *recs, double elapsed_ms, char *why,
                      size_t whylen)
{
	return sim_check_record_flood(checks, recs, elapsed_ms, -1, why, whylen);
}

bool sim_check_record_flood(const char *checks, const char *recs, double elapsed_ms,
                            double flood_pps, char *why, size_t whylen)
{
	char *copy = strdup(checks ? checks : "");
	char *save = copy, *line;
	bool good = true;

	while (good && (line = strsep(&save, "\n")) != NULL) {
		char *w[32];
		int n = 0;
		for (char *t = strtok(line, " \t"); t && n < 32; t = strtok(NULL, " \t"))
			w[n++] = t;
		if (n == 0)
			continue;
		if (n == 3 && strcmp(w[0], "elapsed") == 0) {
			bool okop, res = cmp(elapsed_ms, w[1], strtod(w[2], NULL), &okop);
			if (!okop || !res) {
				snprintf(why, whylen, "elapsed %.0f ms, want %s %s", elapsed_ms, w[1],
				         w[2]);
				good = false;
			}
			continue;
		}
		if (n == 3 && strcmp(w[0], "flood") == 0) {
			bool okop, res = cmp(flood_pps, w[1], strtod(w[2], NULL), &okop);
			if (flood_pps < 0 || !okop || !res) {
				snprintf(why, whylen, "flood rate %.0f packets/s, want %s %s",
				         flood_pps, w[1], w[2]);
				good = false;
			}
			continue;
		}
		if (n < 3 || (strcmp(w[0], "count") && strcmp(w[0], "span"))) {
			snprintf(why, whylen, "bad record check: %s", w[0]);
			good = false;
			break;
		}
		const char *op = w[n - 2];
		double want = strtod(w[n - 1], NULL);
		double cnt = 0, first = -1, last = -1;
		for (const char *r = recs ? recs : ""; *r;) {
			const char *re = line_end(r);
			if (re > r && rec_match(r, (size_t)(re - r), w + 1, n - 3)) {
				double t = strtod(r + 2, NULL);
				cnt++;
				if (first < 0)
					first = t;
				last = t;
			}
			r = *re ? re + 1 : re;
		}
		double val = w[0][0] == 'c' ? cnt : (cnt ? (last - first) / 1000.0 : 0);
		bool okop;
		bool res = cmp(val, op, want, &okop);
		if (!okop) {
			snprintf(why, whylen, "bad operator '%s' in record check", op);
			good = false;
		} else if (!res) {
			char f[256] = "";
			for (int i = 1; i < n - 2; i++) {
				size_t l = strlen(f);
				snprintf(f + l, sizeof(f) - l, " %s", w[i]);
			}
			snprintf(why, whylen, "record check failed: %s%s is %g, want %s %g", w[0], f,
			         val, op, want);
			good = false;
		}
	}
	free(copy);
	return good;
}
