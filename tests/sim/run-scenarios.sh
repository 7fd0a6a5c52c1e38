#!/bin/sh
# Run simulator scenarios and report PASS/FAIL for each.
#   tests/sim/run-scenarios.sh [--sim PATH] [--hoptrace PATH] [--build DIR] [--pcap] [SCENARIO...]
# Without scenarios, runs every tests/sim/scenarios/*.scn. The hoptrace
# binary: --hoptrace, else $HOPTRACE, else BUILD/src/hoptrace, where BUILD is
# --build, $HT_BUILD_DIR or ./build. With --pcap (or HT_SIM_TSHARK=1), the
# TUN traffic of each scenario is also decoded by tshark, which must find no
# malformed packet and no bad checksum in what the simulator sent (the
# probes are the tested program's business: traceroute -U's probes to port
# 53, for one, are not DNS). Transport checksums inside ICMP quotes are not
# checked: a truncated quote or a NAT legitimately leaves them wrong.
# Exit status: 0 all passed, 1 some failed, 77 all skipped (not root).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${HT_BUILD_DIR:-build}
sim=""
hop=${HOPTRACE:-}
tshark_check=${HT_SIM_TSHARK:-0}
while [ $# -gt 0 ]; do
	case "$1" in
	--sim) sim=$2; shift 2 ;;
	--hoptrace) hop=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--pcap) tshark_check=1; shift ;;
	--) shift; break ;;
	-*) echo "run-scenarios.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ -n "$sim" ] || sim=$build/tests/sim/hoptrace-sim
[ -n "$hop" ] || hop=$build/src/hoptrace
if [ "$(id -u)" != 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "run-scenarios.sh: the simulator needs root (network namespaces, TUN)" >&2
		exit 1
	fi
	echo "SKIP: the simulator needs root (network namespaces, TUN)" >&2
	exit 77
fi
if [ $# -eq 0 ]; then
	set -- "$here"/scenarios/*.scn
fi
tmp=$(mktemp -d)
bin=""
trap 'rm -rf "$tmp" ${bin:+"$bin"}' EXIT INT TERM
# Scenarios with "run-as nobody" run the binary as that user, who cannot
# reach it when the checkout lives under a private directory (root's
# 0700 home): they run a copy in a directory everyone can search.
need_copy=0
for scn in "$@"; do
	[ -f "$scn" ] || scn=$here/scenarios/$scn.scn
	grep -qs '^run-as' "$scn" && need_copy=1
done
if [ $need_copy = 1 ] && [ -f "$hop" ]; then
	bin=$(mktemp -d /tmp/hoptrace-sim-bin.XXXXXX) &&
		chmod 755 "$bin" && cp "$hop" "$bin/hoptrace" && chmod 755 "$bin/hoptrace" ||
		{ echo "run-scenarios.sh: cannot copy $hop for unprivileged scenarios" >&2; exit 1; }
	hop=$bin/hoptrace
fi
pass=0 fail=0 skip=0 hpass=0 hfail=0
if [ "$tshark_check" = 1 ] && command -v tshark >/dev/null; then
	# tshark dissects a probe's payload (and the payload quoted in an
	# ICMP error) by port: a random ephemeral source port that some
	# protocol registered (54328 is Elasticsearch) turns our zero-filled
	# payload into a "malformed" packet. Only the layers the simulator
	# writes are checked: every other dissector is disabled.
	mkdir -p "$tmp/wireshark"
	tshark -G protocols 2>/dev/null | cut -f3 |
		grep -vxE '(frame|raw|data|mpls|(ip|ipv6|icmp|icmpv6|udp|tcp)(\..*)?|_ws\..*)' \
			>"$tmp/wireshark/disabled_protos"
	export WIRESHARK_CONFIG_DIR="$tmp/wireshark"
fi
for scn in "$@"; do
	[ -f "$scn" ] || scn=$here/scenarios/$scn.scn
	name=$(basename "$scn" .scn)
	pcap_opt=""
	[ "$tshark_check" = 1 ] && pcap_opt="--pcap $tmp/$name.pcap"
	# shellcheck disable=SC2086
	"$sim" --check --hoptrace "$hop" $pcap_opt --scenario "$scn" >"$tmp/out" 2>&1
	rc=$?
	# Hostile scenarios send malformed packets on purpose: no tshark check.
	case $name in hostile-*) hostile=1 ;; *) hostile=0 ;; esac
	if [ $rc -eq 0 ] && [ "$tshark_check" = 1 ] && [ $hostile = 0 ] && command -v tshark >/dev/null; then
		bad=$(tshark -r "$tmp/$name.pcap" -o ip.check_checksum:TRUE \
			-o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE \
			-Y '!(ip.src#1 == 198.18.0.1 || ipv6.src#1 == 2001:db8::1) && (_ws.malformed || ip.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || icmp.ext.checksum.status == 0 || ((udp.checksum.status == 0 || tcp.checksum.status == 0) && !icmp && !icmpv6))' 2>"$tmp/tserr") || bad="tshark failed: $(cat "$tmp/tserr")"
		if [ -n "$bad" ]; then
			echo "FAIL $name.scn: tshark reports problems:" >"$tmp/out"
			echo "$bad" >>"$tmp/out"
			rc=1
		fi
	fi
	if [ $hostile = 1 ]; then
		case $rc in 0) hpass=$((hpass + 1)) ;; 77) ;; *) hfail=$((hfail + 1)) ;; esac
	fi
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name"; grep '^hoptrace-sim: flood:' "$tmp/out" | sed 's/^/    /' ;;
	77) skip=$((skip + 1)); echo "SKIP $name" ;;
	*) fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/    /' "$tmp/out" ;;
	esac
done
[ $((hpass + hfail)) -gt 0 ] && echo "hostile-input cases: $hpass passed, $hfail failed"
echo "scenarios: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || exit 1
[ $pass -eq 0 ] && [ $skip -gt 0 ] && exit 77
exit 0
