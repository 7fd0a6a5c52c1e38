#!/bin/bash
# test-peers.sh: prove the netns lab itself with Debian's own tools (traceroute,
# tracepath, mtr, scamper, ping) before hoptrace is judged against it: every
# tool must see exactly the hops the lab was built with.
#   usage: test-peers.sh [CASE..]   (default: every case; see peer_* below)
set -u
. "$(dirname "$0")/testlib.sh"

peer_linear4() {
	LAB_ROUTERS=6 lab_up || exit 1
	local exp m
	exp=$(t_truth 4)
	for m in "" -I -T -U; do
		t_run 20 lab_prober traceroute -n $m "$LAB_DEST4"
		t_hops "traceroute -n $m $LAB_DEST4" "$exp"
	done
	t_run 20 lab_prober tracepath -n "$LAB_DEST4"
	t_hops "tracepath -n" "$exp"
	t_run 20 lab_prober mtr --report -n -c 1 "$LAB_DEST4"
	t_hops "mtr --report -n -c 1" "$exp"
	for m in udp-paris icmp-paris tcp; do
		t_run 20 lab_prober scamper -c "trace -P $m" -i "$LAB_DEST4"
		t_hops "scamper trace -P $m" "$exp"
	done
	# The prober reaches nothing but the lab: no default route in any namespace.
	t_run 5 lab_prober ip -4 route show default
	t_match "no IPv4 default route in the prober" "[$T_OUT]" '^\[\]$'
}

peer_linear6() {
	LAB_ROUTERS=6 lab_up || exit 1
	local exp m
	exp=$(t_truth 6)
	for m in "" -I -T -U; do
		t_run 20 lab_prober traceroute -6 -n $m "$LAB_DEST6"
		t_hops "traceroute -6 -n $m $LAB_DEST6" "$exp"
	done
	t_run 20 lab_prober tracepath -6 -n "$LAB_DEST6"
	t_hops "tracepath -6 -n" "$exp"
	t_run 20 lab_prober mtr -6 --report -n -c 1 "$LAB_DEST6"
	t_hops "mtr -6 --report -n -c 1" "$exp"
	# scamper's udp-paris over IPv6 sends probes with a wrong UDP checksum here and
	# never matches the routers' answers: use its classic UDP method for IPv6.
	for m in udp icmp-paris tcp; do
		t_run 20 lab_prober scamper -c "trace -P $m" -i "$LAB_DEST6"
		t_hops "scamper trace -P $m (v6)" "$exp"
	done
	t_run 5 lab_prober ip -6 route show default
	t_match "no IPv6 default route in the prober" "[$T_OUT]" '^\[\]$'
}

peer_silent_hop() {
	LAB_ROUTERS=6 LAB_SILENT_HOPS=3 lab_up || exit 1
	local fam m addr
	for fam in 4 6; do
		addr=$LAB_DEST4
		[ $fam = 6 ] && addr=$LAB_DEST6
		for m in "" -I -T; do
			t_run 30 lab_prober traceroute -$fam -n $m "$addr"
			t_hops "traceroute -$fam -n $m, hop 3 silent" "$(t_truth $fam)"
		done
		t_run 30 lab_prober mtr -$fam --report -n -c 1 "$addr"
		t_hops "mtr -$fam, hop 3 silent" "$(t_truth $fam)"
	done
}

peer_silent_dest() {
	LAB_ROUTERS=6 LAB_SILENT_DEST=1 lab_up || exit 1
	local fam m addr
	for fam in 4 6; do
		addr=$LAB_DEST4
		[ $fam = 6 ] && addr=$LAB_DEST6
		for m in "" -I -T; do
			t_run 30 lab_prober traceroute -$fam -n -m 9 -w 0.3 $m "$addr"
			t_hops "traceroute -$fam -n -m 9 $m, silent destination" "$(t_truth $fam 9)"
		done
	done
}

peer_unreachable() {
	LAB_ROUTERS=6 lab_up || exit 1
	local m
	for m in "" -I -T; do
		t_run 20 lab_prober traceroute -n $m "$LAB_UNREACH4"
		t_hops "traceroute $m -> !H at hop $((LAB_UNREACH_AT + 1))" "$(t_truth_reject 4 '!H')"
		t_run 20 lab_prober traceroute -n $m "$LAB_PROHIBIT4"
		t_hops "traceroute $m -> !X" "$(t_truth_reject 4 '!X')"
		t_run 20 lab_prober traceroute -n $m "$LAB_NETUNR4"
		t_hops "traceroute $m -> !N" "$(t_truth_reject 4 '!N')"
		t_run 20 lab_prober traceroute -6 -n $m "$LAB_UNREACH6"
		t_hops "traceroute -6 $m -> !H" "$(t_truth_reject 6 '!H')"
		t_run 20 lab_prober traceroute -6 -n $m "$LAB_PROHIBIT6"
		t_hops "traceroute -6 $m -> !X" "$(t_truth_reject 6 '!X')"
		t_run 20 lab_prober traceroute -6 -n $m "$LAB_NETUNR6"
		t_hops "traceroute -6 $m -> !N" "$(t_truth_reject 6 '!N')"
	done
	# No route at all at r1: the kernel's own (rate limited) net unreachable.
	t_run 20 lab_prober traceroute -n -s "$(lab_src4 1)" "$LAB_NOROUTE4"
	t_hops "traceroute -> no route at hop 1 (!N)" "1 198.18.1.1 !N"
	t_run 20 lab_prober traceroute -6 -n "$LAB_NOROUTE6"
	t_hops "traceroute -6 -> no route at hop 1 (!N)" "1 2001:db8:1::1 !N"
}

peer_ratelimit() {
	LAB_ROUTERS=6 LAB_RATELIMIT=1 lab_up || exit 1
	local fam
	t_run 5 lab_in 3 sysctl -n net.ipv4.icmp_ratelimit net.ipv6.icmp.ratelimit
	t_match "routers keep icmp_ratelimit 1000 ms" "$(echo $T_OUT)" '^1000 1000$'
	t_run 5 lab_in 3 sysctl -n net.ipv4.icmp_ratemask
	t_match "time exceeded is in the rate mask" "$T_OUT" '^6168$'
	# Each router answers 3 probes, within the burst of 6. Fresh source address.
	t_run 30 lab_prober traceroute -n -s "$(lab_src4 1)" "$LAB_DEST4"
	t_hops "traceroute with rate limits on, fresh source" "$(t_truth 4)"
	t_run 30 lab_prober traceroute -6 -n -s "$(lab_src6 1)" "$LAB_DEST6"
	t_hops "traceroute -6 with rate limits on, fresh source" "$(t_truth 6)"
	# The limit is real: 20 probes to one router from one source get 6 + ~1 answers.
	t_run 30 lab_prober traceroute -n -s "$(lab_src4 2)" -f 2 -m 2 -q 10 -N 20 -w 1 "$LAB_DEST4"
	local n
	n=$(printf '%s\n' "$T_OUT" | grep -o ' ms' | wc -l)
	t_match "10 probes at one router, rate limited: 6 or 7 answers (got $n)" "$n" '^[67]$'
}

peer_unprivileged() {
	LAB_ROUTERS=6 lab_up || exit 1
	t_run 5 lab_prober sysctl -n net.ipv4.ping_group_range
	t_match "prober ping_group_range open" "$T_OUT" '^0[[:space:]]+2147483647$'
	t_run 10 lab_prober_nobody "$LAB_PING_NOCAPS" -n -c 1 -W 2 "$LAB_DEST4"
	t_rc "ping as nobody (ICMP datagram socket)" 0
	t_run 10 lab_prober_nobody "$LAB_PING_NOCAPS" -6 -n -c 1 -W 2 "$LAB_DEST6"
	t_rc "ping -6 as nobody" 0
	t_run 20 lab_prober_nobody traceroute -n "$LAB_DEST4"
	t_hops "traceroute -n as nobody (UDP + IP_RECVERR)" "$(t_truth 4)"
	t_run 20 lab_prober_nobody traceroute -6 -n "$LAB_DEST6"
	t_hops "traceroute -6 -n as nobody" "$(t_truth 6)"
	t_run 20 lab_prober_nobody tracepath -n "$LAB_DEST4"
	t_hops "tracepath -n as nobody" "$(t_truth 4)"
}

peer_pinggroup_closed() {
	LAB_ROUTERS=6 LAB_PING_GROUP="1 0" lab_up || exit 1
	t_run 5 lab_prober sysctl -n net.ipv4.ping_group_range
	t_match "prober ping_group_range closed" "$T_OUT" '^1[[:space:]]+0$'
	t_run 10 lab_prober_nobody "$LAB_PING_NOCAPS" -n -c 1 -W 2 "$LAB_DEST4"
	t_match "ping as nobody fails without ping_group_range" "$T_RC" '^[12]$'
	t_run 20 lab_prober_nobody traceroute -n -I "$LAB_DEST4"
	t_rc "traceroute -I as nobody fails without ping_group_range" 1
	t_match "... saying why" "$T_ERR" 'Operation not permitted|Permission denied'
	# The host's own setting is untouched by the lab.
	t_match "host ping_group_range unchanged" "$(sysctl -n net.ipv4.ping_group_range)" '.'
}

peer_delay() {
	LAB_ROUTERS=8 LAB_DELAY_MS=5 lab_up || exit 1
	local rtt
	t_run 10 lab_prober ping -n -c 3 -i 0.2 "$LAB_DEST4"
	rtt=$(printf '%s\n' "$T_OUT" | awk -F/ '/^rtt/ {printf "%d", $5}')
	# The floor proves the delay; above it, a loaded machine (the NFQUEUE
	# delay program is a process) may add a few ms.
	t_match "ping RTT through 8 routers x 5 ms each way is 80-99 ms (got $rtt)" "$rtt" '^(8[0-9]|9[0-9])$'
	t_run 10 lab_prober ping -6 -n -c 3 -i 0.2 "$LAB_DEST6"
	rtt=$(printf '%s\n' "$T_OUT" | awk -F/ '/^rtt/ {printf "%d", $5}')
	t_match "ping -6 RTT 80-99 ms (got $rtt)" "$rtt" '^(8[0-9]|9[0-9])$'
	t_run 20 lab_prober traceroute -n "$LAB_DEST4"
	t_hops "traceroute through delayed routers" "$(t_truth 4)"
	# Hop k is 10*(k-1) ms away: check hop 5's first RTT is 40-59 ms.
	rtt=$(printf '%s\n' "$T_OUT" | awk '$1 == 5 {printf "%d", $3}')
	t_match "hop 5 RTT 40-59 ms (got $rtt)" "$rtt" '^[45][0-9]$'
	lab_count_reset
	t_run 20 lab_prober traceroute -n "$LAB_DEST4"
	local c
	c=$(lab_count)
	# Debian traceroute: 3 probes for each of 9 hops plus what it had in flight
	# past the destination when the answers came back.
	t_match "probes counted in r1 and past the destination: $c" "$c" '^[0-9]+ [0-9]+$'
	t_le "traceroute sent at least 27 probes" 27 "${c% *}"
}

t_main peer_ "$@"
