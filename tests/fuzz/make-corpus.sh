#!/bin/sh
# Regenerate the real-capture seeds of the fuzz corpora:
#   corpus/fuzz_reply/cap-*, corpus/fuzz_ext/cap-*, corpus/fuzz_errqueue/cap-*
# Builds a throwaway lab of network namespaces (prober - r1 - r2 - dst,
# 198.18.0.0/15 and 2001:db8::/32 only, real Linux routers), runs Debian's
# traceroute through it with each method and family and a few failure
# modes (unreachable routes, a 1280-byte MTU, closed and open TCP ports),
# captures on the prober with tcpdump, and writes every distinct reply in
# the exact form ht_reply_decode receives it (see lib/proto/proto.h):
#   IPv4 (ICMP and TCP): the whole IP packet;
#   IPv6: the ICMPv6 message or TCP segment, without the IP header;
# behind the selector byte fuzz_reply.c reads (family, method, classic,
# TCP socket, reply-from-destination). fuzz_ext seeds are the ICMP
# messages themselves behind a family byte. fuzz_errqueue seeds are the
# same ICMP errors and echo replies as a datagram socket would have read
# them (the error queue: origin, type, code, info, the quoted destination
# port, and our datagram from its ICMP/TCP header or UDP payload; a ping
# socket: the echo reply), behind the 12-byte header fuzz_errqueue.c reads.
# Needs root, iproute2, tcpdump, traceroute, python3 (no build.sh step installs
# them: this is run by hand when the seed corpus is remade). Usage: make-corpus.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "make-corpus: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcpdump traceroute python3; do
	command -v $t >/dev/null || { echo "make-corpus: $t is missing" >&2; exit 1; }
done

P=htfz$$p R1=htfz$$r1 R2=htfz$$r2 D=htfz$$d
TMP=$(mktemp -d)
LISTENER=""
cleanup() {
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	for ns in $P $R1 $R2 $D; do ip netns del $ns 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

for ns in $P $R1 $R2 $D; do
	ip netns add $ns
	ip -n $ns link set lo up
	ip netns exec $ns sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done
# link NS1 IF1 NS2 IF2
link() {
	ip link add $2 netns $1 type veth peer name $4 netns $3
	ip -n $1 link set $2 up
	ip -n $3 link set $4 up
}
link $P p0 $R1 r1a
link $R1 r1b $R2 r2a
link $R2 r2b $D d0
# A 1280-byte link between the routers: fragmentation needed / packet too big.
ip -n $R1 link set r1b mtu 1280
ip -n $R2 link set r2a mtu 1280

ip -n $P addr add 198.18.0.1/24 dev p0
ip -n $P addr add 2001:db8::1/64 dev p0 nodad
ip -n $P route add default via 198.18.0.2
ip -n $P -6 route add default via 2001:db8::2
ip -n $R1 addr add 198.18.0.2/24 dev r1a
ip -n $R1 addr add 2001:db8::2/64 dev r1a nodad
ip -n $R1 addr add 198.18.1.1/24 dev r1b
ip -n $R1 addr add 2001:db8:ff01::1/64 dev r1b nodad
ip -n $R1 route add 198.19.0.0/16 via 198.18.1.2
ip -n $R1 -6 route add 2001:db8:1::/48 via 2001:db8:ff01::2
ip -n $R2 addr add 198.18.1.2/24 dev r2a
ip -n $R2 addr add 2001:db8:ff01::2/64 dev r2a nodad
ip -n $R2 addr add 198.19.0.1/24 dev r2b
ip -n $R2 addr add 2001:db8:1::1/64 dev r2b nodad
ip -n $R2 route add default via 198.18.1.1
ip -n $R2 -6 route add default via 2001:db8:ff01::1
# Destinations r2 refuses: !H, !X, !N (v4); no route, admin prohibited (v6).
ip -n $R2 route add unreachable 198.19.1.0/24
ip -n $R2 route add prohibit 198.19.2.0/24
ip -n $R2 route add throw 198.19.3.0/24
ip -n $R2 -6 route add unreachable 2001:db8:1:1::/64
ip -n $R2 -6 route add prohibit 2001:db8:1:2::/64
ip -n $D addr add 198.19.0.9/24 dev d0
ip -n $D addr add 2001:db8:1::9/64 dev d0 nodad
ip -n $D route add default via 198.19.0.1
ip -n $D -6 route add default via 2001:db8:1::1

# An open TCP port on the destination (SYN-ACK); 81 stays closed (RST).
ip netns exec $D python3 -c '
import socket, time
s4 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s4.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s4.bind(("::", 80)); s4.listen(64)
time.sleep(120)' &
LISTENER=$!
sleep 0.5

ip netns exec $P tcpdump -i p0 -U -w "$TMP/cap.pcap" -s 0 \
	'(icmp or icmp6 or tcp) and (dst host 198.18.0.1 or dst host 2001:db8::1)' \
	2>"$TMP/tcpdump.log" &
TCPDUMP=$!
sleep 1

# run NAME SELECTOR traceroute-args...   (marks the capture with a gap)
: >"$TMP/runs"
run() {
	name=$1 sel=$2
	shift 2
	before=$(date +%s.%N)
	ip netns exec $P traceroute "$@" >"$TMP/$name.txt" 2>&1 || true
	echo "$name $sel $before $(date +%s.%N)" >>"$TMP/runs"
	sleep 0.3
}
# Selector bits (fuzz_reply.c): 1 IPv6, 2/4 method (ICMP 2, TCP 4),
# 8 classic, 16 TCP socket, 64 IPv6 reply from the destination.
run v4-udp 8 -n -q 2 -w 1 -m 5 --sport=40000 198.19.0.9
run v4-udp-ext 8 -n -e -q 1 -w 1 -m 5 198.19.0.9
run v4-icmp 2 -n -I -q 2 -w 1 -m 5 198.19.0.9
run v4-tcp-open 4 -n -T -p 80 -q 2 -w 1 -m 5 198.19.0.9
run v4-tcp-closed 4 -n -T -p 81 -q 2 -w 1 -m 5 198.19.0.9
run v4-frag 8 -n -F -q 1 -w 1 -m 5 198.19.0.9 1400
run v4-hostunr 8 -n -q 1 -w 1 -m 5 198.19.1.9
run v4-prohib 8 -n -q 1 -w 1 -m 5 198.19.2.9
run v4-netunr 8 -n -q 1 -w 1 -m 5 198.19.3.9
run v4-proto 8 -n -P 253 -q 1 -w 1 -m 5 198.19.0.9
run v6-udp 9 -6 -n -q 2 -w 1 -m 5 --sport=40000 2001:db8:1::9
run v6-udp-ext 9 -6 -n -e -q 1 -w 1 -m 5 2001:db8:1::9
run v6-icmp 3 -6 -n -I -q 2 -w 1 -m 5 2001:db8:1::9
run v6-tcp-open 5 -6 -n -T -p 80 -q 2 -w 1 -m 5 2001:db8:1::9
run v6-tcp-closed 5 -6 -n -T -p 81 -q 2 -w 1 -m 5 2001:db8:1::9
run v6-ptb 9 -6 -n -q 1 -w 1 -m 5 2001:db8:1::9 1400
run v6-noroute 9 -6 -n -q 1 -w 1 -m 5 2001:db8:1:1::9
run v6-prohib 9 -6 -n -q 1 -w 1 -m 5 2001:db8:1:2::9
sleep 1
kill "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null || true

python3 - "$TMP/cap.pcap" "$TMP/runs" "$HERE/corpus" <<'PY'
import hashlib, os, struct, sys

pcap, runs_path, out = sys.argv[1:4]
runs = []
for line in open(runs_path):
    name, sel, t0, t1 = line.split()
    runs.append((name, int(sel), float(t0), float(t1)))

def run_of(ts):
    for r in runs:
        if r[2] - 0.05 <= ts <= r[3] + 0.25:
            return r
    return None

data = open(pcap, 'rb').read()
magic = struct.unpack('<I', data[:4])[0]
assert magic in (0xa1b2c3d4, 0xa1b23c4d), 'unexpected pcap format'
nano = magic == 0xa1b23c4d
linktype = struct.unpack('<I', data[20:24])[0]
assert linktype == 1, 'expected Ethernet captures'
off = 24
seen = {}
written = {'fuzz_reply': 0, 'fuzz_ext': 0, 'fuzz_errqueue': 0}
for d in ('fuzz_reply', 'fuzz_ext', 'fuzz_errqueue'):
    os.makedirs(os.path.join(out, d), exist_ok=True)
    for f in os.listdir(os.path.join(out, d)):
        if f.startswith('cap-'):
            os.unlink(os.path.join(out, d, f))

DST4 = bytes([198, 19, 0, 9])
DST6 = bytes.fromhex('20010db8000100000000000000000009')

def errqueue_seed(sel, fam, icmp):
    """An ICMP error or echo reply as a datagram socket reads it, behind
    fuzz_errqueue.c's header; None when it is neither."""
    method = (sel >> 1) & 3
    classic = sel & 8
    echo_rep = 0 if fam == 0 else 129
    if icmp[0] == echo_rep:
        head = bytes([fam | (method << 1) | classic | (1 << 4) | 128, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 64, 0])
        return head + icmp
    q = icmp[8:]
    if fam == 0:
        if len(q) < 20:
            return None
        ihl = (q[0] & 15) * 4
        proto, qdst = q[9], q[16:20]
        info = struct.unpack('!H', icmp[6:8])[0] if icmp[0] == 3 and icmp[1] == 4 else 0
        origin, to_dst = 2, qdst == DST4
    else:
        if len(q) < 40:
            return None
        ihl = 40
        proto, qdst = q[6], q[24:40]
        info = struct.unpack('!I', icmp[4:8])[0] if icmp[0] == 2 else 0
        origin, to_dst = 3, qdst == DST6
    l4 = q[ihl:]
    if len(l4) < 8:
        return None
    port = 0
    if proto == 17:
        port = struct.unpack('!H', l4[2:4])[0]
        data = l4[8:]
    else:
        data = l4
        if proto == 6:
            port = struct.unpack('!H', l4[2:4])[0]
    head = bytes([fam | (method << 1) | classic | (128 if to_dst else 0), origin,
                  icmp[0], icmp[1]]) + struct.pack('!IH', info, port) + bytes([64, 0])
    return head + data

def save(target, name, blob):
    with open(os.path.join(out, target, name), 'wb') as fh:
        fh.write(blob)
    written[target] += 1

while off + 16 <= len(data):
    sec, frac, incl, orig = struct.unpack('<IIII', data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ts = sec + frac / (1e9 if nano else 1e6)
    run = run_of(ts)
    if run is None or len(frame) < 14:
        continue
    name, sel, _, _ = run
    etype = struct.unpack('!H', frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800:
        ihl = (ip[0] & 15) * 4
        proto = ip[9]
        l4 = ip[ihl:]
        if proto == 1:
            if l4[0] not in (0, 3, 11, 12):
                continue
            key = ('4i', l4[0], l4[1], ip[12:16])
            pkt, s, icmp, fam = ip, sel & ~16, l4, 0
        elif proto == 6:
            key = ('4t', l4[13] & 0x3f, ip[12:16])
            pkt, s, icmp, fam = ip, sel | 16, None, 0
        else:
            continue
    elif etype == 0x86dd:
        nh = ip[6]
        l4 = ip[40:]
        src = ip[8:24]
        from_dst = src == bytes.fromhex('20010db8000100000000000000000009')
        if nh == 58:
            if l4[0] not in (1, 2, 3, 4, 129):
                continue
            key = ('6i', l4[0], l4[1], src)
            pkt, s, icmp, fam = l4, (sel & ~16) | (64 if from_dst else 0), l4, 1
        elif nh == 6:
            key = ('6t', l4[13] & 0x3f, src)
            pkt, s, icmp, fam = l4, sel | 16 | 64, None, 1
        else:
            continue
    else:
        continue
    key = (name,) + key
    n = seen.get(key, 0)
    if n >= 1:
        continue
    seen[key] = n + 1
    tag = hashlib.sha1(pkt).hexdigest()[:8]
    save('fuzz_reply', 'cap-%s-%s' % (name, tag), bytes([s]) + pkt)
    if icmp is not None and icmp[0] in (3, 11, 1, 2) and name.endswith(('ext', 'frag', 'ptb', 'udp')):
        save('fuzz_ext', 'cap-%s-%s' % (name, tag), bytes([fam]) + icmp)
    if icmp is not None:
        eq = errqueue_seed(sel, fam, icmp)
        if eq is not None:
            save('fuzz_errqueue', 'cap-%s-%s' % (name, tag), eq)
print('make-corpus: wrote %d fuzz_reply, %d fuzz_ext and %d fuzz_errqueue seeds' %
      (written['fuzz_reply'], written['fuzz_ext'], written['fuzz_errqueue']))
PY
for f in "$TMP"/v4-udp.txt "$TMP"/v6-tcp-open.txt "$TMP"/v4-frag.txt "$TMP"/v4-prohib.txt; do
	echo "--- $(basename "$f" .txt)"
	cat "$f"
done
