#!/bin/sh
# The monitor's reports (-c N --report-format json, --jsonl) against the
# simulator's ground truth (tests/sim/monitor/*.scn):
#   - loss at a middle hop's replies only: its loss within the 95 %
#     binomial interval of the configured 30 %, later hops clean, cause
#     reply; loss from a hop onward: every later hop loses within the
#     interval, cause fwd at the hop where it starts;
#   - RTTs within a tolerance of the configured delays (1 ms each way
#     per link: hop t answers in about 2t ms);
#   - probes per round after the first: exactly hops x probes per hop,
#     none past the destination (the simulator's record);
#   - a Linux-like ICMP limit (6, then 1/s) at one round a second shows
#     no loss; at ten a second it shows loss, attributed to the replies,
#     and the report says its figures include rate limiting; --hop-ping
#     then shows the same router answering every ping;
#   - a 3-branch per-flow balancer with --flows 3: three addresses at the
#     hop, one per flow, each flow's rows one address;
#   - a path change mid-run: listed with its hop, old and new address;
#   - --jsonl: one event per line, rounds and probes counted.
#   test-monitor.sh HOPTRACE-SIM HOPTRACE SCENARIO-DIR
set -u
sim=$1
ht=$2
dir=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, TUN)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME SCENARIO ARGS...: hoptrace ARGS in the scenario; output in $t/NAME
run() {
	name=$1 scn=$2
	shift 2
	"$sim" --scenario "$dir/$scn" --record "$t/$name.rec" -- "$ht" -n "$@" \
		>"$t/$name" 2>"$t/$name.err"
	echo $? >"$t/$name.rc"
}

# check NAME PYTHON: PYTHON (a script reading the JSON report as r, the
# record lines as rec) must print nothing; anything it prints is a failure.
check() {
	name=$1
	out=$(python3 - "$t/$name" "$t/$name.rec" <<PYEOF 2>&1
import json, math, sys
r = json.load(open(sys.argv[1]))
rec = [dict(kv.split("=", 1) for kv in l.split()) for l in open(sys.argv[2]) if l.strip()]
hops = {h["ttl"]: h for h in r["hops"]}
def binom95(p, n):
    # the 95 % interval of a binomial proportion around p (normal, with
    # continuity correction: never narrower than one sample)
    s = 1.96 * math.sqrt(p * (1 - p) / n) + 0.5 / n
    return 100 * max(0, p - s), 100 * min(1, p + s)
def loss_in(ttl, p):
    h = hops[ttl]
    lo, hi = binom95(p, h["sent"])
    if not (lo <= h["loss_pct"] <= hi):
        print(f"hop {ttl}: loss {h['loss_pct']:.1f}% outside [{lo:.1f}, {hi:.1f}] for {p * 100:.0f}%")
def clean(ttl):
    if hops[ttl]["loss_pct"] != 0:
        print(f"hop {ttl}: loss {hops[ttl]['loss_pct']}%, expected none")
def cause(ttl, c):
    if hops[ttl]["cause"] != c:
        print(f"hop {ttl}: cause {hops[ttl]['cause']}, expected {c}")
def rtt(ttl, ms, tol=1.5):
    for a in hops[ttl]["addrs"]:
        if a["received"] and not (ms - 0.5 <= a["avg_ms"] <= ms + tol):
            print(f"hop {ttl} {a['addr']}: avg {a['avg_ms']} ms, expected about {ms}")
def addrs(ttl, want):
    got = sorted(a["addr"] for a in hops[ttl]["addrs"])
    if got != sorted(want):
        print(f"hop {ttl}: addresses {got}, expected {sorted(want)}")
$2
PYEOF
)
	[ -z "$out" ] || fail "$name: $out"
	[ -n "$out" ] || echo "ok: $name"
}

# A middle hop losing 30 % of its replies; forwarding is fine.
run reply reply-loss.scn -c 100 -i 0.02 --report-format json 198.18.200.1
check reply '
loss_in(2, 0.3); clean(1); clean(3); clean(4)
cause(2, "reply_only")
for t in (1, 2, 3, 4): rtt(t, 2 * t)
addrs(4, ["198.18.200.1"])
if r["rounds"] != 100: print("rounds", r["rounds"])
# Round 1 may overshoot; rounds 2..100: 4 probes each, none past TTL 4.
late = [x for x in rec if int(x["t"]) > 0]
over = [x for x in rec if int(x["ttl"]) > 4]
if len(rec) - 30 != 99 * 4: print("probes", len(rec), "expected 30 + 99 * 4")
if len(over) > 26: print("probes past the destination", len(over))
'

# Loss from hop 3 onward (r3 drops 30 % of the packets that reach it,
# its own probes included): hops 3, 4 and 5 lose 30 %.
run fwd fwd-loss.scn -c 100 -i 0.02 --report-format json 198.18.200.1
check fwd '
clean(1); clean(2)
loss_in(3, 0.3); loss_in(4, 0.3); loss_in(5, 0.3)
cause(3, "forwarding"); cause(4, "forwarding")
if hops[5]["cause"] not in ("last_hop", "forwarding"): print("hop 5 cause", hops[5]["cause"])
'

# Rate limiting: invisible at the default pace, named when pushed.
run rl1 ratelimit.scn -c 8 --report-format json 198.18.200.1
check rl1 '
clean(2)
if "warning" in r: print("a warning at one round a second:", r["warning"])
'
run rl10 ratelimit.scn -c 60 -i 0.1 --report-format json 198.18.200.1
check rl10 '
if hops[2]["loss_pct"] < 50: print("hop 2 loss", hops[2]["loss_pct"], "expected most lost")
clean(3); clean(4)
cause(2, "reply_only")
if "rate limiting" not in r.get("warning", ""): print("no rate-limit warning")
'

# --hop-ping: the rate-limited router drops most time-exceeded but answers
# every ping sent straight to it (the simulator's limit, like Linux's, is
# on ICMP errors).
run hp ratelimit.scn -c 20 -i 0.1 --hop-ping --report-format json 198.18.200.1
check hp '
a = hops[2]["addrs"][0]
if hops[2]["loss_pct"] < 50: print("hop 2 loss", hops[2]["loss_pct"])
p = a.get("ping")
if not p or p["sent"] < 15 or p["loss_pct"] != 0: print("hop 2 ping", p)
if "ping" in hops[4]["addrs"][0]: print("the destination was pinged")
'

# Three branches, 16 flows (their source ports are the kernel's choice,
# so which branch each takes is chance): every flow keeps one branch for
# the whole run, the hop shows each branch in use as a row of its own,
# and more than one is in use (all 16 on one branch: 3 / 3^16).
run lb balancer.scn -c 10 -i 0.1 --flows 16 --report-format json 198.18.200.1
check lb '
used = set()
for f in hops[2]["flows"]:
    if len(f["addrs"]) != 1: print("flow", f["flow"], "addresses", [a["addr"] for a in f["addrs"]])
    used |= {a["addr"] for a in f["addrs"]}
    if f["received"] != 10: print("flow", f["flow"], "received", f["received"])
addrs(2, sorted(used))
if not used <= {"198.18.2.1", "198.18.2.2", "198.18.2.3"}: print("branches", used)
if len(used) < 2: print("one branch only", used)
'

# A path change at 3 s: hop 2 from 198.18.2.1 to 198.18.2.2.
run chg change.scn -c 12 -i 0.5 --report-format json 198.18.200.1
check chg '
addrs(2, ["198.18.2.1", "198.18.2.2"])
ch = r["path_changes"]
if not any(c["ttl"] == 2 and c.get("gone") == "198.18.2.1" and c.get("came") == "198.18.2.2"
           and 2.5 <= c.get("after_s", 0) <= 4.5 for c in ch):
    print("path changes", ch)
if not hops[2]["path_changed"]: print("hop 2 not marked changed")
'

# Unprivileged, as user nobody (a copy of the binary nobody may run, as
# the unprivileged scenarios do): ICMP, UDP and TCP give the same hops and
# the same attribution, one second a round being the floor for non-root.
ub=$(mktemp -d)
chmod 755 "$ub"
cp "$ht" "$ub/hoptrace" && chmod 755 "$ub/hoptrace"
for m in -I -U -T; do
	"$sim" --scenario "$dir/unprivileged.scn" -- "$ub/hoptrace" -n $m -c 12 -i 1 \
		--report-format json 198.18.200.1 >"$t/un$m" 2>"$t/un$m.err"
	echo $? >"$t/un$m.rc"
	cp "$t/un$m" "$t/un" && : >"$t/un.rec"
	check un '
for t in (1, 3, 4): clean(t)
addrs(4, ["198.18.200.1"])
if hops[2]["loss_pct"] == 0: print("hop 2 shows no loss")
if hops[2]["cause"] not in ("reply_only", "unknown"): print("hop 2 cause", hops[2]["cause"])
'
	[ "$(cat "$t/un$m.rc")" = 0 ] || fail "unprivileged $m: exit $(cat "$t/un$m.rc"): $(cat "$t/un$m.err")"
done
"$sim" --scenario "$dir/unprivileged.scn" -- "$ub/hoptrace" -n -I -c 2 -i 0.5 --report 198.18.200.1 \
	>"$t/unfast" 2>&1
[ $? = 2 ] && grep -q "is for root only" "$t/unfast" || fail "a non-root user got -i 0.5: $(cat "$t/unfast")"
rm -rf "$ub"

# The text report, as people read it.
run text reply-loss.scn -c 20 -i 0.02 --report 198.18.200.1
grep -q '^  2.|-- 198.18.2.1 .* reply ' "$t/text" || fail "text report: hop 2 without its cause: $(cat "$t/text")"
grep -q '^HOST: 198.18.200.1 (198.18.200.1), 20 rounds' "$t/text" || fail "text report header: $(head -2 "$t/text")"
echo "ok: text"

# --jsonl: events, one per line.
run jl reply-loss.scn -c 3 -i 0.05 --jsonl 198.18.200.1
n=$(grep -c '"type":"round_done"' "$t/jl")
[ "$n" = 3 ] || fail "jsonl: $n round_done lines, expected 3"
p=$(grep '"type":"round_done"' "$t/jl" | sed -n 's/.*"probes":\([0-9]*\).*/\1/p' | tail -1)
[ "$p" = 4 ] || fail "jsonl: the last round sent $p probes, expected 4"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$t/jl" || fail "jsonl: not JSON lines"
echo "ok: jsonl"

for f in reply fwd rl1 rl10 hp lb chg text jl; do
	[ "$(cat "$t/$f.rc")" = 0 ] || fail "$f: exit $(cat "$t/$f.rc"): $(cat "$t/$f.err")"
done
[ $fails = 0 ] || exit 1
echo PASS
