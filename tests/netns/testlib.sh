#!/bin/bash
# testlib.sh: assertions shared by the netns tests (sourced; needs bash).
# Each test case runs in its own subshell with its own lab; t_main runs the
# selected cases and exits 0 (all passed), 1 (a failure) or 77 (skipped).

. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

# The hoptrace binary under test (HOPTRACE, default build/src/hoptrace), as an
# absolute path in HT; need_hoptrace fails the case when it is not built.
HOPTRACE=${HOPTRACE:-$LAB_TOP/build/src/hoptrace}
HT=$(cd "$(dirname "$HOPTRACE")" 2>/dev/null && pwd)/$(basename "$HOPTRACE")
need_hoptrace() {
	if [ ! -x "$HT" ]; then
		echo "  FAIL  hoptrace binary not found at $HOPTRACE (set HOPTRACE=...)"
		exit 1
	fi
}

# The lab's destination in family $1 (4|6).
dest_of() { if [ "$1" = 6 ]; then echo "$LAB_DEST6"; else echo "$LAB_DEST4"; fi; }

T_FAILS=0
T_OUT="" T_ERR="" T_RC=0 T_MS=0

t_pass() { echo "  ok    $*"; }
t_fail() {
	echo "  FAIL  $*"
	T_FAILS=$((T_FAILS + 1))
}
t_indent() { sed "s/^/        $1/"; }

# t_run SECONDS CMD..: run CMD (already wrapped in a namespace by the caller) with
# a hard timeout; sets T_OUT, T_ERR, T_RC and T_MS (wall time in milliseconds).
t_run() {
	local secs=$1 errf s e
	shift
	# timeout(1) runs programs, not shell functions: expand the lab's wrappers.
	case "$1" in
	lab_prober) shift; set -- ip netns exec "$LAB_PROBER" "$@" ;;
	lab_prober_nobody) shift; set -- ip netns exec "$LAB_PROBER" "${LAB_NOBODY[@]}" "$@" ;;
	lab_in) local k=$2; shift 2; set -- ip netns exec "$(lab_ns "$k")" "$@" ;;
	esac
	errf=$(mktemp)
	s=$(date +%s%N)
	T_RC=0
	T_OUT=$(timeout -k 2 "$secs" "$@" 2>"$errf") || T_RC=$?
	e=$(date +%s%N)
	T_ERR=$(cat "$errf")
	rm -f "$errf"
	T_MS=$(((e - s) / 1000000))
}

t_show_run() {
	echo "        rc=$T_RC, ${T_MS} ms; stdout:"
	printf '%s\n' "$T_OUT" | t_indent "| "
	if [ -n "$T_ERR" ]; then
		echo "        stderr:"
		printf '%s\n' "$T_ERR" | t_indent "| "
	fi
}

# t_hops NAME EXPECTED: the hops parsed from T_OUT must equal EXPECTED exactly
# (lines "K ADDR [!ANN]" / "K *", see lab_parse_hops).
t_hops() {
	local name=$1 exp=$2 got
	got=$(printf '%s\n' "$T_OUT" | lab_parse_hops)
	if [ "$got" = "$exp" ]; then
		t_pass "$name (${T_MS} ms)"
	else
		t_fail "$name: hops differ (expected < > got)"
		diff <(printf '%s\n' "$exp") <(printf '%s\n' "$got") | t_indent ""
		t_show_run
	fi
}

# t_rc NAME EXPECTED_RC
t_rc() {
	if [ "$T_RC" = "$2" ]; then
		t_pass "$1: exit status $T_RC"
	else
		t_fail "$1: exit status $T_RC, expected $2"
		t_show_run
	fi
}

# t_match NAME WHAT REGEX: WHAT (a string) must match the extended REGEX.
t_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		t_pass "$1"
	else
		t_fail "$1: no match for /$3/"
		t_show_run
	fi
}

# t_le NAME VALUE MAX
t_le() {
	if [ "$2" -le "$3" ]; then
		t_pass "$1 ($2 <= $3)"
	else
		t_fail "$1 ($2 > $3)"
	fi
}

# Expected hops to the lab's destination in family $1 (4|6); with $2 = M,
# hops past the destination up to M are silent too (silent destination).
t_truth() {
	local fam=$1 upto=${2:-} k
	lab_truth "$fam"
	if [ -n "$upto" ]; then
		for k in $(seq $((LAB_HOPS + 1)) "$upto"); do
			echo "$k *"
		done
	fi
}

# Expected hops toward a destination rejected at router U with annotation $2.
t_truth_reject() {
	local fam=$1 ann=$2 k
	for k in $(seq 1 "$LAB_UNREACH_AT"); do
		if [ "$fam" = 6 ]; then echo "$k $(lab_hop_addr6 "$k")"; else echo "$k $(lab_hop_addr4 "$k")"; fi
	done
	k=$LAB_UNREACH_AT
	if [ "$fam" = 6 ]; then
		echo "$((k + 1)) $(lab_hop_addr6 "$k") $ann"
	else
		echo "$((k + 1)) $(lab_hop_addr4 "$k") $ann"
	fi
}

# t_main CASES_FUNCTION_PREFIX ARGS..: run the named cases (default: all functions
# named PREFIX*) each in a subshell, print a summary, exit 0/1/77.
t_main() {
	local prefix=$1 c rc failed=0 all
	shift
	lab_require_root
	if [ $# -eq 0 ]; then
		all=$(declare -F | awk '{print $3}' | grep "^$prefix" | sed "s/^$prefix//")
		set -- $all
	fi
	for c in "$@"; do
		if ! declare -F "$prefix$c" >/dev/null; then
			echo "unknown case $c" >&2
			exit 2
		fi
		echo "== $c"
		rc=0
		("$prefix$c"; [ "$T_FAILS" -eq 0 ]) || rc=$?
		if [ "$rc" = 77 ]; then
			echo "   skipped"
			[ $# -eq 1 ] && exit 77
		elif [ "$rc" != 0 ]; then
			failed=$((failed + 1))
		fi
	done
	if [ $failed -ne 0 ]; then
		echo "$failed case(s) failed"
		exit 1
	fi
	echo "all passed"
	exit 0
}
