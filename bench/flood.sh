#!/bin/bash
# bench/flood.sh: hoptrace while 100k unrelated ICMP packets per second arrive.
# The lab (tests/netns/lab.sh): 9 hops, 5 ms per router each way. Router r1
# showers the prober with ICMP time exceeded messages that quote UDP packets
# sent to OUR destination from other ports (so they pass the kernel filter and
# must be rejected by the decoder), plus echo replies with a foreign id.
# Prints, with and without the flood: wall time, the destination's RTTs,
# replies matched and unmatched, and the flood rate achieved; Debian's
# traceroute under the same flood for comparison. A benchmark, not a test.
#   env: HOPTRACE (default build/src/hoptrace), IO_DRIVER (build/tests/io/io_driver),
#        FLOOD_PPS (100000)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/netns/lab.sh"
HOPTRACE=${HOPTRACE:-$TOP/build/src/hoptrace}
DRV=${IO_DRIVER:-$(dirname "$HOPTRACE")/../tests/io/io_driver}
PPS=${FLOOD_PPS:-100000}
if [ "$(id -u)" != 0 ]; then
	echo "bench/flood.sh: needs root (network namespaces): run it with sudo" >&2
	exit 1
fi
for b in "$HOPTRACE" "$DRV"; do
	[ -x "$b" ] || { echo "bench/flood.sh: $b is not built" >&2; exit 1; }
done
if [ -z "${LAB_NFQ_DELAY:-}" ]; then
	LAB_NFQ_DELAY=$(dirname "$HOPTRACE")/../bench/nfq-delay
	export LAB_NFQ_DELAY
fi
LAB_ROUTERS=8 LAB_DELAY_MS=5 lab_up >/dev/null || exit 1

run() { # LABEL CMD..: print one result row
	local label=$1 s e out err
	shift
	err=$(mktemp)
	s=$(date +%s%N)
	out=$(timeout 60 ip netns exec "$LAB_PROBER" "$@" 2>"$err")
	e=$(date +%s%N)
	local dst_rtts stats hops
	dst_rtts=$(printf '%s\n' "$out" | awk -v h="$LAB_HOPS" '$1 == h {for (i = 3; i <= NF; i++) if ($i ~ /^[0-9.]+$/) printf "%s ", $i}')
	hops=$(printf '%s\n' "$out" | lab_parse_hops | diff -q - <(lab_truth 4) >/dev/null && echo ok || echo WRONG)
	stats=$(grep -o '[0-9]* replies matched\|[0-9]* packets read\|[0-9]* not ours' "$err" | paste -sd, -)
	printf '%-28s %7d ms  hops %-5s  dest RTTs %-26s %s\n' "$label" $(((e - s) / 1000000)) "$hops" "$dst_rtts" "$stats"
	rm -f "$err"
}

echo "hoptrace under an ICMP flood (lab: 9 hops, 5 ms per router each way)"
run "hoptrace, quiet" "$HOPTRACE" -n --stats "$LAB_DEST4"
ip netns exec "$(lab_ns 1)" "$DRV" --flood "$LAB_PROBER4" --pps "$PPS" --secs 4 --src 198.18.1.1 \
	--quote-dst "$LAB_DEST4" 2>/tmp/ht-flood.$$ &
fl=$!
sleep 0.3
run "hoptrace, ${PPS} pps flood" "$HOPTRACE" -n --stats "$LAB_DEST4"
run "hoptrace -I, flood" "$HOPTRACE" -n -I --stats "$LAB_DEST4"
run "traceroute, flood" traceroute -n "$LAB_DEST4"
wait $fl
echo "flooder: $(cat /tmp/ht-flood.$$)"
rm -f /tmp/ht-flood.$$
