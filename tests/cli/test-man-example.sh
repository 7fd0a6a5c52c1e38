#!/bin/sh
# The man page's example output (docs/hoptrace.1, the .EX blocks of
# OUTPUT) is what hoptrace prints: it must equal the [expect] of the
# simulator scenario hoptrace-man-example, which sim.hoptrace-man-example
# checks against the real program, up to the RTT values. Spacing, names,
# addresses and annotations are compared exactly.
# Usage: tests/cli/test-man-example.sh [SOURCE_ROOT]
set -u
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
MAN=$ROOT/docs/hoptrace.1
SCN=$ROOT/tests/sim/scenarios/hoptrace-man-example.scn
for f in "$MAN" "$SCN"; do
	[ -f "$f" ] || { echo "FAIL: $f is missing"; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# The man page: the header and hop lines of its example blocks; groff's
# \- is a minus. RTTs become "N ms".
awk '/^\.EX/ { p = 1; next } /^\.EE/ { p = 0; next }
	p && (/^hoptrace to / || /^ ?[0-9]+  /)' "$MAN" |
	sed -e 's/\\-/-/g' -e 's/[0-9][0-9]*\.[0-9][0-9]* ms/N ms/g' >"$TMP/man"
# The scenario: its [expect] section; placeholders ~N become "N".
awk '/^\[expect\]/ { p = 1; next } /^\[/ { p = 0 } p && NF' "$SCN" |
	sed -e 's/~[0-9.*+-]* ms/N ms/g' >"$TMP/scn"

if [ ! -s "$TMP/man" ]; then
	echo "FAIL: no example output found in $MAN"
	exit 1
fi
if ! diff -u "$TMP/scn" "$TMP/man" >"$TMP/diff"; then
	echo "FAIL: the man page's example output differs from what hoptrace prints"
	echo "(--- the simulated run, tests/sim/scenarios/hoptrace-man-example.scn; +++ docs/hoptrace.1):"
	cat -A "$TMP/diff" | sed 's/\$$//'
	exit 1
fi
echo "man page example: $(wc -l <"$TMP/man") lines as printed"
