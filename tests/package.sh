#!/bin/sh
# Build the Debian packages from a temporary copy of the tree (nothing is
# left in the checkout), then check what they contain and that it works:
#   - hoptrace: the binary runs (--version), man page and bash/zsh
#     completions are in place; installed for real with dpkg -i when root
#     and CI=true (then the postinst must have set cap_net_raw), and purged;
#   - libhoptrace-dev: a small program builds against it with pkg-config
#     and runs.
# Usage: tests/package.sh   (needs dpkg-dev, debhelper, fakeroot and the
# Build-Depends of debian/control)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
for t in dpkg-buildpackage dh fakeroot dpkg-deb; do
	command -v $t >/dev/null || { echo "package.sh: $t is missing (apt install dpkg-dev debhelper fakeroot)" >&2; exit 1; }
done
TMP=$(mktemp -d)
INSTALLED=""
cleanup() {
	if [ -n "$INSTALLED" ]; then
		dpkg --purge $INSTALLED >/dev/null 2>&1 || echo "package.sh: purge of $INSTALLED failed" >&2
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
pass=0
fail=0
check() {
	if [ "$1" = 0 ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL: $2"
	fi
}

# The source as committed plus the working tree's edits, without build
# directories or logs.
mkdir "$TMP/src"
(cd "$SRC" && tar --exclude='./build' --exclude='./build-*' --exclude='./.git' \
	--exclude='./debian/.debhelper' --exclude='./obj-*' -cf - .) | tar -C "$TMP/src" -xf -
# dpkg-buildpackage wants the directory named like the package.
mv "$TMP/src" "$TMP/hoptrace-0.1.0"
echo "package.sh: building in $TMP/hoptrace-0.1.0"
start=$(date +%s)
(cd "$TMP/hoptrace-0.1.0" && DEB_BUILD_OPTIONS="parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1
rc=$?
if [ $rc != 0 ]; then
	tail -n 60 "$TMP/build.log"
	echo "package.sh: dpkg-buildpackage failed (exit $rc)"
	exit 1
fi
echo "package.sh: dpkg-buildpackage ok in $(($(date +%s) - start))s"
grep -E '^ *[0-9]+% tests passed|tests failed' "$TMP/build.log" | sed 's/^/  /'

ARCH=$(dpkg --print-architecture)
DEB="$TMP/hoptrace_0.1.0_$ARCH.deb"
DEV="$TMP/libhoptrace-dev_0.1.0_$ARCH.deb"
[ -f "$DEB" ]
check $? "no $DEB"
[ -f "$DEV" ]
check $? "no $DEV"
[ "$fail" = 0 ] || { ls "$TMP"; exit 1; }
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/deb.list"
dpkg-deb -c "$DEV" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/dev.list"
echo "package.sh: $(basename "$DEB"): $(wc -c <"$DEB") bytes; $(basename "$DEV"): $(wc -c <"$DEV") bytes"

# Contents.
for f in /usr/bin/hoptrace /usr/share/man/man1/hoptrace.1.gz \
	/usr/share/bash-completion/completions/hoptrace /usr/share/zsh/vendor-completions/_hoptrace \
	/usr/share/doc/hoptrace/copyright /usr/share/doc/hoptrace/changelog.gz; do
	grep -qx "$f" "$TMP/deb.list"
	check $? "hoptrace.deb lacks $f"
done
grep -q '^/usr/include/hoptrace/hoptrace.h$' "$TMP/dev.list"
check $? "libhoptrace-dev.deb lacks hoptrace.h"
grep -q '^/usr/lib/.*/libhoptrace_core\.a$' "$TMP/dev.list"
check $? "libhoptrace-dev.deb lacks libhoptrace_core.a"
grep -q '^/usr/lib/.*/pkgconfig/hoptrace\.pc$' "$TMP/dev.list"
check $? "libhoptrace-dev.deb lacks hoptrace.pc"
# Maintainer scripts and metadata.
dpkg-deb -e "$DEB" "$TMP/control"
grep -q 'setcap cap_net_raw+ep' "$TMP/control/postinst" 2>/dev/null
check $? "postinst does not grant cap_net_raw"
dpkg-deb -f "$DEB" Depends | grep -q 'libc-ares' && dpkg-deb -f "$DEB" Depends | grep -q 'libseccomp'
check $? "Depends lacks c-ares or libseccomp (is the sandbox linked in?): $(dpkg-deb -f "$DEB" Depends)"

# Unpacked: the binary runs, the man page renders, completions parse.
mkdir "$TMP/root"
dpkg -x "$DEB" "$TMP/root"
dpkg -x "$DEV" "$TMP/root"
out=$("$TMP/root/usr/bin/hoptrace" --version 2>&1)
[ "$out" = "hoptrace 0.1.0" ]
check $? "unpacked hoptrace --version said '$out'"
if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$TMP/root/usr/share/man/man1/hoptrace.1.gz" 2>"$TMP/man.err" | grep -q 'hoptrace'
	check $? "man page does not render: $(head -c 200 "$TMP/man.err")"
else
	zcat "$TMP/root/usr/share/man/man1/hoptrace.1.gz" | grep -q '^\.TH HOPTRACE'
	check $? "man page has no .TH HOPTRACE header"
fi
bash -n "$TMP/root/usr/share/bash-completion/completions/hoptrace"
check $? "bash completion does not parse"
head -n 1 "$TMP/root/usr/share/zsh/vendor-completions/_hoptrace" | grep -q '^#compdef hoptrace'
check $? "zsh completion lacks #compdef"

# The -dev package: build and run a program through pkg-config.
cat >"$TMP/use.c" <<'CEOF'
#include <hoptrace/hoptrace.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	struct ht_config c;
	const char *msg = NULL;
	ht_config_defaults(&c);
	if (c.max_ttl != 30 || c.nqueries != 3)
		return 1;
	c.first_ttl = 40;
	c.max_ttl = 5;
	if (ht_config_validate(&c, &msg) != -22 || !msg)
		return 2;
	printf("%s ok\n", HT_VERSION);
	return 0;
}
CEOF
PC_DIR=$(dirname "$(grep '/pkgconfig/hoptrace\.pc$' "$TMP/dev.list" | head -n 1)")
flags=$(PKG_CONFIG_SYSROOT_DIR="$TMP/root" PKG_CONFIG_LIBDIR="$TMP/root$PC_DIR" \
	pkg-config --cflags --libs --static hoptrace 2>&1)
check $? "pkg-config hoptrace failed: $flags"
ver=$(PKG_CONFIG_LIBDIR="$TMP/root$PC_DIR" pkg-config --modversion hoptrace 2>&1)
[ "$ver" = 0.1.0 ]
check $? "pkg-config --modversion said '$ver'"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$TMP/use" "$TMP/use.c" $flags 2>"$TMP/cc.err"
check $? "cannot build against libhoptrace-dev: $(head -c 300 "$TMP/cc.err")"
out=$("$TMP/use" 2>&1)
[ "$out" = "0.1.0 ok" ]
check $? "program linked against libhoptrace_core said '$out'"

# Installed for real (CI, as root): postinst grants the capability.
if [ "$(id -u)" = 0 ] && [ "${CI:-}" = true ]; then
	if dpkg -s hoptrace >/dev/null 2>&1; then
		echo "package.sh: hoptrace is already installed on this system; not touching it"
	else
		INSTALLED="hoptrace libhoptrace-dev"
		DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" "$DEV" >"$TMP/dpkg.log" 2>&1
		check $? "dpkg -i failed: $(tail -n 5 "$TMP/dpkg.log")"
		out=$(/usr/bin/hoptrace --version 2>&1)
		[ "$out" = "hoptrace 0.1.0" ]
		check $? "installed hoptrace --version said '$out'"
		if command -v getcap >/dev/null; then
			getcap /usr/bin/hoptrace | grep -q 'cap_net_raw[=+]ep'
			check $? "postinst did not set cap_net_raw: $(getcap /usr/bin/hoptrace)"
		fi
		dpkg --purge hoptrace libhoptrace-dev >"$TMP/dpkg.log" 2>&1
		check $? "dpkg --purge failed: $(tail -n 5 "$TMP/dpkg.log")"
		INSTALLED=""
		[ ! -e /usr/bin/hoptrace ]
		check $? "/usr/bin/hoptrace is still there after purge"
	fi
else
	echo "package.sh: dpkg -i / --purge skipped (only as root with CI=true)"
fi

echo "package.sh: $pass checks passed, $fail failed"
[ "$fail" = 0 ]
