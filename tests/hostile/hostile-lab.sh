#!/bin/bash
# hostile-lab.sh: the netns lab of tests/netns/lab.sh plus an attacker hanging
# off router r1, for tests/hostile/test-flood.sh and bench/flood.sh (sourced).
#
#   prober --link1-- r1 -- r2 -- ... -- rN -- dest
#                    |
#                    +--hflood (198.18.244.1/24, 2001:db8:f4::1/64)
#                    |
#                 attacker ns "${LAB_ID}h": hf (198.18.244.2, 2001:db8:f4::2)
#
# The attacker runs icmpflood (tests/hostile/icmpflood.c) at the prober's
# address. r1 mirrors every frame the prober sends it (tc mirred) to the
# attacker, so the flood can quote the trace's own destination, ports and echo
# id: an on-path attacker who sees our probes. The flood bypasses r1's NFQUEUE
# delay (it would otherwise queue 100k packets/s behind the delay program and
# starve the real probes), so only the real path has the configured delay.
# Every namespace routes only 198.18.0.0/15 and 2001:db8::/32; hostile_up
# checks that none of them has a default route.
#
#   hostile_up                      lab_up (LAB_* settings) + the attacker
#   hostile_flood_start FAM FILE ARGS..  start icmpflood at the prober (FAM 4|6),
#                                   learning from mirrored probes; summary to FILE
#   hostile_flood_stop              SIGTERM the flooder and wait for its summary
#   env: ICMPFLOOD  path of the icmpflood binary

HOSTILE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HOSTILE_DIR/../netns/lab.sh"

HOSTILE_NS=""
HOSTILE_FLOOD_PID=""

# Fail when a namespace could route anywhere but the lab.
hostile_check_routes() {
	local ns r
	for ns in "$@"; do
		r=$(ip -n "$ns" -4 route show default; ip -n "$ns" -6 route show default)
		if [ -n "$r" ]; then
			echo "hostile: namespace $ns has a default route ($r): refusing to flood" >&2
			return 1
		fi
		r=$(ip -n "$ns" -4 route show | grep -v '^198\.1[89]\.' ; ip -n "$ns" -6 route show | grep -v '^2001:db8:\|^fe80::\|^multicast\|^ff00::\|^local ')
		if [ -n "$r" ]; then
			echo "hostile: namespace $ns routes outside the lab: $r" >&2
			return 1
		fi
	done
	return 0
}

hostile_up() {
	lab_up || return 1
	HOSTILE_NS="${LAB_ID}h"
	ip netns add "$HOSTILE_NS" || { lab_die "cannot create $HOSTILE_NS"; return 1; }
	LAB_NS_ALL+=("$HOSTILE_NS")
	ip netns exec "$HOSTILE_NS" sysctl -q -w net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 >/dev/null || return 1
	local r1
	r1=$(lab_ns 1)
	ip -n "$r1" link add hflood type veth peer name hf netns "$HOSTILE_NS" ||
		{ lab_die "cannot create the attacker's link"; return 1; }
	{
		echo "addr add 198.18.244.1/24 dev hflood"
		echo "addr add 2001:db8:f4::1/64 dev hflood nodad"
		echo "link set hflood up"
	} | lab_ipb "$r1" || return 1
	{
		echo "link set lo up"
		echo "addr add 198.18.244.2/24 dev hf"
		echo "addr add 2001:db8:f4::2/64 dev hf nodad"
		echo "link set hf up"
		echo "route add 198.18.0.0/15 via 198.18.244.1"
		echo "route add 2001:db8::/32 via 2001:db8:f4::1"
	} | lab_ipb "$HOSTILE_NS" || return 1
	# The attacker sees what the prober sends: a copy of every frame r1 receives
	# on its link to the prober.
	ip netns exec "$r1" tc qdisc add dev left clsact &&
		ip netns exec "$r1" tc filter add dev left ingress protocol all u32 match u32 0 0 \
			action mirred egress mirror dev hflood ||
		{ lab_die "cannot mirror the prober's link (tc u32/mirred)"; return 1; }
	# The flood is not part of the delayed path (see above).
	lab_ipt "$r1" 4 -t mangle -I FORWARD 1 -i hflood -j ACCEPT || return 1
	lab_ipt "$r1" 6 -t mangle -I FORWARD 1 -i hflood -j ACCEPT || return 1
	ip netns exec "$HOSTILE_NS" ping -4 -n -q -c 1 -W 5 "$LAB_PROBER4" >/dev/null &&
		ip netns exec "$HOSTILE_NS" ping -6 -n -q -c 1 -W 5 "$LAB_PROBER6" >/dev/null ||
		{ lab_die "the attacker cannot reach the prober"; return 1; }
	hostile_check_routes "$HOSTILE_NS" "$LAB_PROBER" "${LAB_NS_ALL[@]}" || return 1
	export HOSTILE_NS
	return 0
}

# Outer sources the flood claims: addresses no router has, and the real hops
# 2..N+1 (r1 drops packets claiming its own addresses). A forged answer from a
# real hop that got accepted would show as an RTT far below the hop's delay.
hostile_spoof_args() {
	local fam=$1 k
	for k in 1 2 3 4 5 6 7 8; do
		if [ "$fam" = 6 ]; then echo "-S 2001:db8:bad::$k"; else echo "-S 198.19.66.$k"; fi
	done
	for k in $(seq 2 "$LAB_HOPS"); do
		if [ "$fam" = 6 ]; then echo "-S $(lab_hop_addr6 "$k")"; else echo "-S $(lab_hop_addr4 "$k")"; fi
	done
}

# hostile_flood_start FAM SUMMARY_FILE [icmpflood args..]
hostile_flood_start() {
	local fam=$1 out=$2 target dst
	shift 2
	if [ "$fam" = 6 ]; then target=$LAB_PROBER6 dst=$LAB_DEST6; else target=$LAB_PROBER4 dst=$LAB_DEST4; fi
	hostile_check_routes "$HOSTILE_NS" || return 1
	# shellcheck disable=SC2046
	ip netns exec "$HOSTILE_NS" "$ICMPFLOOD" -t "$target" -D "$dst" -l hf \
		$(hostile_spoof_args "$fam") "$@" >"$out" 2>&1 &
	HOSTILE_FLOOD_PID=$!
	LAB_PIDS+=("$HOSTILE_FLOOD_PID")
}

hostile_flood_stop() {
	if [ -n "$HOSTILE_FLOOD_PID" ]; then
		kill -TERM "$HOSTILE_FLOOD_PID" 2>/dev/null
		wait "$HOSTILE_FLOOD_PID" 2>/dev/null
		HOSTILE_FLOOD_PID=""
	fi
	return 0
}

# Packets received on the prober's link to r1 (all of them: flood and replies).
hostile_prober_rx() {
	ip -n "$LAB_PROBER" -s -j link show right 2>/dev/null |
		sed -n 's/.*"rx":{"bytes":[0-9]*,"packets":\([0-9]*\).*/\1/p'
}
