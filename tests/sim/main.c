/*
 * hoptrace-sim: runs a command inside a fresh network namespace whose only
 * route (198.18.0.0/15, 2001:db8::/32) leads into a TUN device played by
 * the simulation engine.
 *
 *   hoptrace-sim --scenario FILE [--seed N] [--record FILE] [--pcap FILE]
 *                [--check] [--hoptrace PATH] [-- CMD ARGS...]
 *   hoptrace-sim --scenario FILE --selftest-throughput [N]
 *   hoptrace-sim --scenario FILE --selftest-tun [N]
 *
 * The namespace is anonymous: it vanishes with the last process in it, so
 * nothing needs removing even when we are killed.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TUN_NAME "htsim0"

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: hoptrace-sim --scenario FILE [--seed N] [--record FILE] [--pcap FILE]\n"
	        "                    [--tx-times FILE]\n"
	        "                    [--check] [--hoptrace PATH] [-- CMD [ARGS...]]\n"
	        "       hoptrace-sim --scenario FILE --selftest-throughput [N]\n"
	        "       hoptrace-sim --scenario FILE --selftest-tun [N] [--selftest-pps R] [--record F]\n"
	        "       hoptrace-sim --scenario FILE --targets [--family 4|6]\n"
	        "       hoptrace-sim --scenario FILE --truth [--list FILE] [--family 4|6]\n"
	        "                    [--method udp|icmp|tcp] [--max-ttl N]\n"
	        "Runs CMD in a new network namespace whose 198.18.0.0/15 and 2001:db8::/32\n"
	        "routes lead into the simulated network. With --check, runs the scenario's\n"
	        "[command] and compares its output and exit status with the scenario.\n");
}

/* ---- namespace and TUN ---- */

static int run_cmd(char *const argv[])
{
	pid_t pid = fork();
	int st;
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -e;
}

static int if_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	rc = rc ? -errno : 0;
	close(s);
	return rc;
}

static int sysctl_set(const char *key, const char *val)
{
	char path[160];
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	return write_file(path, val);
}

/* --tx-times: one line "t=US" (since t0, monotonic) per packet the command
 * sent, from the kernel's transmit time stamp. */
static void tx_drain(int fd, FILE *f, uint64_t t0)
{
	for (int i = 0; i < 4096; i++) {
		uint8_t b[64];
		union {
			char c[256];
			struct cmsghdr align;
		} ctl;
		struct sockaddr_ll from;
		struct iovec iov = {.iov_base = b, .iov_len = sizeof(b)};
		struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
		                     .msg_iovlen = 1, .msg_control = ctl.c,
		                     .msg_controllen = sizeof(ctl.c)};
		struct timespec real, mono, *st = NULL;

		if (recvmsg(fd, &msg, MSG_TRUNC) < 0)
			return;
		if (from.sll_pkttype != PACKET_OUTGOING)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
				st = (struct timespec *)CMSG_DATA(c);
		if (!st)
			continue;
		clock_gettime(CLOCK_REALTIME, &real);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		int64_t ago = ((int64_t)real.tv_sec - st->tv_sec) * 1000000 +
		              (real.tv_nsec - st->tv_nsec) / 1000;
		int64_t at = ((int64_t)mono.tv_sec * 1000000 + mono.tv_nsec / 1000) - ago -
		             (int64_t)t0;
		fprintf(f, "t=%lld\n", (long long)(at > 0 ? at : 0));
	}
}

/* Enter a new network (and mount) namespace and build the TUN side. */
static int setup_netns(const struct sim_scenario *sc, int *tunfd, char *err, size_t errlen)
{
	struct ifreq ifr;
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		snprintf(err, errlen,
		         "cannot create a network namespace (%s): hoptrace-sim needs root "
		         "(CAP_SYS_ADMIN and CAP_NET_ADMIN)",
		         strerror(errno));
		return -77;
	}
	/* Our mounts (resolv.conf) must not leak to the host. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(err, errlen, "mount --make-rprivate /: %s", strerror(errno));
		return -1;
	}
	if (if_up("lo")) {
		snprintf(err, errlen, "cannot bring up lo: %s", strerror(errno));
		return -1;
	}
	/* No duplicate address detection or router solicitation noise. */
	sysctl_set("net.ipv6.conf.default.accept_dad", "0");
	sysctl_set("net.ipv6.conf.default.router_solicitations", "0");
	sysctl_set("net.ipv6.conf.all.disable_ipv6", "0");

	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, TUN_NAME);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "TUNSETIFF: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (if_up(TUN_NAME)) {
		snprintf(err, errlen, "cannot bring up " TUN_NAME ": %s", strerror(errno));
		close(fd);
		return -1;
	}
	inet_ntop(AF_INET, &sc->prober4, a4, sizeof(a4));
	inet_ntop(AF_INET6, &sc->prober6, a6, sizeof(a6));
	char p4[64], p6[80];
	snprintf(p4, sizeof(p4), "%s/32", a4);
	snprintf(p6, sizeof(p6), "%s/128", a6);
	char *c1[] = {"ip", "addr", "add", p4, "dev", TUN_NAME, NULL};
	char *c2[] = {"ip", "route", "add", "198.18.0.0/15", "dev", TUN_NAME, "src", a4, NULL};
	char *c3[] = {"ip", "-6", "addr", "add", p6, "dev", TUN_NAME, "nodad", NULL};
	char *c4[] = {"ip", "-6", "route", "add", "2001:db8::/32", "dev", TUN_NAME, "src", a6, NULL};
	/* A long queue so bursts from batch-mode probing are not dropped
	 * before the simulator reads them. */
	char *c5[] = {"ip", "link", "set", TUN_NAME, "txqueuelen", "100000", NULL};
	if (run_cmd(c5) || (sc->has4 && (run_cmd(c1) || run_cmd(c2))) ||
	    (sc->has6 && (run_cmd(c3) || run_cmd(c4)))) {
		snprintf(err, errlen, "configuring " TUN_NAME " with ip(8) failed");
		close(fd);
		return -1;
	}
	/* The simulator is the only ICMP source that matters; keep the
	 * kernel's own limiter out of the way unless a scenario sets it. */
	sysctl_set("net.ipv4.icmp_ratelimit", "0");
	sysctl_set("net.ipv6.icmp.ratelimit", "0");
	for (int i = 0; i < sc->nsysctl; i++)
		if (sysctl_set(sc->sysctl_key[i], sc->sysctl_val[i])) {
			snprintf(err, errlen, "sysctl %s=%s failed", sc->sysctl_key[i],
			         sc->sysctl_val[i]);
			close(fd);
			return -1;
		}
	if (sc->dns) {
		/* A resolv.conf pointing at the simulated resolver, seen only
		 * in our private mount namespace. */
		char conf[128];
		inet_ntop(AF_INET, &sc->dns4, a4, sizeof(a4));
		int n = snprintf(conf, sizeof(conf), "nameserver %s\noptions timeout:1 attempts:2\n", a4);
		/* A bind mount needs a file on a real mount; the file is
		 * unlinked at once and lives on only as the mount's source. */
		char tmpl[] = "/tmp/hoptrace-sim-resolv.XXXXXX";
		int mfd = mkstemp(tmpl);
		if (mfd < 0 || write(mfd, conf, (size_t)n) != n) {
			snprintf(err, errlen, "resolv.conf: %s", strerror(errno));
			if (mfd >= 0)
				unlink(tmpl), close(mfd);
			close(fd);
			return -1;
		}
		fchmod(mfd, 0644);
		close(mfd);
		int mrc = mount(tmpl, "/etc/resolv.conf", "none", MS_BIND, NULL);
		int merr = errno;
		unlink(tmpl);
		if (mrc < 0) {
			snprintf(err, errlen, "bind-mount resolv.conf: %s", strerror(merr));
			close(fd);
			return -1;
		}
	}
	*tunfd = fd;
	return 0;
}

/* ---- pcap ---- */

static void pcap_open(FILE *f)
{
	uint32_t h[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101 /* LINKTYPE_RAW */};
	fwrite(h, sizeof(h), 1, f);
}

static void pcap_write(FILE *f, const uint8_t *b, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint32_t h[4] = {(uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), (uint32_t)len,
	                 (uint32_t)len};
	fwrite(h, sizeof(h), 1, f);
	fwrite(b, len, 1, f);
}

/* ---- self tests ---- */

static size_t make_udp_probe(uint8_t *b, const struct in_addr *src, const struct in_addr *dst,
                             uint8_t ttl, uint16_t sport, uint16_t id)
{
	memset(b, 0, 60);
	b[0] = 0x45;
	b[3] = 60;
	b[4] = (uint8_t)(id >> 8);
	b[5] = (uint8_t)id;
	b[8] = ttl;
	b[9] = IPPROTO_UDP;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	sim_ip4_csum(b);
	b[20] = (uint8_t)(sport >> 8);
	b[21] = (uint8_t)sport;
	b[22] = 0x82;
	b[23] = 0x9a; /* 33434 */
	b[25] = 40;
	sim_l4_csum(b, 60);
	return 60;
}

static const struct sim_node *first_host(const struct sim_scenario *sc)
{
	for (int i = 1; i < sc->nnodes; i++)
		if (sc->nodes[i].host && sc->nodes[i].has4)
			return &sc->nodes[i];
	for (int i = 1; i < sc->nnodes; i++)
		if (sc->nodes[i].has4)
			return &sc->nodes[i];
	return NULL;
}

/* Every IPv4 host address (host nodes, family members); without any, the
 * first node with an IPv4 address. */
struct addrs {
	struct in_addr *v;
	size_t n, cap;
};

static int addrs_cb(void *user, const struct sim_target *t, const uint8_t *a)
{
	struct addrs *l = user;
	(void)t;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct in_addr *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = nc;
	}
	memcpy(&l->v[l->n++], a, 4);
	return 0;
}

static int host_addrs(const struct sim_scenario *sc, struct addrs *l)
{
	const struct sim_node *d;
	memset(l, 0, sizeof(*l));
	if (sim_each_host(sc, AF_INET, addrs_cb, l))
		return -1;
	if (!l->n && (d = first_host(sc)))
		addrs_cb(l, NULL, (const uint8_t *)&d->a4);
	return l->n ? 0 : -1;
}

/* Probes go round the targets, TTLs 1-30 for each (n probes in all). */
static int selftest_throughput(struct sim_scenario *sc, unsigned long n)
{
	struct sim_engine e;
	uint8_t b[64];
	struct addrs l;

	if (host_addrs(sc, &l)) {
		fprintf(stderr, "hoptrace-sim: the scenario has no IPv4 host\n");
		return 2;
	}
	sim_engine_init(&e, sc);
	uint64_t t0 = mono_us(), replies = 0;
	for (unsigned long i = 0; i < n; i++) {
		make_udp_probe(b, &sc->prober4, &l.v[(i / 30) % l.n], (uint8_t)(1 + i % 30),
		               (uint16_t)(33000 + (i / 30) % 1000), (uint16_t)i);
		sim_engine_input(&e, b, 60, i / 4);
		/* Emit in batches, as the real loop does. */
		if ((i & 255) == 255 || i + 1 == n)
			while (e.heap.n) {
				free(sim_heap_pop(&e.heap));
				replies++;
			}
	}
	uint64_t t1 = mono_us();
	double s = (double)(t1 - t0) / 1e6;
	printf("hoptrace-sim engine: %lu probes to %zu targets, %llu replies in %.3f s = %.0f "
	       "probes/s\n",
	       n, l.n, (unsigned long long)replies, s, (double)n / s);
	sim_engine_free(&e);
	free(l.v);
	return 0;
}

/* --targets: every host's address, one a line. */
static int print_cb(void *user, const struct sim_target *t, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];
	(void)t;
	inet_ntop(*(int *)user, a, s, sizeof(s));
	printf("%s\n", s);
	return 0;
}

/* --truth --list FILE: the truth for each address in the file (one a
 * line, blank lines and # comments skipped); an address nobody owns gets
 * a line with "end":"nohost". */
static int truth_list(const struct sim_scenario *sc, const char *path, int proto, int max_ttl)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char line[512];
	int rc = 0;

	if (!f) {
		fprintf(stderr, "hoptrace-sim: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;
		uint8_t a[16];
		int fam;
		while (*s == ' ' || *s == '\t')
			s++;
		for (e = s; *e && *e != '\n' && *e != '\r' && *e != ' ' && *e != '\t' && *e != '#'; e++)
			;
		*e = 0;
		if (!*s)
			continue;
		fam = strchr(s, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam, s, a) != 1) {
			fprintf(stderr, "hoptrace-sim: %s: not an address: %s\n", path, s);
			rc = 2;
			continue;
		}
		if (sim_truth_addr(sc, stdout, fam, a, proto, max_ttl)) {
			char t[INET6_ADDRSTRLEN];
			inet_ntop(fam, a, t, sizeof(t));
			printf("{\"target\":\"%s\",\"family\":%d,\"hops\":[],\"reached\":false,"
			       "\"end\":\"nohost\"}\n",
			       t, fam == AF_INET ? 4 : 6);
		}
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

/* ---- the main loop ---- */

struct buf {
	char *d;
	size_t n, cap;
};

static void buf_add(struct buf *b, const char *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t nc = (b->n + n + 1) * 2;
		char *nd = realloc(b->d, nc);
		if (!nd)
			return;
		b->d = nd;
		b->cap = nc;
	}
	memcpy(b->d + b->n, d, n);
	b->n += n;
	b->d[b->n] = 0;
}

/* The scenario's command runs under /bin/sh (so it may use && and
 * quoting); "hoptrace" in it means the binary under test. */
static char **shell_command(const char *cmd, const char *hoptrace)
{
	char **v = calloc(4, sizeof(*v));
	size_t l = strlen(cmd) + 64;
	char *s = malloc(l);
	if (!v || !s) {
		free(v);
		free(s);
		return NULL;
	}
	if (hoptrace) {
		setenv("HOPTRACE", hoptrace, 1);
		snprintf(s, l, "hoptrace() { \"$HOPTRACE\" \"$@\"; }\n%s", cmd);
	} else {
		snprintf(s, l, "%s", cmd);
	}
	v[0] = strdup("/bin/sh");
	v[1] = strdup("-c");
	v[2] = s;
	return v;
}

static volatile sig_atomic_t dummy;

int main(int argc, char **argv)
{
	static struct sim_scenario sc;
	const char *scn = NULL, *record_path = NULL, *pcap_path = NULL, *hoptrace = NULL;
	const char *tx_path = NULL;
	bool check = false, have_seed = false;
	uint64_t seed = 0;
	long selftest = 0, selftest_tun = 0, selftest_pps = 0;
	bool truth = false, targets = false;
	const char *list = NULL;
	int family = 0, proto = IPPROTO_UDP, max_ttl = 30;
	char err[512];
	static const struct option opts[] = {
		{"scenario", required_argument, NULL, 's'},
		{"seed", required_argument, NULL, 'S'},
		{"record", required_argument, NULL, 'r'},
		{"pcap", required_argument, NULL, 'p'},
		{"tx-times", required_argument, NULL, 'X'},
		{"check", no_argument, NULL, 'c'},
		{"hoptrace", required_argument, NULL, 'H'},
		{"selftest-throughput", optional_argument, NULL, 'T'},
		{"selftest-tun", optional_argument, NULL, 'U'},
		{"selftest-pps", required_argument, NULL, 'P'},
		{"truth", no_argument, NULL, 't'},
		{"targets", no_argument, NULL, 'L'},
		{"list", required_argument, NULL, 'l'},
		{"family", required_argument, NULL, 'f'},
		{"method", required_argument, NULL, 'm'},
		{"max-ttl", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;

	(void)dummy;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			scn = optarg;
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'r':
			record_path = optarg;
			break;
		case 'X':
			tx_path = optarg;
			break;
		case 'p':
			pcap_path = optarg;
			break;
		case 'c':
			check = true;
			break;
		case 'H':
			hoptrace = optarg;
			break;
		case 'T':
			selftest = optarg ? atol(optarg) : 2000000;
			break;
		case 'U':
			selftest_tun = optarg ? atol(optarg) : 200000;
			break;
		case 'P':
			selftest_pps = atol(optarg);
			break;
		case 't':
			truth = true;
			break;
		case 'L':
			targets = true;
			break;
		case 'l':
			list = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "4") && strcmp(optarg, "6")) {
				fprintf(stderr, "hoptrace-sim: --family 4 or 6\n");
				return 2;
			}
			family = optarg[0] == '4' ? AF_INET : AF_INET6;
			break;
		case 'm':
			if (strcmp(optarg, "udp") == 0)
				proto = IPPROTO_UDP;
			else if (strcmp(optarg, "tcp") == 0)
				proto = IPPROTO_TCP;
			else if (strcmp(optarg, "icmp") == 0)
				proto = IPPROTO_ICMP;
			else {
				fprintf(stderr, "hoptrace-sim: --method udp, icmp or tcp\n");
				return 2;
			}
			break;
		case 'M':
			max_ttl = atoi(optarg);
			if (max_ttl < 1 || max_ttl > 255) {
				fprintf(stderr, "hoptrace-sim: --max-ttl 1..255\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!scn) {
		usage(stderr);
		return 2;
	}
	if (!hoptrace)
		hoptrace = getenv("HOPTRACE");
	if (sim_scenario_load(&sc, scn, err, sizeof(err))) {
		fprintf(stderr, "hoptrace-sim: %s\n", err);
		return 2;
	}
	if (have_seed)
		sc.seed = seed;
	if (selftest) {
		int rc = selftest_throughput(&sc, (unsigned long)selftest);
		sim_scenario_free(&sc);
		return rc;
	}
	if (targets || truth) {
		int rc = 0;
		if (truth && list)
			rc = truth_list(&sc, list, proto, max_ttl);
		for (int f = AF_INET; !(truth && list) && f; f = f == AF_INET ? AF_INET6 : 0) {
			if (family && f != family)
				continue;
			if (truth ? sim_truth(&sc, stdout, f, proto, max_ttl)
			          : sim_each_host(&sc, f, print_cb, &f))
				rc = 1;
		}
		if (fflush(stdout) || ferror(stdout))
			rc = 1;
		sim_scenario_free(&sc);
		return rc;
	}

	char **cmd = NULL;
	bool uses_hoptrace = false;
	if (optind < argc) {
		cmd = argv + optind;
	} else if (selftest_tun) {
		cmd = NULL;
	} else if (sc.command) {
		cmd = shell_command(sc.command, hoptrace);
		uses_hoptrace = hoptrace && strstr(sc.command, "hoptrace");
	} else {
		fprintf(stderr, "hoptrace-sim: no command given and the scenario has no [command]\n");
		return 2;
	}
	const char *base = strrchr(scn, '/') ? strrchr(scn, '/') + 1 : scn;

	struct passwd *pw = NULL;
	if (sc.run_as[0] && !(pw = getpwnam(sc.run_as))) {
		fprintf(stderr, "hoptrace-sim: unknown user '%s'\n", sc.run_as);
		return 2;
	}

	int tun = -1;
	int rc = setup_netns(&sc, &tun, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "hoptrace-sim: %s\n", err);
		if (rc == -77)
			return getenv("CI") && strcmp(getenv("CI"), "true") == 0 ? 1 : 77;
		return 1;
	}

	/* --tx-times: the kernel's own send time of every packet the command
	 * sends into the TUN (a packet socket sees it as it is transmitted, so
	 * the simulator's read delays do not move it). */
	int txfd = -1;
	FILE *txf = NULL;
	if (tx_path) {
		int big = 64 << 20, one = 1;
		struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
		struct ifreq ifr = {0};
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TUN_NAME);
		txfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
		if (txfd >= 0 && ioctl(txfd, SIOCGIFINDEX, &ifr) == 0)
			sll.sll_ifindex = ifr.ifr_ifindex;
		if (txfd < 0 || !sll.sll_ifindex || bind(txfd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
		    setsockopt(txfd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
		    !(txf = fopen(tx_path, "w"))) {
			fprintf(stderr, "hoptrace-sim: --tx-times: %s\n", strerror(errno));
			return 1;
		}
		if (setsockopt(txfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
			setsockopt(txfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		setvbuf(txf, NULL, _IOFBF, 1 << 20);
	}

	/* Signals arrive through a signalfd so the loop sees them in order. */
	sigset_t ss, old;
	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, &old);
	int sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);

	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	if (check && (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))) {
		perror("hoptrace-sim: pipe");
		return 1;
	}
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0) {
		perror("hoptrace-sim: fork");
		return 1;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* In --check mode its own process group, so that a shell's
		 * children are signalled too; otherwise it stays in the
		 * terminal's foreground group (Ctrl-C reaches it directly). */
		if (check)
			setpgid(0, 0);
		if (getppid() != parent)
			_exit(1);
		close(tun);
		if (check) {
			dup2(outp[1], 1);
			dup2(errp[1], 2);
		}
		if (selftest_tun) {
			/* Flood UDP probes through the TUN as fast as we can, round
			 * the scenario's IPv4 hosts, TTLs 1-30 for each, in batches
			 * of sendmmsg with the TTL in a control message. */
			struct addrs l;
			int s = socket(AF_INET, SOCK_DGRAM, 0);
			enum { B = 64 };
			static struct sockaddr_in sin[B];
			static struct mmsghdr mm[B];
			static struct iovec iov[B];
			static union {
				char b[CMSG_SPACE(sizeof(int))];
				struct cmsghdr h;
			} cb[B];
			static char payload[32];
			if (host_addrs(&sc, &l) || s < 0)
				_exit(1);
			uint64_t start = mono_us();
			for (long i = 0; i < selftest_tun;) {
				int k = 0;
				/* --selftest-pps: no faster than that on average. */
				if (selftest_pps > 0) {
					uint64_t due = start + (uint64_t)i * 1000000u / (uint64_t)selftest_pps;
					uint64_t now = mono_us();
					if (due > now)
						usleep((useconds_t)(due - now));
				}
				for (; k < B && i + k < selftest_tun; k++) {
					long j = i + k;
					sin[k] = (struct sockaddr_in){.sin_family = AF_INET,
					                              .sin_port = htons(33434),
					                              .sin_addr = l.v[(j / 30) % l.n]};
					iov[k] = (struct iovec){payload, sizeof(payload)};
					struct cmsghdr *c = &cb[k].h;
					c->cmsg_level = IPPROTO_IP;
					c->cmsg_type = IP_TTL;
					c->cmsg_len = CMSG_LEN(sizeof(int));
					int ttl = 1 + (int)(j % 30);
					memcpy(CMSG_DATA(c), &ttl, sizeof(ttl));
					mm[k].msg_hdr = (struct msghdr){.msg_name = &sin[k],
					                                .msg_namelen = sizeof(sin[k]),
					                                .msg_iov = &iov[k],
					                                .msg_iovlen = 1,
					                                .msg_control = cb[k].b,
					                                .msg_controllen = sizeof(cb[k].b)};
				}
				int r = sendmmsg(s, mm, (unsigned)k, 0);
				if (r < 0) {
					if (errno != ENOBUFS && errno != EAGAIN)
						_exit(1);
					usleep(50);
					continue;
				}
				i += r;
			}
			_exit(0);
		}
		if (pw && (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))) {
			perror("hoptrace-sim: dropping to run-as user");
			_exit(126);
		}
		/* A checkout under a private directory (root's 0700 home) is
		 * out of the run-as user's reach: say so instead of letting
		 * the shell report a bare "Permission denied". */
		if (pw && uses_hoptrace && access(hoptrace, X_OK) != 0) {
			fprintf(stderr,
			        "hoptrace-sim: user %s cannot execute %s (%s): copy it to a directory "
			        "that user can search (tests/sim/run-scenarios.sh does)\n",
			        sc.run_as, hoptrace, strerror(errno));
			_exit(126);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "hoptrace-sim: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	if (check) {
		setpgid(child, child);
		close(outp[1]);
		close(errp[1]);
	}
	pid_t kgrp = check ? -child : child;

	struct sim_engine e;
	sim_engine_init(&e, &sc);
	char *recbuf = NULL;
	size_t reclen = 0;
	FILE *rec = NULL;
	if (check && sc.record_checks)
		rec = open_memstream(&recbuf, &reclen);
	else if (record_path)
		rec = fopen(record_path, "w");
	if (rec && record_path && !(check && sc.record_checks))
		setvbuf(rec, NULL, _IOFBF, 1 << 20);
	if ((check && sc.record_checks) || record_path) {
		if (!rec) {
			fprintf(stderr, "hoptrace-sim: cannot open record: %s\n", strerror(errno));
			kill(child, SIGKILL);
			return 1;
		}
		e.record = rec;
	}
	FILE *pcap = NULL;
	if (pcap_path) {
		pcap = fopen(pcap_path, "w");
		if (!pcap) {
			fprintf(stderr, "hoptrace-sim: %s: %s\n", pcap_path, strerror(errno));
			kill(child, SIGKILL);
			return 1;
		}
		pcap_open(pcap);
	}

	struct buf out = {0}, errb = {0};
	uint64_t t0 = mono_us();
	uint64_t deadline = check ? t0 + (uint64_t)sc.timeout_s * 1000000u : UINT64_MAX;
	int status = -1, killed_by = 0;
	bool timed_out = false;
	uint64_t tun_first = 0, tun_last = 0, exit_us = 0;
	static uint8_t pkt[SIM_MAX_PKT];
	/* "flood RATE": unrelated ICMP written at RATE per second while the
	 * command runs; what was achieved is reported and can be asserted. */
	uint64_t flood_sent = 0, flood_written = 0, flood_end = 0;
	if (sc.flood_pps && !(sc.flood_family == AF_INET6 ? sc.has6 : sc.has4)) {
		fprintf(stderr, "hoptrace-sim: flood: the prober has no address of that family\n");
		kill(kgrp, SIGKILL);
		return 2;
	}

	for (;;) {
		struct pollfd pf[5] = {
			{.fd = tun, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
			{.fd = outp[0], .events = POLLIN},
			{.fd = errp[0], .events = POLLIN},
			{.fd = txfd, .events = POLLIN},
		};
		uint64_t now = mono_us();
		const struct sim_out *top = sim_heap_top(&e.heap);
		uint64_t wake = deadline;
		if (top && t0 + top->at_us < wake)
			wake = t0 + top->at_us;
		/* Once the command exited, only drain its pipes briefly. */
		if (status >= 0 && wake > now + 200000)
			wake = now + 200000;
		if (sc.flood_pps && status < 0 && wake > now + 1000)
			wake = now + 1000;
		struct timespec ts = {0, 0};
		if (wake > now) {
			uint64_t d = wake - now;
			ts.tv_sec = (time_t)(d / 1000000u);
			ts.tv_nsec = (long)(d % 1000000u) * 1000;
		}
		int pr = ppoll(pf, 5, wake == UINT64_MAX ? NULL : &ts, NULL);
		if (pr < 0 && errno != EINTR)
			break;
		now = mono_us();
		if (txfd >= 0 && (pf[4].revents & POLLIN))
			tx_drain(txfd, txf, t0);
		if (pf[0].revents & POLLIN) {
			for (int i = 0; i < 4096; i++) {
				ssize_t n = read(tun, pkt, sizeof(pkt));
				if (n <= 0)
					break;
				uint64_t t = mono_us() - t0;
				if (pcap)
					pcap_write(pcap, pkt, (size_t)n);
				sim_engine_input(&e, pkt, (size_t)n, t);
				if (!tun_first)
					tun_first = t ? t : 1;
				tun_last = t;
			}
		}
		now = mono_us();
		if (sc.flood_pps && status < 0) {
			uint64_t due = (now - t0) * sc.flood_pps / 1000000u;
			/* At most 2 ms worth per round, so probes are still read and
			 * answered in time when writing falls behind. */
			uint64_t cap = sc.flood_pps / 500 + 1;
			for (uint64_t k = 0; flood_sent < due && k < cap; k++) {
				uint8_t fp[1280];
				size_t fl = sim_flood_packet(&sc, sc.flood_family, flood_sent, fp, sizeof(fp));
				if (!fl || write(tun, fp, fl) < 0)
					break;
				flood_sent++;
				flood_written++;
			}
			if (due > flood_sent + cap * 4)
				flood_sent = due - cap * 4; /* behind: do not burst to catch up */
			flood_end = mono_us();
		}
		while ((top = sim_heap_top(&e.heap)) && t0 + top->at_us <= now) {
			struct sim_out *so = sim_heap_pop(&e.heap);
			if (pcap)
				pcap_write(pcap, so->data, so->len);
			if (write(tun, so->data, so->len) < 0 && errno != EAGAIN && errno != ENOBUFS)
				perror("hoptrace-sim: write tun");
			free(so);
		}
		for (int k = 2; k < 4; k++) {
			if (pf[k].fd >= 0 && (pf[k].revents & (POLLIN | POLLHUP))) {
				char b[4096];
				ssize_t n = read(pf[k].fd, b, sizeof(b));
				if (n > 0) {
					buf_add(k == 2 ? &out : &errb, b, (size_t)n);
				} else {
					close(pf[k].fd);
					if (k == 2)
						outp[0] = -1;
					else
						errp[0] = -1;
				}
			}
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGCHLD) {
					killed_by = (int)si.ssi_signo;
					kill(kgrp, SIGTERM);
				}
			}
			int st;
			if (status < 0 && waitpid(child, &st, WNOHANG) == child) {
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				exit_us = mono_us();
			}
		}
		if (status < 0 && now >= deadline) {
			timed_out = true;
			kill(kgrp, SIGKILL);
		}
		if (status >= 0 && outp[0] < 0 && errp[0] < 0)
			break;
		if (status >= 0 && !check && !selftest_tun)
			break;
		if (status >= 0 && selftest_tun && mono_us() > t0 + tun_last + 100000)
			break;
		if (status >= 0 && !exit_us)
			exit_us = mono_us();
		if (status >= 0 && mono_us() > exit_us + 300000)
			break;
	}
	/* Whatever the command left behind in its group goes too. */
	if (check)
		kill(-child, SIGKILL);
	if (status < 0) {
		int st;
		waitpid(child, &st, 0);
		status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		exit_us = mono_us();
	}
	if (rec)
		fflush(rec);
	if (txf) {
		tx_drain(txfd, txf, t0);
		fclose(txf);
		close(txfd);
	}
	if (selftest_tun) {
		double s = (double)(tun_last - tun_first) / 1e6;
		printf("hoptrace-sim TUN: %llu probes received, %llu replies in %.3f s = %.0f "
		       "probes/s\n",
		       (unsigned long long)e.st.probes, (unsigned long long)e.st.replies, s,
		       s > 0 ? (double)e.st.probes / s : 0.0);
	}

	double flood_pps = -1;
	if (sc.flood_pps) {
		/* Packets actually written, over the time the command ran. */
		uint64_t end = exit_us ? exit_us : flood_end;
		double secs = end > t0 ? (double)(end - t0) / 1e6 : 0;
		flood_pps = secs > 0 ? (double)flood_written / secs : 0;
		fprintf(check ? stdout : stderr,
		        "hoptrace-sim: flood: %llu packets in %.3f s = %.0f packets/s (asked %u)\n",
		        (unsigned long long)flood_written, secs, flood_pps, sc.flood_pps);
	}

	int ret = status;
	if (killed_by)
		ret = 128 + killed_by;
	if (check) {
		char why[4096] = "";
		bool ok = true;
		if (timed_out) {
			snprintf(why, sizeof(why), "timed out after %u s", sc.timeout_s);
			ok = false;
		}
		if (ok && sc.expect && !sim_match_output(sc.expect, out.d ? out.d : "", why, sizeof(why)))
			ok = false;
		if (ok && sc.expect_stderr) {
			char w2[4000];
			if (!sim_match_output(sc.expect_stderr, errb.d ? errb.d : "", w2, sizeof(w2))) {
				snprintf(why, sizeof(why), "stderr: %s", w2);
				ok = false;
			}
		}
		if (ok && sc.expect_exit >= 0 && status != sc.expect_exit) {
			snprintf(why, sizeof(why), "exit status %d, expected %d", status, sc.expect_exit);
			ok = false;
		}
		if (ok && sc.record_checks &&
		    !sim_check_record_flood(sc.record_checks, recbuf, (double)(exit_us - t0) / 1000.0,
		                            flood_pps, why, sizeof(why)))
			ok = false;
		if (ok) {
			printf("PASS %s\n", base);
			ret = 0;
		} else {
			printf("FAIL %s: %s\n", base, why);
			printf("--- command: %s\n--- stdout:\n%s--- stderr:\n%s--- exit: %d\n",
			       sc.command ? sc.command : "(argv)", out.d ? out.d : "",
			       errb.d ? errb.d : "", status);
			if (sc.record_checks && recbuf)
				printf("--- probes received: %llu\n", (unsigned long long)e.st.probes);
			ret = 1;
		}
	}
	if (rec) {
		fclose(rec);
		if (check && record_path && recbuf) {
			FILE *f = fopen(record_path, "w");
			if (f) {
				fwrite(recbuf, 1, reclen, f);
				fclose(f);
			}
		}
	}
	free(recbuf);
	if (pcap)
		fclose(pcap);
	free(out.d);
	free(errb.d);
	sim_engine_free(&e);
	if (cmd && cmd != argv + optind) {
		for (char **p = cmd; *p; p++)
			free(*p);
		free(cmd);
	}
	sim_scenario_free(&sc);
	close(tun);
	return ret;
}
