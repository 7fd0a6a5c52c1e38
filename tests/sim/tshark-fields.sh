#!/bin/sh
# Decode the simulator's replies for oracle-tshark-quirks.scn with tshark
# and assert the fields traceroute does not print: quoted TOS after a TOS
# rewrite, quoted TTL 0, NAT back-translation of the quote (with the
# translated UDP checksum left in), 8-byte quotes, reply TTLs.
#   tshark-fields.sh HOPTRACE_SIM SCENARIO_DIR
set -u
sim=$1
scn=$2/oracle-tshark-quirks.scn
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespaces, TUN)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$sim" --scenario "$scn" --pcap "$tmp/q.pcap" -- traceroute -n -q 1 --sport=33000 -t 16 198.18.200.1 >/dev/null || exit 1
tshark -r "$tmp/q.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
	-Y 'icmp' -T fields -E separator=' ' -e ip.src -e ip.ttl -e ip.dsfield -e icmp.type -e icmp.checksum.status \
	-e ip.checksum.status -e udp.srcport -e udp.checksum.status -e ip.len 2>/dev/null >"$tmp/f"
status=0
expect() {
	# expect ADDR "FIELDS..." : the line for reply source ADDR must be exactly FIELDS
	got=$(grep "^$1,198.18.0.1 " "$tmp/f" | head -1)
	if [ "$got" != "$1,198.18.0.1 $2" ]; then
		echo "FAIL $1: got '$got', want '$1,198.18.0.1 $2'"
		status=1
	else
		echo "ok   $1: $2"
	fi
}
# fields: outer/inner TTL, outer/inner DS field, ICMP type, ICMP checksum
# status, outer/inner IP checksum status, quoted source port, quoted UDP
# checksum status (0 bad, 1 good, 2 unverifiable), outer/inner IP length.
# r1, r2: TOS 16 as sent, TTL 1 quoted, everything correct.
expect 198.18.1.1 "255,1 0xc0,0x10 11 1 1,1 33000 1 88,60"
expect 198.18.2.1 "254,1 0xc0,0x10 11 1 1,1 33000 1 88,60"
# r3: quotes TTL 0 and the TOS r2 rewrote.
expect 198.18.3.1 "253,0 0xc0,0x20 11 1 1,1 33000 1 88,60"
# r4 (the NAT itself) quotes the packet as it arrived, untranslated.
expect 198.18.4.1 "252,1 0xc0,0x20 11 1 1,1 33000 1 88,60"
# r5 is behind the NAT: the quote is translated back (source port 33000
# and address), but the UDP checksum is the translated packet's, so it
# would no longer verify; r5 quotes 8 bytes only (a 28-byte quote), so it
# cannot be verified. The destination's full quote shows the bad checksum.
expect 198.18.5.1 "251,1 0xc0,0x20 11 1 1,1 33000 2 56,60"
expect 198.18.200.1 "59,1 0xc0,0x20 3 1 1,1 33000 0 88,60"
grep -q "^198.18.5.1,198.18.0.1 " "$tmp/f" || status=1
exit $status
