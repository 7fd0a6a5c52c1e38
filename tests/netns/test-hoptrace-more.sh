#!/bin/bash
# test-hoptrace-more.sh: more hoptrace cases on the netns lab, beside
# test-hoptrace.sh: every traceroute-style option on a real path, a trace
# under a flood of unrelated ICMP (time-exceeded and echo replies from a real
# router, caused by spoofed-source pings from a flooder namespace), and TCP
# through a masquerading router (connection tracking) next to traceroute -T.
#   usage: test-hoptrace-more.sh [CASE..]   (default: every case, see ht_* below)
#   env:   HOPTRACE=path (default build/src/hoptrace)
set -u
. "$(dirname "$0")/testlib.sh"

# Flags of the method named $1 (udp|icmp|tcp), for hoptrace and traceroute alike.
mflag() {
	case $1 in
	udp) echo "" ;;
	icmp) echo "-I" ;;
	tcp) echo "-T" ;;
	esac
}

# Every hop line with an address must have exactly Q RTTs ("N.NNN ms") or '*'.
check_layout() {
	local name=$1 q=${2:-3} bad
	bad=$(printf '%s\n' "$T_OUT" | awk -v q="$q" '
		NR == 1 { next }
		/^ ?[0-9]+  / {
			n = 0; s = 0
			for (i = 2; i <= NF; i++) { if ($i == "ms") n++; if ($i == "*") s++ }
			if (n + s != q) print
			next
		}
		{ print }')
	if [ -z "$bad" ]; then
		t_pass "$name: $q answers or * per hop line, nothing else printed"
	else
		t_fail "$name: unexpected lines:"
		printf '%s\n' "$bad" | t_indent "| "
	fi
}

# The hop lists of hoptrace (T_OUT) and of traceroute with the same flags agree.
compare_traceroute() {
	local name=$1
	shift
	local ours theirs
	ours=$(printf '%s\n' "$T_OUT" | lab_parse_hops)
	theirs=$(timeout 60 ip netns exec "$LAB_PROBER" traceroute "$@" 2>&1 | lab_parse_hops)
	if [ "$ours" = "$theirs" ]; then
		t_pass "$name: same hops as traceroute $*"
	else
		t_fail "$name: hops differ from traceroute $* (traceroute < > hoptrace)"
		diff <(printf '%s\n' "$theirs") <(printf '%s\n' "$ours") | t_indent ""
	fi
}

ht_options() {
	need_hoptrace
	LAB_ROUTERS=6 lab_up || exit 1
	local d=$LAB_DEST4
	t_run 30 lab_prober "$HT" -n -q 1 "$d"
	t_hops "-q 1" "$(t_truth 4)"
	check_layout "-q 1" 1
	t_run 30 lab_prober "$HT" -n -q 5 "$d"
	check_layout "-q 5" 5
	t_run 30 lab_prober "$HT" -n -f 3 "$d"
	t_hops "-f 3 starts at hop 3" "$(t_truth 4 | tail -n +3)"
	t_run 30 lab_prober "$HT" -n -m 4 "$d"
	t_hops "-m 4 stops at hop 4" "$(t_truth 4 | head -4)"
	t_match "-m 4 header says 4 hops max" "$(printf '%s\n' "$T_OUT" | head -1)" ', 4 hops max,'
	t_run 30 lab_prober "$HT" -n -N 1 "$d"
	t_hops "-N 1 (one probe in flight)" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n -w 2 "$d"
	t_hops "-w 2" "$(t_truth 4)"
	# Above 10 the value is milliseconds (like traceroute): 20 ms between probes.
	t_run 30 lab_prober "$HT" -n -z 20 "$d"
	t_hops "-z 20 (20 ms between probes)" "$(t_truth 4)"
	t_le "-z 20 spaces 21 probes over >= 400 ms" 400 "$T_MS"
	t_run 30 lab_prober "$HT" -n -p 40000 "$d"
	t_hops "-p 40000" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n -T -p 22 "$d"
	t_hops "-T -p 22 (closed port: RST means reached)" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n -s "$(lab_src4 5)" "$d"
	t_hops "-s $(lab_src4 5)" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n -i right "$d"
	t_hops "-i right" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n -t 16 "$d"
	t_hops "-t 16" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n -F "$d"
	t_hops "-F" "$(t_truth 4)"
	t_run 30 lab_prober "$HT" -n "$d" 100
	t_hops "packet length 100" "$(t_truth 4)"
	t_match "header shows 100 byte packets" "$(printf '%s\n' "$T_OUT" | head -1)" ', 100 byte packets$'
	t_run 30 lab_prober "$HT" -n -F "$d" 1600
	t_match "-F with 1600 bytes on a 1500 MTU path: an error or !F" "$T_RC $T_OUT $T_ERR" \
		'(!F|^[12] .*(mtu|MTU|too (big|long|large)|message too long))'
	# Without -n: the lab has no DNS server, so names fall back to addresses fast.
	t_run 30 lab_prober "$HT" "$d"
	t_rc "without -n, no resolver reachable" 0
	t_hops "without -n: addresses" "$(t_truth 4)"
	t_le "without -n: reverse DNS never holds up the trace" "$T_MS" 8000
	# JSON.
	t_run 30 lab_prober "$HT" -n --json "$d"
	t_rc "--json" 0
	if command -v jq >/dev/null; then
		t_match "--json is one valid document" "$(printf '%s\n' "$T_OUT" | jq -e type 2>&1)" '^"object"$'
		t_match "--json lists the destination" "$(printf '%s\n' "$T_OUT" | jq -c '[.. | strings] | index("'"$d"'") != null')" '^true$'
	else
		t_match "--json mentions the destination" "$T_OUT" "\"$d\""
	fi
	t_run 30 lab_prober "$HT" -n --jsonl "$d"
	t_rc "--jsonl" 0
	if command -v jq >/dev/null; then
		t_match "--jsonl: every line is a JSON object" \
			"$(printf '%s\n' "$T_OUT" | jq -c type | sort -u | tr '\n' ' ')" '^"object" $'
	fi
	t_match "--jsonl mentions every router" "$(printf '%s\n' "$T_OUT" | grep -c '"198\.18\.[1-7]\.1"')" '^[1-9][0-9]*$'
	t_run 10 "$HT" --version
	t_rc "--version" 0
	t_run 10 "$HT" --help
	t_rc "--help" 0
	t_match "--help lists -I" "$T_OUT$T_ERR" '-I'
}

ht_flood() {
	need_hoptrace
	LAB_ROUTERS=6 LAB_FLOODER=1 lab_up || exit 1
	local fam m f d
	for fam in 4 6; do
		d=$(dest_of $fam)
		lab_flood_start $fam
		sleep 0.5
		for m in udp icmp tcp; do
			f=$(mflag $m)
			t_run 30 lab_prober "$HT" -n -$fam $f "$d"
			t_rc "hoptrace -$fam $f under an unrelated ICMP flood" 0
			t_hops "hoptrace -$fam $f under flood: exact hops" "$(t_truth $fam)"
			t_le "hoptrace -$fam $f under flood: no hang" "$T_MS" 5000
		done
		lab_flood_stop
	done
}

# RTTs printed on the hop line for hop $1 of T_OUT (0 when the line is missing).
rtts_at() {
	printf '%s\n' "$T_OUT" | awk -v h="$1" '$1 == h { n = 0; for (i = 2; i <= NF; i++) if ($i == "ms") n++; print n; found = 1 } END { if (!found) print 0 }'
}

# TCP through a masquerading router (LAB_NAT_AT=2: iptables MASQUERADE with
# connection tracking, a home router) to the destination's closed port 80.
# Each RST from the destination closes the router's conntrack entry of its
# 5-tuple, so probes that reach the destination together must each have
# their own tuple: every hop shows, the destination with 3 answers, like
# traceroute -T in the same lab, and hoptrace is no slower than it (best of
# two runs each; 25 ms of slack for a loaded machine).
ht_nat_tcp() {
	need_hoptrace
	LAB_ROUTERS=6 LAB_DELAY_MS=${NAT_DELAY_MS:-5} LAB_NAT_AT=2 lab_up || exit 1
	local fam d ours theirs i
	for fam in 4 6; do
		d=$(dest_of $fam)
		ours=999999 theirs=999999
		for i in 1 2; do
			t_run 30 lab_prober traceroute -n -$fam -T "$d"
			[ "$T_MS" -lt "$theirs" ] && theirs=$T_MS
			# The oracle is checked on its first run: run right after
			# itself, traceroute -T's fixed source ports can meet its
			# own conntrack entries (once seen: the destination at hop
			# 6 in 29 ms).
			[ $i = 1 ] || continue
			t_hops "traceroute -$fam -T through MASQUERADE: every hop" "$(t_truth $fam)"
			t_match "traceroute -$fam -T through MASQUERADE: 3 answers at the destination" \
				"$(rtts_at "$LAB_HOPS")" '^3$'
		done
		for i in 1 2; do
			t_run 30 lab_prober "$HT" -n -$fam -T "$d"
			[ "$T_MS" -lt "$ours" ] && ours=$T_MS
			t_rc "hoptrace -$fam -T through MASQUERADE (run $i)" 0
			t_hops "hoptrace -$fam -T through MASQUERADE: every hop (run $i)" "$(t_truth $fam)"
			t_match "hoptrace -$fam -T through MASQUERADE: 3 answers at the destination (run $i)" \
				"$(rtts_at "$LAB_HOPS")" '^3$'
			check_layout "hoptrace -$fam -T through MASQUERADE (run $i)" 3
		done
		echo "        hoptrace -$fam -T ${ours} ms, traceroute -$fam -T ${theirs} ms"
		t_le "hoptrace -$fam -T no slower than traceroute -T through MASQUERADE" "$ours" $((theirs + 25))
	done
}

t_main ht_ "$@"
