#!/bin/bash
# test-accuracy.sh: the paths on which speed used to hide hops, on real Linux
# routers, next to Debian's traceroute in the same lab:
#   slow_router     router 4's own time-exceeded leaves 150 ms late (NFQUEUE on its
#                   raw OUTPUT chain): hoptrace shows it, with that RTT, like traceroute
#   back_to_back    three default traces in a row from one source with Linux's ICMP
#                   rate limit on (burst 6, then 1/s): every hop and the destination
#                   show in every run, and every * is named as rate limiting
#   back_to_back_off  the same with the limit off: nothing missing, nothing named
#   usage: test-accuracy.sh [CASE..]   env: HOPTRACE=path (default build/src/hoptrace)
set -u
. "$(dirname "$0")/testlib.sh"

# The RTTs printed on hop line $1 of T_OUT, one per line (milliseconds).
hop_rtts() {
	printf '%s\n' "$T_OUT" | awk -v h="$1" '$1 == h { for (i = 2; i <= NF; i++) if ($i == "ms") print $(i - 1) }'
}

# Stars in the hop lines of T_OUT, and the count the note line gives.
stars() { printf '%s\n' "$T_OUT" | awk '/^ ?[0-9]+  / { for (i = 2; i <= NF; i++) if ($i == "*") n++ } END { print n + 0 }'; }
named() { printf '%s\n' "$T_OUT" | awk '/^note: [0-9]+ of the \* / { print $2; found = 1 } END { if (!found) print 0 }'; }

ht_slow_router() {
	need_hoptrace
	LAB_ROUTERS=8 LAB_DELAY_MS=5 LAB_SLOW_HOPS="4:150" lab_up || exit 1
	local fam m d r low
	for fam in 4 6; do
		d=$(dest_of $fam)
		for m in "" -I; do
			t_run 30 lab_prober "$HT" -n -$fam $m "$d"
			t_rc "slow router, hoptrace -$fam $m" 0
			t_hops "slow router, hoptrace -$fam $m: every hop, router 4 included" "$(t_truth $fam)"
			low=$(hop_rtts 4 | awk '$1 < 150 { n++ } END { print n + 0 }')
			t_match "slow router, hoptrace -$fam $m: hop 4 has 3 RTTs, each >= 150 ms" \
				"$(hop_rtts 4 | wc -l) $low" '^3 0$'
			r=$(timeout 60 ip netns exec "$LAB_PROBER" traceroute -n -$fam $m "$d" 2>&1 | lab_parse_hops)
			if [ "$r" = "$(printf '%s\n' "$T_OUT" | lab_parse_hops)" ]; then
				t_pass "slow router, -$fam $m: same hops as traceroute"
			else
				t_fail "slow router, -$fam $m: traceroute shows other hops"
				printf '%s\n' "$r" | t_indent "| "
			fi
		done
	done
}

# Three runs in a row from one fresh source address each family (the
# routers' budgets are per source), method $2, limit on ($1 = 1) or off.
back_to_back() {
	local rl=$1 fam d m run src i=0 st nm
	for fam in 4 6; do
		d=$(dest_of $fam)
		for m in "" -I; do
			i=$((i + 1))
			if [ $fam = 6 ]; then src=$(lab_src6 $i); else src=$(lab_src4 $i); fi
			for run in 1 2 3; do
				t_run 30 lab_prober "$HT" -n -$fam $m -s "$src" "$d"
				t_rc "ratelimit=$rl -$fam $m run $run" 0
				t_hops "ratelimit=$rl -$fam $m run $run: every hop and the destination" "$(t_truth $fam)"
				st=$(stars) nm=$(named)
				if [ "$rl" = 1 ]; then
					t_match "ratelimit=$rl -$fam $m run $run: every * named as rate limiting" \
						"$st $nm" "^$nm $st\$"
				else
					t_match "ratelimit=$rl -$fam $m run $run: nothing missing, nothing named" \
						"$st $nm" '^0 0$'
				fi
			done
		done
	done
}

ht_back_to_back() {
	need_hoptrace
	LAB_ROUTERS=8 LAB_RATELIMIT=1 lab_up || exit 1
	back_to_back 1
}

ht_back_to_back_off() {
	need_hoptrace
	LAB_ROUTERS=8 LAB_RATELIMIT=0 lab_up || exit 1
	back_to_back 0
}

t_main ht_ "$@"
