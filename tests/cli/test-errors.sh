#!/bin/sh
# Bad command lines: each must print exactly one line "hoptrace: <msg>" on
# stderr, nothing on stdout, and exit 2. No network is touched: every case
# fails before a socket is opened or a name is resolved.
# Usage: tests/cli/test-errors.sh path/to/hoptrace
set -u
HT=${1:?usage: test-errors.sh path/to/hoptrace}
[ -x "$HT" ] || { echo "test-errors: $HT is not executable" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
# Run as root, hoptrace reads a --batch list as nobody: let it in.
chmod 755 "$TMP"
pass=0
fail=0

# expect_err "message" args...
expect_err() {
	want="hoptrace: $1"
	shift
	"$HT" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	got=$(cat "$TMP/err")
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" = 2 ] && [ "$got" = "$want" ] && [ "$lines" = 1 ] && [ ! -s "$TMP/out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: hoptrace $*"
		echo "  want exit 2, stderr: $want"
		echo "  got  exit $rc, stderr ($lines lines): $got"
		[ -s "$TMP/out" ] && echo "  stdout was not empty: $(head -c 200 "$TMP/out")"
	fi
}

# expect_ok "stdout first line" args...  (exit 0, empty stderr)
expect_ok() {
	want=$1
	shift
	"$HT" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	got=$(head -n 1 "$TMP/out")
	if [ "$rc" = 0 ] && [ "$got" = "$want" ] && [ ! -s "$TMP/err" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: hoptrace $*"
		echo "  want exit 0, first line: $want"
		echo "  got  exit $rc, first line: $got; stderr: $(head -c 200 "$TMP/err")"
	fi
}

H=198.18.0.1
LONGIF=abcdefghijabcdefghijabcdefghijabcdefghij

# Unknown options, missing values.
expect_err "unknown option '-x' (try --help)" -x $H
expect_err "unknown option '--bogus' (try --help)" --bogus $H
expect_err "unknown option '--bogus=1' (try --help)" --bogus=1 $H
expect_err "unknown option '-x' (try --help)" --json -xn $H
expect_err "option '--help' takes no value" --help=1
expect_err "option '-q' needs a value" $H -q
expect_err "option '--queries' needs a value" $H --queries
expect_err "option '--pps' needs a value" $H --pps
# Ranges.
expect_err "invalid probes per hop '0': must be 1 to 10" -q 0 $H
expect_err "invalid probes per hop '11': must be 1 to 10" -q 11 $H
expect_err "invalid probes per hop '+3': must be 1 to 10" -q +3 $H
expect_err "invalid probes per hop '3x': must be 1 to 10" -q 3x $H
expect_err "invalid max hops '0': must be 1 to 255" -m 0 $H
expect_err "invalid max hops '256': must be 1 to 255" -m 256 $H
expect_err "invalid max hops '99999999999999999999': must be 1 to 255" -m 99999999999999999999 $H
expect_err "invalid first TTL '0': must be 1 to 255" -f 0 $H
expect_err "first TTL 10 is beyond max hops 5" -f 10 -m 5 $H
expect_err "invalid wait '-1': MAX must be 0.001 to 60 seconds" -w -1 $H
expect_err "invalid wait 'abc': MAX must be 0.001 to 60 seconds" -w abc $H
expect_err "invalid wait 'nan': MAX must be 0.001 to 60 seconds" -w nan $H
expect_err "invalid wait '1,2,3,4': expected MAX[,HERE[,NEAR]]" -w 1,2,3,4 $H
expect_err "invalid wait 'x': HERE must be 0 to 1000" -w 1,x $H
expect_err "invalid wait '1001': NEAR must be 0 to 1000" -w 1,2,1001 $H
expect_err "invalid port '0': must be 1 to 65535" -p 0 $H
expect_err "invalid port '70000': must be 1 to 65535" -p 70000 $H
expect_err "invalid TOS '256': must be 0 to 255" -t 256 $H
expect_err "invalid window '0': must be 1 to 65535" -N 0 $H
expect_err "invalid send wait '-1': must be 0 to 10 s (or 11 to 10000 ms)" -z -1 $H
expect_err "invalid packet rate '-5': must be 0 to 10000000" --pps=-5 $H
expect_err "invalid gap limit '0': must be 1 to 255" --gap-limit 0 $H
# Addresses and names.
expect_err "invalid source address 'not-an-address': must be a numeric IPv4 or IPv6 address" \
	-s not-an-address $H
expect_err "source address '198.18.0.2' is not IPv6" -6 -s 198.18.0.2 2001:db8::1
expect_err "invalid interface name 'abcdefghijabcdefghijabcdefghijab': must be 1 to 15 characters, no '/' or spaces" \
	-i $LONGIF $H
expect_err "invalid interface name '': must be 1 to 15 characters, no '/' or spaces" -i "" $H
expect_err "'2001:db8::1' is not an IPv4 address" -4 2001:db8::1
expect_err "'198.18.0.1' is not an IPv6 address" -6 198.18.0.1
# Arguments.
expect_err "no host given (try --help)"
expect_err "no host given (try --help)" -n -q 2
expect_err "empty host name" ""
expect_err "unexpected argument 'b' (try --help)" $H 60 b
expect_err "invalid packet length 'a': must be 28 to 65000" $H a b
expect_err "invalid packet length '27': must be 28 to 65000" $H 27
expect_err "invalid packet length '70000': must be 28 to 65000" $H 70000
expect_err "packet length 30 is too short: this method needs at least 40" -T $H 30
expect_err "packet length 50 is too short: this method needs at least 60" -T 2001:db8::1 50
expect_err "--json and --jsonl cannot be combined" --json --jsonl $H
# Batch input. A list that cannot be read, or holds no target, is refused
# (exit 2). A refused line is reported by FILE:LINE:COL and the batch goes
# on with the next line (exit 1 at the end): expect_bad.
expect_bad() {
	want="hoptrace: $1"
	shift
	"$HT" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	got=$(cat "$TMP/err")
	if [ "$rc" = 1 ] && [ "$got" = "$want" ] && [ ! -s "$TMP/out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: hoptrace $*"
		echo "  want exit 1, stderr: $want"
		echo "  got  exit $rc, stderr: $got"
	fi
}
printf '# fine\nbad one\n' >"$TMP/two-words"
printf 'evil\033[2Jname\n' >"$TMP/escape"
printf '# nothing here\n\n' >"$TMP/empty"
expect_err "cannot read $TMP/missing: No such file or directory" --batch "$TMP/missing"
expect_err "--batch needs a file name ('-' for standard input)" --batch ""
expect_err "invalid parallel traces '0': must be 1 to 4096" --parallel 0 --batch "$TMP/empty"
expect_err "invalid parallel traces '4097': must be 1 to 4096" --parallel=4097 $H
expect_err "invalid parallel traces '+8': must be 1 to 4096" --parallel +8 $H
BATCH_ONLY="--no-distance, --no-stopset and --no-predict are for --batch (a single trace sends all its probes at once)"
expect_err "$BATCH_ONLY" --no-predict $H
expect_err "$BATCH_ONLY" --no-distance $H
RESUME_ONLY="--resume works with --batch and --jsonl only (it reads an earlier run's --jsonl output)"
expect_err "$RESUME_ONLY" --resume "$TMP/empty" $H
expect_err "$RESUME_ONLY" --jsonl --resume "$TMP/empty" $H
expect_err "$RESUME_ONLY" --json --resume "$TMP/empty" --batch "$TMP/empty"
expect_err "--resume needs a file name" --resume= --jsonl --batch "$TMP/empty"
expect_err "--batch takes its targets from the file, not '$H' (try --help)" --batch "$TMP/empty" $H
expect_bad "$TMP/two-words:2:5: more than one word on the line (one target per line)" \
	--batch "$TMP/two-words"
# A refused line is never shown: its bad byte by value and column only.
expect_bad "$TMP/escape:1:5: invalid byte 0x1b" --batch "$TMP/escape"
printf '  pass=hunter2\n\n  x=1\n' >"$TMP/secret"
expect_bad "$TMP/secret:1:7: invalid byte 0x3d
hoptrace: $TMP/secret:3:4: invalid byte 0x3d" --batch "$TMP/secret"
# An overlong line is skipped to its end; the next line is read.
{ head -c 5000 /dev/zero | tr '\0' a; printf '\nb$\n'; } >"$TMP/long"
expect_bad "$TMP/long:1:4097: line longer than 4096 bytes
hoptrace: $TMP/long:2:2: invalid byte 0x24" --batch "$TMP/long"
expect_err "$TMP/empty: no targets" -n --batch="$TMP/empty"
expect_err "invalid packet length '20': must be 28 to 65000" --batch "$TMP/empty" 20
if "$HT" --batch - </dev/null >"$TMP/out" 2>"$TMP/err" ||
	[ "$(cat "$TMP/err")" != "hoptrace: standard input: no targets" ]; then
	fail=$((fail + 1)); echo "FAIL: --batch - with empty stdin: $(cat "$TMP/err")"
else
	pass=$((pass + 1))
fi
# A target of the wrong family is named by its line, not its text, and
# the batch exits 1 (nothing to trace, nothing sent).
printf '# v4 only\n198.18.0.1\n' | "$HT" -n -6 --batch - >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" = 1 ] && [ "$(cat "$TMP/err")" = "hoptrace: standard input:2: not an IPv6 address" ] &&
	[ ! -s "$TMP/out" ]; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)); echo "FAIL: --batch - -6 with an IPv4 target: exit $rc, $(cat "$TMP/err")"
fi
# What does work without the network.
expect_ok "Usage: hoptrace [options] host [packet_len]" --help
expect_ok "Usage: hoptrace [options] host [packet_len]" -h
expect_ok "hoptrace 0.1.0" --version
expect_ok "hoptrace 0.1.0" -V
if "$HT" --help | grep -q -- '--jsonl'; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL: --help does not list --jsonl"; fi

echo "cli errors: $pass passed, $fail failed"
[ "$fail" = 0 ]
