# bash completion for hoptrace                                -*- shell-script -*-
# Options as in src/options.c; keep the two in step.

_hoptrace()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	-h | --help | -V | --version)
		return
		;;
	-i | --interface)
		_available_interfaces
		return
		;;
	-s | --source)
		COMPREPLY=($(compgen -W "$(command ip -o addr show 2>/dev/null |
			awk '{ sub("/.*", "", $4); print $4 }')" -- "$cur"))
		return
		;;
	--batch | --resume)
		_filedir
		return
		;;
	--parallel)
		COMPREPLY=($(compgen -W '1 16 64 256 1024' -- "$cur"))
		return
		;;
	--report-format)
		COMPREPLY=($(compgen -W 'text json csv' -- "$cur"))
		return
		;;
	-c | --count | --interval | --flows)
		return
		;;
	-p | --port)
		COMPREPLY=($(compgen -W '33434 53 80 443' -- "$cur"))
		return
		;;
	-q | --queries)
		COMPREPLY=($(compgen -W '1 2 3 4 5 6 7 8 9 10' -- "$cur"))
		return
		;;
	-f | --first | -m | --max-hops | -N | --sim-queries | -w | --wait | -z | --sendwait | \
		-t | --tos | --pps | --gap-limit | --slow | --recheck)
		# A number: nothing sensible to offer.
		return
		;;
	esac
	$split && return

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-4 -6 -U -I -T -F -e -n -h -V -f -m -q -N -w -z -p -s -i -t -c
			--udp --icmp --tcp --classic --first= --max-hops= --queries= --sim-queries=
			--wait= --sendwait= --pps= --gap-limit= --slow= --recheck= --port= --source= --interface= --tos=
			--dont-fragment --extensions --unprivileged --json --jsonl --stats
			--batch= --parallel= --resume= --no-distance --no-stopset --no-predict --live --report --report-wide
			--report-format= --count= --interval= --flows= --hop-ping --no-sandbox --debug-status --help --version' -- "$cur"))
		[[ ${COMPREPLY-} == *= ]] && compopt -o nospace
		return
	fi

	# First non-option word: the host; the one after it: a packet length.
	local i args=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-f | -m | -q | -N | -w | -z | -p | -s | -i | -t | -c) ((i++)) ;;
		--first | --max-hops | --queries | --sim-queries | --wait | --sendwait | --pps | \
			--gap-limit | --slow | --recheck | --port | --source | --interface | --tos | --batch | \
			--parallel | --resume | --report-format | --count | --interval | --flows) ((i++)) ;;
		-*) ;;
		*) ((args++)) ;;
		esac
	done
	# With --batch the targets come from the file: no host to complete.
	[[ " ${words[*]} " == *" --batch"* ]] && return
	((args == 0)) && _known_hosts_real -- "$cur"
} &&
	complete -F _hoptrace hoptrace

# ex: filetype=sh
