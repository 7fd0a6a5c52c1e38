#!/bin/sh
# Least privilege, at run time: hoptrace prints its own /proc/self/status
# (--debug-status) after setting up its sockets, and this test asserts what
# it holds then: no capability in any set, no root uid, no_new_privs, and a
# seccomp filter. Two ways in:
#   1. started by root (sudo hoptrace ...);
#   2. started by an ordinary user from a copy carrying the file capability
#      cap_net_raw+ep, as `make install` and the Debian package set it up;
#   3. started by an ordinary user holding CAP_NET_RAW as an ambient
#      capability.
# Then, for each, that the running process is not dumpable (nobody can
# attach to it while it holds raw sockets), and that the resolver child
# that turns a name into an address is confined too, with --batch as well.
# The traces run in a private network namespace toward its loopback only.
# Usage: tests/cli/test-priv-drop.sh path/to/hoptrace [unused: simulator]
set -u
HT=${1:?usage: test-priv-drop.sh path/to/hoptrace}

skip() {
	echo "priv-drop: SKIP: $1"
	if [ "${CI:-}" = true ]; then
		echo "priv-drop: CI=true, so a skip is a failure"
		exit 1
	fi
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespace, setcap, setpriv)"
for t in unshare setpriv setcap ip; do
	command -v $t >/dev/null 2>&1 || skip "$t is not installed"
done
HT=$(cd "$(dirname "$HT")" && pwd)/$(basename "$HT")
[ -x "$HT" ] || { echo "priv-drop: $HT is not executable"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
chmod 755 "$TMP"
USER_UID=$(id -u nobody) || skip "no 'nobody' user"
USER_GID=$(id -g nobody)
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	echo "FAIL [$CASE]: $1"
}

# field NAME: the value of "status: NAME:\t..." from the run's stderr.
field() {
	sed -n "s/^status: $1:[[:space:]]*//p" "$TMP/err" | head -n 1 | tr '\t' ' '
}

# check_status EXPECT_BND_ZERO
check_status() {
	for k in CapInh CapPrm CapEff CapAmb; do
		v=$(field $k)
		if [ "$v" = 0000000000000000 ]; then ok; else bad "$k is '$v', want 0000000000000000"; fi
	done
	v=$(field CapBnd)
	if [ "$1" = yes ]; then
		if [ "$v" = 0000000000000000 ]; then ok; else bad "CapBnd is '$v', want 0000000000000000"; fi
	fi
	uids=$(field Uid)
	gids=$(field Gid)
	if [ -z "$uids" ]; then
		bad "no 'status: Uid:' line (is --debug-status wired?)"
	else
		for u in $uids; do
			if [ "$u" = 0 ]; then
				bad "a uid is still root: Uid: $uids"
				break
			fi
		done
		[ "$u" != 0 ] && ok
		for g in $gids; do
			if [ "$g" = 0 ]; then
				bad "a gid is still root: Gid: $gids"
				break
			fi
		done
		[ "$g" != 0 ] && ok
	fi
	groups=$(field Groups)
	case " $groups " in
	*" 0 "*) bad "still in group 0: Groups: $groups" ;;
	*) ok ;;
	esac
	v=$(field NoNewPrivs)
	if [ "$v" = 1 ]; then ok; else bad "NoNewPrivs is '$v', want 1"; fi
	v=$(field Seccomp)
	if [ "$v" = 2 ]; then ok; else
		bad "Seccomp is '$v', want 2 (filter; main must call ht_sandbox_enter)"
	fi
	# The trace itself must have worked with what was left.
	if [ "$RC" = 0 ] && grep -q '127\.0\.0\.1' "$TMP/out"; then ok; else
		bad "the trace failed (exit $RC): $(grep -v '^status:' "$TMP/err" | head -n 3)"
	fi
	if grep -v '^status:' "$TMP/err" | grep -q .; then
		bad "unexpected stderr: $(grep -v '^status:' "$TMP/err" | head -n 3)"
	else
		ok
	fi
}

ARGS="--debug-status -n -q 1 -m 3 -w 1 127.0.0.1"

# 1. Started by root, raw sockets.
CASE=root
unshare -n sh -c "ip link set lo up && exec \"$HT\" $ARGS" >"$TMP/out" 2>"$TMP/err"
RC=$?
check_status yes

# 2. Started by nobody from a copy with the file capability. The bounding
# set cannot be emptied here (that takes CAP_SETPCAP, which the binary
# rightly does not get); no_new_privs already stops any later gain.
CASE=filecap
cp "$HT" "$TMP/hoptrace"
chmod 755 "$TMP/hoptrace"
if setcap cap_net_raw+ep "$TMP/hoptrace" 2>"$TMP/setcap.err"; then
	unshare -n sh -c "ip link set lo up && exec setpriv --reuid=$USER_UID --regid=$USER_GID \
		--clear-groups --inh-caps=-all \"$TMP/hoptrace\" $ARGS" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	check_status no
	# The raw socket really was used: the capability was there at start.
	if getcap "$TMP/hoptrace" | grep -q cap_net_raw; then ok; else bad "setcap did not stick"; fi
else
	echo "priv-drop: note: cannot set file capabilities in $TMP ($(cat "$TMP/setcap.err")); case 2 not run"
	[ "${CI:-}" = true ] && bad "setcap failed under CI"
fi

# 3. Started by nobody with CAP_NET_RAW as an ambient capability (as a
# service manager grants it): no id changes, so the kernel leaves the
# process dumpable unless hoptrace clears that itself.
CASE=ambient
AMBIENT="setpriv --reuid=$USER_UID --regid=$USER_GID --clear-groups --inh-caps=+net_raw --ambient-caps=+net_raw"
unshare -n sh -c "ip link set lo up && exec $AMBIENT \"$HT\" $ARGS" >"$TMP/out" 2>"$TMP/err"
RC=$?
check_status no
if grep -q 'no CAP_NET_RAW' "$TMP/err"; then bad "the ambient capability was not used"; else ok; fi

# 4. A name resolved by the resolver child (localhost, from /etc/hosts):
# the child drops every privilege and runs under a seccomp filter of its
# own before it reads any answer.
CASE=resolver
unshare -n sh -c "ip link set lo up && exec \"$HT\" --debug-status -4 -n -q 1 -m 2 -w 1 localhost" \
	>"$TMP/out" 2>"$TMP/err"
RC=$?
rfield() {
	sed -n "s/^resolver status: $1:[[:space:]]*//p" "$TMP/err" | head -n 1 | tr '\t' ' '
}
v=$(rfield Seccomp)
if [ "$v" = 2 ]; then ok; else bad "resolver Seccomp is '$v', want 2 (its own filter)"; fi
v=$(rfield NoNewPrivs)
if [ "$v" = 1 ]; then ok; else bad "resolver NoNewPrivs is '$v', want 1"; fi
for k in CapPrm CapEff; do
	v=$(rfield $k)
	if [ "$v" = 0000000000000000 ]; then ok; else bad "resolver $k is '$v'"; fi
done
if [ "$RC" = 0 ] && grep -q '127\.0\.0\.1' "$TMP/out"; then ok; else
	bad "the trace to localhost failed (exit $RC): $(grep -v 'status:' "$TMP/err" | head -n 3)"
fi
# The same for --batch, whose child reads the list and resolves its names.
CASE=batch-resolver
printf 'localhost\n' | unshare -n sh -c "ip link set lo up && exec \"$HT\" --debug-status -4 -n -q 1 -m 2 -w 1 --batch -" \
	>"$TMP/out" 2>"$TMP/err"
RC=$?
v=$(rfield Seccomp)
if [ "$v" = 2 ]; then ok; else bad "batch resolver Seccomp is '$v', want 2 (its own filter)"; fi
for k in CapPrm CapEff; do
	v=$(rfield $k)
	if [ "$v" = 0000000000000000 ]; then ok; else bad "batch resolver $k is '$v'"; fi
done
if [ "$RC" = 0 ] && grep -q '127\.0\.0\.1' "$TMP/out"; then ok; else
	bad "the batch trace to localhost failed (exit $RC): $(grep -v 'status:' "$TMP/err" | head -n 3)"
fi

# 5. After the drop nobody may attach to the process, which still holds its
# raw sockets: it is not dumpable, so the kernel gives its /proc files to
# root. Each start runs a trace that waits 2 s for a silent address.
NS_SILENT='ip link set lo up && ip link add d0 type veth peer name d1 && ip link set d0 up &&
	ip link set d1 up && ip addr add 198.18.0.2/24 dev d0'
for CASE in root filecap ambient; do
	case $CASE in
	root) pre= bin=$HT ;;
	filecap) pre="setpriv --reuid=$USER_UID --regid=$USER_GID --clear-groups --inh-caps=-all"
		bin=$TMP/hoptrace ;;
	ambient) pre=$AMBIENT bin=$HT ;;
	esac
	[ -x "$bin" ] || continue
	: >"$TMP/err"
	unshare -n sh -c "$NS_SILENT && exec $pre \"$bin\" --debug-status -n -q 1 -m 1 -w 2,0,0 198.18.0.99" \
		>"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for _ in $(seq 50); do
		grep -q '^status: Seccomp' "$TMP/err" && break
		sleep 0.1
	done
	owner=$(stat -c %u "/proc/$pid/status" 2>/dev/null)
	uid=$(field Uid | cut -d' ' -f1)
	wait $pid
	if [ -z "$owner" ] || [ -z "$uid" ]; then
		bad "could not observe the running process (owner '$owner', uid '$uid')"
	elif [ "$owner" = 0 ] && [ "$uid" != 0 ]; then ok; else
		bad "the process (uid $uid) is dumpable: /proc/$pid/status belongs to uid $owner, want 0"
	fi
done

echo "priv-drop: $pass checks passed, $fail failed"
[ "$fail" = 0 ]
