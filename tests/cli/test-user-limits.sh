#!/bin/sh
# What a user other than root may ask of a privileged install (a copy
# carrying cap_net_raw+ep, as `make install` sets it up), against root and
# against an ordinary unprivileged copy. Every run is in a private network
# namespace of its own (loopback, plus a veth pair with documentation
# addresses), so nothing leaves this machine.
# Usage: tests/cli/test-user-limits.sh path/to/hoptrace
set -u
HT=${1:?usage: test-user-limits.sh path/to/hoptrace}

skip() {
	echo "user-limits: SKIP: $1"
	if [ "${CI:-}" = true ]; then
		echo "user-limits: CI=true, so a skip is a failure"
		exit 1
	fi
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespace, setcap, setpriv)"
for t in unshare setpriv setcap ip; do
	command -v $t >/dev/null 2>&1 || skip "$t is not installed"
done
HT=$(cd "$(dirname "$HT")" && pwd)/$(basename "$HT")
[ -x "$HT" ] || { echo "user-limits: $HT is not executable"; exit 1; }
USER_UID=$(id -u nobody) || skip "no 'nobody' user"
USER_GID=$(id -g nobody)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
chmod 755 "$TMP"
# The privileged install, and a plain copy without any privilege.
cp "$HT" "$TMP/hoptrace-cap"
cp "$HT" "$TMP/hoptrace-plain"
chmod 755 "$TMP/hoptrace-cap" "$TMP/hoptrace-plain"
setcap cap_net_raw+ep "$TMP/hoptrace-cap" 2>"$TMP/setcap.err" ||
	skip "cannot set file capabilities in $TMP: $(cat "$TMP/setcap.err")"

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	echo "FAIL [$CASE]: $1"
}

# The network namespace every run gets: loopback up, a veth pair whose d0
# has 198.18.0.2/24 and 2001:db8:a::2/64, unprivileged ICMP allowed, and
# binding to addresses the namespace does not have allowed too.
NS_SETUP='ip link set lo up && ip link add d0 type veth peer name d1 &&
	ip link set d0 up && ip link set d1 up &&
	ip addr add 198.18.0.2/24 dev d0 && ip addr add 2001:db8:a::2/64 dev d0 nodad &&
	sysctl -qw net.ipv4.ping_group_range="0 2147483647" &&
	sysctl -qw net.ipv4.ip_nonlocal_bind=1 net.ipv6.ip_nonlocal_bind=1'
AS_USER="setpriv --reuid=$USER_UID --regid=$USER_GID --clear-groups --inh-caps=-all"

# run WHO BINARY ARGS...: WHO is root or user; exit status in RC, output in
# $TMP/out and $TMP/err.
run() {
	who=$1
	bin=$2
	shift 2
	pre=
	[ "$who" = user ] && pre=$AS_USER
	unshare -n sh -c "$NS_SETUP && exec $pre \"\$0\" \"\$@\"" "$bin" "$@" \
		>"$TMP/out" 2>"$TMP/err"
	RC=$?
}

# refused CODE MESSAGE: the last run printed exactly "hoptrace: MESSAGE"
# on stderr, nothing on stdout, and exited CODE.
refused() {
	got=$(cat "$TMP/err")
	if [ "$RC" = "$1" ] && [ "$got" = "hoptrace: $2" ] && [ ! -s "$TMP/out" ]; then ok; else
		bad "want exit $1 and 'hoptrace: $2'; got exit $RC, stdout $(wc -c <"$TMP/out") bytes, stderr: $got"
	fi
}

# traced: the last run traced 127.0.0.1 and exited 0.
traced() {
	if [ "$RC" = 0 ] && grep -q '127\.0\.0\.1' "$TMP/out"; then ok; else
		bad "want a trace and exit 0; got exit $RC: $(head -n 3 "$TMP/err")"
	fi
}

T="-n -q 1 -m 2 -w 1 127.0.0.1"
PRIV="--no-sandbox is refused: the process started privileged (root, setuid or capabilities)"

# --no-sandbox: refused to every privileged start, honoured otherwise.
CASE=no-sandbox-root
run root "$HT" --no-sandbox $T
refused 2 "$PRIV"
CASE=no-sandbox-filecap
run user "$TMP/hoptrace-cap" --no-sandbox $T
refused 2 "$PRIV"
CASE=no-sandbox-plain
run user "$TMP/hoptrace-plain" --no-sandbox --debug-status -I $T
traced
if grep -q '^status: Seccomp:[[:space:]]*0$' "$TMP/err"; then ok; else
	bad "an unprivileged --no-sandbox run is still confined: $(grep Seccomp "$TMP/err")"
fi

# Rate and window: a user of the privileged install gets ping's kind of
# limits (at most 1000 probes per second, 300 in flight); root and an
# unprivileged copy do not (the latter can only send what any program may).
CASE=limits-filecap
run user "$TMP/hoptrace-cap" --pps 0 $T
refused 2 "--pps 0 (no rate limit) is for root only: other users may ask for 1 to 1000 probes per second"
run user "$TMP/hoptrace-cap" --pps 100000 $T
refused 2 "--pps 100000 is for root only: other users may ask for 1 to 1000 probes per second"
run user "$TMP/hoptrace-cap" -N 65535 $T
refused 2 "-N 65535 is for root only: other users may ask for 1 to 300 probes in flight"
run user "$TMP/hoptrace-cap" -N 65535 --pps 0 -z 0 $T
refused 2 "--pps 0 (no rate limit) is for root only: other users may ask for 1 to 1000 probes per second"
# Within the limits, and the defaults, the privileged install traces.
run user "$TMP/hoptrace-cap" --pps 1000 -N 300 $T
traced
run user "$TMP/hoptrace-cap" $T
traced
CASE=limits-root
run root "$HT" -N 65535 --pps 0 -z 0 $T
traced
CASE=limits-plain
run user "$TMP/hoptrace-plain" -I -N 65535 --pps 0 -z 0 $T
traced

# -s: a user of the privileged install may send only from an address this
# host (namespace) has, even where ip_nonlocal_bind lets sockets bind to any.
CASE=source-filecap
for a in 198.18.0.9 2001:db8:a::99; do
	dst=198.18.0.1
	case $a in *:*) dst=2001:db8:a::1 ;; esac
	run user "$TMP/hoptrace-cap" -s $a -n -q 1 -m 1 -w 0.2 $dst
	refused 2 "source address $a is not configured on this host: only root may send from another address"
done
run user "$TMP/hoptrace-cap" -s 127.0.0.1 $T
traced
run user "$TMP/hoptrace-cap" -s 198.18.0.2 -n -q 1 -m 1 -w 0.2 198.18.0.1
if [ "$RC" = 0 ] && [ ! -s "$TMP/err" ]; then ok; else
	bad "-s 198.18.0.2 (configured): exit $RC: $(head -n 2 "$TMP/err")"
fi
# Root keeps the freedom (IPv6 here: for IPv4 the kernel itself finds no
# route from an address it does not have).
CASE=source-root
run root "$HT" -s 2001:db8:a::99 -n -q 1 -m 1 -w 0.2 2001:db8:a::1
if [ "$RC" = 0 ] && [ ! -s "$TMP/err" ]; then ok; else
	bad "root -s 2001:db8:a::99: exit $RC: $(head -n 2 "$TMP/err")"
fi

echo "user-limits: $pass checks passed, $fail failed"
[ "$fail" = 0 ]
