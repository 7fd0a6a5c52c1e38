#!/bin/bash
# test-hoptrace.sh: hoptrace on real Linux routers in network namespaces
# (tests/netns/lab.sh): exact hops and annotations for every method and family,
# privileged and unprivileged, a silent hop, a silent destination, unreachables,
# ICMP rate limits, and the same hops as Debian's traceroute in the same lab.
#   usage: test-hoptrace.sh [CASE..]   (default: every case; see ht_* below)
#   env:   HOPTRACE=path/to/hoptrace (default build/src/hoptrace)
set -u
. "$(dirname "$0")/testlib.sh"

HOPTRACE=${HOPTRACE:-$LAB_TOP/build/src/hoptrace}
if [ ! -x "$HOPTRACE" ]; then
	echo "test-hoptrace: $HOPTRACE is not built" >&2
	exit 1
fi

# Every method in both families: exact hops, exit 0, and the hops Debian's
# traceroute sees with the same method.
ht_linear() {
	LAB_ROUTERS=6 lab_up || exit 1
	local fam m addr tr
	for fam in 4 6; do
		addr=$LAB_DEST4
		[ $fam = 6 ] && addr=$LAB_DEST6
		for m in "" -I -T --classic "-T --classic"; do
			t_run 20 lab_prober "$HOPTRACE" -$fam -n $m "$addr"
			t_hops "hoptrace -$fam -n $m" "$(t_truth $fam)"
			t_rc "hoptrace -$fam -n $m" 0
			t_match "hoptrace -$fam $m: header" "$T_OUT" "^hoptrace to $addr \\($addr\\), 30 hops max, [0-9]+ byte packets$"
			# Three RTTs on every line: nothing lost on a clean lab path.
			t_match "hoptrace -$fam $m: 3 replies per hop" \
				"$(printf '%s\n' "$T_OUT" | tail -n +2 | grep -vc ' ms .* ms .* ms')" '^0$'
			tr=${m/--classic/}
			t_run 20 lab_prober traceroute -$fam -n $tr "$addr"
			t_hops "traceroute -$fam -n $tr agrees" "$(t_truth $fam)"
		done
	done
}

# Addresses resolved from a name, IPv4 and IPv6 chosen by the name, and the
# JSON forms.
ht_outputs() {
	LAB_ROUTERS=6 lab_up || exit 1
	t_run 20 lab_prober "$HOPTRACE" -n --json "$LAB_DEST4"
	t_rc "--json" 0
	t_match "--json: destination reached at hop 7" "$T_OUT" '"reason": "reached"'
	t_match "--json: last hop address" "$T_OUT" "\"$LAB_DEST4\""
	t_run 20 lab_prober "$HOPTRACE" -n --jsonl "$LAB_DEST6"
	t_rc "--jsonl" 0
	t_match "--jsonl: one trace_done event, last" "$(printf '%s\n' "$T_OUT" | tail -1)" '"type": *"trace_done"'
	t_match "--jsonl: 7 hop_done events" "$(printf '%s\n' "$T_OUT" | grep -c '"hop_done"')" '^7$'
}

# Each method and family, with raw sockets (root) and without (nobody).
ht_silent_hop() {
	LAB_ROUTERS=6 LAB_SILENT_HOPS=3 lab_up || exit 1
	local fam m addr who
	for who in lab_prober lab_prober_nobody; do
		for fam in 4 6; do
			addr=$LAB_DEST4
			[ $fam = 6 ] && addr=$LAB_DEST6
			for m in "" -I -T; do
				t_run 20 $who "$HOPTRACE" -$fam -n $m "$addr"
				t_hops "$who: hoptrace -$fam -n $m, hop 3 silent" "$(t_truth $fam)"
				t_rc "$who: hoptrace -$fam $m, hop 3 silent" 0
				# Adaptive waits: the silent hop is given up on soon after
				# the farther hops answered, not after the 5 s maximum.
				t_le "$who: hoptrace -$fam $m with a silent hop: wall ms" "$T_MS" 1000
			done
		done
	done
}

ht_silent_dest() {
	LAB_ROUTERS=6 LAB_SILENT_DEST=1 lab_up || exit 1
	local fam m addr who
	for who in lab_prober lab_prober_nobody; do
		for fam in 4 6; do
			addr=$LAB_DEST4
			[ $fam = 6 ] && addr=$LAB_DEST6
			for m in "" -I -T; do
				t_run 20 $who "$HOPTRACE" -$fam -n $m "$addr"
				# Hop 6 is the last to answer; the gap limit (5) ends the
				# trace at 11, after one second look at hops 7-11 a second
				# after their first probes (a rate-limited destination would
				# answer it).
				t_hops "$who: hoptrace -$fam -n $m, silent destination" "$(t_truth $fam 11)"
				t_rc "$who: hoptrace -$fam $m, silent destination" 0
				t_le "$who: silent destination given up within 2 s: wall ms" "$T_MS" 2000
			done
		done
	done
}

ht_unreachable() {
	LAB_ROUTERS=6 lab_up || exit 1
	local m who
	for who in lab_prober lab_prober_nobody; do
		for m in "" -I -T; do
			t_run 20 $who "$HOPTRACE" -n $m "$LAB_UNREACH4"
			t_hops "$who: hoptrace $m -> !H" "$(t_truth_reject 4 '!H')"
			t_rc "$who: hoptrace $m -> !H" 0
			t_run 20 $who "$HOPTRACE" -n $m "$LAB_PROHIBIT4"
			t_hops "$who: hoptrace $m -> !X" "$(t_truth_reject 4 '!X')"
			t_run 20 $who "$HOPTRACE" -n $m "$LAB_NETUNR4"
			t_hops "$who: hoptrace $m -> !N" "$(t_truth_reject 4 '!N')"
			t_run 20 $who "$HOPTRACE" -6 -n $m "$LAB_UNREACH6"
			t_hops "$who: hoptrace -6 $m -> !H" "$(t_truth_reject 6 '!H')"
			t_run 20 $who "$HOPTRACE" -6 -n $m "$LAB_PROHIBIT6"
			t_hops "$who: hoptrace -6 $m -> !X" "$(t_truth_reject 6 '!X')"
			t_run 20 $who "$HOPTRACE" -6 -n $m "$LAB_NETUNR6"
			t_hops "$who: hoptrace -6 $m -> !N" "$(t_truth_reject 6 '!N')"
		done
	done
}

# Linux's ICMP error limit on (burst 6, then 1/s per source): each run uses a
# fresh source address so runs do not starve each other. All 90 probes leave
# at once in TTL order, so the destination's burst of 6 port unreachables goes
# to the probes at the true distance, which arrive first.
ht_ratelimit() {
	LAB_ROUTERS=6 LAB_RATELIMIT=1 lab_up || exit 1
	t_run 5 lab_in 3 sysctl -n net.ipv4.icmp_ratelimit
	t_match "routers keep icmp_ratelimit 1000 ms" "$T_OUT" '^1000$'
	t_run 20 lab_prober "$HOPTRACE" -n -s "$(lab_src4 1)" "$LAB_DEST4"
	t_hops "hoptrace, rate limits on, fresh source" "$(t_truth 4)"
	t_match "destination line has its 3 replies" \
		"$(printf '%s\n' "$T_OUT" | awk '$1 == 7' | grep -o ' ms' | wc -l)" '^3$'
	t_run 20 lab_prober "$HOPTRACE" -6 -n -s "$(lab_src6 1)" "$LAB_DEST6"
	t_hops "hoptrace -6, rate limits on, fresh source" "$(t_truth 6)"
	t_run 20 lab_prober "$HOPTRACE" -I -n -s "$(lab_src4 2)" "$LAB_DEST4"
	t_hops "hoptrace -I, rate limits on" "$(t_truth 4)"
	t_run 20 lab_prober "$HOPTRACE" -I -6 -n -s "$(lab_src6 2)" "$LAB_DEST6"
	t_hops "hoptrace -I -6, rate limits on" "$(t_truth 6)"
	t_run 20 lab_prober "$HOPTRACE" -T -n -s "$(lab_src4 3)" "$LAB_DEST4"
	t_hops "hoptrace -T, rate limits on" "$(t_truth 4)"
	t_run 20 lab_prober "$HOPTRACE" -T -6 -n -s "$(lab_src6 3)" "$LAB_DEST6"
	t_hops "hoptrace -T -6, rate limits on" "$(t_truth 6)"
	# Without raw sockets (one UDP socket, ping sockets, connect()).
	local m k=4
	for m in "" -I -T; do
		t_run 20 lab_prober_nobody "$HOPTRACE" $m -n -s "$(lab_src4 $k)" "$LAB_DEST4"
		t_hops "nobody: hoptrace $m, rate limits on" "$(t_truth 4)"
		t_run 20 lab_prober_nobody "$HOPTRACE" $m -6 -n -s "$(lab_src6 $k)" "$LAB_DEST6"
		t_hops "nobody: hoptrace $m -6, rate limits on" "$(t_truth 6)"
		k=$((k + 1))
	done
	# The same source again at once: the routers' buckets are nearly empty
	# now, which shows as missing replies, never as wrong hops.
	t_run 20 lab_prober "$HOPTRACE" -n -s "$(lab_src4 1)" "$LAB_DEST4"
	t_rc "back-to-back run from one source" 0
	local bad
	bad=$(printf '%s\n' "$T_OUT" | lab_parse_hops | diff <(t_truth 4) - | grep '^>' | grep -v ' \*$' | grep -vc '^> [0-9]* 198\.18\.\([0-9]\)\.1$')
	t_match "back-to-back run: no wrong address (only stars may differ)" "$bad" '^0$'
}

ht_unprivileged() {
	LAB_ROUTERS=6 lab_up || exit 1
	local fam m addr
	for fam in 4 6; do
		addr=$LAB_DEST4
		[ $fam = 6 ] && addr=$LAB_DEST6
		for m in "" --classic -I -T; do
			t_run 20 lab_prober_nobody "$HOPTRACE" -$fam -n $m "$addr"
			t_hops "hoptrace -$fam -n $m as nobody" "$(t_truth $fam)"
			t_rc "hoptrace -$fam $m as nobody" 0
			t_match "hoptrace -$fam $m as nobody says what it costs" "$T_ERR" '^hoptrace: no CAP_NET_RAW: '
		done
	done
	# Root may choose unprivileged mode too.
	t_run 20 lab_prober "$HOPTRACE" --unprivileged -n -I "$LAB_DEST4"
	t_hops "hoptrace --unprivileged -I as root" "$(t_truth 4)"
}

ht_pinggroup_closed() {
	LAB_ROUTERS=6 LAB_PING_GROUP="1 0" lab_up || exit 1
	t_run 20 lab_prober_nobody "$HOPTRACE" -n -I "$LAB_DEST4"
	t_rc "hoptrace -I as nobody without ping_group_range" 1
	t_match "... one line saying what is missing and how to fix it" "$T_ERR" \
		'^hoptrace: .*CAP_NET_RAW.*ping_group_range'
	t_match "... exactly one line" "$(printf '%s\n' "$T_ERR" | wc -l)" '^1$'
	# UDP still works without raw sockets or ping sockets.
	t_run 20 lab_prober_nobody "$HOPTRACE" -n "$LAB_DEST4"
	t_hops "hoptrace UDP as nobody without ping_group_range" "$(t_truth 4)"
}

# A target given by name is resolved by a child that has already dropped
# every privilege: the privileged process never parses DNS answers or
# /etc/hosts. The name comes from a hosts file bind-mounted in a private
# mount namespace; strace shows the order of the calls.
ht_name_resolution() {
	LAB_ROUTERS=2 lab_up || exit 1
	local hosts
	hosts=$(mktemp)
	printf '%s lab-dest.test\n%s lab-dest6.test\n' "$LAB_DEST4" "$LAB_DEST6" >"$hosts"
	chmod 644 "$hosts"
	t_run 20 lab_prober unshare -m sh -c "mount --bind '$hosts' /etc/hosts && exec '$HOPTRACE' -n lab-dest.test"
	t_hops "hoptrace -n lab-dest.test" "$(t_truth 4)"
	t_match "header names the target" "$T_OUT" "^hoptrace to lab-dest.test \\($LAB_DEST4\\)"
	t_run 20 lab_prober unshare -m sh -c "mount --bind '$hosts' /etc/hosts && exec '$HOPTRACE' -6 -n lab-dest6.test"
	t_hops "hoptrace -6 -n lab-dest6.test" "$(t_truth 6)"
	t_run 30 lab_prober unshare -m sh -c "mount --bind '$hosts' /etc/hosts && exec strace -f -qq -e trace=openat,setresuid,socket -o /dev/stderr '$HOPTRACE' -n lab-dest.test"
	rm -f "$hosts"
	t_hops "hoptrace under strace" "$(t_truth 4)"
	# The first process to open /etc/hosts must already have given up root.
	local first_hosts pid
	first_hosts=$(printf '%s\n' "$T_ERR" | grep -m1 '/etc/hosts')
	pid=${first_hosts%% *}
	t_match "/etc/hosts is read (by pid $pid)" "$first_hosts" 'etc/hosts'
	t_match "... by a process that dropped to another uid first" \
		"$(printf '%s\n' "$T_ERR" | grep "^$pid " | sed -n '1,/etc\/hosts/p' | grep -c 'setresuid(')" '^[1-9]'
	t_match "... and the main process never reads it" \
		"$(printf '%s\n' "$T_ERR" | grep '/etc/hosts' | awk '{print $1}' | sort -u | grep -vc "^$pid\$")" '^0$'
}

# Bad input against a live lab: no crash, no hang, a clear line, exit 2.
ht_bad_input() {
	LAB_ROUTERS=2 lab_up || exit 1
	t_run 10 lab_prober "$HOPTRACE" -n no-such-host.invalid
	t_rc "unknown host" 2
	t_match "unknown host: one clear line" "$T_ERR" "^hoptrace: cannot resolve 'no-such-host.invalid'"
	t_run 10 lab_prober "$HOPTRACE" -n $'evil\e[2Jname.invalid'
	t_rc "host name with escape bytes" 2
	t_match "escape bytes never reach the terminal" "$(printf '%s' "$T_ERR" | grep -c $'\e')" '^0$'
	t_run 10 lab_prober "$HOPTRACE" -6 -n "$LAB_DEST4"
	t_rc "-6 with an IPv4 address" 2
	# An address with no route: the kernel refuses to send; a clear error.
	t_run 10 lab_prober "$HOPTRACE" -n 198.19.77.1
	t_match "no route to the target: exit status 1 or a !N line" "$T_RC" '^[01]$'
}

t_main ht_ "$@"
