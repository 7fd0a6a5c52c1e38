#!/bin/bash
# lab.sh: a lab of real Linux routers in network namespaces, for hoptrace's
# integration tests and benchmark. Sourceable library and command line tool.
#
# Topology (N routers, N >= 1; tests use N >= 6):
#
#   prober --link1-- r1 --link2-- r2 -- ... -- rN --link(N+1)-- dest
#
# Link k joins node k-1 (its "right" interface) and node k (its "left" one):
#   node k   left : 198.18.k.1/24   2001:db8:k::1/64
#   node k-1 right: 198.18.k.2/24   2001:db8:k::2/64
# so hop k of a trace (router k, or the destination when k = N+1) answers from
# 198.18.k.1 / 2001:db8:k::1 (k written in decimal digits in both families).
# The prober also holds spare source addresses 198.18.1.101.. / 2001:db8:1::101..
# (lab_src4 I / lab_src6 I) so that back-to-back runs do not share the routers'
# per-source ICMP rate limit. The prober routes only 198.18.0.0/15 and
# 2001:db8::/32 into the lab; no namespace has a default route, and nothing in
# the host's own namespace is touched (links are created inside the namespaces).
#
# Extra prefixes, routed along the chain up to router U = LAB_UNREACH_AT, which
# rejects them (iptables REJECT in FORWARD) with:
#   198.18.251.0/24  2001:db8:fb::/48   host / address unreachable   (!H)
#   198.18.252.0/24  2001:db8:fc::/48   administratively prohibited  (!X)
#   198.18.253.0/24  2001:db8:fd::/48   net unreachable / no route   (!N)
# Anything else in the lab ranges has no route at r1: the kernel's own !N from
# hop 1, limited by host-global settings (burst 5, then 1/s per source).
#
# Settings (environment variables read by lab_up, or command line options):
#   LAB_ROUTERS=N         routers in the chain (default 8: a 9-hop path)
#   LAB_SILENT_HOPS="k.." routers that never answer (their time-exceeded is dropped)
#   LAB_SILENT_DEST=1     the destination never answers (UDP, TCP, echo dropped)
#   LAB_RATELIMIT=1       keep Linux's ICMP error rate limit (1000 ms, burst 6) on every
#                         node; 0 (default) sets net.ipv4.icmp_ratelimit and
#                         net.ipv6.icmp.ratelimit to 0 so runs never starve each other
#   LAB_PING_GROUP="a b"  net.ipv4.ping_group_range in the prober (default "0 2147483647")
#   LAB_DELAY_MS=D        one-way delay added by every router (NFQUEUE, default 0)
#   LAB_SLOW_HOPS="k:MS.." routers whose own time-exceeded messages leave MS ms late (a slow
#                         control plane: NFQUEUE on the router's raw OUTPUT chain); forwarding
#                         through them is not slowed
#   LAB_NAT_AT=k          router k masquerades everything it forwards toward the destination
#                         (iptables MASQUERADE, connection tracking: a home router)
#   LAB_UNREACH_AT=U      router holding the unreachable/prohibit routes (default min(3,N))
#   LAB_NFQ_DELAY=PATH    nfq-delay binary (default: found in build dirs, or compiled)
#   LAB_FLOODER=1         add namespace "${LAB_ID}f" hanging off r1 (link 198.18.240.0/24,
#                         2001:db8:f0::/64) that holds the prober's own addresses too, so
#                         lab_flood_start can make r1 shower the prober with unrelated
#                         time-exceeded messages and echo replies (spoofed-source pings)
#
# Library use:
#   . tests/netns/lab.sh
#   LAB_ROUTERS=6 LAB_SILENT_HOPS=3 lab_up     # installs an EXIT trap calling lab_down
#   lab_prober traceroute -n "$LAB_DEST4"      # run a command in the prober namespace
#   lab_hop_addr4 3                            # -> 198.18.3.1
#   lab_count_reset; ...; lab_count            # probes seen entering r1 / past dest
#   lab_down
#
# Command line:
#   lab.sh up [OPTIONS]                 build the lab, print its description, wait for ^C
#   lab.sh exec [OPTIONS] -- CMD ARG..  build it, run CMD in the prober namespace with
#                                       LAB_* variables exported, tear it down
#   OPTIONS: -n N  -s K (repeatable)  -S (silent dest)  -r (rate limit on)
#            -g "A B" (ping_group_range)  -d MS (delay)  -u U (unreachable router)

LAB_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_TOP=$(cd "$LAB_SH_DIR/../.." && pwd)
LAB_SEQ=${LAB_SEQ:-0}
LAB_NS_ALL=()
LAB_PIDS=()
LAB_TMP=""

lab_log() { [ -n "${LAB_VERBOSE:-}" ] && echo "lab: $*" >&2; return 0; }
lab_die() {
	echo "lab: $*" >&2
	return 1
}

lab_require_root() {
	if [ "$(id -u)" != 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "lab: needs root (network namespaces, iptables) and CI=true: failing" >&2
			exit 1
		fi
		echo "lab: needs root (network namespaces, iptables): skipping" >&2
		exit 77
	fi
	local t
	for t in ip iptables-legacy ip6tables-legacy; do
		command -v "$t" >/dev/null || { echo "lab: missing tool $t" >&2; exit 1; }
	done
}

# Hop k of a trace answers from these addresses (k = N+1 is the destination).
lab_hop_addr4() { echo "198.18.$1.1"; }
lab_hop_addr6() { echo "2001:db8:$1::1"; }
# Spare prober source addresses, I = 1..LAB_SRC_COUNT.
lab_src4() { echo "198.18.1.$((100 + $1))"; }
lab_src6() { echo "2001:db8:1::$((100 + $1))"; }

# The namespace of node k: 0 prober, 1..N routers, N+1 destination.
lab_ns() {
	if [ "$1" -eq 0 ]; then
		echo "${LAB_ID}p"
	elif [ "$1" -eq $((LAB_N + 1)) ]; then
		echo "${LAB_ID}d"
	else
		echo "${LAB_ID}r$1"
	fi
}

lab_prober() { ip netns exec "$LAB_PROBER" "$@"; }
lab_in() {
	local k=$1
	shift
	ip netns exec "$(lab_ns "$k")" "$@"
}

# Find or build the NFQUEUE delay program.
lab_nfq_delay_bin() {
	local c
	if [ -n "${LAB_NFQ_DELAY:-}" ] && [ -x "$LAB_NFQ_DELAY" ]; then
		echo "$LAB_NFQ_DELAY"
		return 0
	fi
	for c in "$LAB_TOP"/build/bench/nfq-delay "$LAB_TOP"/build-lab/bench/nfq-delay; do
		if [ -x "$c" ] && [ "$c" -nt "$LAB_TOP/bench/nfq-delay.c" ]; then
			echo "$c"
			return 0
		fi
	done
	c="$LAB_TMP/nfq-delay"
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$c" "$LAB_TOP/bench/nfq-delay.c" \
		$(pkg-config --cflags --libs libnetfilter_queue) >&2 || return 1
	echo "$c"
}

# lab_nfq_start BIN NS QUEUE MS TAG: in namespace NS, hold every packet of
# NFQUEUE QUEUE for MS milliseconds (bench/nfq-delay, stopped by lab_down);
# lab_nfq_ready TAG WHO: wait until it is bound, so the rule can go in.
lab_nfq_start() {
	ip netns exec "$2" "$1" -q "$3" -d "$4" -r "$LAB_TMP/$5" 2>"$LAB_TMP/$5.log" &
	LAB_PIDS+=($!)
}
lab_nfq_ready() {
	local j
	for j in $(seq 1 300); do
		[ -s "$LAB_TMP/$1" ] && return 0
		sleep 0.01
	done
	lab_die "nfq-delay did not start in $2"
	cat "$LAB_TMP/$1.log" >&2
	return 1
}

# Namespaces of an earlier lab whose shell is gone (killed by a test
# timeout, so its EXIT trap never ran): named ht<pid>x<seq><node>. Only
# those, and only when no process with that pid is alive.
lab_reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in ht[0-9]*x[0-9]*) ;; *) continue ;; esac
		pid=${ns#ht}
		pid=${pid%%x*}
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ -d "/proc/$pid" ] && continue
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for ns in /tmp/hoptrace-lab.ht[0-9]*x*; do
		[ -d "$ns" ] || continue
		pid=${ns#/tmp/hoptrace-lab.ht}
		pid=${pid%%x*}
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ -d "/proc/$pid" ] || rm -rf "$ns"
	done
}

lab_down() {
	local p ns
	for p in "${LAB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${LAB_PIDS[@]}"; do
		# A helper that ignores SIGTERM for 3 s is killed: teardown
		# must never hang a test.
		local i st
		for i in $(seq 30); do
			# Gone, or a zombie waiting for `wait` below.
			st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
			[ -z "$st" ] || [ "$st" = Z ] && break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LAB_PIDS=()
	for ns in "${LAB_NS_ALL[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	LAB_NS_ALL=()
	if [ -n "$LAB_TMP" ]; then
		rm -rf "$LAB_TMP"
		LAB_TMP=""
	fi
	return 0
}

# ip -batch into one namespace, reading commands from stdin.
lab_ipb() { ip -n "$1" -batch -; }

# Run a whole iptables-restore style table set in namespace $1 for family $2 (4|6).
lab_ipt() {
	local ns=$1 fam=$2
	shift 2
	if [ "$fam" = 6 ]; then
		ip netns exec "$ns" ip6tables-legacy -w "$@"
	else
		ip netns exec "$ns" iptables-legacy -w "$@"
	fi
}

lab_up() {
	lab_require_root
	LAB_N=${LAB_ROUTERS:-8}
	local silent=${LAB_SILENT_HOPS:-} sdest=${LAB_SILENT_DEST:-0} rl=${LAB_RATELIMIT:-0}
	local pgr=${LAB_PING_GROUP:-0 2147483647} delay=${LAB_DELAY_MS:-0}
	local U=${LAB_UNREACH_AT:-3}
	LAB_SRC_COUNT=${LAB_SRC_COUNT:-16}
	case "$LAB_N" in '' | *[!0-9]*) lab_die "LAB_ROUTERS must be a number"; return 1 ;; esac
	if [ "$LAB_N" -lt 1 ] || [ "$LAB_N" -gt 200 ]; then
		lab_die "LAB_ROUTERS must be 1..200"
		return 1
	fi
	[ "$U" -gt "$LAB_N" ] && U=$LAB_N
	LAB_UNREACH_AT=$U

	lab_reap_stale
	LAB_SEQ=$((LAB_SEQ + 1))
	LAB_ID="ht$$x${LAB_SEQ}"
	LAB_TMP=$(mktemp -d "/tmp/hoptrace-lab.$LAB_ID.XXXXXX")
	chmod 755 "$LAB_TMP"
	# A copy of ping without its file capabilities, for unprivileged checks: the
	# kernel refuses to exec a capability-bearing file when the bounding set is empty.
	cat "$(command -v ping)" >"$LAB_TMP/ping" && chmod 755 "$LAB_TMP/ping"
	LAB_PING_NOCAPS=$LAB_TMP/ping
	export LAB_PING_NOCAPS
	if [ -z "${LAB_NO_TRAP:-}" ]; then
		trap lab_down EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
	LAB_PROBER=$(lab_ns 0)
	LAB_DEST_NS=$(lab_ns $((LAB_N + 1)))
	LAB_HOPS=$((LAB_N + 1))
	LAB_DEST4=$(lab_hop_addr4 "$LAB_HOPS")
	LAB_DEST6=$(lab_hop_addr6 "$LAB_HOPS")
	LAB_PROBER4=198.18.1.2
	LAB_PROBER6=2001:db8:1::2
	LAB_UNREACH4=198.18.251.1
	LAB_UNREACH6=2001:db8:fb::1
	LAB_PROHIBIT4=198.18.252.1
	LAB_PROHIBIT6=2001:db8:fc::1
	LAB_NETUNR4=198.18.253.1
	LAB_NETUNR6=2001:db8:fd::1
	LAB_NOROUTE4=198.18.250.1
	LAB_NOROUTE6=2001:db8:fa::1
	export LAB_ID LAB_N LAB_HOPS LAB_PROBER LAB_DEST_NS LAB_DEST4 LAB_DEST6 LAB_PROBER4 \
		LAB_PROBER6 LAB_UNREACH4 LAB_UNREACH6 LAB_PROHIBIT4 LAB_PROHIBIT6 LAB_NETUNR4 LAB_NETUNR6 LAB_NOROUTE4 \
		LAB_NOROUTE6 LAB_UNREACH_AT LAB_SRC_COUNT

	local k j ns last=$((LAB_N + 1))
	for k in $(seq 0 "$last"); do
		ns=$(lab_ns "$k")
		ip netns add "$ns" || { lab_die "cannot create namespace $ns"; return 1; }
		LAB_NS_ALL+=("$ns")
	done
	lab_log "namespaces ${LAB_NS_ALL[*]}"

	# Sysctls before any link exists, so new interfaces inherit "default" settings
	# (no IPv6 duplicate address detection: addresses usable at once).
	local fw rlv4 rlv6 s
	if [ "$rl" = 1 ]; then
		rlv4=1000 rlv6=1000
	else
		rlv4=0 rlv6=0
	fi
	for k in $(seq 0 "$last"); do
		ns=$(lab_ns "$k")
		fw=0
		[ "$k" -ge 1 ] && [ "$k" -le "$LAB_N" ] && fw=1
		s=(net.ipv4.ip_forward=$fw net.ipv6.conf.all.forwarding=$fw
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.autoconf=0
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
			net.ipv4.icmp_ratelimit=$rlv4 net.ipv6.icmp.ratelimit=$rlv6)
		if [ "$rl" != 1 ]; then
			# The per-namespace global ICMP budget (burst 50) would still bite.
			s+=(net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=100000)
		fi
		[ "$k" -eq 0 ] && s+=("net.ipv4.ping_group_range=$pgr")
		ip netns exec "$ns" sysctl -q -w "${s[@]}" >/dev/null ||
			{ lab_die "sysctl failed in $ns"; return 1; }
	done

	# Links, created inside the namespaces so the host namespace never sees them.
	for k in $(seq 1 "$last"); do
		ip -n "$(lab_ns $((k - 1)))" link add right type veth peer name left \
			netns "$(lab_ns "$k")" || { lab_die "cannot create link $k"; return 1; }
	done

	# Addresses and routes: one ip -batch per namespace.
	for k in $(seq 0 "$last"); do
		ns=$(lab_ns "$k")
		{
			echo "link set lo up"
			if [ "$k" -ge 1 ]; then
				echo "addr add 198.18.$k.1/24 dev left"
				echo "addr add 2001:db8:$k::1/64 dev left nodad"
				echo "link set left up"
			fi
			if [ "$k" -le "$LAB_N" ]; then
				echo "addr add 198.18.$((k + 1)).2/24 dev right"
				echo "addr add 2001:db8:$((k + 1))::2/64 dev right nodad"
				echo "link set right up"
			fi
			if [ "$k" -eq 0 ]; then
				for j in $(seq 1 "$LAB_SRC_COUNT"); do
					echo "addr add $(lab_src4 "$j")/24 dev right"
					echo "addr add $(lab_src6 "$j")/64 dev right nodad"
				done
				echo "route add 198.18.0.0/15 via 198.18.1.1"
				echo "route add 2001:db8::/32 via 2001:db8:1::1"
			elif [ "$k" -eq "$last" ]; then
				echo "route add 198.18.0.0/15 via 198.18.$k.2"
				echo "route add 2001:db8::/32 via 2001:db8:$k::2"
			else
				for j in $(seq 1 $((k - 1))); do
					echo "route add 198.18.$j.0/24 via 198.18.$k.2"
					echo "route add 2001:db8:$j::/64 via 2001:db8:$k::2"
				done
				for j in $(seq $((k + 2)) "$last"); do
					echo "route add 198.18.$j.0/24 via 198.18.$((k + 1)).1"
					echo "route add 2001:db8:$j::/64 via 2001:db8:$((k + 1))::1"
				done
				if [ "$k" -le "$U" ] && [ "$k" -lt "$LAB_N" ]; then
					for j in 251 252 253; do
						echo "route add 198.18.$j.0/24 via 198.18.$((k + 1)).1"
						echo "route add 2001:db8:$(printf %x "$j")::/48 via 2001:db8:$((k + 1))::1"
					done
				elif [ "$k" -eq "$U" ]; then
					# The last router: the REJECT rules below fire before forwarding.
					for j in 251 252 253; do
						echo "route add 198.18.$j.0/24 via 198.18.$((k + 1)).1"
						echo "route add 2001:db8:$(printf %x "$j")::/48 via 2001:db8:$((k + 1))::1"
					done
				fi
			fi
		} | lab_ipb "$ns" || { lab_die "addressing failed in $ns"; return 1; }
	done

	LAB_FLOOD_NS=""
	if [ "${LAB_FLOODER:-0}" = 1 ]; then
		LAB_FLOOD_NS="${LAB_ID}f"
		ip netns add "$LAB_FLOOD_NS" || { lab_die "cannot create $LAB_FLOOD_NS"; return 1; }
		LAB_NS_ALL+=("$LAB_FLOOD_NS")
		ip netns exec "$LAB_FLOOD_NS" sysctl -q -w net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0 >/dev/null
		ip -n "$(lab_ns 1)" link add flood type veth peer name fl netns "$LAB_FLOOD_NS" ||
			{ lab_die "cannot create the flooder link"; return 1; }
		{
			echo "addr add 198.18.240.1/24 dev flood"
			echo "addr add 2001:db8:f0::1/64 dev flood nodad"
			echo "link set flood up"
		} | lab_ipb "$(lab_ns 1)" || return 1
		{
			echo "link set lo up"
			echo "addr add 198.18.240.2/24 dev fl"
			echo "addr add 2001:db8:f0::2/64 dev fl nodad"
			# The prober's addresses, as /32 and /128 so nothing else changes.
			echo "addr add $LAB_PROBER4/32 dev fl"
			echo "addr add $LAB_PROBER6/128 dev fl nodad"
			echo "link set fl up"
			echo "route add 198.18.0.0/15 via 198.18.240.1 src $LAB_PROBER4"
			echo "route add 2001:db8::/32 via 2001:db8:f0::1 src $LAB_PROBER6"
		} | lab_ipb "$LAB_FLOOD_NS" || return 1
		export LAB_FLOOD_NS
	fi

	# Probe counters: everything a tool sends enters r1 through "left"; probes that
	# reach the destination with TTL/hop limit > 1 were sent further than needed.
	local fam icmp
	for fam in 4 6; do
		if [ $fam = 4 ]; then icmp="-p icmp --icmp-type echo-request"; else icmp="-p icmpv6 --icmpv6-type echo-request"; fi
		for k in 1 "$last"; do
			ns=$(lab_ns "$k")
			lab_ipt "$ns" $fam -t mangle -N HTCOUNT
			lab_ipt "$ns" $fam -t mangle -A HTCOUNT -p udp
			lab_ipt "$ns" $fam -t mangle -A HTCOUNT -p tcp
			lab_ipt "$ns" $fam -t mangle -A HTCOUNT $icmp
		done
		lab_ipt "$(lab_ns 1)" $fam -t mangle -A PREROUTING -i left -j HTCOUNT
		if [ $fam = 4 ]; then
			lab_ipt "$LAB_DEST_NS" 4 -t mangle -A PREROUTING -i left -m ttl --ttl-gt 1 -j HTCOUNT
		else
			lab_ipt "$LAB_DEST_NS" 6 -t mangle -A PREROUTING -i left -m hl --hl-gt 1 -j HTCOUNT
		fi
	done

	# Unreachable destinations: router U rejects them with ICMP errors. REJECT is
	# used rather than "unreachable"/"prohibit" routes because the kernel limits
	# route-lookup errors (ip_error) with host-global settings (5 burst, 1/s per
	# source, sharing its tokens with every other ICMP error to that source), while
	# REJECT obeys the per-namespace icmp_ratelimit like time-exceeded does.
	ns=$(lab_ns "$U")
	lab_ipt "$ns" 4 -A FORWARD -d 198.18.251.0/24 -j REJECT --reject-with icmp-host-unreachable
	lab_ipt "$ns" 4 -A FORWARD -d 198.18.252.0/24 -j REJECT --reject-with icmp-admin-prohibited
	lab_ipt "$ns" 4 -A FORWARD -d 198.18.253.0/24 -j REJECT --reject-with icmp-net-unreachable
	lab_ipt "$ns" 6 -A FORWARD -d 2001:db8:fb::/48 -j REJECT --reject-with icmp6-addr-unreachable
	lab_ipt "$ns" 6 -A FORWARD -d 2001:db8:fc::/48 -j REJECT --reject-with icmp6-adm-prohibited
	lab_ipt "$ns" 6 -A FORWARD -d 2001:db8:fd::/48 -j REJECT --reject-with icmp6-no-route

	# A hop that never answers: its time-exceeded messages are dropped on the way out.
	for k in $silent; do
		if [ "$k" -lt 1 ] || [ "$k" -gt "$LAB_N" ]; then
			lab_die "silent hop $k is not a router (1..$LAB_N)"
			return 1
		fi
		ns=$(lab_ns "$k")
		lab_ipt "$ns" 4 -A OUTPUT -p icmp --icmp-type time-exceeded -j DROP
		lab_ipt "$ns" 6 -A OUTPUT -p icmpv6 --icmpv6-type time-exceeded -j DROP
	done
	LAB_SILENT_HOPS=$silent LAB_SILENT_DEST=$sdest LAB_RATELIMIT=$rl
	export LAB_SILENT_HOPS LAB_SILENT_DEST LAB_RATELIMIT

	# A destination that never answers: probes are dropped on arrival. Neighbour
	# discovery must still work, so only the probe protocols are dropped.
	if [ "$sdest" = 1 ]; then
		for fam in 4 6; do
			if [ $fam = 4 ]; then icmp="-p icmp --icmp-type echo-request"; else icmp="-p icmpv6 --icmpv6-type echo-request"; fi
			lab_ipt "$LAB_DEST_NS" $fam -A INPUT -p udp -j DROP
			lab_ipt "$LAB_DEST_NS" $fam -A INPUT -p tcp -j DROP
			lab_ipt "$LAB_DEST_NS" $fam -A INPUT $icmp -j DROP
		done
	fi

	# One-way delay: each router holds forwarded packets in its own NFQUEUE.
	# Packets that expire at a router never reach FORWARD, so hop k's round trip
	# is 2 * D * (k - 1).
	local bin
	if [ "$delay" != 0 ]; then
		bin=$(lab_nfq_delay_bin) || { lab_die "no nfq-delay program"; return 1; }
		for k in $(seq 1 "$LAB_N"); do
			lab_nfq_start "$bin" "$(lab_ns "$k")" 0 "$delay" "nfq.$k"
		done
		for k in $(seq 1 "$LAB_N"); do
			lab_nfq_ready "nfq.$k" "router $k" || return 1
			ns=$(lab_ns "$k")
			if [ "$k" = "${LAB_NAT_AT:-}" ]; then
				# Held before connection tracking sees them (raw PREROUTING, only
				# what will be forwarded): a packet held in FORWARD carries an
				# unconfirmed conntrack entry, and a second packet of the same
				# flow arriving meanwhile loses the clash and is dropped, which
				# no real router's link delay does.
				lab_ipt "$ns" 4 -t raw -A PREROUTING -m ttl --ttl-gt 1 \
					-j NFQUEUE --queue-num 0
				lab_ipt "$ns" 6 -t raw -A PREROUTING -m hl --hl-gt 1 \
					-j NFQUEUE --queue-num 0
			else
				lab_ipt "$ns" 4 -t mangle -A FORWARD -j NFQUEUE --queue-num 0
				lab_ipt "$ns" 6 -t mangle -A FORWARD -j NFQUEUE --queue-num 0
			fi
		done
	fi
	# Slow routers: their own time-exceeded messages wait in a queue of their own.
	local slow spec sk sms
	slow=${LAB_SLOW_HOPS:-}
	for spec in $slow; do
		sk=${spec%%:*} sms=${spec#*:}
		case "$spec:$sk" in
		[0-9]*:[0-9]*:*[!0-9]* | *:*:*:*) lab_die "LAB_SLOW_HOPS: '$spec' is not k:MS"; return 1 ;;
		[0-9]*:[0-9]*:*) case "$sms" in *[!0-9.]*) lab_die "LAB_SLOW_HOPS: '$spec' is not k:MS"; return 1 ;; esac ;;
		*) lab_die "LAB_SLOW_HOPS: '$spec' is not k:MS"; return 1 ;;
		esac
		if [ "$sk" -lt 1 ] || [ "$sk" -gt "$LAB_N" ]; then
			lab_die "slow hop $sk is not a router (1..$LAB_N)"
			return 1
		fi
		bin=$(lab_nfq_delay_bin) || { lab_die "no nfq-delay program"; return 1; }
		ns=$(lab_ns "$sk")
		lab_nfq_start "$bin" "$ns" 1 "$sms" "nfqslow.$sk"
		lab_nfq_ready "nfqslow.$sk" "router $sk" || return 1
		lab_ipt "$ns" 4 -t raw -A OUTPUT -p icmp --icmp-type time-exceeded -j NFQUEUE --queue-num 1
		lab_ipt "$ns" 6 -t raw -A OUTPUT -p icmpv6 --icmpv6-type time-exceeded -j NFQUEUE --queue-num 1
	done
	LAB_SLOW_HOPS=$slow
	export LAB_SLOW_HOPS

	# A masquerading router: what it forwards toward the destination leaves with
	# its own address, as behind any home router; replies are translated back by
	# connection tracking.
	LAB_NAT_AT=${LAB_NAT_AT:-}
	if [ -n "$LAB_NAT_AT" ]; then
		if [ "$LAB_NAT_AT" -lt 1 ] || [ "$LAB_NAT_AT" -gt "$LAB_N" ]; then
			lab_die "NAT router $LAB_NAT_AT is not a router (1..$LAB_N)"
			return 1
		fi
		ns=$(lab_ns "$LAB_NAT_AT")
		lab_ipt "$ns" 4 -t nat -A POSTROUTING -o right -j MASQUERADE ||
			{ lab_die "MASQUERADE failed in router $LAB_NAT_AT"; return 1; }
		lab_ipt "$ns" 6 -t nat -A POSTROUTING -o right -j MASQUERADE ||
			{ lab_die "IPv6 MASQUERADE failed in router $LAB_NAT_AT"; return 1; }
	fi
	export LAB_NAT_AT

	LAB_DELAY_MS=$delay
	LAB_RTT_MS=$((2 * delay * LAB_N))
	export LAB_DELAY_MS LAB_RTT_MS

	# Warm up: a fresh veth drops IPv6 traffic for about a second after link-up
	# (the first neighbour solicitation is lost and retried after 1 s), and the
	# first probe of a test must not pay for that. Ping across the whole chain in
	# both families so every neighbour entry is resolved before a test starts.
	local target4=198.18.$last.2 target6=2001:db8:$last::2
	if [ "$sdest" != 1 ]; then
		target4=$LAB_DEST4 target6=$LAB_DEST6
	fi
	lab_prober ping -4 -n -q -c 1 -W 5 "$target4" >/dev/null &
	local p4=$!
	lab_prober ping -6 -n -q -c 1 -W 5 "$target6" >/dev/null || { lab_die "lab: IPv6 path to $target6 does not work"; return 1; }
	wait $p4 || { lab_die "lab: IPv4 path to $target4 does not work"; return 1; }
	if [ -n "${LAB_FLOOD_NS:-}" ]; then
		ip netns exec "$LAB_FLOOD_NS" ping -4 -n -q -c 1 -W 5 198.18.240.1 >/dev/null &&
			ip netns exec "$LAB_FLOOD_NS" ping -6 -n -q -c 1 -W 5 2001:db8:f0::1 >/dev/null ||
			{ lab_die "lab: flooder link does not work"; return 1; }
	fi
	lab_count_reset
	lab_log "up: $LAB_N routers, dest $LAB_DEST4 / $LAB_DEST6"
	return 0
}

# lab_flood_start FAMILY: from the flooder namespace, send echo requests that
# claim to come from the prober: with TTL 1 toward the destination (r1 answers the
# prober with time-exceeded quoting those pings) and to r1 itself (r1 sends the
# prober echo replies it never asked for). Both are unrelated to any trace.
# iputils ping manages about 60 packets/s when nothing answers it, so
# LAB_FLOOD_PROCS (default 8) pings of each kind run for at most LAB_FLOOD_SECS
# (default 30) seconds: roughly 1000 unrelated ICMP messages per second in all.
LAB_FLOOD_PIDS=()
lab_flood_start() {
	local fam=${1:-4} secs=${LAB_FLOOD_SECS:-30} n=${LAB_FLOOD_PROCS:-8} d r src i
	if [ "$fam" = 6 ]; then
		d=$LAB_DEST6 r=2001:db8:1::1 src=$LAB_PROBER6
	else
		d=$LAB_DEST4 r=198.18.1.1 src=$LAB_PROBER4
	fi
	for i in $(seq 1 "$n"); do
		ip netns exec "$LAB_FLOOD_NS" ping -$fam -q -n -f -t 1 -w "$secs" -I "$src" "$d" \
			>/dev/null 2>&1 &
		LAB_FLOOD_PIDS+=($!)
		LAB_PIDS+=($!)
		ip netns exec "$LAB_FLOOD_NS" ping -$fam -q -n -f -w "$secs" -I "$src" "$r" \
			>/dev/null 2>&1 &
		LAB_FLOOD_PIDS+=($!)
		LAB_PIDS+=($!)
	done
}

# lab_flood_stop: end the flooding pings started by lab_flood_start (by pid).
lab_flood_stop() {
	local p
	for p in "${LAB_FLOOD_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LAB_FLOOD_PIDS=()
	return 0
}

# Zero the probe counters.
lab_count_reset() {
	local fam
	for fam in 4 6; do
		lab_ipt "$(lab_ns 1)" $fam -t mangle -Z HTCOUNT
		lab_ipt "$LAB_DEST_NS" $fam -t mangle -Z HTCOUNT
	done
}

# Print "SENT PAST": probes that entered r1 and probes that reached the destination
# with a TTL/hop limit left over (both families, UDP + TCP + echo requests).
lab_count() {
	local fam sent=0 past=0 n
	for fam in 4 6; do
		n=$(lab_ipt "$(lab_ns 1)" $fam -t mangle -L HTCOUNT -n -v -x | awk 'NR>2 {s+=$1} END {print s+0}')
		sent=$((sent + n))
		n=$(lab_ipt "$LAB_DEST_NS" $fam -t mangle -L HTCOUNT -n -v -x | awk 'NR>2 {s+=$1} END {print s+0}')
		past=$((past + n))
	done
	echo "$sent $past"
}

# The expected hop list of a trace to the destination, one line per hop:
# "k ADDR" or "k *" for a silent router, through the destination ("*" if silent).
lab_truth() {
	local fam=${1:-4} k
	for k in $(seq 1 "$LAB_HOPS"); do
		if [ "$k" -le "$LAB_N" ] && [[ " $LAB_SILENT_HOPS " == *" $k "* ]]; then
			echo "$k *"
		elif [ "$k" -eq "$LAB_HOPS" ] && [ "${LAB_SILENT_DEST:-0}" = 1 ]; then
			echo "$k *"
		elif [ "$fam" = 6 ]; then
			echo "$k $(lab_hop_addr6 "$k")"
		else
			echo "$k $(lab_hop_addr4 "$k")"
		fi
	done
}

# Run a command in the prober namespace as nobody, with no capabilities at all.
LAB_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
	--bounding-set=-all --no-new-privs --)
lab_prober_nobody() { ip netns exec "$LAB_PROBER" "${LAB_NOBODY[@]}" "$@"; }

# Parse the hop lines of traceroute, hoptrace, scamper, tracepath or mtr --report
# output (all run with -n) from stdin into one line per hop:
#   "K ADDR[,ADDR..] [!ANN[,!ANN..]]"   or   "K *"   when no address answered.
# Lines of one hop are merged (tracepath prints hop 1 twice); addresses and
# annotations are listed once each, in order of appearance.
lab_parse_hops() {
	awk '
	function isip(t) {
		return t ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ || (t ~ /:/ && t ~ /^[0-9a-fA-F:.]+$/ && t ~ /[0-9a-fA-F]/)
	}
	/^ *[0-9]+\?:/ { next }                      # tracepath: "1?: [LOCALHOST]"
	!/^ *[0-9]+(\.\|--|:)?[ \t]/ { next }       # not a hop line
	{
		hop = $1; sub(/[^0-9].*$/, "", hop); hop += 0
		if (!(hop in seen)) { seen[hop] = 1; order[++n] = hop; addrs[hop] = ""; anns[hop] = "" }
		for (i = 2; i <= NF; i++) {
			t = $i; gsub(/[()]/, "", t)
			if (isip(t)) {
				if (index("," addrs[hop] ",", "," t ",") == 0)
					addrs[hop] = addrs[hop] (addrs[hop] == "" ? "" : ",") t
			} else if (t ~ /^![A-Z0-9<>-]*$/ && t != "!") {
				if (index("," anns[hop] ",", "," t ",") == 0)
					anns[hop] = anns[hop] (anns[hop] == "" ? "" : ",") t
			}
		}
	}
	END {
		for (i = 1; i <= n; i++) {
			h = order[i]
			line = h " " (addrs[h] == "" ? "*" : addrs[h])
			if (anns[h] != "") line = line " " anns[h]
			print line
		}
	}'
}

lab_describe() {
	echo "lab $LAB_ID: prober ns $LAB_PROBER ($LAB_PROBER4, $LAB_PROBER6), $LAB_N routers, dest ns $LAB_DEST_NS"
	echo "  destination $LAB_DEST4 / $LAB_DEST6 at hop $LAB_HOPS; round trip ${LAB_RTT_MS} ms (delay ${LAB_DELAY_MS} ms per router)"
	echo "  silent hops: ${LAB_SILENT_HOPS:-none}; silent destination: ${LAB_SILENT_DEST:-0}; rate limit: ${LAB_RATELIMIT:-0}"
	echo "  rejected at hop $LAB_UNREACH_AT: !H $LAB_UNREACH4 / $LAB_UNREACH6, !X $LAB_PROHIBIT4 / $LAB_PROHIBIT6, !N $LAB_NETUNR4 / $LAB_NETUNR6"
	echo "  no route at hop 1: $LAB_NOROUTE4 / $LAB_NOROUTE6"
	echo "  run: ip netns exec $LAB_PROBER traceroute -n $LAB_DEST4"
}

lab_main() {
	local cmd=${1:-}
	shift || true
	local opt
	OPTIND=1
	while getopts "n:s:Srg:d:u:v" opt; do
		case $opt in
		n) LAB_ROUTERS=$OPTARG ;;
		s) LAB_SILENT_HOPS="${LAB_SILENT_HOPS:-} $OPTARG" ;;
		S) LAB_SILENT_DEST=1 ;;
		r) LAB_RATELIMIT=1 ;;
		g) LAB_PING_GROUP=$OPTARG ;;
		d) LAB_DELAY_MS=$OPTARG ;;
		u) LAB_UNREACH_AT=$OPTARG ;;
		v) LAB_VERBOSE=1 ;;
		*) cmd=help ;;
		esac
	done
	shift $((OPTIND - 1))
	[ "${1:-}" = -- ] && shift
	case "$cmd" in
	up)
		lab_up || exit 1
		lab_describe
		echo "  (Ctrl-C tears the lab down)"
		while :; do sleep 3600; done
		;;
	exec)
		[ $# -ge 1 ] || { echo "lab.sh exec: missing command" >&2; exit 2; }
		lab_up || exit 1
		local rc=0
		lab_prober "$@" || rc=$?
		exit $rc
		;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		[ "$cmd" = help ] || [ -z "$cmd" ] && exit 0
		exit 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	lab_main "$@"
fi
