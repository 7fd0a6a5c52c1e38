#!/bin/sh
# hoptrace developer entry point (POSIX sh: works on a fresh Debian 12).
#   ./build.sh demo    install build deps, build, trace through the simulated internet
#   ./build.sh test    install deps, build every variant, run the whole test suite
#   ./build.sh deps | build | bench | fuzz [SECONDS] | install
set -eu
cd "$(dirname "$0")"

# Debian packages the project needs. Named and explained in README.md.
DEPS="build-essential cmake pkg-config clang
 libc-ares-dev libjansson-dev libcap-dev libcap2-bin libseccomp-dev libcmocka-dev
 libncurses-dev libmaxminddb-dev libnetfilter-queue-dev
 iproute2 iptables procps
 valgrind debhelper dpkg-dev fakeroot bash-completion
 traceroute mtr-tiny iputils-tracepath iputils-ping scamper tcpdump tshark strace util-linux jq"

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: '$1' needs root (namespaces, TUN, raw sockets): run it with sudo" >&2
		exit 1
	fi
}

deps() {
	missing=""
	for p in $DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	need_root deps
	echo "build.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# tshark asks whether non-root users may capture; answer no, non-interactively.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get install -y -q --no-install-recommends $missing >/dev/null
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
deps) deps ;;
build) deps; build build ;;
demo)
	deps
	build build
	need_root demo
	exec build/tests/sim/hoptrace-sim --scenario tests/sim/scenarios/demo-internet.scn -- build/src/hoptrace -e "$@" 198.18.200.1
	;;
test) deps; exec tests/run-all.sh "$@" ;;
bench) deps; build build; bench/run.sh "$@"; exec bench/flood.sh ;;
fuzz) deps; exec tests/fuzz/run.sh "${1:-60}" ;;
install) deps; build build; cmake --install build ;;
*) echo "usage: ./build.sh demo|test|deps|build|bench|fuzz [SECONDS]|install" >&2; exit 2 ;;
esac
