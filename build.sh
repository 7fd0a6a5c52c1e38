#!/bin/sh
# hoptrace developer entry point (POSIX sh: works on a fresh Debian 12).
#   ./build.sh demo    install build deps, build, trace through the simulated internet
#   ./build.sh test    install build and test deps, build every variant, run the whole test suite
#   ./build.sh deps [STEP] | build | bench | fuzz [SECONDS] | install
# Each command installs only the Debian packages its own step needs.
set -eu
cd "$(dirname "$0")"

# Debian packages, by step; named and explained in README.md. Each step
# installs only what it uses: building needs the libraries the code links
# and the compiler; the simulator behind the demo needs ip (iproute2).
BUILD_DEPS="build-essential cmake pkg-config
 libc-ares-dev libjansson-dev libcap-dev libseccomp-dev libncurses-dev"
DEMO_DEPS="iproute2"
# The suite: a clang build and the fuzz targets, the unit test framework,
# the lab's NFQUEUE delay program, namespaces and firewall rules, the peer
# tools used as oracles, valgrind, the Debian package build.
TEST_DEPS="clang libcmocka-dev libnetfilter-queue-dev
 iproute2 iptables procps util-linux libcap2-bin python3 strace jq tmux
 valgrind debhelper dpkg-dev fakeroot bash-completion
 traceroute mtr-tiny iputils-tracepath iputils-ping scamper tshark"
# The benchmark: the lab, its delay program and the peer tools it races;
# python3 scores batch results, time(1) reads peak memory, tmux runs the live view.
BENCH_DEPS="libnetfilter-queue-dev iproute2 iptables procps util-linux
 traceroute mtr-tiny iputils-tracepath iputils-ping scamper python3 time tmux"
FUZZ_DEPS="clang"
INSTALL_DEPS="libcap2-bin"

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: '$1' needs root (namespaces, TUN, raw sockets): run it with sudo" >&2
		exit 1
	fi
}

# install PACKAGE...: install those not installed yet.
install_pkgs() {
	missing=""
	for p in "$@"; do
		case " $missing " in *" $p "*) continue ;; esac
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	need_root deps
	echo "build.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# tshark asks whether non-root users may capture; answer no, non-interactively.
	case " $missing " in *" tshark "*)
		echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections ;;
	esac
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}

# deps [build|demo|test|bench|fuzz|install|all]: the packages of that step
# (with the build's own); all (the default) is every step's.
deps() {
	# shellcheck disable=SC2086
	case "${1:-all}" in
	build) install_pkgs $BUILD_DEPS ;;
	demo) install_pkgs $BUILD_DEPS $DEMO_DEPS ;;
	test) install_pkgs $BUILD_DEPS $TEST_DEPS ;;
	bench) install_pkgs $BUILD_DEPS $BENCH_DEPS ;;
	fuzz) install_pkgs $BUILD_DEPS $FUZZ_DEPS ;;
	install) install_pkgs $BUILD_DEPS $INSTALL_DEPS ;;
	all) install_pkgs $BUILD_DEPS $DEMO_DEPS $TEST_DEPS $BENCH_DEPS $FUZZ_DEPS $INSTALL_DEPS ;;
	*) echo "usage: ./build.sh deps [build|demo|test|bench|fuzz|install|all]" >&2; exit 2 ;;
	esac
}

# build DIR [cmake args...]
build() {
	dir=$1
	shift
	cmake -S . -B "$dir" -G "Unix Makefiles" "$@" >/dev/null
	cmake --build "$dir" -j "$(nproc)" -- --no-print-directory
}

cmd=${1:-build}
shift 2>/dev/null || true
case "$cmd" in
deps) deps "${1:-all}" ;;
build) deps build; build build ;;
demo)
	deps demo
	build build
	need_root demo
	exec build/tests/sim/hoptrace-sim --scenario tests/sim/scenarios/demo-internet.scn -- build/src/hoptrace -e "$@" 198.18.200.1
	;;
test) deps test; exec tests/run-all.sh "$@" ;;
bench) deps bench; build build; bench/run.sh "$@"; exec bench/flood.sh ;;
fuzz) deps fuzz; exec tests/fuzz/run.sh "${1:-60}" ;;
install) deps install; build build; cmake --install build ;;
*) echo "usage: ./build.sh demo|test|deps|build|bench|fuzz [SECONDS]|install" >&2; exit 2 ;;
esac
