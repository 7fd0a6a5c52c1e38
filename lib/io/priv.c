/*
 * Privileges: the ONLY file of hoptrace that may include
 * <sys/capability.h>, change ids, or touch capabilities and seccomp
 * (a test enforces this).
 *
 * The order is: open the raw sockets (ht_io_open), then ht_priv_drop()
 * (no root uid, no capabilities, no new privileges, not dumpable), then, when the
 * front end is ready, ht_sandbox_enter() (seccomp). Untrusted packets and
 * DNS answers are parsed only after that.
 */
#include "io_internal.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#ifndef HT_ASAN
#if defined(__SANITIZE_ADDRESS__)
#define HT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HT_ASAN 1
#endif
#endif
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HT_HAVE_VALGRIND_H 1
#endif
#endif

#define HT_NOBODY_ID 65534

/* Whether the process held privilege when ht_priv_drop() ran: the
 * environment is honoured only when it did not. */
static int priv_was_privileged = -1;
/* ht_priv_start(), read once: before the drop it describes the start. */
static int priv_start = -1;

bool ht_priv_have_raw(void)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Capability c of a libcap set as a bit of a 64-bit mask. */
static uint64_t cap_mask(cap_t caps, cap_flag_t which, int last)
{
	uint64_t m = 0;

	for (int c = 0; c <= last && c < 64; c++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(caps, (cap_value_t)c, which, &v) == 0 && v == CAP_SET)
			m |= 1ull << c;
	}
	return m;
}

static int cap_last(void);

static int parse_ids(const char *s, unsigned long v[4])
{
	return sscanf(s, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4 ? 0 : -EINVAL;
}

int ht_priv_read_state(struct ht_priv_state *st)
{
	char line[256];
	int seen = 0;
	FILE *f = fopen("/proc/self/status", "re");

	memset(st, 0, sizeof(*st));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (!strncmp(line, "Uid:", 4) && parse_ids(line + 4, st->uid) == 0)
			seen |= 1;
		else if (!strncmp(line, "Gid:", 4) && parse_ids(line + 4, st->gid) == 0)
			seen |= 2;
		else if (sscanf(line, "CapInh: %llx", &v) == 1)
			st->cap_inh = v, seen |= 4;
		else if (sscanf(line, "CapPrm: %llx", &v) == 1)
			st->cap_prm = v, seen |= 8;
		else if (sscanf(line, "CapEff: %llx", &v) == 1)
			st->cap_eff = v, seen |= 16;
		else if (sscanf(line, "CapBnd: %llx", &v) == 1)
			st->cap_bnd = v, seen |= 32;
		else if (sscanf(line, "CapAmb: %llx", &v) == 1)
			st->cap_amb = v, seen |= 64;
		else if (sscanf(line, "NoNewPrivs: %d", &st->no_new_privs) == 1)
			seen |= 128;
		else if (sscanf(line, "Seccomp: %d", &st->seccomp) == 1)
			seen |= 256;
	}
	fclose(f);
	/* Ambient capabilities (4.3) and the NoNewPrivs line (4.10) are
	 * newer than the rest; everything else must be there. */
	return (seen & 63) == 63 ? 0 : -EIO;
}

/*
 * The process's privilege state as ht_priv_read_state() gives it, from
 * system calls instead of /proc/self/status (the same facts in a fraction
 * of the time: start-up reads it twice, before the sandbox): ids, the
 * capability sets (capget through libcap; the ambient set by prctl; not
 * the bounding set), the no_new_privs flag and the seccomp mode. Tests and
 * --debug-status read /proc instead, a second witness.
 */
static int priv_read_fast(struct ht_priv_state *st)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int last = cap_last(), v;
	cap_t caps;

	memset(st, 0, sizeof(*st));
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	st->uid[0] = r, st->uid[1] = e, st->uid[2] = s;
	st->gid[0] = rg, st->gid[1] = eg, st->gid[2] = sg;
	/* setfsuid/setfsgid with an invalid id change nothing and return
	 * the current one. */
	st->uid[3] = (unsigned long)setfsuid((uid_t)-1);
	st->gid[3] = (unsigned long)setfsgid((gid_t)-1);
	if (!(caps = cap_get_proc()))
		return -errno;
	st->cap_inh = cap_mask(caps, CAP_INHERITABLE, last);
	st->cap_prm = cap_mask(caps, CAP_PERMITTED, last);
	st->cap_eff = cap_mask(caps, CAP_EFFECTIVE, last);
	cap_free(caps);
	/* The bounding set is not read: neither the start nor the drop's
	 * check uses it (cap_bnd stays 0), and it costs a call per bit. */
	for (int c = 0; c <= last && c < 64; c++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			st->cap_amb |= 1ull << c;
	if ((v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) < 0)
		return -errno;
	st->no_new_privs = v;
	if ((v = prctl(PR_GET_SECCOMP, 0, 0, 0, 0)) < 0)
		return -errno;
	st->seccomp = v;
	return 0;
}

/* The highest capability number the running kernel knows: the last one
 * the bounding set can be asked about (prctl fails with EINVAL past it),
 * found once by bisection, without opening /proc. */
static int cap_last(void)
{
	static int last = -1;
	int lo = 0, hi = 63;

	if (last >= 0)
		return last;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (prctl(PR_CAPBSET_READ, mid, 0, 0, 0) >= 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	last = lo;
	return last;
}

static bool have_cap(cap_value_t c)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps) {
		cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

int ht_priv_start(void)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct ht_priv_state st;
	int rc;

	if (priv_start >= 0)
		return priv_start;
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return -errno;
	if ((rc = priv_read_fast(&st)) < 0)
		return rc;
	if (ruid == 0)
		priv_start = HT_PRIV_START_ROOT;
	else if (ruid != euid || ruid != suid || rgid != egid || rgid != sgid || euid == 0 ||
	         st.cap_prm || st.cap_eff || st.cap_amb)
		priv_start = HT_PRIV_START_USER;
	else
		priv_start = HT_PRIV_START_NONE;
	return priv_start;
}

int ht_priv_drop(void)
{
	uid_t ruid, euid, suid, uid;
	gid_t rgid, egid, sgid, gid;
	struct ht_priv_state st;
	int rc;

	if ((rc = ht_priv_start()) < 0)
		return rc;
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return -errno;
	/* Judged on the identity the process had at start: ht_priv_start()
	 * remembers it from its first call, made before any drop. */
	priv_was_privileged = rc != HT_PRIV_START_NONE;

	/* Who to become: the invoking user; for a real root, nobody and
	 * nogroup, 65534 on Debian (base-passwd fixes them). Not looked up:
	 * the name service may load modules (systemd's, LDAP's) into a
	 * process that still holds raw sockets, and costs start-up time. */
	uid = ruid;
	gid = rgid;
	if (ruid == 0) {
		uid = HT_NOBODY_ID;
		gid = HT_NOBODY_ID;
	}

	/* The bounding set needs CAP_SETPCAP to shrink; without it (file
	 * capabilities) it stays, and no_new_privs makes it moot. */
	if (have_cap(CAP_SETPCAP)) {
		int last = cap_last();
		for (int c = 0; c <= last; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;

	/* Root's supplementary groups go; a setuid program's invoking user
	 * keeps their own (they were never root's). */
	if (ruid == 0 || euid == 0) {
		if (ruid == 0 && setgroups(0, NULL) < 0)
			return -errno;
	}
	if (setresgid(gid, gid, gid) < 0)
		return -errno;
	if (setresuid(uid, uid, uid) < 0)
		return -errno;

	/* Leaving uid 0 cleared permitted and effective; a process with
	 * file capabilities (or a root that stayed root) clears them here. */
	cap_t none = cap_init();
	if (!none)
		return -ENOMEM;
	rc = cap_set_proc(none);
	cap_free(none);
	if (rc < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Nobody may attach to (ptrace), or read the memory of, a process
	 * that still holds raw sockets. The kernel clears this flag by itself
	 * only when ids or capabilities change (setuid, file capabilities,
	 * root becoming nobody), not for a user who started with ambient
	 * capabilities and stays who they were. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;

	/* Verify rather than trust: ids, every capability set, and that
	 * root can not be regained. */
	if ((rc = priv_read_fast(&st)) < 0)
		return rc;
	for (int i = 0; i < 4; i++)
		if (st.uid[i] != uid || st.gid[i] != gid)
			return -EPERM;
	if (st.uid[0] == 0 || st.cap_inh || st.cap_prm || st.cap_eff || st.cap_amb)
		return -EPERM;
	if (!st.no_new_privs || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -EPERM;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return -EPERM;
	return 0;
}

/* ---- seccomp ---------------------------------------------------------- */

/* SCMP_Ax() leaves datum_b implicit, which clang's
 * -Wmissing-field-initializers rejects: spell every field out. */
static struct scmp_arg_cmp sb_arg(unsigned int arg, enum scmp_compare op, scmp_datum_t a,
                                  scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};

	return c;
}

static int sb_allow(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* What both filters allow: the program's and the resolver child's. */
static const char *const sb_syscalls[] = {
	/* Waiting and time. */
	"poll", "ppoll", "select", "pselect6", "clock_gettime", "clock_getres", "gettimeofday",
	"clock_nanosleep", "nanosleep", "time",
	/* Sockets we have, and per-probe / DNS sockets (socket() below). */
	"recvfrom", "recvmsg", "sendto", "sendmsg", "connect", "getsockname", "getpeername",
	"setsockopt", "getsockopt",
	/* Files already open, stdout/stderr, and reading config files
	 * (openat below). */
	"read", "readv", "pread64", "write", "writev", "close", "fstat", "newfstatat", "statx",
	"lseek", "fcntl",
	/* Memory (mmap and mprotect below: never executable). */
	"brk", "munmap", "mremap", "madvise",
	/* Threads, signals, exit. */
	"futex", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "exit", "exit_group",
	"sched_yield", "restart_syscall",
	/* Identity and randomness (c-ares query ids, our ports); reading
	 * limits (prlimit64 below: our own, never setting them). */
	"getrandom", "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
	"getresgid", "uname", "sysinfo", "getrlimit",
};

/* The program's event loop and sockets, on top: the resolver child
 * needs none of these. */
static const char *const sb_main_syscalls[] = {
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "epoll_create1", "recvmmsg",
	"sendmmsg", "bind", "shutdown", "dup", "dup3",
};

#ifdef HT_ASAN
/* What ASan/LSan need at run time and at exit (the leak checker stops
 * the world with a ptrace()d helper task). Only in sanitizer builds. */
static const char *const sb_asan_syscalls[] = {
	"sigaltstack", "prctl", "readlink", "readlinkat", "clone", "clone3", "ptrace", "wait4",
	"waitid", "getdents", "getdents64", "sched_getaffinity", "mincore", "getppid", "rt_sigtimedwait",
	"kill", "tgkill", "tkill", "set_robust_list", "rseq", "arch_prctl",
	"process_vm_readv", "pipe2", "open", "stat", "access", "faccessat", "faccessat2",
};
#endif

static void sb_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[128];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg), "hoptrace: sandbox: system call %d is not allowed\n",
	             si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		n = 0;
	_exit(70);
}

/* The action for a forbidden call; kill as ht_sandbox_enter_flags decided. */
static int sb_action(int flags, bool kill, uint32_t *def)
{
	if (flags & HT_SANDBOX_TRAP) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sb_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			return -errno;
		*def = SCMP_ACT_TRAP;
	} else if (flags & HT_SANDBOX_ERRNO) {
		*def = SCMP_ACT_ERRNO(EPERM);
	} else if (kill) {
		/* The whole process, not only the thread (API level 3, Linux 4.14). */
		*def = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_KILL;
	} else {
		*def = SCMP_ACT_ERRNO(EPERM);
	}
	return 0;
}

bool ht_sandbox_default_kills(void)
{
#ifdef HT_SANDBOX_KILL_DEFAULT
	return true;
#else
	return false;
#endif
}

/* Rules with arguments, for both filters; pid is the process's own. */
static int sb_arg_rules(scmp_filter_ctx ctx, bool main_filter, scmp_datum_t pid)
{
	int rc = 0;

	/* New sockets: IPv4/IPv6 only (per-probe sockets, DNS). Raw sockets
	 * would need a capability we no longer have. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                      sb_arg(0, SCMP_CMP_EQ, AF_INET, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                      sb_arg(0, SCMP_CMP_EQ, AF_INET6, 0));
	/* Opening files read-only (c-ares reads /etc/hosts on reverse
	 * lookups); never for writing or creating. */
	const scmp_datum_t wr = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		                      sb_arg(2, SCMP_CMP_MASKED_EQ, wr, 0));
	/* Memory, but never executable: no new code can be mapped in. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		                      sb_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		                      sb_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* Reading our own limits (glibc's getrlimit is prlimit64(0, r, NULL,
	 * old)): pid 0 or our own, and no new limit. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2,
		                      sb_arg(0, SCMP_CMP_EQ, 0, 0), sb_arg(2, SCMP_CMP_EQ, 0, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2,
		                      sb_arg(0, SCMP_CMP_EQ, pid, 0), sb_arg(2, SCMP_CMP_EQ, 0, 0));
	/* ioctl only for non-blocking reads and, in the program, to ask about
	 * terminals; in particular no TIOCSTI (injecting terminal input). */
	const unsigned long ioctls[] = {FIONREAD, FIONBIO, TCGETS, TIOCGWINSZ};
	size_t nioctl = main_filter ? 4 : 2;
	for (size_t i = 0; i < nioctl && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		                      sb_arg(1, SCMP_CMP_EQ, ioctls[i], 0));
	/* The live view (ncurses) puts the terminal back at exit: setting
	 * terminal modes, on standard input, output or error only. Modes
	 * only: no input can be injected this way. */
	const unsigned long tcsets[] = {TCSETS, TCSETSW, TCSETSF};
	for (size_t i = 0; main_filter && i < 3 && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
		                      sb_arg(0, SCMP_CMP_LE, 2, 0),
		                      sb_arg(1, SCMP_CMP_EQ, tcsets[i], 0));
#ifndef HT_ASAN
	/* abort() signals itself. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		                      sb_arg(0, SCMP_CMP_EQ, pid, 0));
#endif
	return rc;
}

/* The filter for flags (its resolver bit), forbidden calls getting def,
 * pid the process's own: in *out, to load or export. */
static int sb_build(scmp_filter_ctx *out, int flags, uint32_t def, scmp_datum_t pid)
{
	bool main_filter = !(flags & HT_SANDBOX_RESOLVER);
	scmp_filter_ctx ctx;
	int rc = 0;

	*out = NULL;
	ctx = seccomp_init(def);
	if (!ctx)
		return -ENOMEM;
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	/* A binary tree on the syscall number rather than a linear list: the
	 * same rules, a smaller program that the kernel checks and compiles
	 * faster when it is loaded (~35 us of start-up) and that runs fewer
	 * comparisons per call. An older libseccomp at run time refuses the
	 * attribute, and the default layout stays. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
	for (size_t i = 0; i < sizeof(sb_syscalls) / sizeof(sb_syscalls[0]) && rc == 0; i++)
		rc = sb_allow(ctx, sb_syscalls[i]);
	for (size_t i = 0;
	     main_filter && i < sizeof(sb_main_syscalls) / sizeof(sb_main_syscalls[0]) && rc == 0;
	     i++)
		rc = sb_allow(ctx, sb_main_syscalls[i]);
#ifdef HT_ASAN
	for (size_t i = 0; i < sizeof(sb_asan_syscalls) / sizeof(sb_asan_syscalls[0]) && rc == 0;
	     i++)
		rc = sb_allow(ctx, sb_asan_syscalls[i]);
#endif
	if (rc == 0)
		rc = sb_arg_rules(ctx, main_filter, pid);
	if (rc < 0) {
		seccomp_release(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int ht_sandbox_export(int flags, bool kill, uint32_t pid, int fd)
{
	scmp_filter_ctx ctx;
	int rc = sb_build(&ctx, flags, kill ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM), pid);

	if (rc < 0)
		return rc;
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	return rc;
}

/*
 * The same filters, built when hoptrace was (sandbox_bpf.h, by
 * ht_sandbox_gen through ht_sandbox_export): libseccomp takes ~150 us
 * of every start to turn the rules into BPF, the same BPF each time but
 * for the process id in two comparisons, which the build leaves as a
 * placeholder. Only for what a real run asks (kill, or EPERM), not
 * sanitizer builds; the test suite checks each one against libseccomp's
 * own output for the same rules (ht_sandbox_check_precompiled).
 */
#if defined(HT_HAVE_SANDBOX_BPF) && !defined(HT_ASAN) && !defined(HT_SANDBOX_GEN)
/* One filter: pid_at lists the instructions that compare with the process
 * id (their k is the placeholder until patched). */
struct ht_sb_pre {
	bool resolver; /* HT_SANDBOX_RESOLVER's filter, else the program's */
	bool kill;     /* forbidden calls kill the process, else fail with EPERM */
	const struct sock_filter *prog;
	size_t len;
	const unsigned short *pid_at;
	size_t npid;
};
#include "sandbox_bpf.h"
#else
#define HT_SB_NPRE   0
#define HT_SB_MAXLEN 1
#endif

#if HT_SB_NPRE > 0
static const struct ht_sb_pre *sb_pre_find(int flags, bool kill)
{
	bool resolver = (flags & HT_SANDBOX_RESOLVER) != 0;

	for (size_t i = 0; i < HT_SB_NPRE; i++)
		if (ht_sb_pre[i].resolver == resolver && ht_sb_pre[i].kill == kill)
			return &ht_sb_pre[i];
	return NULL;
}

/* p's program with our process id in place, into buf. */
static void sb_pre_patch(const struct ht_sb_pre *p, struct sock_filter *buf, uint32_t pid)
{
	memcpy(buf, p->prog, p->len * sizeof(*buf));
	for (size_t i = 0; i < p->npid; i++)
		buf[p->pid_at[i]].k = pid;
}
#endif

/* Load the precompiled filter: 0, a negative errno, or 1 when there is
 * none for this case (the caller builds one with libseccomp). */
static int sb_load_pre(int flags, bool kill)
{
#if HT_SB_NPRE > 0
	const struct ht_sb_pre *p = sb_pre_find(flags, kill);
	struct sock_filter buf[HT_SB_MAXLEN];
	struct sock_fprog prog = {.len = 0, .filter = buf};

	if (!p)
		return 1;
	if (kill) {
		/* Killing the whole process needs Linux 4.14: else libseccomp
		 * picks the thread-only kill, as before. */
		uint32_t act = SECCOMP_RET_KILL_PROCESS;
		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) != 0)
			return 1;
	}
	sb_pre_patch(p, buf, (uint32_t)getpid());
	prog.len = (unsigned short)p->len;
	/* What seccomp_load() does with libseccomp's defaults. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return errno == ENOSYS ? 1 : -errno;
	return 0;
#else
	(void)flags;
	(void)kill;
	return 1;
#endif
}

int ht_sandbox_check_precompiled(char *err, size_t errlen)
{
	int checked = 0;

	err[0] = '\0';
#if HT_SB_NPRE > 0
	for (size_t i = 0; i < HT_SB_NPRE; i++) {
		const struct ht_sb_pre *p = &ht_sb_pre[i];
		struct sock_filter want[HT_SB_MAXLEN];
		uint32_t pid = (uint32_t)getpid();
		int fd = memfd_create("ht_sandbox", MFD_CLOEXEC);
		const char *what = p->resolver ? "resolver" : "program";
		const char *act = p->kill ? "kill" : "EPERM";
		int rc = fd < 0 ? -errno
		                : ht_sandbox_export(p->resolver ? HT_SANDBOX_RESOLVER : 0, p->kill,
		                                    pid, fd);
		ssize_t n = -1;
		struct sock_filter got[HT_SB_MAXLEN + 1];

		if (rc == 0 && (n = pread(fd, got, sizeof(got), 0)) < 0)
			rc = -errno;
		if (fd >= 0)
			close(fd);
		if (rc < 0) {
			snprintf(err, errlen, "cannot build the %s filter (%s) with libseccomp: %s",
			         what, act, strerror(-rc));
			return -1;
		}
		sb_pre_patch(p, want, pid);
		if (n != (ssize_t)(p->len * sizeof(*got)) || memcmp(got, want, (size_t)n) != 0) {
			snprintf(err, errlen,
			         "the %s filter (%s) compiled with the build (%zu instructions) is "
			         "not what libseccomp builds now (%zd)",
			         what, act, p->len, n / (ssize_t)sizeof(*got));
			return -1;
		}
		checked++;
	}
#else
	(void)errlen;
#endif
	return checked;
}

int ht_sandbox_enter_flags(int flags)
{
	uint32_t def = SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx;
	bool kill;
	int rc = 0;

	if (priv_was_privileged == 0 && secure_getenv("HOPTRACE_NO_SANDBOX"))
		return 0;
#ifdef HT_HAVE_VALGRIND_H
	/* Valgrind runs its own system calls inside our process and does not
	 * support seccomp filters (it asserts on the trap signal, or has its
	 * own calls refused). The check is a client request that reads as 0
	 * on a real CPU, so nothing outside can fake it. */
	if (RUNNING_ON_VALGRIND)
		return 0;
#endif
	kill = !(flags & (HT_SANDBOX_TRAP | HT_SANDBOX_ERRNO)) &&
	       ((flags & HT_SANDBOX_KILL) || ht_sandbox_default_kills());
	if (!(flags & HT_SANDBOX_TRAP)) {
		rc = sb_load_pre(flags, kill);
		if (rc <= 0)
			return rc;
	}
	if ((rc = sb_action(flags, kill, &def)) < 0)
		return rc;
	if ((rc = sb_build(&ctx, flags, def, (scmp_datum_t)getpid())) < 0)
		return rc;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int ht_sandbox_enter(void)
{
	return ht_sandbox_enter_flags(0);
}

int ht_sandbox_enter_resolver(void)
{
	return ht_sandbox_enter_flags(HT_SANDBOX_RESOLVER);
}
