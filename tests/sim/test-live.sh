#!/bin/bash
# The live view in a real terminal (tmux), against the simulator: what a
# person sees, keys, and the terminal restored after q and after SIGTERM.
#   test-live.sh HOPTRACE-SIM HOPTRACE SCENARIO-DIR
set -u
sim=$1
ht=$2
dir=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, TUN)"; exit 77; }
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }
t=$(mktemp -d)
sock="$t/tmux.sock"
tm() { tmux -S "$sock" "$@"; }
cleanup() { tm kill-server 2>/dev/null; rm -rf "$t"; }
trap cleanup EXIT INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pane() { tm capture-pane -p -t ht; }
# wait_for PATTERN SECONDS: until the pane shows PATTERN.
wait_for() {
	for _ in $(seq $(($2 * 10))); do
		pane | grep -q -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# start SCENARIO ARGS...: the live view in a 100x30 terminal; when it
# exits, the shell records its exit status and the terminal's modes.
start() {
	scn=$1
	shift
	tm kill-server 2>/dev/null
	rm -f "$t/rc" "$t/stty"
	tm -f /dev/null new-session -d -s ht -x 100 -y 30 \
		"stty -g >'$t/stty.before'; '$sim' --scenario '$dir/$scn' -- '$ht' -n --live $* 198.18.200.1; echo \$? >'$t/rc'; stty -g >'$t/stty'; sleep 60"
}
# restored: the terminal is back in its modes from before.
restored() {
	for _ in $(seq 50); do [ -s "$t/stty" ] && break; sleep 0.1; done
	[ -s "$t/stty" ] || { fail "$1: the shell never got the terminal back"; return; }
	if ! diff -q "$t/stty.before" "$t/stty" >/dev/null; then
		fail "$1: terminal modes differ after the exit: $(diff "$t/stty.before" "$t/stty" | head -4)"
	else
		echo "ok: $1: terminal restored"
	fi
}

# A middle hop losing 30 % of its replies: the rows, the cause, the keys.
start reply-loss.scn -i 0.05
if wait_for '^ *4 198.18.200.1' 15; then
	echo "ok: rows drawn"
else
	fail "no row for the destination: $(pane)"
fi
wait_for 'round [4-9][0-9]' 20 || fail "rounds do not advance: $(pane | head -2)"
p=$(pane)
echo "$p" | grep -q '^ *1 198.18.1.1 ' || fail "hop 1 row: $p"
echo "$p" | grep -q '^ *3 198.18.3.1 ' || fail "hop 3 row: $p"
echo "$p" | grep -q 'Loss%.*Snt.*Last.*Avg.*Best.*Wrst.*StDev.*Jttr.*Cause' || fail "header: $p"
# hop 2: loss near 30 % and its cause, reply-side; hop 3 clean.
l2=$(echo "$p" | sed -n 's/^ *2 198.18.2.1 *\([0-9.]*\) .*/\1/p')
python3 -c "import sys; l=float(sys.argv[1]); sys.exit(0 if 10 <= l <= 50 else 1)" "${l2:-999}" ||
	fail "hop 2 loss '$l2' not near 30 %: $p"
echo "$p" | grep -q '^ *2 198.18.2.1 .*reply' || fail "hop 2 not attributed to its replies: $p"
l3=$(echo "$p" | sed -n 's/^ *3 198.18.3.1 *\([0-9.]*\) .*/\1/p')
[ "$l3" = "0.0" ] || fail "hop 3 loss '$l3', expected 0.0"
echo "$p" | grep -q 'warning: each router gets 20 probes/s' || fail "no rate-limit warning at 20 rounds a second: $p"
echo "ok: statistics and attribution on screen"
# p pauses: the round number stops.
tm send-keys -t ht p
wait_for 'PAUSED' 5 || fail "p did not pause: $(pane | head -1)"
sleep 0.3 # the round under way finishes
r1=$(pane | sed -n 's/.*round \([0-9]*\).*/\1/p' | head -1)
sleep 0.6
r2=$(pane | sed -n 's/.*round \([0-9]*\).*/\1/p' | head -1)
[ "$r1" = "$r2" ] || fail "paused, yet rounds went on ($r1 -> $r2)"
tm send-keys -t ht p
# d: the history display; ?: help.
tm send-keys -t ht d
wait_for 'history' 5 || fail "d did not show the history: $(pane | head -3)"
tm send-keys -t ht '?'
wait_for 'quit' 5 || fail "? did not show the help"
tm send-keys -t ht Escape
tm send-keys -t ht q
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
[ "$(cat "$t/rc" 2>/dev/null)" = 0 ] || fail "q: exit status $(cat "$t/rc" 2>/dev/null)"
restored "q"

# SIGTERM: the terminal is restored and the exit status says so.
start reply-loss.scn -i 0.2
wait_for '^ *4 198.18.200.1' 15 || fail "second run: no rows"
pkill -TERM -f -- "^$ht -n --live -i 0.2 198.18.200.1" || fail "no live view to signal"
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
[ "$(cat "$t/rc" 2>/dev/null)" = 143 ] || fail "SIGTERM: exit status $(cat "$t/rc" 2>/dev/null), expected 143"
restored "SIGTERM"

# A resize: the view follows the new size, no garbage.
start reply-loss.scn -i 0.2
wait_for '^ *4 198.18.200.1' 15 || fail "third run: no rows"
tm resize-window -t ht -x 120 -y 20 2>/dev/null || tm resize-pane -t ht -x 120 -y 20
sleep 0.6
w=$(pane | awk '{ if (length($0) > m) m = length($0) } END { print m }')
[ "${w:-0}" -le 120 ] || fail "a line wider than the terminal after a resize ($w)"
pane | grep -q '^ *4 198.18.200.1' || fail "rows lost after a resize: $(pane)"
tm send-keys -t ht q
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
restored "resize and q"

# Loss from hop 3 onward: attributed to forwarding where it starts.
start fwd-loss.scn -i 0.05
wait_for '^ *5 198.18.200.1' 15 || fail "fwd: no rows: $(pane)"
wait_for 'round [4-9][0-9]' 20 || fail "fwd: rounds do not advance"
p=$(pane)
echo "$p" | grep -q '^ *3 198.18.3.1 .*fwd' || fail "fwd: hop 3 not attributed to forwarding: $p"
echo "$p" | grep -q '^ *2 198.18.2.1 *0.0 ' || fail "fwd: hop 2 not clean: $p"
echo "ok: forwarding loss on screen"
tm send-keys -t ht q
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
restored "fwd and q"

# A path change mid-run: the hop is marked and the footer says what changed.
start change.scn -i 0.5
wait_for 'Path changes' 15 || fail "change: no path change shown: $(pane)"
p=$(pane)
echo "$p" | grep -q '^! *2 198.18.2' || fail "change: hop 2 not marked: $p"
echo "$p" | grep -q 'TTL 2 *198.18.2.1 -> 198.18.2.2' || fail "change: footer: $p"
echo "ok: path change on screen"
tm send-keys -t ht q
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
restored "change and q"

# A rate-limited hop (a burst of 6, then 1/s) at ten rounds a second: its
# loss is put on its replies, and the warning says the figures include
# rate limiting.
start ratelimit.scn -i 0.1
wait_for 'round [3-9][0-9]' 20 || fail "ratelimit: rounds do not advance: $(pane | head -3)"
p=$(pane)
echo "$p" | grep -q '^ *2 198.18.2.1 .*reply' || fail "ratelimit: hop 2 not put on its replies: $p"
echo "$p" | grep -q 'warning: each router gets 10 probes/s' || fail "ratelimit: no warning: $p"
echo "ok: rate-limited hop on screen"
tm send-keys -t ht q
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
restored "ratelimit and q"

# A 3-branch per-flow balancer with 16 flows: hop 2 has a row per branch in
# use, and the per-flow display (d twice) shows each flow on one branch.
start balancer.scn -i 0.1 --flows 16
wait_for 'round [1-9][0-9]' 20 || fail "balancer: rounds do not advance"
n=$(pane | grep -cE '^ *(2 )? *198\.18\.2\.[123] ')
[ "$n" -ge 2 ] || fail "balancer: $n rows for hop 2's branches: $(pane)"
tm send-keys -t ht d
tm send-keys -t ht d
wait_for 'Fl' 5 || fail "balancer: no per-flow display: $(pane | head -4)"
echo "ok: balancer branches on screen"
tm send-keys -t ht q
for _ in $(seq 50); do [ -s "$t/rc" ] && break; sleep 0.1; done
restored "balancer and q"

[ $fails = 0 ] || exit 1
echo PASS
