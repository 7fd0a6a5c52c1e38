#!/bin/bash
# io-netns.sh CASE: lib/io against real Linux routing in network namespaces.
#
#   prober H --(198.18.0.0/24, 2001:db8:a::/64)-- router R --(198.18.1.0/24,
#   2001:db8:b::/64, MTU 1300)-- destination D
#
# R also rejects 198.18.2.0/24 (REJECT) + 2001:db8:c::/48 (prohibit route): !X, and
# 198.18.3.0/24 (REJECT: !H) + 2001:db8:d::/48 (no route: !N).
# D listens on TCP 8080 (SYN-ACK); port 80 is closed (RST).
#
# Cases: raw4 raw6 unpriv4 unpriv6 annot priv sandbox flood.
# Needs root: exits 77 without it (1 when CI=true).
set -u
CASE=${1:?usage: io-netns.sh CASE}
HERE=$(cd "$(dirname "$0")" && pwd)
DRV=${IO_DRIVER:-$HERE/../../build-io/tests/io/io_driver}

if [ "$(id -u)" != 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: io-netns tests need root (CI=true)"
		exit 1
	fi
	echo "SKIP: io-netns tests need root (network namespaces, raw sockets)"
	exit 77
fi
[ -x "$DRV" ] || { echo "FAIL: io_driver not found at $DRV"; exit 1; }

ID=htio$$
H=${ID}h R=${ID}r D=${ID}d
TMP=$(mktemp -d /tmp/ht-io.XXXXXX)
chmod 755 "$TMP"
LISTENER=
cleanup() {
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	for n in $H $R $D; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

FAILS=0
PASSES=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { PASSES=$((PASSES + 1)); }

setup() {
	set -e
	for n in $H $R $D; do
		ip netns add "$n"
		ip -n "$n" link set lo up
		ip netns exec "$n" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip -n $H link add a0 type veth peer name a1 netns $R
	ip -n $R link add b0 type veth peer name b1 netns $D
	ip -n $H addr add 198.18.0.2/24 dev a0
	ip -n $H addr add 2001:db8:a::2/64 dev a0 nodad
	ip -n $R addr add 198.18.0.1/24 dev a1
	ip -n $R addr add 2001:db8:a::1/64 dev a1 nodad
	ip -n $R addr add 198.18.1.1/24 dev b0
	ip -n $R addr add 2001:db8:b::1/64 dev b0 nodad
	ip -n $D addr add 198.18.1.2/24 dev b1
	ip -n $D addr add 2001:db8:b::2/64 dev b1 nodad
	ip -n $R link set b0 mtu 1300
	ip -n $D link set b1 mtu 1300
	for l in "$H a0" "$R a1" "$R b0" "$D b1"; do ip -n ${l% *} link set ${l#* } up; done
	ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n $H route add 198.18.0.0/15 via 198.18.0.1
	ip -n $H -6 route add 2001:db8::/32 via 2001:db8:a::1
	ip -n $D route add 198.18.0.0/15 via 198.18.1.1
	ip -n $D -6 route add 2001:db8::/32 via 2001:db8:b::1
	ip -n $R route add 198.18.2.0/24 dev b0
	ip netns exec $R iptables-legacy -w -A FORWARD -d 198.18.2.0/24 -j REJECT --reject-with icmp-admin-prohibited
	# Host unreachable by REJECT: an "unreachable" route's errors go through
	# the kernel's global per-peer limiter (net.ipv4.route.error_cost), which
	# we must not touch; REJECT obeys the namespace's icmp_ratelimit (0).
	ip -n $R route add 198.18.3.0/24 dev b0
	ip netns exec $R iptables-legacy -w -A FORWARD -d 198.18.3.0/24 -j REJECT --reject-with icmp-host-unreachable
	ip -n $R -6 route add prohibit 2001:db8:c::/48
	ip -n $R -6 route add unreachable 2001:db8:d::/48
	ip netns exec $H sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	# A TCP listener on 8080 (both families) in D.
	ip netns exec $D python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080)); s.listen(128)
time.sleep(600)' &
	LISTENER=$!
	set +e
	# Wait for neighbours and the listener.
	for _ in $(seq 50); do
		ip netns exec $D ss -ltn 2>/dev/null | grep -q ':8080' && break
		sleep 0.1
	done
	local a ok
	for a in 198.18.1.2 2001:db8:b::2; do
		ok=
		for _ in $(seq 30); do
			ip netns exec $H ping -c1 -W1 $a >/dev/null 2>&1 && { ok=1; break; }
			sleep 0.1
		done
		[ -n "$ok" ] || { echo "lab: $a unreachable"; return 1; }
	done
	return 0
}

# run_h [AS_NOBODY] ARGS...: the driver in H; output in $OUT.
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
# IO_VERBOSE=1 shows every driver run and its output.
show() { [ -n "${IO_VERBOSE:-}" ] && printf '$ io_driver %s\n%s\n' "$*" "$OUT"; return 0; }
run_h() {
	OUT=$(timeout 60 ip netns exec $H "$DRV" "$@" 2>&1)
	RC=$?
	show "$@"
}
run_h_nobody() {
	OUT=$(timeout 60 ip netns exec $H $NOBODY "$DRV" "$@" 2>&1)
	RC=$?
	show "(nobody)" "$@"
}

# expect LABEL REGEX: a line of $OUT matches.
expect() {
	if printf '%s\n' "$OUT" | grep -Eq -- "$2"; then
		pass
	else
		fail "$1: no line matching /$2/ in:"
		printf '%s\n' "$OUT" | sed 's/^/    | /'
	fi
}
# expect_not LABEL REGEX
expect_not() {
	if printf '%s\n' "$OUT" | grep -Eq -- "$2"; then
		fail "$1: unexpected line matching /$2/ in:"
		printf '%s\n' "$OUT" | sed 's/^/    | /'
	else
		pass
	fi
}
# Every reported RTT is within [0, MAX_US].
rtts_sane() {
	local bad
	bad=$(printf '%s\n' "$OUT" | sed -n 's/.*rtt_us=\(-\{0,1\}[0-9]*\).*/\1/p' |
		awk -v max="$2" '$1 < 0 || $1 > max')
	[ -z "$bad" ] && pass || fail "$1: RTTs out of [0,$2] us: $bad"
}

# The low-level check for one method: TTL 1 answers from R, TTLs 2 and 3
# from the destination, with the method's "reached" reply.
check_path() { # LABEL MODE FAMILY METHOD [ARGS...]
	local label=$1 mode=$2 fam=$3 method=$4
	shift 4
	local dst r1 reach code3
	if [ "$fam" = 4 ]; then dst=198.18.1.2 r1=198.18.0.1; else dst=2001:db8:b::2 r1=2001:db8:a::1; fi
	case $method in
	udp) reach="kind=port_unreach annot=- type=$([ $fam = 4 ] && echo 3 || echo 1) code=$([ $fam = 4 ] && echo 3 || echo 4)" ;;
	icmp) reach="kind=echo_reply annot=- type=$([ $fam = 4 ] && echo 0 || echo 129) code=0" ;;
	tcp) reach="kind=rst" ;;
	tcp8080) reach="kind=synack"; method=tcp; set -- --port 8080 "$@" ;;
	esac
	local te="kind=time_exceeded annot=- type=$([ $fam = 4 ] && echo 11 || echo 3) code=0"
	if [ "$mode" = unpriv ]; then
		run_h_nobody --mode unpriv --method $method --ttls 1,2,3 "$@" $dst
	else
		run_h --mode raw --method $method --ttls 1,2,3 "$@" $dst
	fi
	expect "$label open" "^open mode=$mode "
	expect "$label ttl1" "^reply seq=0 from=$r1 $te "
	expect "$label ttl2" "^reply seq=1 from=$dst $reach "
	expect "$label ttl3" "^reply seq=2 from=$dst $reach "
	expect_not "$label no loss" "^(noreply|send_error|stray)"
	rtts_sane "$label" 50000
	# The reply TTL: R is one hop away (64 -> 64), D two (64 -> 63) for ICMP
	# errors, which all modes report (TCP SYN-ACK/RST excepted).
	if [ "$method" != tcp ]; then
		expect "$label reply ttl r1" "^reply seq=0 .* rttl=(64|255) "
	fi
}

check_run() { # LABEL MODE FAMILY METHOD [ARGS...]: a whole trace with the real core
	local label=$1 mode=$2 fam=$3 method=$4
	shift 4
	local dst r1
	if [ "$fam" = 4 ]; then dst=198.18.1.2 r1=198.18.0.1; else dst=2001:db8:b::2 r1=2001:db8:a::1; fi
	if [ "$mode" = unpriv ]; then
		run_h_nobody --mode unpriv --method $method --run "$@" $dst
	else
		run_h --mode raw --method $method --run "$@" $dst
	fi
	expect "$label run hop1" "^hop 1 $r1:[0-9]+ $r1:[0-9]+ $r1:[0-9]+$"
	expect "$label run hop2" "^hop 2 $dst:[0-9]+ $dst:[0-9]+ $dst:[0-9]+ reached$"
	expect "$label run done" "^done reason=1 last=2$"
	expect "$label run rc" "^run rc=0 "
}

case_raw() { # FAMILY
	local f=$1
	for m in udp icmp tcp tcp8080; do
		check_path "raw$f $m" raw $f $m
	done
	check_path "raw$f udp classic" raw $f udp --classic
	check_path "raw$f udp sport" raw $f udp --sport 45678
	expect "raw$f sport honoured" "^open mode=raw .* sport=45678 "
	for m in udp icmp tcp; do check_run "raw$f $m" raw $f $m; done
	# Fragmentation needed / packet too big from R toward the 1300-byte link.
	local dst r1
	if [ $f = 4 ]; then dst=198.18.1.2 r1=198.18.0.1; else dst=2001:db8:b::2 r1=2001:db8:a::1; fi
	for m in udp icmp; do
		run_h --mode raw --method $m --df --len 1400 --ttls 2 $dst
		expect "raw$f $m ptb" "^reply seq=0 from=$r1 kind=ptb annot=!F-1300 .* mtu=1300 "
	done
	# Traffic class / TOS and a bound device do not break anything.
	run_h --mode raw --method udp --tos 32 --dev a0 --ttls 1,2 $dst
	expect "raw$f tos+dev" "^reply seq=1 from=$dst kind=port_unreach"
}

case_unpriv() { # FAMILY
	local f=$1
	for m in udp icmp tcp tcp8080; do
		check_path "unpriv$f $m" unpriv $f $m
	done
	for m in udp icmp tcp; do check_run "unpriv$f $m" unpriv $f $m; done
	local dst r1
	if [ $f = 4 ]; then dst=198.18.1.2 r1=198.18.0.1; else dst=2001:db8:b::2 r1=2001:db8:a::1; fi
	for m in udp icmp; do
		run_h_nobody --mode unpriv --method $m --df --len 1400 --ttls 2 $dst
		expect "unpriv$f $m ptb" "^reply seq=0 from=$r1 kind=ptb annot=!F-1300 .* mtu=1300 "
	done
	# AUTO without CAP_NET_RAW falls back to unprivileged sockets.
	run_h_nobody --method icmp --ttls 2 $dst
	expect "unpriv$f auto fallback" "^open mode=unpriv "
	expect "unpriv$f auto reply" "^reply seq=0 from=$dst kind=echo_reply"
	# The ICMP id is the one the kernel bound (shown by the flow).
	expect_not "unpriv$f id" "^open .* id=0 "
	# ICMP without ping_group_range: one clear line.
	ip netns exec $H sysctl -qw net.ipv4.ping_group_range="1 0"
	run_h_nobody --method icmp --ttls 1 $dst
	expect "unpriv$f ping closed" "^open_error rc=-13 msg=raw sockets need CAP_NET_RAW \(run as root or \`setcap cap_net_raw\+ep hoptrace\`\), and unprivileged ICMP is disabled: net.ipv4.ping_group_range is '1 0' \(allow with \`sysctl net.ipv4.ping_group_range='0 2147483647'\`\)$"
	# ...and asking for raw sockets without the capability says so.
	run_h_nobody --mode raw --method udp --ttls 1 $dst
	expect "unpriv$f raw refused" "^open_error rc=-1 msg=raw sockets need CAP_NET_RAW"
	ip netns exec $H sysctl -qw net.ipv4.ping_group_range="0 2147483647"
}

case_annot() {
	local mode f m
	for mode in raw unpriv; do
		for m in udp icmp tcp; do
			local run=run_h
			[ $mode = unpriv ] && run=run_h_nobody
			$run --mode $mode --method $m --ttls 2 198.18.2.1
			expect "annot $mode $m v4 !X" "^reply seq=0 from=198.18.0.1 kind=unreach annot=!X type=3 code=13 "
			$run --mode $mode --method $m --ttls 2 198.18.3.1
			expect "annot $mode $m v4 !H" "^reply seq=0 from=198.18.0.1 kind=unreach annot=!H type=3 code=1 "
			$run --mode $mode --method $m --ttls 2 2001:db8:c::1
			expect "annot $mode $m v6 !X" "^reply seq=0 from=2001:db8:a::1 kind=unreach annot=!X type=1 code=1 "
			$run --mode $mode --method $m --ttls 2 2001:db8:d::1
			expect "annot $mode $m v6 !N" "^reply seq=0 from=2001:db8:a::1 kind=unreach annot=!N type=1 code=0 "
		done
	done
}

case_priv() {
	# Real root: drop to nobody, every capability set empty, bounding set
	# emptied, no new privileges; the raw sockets keep working.
	run_h --mode raw --method udp --drop --status --ttls 1,2 198.18.1.2
	expect "priv root" "^status uid=65534,65534,65534,65534 gid=65534,65534,65534,65534 inh=0 prm=0 eff=0 bnd=0 amb=0 nnp=1 seccomp=0$"
	expect "priv root raw after drop" "^reply seq=1 from=198.18.1.2 kind=port_unreach"
	# File capability (setcap cap_net_raw+ep) run by uid 1000.
	cp "$DRV" "$TMP/drv-cap"
	chmod 755 "$TMP/drv-cap"
	setcap cap_net_raw+ep "$TMP/drv-cap"
	OUT=$(ip netns exec $H setpriv --reuid=1000 --regid=1000 --clear-groups "$TMP/drv-cap" --drop --status --method icmp --ttls 1,2 198.18.1.2 2>&1)
	expect "priv filecap raw" "^open mode=raw "
	expect "priv filecap" "^status uid=1000,1000,1000,1000 gid=1000,1000,1000,1000 inh=0 prm=0 eff=0 bnd=[0-9a-f]+ amb=0 nnp=1 seccomp=0$"
	expect "priv filecap works" "^reply seq=1 from=198.18.1.2 kind=echo_reply"
	# Setuid root run by uid 1000: back to 1000, bounding set emptied too.
	cp "$DRV" "$TMP/drv-suid"
	chmod 4755 "$TMP/drv-suid"
	OUT=$(ip netns exec $H setpriv --reuid=1000 --regid=1000 --clear-groups "$TMP/drv-suid" --drop --status --method tcp --ttls 1,2 198.18.1.2 2>&1)
	expect "priv suid raw" "^open mode=raw "
	expect "priv suid" "^status uid=1000,1000,1000,1000 gid=1000,1000,1000,1000 inh=0 prm=0 eff=0 bnd=0 amb=0 nnp=1 seccomp=0$"
	expect "priv suid works" "^reply seq=1 from=198.18.1.2 kind=rst"
	# Unprivileged user: nothing to drop, still succeeds.
	run_h_nobody --mode unpriv --method udp --drop --status --ttls 1 198.18.1.2
	expect "priv nobody" "^status uid=65534,65534,65534,65534 .* prm=0 eff=0 .* nnp=1 "
	expect "priv nobody works" "^reply seq=0 from=198.18.0.1 kind=time_exceeded"
}

case_sandbox() {
	# HOPTRACE_NO_SANDBOX is honoured only for a process that was never
	# privileged: root (raw) ignores it, nobody (unpriv) may use it.
	OUT=$(HOPTRACE_NO_SANDBOX=1 timeout 60 ip netns exec $H "$DRV" --mode raw --drop --sandbox --status --ttls 1 198.18.1.2 2>&1)
	expect "sandbox env ignored when privileged" "^status .* seccomp=2$"
	OUT=$(HOPTRACE_NO_SANDBOX=1 timeout 60 ip netns exec $H $NOBODY "$DRV" --mode unpriv --drop --sandbox --status --ttls 1 198.18.1.2 2>&1)
	expect "sandbox env honoured when unprivileged" "^status .* seccomp=0$"
	# What the filter refuses: exec, writing files, raw/packet sockets.
	run_h --mode raw --drop --sandbox --status --probe-forbidden --ttls 1 198.18.1.2
	expect "sandbox forbidden" "^forbidden open_write=-1 socket_packet=-1 execve=-1$"

	# Whole traces after drop + seccomp in trap mode: a syscall missing
	# from the allow list would end the driver with status 70.
	local mode f m dst
	for mode in raw unpriv; do
		for f in 4 6; do
			for m in udp icmp tcp; do
				if [ $f = 4 ]; then dst=198.18.1.2; else dst=2001:db8:b::2; fi
				local run=run_h
				[ $mode = unpriv ] && run=run_h_nobody
				$run --mode $mode --method $m --drop --sandbox --status --run $dst
				[ $RC = 0 ] && pass || fail "sandbox $mode$f $m: exit $RC: $OUT"
				expect "sandbox $mode$f $m active" "^status .* nnp=1 seccomp=2$"
				expect "sandbox $mode$f $m reached" "^hop 2 $dst:.* reached$"
			done
		done
	done
}

case_flood() {
	# 100k ICMP packets/s from R to H during whole traces: time exceeded
	# quoting a UDP packet of somebody else's flow, and echo replies with a
	# foreign id. Phase "other": the quote names another destination, so
	# the raw socket's kernel filter drops it before it is queued. Phase
	# "same": the quote names our destination (other ports): it reaches
	# user space and the decoder must reject it, 100k times a second.
	# Either way: every reply of ours matched, RTTs still small.
	local f m dst src mode phase h qd
	for f in 4 6; do
		if [ $f = 4 ]; then dst=198.18.1.2 src=198.18.0.1 h=198.18.0.2
		else dst=2001:db8:b::2 src=2001:db8:a::1 h=2001:db8:a::2; fi
		for phase in other same; do
			qd=
			[ $phase = same ] && qd="--quote-dst $dst"
			ip netns exec $R "$DRV" --flood --pps 100000 --secs 5 --src $src $qd $h \
				2>"$TMP/flood$f$phase" &
			local fl=$!
			sleep 0.3
			for m in udp icmp tcp; do
				for mode in raw unpriv; do
					local run=run_h
					[ $mode = unpriv ] && run=run_h_nobody
					local l="flood$f $phase $mode $m"
					$run --mode $mode --method $m --ttls 1,2,3 --linger --wait 300 $dst
					expect "$l ttl1" "^reply seq=0 from=$src kind=time_exceeded"
					expect "$l ttl2" "^reply seq=1 from=$dst "
					expect "$l ttl3" "^reply seq=2 from=$dst "
					expect_not "$l loss" "^(noreply|send_error|stray)"
					rtts_sane "$l" 20000
					if [ $mode = raw ] && [ $phase = other ]; then
						expect "$l filtered in kernel" "^stats rx=3 matched=3 unmatched=0 malformed=0 "
					elif [ $mode = raw ] && [ $m != tcp ]; then
						# 300 ms at 100k/s: thousands read, all rejected.
						expect "$l rejected" "^stats rx=[0-9]+ matched=3 unmatched=[1-9][0-9]{3,} malformed=0 "
					fi
				done
				run_h --mode raw --method $m --run $dst
				expect "flood$f $phase run $m" "^hop 2 $dst:.* reached$"
				expect "flood$f $phase run $m done" "^done reason=1 last=2$"
			done
			wait $fl
			cat "$TMP/flood$f$phase"
			grep -Eq "sent [0-9]{6}" "$TMP/flood$f$phase" && pass ||
				fail "flood$f: flooder too slow: $(cat "$TMP/flood$f$phase")"
		done
	done
}

setup || { echo "FAIL: lab setup"; exit 1; }
case $CASE in
raw4) case_raw 4 ;;
raw6) case_raw 6 ;;
unpriv4) case_unpriv 4 ;;
unpriv6) case_unpriv 6 ;;
annot) case_annot ;;
priv) case_priv ;;
sandbox) case_sandbox ;;
flood) case_flood ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
echo "io-netns $CASE: $PASSES checks passed, $FAILS failed"
[ $FAILS = 0 ]
