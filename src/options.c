/*
 * Option parsing. Every number is parsed with explicit bounds; anything
 * out of range is a one-line error, never a silent clamp.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ht_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	/* strtol would skip leading blanks and accept a sign or "0x"; the
	 * user typed a number, so take digits with an optional minus only. */
	if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int ht_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	/* No sign, no blanks, no "inf"/"nan" and no hexadecimal floats. */
	if (!s || !*s || !(*s == '.' || (*s >= '0' && *s <= '9')) || strpbrk(s, "xX"))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static const char usage_text[] =
	"Usage: hoptrace [options] host [packet_len]\n"
	"       hoptrace [options] --batch FILE [packet_len]\n"
	"Trace the route IP packets take to host, probing every hop in parallel.\n"
	"\n"
	"Probe methods:\n"
	"  -U, --udp            UDP to a fixed port, flow-stable (default)\n"
	"  -I, --icmp           ICMP echo\n"
	"  -T, --tcp            TCP SYN (default port 80)\n"
	"  --classic            vary the port per probe like old traceroute (not flow-stable)\n"
	"  -4, -6               use IPv4 / IPv6\n"
	"\n"
	"Probing:\n"
	"  -f, --first=TTL      first TTL (default 1)\n"
	"  -m, --max-hops=TTL   maximum TTL (default 30)\n"
	"  -q, --queries=N      probes per hop, 1-10 (default 3)\n"
	"  -N, --sim-queries=N  probes in flight at once (default: all of them)\n"
	"  -w, --wait=MAX[,HERE[,NEAR]]\n"
	"                       give up on a probe after MAX seconds (default 5), or HERE\n"
	"                       times the RTT of its own hop (default 3), or NEAR times\n"
	"                       the RTT of farther hops (default 1.3); -w 5,0,0 waits\n"
	"                       5 s for every probe, as traceroute does\n"
	"  -z, --sendwait=T     minimum time between probes (seconds; >10 means ms)\n"
	"  --pps=N              global cap on probes per second, paced (default 100000,\n"
	"                       0: none)\n"
	"  --gap-limit=N        stop after N silent hops past the last answer (default 5)\n"
	"  --slow=MS            wait for a router this much longer than the hops behind it\n"
	"                       took (a slow control plane; default 300, 0: NEAR alone)\n"
	"  --recheck=MS         a mute hop that ICMP rate limiting may explain gets one\n"
	"                       more probe this long after its first (default 1000, 0: never)\n"
	"  -p, --port=PORT      destination port (UDP 33434, TCP 80)\n"
	"  -s, --source=ADDR    source address\n"
	"  -i, --interface=DEV  send through this interface (with a monitor, -i is the\n"
	"                       interval: give the interface as --interface)\n"
	"  -t, --tos=TOS        IPv4 TOS / IPv6 traffic class (0-255)\n"
	"  -F, --dont-fragment  do not fragment (IPv4 DF; IPv6 no local fragmentation)\n"
	"  --unprivileged       do not use raw sockets even when allowed\n"
	"  --no-sandbox         no seccomp filter (refused when started privileged)\n"
	"\n"
	"Output:\n"
	"  -n                   print addresses only, no reverse DNS\n"
	"  -e, --extensions     show ICMP extensions (MPLS labels, interface info)\n"
	"  --json               one JSON document per trace\n"
	"  --jsonl              one JSON event per line as probes complete\n"
	"  --stats              print probe counts to stderr at the end\n"
	"  --batch=FILE         trace every target listed in FILE ('-': standard input),\n"
	"                       one host or address per line, '#' comments, all\n"
	"                       under the same rate cap\n"
	"  --parallel=N         with --batch: trace up to N targets at once, 1-4096\n"
	"                       (default 64)\n"
	"  --resume=FILE        with --batch --jsonl: skip the targets FILE, the output\n"
	"                       of an earlier run, shows finished\n"
	"  --no-distance        with --batch: do not learn each target's distance first\n"
	"  --no-stopset         with --batch: do not stop at hops earlier traces saw\n"
	"  --no-predict         with --batch: send each distance probe at the maximum\n"
	"                       TTL, not at the distance of traced neighbours\n"
	"\n"
	"Monitor (rounds of probes, as mtr):\n"
	"  --live               a live view of the path (ncurses)\n"
	"  --report             run the rounds, then print a table (the default with -c)\n"
	"  --report-wide        the same, names in full\n"
	"  --report-format=F    text, json or csv (default text)\n"
	"  -c, --count=N        rounds (default: --report 10, --live until 'q')\n"
	"  -i, --interval=S     a round every S seconds (default 1; under 1 s: root only)\n"
	"  --flows=N            probe N flow identities, statistics per flow (1-16)\n"
	"  --hop-ping           also ping each router's address every round: its\n"
	"                       loss to pings next to its loss of time-exceeded (reports)\n"

	"  with --jsonl: one timestamped event per line instead of a report\n"
	"\n"
	"  -h, --help           this help\n"
	"  -V, --version        version\n";

enum {
	OPT_CLASSIC = 256,
	OPT_JSON,
	OPT_JSONL,
	OPT_PPS,
	OPT_GAP,
	OPT_SLOW,
	OPT_RECHECK,
	OPT_NO_DISTANCE,
	OPT_NO_STOPSET,
	OPT_NO_PREDICT,
	OPT_INTERFACE,
	OPT_LIVE,
	OPT_REPORT,
	OPT_REPORT_WIDE,
	OPT_REPORT_FORMAT,
	OPT_FLOWS,
	OPT_INTERVAL,
	OPT_HOP_PING,
	OPT_UNPRIV,
	OPT_STATS,
	OPT_NO_SANDBOX,
	OPT_DEBUG_STATUS,
	OPT_BATCH,
	OPT_PARALLEL,
	OPT_RESUME,
};

static const struct option long_opts[] = {
	{"udp", no_argument, NULL, 'U'},
	{"icmp", no_argument, NULL, 'I'},
	{"tcp", no_argument, NULL, 'T'},
	{"classic", no_argument, NULL, OPT_CLASSIC},
	{"first", required_argument, NULL, 'f'},
	{"max-hops", required_argument, NULL, 'm'},
	{"queries", required_argument, NULL, 'q'},
	{"sim-queries", required_argument, NULL, 'N'},
	{"wait", required_argument, NULL, 'w'},
	{"sendwait", required_argument, NULL, 'z'},
	{"pps", required_argument, NULL, OPT_PPS},
	{"gap-limit", required_argument, NULL, OPT_GAP},
	{"slow", required_argument, NULL, OPT_SLOW},
	{"recheck", required_argument, NULL, OPT_RECHECK},
	{"port", required_argument, NULL, 'p'},
	{"source", required_argument, NULL, 's'},
	{"interface", required_argument, NULL, OPT_INTERFACE},
	{"live", no_argument, NULL, OPT_LIVE},
	{"report", no_argument, NULL, OPT_REPORT},
	{"report-wide", no_argument, NULL, OPT_REPORT_WIDE},
	{"report-format", required_argument, NULL, OPT_REPORT_FORMAT},
	{"count", required_argument, NULL, 'c'},
	{"flows", required_argument, NULL, OPT_FLOWS},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"hop-ping", no_argument, NULL, OPT_HOP_PING},
	{"tos", required_argument, NULL, 't'},
	{"dont-fragment", no_argument, NULL, 'F'},
	{"extensions", no_argument, NULL, 'e'},
	{"unprivileged", no_argument, NULL, OPT_UNPRIV},
	{"json", no_argument, NULL, OPT_JSON},
	{"jsonl", no_argument, NULL, OPT_JSONL},
	{"stats", no_argument, NULL, OPT_STATS},
	{"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
	{"debug-status", no_argument, NULL, OPT_DEBUG_STATUS},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"parallel", required_argument, NULL, OPT_PARALLEL},
	{"resume", required_argument, NULL, OPT_RESUME},
	{"no-distance", no_argument, NULL, OPT_NO_DISTANCE},
	{"no-stopset", no_argument, NULL, OPT_NO_STOPSET},
	{"no-predict", no_argument, NULL, OPT_NO_PREDICT},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

#define FAIL(...)                                       \
	do {                                            \
		snprintf(err, errlen, __VA_ARGS__);     \
		return -EINVAL;                         \
	} while (0)

/* -w MAX[,HERE[,NEAR]] */
static int parse_wait(struct ht_config *c, const char *arg, char *err, size_t errlen)
{
	char buf[64];
	char *parts[3] = {NULL, NULL, NULL};
	char *tok;
	double v;
	int n = 0;

	if (strlen(arg) >= sizeof(buf))
		FAIL("invalid wait '%s': expected MAX[,HERE[,NEAR]]", arg);
	strcpy(buf, arg);
	/* strtok would merge empty fields; split by hand to allow "5,,2". */
	tok = buf;
	parts[n++] = tok;
	for (char *p = buf; *p; p++) {
		if (*p != ',')
			continue;
		if (n == 3)
			FAIL("invalid wait '%s': expected MAX[,HERE[,NEAR]]", arg);
		*p = '\0';
		parts[n++] = p + 1;
	}
	if (*parts[0]) {
		if (ht_parse_double(parts[0], 0.001, 60, &v))
			FAIL("invalid wait '%s': MAX must be 0.001 to 60 seconds", parts[0]);
		c->wait_max_us = (uint32_t)(v * 1e6 + 0.5); /* v >= 0: rounded */
	}
	if (n > 1 && *parts[1]) {
		if (ht_parse_double(parts[1], 0, 1000, &v))
			FAIL("invalid wait '%s': HERE must be 0 to 1000", parts[1]);
		c->wait_here = v;
	}
	if (n > 2 && *parts[2]) {
		if (ht_parse_double(parts[2], 0, 1000, &v))
			FAIL("invalid wait '%s': NEAR must be 0 to 1000", parts[2]);
		c->wait_near = v;
	}
	return 0;
}

#define SHORT_OPTS ":46UITf:m:q:N:w:z:p:s:i:t:c:FenhV"

/* Whether c is one of our short options (or the value of a long one). */
static bool short_known(int c)
{
	return c >= 256 || (c > 0 && c != ':' && strchr(SHORT_OPTS, c));
}

static int check_ifname(const char *s, char *err, size_t errlen)
{
	if (!*s || strlen(s) >= IFNAMSIZ || strchr(s, '/') || strchr(s, ' '))
		FAIL("invalid interface name '%.32s': must be 1 to %d characters, no '/' or spaces",
		     s, IFNAMSIZ - 1);
	return 0;
}

static int parse_interval(const char *s, uint64_t *us, char *err, size_t errlen)
{
	double d;

	if (ht_parse_double(s, 0.01, 3600, &d))
		FAIL("invalid interval '%.32s': must be 0.01 to 3600 seconds", s);
	*us = (uint64_t)(d * 1e6 + 0.5);
	return 0;
}

int ht_opts_parse(struct ht_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	struct ht_config *c = &o->cfg;
	const char *i_text = NULL, *interval_text = NULL;
	long v;
	double d;
	int ch;

	memset(o, 0, sizeof(*o));
	ht_config_defaults(c);
	o->parallel = HT_PARALLEL_DEFAULT;
	c->family = 0;
	/* 0, not 1: glibc then forgets any half-scanned option cluster from an
	 * earlier call (its pointer would be stale), as the fuzzer needs. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) !=
	       -1) {
		switch (ch) {
		case '4':
			o->family_forced = AF_INET;
			break;
		case '6':
			o->family_forced = AF_INET6;
			break;
		case 'U':
			c->method = HT_METHOD_UDP;
			break;
		case 'I':
			c->method = HT_METHOD_ICMP;
			break;
		case 'T':
			c->method = HT_METHOD_TCP;
			break;
		case OPT_CLASSIC:
			c->classic = true;
			break;
		case 'f':
			if (ht_parse_int(optarg, 1, 255, &v))
				FAIL("invalid first TTL '%s': must be 1 to 255", optarg);
			c->first_ttl = (int)v;
			break;
		case 'm':
			if (ht_parse_int(optarg, 1, 255, &v))
				FAIL("invalid max hops '%s': must be 1 to 255", optarg);
			c->max_ttl = (int)v;
			break;
		case 'q':
			if (ht_parse_int(optarg, 1, HT_MAX_QUERIES, &v))
				FAIL("invalid probes per hop '%s': must be 1 to %d", optarg,
				     HT_MAX_QUERIES);
			c->nqueries = (int)v;
			o->nqueries_given = true;
			break;
		case 'N':
			if (ht_parse_int(optarg, 1, 65535, &v))
				FAIL("invalid window '%s': must be 1 to 65535", optarg);
			c->window = (int)v;
			o->window_given = true;
			break;
		case 'w':
			if (parse_wait(c, optarg, err, errlen))
				return -EINVAL;
			break;
		case 'z':
			/* Like traceroute: above 10 the value is in milliseconds. */
			if (ht_parse_double(optarg, 0, 10000, &d))
				FAIL("invalid send wait '%s': must be 0 to 10 s (or 11 to 10000 ms)",
				     optarg);
			c->send_gap_us = (uint32_t)((d > 10 ? d * 1e3 : d * 1e6) + 0.5); /* d >= 0 */
			break;
		case OPT_PPS:
			if (ht_parse_int(optarg, 0, 10000000, &v))
				FAIL("invalid packet rate '%s': must be 0 to 10000000", optarg);
			c->pps = (uint32_t)v;
			o->pps_given = true;
			break;
		case OPT_GAP:
			if (ht_parse_int(optarg, 1, 255, &v))
				FAIL("invalid gap limit '%s': must be 1 to 255", optarg);
			c->gap_limit = (int)v;
			break;
		case OPT_SLOW:
			if (ht_parse_int(optarg, 0, 10000, &v))
				FAIL("invalid slow hop allowance '%s': must be 0 to 10000 ms", optarg);
			c->wait_slow_us = (uint32_t)v * 1000;
			break;
		case OPT_RECHECK:
			if (ht_parse_int(optarg, 0, 10000, &v))
				FAIL("invalid second look delay '%s': must be 0 to 10000 ms", optarg);
			c->recheck_us = (uint32_t)v * 1000;
			break;
		case 'p':
			if (ht_parse_int(optarg, 1, 65535, &v))
				FAIL("invalid port '%s': must be 1 to 65535", optarg);
			c->port = (uint16_t)v;
			o->port_given = true;
			break;
		case 's':
			if (ht_addr_parse(optarg, &c->src))
				FAIL("invalid source address '%s': must be a numeric IPv4 or IPv6 "
				     "address",
				     optarg);
			o->src_text = optarg;
			break;
		case 'i':
			/* traceroute's interface, or with a monitor mtr's interval:
			 * decided once every option is read. */
			i_text = optarg;
			break;
		case OPT_INTERFACE:
			if (check_ifname(optarg, err, errlen) < 0)
				return -EINVAL;
			o->io.device = optarg;
			break;
		case OPT_INTERVAL:
			interval_text = optarg;
			break;
		case OPT_HOP_PING:
			o->hop_ping = true;
			break;
		case OPT_LIVE:
			o->live = o->monitor = true;
			break;
		case OPT_REPORT:
			o->report = o->monitor = true;
			break;
		case OPT_REPORT_WIDE:
			o->report_wide = o->report = o->monitor = true;
			break;
		case OPT_REPORT_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "csv"))
				FAIL("invalid report format '%.32s': text, json or csv", optarg);
			o->report_format = optarg;
			o->report = o->monitor = true;
			break;
		case 'c':
			if (ht_parse_int(optarg, 1, 1000000, &v))
				FAIL("invalid round count '%s': must be 1 to 1000000", optarg);
			o->count = (uint32_t)v;
			o->monitor = true;
			break;
		case OPT_FLOWS:
			if (ht_parse_int(optarg, 1, 16, &v))
				FAIL("invalid flow count '%s': must be 1 to 16", optarg);
			o->flows = (int)v;
			break;

		case 't':
			if (ht_parse_int(optarg, 0, 255, &v))
				FAIL("invalid TOS '%s': must be 0 to 255", optarg);
			c->tos = (int)v;
			break;
		case 'F':
			c->dont_fragment = true;
			break;
		case 'e':
			o->extensions = true;
			break;
		case 'n':
			o->numeric = true;
			break;
		case OPT_UNPRIV:
			o->io.mode = HT_IO_UNPRIV;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_JSONL:
			o->jsonl = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_NO_SANDBOX:
			o->no_sandbox = true;
			break;
		case OPT_DEBUG_STATUS:
			o->debug_status = true;
			break;
		case OPT_BATCH:
			if (!*optarg)
				FAIL("--batch needs a file name ('-' for standard input)");
			o->batch = optarg;
			break;
		case OPT_PARALLEL:
			if (ht_parse_int(optarg, 1, HT_PARALLEL_MAX, &v))
				FAIL("invalid parallel traces '%s': must be 1 to %d", optarg,
				     HT_PARALLEL_MAX);
			o->parallel = (int)v;
			break;
		case OPT_RESUME:
			if (!*optarg)
				FAIL("--resume needs a file name");
			o->resume = optarg;
			break;
		case OPT_NO_DISTANCE:
			o->no_distance = true;
			break;
		case OPT_NO_STOPSET:
			o->no_stopset = true;
			break;
		case OPT_NO_PREDICT:
			o->no_predict = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return HT_OPTS_EXIT_OK;
		case 'V':
			printf("hoptrace %s\n", HT_VERSION);
			return HT_OPTS_EXIT_OK;
		case ':':
			/* Only the last argument can lack its value, so it is
			 * argv[optind - 1], written either as -p or as --port. */
			if (!strncmp(argv[optind - 1], "--", 2))
				FAIL("option '%s' needs a value", argv[optind - 1]);
			FAIL("option '-%c' needs a value", optopt);
		default:
			/* glibc sets optopt to the unknown character for short
			 * options, to 0 for unknown long ones, and to the option's
			 * value for a long option given a value it does not take. */
			if (optopt && !short_known(optopt)) {
				if (optopt > 0 && optopt < 128 && isgraph(optopt))
					FAIL("unknown option '-%c' (try --help)", optopt);
				FAIL("unknown option byte 0x%02x (try --help)",
				     (unsigned)optopt & 0xff);
			}
			if (optopt && strchr(argv[optind - 1], '='))
				FAIL("option '%.*s' takes no value",
				     (int)(strchr(argv[optind - 1], '=') - argv[optind - 1]),
				     argv[optind - 1]);
			FAIL("unknown option '%s' (try --help)", argv[optind - 1]);
		}
	}
	/* -i: with a monitor the interval (as mtr), else the interface (as
	 * traceroute); --interval and --interface are never ambiguous. */
	if (i_text && o->monitor) {
		if (interval_text)
			FAIL("-i and --interval both give the interval");
		interval_text = i_text;
	} else if (i_text) {
		if (check_ifname(i_text, err, errlen) < 0)
			return -EINVAL;
		o->io.device = i_text;
	}
	if (interval_text) {
		if (!o->monitor)
			FAIL("--interval is for --live, --report and -c (rounds of probes)");
		if (parse_interval(interval_text, &o->interval_us, err, errlen) < 0)
			return -EINVAL;
		o->interval_given = true;
	}
	if ((o->flows || o->hop_ping) && !o->monitor)
		FAIL("--flows and --hop-ping are for --live, --report and -c (rounds of probes)");
	if (o->hop_ping && o->live)
		FAIL("--hop-ping shows in the reports (--report, -c N --jsonl), not in --live");
	if (o->live && o->report)
		FAIL("--live and --report cannot be combined");
	if (o->monitor && o->batch)
		FAIL("--live, --report and -c trace one host, not a --batch");
	if (o->monitor && o->json)
		FAIL("with --live, --report or -c, use --report-format json (or --jsonl for "
		     "events)");
	if (o->live && o->jsonl)
		FAIL("--live draws the screen; --jsonl streams events without it (use -c)");
	if (o->monitor) {
		if (!o->flows)
			o->flows = 1;
		if (!o->interval_us)
			o->interval_us = 1000000;
		if (!o->report_format)
			o->report_format = "text";
		if (!o->nqueries_given)
			c->nqueries = 1;
		if (o->report && !o->count)
			o->count = 10;
		if (!o->live && !o->jsonl)
			o->report = true;
	}
	if (o->json && o->jsonl)
		FAIL("--json and --jsonl cannot be combined");
	if (o->resume && (!o->batch || !o->jsonl))
		FAIL("--resume works with --batch and --jsonl only (it reads an earlier run's "
		     "--jsonl output)");
	if ((o->no_distance || o->no_stopset || o->no_predict) && !o->batch)
		FAIL("--no-distance, --no-stopset and --no-predict are for --batch (a single trace "
		     "sends all its probes at once)");
	if (o->batch) {
		/* The targets come from the file; a packet length may follow. */
		if (optind < argc && ht_parse_int(argv[optind], 0, 65535, &v))
			FAIL("--batch takes its targets from the file, not '%s' (try --help)",
			     argv[optind]);
	} else {
		if (optind >= argc)
			FAIL("no host given (try --help)");
		o->host = argv[optind++];
		if (!*o->host)
			FAIL("empty host name");
	}
	if (optind < argc) {
		if (ht_parse_int(argv[optind], 28, HT_PROBE_MAX_LEN, &v))
			FAIL("invalid packet length '%s': must be 28 to %d", argv[optind],
			     HT_PROBE_MAX_LEN);
		c->packet_len = (size_t)v;
		optind++;
	}
	if (optind < argc)
		FAIL("unexpected argument '%s' (try --help)", argv[optind]);
	if (c->first_ttl > c->max_ttl)
		FAIL("first TTL %d is beyond max hops %d", c->first_ttl, c->max_ttl);
	if (o->src_text && o->family_forced && c->src.family != o->family_forced)
		FAIL("source address '%s' is not %s", o->src_text,
		     o->family_forced == AF_INET ? "IPv4" : "IPv6");
	return HT_OPTS_RUN;
}

int ht_opts_monitor_limits(struct ht_opts *o, bool root, char *err, size_t errlen)
{
	if (!o->monitor || root || o->interval_us >= HT_USER_MIN_INTERVAL_US)
		return 0;
	snprintf(err, errlen,
	         "an interval under %u s is for root only (as in mtr): other users may ask for "
	         "%u s or more",
	         HT_USER_MIN_INTERVAL_US / 1000000u, HT_USER_MIN_INTERVAL_US / 1000000u);
	return -EPERM;
}

int ht_opts_user_limits(struct ht_opts *o, char *err, size_t errlen)
{
	struct ht_config *c = &o->cfg;
	int total = (c->max_ttl - c->first_ttl + 1) * c->nqueries;

	if (o->pps_given && (c->pps == 0 || c->pps > HT_USER_MAX_PPS)) {
		if (c->pps == 0)
			snprintf(err, errlen,
			         "--pps 0 (no rate limit) is for root only: other users may ask "
			         "for 1 to %d probes per second",
			         HT_USER_MAX_PPS);
		else
			snprintf(err, errlen,
			         "--pps %u is for root only: other users may ask for 1 to %d "
			         "probes per second",
			         c->pps, HT_USER_MAX_PPS);
		return -EPERM;
	}
	if (o->window_given && c->window > HT_USER_MAX_WINDOW) {
		snprintf(err, errlen,
		         "-N %d is for root only: other users may ask for 1 to %d probes in "
		         "flight",
		         c->window, HT_USER_MAX_WINDOW);
		return -EPERM;
	}
	if (!o->pps_given && (c->pps == 0 || c->pps > HT_USER_MAX_PPS))
		c->pps = HT_USER_MAX_PPS;
	/* The default window is the whole trace: at most the cap. */
	if (!o->window_given && (c->window == 0 ? total : c->window) > HT_USER_MAX_WINDOW)
		c->window = HT_USER_MAX_WINDOW;
	return 0;
}
