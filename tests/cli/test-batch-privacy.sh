#!/bin/sh
# --batch FILE must not disclose files. The list is read only after every
# privilege is dropped (as the invoking user; for root, as nobody), and no
# message shows a line of it: a refused byte is named by its value and
# column. Each case checks the exit status, the one-line message exactly,
# that stdout is empty, and that no byte of the secret appears anywhere.
# Nothing is resolved or sent: every case fails while reading the list.
# Usage: tests/cli/test-batch-privacy.sh path/to/hoptrace
set -u
HT=${1:?usage: test-batch-privacy.sh path/to/hoptrace}

skip() {
	echo "batch-privacy: SKIP: $1"
	if [ "${CI:-}" = true ]; then
		echo "batch-privacy: CI=true, so a skip is a failure"
		exit 1
	fi
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (a root-only file, setpriv)"
command -v setpriv >/dev/null 2>&1 || skip "setpriv is not installed"
id nobody >/dev/null 2>&1 || skip "no 'nobody' user"
HT=$(cd "$(dirname "$HT")" && pwd)/$(basename "$HT")
[ -x "$HT" ] || { echo "batch-privacy: $HT is not executable"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
chmod 755 "$TMP"
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
pass=0
fail=0

# The secret: what /etc/shadow lines look like. SECRET marks its bytes.
SHADOW='root:$y$j9T$SECRETsalt$SECREThashSECREThash:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::'

# expect CASE EXIT "message" command...
expect() {
	case_=$1 want_rc=$2 want=$(printf '%s\n' "$3" | sed 's/^/hoptrace: /')
	shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	got=$(cat "$TMP/err")
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ] &&
		[ ! -s "$TMP/out" ] && ! grep -q -e SECRET -e 'j9T' -e 'root:' "$TMP/out" "$TMP/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL [$case_]: $*"
		echo "  want exit $want_rc, stderr: $want"
		echo "  got  exit $rc, stderr ($lines lines): $(head -c 300 "$TMP/err")"
		[ -s "$TMP/out" ] && echo "  stdout was not empty: $(head -c 200 "$TMP/out")"
	fi
}

# A root-only file (0600 root), as /etc/shadow is.
printf '%s\n' "$SHADOW" >"$TMP/shadow"
chmod 600 "$TMP/shadow"
# The same text, readable by anyone.
printf '%s\n' "$SHADOW" >"$TMP/readable"
chmod 644 "$TMP/readable"
# A file nobody owns but may not read.
printf '%s\n' "$SHADOW" >"$TMP/own"
chown "$NOBODY:$NOGROUP" "$TMP/own"
chmod 200 "$TMP/own"
# A name-shaped secret first, then a bad line. A list is streamed: a
# refused line no longer stops the batch, so the names before it are
# looked up (inside a network namespace with no network here, so no query
# leaves) and reported by their line only.
printf 'SECRET-token.example\nok.example\nbad$SECRET\n' >"$TMP/names"
chmod 644 "$TMP/names"

DENIED="Permission denied (read without root's rights: give it on standard input, --batch - <FILE)"

# sudo hoptrace --batch FILE: the real uid is 0, so the list is read as
# nobody, and a root-only file is refused. (The program does not look at
# SUDO_UID; it is set here as sudo sets it.)
expect sudo 2 "cannot read $TMP/shadow: $DENIED" \
	env SUDO_UID="$NOBODY" SUDO_GID="$NOGROUP" SUDO_USER=nobody "$HT" -n --batch "$TMP/shadow"
expect sudo-json 2 "cannot read $TMP/shadow: $DENIED" "$HT" -n --json --batch "$TMP/shadow"
# A setuid-root install: real uid nobody, effective uid 0.
expect setuid 2 "cannot read $TMP/shadow: Permission denied" \
	setpriv --ruid "$NOBODY" --euid 0 --rgid "$NOGROUP" --egid 0 --clear-groups \
	"$HT" -n --batch "$TMP/shadow"
# An ordinary user: someone else's file, and their own unreadable file.
expect user-other 2 "cannot read $TMP/shadow: Permission denied" \
	setpriv --reuid "$NOBODY" --regid "$NOGROUP" --clear-groups "$HT" -n --batch "$TMP/shadow"
expect user-own 2 "cannot read $TMP/own: Permission denied" \
	setpriv --reuid "$NOBODY" --regid "$NOGROUP" --clear-groups "$HT" -n --batch "$TMP/own"
# Files that can be read: each bad line by line, column and byte value;
# the batch goes on past it and exits 1 (it no longer refuses the whole
# list with exit 2).
BAD2="$TMP/readable:1:6: invalid byte 0x24
$TMP/readable:2:8: invalid byte 0x2a"
expect root-readable 1 "$BAD2" "$HT" -n --batch "$TMP/readable"
expect user-readable 1 "$BAD2" \
	setpriv --reuid "$NOBODY" --regid "$NOGROUP" --clear-groups "$HT" -n --batch "$TMP/readable"
NODNS="cannot resolve: Could not contact DNS servers"
expect names 1 "$TMP/names:1: $NODNS
$TMP/names:2: $NODNS
$TMP/names:3:4: invalid byte 0x24" unshare -n "$HT" --batch "$TMP/names"
# Standard input is opened by the caller's shell, with the caller's rights.
expect stdin 1 "standard input:1:6: invalid byte 0x24
standard input:2:8: invalid byte 0x2a" sh -c '"$1" -n --batch - <"$2"' sh "$HT" "$TMP/shadow"

echo "batch privacy: $pass passed, $fail failed"
[ "$fail" = 0 ]
