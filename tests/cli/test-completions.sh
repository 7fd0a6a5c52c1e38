#!/bin/sh
# The shell completions and the man page list every option the parser
# accepts (src/options.c), and the bash completion really completes.
# Usage: tests/cli/test-completions.sh [SOURCE_ROOT]
set -u
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 1
pass=0
fail=0
check() {
	if [ "$1" = 0 ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL: $2"
	fi
}

# Long options from the getopt table: {"name", ...
longs=$(sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)", *\(no\|required\)_argument.*/\1/p' src/options.c)
# Short options from the optstring.
shorts=$(sed -n 's/^#define SHORT_OPTS ":\(.*\)"/\1/p' src/options.c | tr -d ':' | sed 's/./& /g')
[ -n "$longs" ] && [ -n "$shorts" ]
check $? "cannot read the option table from src/options.c"

for o in $longs; do
	grep -q -- "--$o\\b" completions/hoptrace.bash
	check $? "--$o missing from completions/hoptrace.bash"
	grep -q -- "--$o\\b" completions/_hoptrace
	check $? "--$o missing from completions/_hoptrace"
	# --debug-status exists for the privilege tests; users need not see it.
	if [ -f docs/hoptrace.1 ] && [ "$o" != debug-status ]; then
		# groff writes a minus as \-: --max-hops is \-\-max\-hops there.
		man_o=$(printf '%s' "--$o" | sed 's/-/\\-/g')
		grep -qF -- "$man_o" docs/hoptrace.1
		check $? "--$o missing from docs/hoptrace.1"
	fi
done
# README's option table (its rows begin "| `") names every option, by its
# short or its long form.
if [ -f README.md ]; then
	rows=$(grep '^| `' README.md)
	for o in $longs; do
		[ "$o" = debug-status ] && continue
		s=$(sed -n "s/^[[:space:]]*{\"$o\", *[a-z_]*, NULL, '\\(.\\)'}.*/\\1/p" src/options.c)
		if printf '%s\n' "$rows" | grep -qF -- "\`--$o"; then
			check 0 ""
		elif [ -n "$s" ] && printf '%s\n' "$rows" | grep -qF -- "\`-$s"; then
			check 0 ""
		else
			check 1 "--$o${s:+ (-$s)} missing from README.md's option table"
		fi
	done
	for s in $shorts; do
		printf '%s\n' "$rows" | grep -qF -- "\`-$s"
		check $? "-$s missing from README.md's option table"
	done
fi
for o in $shorts; do
	grep -q -- "[ '(]-$o\\b" completions/hoptrace.bash
	check $? "-$o missing from completions/hoptrace.bash"
	grep -q -- "-$o\\b" completions/_hoptrace
	check $? "-$o missing from completions/_hoptrace"
done

# Exercise the bash completion itself when bash-completion is installed.
BC=/usr/share/bash-completion/bash_completion
if command -v bash >/dev/null && [ -f "$BC" ]; then
	# complete WORDS...: print COMPREPLY for completing the last word.
	complete_words() {
		bash -c '. "$1"; . "$2"; shift 2
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_hoptrace hoptrace "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
			[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}"' sh "$BC" completions/hoptrace.bash "$@"
	}
	got=$(complete_words hoptrace --js | sort | tr '\n' ' ')
	[ "$got" = "--json --jsonl " ]
	check $? "bash: 'hoptrace --js' completed to '$got', want '--json --jsonl'"
	got=$(complete_words hoptrace -q "" | tr '\n' ' ')
	[ "$got" = "1 2 3 4 5 6 7 8 9 10 " ]
	check $? "bash: 'hoptrace -q ' completed to '$got'"
	got=$(complete_words hoptrace -i l | tr '\n' ' ')
	[ "$got" = "lo " ]
	check $? "bash: 'hoptrace -i l' completed to '$got', want 'lo'"
	got=$(complete_words hoptrace --max-hops 5 | tr '\n' ' ')
	[ -z "$got" ]
	check $? "bash: a number argument offered '$got'"
fi
echo "completions: $pass checks passed, $fail failed"
[ "$fail" = 0 ]
