#!/bin/sh
# hoptrace-sim must refuse, with exit status 2 and a clear message, any
# scenario address outside 198.18.0.0/15 and 2001:db8::/32.
sim=$1
dir=$2
status=0
for f in "$dir"/*.scn; do
	msg=$("$sim" --scenario "$f" -- true 2>&1)
	rc=$?
	if [ $rc -ne 2 ] || ! printf '%s' "$msg" | grep -q "refused"; then
		echo "FAIL $(basename "$f"): exit $rc, message: $msg"
		status=1
	else
		echo "ok   $(basename "$f"): $msg"
	fi
done
exit $status
