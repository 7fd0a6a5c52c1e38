#!/bin/sh
# Least privilege, statically: only the privileged I/O module may touch
# capabilities, uids/gids or the capability bounding set. Any other C file
# that includes the capability headers or calls these functions fails
# the test, so a new privileged path cannot slip in unreviewed.
# Usage: tests/cli/test-cap-confinement.sh [SOURCE_ROOT]
#        tests/cli/test-cap-confinement.sh --self-test
#          (proves the checker catches each kind of violation)
set -u

if [ "${1:-}" = "--self-test" ]; then
	self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT INT TERM
	mkdir -p "$T/lib/io" "$T/src" "$T/tests/sim"
	printf '#include <sys/capability.h>\nint f(void){cap_t c = cap_get_proc(); return !c;}\n' \
		>"$T/lib/io/priv.c"
	printf '#include <sys/prctl.h>\nint g(void){return setgroups(0, 0);}\n' >"$T/tests/sim/main.c"
	printf '/* setuid( in a comment is fine */\nint ok(void){return 0;}\n' >"$T/src/ok.c"
	"$self" "$T" >/dev/null || { echo "self-test: clean tree rejected"; exit 1; }
	n=0
	for body in '#include <sys/capability.h>' '#include "linux/capability.h"' \
		'int h(void){return setuid(0);}' 'int h(void){return setresgid(1,1,1);}' \
		'int h(void){return cap_set_proc(0);}' 'int h(void){return prctl(PR_CAPBSET_DROP, 1);}' \
		'int h(void){return prctl(PR_CAP_AMBIENT, 4);}' 'int h(void){return syscall(SYS_capset, 0, 0);}' \
		'int h(void){ return setgid (3); }'; do
		printf '%s\n' "$body" >"$T/src/bad.c"
		if "$self" "$T" >/dev/null; then
			echo "self-test: not caught: $body"
			exit 1
		fi
		n=$((n + 1))
	done
	rm "$T/src/bad.c"
	printf 'int g(void){return setuid(1);}\n' >"$T/lib/io/other.c"
	"$self" "$T" >/dev/null && { echo "self-test: lib/io/other.c not caught"; exit 1; }
	echo "cap-confinement self-test: $((n + 1)) violations caught, clean tree accepted"
	exit 0
fi
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 1

# The one file of the program allowed to do all of this.
ALLOW="lib/io/priv.c"
# Test harnesses that are never installed nor linked into the program and
# must switch users themselves (the simulator runs the prober under an
# unprivileged uid). Each one is named here explicitly, with its reason.
TEST_ALLOW="tests/sim/main.c"

# Includes that only privilege code needs (sys/prctl.h itself is fine: it
# also serves PR_SET_NO_NEW_PRIVS and PR_SET_PDEATHSIG; its capability
# operations are caught below).
INC_RE='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](sys/capability\.h|linux/capability\.h|linux/securebits\.h)[>"]'
# Calls: libcap, the raw syscalls, identity changes, prctl capability
# operations and PR_SET_KEEPCAPS / securebits.
CALL_RE='(^|[^A-Za-z0-9_.>])(cap_[a-z_]+|capset|capget|setuid|seteuid|setreuid|setresuid|setgid|setegid|setregid|setresgid|setgroups|setfsuid|setfsgid|initgroups)[[:space:]]*\(|PR_CAPBSET_|PR_CAP_AMBIENT|PR_SET_KEEPCAPS|PR_SET_SECUREBITS|SYS_capset|__NR_capset'

# Every C source and header of the project, build directories excluded.
files=$(find . \( -name 'build*' -o -name '.git' -o -name debian \) -prune -o \
	\( -name '*.c' -o -name '*.h' \) -type f -print | sed 's|^\./||' | sort)
[ -n "$files" ] || { echo "cap-confinement: no C files under $ROOT" >&2; exit 1; }

checked=0
bad=0
for f in $files; do
	checked=$((checked + 1))
	[ "$f" = "$ALLOW" ] && continue
	case " $TEST_ALLOW " in *" $f "*) continue ;; esac
	# Drop // and /* */ comments on one line so prose may mention them.
	hits=$(sed -e 's|//.*$||' -e 's|/\*.*\*/||g' "$f" | grep -nE "$INC_RE|$CALL_RE")
	if [ -n "$hits" ]; then
		bad=$((bad + 1))
		echo "FAIL: $f touches privileges outside $ALLOW:"
		echo "$hits" | sed 's/^/  /'
	fi
done

# The allowed file must exist and really be where privileges are handled,
# or the allow-list is stale.
if [ ! -f "$ALLOW" ]; then
	echo "FAIL: $ALLOW is missing (the allow-list names it)"
	bad=$((bad + 1))
elif ! grep -qE 'cap_|capset|setresuid|PR_CAPBSET' "$ALLOW"; then
	echo "FAIL: $ALLOW does not drop capabilities (allow-list out of date?)"
	bad=$((bad + 1))
fi

# No program or library source may be on the test allow-list.
for f in $TEST_ALLOW; do
	case "$f" in tests/*) ;; *)
		echo "FAIL: $f is on the test allow-list but is not a test harness"
		bad=$((bad + 1)) ;;
	esac
done

echo "cap-confinement: $checked C files checked, $bad problems"
[ "$bad" = 0 ]
