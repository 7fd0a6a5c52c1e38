#!/bin/sh
# Unit test of check-batch.py and check-rate.py on small hand-made inputs,
# then check-batch.py against batch-10k's truth with results made from it.
#   test-checkers.sh HOPTRACE-SIM SCENARIO-DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
sim=$1
scn=$2
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
fails=0
# expect STATUS DESCRIPTION COMMAND...: the command must exit with STATUS.
expect() {
	want=$1 what=$2
	shift 2
	"$@" >"$t/out" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then
		echo "ok: $what"
	else
		echo "FAIL: $what: exit $got, expected $want"
		sed 's/^/    /' "$t/out"
		fails=$((fails + 1))
	fi
}
# grep_out PATTERN DESCRIPTION: the last command's output has PATTERN.
grep_out() {
	if grep -q -- "$1" "$t/out"; then
		echo "ok: $2"
	else
		echo "FAIL: $2: no '$1' in:"
		sed 's/^/    /' "$t/out"
		fails=$((fails + 1))
	fi
}
cb="python3 $here/check-batch.py"
cr="python3 $here/check-rate.py"

cat >"$t/truth" <<'J'
{"target":"198.19.0.1","hops":[{"ttl":1,"addr":"198.18.0.2"},{"ttl":2,"addr":null},{"ttl":3,"addrs":["198.18.1.2","198.18.1.3"]},{"ttl":4,"addr":"198.19.0.1"}],"reached":true,"end":"reached"}
{"target":"198.19.0.2","hops":[{"ttl":1,"addr":"198.18.0.2"},{"ttl":2,"addr":null}],"reached":false,"end":"silent"}
{"target":"2001:db8:100::1","hops":[{"ttl":1,"addr":"2001:db8::2"},{"ttl":2,"addr":"2001:db8::9"}],"reached":false,"end":"unreach","unreach":"host"}
J
# Documents, one a line; extra fields are ignored.
doc() { # TARGET REASON HOPS
	printf '{"id":7,"target":"%s","extra":{"a":1},"parameters":{"max_ttl":30},"hops":[%s],"stop":{"reason":"%s","last_ttl":9}}\n' "$1" "$3" "$2"
}
hop() { # TTL ADDR|-  [rl]
	if [ "$2" = - ]; then
		printf '{"ttl":%s,"reached":false,"probes":[{"seq":1,"idx":0,"state":"timeout"%s}]}' "$1" "${3:+,\"rate_limited\":true}"
	else
		printf '{"ttl":%s,"reached":false,"probes":[{"seq":1,"idx":0,"state":"reply","addr":"%s"}]}' "$1" "$2"
	fi
}
good1="$(hop 1 198.18.0.2),$(hop 2 -),$(hop 3 198.18.1.3),$(hop 4 198.19.0.1)"
good2="$(hop 1 198.18.0.2),$(hop 2 -),$(hop 3 -),$(hop 4 -),$(hop 5 -)"
good3="$(hop 1 2001:db8::2),$(hop 2 2001:db8:0:0::9)"
{ doc 198.19.0.1 reached "$good1"; doc 198.19.0.2 gap_limit "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/good"
expect 0 "matching documents pass" $cb "$t/truth" "$t/good"
grep_out "3 match, 0 mismatch" "summary counts matches"

# The same as --jsonl event lines of two traces interleaved by id.
cat >"$t/events" <<J
{"type":"trace_start","id":1,"target":{"name":"198.19.0.1","addr":"198.19.0.1"},"parameters":{"max_ttl":30}}
{"type":"trace_start","id":2,"target":"198.19.0.2"}
{"type":"hop_done","id":1,$(hop 1 198.18.0.2 | cut -c2-)
{"type":"probe_done","id":2,"ttl":1,"seq":0,"state":"reply","addr":"198.18.0.2"}
{"type":"hop_done","id":2,$(hop 1 198.18.0.2 | cut -c2-)
{"type":"hop_done","id":1,$(hop 2 - | cut -c2-)
{"type":"hop_done","id":1,$(hop 3 198.18.1.2 | cut -c2-)
{"type":"hop_done","id":1,$(hop 4 198.19.0.1 | cut -c2-)
{"type":"trace_done","id":1,"stop":{"reason":"reached","last_ttl":4}}
{"type":"hop_done","id":2,$(hop 2 - | cut -c2-)
{"type":"trace_done","id":2,"stop":{"reason":"gap_limit","last_ttl":7}}
{"type":"trace_start","id":3,"target":"2001:db8:100::1"}
{"type":"hop_done","id":3,$(hop 1 2001:db8::2 | cut -c2-)
{"type":"hop_done","id":3,$(hop 2 2001:db8::9 | cut -c2-)
{"type":"trace_done","id":3,"stop":{"reason":"unreachable","last_ttl":2}}
J
expect 0 "matching event lines pass" $cb "$t/truth" "$t/events"

# Event lines without ids: from one trace_start to the next; indented documents.
grep -v '"id":2' "$t/events" | sed 's/"id":[0-9],//' >"$t/noid"
printf '198.19.0.1\n2001:db8:100::1\n' >"$t/list"
expect 0 "event lines without ids, checked against a list" $cb "$t/truth" "$t/noid" --list "$t/list"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l), indent=2))' "$t/good" >"$t/pretty"
expect 0 "indented documents pass" $cb "$t/truth" "$t/pretty"

# Mismatches.
{ doc 198.19.0.1 reached "$(hop 1 198.18.0.2),$(hop 2 -),$(hop 3 198.18.1.9),$(hop 4 198.19.0.1)"
  doc 198.19.0.2 gap_limit "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/wrong"
expect 1 "a wrong address fails" $cb "$t/truth" "$t/wrong"
grep_out "ttl 3: got 198.18.1.9, truth 198.18.1.2|198.18.1.3" "the diff names the hop and the candidates"
grep_out "1 mismatch" "summary counts the mismatch"
{ doc 198.19.0.1 reached "$(hop 1 -),$(hop 2 -),$(hop 3 198.18.1.2),$(hop 4 198.19.0.1)"
  doc 198.19.0.2 gap_limit "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/star"
expect 1 "a star where the truth answers fails" $cb "$t/truth" "$t/star"
grep_out "ttl 1: got \* (timeout), truth 198.18.0.2" "the diff shows the star"
{ doc 198.19.0.1 reached "$(hop 1 - rl),$(hop 2 -),$(hop 3 198.18.1.2),$(hop 4 198.19.0.1)"
  doc 198.19.0.2 gap_limit "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/rl"
expect 0 "a star marked rate_limited passes" $cb "$t/truth" "$t/rl"
{ doc 198.19.0.1 reached "$(hop 1 198.18.0.2),$(hop 2 198.18.0.3),$(hop 3 198.18.1.2),$(hop 4 198.19.0.1)"
  doc 198.19.0.2 gap_limit "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/silent"
expect 1 "an address at a silent hop fails" $cb "$t/truth" "$t/silent"
{ doc 198.19.0.1 reached "$(hop 1 198.18.0.2),$(hop 2 -),$(hop 3 198.18.1.2)"
  doc 198.19.0.2 gap_limit "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/short"
expect 1 "a missing answering hop and a wrong stop fail" $cb "$t/truth" "$t/short"
grep_out "ttl 4: missing" "the diff names the missing hop"
{ doc 198.19.0.1 reached "$good1"; doc 198.19.0.2 reached "$good2"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/reach"
expect 1 "reached where the truth ends silent fails" $cb "$t/truth" "$t/reach"
{ doc 198.19.0.1 reached "$good1"; doc 198.19.0.2 gap_limit "$good2,$(hop 6 198.19.0.2)"; doc 2001:db8:100::1 unreachable "$good3"; } >"$t/tail"
expect 1 "an answer past a silent end fails" $cb "$t/truth" "$t/tail"

# Exactly once.
{ cat "$t/good"; doc 198.19.0.2 gap_limit "$good2"; } >"$t/dup"
expect 1 "a target twice fails" $cb "$t/truth" "$t/dup"
grep_out "DUPLICATE 198.19.0.2 (2 times)" "the duplicate is named"
head -n 2 "$t/good" >"$t/miss"
expect 1 "a missing target fails" $cb "$t/truth" "$t/miss"
grep_out "MISSING 2001:db8:100::1" "the missing target is named"
{ cat "$t/good"; doc 198.19.0.77 reached "$good1"; } >"$t/extra"
expect 1 "an unexpected target fails" $cb "$t/truth" "$t/extra"
echo '{"hops": [' >"$t/broken"
expect 2 "unreadable results exit 2" $cb "$t/truth" "$t/broken"

# check-rate: N=100/s allows 10 per 100 ms and 100 per second.
for i in 0 1 2 3 4 5 6 7 8 9; do echo "t=$((i * 9000)) fam=4"; done >"$t/rec"
echo "t=100000 fam=4" >>"$t/rec" # [0, 100000) is half-open: not in the first window
expect 0 "10 probes in 100 ms at 100/s pass" $cr "$t/rec" 100
grep_out "window 100 ms: worst 10 probes" "the worst 100 ms window is reported"
echo "t=99999 fam=4" >>"$t/rec"
expect 1 "11 probes in 100 ms at 100/s fail" $cr "$t/rec" 100
grep_out "BREACH" "the breach is reported"
: >"$t/rec2"
for i in $(seq 0 100); do echo "t=$((i * 9990)) fam=4" >>"$t/rec2"; done
expect 1 "101 probes in 1 s at 100/s fail" $cr "$t/rec2" 100 --window 1000
expect 0 "the same at 101/s pass" $cr "$t/rec2" 101
echo "garbage" >"$t/rec3"
expect 2 "a record without t= exits 2" $cr "$t/rec3" 100

# The big scenario: results made from its truth pass, one changed hop fails.
if [ -f "$scn/batch-10k.scn" ]; then
	"$sim" --scenario "$scn/batch-10k.scn" --truth >"$t/truth10k" || fails=$((fails + 1))
	"$sim" --scenario "$scn/batch-10k.scn" --targets --family 4 >"$t/list10k"
	python3 - "$t/truth10k" "$t/res10k" "$t/res10k-bad" <<'P'
import json, sys
out, bad = open(sys.argv[2], "w"), open(sys.argv[3], "w")
for n, line in enumerate(open(sys.argv[1])):
    tr = json.loads(line)
    hops = []
    for h in tr["hops"]:
        a = h["addrs"][-1] if "addrs" in h else h["addr"]
        p = {"seq": 0, "idx": 0, "state": "timeout"} if a is None else \
            {"seq": 0, "idx": 0, "state": "reply", "addr": a}
        hops.append({"ttl": h["ttl"], "reached": False, "probes": [p]})
    reason = {"reached": "reached", "unreach": "unreachable"}.get(tr["end"], "gap_limit")
    doc = {"id": n, "target": tr["target"], "hops": hops, "stop": {"reason": reason}}
    out.write(json.dumps(doc) + "\n")
    if n == 4321:
        hops[0]["probes"][0]["addr"] = "198.18.0.99"
    bad.write(json.dumps(doc) + "\n")
P
	expect 0 "batch-10k: results made from the truth pass" $cb "$t/truth10k" "$t/res10k"
	grep_out "11000 targets: 11000 match" "batch-10k: every target counted"
	expect 1 "batch-10k: one wrong hop fails" $cb "$t/truth10k" "$t/res10k-bad"
	grep_out "10999 match, 1 mismatch" "batch-10k: exactly one mismatch"
	expect 1 "batch-10k: the IPv4 list misses no target but IPv6 ones are unexpected" \
		$cb "$t/truth10k" "$t/res10k" --list "$t/list10k"
	grep_out "1000 unexpected" "batch-10k: the IPv6 traces are unexpected for the IPv4 list"
	n=$(wc -l <"$t/list10k")
	[ "$n" = 10000 ] && echo "ok: batch-10k lists 10000 IPv4 targets" ||
		{ echo "FAIL: batch-10k lists $n IPv4 targets"; fails=$((fails + 1)); }
fi

if [ $fails -gt 0 ]; then
	echo "test-checkers: $fails failed"
	exit 1
fi
echo "test-checkers: all passed"
