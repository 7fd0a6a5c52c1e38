#!/bin/bash
# bench/run.sh: hoptrace against Debian's traceroute, tracepath, mtr and scamper on
# the same real-router lab paths (tests/netns/lab.sh), with per-router delay from
# bench/nfq-delay. Prints, per path and tool: wall time, wall time as a multiple of
# the round trip to the destination, probes sent (counted by iptables in the first
# router), probes that reached the destination with TTL to spare, and hops correct
# against the lab's known truth. A benchmark, not a test: it prints figures and
# exits 0 unless the lab cannot be built.
#
# The nat-tcp path traces with TCP SYNs (-T) through a masquerading router (router 2,
# iptables MASQUERADE with connection tracking, like a home router) to a closed port;
# only the tools with a TCP mode run there (hoptrace -T, traceroute -T, mtr -T,
# scamper -P tcp), tracepath is skipped.
#
# Two comparisons with traceroute alone are made of many paired runs (the two
# tools back to back, in alternating order) and printed as medians and their
# ratio, because single runs vary by more than the difference they look for:
#   startup  hoptrace -n 127.0.0.1 against traceroute -n 127.0.0.1 (loopback:
#            starting, setting up, a trace of one hop, exiting)
#   short    after its table, the 5-hop path (~40 ms round trip) the same way
# A ratio at or below 1.00 means hoptrace took no longer than traceroute.
#
# The monitor (hoptrace -c N --report, --live), figures only:
#   monitor  hoptrace -n -c 10 --report next to mtr --report -n -c 10, the same
#            -i for both (BENCH_MON_INTERVAL, default 0.2 s to keep the bench
#            short: under 1 s needs root, which the bench has; mtr's own default
#            is 1 s), on the linear path and the silent-hop path (9 hops, router 5
#            silent). Per tool: wall time, probes entering r1 in all and past the
#            destination, the probes of a 1-round run (the first round) and per
#            later round ((all - first) / 9), hops against the truth; then
#            hoptrace's own count (--jsonl round_done "probes"), a digest of both
#            reports side by side (per hop: address, loss, avg RTT) and whether
#            the hops are the same. BENCH_VERBOSE=1 prints the reports too.
#   live-cpu hoptrace --live -i 1 -n on a 30-hop path (29 routers) in a detached
#            tmux session (a private server, 120x50), CPU time (utime + stime of
#            /proc/PID/stat) over 30 s after a 3 s warm-up as a share of one core
#            (goal: under 1%) and the probes entering r1 meanwhile; then -c 10 -i 1
#            --jsonl's round_done "probes" (goal after the first round: hops x
#            probes per hop, 30).
#
# The batch engine (hoptrace --batch), each path printing figures with its goal
# next to them, never a verdict:
#   pps      probes per second sustained on one core: bench/sim/pps.scn (every
#            target answers at once, no delay) through the simulator, --pps 0,
#            --parallel 4096 and 64, hoptrace pinned to CPU 0 and the simulator to
#            CPU 1 (taskset, two CPUs or more); probes counted in the simulator's
#            --record, divided by the wall time and by the first-to-last-probe span.
#            Goal: at least 100,000 probes/s.
#   rss      peak RSS (/usr/bin/time -v) of --batch - on 1,000,000 IPv6 targets of
#            bench/sim/rss.scn streamed through a pipe (never a file), default
#            --parallel and --pps; also wall time, probes per target (--record
#            through a FIFO). Goal: under 64 MB.
#   economy  the 10,000 targets of tests/sim/scenarios/batch-10k.scn at --pps 20000
#            --parallel 1024: default, --no-predict, --no-stopset, --no-distance,
#            both of the last two; probes per target, wall time,
#            tests/sim/check-batch.py against the ground truth.
#   scamper  lab.sh's chain (4 routers, the shared upstream) with three branch
#            routers hanging off its last router, each with a host namespace that
#            answers for a /24 (a local route), and the lab's destination answering
#            for another: 1,000 targets, hoptrace -n --jsonl --batch (also with -q 1,
#            and -q 1 --no-predict) against scamper -O json -c trace -f LIST at the same -p rate; probes
#            counted entering r1, hops scored against the known truth
#            (bench/batch-score.py). Goal: the same hops found with at most half of
#            scamper's probes.
# These need the simulator (build/tests/sim/hoptrace-sim; pps, rss, economy),
# python3 (economy, scamper) and /usr/bin/time (pps, rss); live-cpu needs tmux.
#
#   usage: bench/run.sh [PATH..]      PATH: startup short linear silent-hop silent-dest long
#                                     nat-tcp slow-router back-to-back monitor live-cpu pps
#                                     rss economy scamper (default all)
#   env:   HOPTRACE=path/to/hoptrace  (default build/src/hoptrace; "missing" if absent)
#          BENCH_DELAY_MS=5           one-way delay per router
#          BENCH_TIMEOUT=90           seconds before a tool run is killed
#          BENCH_TOOLS="hoptrace traceroute tracepath mtr scamper"
#          BENCH_PAIRS=201            paired runs for startup; short uses a tenth (at least 11)
#          HOPTRACE_SIM=path          the simulator (default next to HOPTRACE's build)
#          BENCH_PPS_TARGETS=50000 BENCH_PPS_PARALLEL="4096 64"   pps
#          BENCH_RSS_TARGETS=1000000                               rss
#          BENCH_ECON_PPS=20000 BENCH_ECON_PARALLEL=1024          economy
#          BENCH_SCAMPER_PER=250 (targets per branch, at most 250) BENCH_SCAMPER_PPS=1000
#          BENCH_SCAMPER_ROUTERS=4                                 scamper
#          BENCH_MON_ROUNDS=10 BENCH_MON_INTERVAL=0.2                monitor
#          BENCH_LIVE_SECONDS=30 BENCH_LIVE_ROUTERS=29               live-cpu
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
. "$TOP/tests/netns/lab.sh"

HOPTRACE=${HOPTRACE:-$TOP/build/src/hoptrace}
DELAY=${BENCH_DELAY_MS:-5}
TMO=${BENCH_TIMEOUT:-90}
TOOLS=${BENCH_TOOLS:-hoptrace traceroute tracepath mtr scamper}
if [ -z "${LAB_NFQ_DELAY:-}" ]; then
	for c in "$TOP/build/bench/nfq-delay" "$TOP/build-lab/bench/nfq-delay"; do
		[ -x "$c" ] && LAB_NFQ_DELAY=$c && break
	done
	export LAB_NFQ_DELAY
fi

if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: needs root (network namespaces, iptables, NFQUEUE): run it with sudo" >&2
	exit 1
fi

# tool_cmd TOOL [tcp]: the command line of TOOL, with TCP SYN probes when $2 is tcp
# (nothing for a tool without a TCP mode). The TCP command lines are shell words
# (quotes and all), split by eval where they run.
tool_cmd() {
	if [ "${2:-}" = tcp ]; then
		case "$1" in
		hoptrace) echo "$(printf %q "$HOPTRACE") -n -T" ;;
		traceroute) echo "traceroute -n -T" ;;
		mtr) echo "mtr --report -n -c 1 -T" ;;
		scamper) echo "scamper -c 'trace -P tcp' -i" ;;
		esac
		return
	fi
	case "$1" in
	hoptrace) echo "$HOPTRACE -n" ;;
	traceroute) echo "traceroute -n" ;;
	tracepath) echo "tracepath -n" ;;
	mtr) echo "mtr --report -n -c 1" ;;
	scamper) echo "scamper -c trace -i" ;;
	esac
}

# score TRUTH PARSED -> "correct/expected[ wrong W]"
score() {
	# Multi-line values go through the environment: awk -v rejects newlines.
	BENCH_TRUTH=$1 BENCH_GOT=$2 awk '
	BEGIN {
		truth = ENVIRON["BENCH_TRUTH"]; got = ENVIRON["BENCH_GOT"]
		n = split(truth, t, "\n")
		for (i = 1; i <= n; i++) { split(t[i], f, " "); want[f[1]] = f[2]; if (f[2] != "*") nexp++ }
		m = split(got, g, "\n")
		for (i = 1; i <= m; i++) {
			if (g[i] == "") continue
			split(g[i], f, " "); have[f[1]] = f[2]
			if (f[2] != "*" && (!(f[1] in want) || want[f[1]] != f[2])) wrong++
		}
		for (k in want) if (want[k] != "*" && have[k] == want[k]) ok++
		printf "%d/%d%s", ok, nexp, wrong ? " WRONG " wrong : ""
	}'
}

declare -A WALL
PAIRS=${BENCH_PAIRS:-201}

# The median of the numbers on stdin.
median() {
	sort -n | awk '{a[NR] = $1} END {if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# paired_runs N ARGS..: N runs each of "hoptrace -n ARGS" and "traceroute -n
# ARGS", back to back, which goes first alternating, output discarded. Each
# run is timed with the shell's own clock: no process is started around it
# (timeout(1) or ip netns exec would be half of a start-up). Prints the two
# medians in microseconds. Run inside the namespace (see paired).
paired_runs() {
	local n=$1
	shift
	local i k s e h=() t=()
	for ((i = 0; i < n; i++)); do
		for k in 0 1; do
			s=${EPOCHREALTIME/./}
			if (((i + k) % 2)); then
				"$HOPTRACE" -n "$@" >/dev/null 2>&1
				e=${EPOCHREALTIME/./}
				h+=($((10#$e - 10#$s)))
			else
				traceroute -n "$@" >/dev/null 2>&1
				e=${EPOCHREALTIME/./}
				t+=($((10#$e - 10#$s)))
			fi
		done
	done
	echo "$(printf '%s\n' "${h[@]}" | median) $(printf '%s\n' "${t[@]}" | median)"
}

# paired NAME N NS ARGS..: paired_runs in network namespace NS (this script
# again, in there), the whole set bounded by BENCH_TIMEOUT. Prints both
# medians, their difference and their ratio.
paired() {
	local name=$1 n=$2 ns=$3
	shift 3
	if [ ! -x "$HOPTRACE" ] || ! command -v traceroute >/dev/null; then
		echo "$name: hoptrace or traceroute missing: no paired runs"
		return 0
	fi
	local m
	m=$(HOPTRACE=$HOPTRACE timeout -k 2 "$TMO" ip netns exec "$ns" \
		bash "$BENCH_DIR/run.sh" --paired-runs "$n" "$@")
	if [ -z "$m" ]; then
		echo "$name: the paired runs failed or took over ${TMO} s"
		return 0
	fi
	awk -v n="$n" -v h="${m% *}" -v t="${m#* }" -v name="$name" 'BEGIN {
		printf "%s, median of %d paired runs: hoptrace %.2f ms, traceroute %.2f ms" \
			" (%+.2f ms), hoptrace / traceroute %.2f (goal: 1.00 or less)\n",
			name, n, h / 1000, t / 1000, (h - t) / 1000, h / (t > 0 ? t : 1)
	}'
}

# In a namespace of our own with only loopback up (the benchmark sends
# nothing outside namespaces it made), named like the lab's so that
# lab_reap_stale removes it if this shell dies without cleaning up.
bench_startup() {
	local ns="ht$$x0startup"
	echo
	echo "== startup: '-n 127.0.0.1' on loopback (start, set up, trace one hop, exit)"
	ip netns add "$ns" || { echo "startup: cannot create a network namespace"; return 0; }
	LAB_NS_ALL+=("$ns")
	ip -n "$ns" link set lo up
	paired startup "$PAIRS" "$ns" 127.0.0.1
	lab_down
}

# bench_path NAME ROUTERS SILENT_HOPS SILENT_DEST [NAT_ROUTER [METHOD [SLOW_HOPS]]]
bench_path() {
	local name=$1 routers=$2 silent=$3 sdest=$4 nat=${5:-} method=${6:-} slow=${7:-}
	LAB_NO_TRAP=1 LAB_ROUTERS=$routers LAB_SILENT_HOPS=$silent LAB_SILENT_DEST=$sdest \
		LAB_DELAY_MS=$DELAY LAB_RATELIMIT=0 LAB_NAT_AT=$nat LAB_SLOW_HOPS=$slow lab_up ||
		{ lab_down; exit 1; }
	local rtt rttsrc="nominal"
	rtt=$LAB_RTT_MS
	if [ "$sdest" != 1 ]; then
		local m
		m=$(lab_prober ping -n -q -c 3 -i 0.2 "$LAB_DEST4" | awk -F/ '/^rtt/ {print $5}')
		[ -n "$m" ] && rtt=$m rttsrc="ping"
	fi
	local truth
	truth=$(lab_truth 4)
	echo
	echo "== $name: $LAB_HOPS hops, ${DELAY} ms per router each way, round trip ${rtt} ms ($rttsrc)" \
		"; silent hop: ${silent:-none}; silent destination: $([ "$sdest" = 1 ] && echo yes || echo no)${nat:+; masquerading router: $nat}${method:+; method: $method}${slow:+; slow router (hop:ms) $slow}"
	printf "%-11s %10s %9s %7s %7s %-12s %s\n" tool wall_ms x_rtt probes past hops_ok note
	local t cmd out s e ms rc cnt note x
	for t in $TOOLS; do
		if [ "$t" = hoptrace ] && [ ! -x "$HOPTRACE" ]; then
			printf "%-11s %10s %9s %7s %7s %-12s %s\n" hoptrace - - - - - "missing ($HOPTRACE)"
			continue
		fi
		cmd=$(tool_cmd "$t" "$method")
		if [ -z "$cmd" ]; then
			printf "%-11s %10s %9s %7s %7s %-12s %s\n" "$t" - - - - - "no $method mode"
			continue
		fi
		lab_count_reset
		s=$(date +%s%N)
		rc=0
		if [ -n "$method" ]; then
			local -a argv
			eval "argv=($cmd)"
			out=$(timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" "${argv[@]}" "$LAB_DEST4" 2>&1) || rc=$?
		else
			out=$(timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" $cmd "$LAB_DEST4" 2>&1) || rc=$?
		fi
		e=$(date +%s%N)
		ms=$(((e - s) / 1000000))
		cnt=$(lab_count)
		note=""
		[ $rc = 124 ] && note="killed after ${TMO} s"
		[ $rc != 0 ] && [ $rc != 124 ] && note="exit $rc"
		x=$(awk -v a="$ms" -v b="$rtt" 'BEGIN {printf "%.2f", a / b}')
		WALL[$name.$t]=$ms
		# Through a NAT, answers lost at the destination matter: how many of
		# the probes on the destination's hop line got one (traceroute-style
		# output only: "HOP  ADDR  RTT ms  *  ...").
		if [ -n "$nat" ]; then
			local da
			da=$(printf '%s\n' "$out" | awk -v h="$LAB_HOPS" '$1 == h && /ms/ {
				n = 0; s = 0
				for (i = 2; i <= NF; i++) { if ($i == "ms") n++; if ($i == "*") s++ }
				print n "/" n + s; exit }')
			[ -n "$da" ] && note+="${note:+; }destination answers $da"
		fi
		printf "%-11s %10d %9s %7s %7s %-12s %s\n" "$t" "$ms" "${x}x" "${cnt% *}" "${cnt#* }" \
			"$(score "$truth" "$(printf '%s\n' "$out" | lab_parse_hops)")" "$note"
		[ -n "${BENCH_VERBOSE:-}" ] && printf '%s\n' "$out" | sed 's/^/    | /'
	done
	if [ -n "${WALL[$name.hoptrace]:-}" ]; then
		local line="hoptrace is faster by:"
		for t in $TOOLS; do
			[ "$t" = hoptrace ] && continue
			[ -n "${WALL[$name.$t]:-}" ] || continue
			line+=$(awk -v p="${WALL[$name.$t]}" -v h="${WALL[$name.hoptrace]}" -v t="$t" \
				'BEGIN {printf " %s %.1fx", t, p / (h > 0 ? h : 1)}')
		done
		echo "$line"
	fi
	if [ "$name" = short ]; then
		local np=$((PAIRS / 10))
		[ "$np" -lt 11 ] && np=11
		paired short "$np" "$LAB_PROBER" "$LAB_DEST4"
	fi
	lab_down
}

# Three runs of each tool in a row from one source address, with Linux's ICMP
# rate limit on (burst 6, then 1/s per source): hops with an address in each
# run, and for hoptrace the stars it names as rate limiting.
bench_back_to_back() {
	LAB_NO_TRAP=1 LAB_ROUTERS=8 LAB_DELAY_MS=$DELAY LAB_RATELIMIT=1 lab_up || { lab_down; exit 1; }
	local truth t cmd run out s e ms i=0 note
	truth=$(lab_truth 4)
	echo
	echo "== back-to-back: $LAB_HOPS hops, ${DELAY} ms per router each way, ICMP rate limit on;" \
		"three runs in a row per tool, one source address each"
	printf "%-11s %-28s %-28s %-28s\n" tool run1 run2 run3
	for t in $TOOLS; do
		[ "$t" = hoptrace ] && [ ! -x "$HOPTRACE" ] && continue
		i=$((i + 1))
		cmd=$(tool_cmd "$t")
		local row=""
		for run in 1 2 3; do
			s=$(date +%s%N)
			out=$(timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" $cmd $(src_opt "$t" "$(lab_src4 $i)") \
				"$LAB_DEST4" 2>&1)
			e=$(date +%s%N)
			ms=$(((e - s) / 1000000))
			note=$(printf '%s\n' "$out" | awk '/^note: [0-9]+ of the/ { print " named " $2 }')
			row+=$(printf "%-28s " "$(score "$truth" "$(printf '%s\n' "$out" | lab_parse_hops)") ${ms}ms$note")
		done
		printf "%-11s %s\n" "$t" "$row"
	done
	lab_down
}

# The source address option of each tool (scamper: none, one address per lab).
src_opt() {
	case "$1" in
	hoptrace | traceroute) echo "-s $2" ;;
	mtr) echo "-a $2" ;;
	*) ;;
	esac
}

# ---- The monitor (hoptrace -c N --report, --live) -------------------------

MON_ROUNDS=${BENCH_MON_ROUNDS:-10}
MON_INTERVAL=${BENCH_MON_INTERVAL:-0.2}

# mon_digest TOOL < REPORT: one line per hop, "HOP ADDR LOSS AVG", from the
# text report of hoptrace (Loss% Snt Rcv Last Avg ..) or mtr (Loss% Snt Last
# Avg ..); "???" for a hop with no address; further addresses of a hop
# (continuation rows) joined to the first with commas.
mon_digest() {
	awk -v tool="$1" '
	function isip(t) { return t ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ || (t ~ /:/ && t ~ /^[0-9a-fA-F:.]+$/) }
	/^ *[0-9]+\.\|--/ {
		h = $1; sub(/\..*/, "", h); h += 0
		order[++n] = h; addr[h] = $2; loss[h] = $3; sub(/%$/, "", loss[h])
		avg[h] = tool == "mtr" ? $6 : $7
		next
	}
	/^ +\|/ && n {
		for (i = 2; i <= NF; i++) { t = $i; gsub(/[`|-]/, "", t); if (isip(t)) { addr[order[n]] = addr[order[n]] "," t; break } }
	}
	END { for (i = 1; i <= n; i++) { h = order[i]; printf "%d %s %s %s\n", h, addr[h], loss[h], avg[h] } }'
}

# mon_run TOOL ROUNDS -> prints the report on stdout; the probes entering r1
# and those past the destination land in MON_CNT, the wall time in MON_MS.
mon_run() {
	local t=$1 c=$2 s
	lab_count_reset
	s=$(date +%s%N)
	if [ "$t" = hoptrace ]; then
		timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" "$HOPTRACE" -n -c "$c" -i "$MON_INTERVAL" --report \
			"$LAB_DEST4" >"$BENCH_TMP/mon.out" 2>&1
	else
		timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" mtr --report -n -c "$c" -i "$MON_INTERVAL" \
			"$LAB_DEST4" >"$BENCH_TMP/mon.out" 2>&1
	fi
	MON_MS=$(ms_since "$s")
	MON_CNT=$(lab_count)
}

# monitor NAME ROUTERS SILENT_HOPS: hoptrace -c N --report next to mtr
# --report -c N on one lab path, the same -i for both. Per tool: the report
# (with BENCH_VERBOSE) and a digest side by side; the probes entering r1 in
# all, in a 1-round run (the first round), and per later round
# ((all - first) / (N - 1)); hoptrace's own count per round (--jsonl
# round_done "probes") from a third run.
bench_monitor() {
	local name=$1 routers=$2 silent=$3 t
	bench_tmp
	LAB_NO_TRAP=1 LAB_ROUTERS=$routers LAB_SILENT_HOPS=$silent LAB_SILENT_DEST=0 \
		LAB_DELAY_MS=$DELAY LAB_RATELIMIT=0 lab_up || { lab_down; exit 1; }
	echo
	echo "== monitor-$name: $LAB_HOPS hops, ${DELAY} ms per router each way, silent hop: ${silent:-none};" \
		"-c $MON_ROUNDS -i $MON_INTERVAL for both tools (mtr's default -i is 1 s; under 1 s needs root)"
	local truth dig_h="" dig_m="" hops_h="" hops_m=""
	truth=$(lab_truth 4)
	printf "%-9s %9s %7s %7s %9s %11s %-10s %s\n" tool wall_ms probes past round1 later/round hops_ok note
	for t in hoptrace mtr; do
		if { [ $t = hoptrace ] && [ ! -x "$HOPTRACE" ]; } || { [ $t = mtr ] && ! command -v mtr >/dev/null; }; then
			printf "%-9s missing\n" "$t"
			continue
		fi
		local first all ms past hops note=""
		mon_run "$t" 1
		first=${MON_CNT% *}
		mon_run "$t" "$MON_ROUNDS"
		all=${MON_CNT% *} past=${MON_CNT#* } ms=$MON_MS
		[ -s "$BENCH_TMP/mon.out" ] || note="no output"
		grep -q '|--' "$BENCH_TMP/mon.out" || note="no report: $(head -c 200 "$BENCH_TMP/mon.out" | tr '\n' ' ')"
		hops=$(lab_parse_hops <"$BENCH_TMP/mon.out")
		if [ $t = hoptrace ]; then
			dig_h=$(mon_digest hoptrace <"$BENCH_TMP/mon.out") hops_h=$hops
		else
			dig_m=$(mon_digest mtr <"$BENCH_TMP/mon.out") hops_m=$hops
		fi
		awk -v t="$t" -v ms="$ms" -v all="$all" -v past="$past" -v first="$first" -v c="$MON_ROUNDS" \
			-v ok="$(score "$truth" "$hops")" -v note="$note" 'BEGIN {
			printf "%-9s %9d %7d %7d %9d %11.1f %-10s %s\n", t, ms, all, past, first,
				(c > 1 ? (all - first) / (c - 1) : 0), ok, note
		}'
		[ -n "${BENCH_VERBOSE:-}" ] && sed 's/^/    | /' "$BENCH_TMP/mon.out"
	done
	echo "probes: entering r1 in the ${MON_ROUNDS}-round run; past: of those, reaching the destination" \
		"with TTL to spare; round1: a 1-round run's; later/round: (probes - round1) / $((MON_ROUNDS - 1))"
	if [ -x "$HOPTRACE" ]; then
		local rd
		lab_count_reset
		rd=$(timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" "$HOPTRACE" -n -c "$MON_ROUNDS" \
			-i "$MON_INTERVAL" --jsonl "$LAB_DEST4" 2>/dev/null |
			sed -n 's/.*"type":"round_done","probes":\([0-9]*\).*/\1/p' | tr '\n' ' ')
		echo "hoptrace --jsonl round_done probes: ${rd:-none} (sum $(echo "$rd" |
			awk '{s = 0; for (i = 1; i <= NF; i++) s += $i; print s}'); entering r1: $(lab_count | cut -d' ' -f1))"
	fi
	# The digest, side by side.
	printf "%-4s %-16s %7s %8s   %-16s %7s %8s\n" hop "hoptrace addr" loss% avg_ms "mtr addr" loss% avg_ms
	join -a1 -a2 -e - -o 0,1.2,1.3,1.4,2.2,2.3,2.4 <(printf '%s\n' "$dig_h" | sort -k1,1) \
		<(printf '%s\n' "$dig_m" | sort -k1,1) | sort -n |
		awk '{printf "%-4s %-16s %7s %8s   %-16s %7s %8s\n", $1, $2, $3, $4, $5, $6, $7}'
	if [ -n "$hops_h" ] && [ "$hops_h" = "$hops_m" ]; then
		echo "hops: the same in both reports"
	else
		echo "hops: NOT the same:"
		diff <(printf '%s\n' "$hops_h") <(printf '%s\n' "$hops_m") | sed -n 's/^</    hoptrace:/p; s/^>/    mtr:     /p'
	fi
	lab_down
}

BENCH_TMUX=""

# cpu_ticks PID: utime + stime of PID in clock ticks (/proc/PID/stat fields 14
# and 15, counted after the command name, which may hold spaces).
cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo $((${12} + ${13}))
}

# live-cpu: CPU time of hoptrace --live -i 1 on the lab's longest common
# path (29 routers, 30 hops), drawn in a detached tmux session (a private
# server, 120x50 so that every row is on the screen), read from /proc at
# the start and end of BENCH_LIVE_SECONDS after a warm-up; then the probes
# per round after the first, from -c 10 --jsonl -i 1's round_done lines and
# the counter of r1.
bench_live_cpu() {
	local secs=${BENCH_LIVE_SECONDS:-30} warm=3 routers=${BENCH_LIVE_ROUTERS:-29}
	if [ ! -x "$HOPTRACE" ] || ! command -v tmux >/dev/null; then
		echo "live-cpu: hoptrace or tmux missing: skipped"
		return 0
	fi
	bench_tmp
	LAB_NO_TRAP=1 LAB_ROUTERS=$routers LAB_DELAY_MS=$DELAY LAB_RATELIMIT=0 lab_up || { lab_down; exit 1; }
	local tck pid t0 t1 c0 c1 w0 w1 cnt
	tck=$(getconf CLK_TCK)
	echo
	echo "== live-cpu: hoptrace --live -i 1 -n on $LAB_HOPS hops (${DELAY} ms per router each way)" \
		"in a detached tmux 120x50, ${secs} s after a ${warm} s warm-up"
	BENCH_TMUX="$BENCH_TMP/tmux.sock"
	tmux -S "$BENCH_TMUX" -f /dev/null new-session -d -x 120 -y 50 -s live \
		"exec ip netns exec $LAB_PROBER $(printf %q "$HOPTRACE") --live -i 1 -n $LAB_DEST4" || {
		echo "live-cpu: tmux failed"
		BENCH_TMUX=""
		lab_down
		return 0
	}
	pid=$(tmux -S "$BENCH_TMUX" display-message -p -t live '#{pane_pid}')
	sleep "$warm"
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != hoptrace ]; then
		echo "live-cpu: hoptrace is not running in the session (pid $pid); its screen:"
		tmux -S "$BENCH_TMUX" capture-pane -p -t live 2>/dev/null | sed 's/^/    | /'
	else
		lab_count_reset
		c0=$(cpu_ticks "$pid") w0=$(date +%s%N)
		sleep "$secs"
		c1=$(cpu_ticks "$pid") w1=$(date +%s%N)
		cnt=$(lab_count)
		[ -n "${BENCH_VERBOSE:-}" ] && tmux -S "$BENCH_TMUX" capture-pane -p -t live | sed 's/^/    | /'
		awk -v c="$((c1 - c0))" -v tck="$tck" -v w="$((w1 - w0))" -v p="${cnt% *}" -v past="${cnt#* }" 'BEGIN {
			s = w / 1e9
			printf "cpu: %.2f s user+sys in %.1f s = %.2f%% of one core (goal: under 1%%; %d ticks of 1/%d s)\n",
				c / tck, s, 100 * c / tck / s, c, tck
			printf "probes entering r1 meanwhile: %d (%.1f per second), %d past the destination\n", p, p / s, past
		}'
	fi
	tmux -S "$BENCH_TMUX" kill-server 2>/dev/null
	BENCH_TMUX=""
	local rd
	lab_count_reset
	rd=$(timeout -k 2 "$TMO" ip netns exec "$LAB_PROBER" "$HOPTRACE" -n -c 10 -i 1 --jsonl "$LAB_DEST4" 2>/dev/null |
		sed -n 's/.*"type":"round_done","probes":\([0-9]*\).*/\1/p' | tr '\n' ' ')
	cnt=$(lab_count)
	echo "-c 10 -i 1 --jsonl round_done probes: ${rd:-none}(goal after the first: $LAB_HOPS hops x 1 probe" \
		"= $LAB_HOPS); entering r1: ${cnt% *}, past the destination: ${cnt#* }"
	lab_down
}

# ---- The batch engine (hoptrace --batch) ----------------------------------

SIM=${HOPTRACE_SIM:-$(dirname "$HOPTRACE")/../tests/sim/hoptrace-sim}
BENCH_TMP=""

# A scratch directory for the engine benchmarks, removed on exit.
bench_tmp() {
	[ -n "$BENCH_TMP" ] || BENCH_TMP=$(mktemp -d /tmp/hoptrace-bench.XXXXXX)
	chmod 755 "$BENCH_TMP"
}

# The engine benchmarks need the simulator and hoptrace.
need_sim() {
	if [ ! -x "$HOPTRACE" ] || [ ! -x "$SIM" ]; then
		echo "$1: hoptrace or hoptrace-sim missing ($HOPTRACE, $SIM): skipped"
		return 1
	fi
	if [ ! -x /usr/bin/time ] || ! command -v python3 >/dev/null; then
		echo "$1: needs /usr/bin/time (Debian: time) and python3: skipped"
		return 1
	fi
	bench_tmp
}

# Pinning: hoptrace on CPU 0, the simulator (and the pipes' readers) on CPU
# 1, when taskset exists and there are two CPUs; otherwise nothing.
PIN_HT=() PIN_SIM=()
if command -v taskset >/dev/null && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
	PIN_HT=(taskset -c 0) PIN_SIM=(taskset -c 1)
fi

# ms_since START_NS
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# pps: probes per second hoptrace's engine sustains with nothing to wait
# for (bench/sim/pps.scn: every target answers at once), --pps 0, on one core.
bench_pps() {
	need_sim pps || return 0
	local scn=$BENCH_DIR/sim/pps.scn n=${BENCH_PPS_TARGETS:-50000} par s ms probes span cpu done
	"$SIM" --scenario "$scn" --targets --family 4 | head -n "$n" >"$BENCH_TMP/pps.list"
	n=$(wc -l <"$BENCH_TMP/pps.list")
	echo
	echo "== pps: $n reachable targets (bench/sim/pps.scn, 5 hops, no delay), --pps 0," \
		"hoptrace ${PIN_HT[*]:-not pinned}, simulator ${PIN_SIM[*]:-not pinned}"
	printf "%-14s %9s %7s %8s %10s %10s %14s %8s %s\n" parallel probes per_tgt wall_ms \
		"probes/s" "probes/s*" "cpu_user+sys" max_rss traces
	for par in ${BENCH_PPS_PARALLEL:-4096 64}; do
		s=$(date +%s%N)
		done=$(timeout -k 2 "$TMO" "${PIN_SIM[@]}" "$SIM" --scenario "$scn" --record "$BENCH_TMP/pps.rec" -- \
			"${PIN_HT[@]}" /usr/bin/time -f "%U %S %M" -o "$BENCH_TMP/pps.time" \
			"$HOPTRACE" -n --jsonl --pps 0 --parallel "$par" --batch - <"$BENCH_TMP/pps.list" |
			"${PIN_SIM[@]}" grep -c '"type":"trace_done"')
		ms=$(ms_since "$s")
		probes=$(wc -l <"$BENCH_TMP/pps.rec")
		# From the first probe to the last, as the simulator read them.
		span=$(awk -F'[= ]' 'NR == 1 {a = $2} {b = $2} END {print (b - a) / 1000}' "$BENCH_TMP/pps.rec")
		cpu=$(awk '{printf "%.2f+%.2f s %.1f MB", $1, $2, $3 / 1024}' "$BENCH_TMP/pps.time" 2>/dev/null)
		awk -v par="$par" -v p="$probes" -v n="$n" -v ms="$ms" -v span="$span" -v cpu="$cpu" \
			-v d="${done:-0}" 'BEGIN {
			split(cpu, c, " ")
			printf "%-14s %9d %7.2f %8d %10d %10d %14s %8s %d/%d\n", "--parallel " par, p,
				p / n, ms, p * 1000 / (ms > 0 ? ms : 1), p * 1000 / (span > 0 ? span : 1),
				c[1] " " c[2], c[3] " " c[4], d, n
		}'
	done
	echo "probes/s: probes / wall time (start to exit); probes/s*: over the first to the last probe"
	echo "goal: at least 100000 probes/s"
	rm -f "$BENCH_TMP/pps.rec"
}

# rss: peak memory of hoptrace --batch on a list of a million targets
# (bench/sim/rss.scn, IPv6) streamed from a pipe, never written to a file.
bench_rss() {
	need_sim rss || return 0
	local scn=$BENCH_DIR/sim/rss.scn n=${BENCH_RSS_TARGETS:-1000000} s ms probes out rss
	rm -f "$BENCH_TMP/rss.fifo"
	mkfifo "$BENCH_TMP/rss.fifo"
	"${PIN_SIM[@]}" awk 'END {print NR}' "$BENCH_TMP/rss.fifo" >"$BENCH_TMP/rss.probes" &
	local counter=$!
	echo
	echo "== rss: $n IPv6 targets (bench/sim/rss.scn, 5 hops, no delay) streamed from a pipe" \
		"to --batch -, default --parallel and --pps"
	s=$(date +%s%N)
	out=$("$SIM" --scenario "$scn" --targets --family 6 | head -n "$n" |
		timeout -k 2 $((TMO * 20)) "${PIN_SIM[@]}" "$SIM" --scenario "$scn" --record "$BENCH_TMP/rss.fifo" -- \
			"${PIN_HT[@]}" /usr/bin/time -v -o "$BENCH_TMP/rss.time" \
			"$HOPTRACE" -n --jsonl --batch - |
		"${PIN_SIM[@]}" awk '/"type":"trace_done"/ {n++; if (/"reason":"reached"/) r++}
			END {print n + 0, r + 0}')
	ms=$(ms_since "$s")
	# A simulator that failed before opening the record leaves the reader
	# waiting for a writer: give it one.
	kill -0 "$counter" 2>/dev/null && timeout 2 sh -c ': >"$1"' sh "$BENCH_TMP/rss.fifo"
	wait "$counter"
	probes=$(cat "$BENCH_TMP/rss.probes")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_TMP/rss.time" 2>/dev/null)
	printf "%-10s %-10s %-10s %-9s %-8s %-11s %s\n" targets traces reached probes per_tgt wall_s max_rss
	awk -v n="$n" -v o="$out" -v p="${probes:-0}" -v ms="$ms" -v rss="${rss:-0}" 'BEGIN {
		split(o, f, " ")
		printf "%-10d %-10d %-10d %-9d %-8.2f %-11.1f %.1f MB (goal: under 64 MB)\n",
			n, f[1], f[2], p, p / n, ms / 1000, rss / 1024
	}'
}

# economy: batch-10k.scn's 10,000 targets at one --pps, with and without
# the distance and the stop set; probes per target, time, and the results
# against the simulator's ground truth.
bench_economy() {
	need_sim economy || return 0
	local scn=$TOP/tests/sim/scenarios/batch-10k.scn pps=${BENCH_ECON_PPS:-20000}
	local par=${BENCH_ECON_PARALLEL:-1024} run opts s ms probes n chk
	"$SIM" --scenario "$scn" --targets --family 4 >"$BENCH_TMP/econ.list"
	"$SIM" --scenario "$scn" --truth --family 4 >"$BENCH_TMP/econ.truth"
	n=$(wc -l <"$BENCH_TMP/econ.list")
	echo
	echo "== economy: $n targets of batch-10k.scn, --pps $pps --parallel $par"
	echo "runs: default; no-predict: --no-predict; no-stopset: --no-stopset; no-distance:" \
		"--no-distance; both-off: --no-stopset --no-distance"
	printf "%-12s %9s %8s %9s %s\n" run probes per_tgt wall_s "against the truth (check-batch.py)"
	for run in default no-predict no-stopset no-distance both-off; do
		case $run in
		default) opts="" ;;
		no-predict) opts="--no-predict" ;;
		no-stopset) opts="--no-stopset" ;;
		no-distance) opts="--no-distance" ;;
		both-off) opts="--no-stopset --no-distance" ;;
		esac
		s=$(date +%s%N)
		timeout -k 2 $((TMO * 10)) "${PIN_SIM[@]}" "$SIM" --scenario "$scn" --record "$BENCH_TMP/econ.rec" -- \
			"${PIN_HT[@]}" "$HOPTRACE" -n --jsonl --pps "$pps" --parallel "$par" $opts --batch - \
			<"$BENCH_TMP/econ.list" >"$BENCH_TMP/econ.res"
		ms=$(ms_since "$s")
		probes=$(wc -l <"$BENCH_TMP/econ.rec")
		chk=$(command -v python3 >/dev/null &&
			python3 "$TOP/tests/sim/check-batch.py" "$BENCH_TMP/econ.truth" "$BENCH_TMP/econ.res" \
				--list "$BENCH_TMP/econ.list" --max-shown 0 2>&1 | tail -1 |
			sed -n 's/.*: \([0-9]* match, [0-9]* mismatch, [0-9]* missing\).*/\1/p')
		awk -v r="$run" -v p="$probes" -v n="$n" -v ms="$ms" -v c="${chk:-not checked}" 'BEGIN {
			printf "%-12s %9d %8.2f %9.1f %s\n", r, p, p / n, ms / 1000, c
		}'
	done
	rm -f "$BENCH_TMP/econ.rec" "$BENCH_TMP/econ.res"
}

# scamper: many targets behind the lab's chain. The chain's routers r1..rN
# are a shared upstream; three branches hang off rN (router bK, then a host
# namespace tK answering for 198.19.K.0/24 with a local route, so every
# address of it is a target), and the lab's destination answers for
# 198.19.0.0/24 itself. hoptrace --batch and scamper trace the same list
# at the same rate; probes are counted entering r1.
bench_scamper() {
	if ! command -v python3 >/dev/null; then
		echo "scamper: needs python3 to score the results: skipped"
		return 0
	fi
	bench_tmp
	local per=${BENCH_SCAMPER_PER:-250} rate=${BENCH_SCAMPER_PPS:-1000} N=${BENCH_SCAMPER_ROUTERS:-4}
	[ "$per" -gt 250 ] && per=250
	LAB_NO_TRAP=1 LAB_ROUTERS=$N LAB_DELAY_MS=$DELAY LAB_RATELIMIT=0 lab_up || { lab_down; exit 1; }
	local k j b t rn ns
	rn=$(lab_ns "$N")
	for k in 1 2 3; do
		b="${LAB_ID}b$k" t="${LAB_ID}t$k"
		for ns in "$b" "$t"; do
			ip netns add "$ns" || { echo "scamper: cannot create a namespace"; lab_down; return 0; }
			LAB_NS_ALL+=("$ns")
			ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=$([ "$ns" = "$b" ] && echo 1 || echo 0) \
				net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
				net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000 \
				net.ipv4.icmp_msgs_burst=100000 >/dev/null
		done
		ip -n "$rn" link add "b$k" type veth peer name left netns "$b" &&
			ip -n "$b" link add right type veth peer name left netns "$t" || {
			echo "scamper: cannot create the branch links"
			lab_down
			return 0
		}
		printf '%s\n' "addr add 198.18.$((100 + k)).2/24 dev b$k" "link set b$k up" \
			"route add 198.19.$k.0/24 via 198.18.$((100 + k)).1" | lab_ipb "$rn"
		printf '%s\n' "link set lo up" "addr add 198.18.$((100 + k)).1/24 dev left" "link set left up" \
			"addr add 198.18.$((110 + k)).2/24 dev right" "link set right up" \
			"route add 198.18.0.0/15 via 198.18.$((100 + k)).2" \
			"route add 198.19.$k.0/24 via 198.18.$((110 + k)).1" | lab_ipb "$b"
		printf '%s\n' "link set lo up" "addr add 198.18.$((110 + k)).1/24 dev left" "link set left up" \
			"route add 198.18.0.0/15 via 198.18.$((110 + k)).2" \
			"route add local 198.19.$k.0/24 dev lo" | lab_ipb "$t"
	done
	for ((k = 1; k < N; k++)); do
		ip -n "$(lab_ns "$k")" route add 198.19.0.0/16 via "198.18.$((k + 1)).1"
	done
	ip -n "$rn" route add 198.19.0.0/24 via "198.18.$((N + 1)).1"
	ip -n "$LAB_DEST_NS" route add local 198.19.0.0/24 dev lo
	# The list, in an order that mixes the branches, and its truth.
	: >"$BENCH_TMP/lab.list"
	: >"$BENCH_TMP/lab.truth"
	local up="" tgt
	for ((k = 1; k <= N; k++)); do up+="{\"ttl\":$k,\"addr\":\"$(lab_hop_addr4 "$k")\"},"; done
	for ((j = 1; j <= per; j++)); do
		for k in 0 1 2 3; do
			tgt=198.19.$k.$j
			echo "$tgt" >>"$BENCH_TMP/lab.list"
			if [ $k = 0 ]; then
				echo "{\"target\":\"$tgt\",\"hops\":[$up{\"ttl\":$((N + 1)),\"addr\":\"$tgt\"}],\"reached\":true,\"end\":\"reached\"}"
			else
				echo "{\"target\":\"$tgt\",\"hops\":[$up{\"ttl\":$((N + 1)),\"addr\":\"198.18.$((100 + k)).1\"},{\"ttl\":$((N + 2)),\"addr\":\"$tgt\"}],\"reached\":true,\"end\":\"reached\"}"
			fi >>"$BENCH_TMP/lab.truth"
		done
	done
	# Every branch answers before anything is measured.
	for k in 0 1 2 3; do
		lab_prober ping -n -q -c 1 -W 5 "198.19.$k.1" >/dev/null ||
			echo "scamper: 198.19.$k.1 does not answer ping"
	done
	local n=$((per * 4)) s ms cnt sc rc out
	echo
	echo "== scamper: $n targets behind $N shared routers (${DELAY} ms each way), then the lab's" \
		"destination (198.19.0.0/24, hop $((N + 1))) or one of three branch routers (198.19.1-3.0/24," \
		"hop $((N + 2))); both tools at $rate probes/s"
	printf "%-26s %8s %8s %9s %s\n" tool probes per_tgt wall_s "against the truth"
	for t in hoptrace "hoptrace -q 1" "hoptrace -q 1 --no-predict" scamper; do
		if [ "$t" != scamper ] && [ ! -x "$HOPTRACE" ]; then
			echo "$t: missing ($HOPTRACE)"
			continue
		fi
		if [ "$t" = scamper ] && ! command -v scamper >/dev/null; then
			echo "scamper    missing"
			continue
		fi
		lab_count_reset
		s=$(date +%s%N)
		rc=0
		out=$BENCH_TMP/lab.${t// /}
		if [ "$t" != scamper ]; then
			timeout -k 2 $((TMO * 4)) ip netns exec "$LAB_PROBER" "$HOPTRACE" ${t#hoptrace} -n --jsonl \
				--pps "$rate" --batch - <"$BENCH_TMP/lab.list" >"$out" 2>"$out.err" || rc=$?
		else
			timeout -k 2 $((TMO * 4)) ip netns exec "$LAB_PROBER" scamper -O json -c trace -p "$rate" \
				-f "$BENCH_TMP/lab.list" >"$out" 2>"$out.err" || rc=$?
		fi
		ms=$(ms_since "$s")
		cnt=$(lab_count)
		cnt=${cnt% *}
		sc=$(python3 "$BENCH_DIR/batch-score.py" "$BENCH_TMP/lab.truth" "$out" \
			--list "$BENCH_TMP/lab.list" $([ "$t" = scamper ] && echo --scamper) 2>&1 | tail -1)
		[ $rc != 0 ] && sc+="; exit $rc"
		awk -v t="$t" -v p="$cnt" -v n="$n" -v ms="$ms" -v sc="$sc" 'BEGIN {
			printf "%-26s %8d %8.2f %9.1f %s\n", t, p, p / n, ms / 1000, sc
		}'
		[ -n "${BENCH_VERBOSE:-}" ] && head -c 2000 "$out.err"
	done
	echo "goal: the same hops found as scamper with at most half its probes (hops found:" \
		"answering truth hops seen with the right address; skipped: left out by the stop set)"
	lab_down
}

# Inside a namespace, for paired (above).
if [ "${1:-}" = --paired-runs ]; then
	shift
	paired_runs "$@"
	exit 0
fi

trap '[ -n "$BENCH_TMUX" ] && tmux -S "$BENCH_TMUX" kill-server 2>/dev/null
	lab_down; [ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "hoptrace benchmark on real Linux routers (network namespaces, NFQUEUE delay)"
echo "hoptrace: $HOPTRACE$([ -x "$HOPTRACE" ] || echo ' (missing)')"
echo "columns: wall_ms wall time; x_rtt wall / round trip to the destination; probes: packets"
echo "  entering the first router; past: probes reaching the destination with TTL > 1;"
echo "  hops_ok: hops with the right address / hops that answer (WRONG n: wrong addresses)"

PATHS=${*:-startup short linear silent-hop silent-dest long nat-tcp slow-router back-to-back monitor live-cpu pps rss economy scamper}
for p in $PATHS; do
	case "$p" in
	startup) bench_startup ;;
	short) bench_path short 4 "" 0 ;;
	linear) bench_path linear 8 "" 0 ;;
	silent-hop) bench_path silent-hop 8 5 0 ;;
	silent-dest) bench_path silent-dest 8 "" 1 ;;
	long) bench_path long 29 "" 0 ;;
	nat-tcp) bench_path nat-tcp 8 "" 0 2 tcp ;;
	slow-router) bench_path slow-router 8 "" 0 "" "" "4:150" ;;
	back-to-back) bench_back_to_back ;;
	monitor) bench_monitor linear 8 ""; bench_monitor silent-hop 8 5 ;;
	live-cpu) bench_live_cpu ;;
	pps) bench_pps ;;
	rss) bench_rss ;;
	economy) bench_economy ;;
	scamper) bench_scamper ;;
	*) echo "unknown path $p (startup short linear silent-hop silent-dest long nat-tcp slow-router back-to-back monitor live-cpu pps rss economy scamper)" >&2; exit 2 ;;
	esac
done

# The simulator must never be the bottleneck of a benchmark that uses it:
# its own figures, engine alone and through the TUN device.
if [ -x "$SIM" ]; then
	echo
	echo "== hoptrace-sim throughput (target: 200k simulated probes/s on one core)"
	"$SIM" --scenario "$TOP/tests/sim/scenarios/demo-internet.scn" --selftest-throughput 2>&1 | tail -1
	"$SIM" --scenario "$TOP/tests/sim/scenarios/demo-internet.scn" --selftest-tun 2>&1 | tail -1
fi
