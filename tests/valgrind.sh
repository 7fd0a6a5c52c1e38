#!/bin/sh
# Run the unit tests and the hoptrace program under valgrind memcheck:
# zero leaks (every kind) and zero errors, or this fails.
#   - every CTest test labelled `unit` whose command is a compiled binary;
#   - the CLI error tests (tests/cli/test-errors.sh) with hoptrace itself
#     wrapped in valgrind: --help, --version and ~45 bad command lines;
#   - as root, with the simulator built: one real trace through a simulated
#     network (tests/sim/scenarios/oracle-traceroute-linear.scn).
# Usage: tests/valgrind.sh [BUILD_DIR]   (default: build)
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[ -d "$BUILD" ] || { echo "valgrind.sh: no build directory $BUILD" >&2; exit 1; }
BUILD=$(cd "$BUILD" && pwd)
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 1; }
HT="$BUILD/src/hoptrace"
SIM="$BUILD/tests/sim/hoptrace-sim"
LOGS="$BUILD/valgrind"
rm -rf "$LOGS"
mkdir -p "$LOGS"
# --child-silent-after-fork: tests fork helper processes (fake DNS servers)
# whose exit would otherwise carry valgrind's error code into the test.
# tests/valgrind.supp: see the reasons there.
# --vgdb=no: no gdb FIFOs in /tmp, which hoptrace could not remove after
# dropping root (valgrind would log that as a problem).
VG="valgrind --quiet --vgdb=no --child-silent-after-fork=yes --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 --num-callers=30 --suppressions=$PWD/tests/valgrind.supp"
checked=0
bad=0

# verdict NAME EXIT_STATUS LOGFILE...: valgrind's log must be empty.
verdict() {
	name=$1 rc=$2
	shift 2
	checked=$((checked + 1))
	dirty=""
	for l in "$@"; do
		[ -s "$l" ] && dirty="$dirty $l"
	done
	if [ "$rc" = 0 ] && [ -z "$dirty" ]; then
		printf 'valgrind %-32s clean\n' "$name"
	else
		bad=$((bad + 1))
		printf 'valgrind %-32s FAILED (exit %s)\n' "$name" "$rc"
		for l in $dirty; do
			sed -n '1,40p' "$l" | sed 's/^/  /'
		done
	fi
}

# 1. Compiled unit tests, as CTest would run them.
ctest --test-dir "$BUILD" -N -V -L unit 2>/dev/null >"$LOGS/tests.txt"
sed -n 's/^[0-9]*: Test command: //p' "$LOGS/tests.txt" >"$LOGS/commands.txt"
sed -n 's/^[0-9]*: Working Directory: //p' "$LOGS/tests.txt" >"$LOGS/dirs.txt"
n=0
while IFS= read -r cmdline; do
	n=$((n + 1))
	dir=$(sed -n "${n}p" "$LOGS/dirs.txt")
	eval "set -- $cmdline"
	bin=$1
	# Scripts are covered below through the binaries they run.
	[ "$(head -c 4 "$bin" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	name=$(basename "$bin")
	log="$LOGS/$name.log"
	(cd "${dir:-.}" && $VG --log-file="$log" "$@" >"$LOGS/$name.out" 2>&1)
	rc=$?
	[ $rc = 0 ] || tail -n 20 "$LOGS/$name.out" >>"$log"
	verdict "$name" $rc "$log"
done <"$LOGS/commands.txt"

if [ ! -x "$HT" ]; then
	echo "valgrind.sh: $HT was not built"
	bad=$((bad + 1))
else
	# 2. hoptrace on command lines that need no network. The wrapper gives
	# every run its own log so one leak names its command line.
	WRAP="$LOGS/hoptrace-wrapped"
	cat >"$WRAP" <<WRAPEOF
#!/bin/sh
exec $VG --log-file="$LOGS/cli.%p.log" "$HT" "\$@"
WRAPEOF
	chmod +x "$WRAP"
	tests/cli/test-errors.sh "$WRAP" >"$LOGS/cli.out" 2>&1
	rc=$?
	[ $rc = 0 ] || cat "$LOGS/cli.out"
	runs=$(ls "$LOGS"/cli.*.log 2>/dev/null | wc -l)
	verdict "hoptrace: $runs CLI invocations" $rc "$LOGS"/cli.*.log
	checked=$((checked + runs - 1))

	# 3. One real trace through the simulator, privileged then dropped.
	if [ "$(id -u)" != 0 ]; then
		echo "valgrind: simulated trace skipped (needs root)"
		[ "${CI:-}" = true ] && { echo "valgrind: CI=true, so that is a failure"; bad=$((bad + 1)); }
	elif [ ! -x "$SIM" ]; then
		echo "valgrind: simulated trace skipped ($SIM not built)"
		[ "${CI:-}" = true ] && { echo "valgrind: CI=true, so that is a failure"; bad=$((bad + 1)); }
	else
		scn=tests/sim/scenarios/oracle-traceroute-linear.scn
		printf '198.18.200.1\n2001:db8:200::1\n# again\n198.18.200.1\n' >"$LOGS/batch.txt"
		for args in "-n 198.18.200.1" "-n -I -6 2001:db8:200::1" "-n -T --jsonl 198.18.200.1" \
			"-n --batch -"; do
			log="$LOGS/trace.$(echo "$args" | tr -c 'A-Za-z0-9\n' '_').log"
			# No seccomp filter under valgrind (it would also bind
			# valgrind's own system calls): hoptrace sees valgrind and
			# leaves it out by itself, as --no-sandbox is refused to root.
			# The list on standard input: a file in the build tree may be
			# out of reach of the unprivileged reader (a 0700 checkout).
			"$SIM" --scenario "$scn" -- $VG --log-file="$log" "$HT" -w 5 $args \
				<"$LOGS/batch.txt" >"$log.out" 2>&1
			rc=$?
			if [ $rc = 0 ] && ! grep -q '198\.18\.200\.1\|2001:db8:200::1' "$log.out"; then
				echo "valgrind: the trace did not reach the destination:" >>"$log"
				rc=1
			fi
			[ $rc = 0 ] || head -n 20 "$log.out" >>"$log"
			verdict "hoptrace $args (sim)" $rc "$log"
		done
	fi
fi

echo "valgrind: $checked runs checked, $bad failed (logs in $LOGS)"
[ $bad = 0 ]
