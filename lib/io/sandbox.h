/*
 * The seccomp filters of priv.c without loading them: for the build, which
 * compiles them ahead of time (gen/sandbox_gen.c), and for the tests, which
 * check what it made.
 */
#ifndef HT_IO_SANDBOX_H
#define HT_IO_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Written by the build into sandbox_bpf.h where pid goes (see priv.c):
 * above any process id Linux hands out (PID_MAX_LIMIT is 4194304). */
#define HT_SB_PID_PLACEHOLDER 0x7ffffffeu

/*
 * flags 0 (the program's filter) or HT_SANDBOX_RESOLVER; forbidden calls
 * kill the process (kill) or fail with EPERM; pid the process id the
 * filter compares with. Writes the BPF program to fd (libseccomp's
 * export). 0 or a negative errno.
 */
int ht_sandbox_export(int flags, bool kill, uint32_t pid, int fd);

/* Checks every filter compiled with hoptrace against the one libseccomp
 * builds now for this process, for the same rules: the number checked (0:
 * the build compiled none), or -1 with why in err. */
int ht_sandbox_check_precompiled(char *err, size_t errlen);

#endif
