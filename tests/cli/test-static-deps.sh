#!/bin/sh
# Built with HT_STATIC_DEPS (the default), the program loads no shared
# library but the C library at start: c-ares, jansson, libcap, libseccomp
# and ncurses are linked in from their static archives, which is what
# brings a trace's start-up under traceroute's. Read from the binary.
# Sanitizer builds also load their runtime's libraries (libm, libgcc_s):
# there only the five are checked; --libc-only checks the rest.
# Usage: tests/cli/test-static-deps.sh path/to/hoptrace [--libc-only]
set -u
HT=${1:?usage: test-static-deps.sh path/to/hoptrace [--libc-only]}
ONLY_LIBC=${2:-}
[ -f "$HT" ] || { echo "static-deps: $HT not found"; exit 1; }
command -v readelf >/dev/null 2>&1 || { echo "static-deps: readelf is not installed"; exit 1; }
needed=$(readelf -dW "$HT" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "static-deps: no NEEDED entry read from $HT"; exit 1; }
deps=$(echo "$needed" | grep -E '^lib(cares|jansson|cap|seccomp|ncursesw?|tinfo)\.so' || true)
if [ -n "$deps" ]; then
	echo "static-deps: FAIL: loaded as shared libraries at start:" $deps
	exit 1
fi
other=$(echo "$needed" | grep -v '^libc\.so\.' || true)
if [ "$ONLY_LIBC" = --libc-only ] && [ -n "$other" ]; then
	echo "static-deps: FAIL: shared libraries other than libc are loaded at start:" $other
	exit 1
fi
# The libraries are in: one function of each is defined in the binary.
missing=""
for f in ares_init_options json_dumps cap_get_proc seccomp_init newterm; do
	readelf -sW "$HT" | awk '$4 == "FUNC" && $7 != "UND" {print $8}' | grep -qx "$f" ||
		missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "static-deps: FAIL: not linked in:$missing"
	exit 1
fi
echo "static-deps: NEEDED is" $needed"; c-ares, jansson, libcap, libseccomp and ncurses are linked in"
