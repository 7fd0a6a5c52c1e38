#!/bin/sh
# Build every libFuzzer target (clang, ASan+UBSan+libFuzzer) in build-fuzz
# and run each for SECONDS, starting from its committed seed corpus.
# Fails when any target crashes, leaks, hits UB or times out; the crashing
# input is kept in build-fuzz/fuzz-out/<target>/ and named in the output.
# Usage: tests/fuzz/run.sh [SECONDS]   (default 10; `make fuzz` passes 60)
set -u
cd "$(dirname "$0")/../.."
SECS=${1:-10}
case "$SECS" in '' | *[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;; esac
BUILD=${HT_FUZZ_BUILD:-build-fuzz}
JOBS=$(nproc)

command -v clang >/dev/null || { echo "run.sh: clang is not installed" >&2; exit 1; }
cmake -S . -B "$BUILD" -G "Unix Makefiles" -DHT_FUZZ=ON -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.configure.log" 2>&1 ||
	{ cat "$BUILD.configure.log"; exit 1; }
rm -f "$BUILD.configure.log"
cmake --build "$BUILD" -j "$JOBS" --target fuzz-all -- --no-print-directory >"$BUILD/fuzz-build.log" 2>&1 ||
	{ tail -40 "$BUILD/fuzz-build.log"; exit 1; }

targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
ok=0
bad=0
failed=""
for t in $targets; do
	bin="$BUILD/tests/fuzz/$t"
	if [ ! -x "$bin" ]; then
		echo "run.sh: $t was not built"
		bad=$((bad + 1))
		failed="$failed $t"
		continue
	fi
	out="$BUILD/fuzz-out/$t"
	# New inputs go to a scratch corpus; the committed seeds stay untouched.
	rm -rf "$out"
	mkdir -p "$out/corpus" "$out/artifacts"
	seeds=tests/fuzz/corpus/$t
	[ -d "$seeds" ] || seeds=""
	# Targets whose seeds live elsewhere in the tree, and their size limit.
	# FUZZ_SEED fixes libFuzzer's mutation sequence (the CI suite sets it, so
	# that a green run stays green; `make fuzz` explores with fresh seeds).
	extra=""
	maxlen=4096
	case $t in
	fuzz_scenario)
		extra="tests/sim/scenarios tests/sim/bad"
		maxlen=16384
		;;
	esac
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$SECS" ${FUZZ_SEED:+-seed=$FUZZ_SEED} -timeout=10 -rss_limit_mb=2048 -max_len=$maxlen \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/" $dict \
		"$out/corpus" $seeds $extra >"$out/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$out/log" | tail -n 1)
	if [ $rc = 0 ]; then
		ok=$((ok + 1))
		printf 'fuzz %-16s ok    %8s runs in %ss, %s, seeds %s\n' "$t" "${runs:-?}" \
			$(($(date +%s) - start)) "${cov:-cov: ?}" "$(ls $seeds $extra 2>/dev/null | grep -vc ':$\|^$')"
	else
		bad=$((bad + 1))
		failed="$failed $t"
		printf 'fuzz %-16s FAILED (exit %s); log %s\n' "$t" "$rc" "$out/log"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out/log" | head -n 8 | sed 's/^/  /'
	fi
done
echo "fuzz: $ok targets clean, $bad failed (${SECS}s each)${failed:+:$failed}"
[ $bad = 0 ]
