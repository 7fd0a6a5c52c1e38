#!/bin/bash
# test-flood.sh: hoptrace on real Linux routers (tests/netns/lab.sh) while an
# on-path attacker floods the prober with unrelated and forged ICMP at 100k
# packets/s (tests/hostile/icmpflood.c, lab in tests/hostile/hostile-lab.sh).
#
# The attacker sees our probes (r1 mirrors them) and so quotes our own
# destination, ports and echo id: with wrong checksums, truncated quotes,
# quoted IHL < 5, lying lengths, sequence numbers no probe had; plus echo
# replies and errors about other flows. Outer sources are addresses no router
# has (198.19.66.x, 2001:db8:bad::x) and the real hops 2..N+1, so a forged
# answer that got accepted shows as a foreign hop or as an RTT below the
# hop's configured delay.
#
# For every method (UDP, ICMP, TCP) in the family asked for, it asserts: exit
# status 0, the exact hop addresses, the destination line with three RTTs,
# the run finishing within a bound, every RTT within a tolerance of the lab's
# delay (never below it), and from --stats: every probe answered exactly once
# (M = probes sent, no duplicates, none past the destination), a large
# unmatched count U (the forged answers were seen and set aside), and the
# receive path rejecting the rest. It ends with "hostile: N passed, M failed".
#
#   usage: test-flood.sh [4] [6]          (default: both families)
#   env:   HOPTRACE   hoptrace binary (default build/src/hoptrace)
#          ICMPFLOOD  icmpflood binary (default next to hoptrace's build)
#          HOSTILE_PPS (100000), HOSTILE_SEED (1), HOSTILE_DELAY_MS (10),
#          HOSTILE_RTT_TOL_MS (15), HOSTILE_WALL_MS (4000)
# Needs root (namespaces): exits 77 without it, or fails when CI=true.
set -u
. "$(dirname "$0")/hostile-lab.sh"

lab_require_root
HOPTRACE=${HOPTRACE:-$LAB_TOP/build/src/hoptrace}
ICMPFLOOD=${ICMPFLOOD:-$(dirname "$HOPTRACE")/../tests/hostile/icmpflood}
for b in "$HOPTRACE" "$ICMPFLOOD"; do
	if [ ! -x "$b" ]; then
		echo "test-flood: $b is not built" >&2
		exit 1
	fi
done
PPS=${HOSTILE_PPS:-100000}
SEED=${HOSTILE_SEED:-1}
DELAY=${HOSTILE_DELAY_MS:-10}
TOL=${HOSTILE_RTT_TOL_MS:-15}
WALL=${HOSTILE_WALL_MS:-4000}
FAMS=${*:-4 6}

PASS=0 FAIL=0
ok() {
	PASS=$((PASS + 1))
	echo "  ok    $*"
}
bad() {
	FAIL=$((FAIL + 1))
	echo "  FAIL  $*"
}
show() {
	echo "        rc=$RC, ${MS} ms; stdout:"
	printf '%s\n' "$OUT" | sed 's/^/        | /'
	echo "        stderr:"
	printf '%s\n' "$ERR" | sed 's/^/        | /'
	echo "        flooder: $FLOOD"
}
check() { # NAME CONDITION-STATUS
	if [ "$2" = 0 ]; then ok "$1"; else
		bad "$1"
		show
	fi
}

# run_ht SECONDS ARGS..: hoptrace in the prober namespace, bounded by timeout.
run_ht() {
	local secs=$1 errf s e
	shift
	errf=$(mktemp)
	s=$(date +%s%N)
	RC=0
	OUT=$(timeout -k 2 "$secs" ip netns exec "$LAB_PROBER" "$HOPTRACE" "$@" 2>"$errf") || RC=$?
	e=$(date +%s%N)
	ERR=$(cat "$errf")
	rm -f "$errf"
	MS=$(((e - s) / 1000000))
}

# The RTTs of hoptrace's output as "HOP RTT" lines (the hop number carries
# over to continuation lines, if any).
rtts() {
	printf '%s\n' "$OUT" | awk '
		/^ ?[0-9]+  / { hop = $1 }
		/ ms/ && hop { for (i = 2; i < NF; i++) if ($(i + 1) == "ms") print hop, $i }'
}

# Every RTT of hop k must lie in [2*D*(k-1) - 0.5, 2*D*(k-1) + TOL] ms: never
# faster than the delay the routers add (a forged answer would be), and not
# much slower (the flood must not hold our replies up).
rtt_violations() {
	rtts | awk -v d="$DELAY" -v tol="$TOL" '
		{ want = 2 * d * ($1 - 1); if ($2 < want - 0.5 || $2 > want + tol) printf "hop %d: %s ms (expected %d..%d) ", $1, $2, want, want + tol }'
}

stat_field() { # WORD: the number before WORD in hoptrace --stats
	printf '%s\n' "$ERR" | grep -o "[0-9][0-9]* $1" | head -1 | cut -d' ' -f1
}

LAB_ROUTERS=${HOSTILE_ROUTERS:-5} LAB_DELAY_MS=$DELAY hostile_up || { echo "test-flood: lab setup failed"; exit 1; }
echo "lab: $LAB_HOPS hops, $DELAY ms per router each way; attacker $HOSTILE_NS at $PPS pps, seed $SEED"
FLOODF=$LAB_TMP/flood.out

for fam in $FAMS; do
	if [ "$fam" = 6 ]; then dst=$LAB_DEST6 forged='2001:db8:bad:'; else dst=$LAB_DEST4 forged='198\.19\.'; fi
	truth=$(lab_truth "$fam")
	nprobes=$((LAB_HOPS * 3))
	# A quiet run first: if this fails, the lab is broken, not hoptrace's defences.
	FLOOD="(none)"
	run_ht 20 -"$fam" -n -m "$LAB_HOPS" "$dst"
	if [ "$RC" != 0 ] || [ "$(printf '%s\n' "$OUT" | lab_parse_hops)" != "$truth" ]; then
		echo "test-flood: the quiet trace in IPv$fam is already wrong; lab broken"
		show
		exit 1
	fi
	for m in udp icmp tcp; do
		case $m in udp) mf="" ;; icmp) mf=-I ;; tcp) mf=-T ;; esac
		name="IPv$fam $m"
		echo "== $name under a $PPS pps flood"
		# A fresh flooder per run so that its summary is about this trace only.
		hostile_flood_start "$fam" "$FLOODF" -r "$PPS" -d 20 -s "$SEED" -n "$nprobes" ||
			{ bad "$name: cannot start the flooder"; continue; }
		sleep 0.5
		run_ht 30 -"$fam" -n $mf -m "$LAB_HOPS" --stats "$dst"
		hostile_flood_stop
		FLOOD=$(cat "$FLOODF")

		check "$name: exit status 0" "$([ "$RC" = 0 ]; echo $?)"
		got=$(printf '%s\n' "$OUT" | lab_parse_hops)
		if [ "$got" = "$truth" ]; then ok "$name: exact hops"; else
			bad "$name: hops differ (expected < > got)"
			diff <(printf '%s\n' "$truth") <(printf '%s\n' "$got") | sed 's/^/        /'
			show
		fi
		check "$name: no forged address printed" \
			"$(printf '%s\n' "$OUT" | grep -q "$forged"; [ $? = 1 ]; echo $?)"
		check "$name: destination line, three answers" \
			"$(printf '%s\n' "$OUT" | grep -Eq "^ ?$LAB_HOPS  $dst( +[0-9]+\.[0-9]+ ms){3}\$"; echo $?)"
		check "$name: finished in ${MS} ms (bound $WALL ms)" "$([ "$MS" -le "$WALL" ]; echo $?)"
		v=$(rtt_violations)
		n=$(rtts | wc -l)
		check "$name: all $n RTTs within [2*${DELAY}*(hop-1) - 0.5, +$TOL] ms ${v:+-- $v}" \
			"$([ -z "$v" ] && [ "$n" -eq "$nprobes" ]; echo $?)"
		S=$(stat_field "probes sent") Mt=$(stat_field "replies matched") U=$(stat_field unmatched)
		D=$(stat_field duplicates) P=$(stat_field "probes past")
		check "$name: --stats: $S sent, $Mt matched (all, once), $D duplicates, $P past" \
			"$([ "${S:-x}" = "$nprobes" ] && [ "${Mt:-x}" = "$nprobes" ] && [ "${D:-x}" = 0 ] && [ "${P:-x}" = 0 ]; echo $?)"
		check "$name: --stats: $U unmatched (forged answers about our flow seen and set aside; >= 100)" \
			"$([ "${U:-0}" -ge 100 ]; echo $?)"
		rej=$(printf '%s\n' "$ERR" | sed -n 's/.* \([0-9]*\) not ours, \([0-9]*\) malformed.*/\1 \2/p')
		check "$name: receive path rejected ${rej:-?} (not ours, malformed; each >= 100)" \
			"$(set -- $rej; [ "${1:-0}" -ge 100 ] && [ "${2:-0}" -ge 100 ]; echo $?)"
		case $m in udp) want="udp sport [0-9]+ dport 33434" ;; icmp) want="icmp id [0-9]+" ;; tcp) want="tcp sport [0-9]+ dport 80" ;; esac
		check "$name: the attacker learned this trace's flow and forged answers about it" \
			"$(printf '%s\n' "$FLOOD" | grep -Eq "flow $want .*; ours [1-9][0-9]*;"; echo $?)"
		echo "        flooder: $FLOOD"

		# Without -m: the trace must still stop at the destination, in time.
		hostile_flood_start "$fam" "$FLOODF" -r "$PPS" -d 20 -s "$((SEED + 1))" -n 90 ||
			{ bad "$name: cannot start the flooder"; continue; }
		sleep 0.5
		run_ht 30 -"$fam" -n $mf "$dst"
		hostile_flood_stop
		FLOOD=$(cat "$FLOODF")
		got=$(printf '%s\n' "$OUT" | lab_parse_hops)
		check "$name, 30 hops max: exit 0, exact hops, ${MS} ms (bound $WALL ms)" \
			"$([ "$RC" = 0 ] && [ "$got" = "$truth" ] && [ "$MS" -le "$WALL" ]; echo $?)"
	done
done

echo "hostile: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
