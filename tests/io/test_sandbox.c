/*
 * test_sandbox: the seccomp filters of lib/io/priv.c, one system call per
 * forked child, in each of the filter's modes. Needs no root and no
 * network: a process may confine itself once it has no_new_privs (which
 * libseccomp sets).
 *
 *   test_sandbox kill|errno   what a forbidden call does by default in
 *                             this build (CMake HT_SANDBOX_KILL)
 *
 * A child that survives exits 0 when the call went through and 10 when it
 * was refused with EPERM; trap mode ends it with status 70; kill mode
 * with SIGSYS.
 */
#include "io/io.h"
#include "io/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

enum outcome { PASSED = 0, REFUSED = 10, TRAPPED = 70, KILLED = 1000, OTHER = 2000 };

static const char *outcome_str(int o)
{
	switch (o) {
	case PASSED:
		return "passed";
	case REFUSED:
		return "refused (EPERM)";
	case TRAPPED:
		return "trapped (exit 70)";
	case KILLED:
		return "killed (SIGSYS)";
	}
	return "something else";
}

/* Another process (this test's parent process), read before any filter:
 * getppid() itself is not on the list. */
static pid_t other_pid;

/* The call named op; 0 when it went through, -1 with errno otherwise. */
static int do_op(const char *op)
{
	struct rlimit rl;

	if (!strcmp(op, "execve")) {
		char *const av[] = {"/bin/true", NULL};
		return execve("/bin/true", av, NULL);
	}
	if (!strcmp(op, "mmap_exec")) {
		void *p =
		        mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? -1 : 0;
	}
	if (!strcmp(op, "mmap_rw")) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		               0);
		return p == MAP_FAILED ? -1 : 0;
	}
	if (!strcmp(op, "mprotect_exec") || !strcmp(op, "mprotect_ro")) {
		/* The page was mapped before the filter went in. */
		static char page[4096] __attribute__((aligned(4096)));
		int prot = strcmp(op, "mprotect_ro") ? PROT_READ | PROT_EXEC : PROT_READ;
		return mprotect(page, sizeof(page), prot);
	}
	if (!strcmp(op, "prlimit_self0"))
		return prlimit(0, RLIMIT_NOFILE, NULL, &rl);
	if (!strcmp(op, "prlimit_selfpid"))
		return prlimit(getpid(), RLIMIT_NOFILE, NULL, &rl);
	if (!strcmp(op, "tgkill_self")) /* signal 0: only asks */
		return (int)syscall(SYS_tgkill, getpid(), gettid(), 0);
	if (!strcmp(op, "prlimit_other"))
		return prlimit(other_pid, RLIMIT_NOFILE, NULL, &rl);
	if (!strcmp(op, "prlimit_set")) {
		/* Setting the limit it already has: harmless, still refused. */
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -2;
		return prlimit(0, RLIMIT_NOFILE, &rl, NULL);
	}
	if (!strcmp(op, "epoll")) {
		int fd = epoll_create1(EPOLL_CLOEXEC);
		return fd < 0 ? -1 : 0;
	}
	if (!strcmp(op, "winsize")) {
		struct winsize ws;
		/* Not a terminal: ENOTTY means the kernel saw the call. */
		return ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && errno == EPERM ? -1 : 0;
	}
	if (!strcmp(op, "bind")) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			return -2;
		return bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (!strcmp(op, "socket_inet")) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		return fd < 0 ? -1 : 0;
	}
	if (!strcmp(op, "socket_packet")) {
		int fd = socket(AF_PACKET, SOCK_RAW, 0);
		return fd < 0 ? -1 : 0;
	}
	fprintf(stderr, "test_sandbox: unknown op %s\n", op);
	return -2;
}

/* Run op in a child under the filter chosen by flags. */
static int run(int flags, const char *op)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		/* The trap handler's message would clutter the test's output. */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		int rc = ht_sandbox_enter_flags(flags);
		if (rc < 0)
			_exit(3);
		rc = do_op(op);
		_exit(rc == 0 ? PASSED : rc == -1 && errno == EPERM ? REFUSED : 4);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGSYS ? KILLED : OTHER;
	if (WIFEXITED(status) && (WEXITSTATUS(status) == PASSED || WEXITSTATUS(status) == REFUSED ||
	                          WEXITSTATUS(status) == TRAPPED))
		return WEXITSTATUS(status);
	return OTHER;
}

static int failures, checks;

static void expect(const char *mode, int flags, const char *op, int want)
{
	int got = run(flags, op);

	checks++;
	if (got != want) {
		failures++;
		printf("FAIL: %s filter, %s: want %s, got %s\n", mode, op, outcome_str(want),
		       outcome_str(got));
	}
}

int main(int argc, char **argv)
{
	static const char *const forbidden[] = {"execve",        "mmap_exec",   "mprotect_exec",
	                                        "prlimit_other", "prlimit_set", "socket_packet"};
	static const char *const allowed[] = {"mmap_rw",         "mprotect_ro", "prlimit_self0",
	                                      "prlimit_selfpid", "socket_inet", "epoll",
	                                      "winsize",         "bind",        "tgkill_self"};
	const size_t nf = sizeof(forbidden) / sizeof(forbidden[0]);
	const size_t na = sizeof(allowed) / sizeof(allowed[0]);

	if (argc != 2 || (strcmp(argv[1], "kill") && strcmp(argv[1], "errno"))) {
		fprintf(stderr, "usage: test_sandbox kill|errno\n");
		return 2;
	}
#ifdef HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND) {
		/* lib/io installs no filter under valgrind (see priv.c). */
		printf("test_sandbox: under valgrind: no filter to test\n");
		return 0;
	}
#endif
	other_pid = getpid();
	/* The filters compiled with the build (kill and EPERM; trap mode is
	 * built at run time) are what libseccomp makes of the same rules for
	 * this process. */
	char err[256];
	int pre = ht_sandbox_check_precompiled(err, sizeof(err));
	checks++;
	if (pre < 0) {
		failures++;
		printf("FAIL: %s\n", err);
	} else if (pre > 0) {
		printf("test_sandbox: %d filters compiled with the build, each the same as "
		       "libseccomp's\n",
		       pre);
	} else {
		printf("test_sandbox: no filter compiled with this build (built at run time)\n");
	}
	/* The program's filter in its three modes: the children have process
	 * ids of their own, which the compiled filters get at load time. */
	for (size_t i = 0; i < nf; i++) {
		expect("trap", HT_SANDBOX_TRAP, forbidden[i], TRAPPED);
		expect("errno", HT_SANDBOX_ERRNO, forbidden[i], REFUSED);
		expect("kill", HT_SANDBOX_KILL, forbidden[i], KILLED);
	}
	for (size_t i = 0; i < na; i++) {
		expect("trap", HT_SANDBOX_TRAP, allowed[i], PASSED);
		expect("errno", HT_SANDBOX_ERRNO, allowed[i], PASSED);
		expect("kill", HT_SANDBOX_KILL, allowed[i], PASSED);
	}

	/* This build's default: a release build kills. */
	bool kills = !strcmp(argv[1], "kill");
	checks++;
	if (ht_sandbox_default_kills() != kills) {
		failures++;
		printf("FAIL: the build's default action is %s, want %s\n",
		       ht_sandbox_default_kills() ? "kill" : "errno", argv[1]);
	}
	expect("default", 0, "execve", kills ? KILLED : REFUSED);
	expect("default", 0, "mprotect_exec", kills ? KILLED : REFUSED);
	expect("default", 0, "prlimit_other", kills ? KILLED : REFUSED);
	expect("default", 0, "prlimit_self0", PASSED);

	/* The resolver child's filter: narrower (no event loop, bind or
	 * terminal ioctls), the same limits on memory and prlimit64. */
	const int rt = HT_SANDBOX_RESOLVER | HT_SANDBOX_TRAP;
	for (size_t i = 0; i < nf; i++)
		expect("resolver", rt, forbidden[i], TRAPPED);
	expect("resolver", rt, "epoll", TRAPPED);
	expect("resolver", rt, "winsize", TRAPPED);
	expect("resolver", rt, "bind", TRAPPED);
	expect("resolver", rt, "socket_inet", PASSED);
	expect("resolver", rt, "mmap_rw", PASSED);
	expect("resolver", rt, "prlimit_self0", PASSED);
	expect("resolver", rt, "prlimit_selfpid", PASSED);
	expect("resolver", rt, "tgkill_self", PASSED);
	/* The same through the compiled ones. */
	for (size_t i = 0; i < nf; i++) {
		expect("resolver errno", HT_SANDBOX_RESOLVER | HT_SANDBOX_ERRNO, forbidden[i],
		       REFUSED);
		expect("resolver kill", HT_SANDBOX_RESOLVER | HT_SANDBOX_KILL, forbidden[i],
		       KILLED);
	}
	expect("resolver errno", HT_SANDBOX_RESOLVER | HT_SANDBOX_ERRNO, "bind", REFUSED);
	expect("resolver kill", HT_SANDBOX_RESOLVER | HT_SANDBOX_KILL, "epoll", KILLED);
	expect("resolver errno", HT_SANDBOX_RESOLVER | HT_SANDBOX_ERRNO, "prlimit_selfpid", PASSED);
	expect("resolver kill", HT_SANDBOX_RESOLVER | HT_SANDBOX_KILL, "tgkill_self", PASSED);

	printf("test_sandbox: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
