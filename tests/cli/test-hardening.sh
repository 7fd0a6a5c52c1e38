#!/bin/sh
# The program `make install` gives a capability to is built hardened: a
# position-independent executable, full RELRO (the GNU_RELRO segment and
# immediate binding, so the GOT is read-only once loaded), the stack
# protector and FORTIFY_SOURCE (their checking functions are linked in).
# Read from the binary with readelf, so it holds whatever flags produced it.
# Usage: tests/cli/test-hardening.sh path/to/hoptrace
set -u
HT=${1:?usage: test-hardening.sh path/to/hoptrace}
[ -f "$HT" ] || { echo "hardening: $HT not found"; exit 1; }
command -v readelf >/dev/null 2>&1 || { echo "hardening: readelf is not installed"; exit 1; }
fail=0
pass=0
check() {
	if [ "$1" = 0 ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL: $2"
	fi
}

readelf -hW "$HT" | grep -Eq 'Type:[[:space:]]+DYN'
check $? "not a position-independent executable: $(readelf -hW "$HT" | grep Type:)"
readelf -lW "$HT" | grep -q 'GNU_RELRO'
check $? "no GNU_RELRO program header (link with -z relro)"
readelf -dW "$HT" | grep -Eq '\(BIND_NOW\)|\(FLAGS\).*[[:space:]]BIND_NOW|\(FLAGS_1\).*[[:space:]]NOW'
check $? "no immediate binding: neither BIND_NOW nor the NOW flag (link with -z now)"
syms=$(readelf --dyn-syms -W "$HT")
echo "$syms" | grep -q ' __stack_chk_fail'
check $? "__stack_chk_fail is not used (compile with -fstack-protector-strong)"
echo "$syms" | grep -Eq ' __[a-z0-9_]+_chk(@|$)'
check $? "no __*_chk function is used (compile with -D_FORTIFY_SOURCE=2 and optimisation)"

echo "hardening: $pass checks passed, $fail failed"
[ "$fail" = 0 ]
