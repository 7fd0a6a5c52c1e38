#!/bin/sh
# --batch on the engine against batch-10k.scn's ground truth: 10,000
# targets behind a shared upstream, a diamond, silent hops, silent and
# unreachable targets. The run is killed with kill -9 part way, then
# resumed into the same file with --resume; at the end every target has
# exactly one complete result, equal to the truth, and the simulator's
# probe record shows the --pps cap held in every 100 ms and 1 s window of
# both runs. The rate is checked on the kernel's transmit time stamps of
# the probes (--tx-times), not on when the simulator read them: a busy
# simulator reads a backlog at once, which would look like a burst.
#   test-batch-10k.sh HOPTRACE-SIM HOPTRACE SCENARIO-DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
sim=$1
ht=$2
scn=$3/batch-10k.scn
pps=10000
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, TUN)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

"$sim" --scenario "$scn" --targets --family 4 >"$t/list" || fail "cannot list the targets"
"$sim" --scenario "$scn" --truth --family 4 >"$t/truth" || fail "cannot write the truth"
[ "$(wc -l <"$t/list")" = 10000 ] || fail "the list does not hold 10,000 targets"

# Run 1, killed with SIGKILL once 3,000 traces are written. The list comes
# on standard input: the process that reads it drops to nobody, who may
# not read this private directory.
"$sim" --scenario "$scn" --tx-times "$t/rec1" -- /bin/sh -c \
	"echo \$\$ >'$t/pid'; exec '$ht' -n --jsonl --pps $pps --parallel 1024 --batch - <'$t/list' >'$t/res'" &
simpid=$!
i=0
while :; do
	n=$(grep -c '"type":"trace_done"' "$t/res" 2>/dev/null)
	n=${n:-0}
	[ "$n" -ge 3000 ] && break
	i=$((i + 1))
	[ $i -lt 1200 ] || fail "run 1 wrote only $n traces in 120 s"
	kill -0 $simpid 2>/dev/null || fail "run 1 ended before it was killed ($n traces)"
	sleep 0.1
done
kill -9 "$(cat "$t/pid")"
wait $simpid
done1=$(grep -c '"type":"trace_done"' "$t/res")
echo "run 1: killed with $done1 traces written"
[ "$done1" -lt 10000 ] || fail "run 1 finished before the kill"

# Run 2: resumed into the same file.
"$sim" --scenario "$scn" --tx-times "$t/rec2" -- /bin/sh -c \
	"exec '$ht' -n --jsonl --stats --pps $pps --parallel 1024 --batch - --resume '$t/res' <'$t/list' >>'$t/res' 2>'$t/err2'"
rc=$?
[ $rc = 0 ] || { cat "$t/err2"; fail "run 2 exited $rc"; }
grep "targets skipped" "$t/err2"
skipped=$(sed -n 's/^hoptrace: \([0-9]*\) targets skipped.*/\1/p' "$t/err2")
[ "${skipped:-0}" -ge "$done1" ] || fail "run 2 skipped ${skipped:-0} targets, run 1 wrote $done1"

python3 "$here/check-batch.py" "$t/truth" "$t/res" --list "$t/list" --complete-only \
	--max-shown 20 || fail "the results differ from the truth"
python3 "$here/check-rate.py" "$t/rec1" $pps || fail "run 1 broke --pps $pps"
python3 "$here/check-rate.py" "$t/rec2" $pps || fail "run 2 broke --pps $pps"
echo "PASS"
