#!/usr/bin/env python3
"""Check a probe rate cap against the simulator's --record file.

usage: check-rate.py RECORD N [--window MS]...

RECORD is hoptrace-sim's --record output (one line per probe received,
"t=<microseconds since start> ..."). N is the cap in probes per second.
For every sliding half-open window [t, t+w) with w = 100 ms and w = 1 s
(or the --window values given), at most ceil(N * w) probes may have
arrived. Prints the worst window of each width; exit status 0 when the cap
held everywhere, 1 on a breach, 2 on bad input.

The times are when the simulator read each probe from the TUN device: a
simulator that stalls reads a backlog at once, which shows as a burst.
"""
import math
import sys


def load_times(path):
    times = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            tok = line.split(None, 1)[0]
            if not tok.startswith("t="):
                raise ValueError(f"{path}:{no}: no t= field")
            times.append(int(tok[2:]))
    times.sort()
    return times


def worst_window(times, w_us):
    """The most probes in any [t, t + w_us): (count, start). Windows that
    start at a probe are enough: any window can slide right to its first
    probe without losing one."""
    best, best_t, j = 0, None, 0
    for i, t in enumerate(times):
        if j < i:
            j = i
        while j < len(times) and times[j] < t + w_us:
            j += 1
        if j - i > best:
            best, best_t = j - i, t
    return best, best_t


def main(argv):
    args, windows = [], []
    i = 1
    while i < len(argv):
        if argv[i] == "--window" and i + 1 < len(argv):
            windows.append(float(argv[i + 1]))
            i += 2
        elif argv[i].startswith("--window="):
            windows.append(float(argv[i].split("=", 1)[1]))
            i += 1
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        rate = float(args[1])
        times = load_times(args[0])
    except (OSError, ValueError) as e:
        print(f"check-rate: {e}", file=sys.stderr)
        return 2
    if not rate > 0:
        print("check-rate: N must be positive", file=sys.stderr)
        return 2
    windows = windows or [100.0, 1000.0]
    ok = True
    print(f"check-rate: {len(times)} probes, cap {rate:g}/s")
    for w_ms in windows:
        limit = math.ceil(rate * w_ms / 1000.0 - 1e-9)
        n, t = worst_window(times, int(round(w_ms * 1000)))
        verdict = "ok" if n <= limit else "BREACH"
        where = f" at t={t / 1e6:.6f} s" if t is not None else ""
        print(f"  window {w_ms:g} ms: worst {n} probes{where}, limit {limit}: {verdict}")
        ok = ok and n <= limit
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
