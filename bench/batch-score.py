#!/usr/bin/env python3
"""batch-score.py: score a batch of traces against a ground truth, for
bench/run.sh (a benchmark helper, not a test).

  batch-score.py TRUTH.jsonl RESULTS [--scamper] [--list FILE]

TRUTH: the simulator's --truth format (one JSON line per target).
RESULTS: hoptrace's --jsonl (or anything tests/sim/check-batch.py reads),
or with --scamper scamper's JSON output (-O json, or sc_warts2json).
Prints one line: "targets T, correct C, hops found F/E, skipped S,
distinct (ttl, address) found D/W" where
correct counts targets that check-batch.py's rules accept, E the truth's
answering hops, F those seen with the right address, S those a batch's
stop set skipped (not probed, known from earlier traces), D/W the
distinct (TTL, address) pairs of the truth seen by any trace (what a
topology survey learns). Exit 0, or 2
on unreadable input.
"""
import importlib.util
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "check_batch", os.path.join(here, "..", "tests", "sim", "check-batch.py"))
cb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cb)


def scamper_traces(path):
    out = []
    for obj in cb.read_json_stream(path):
        if not isinstance(obj, dict) or obj.get("type") != "trace":
            continue
        byttl = {}
        for h in obj.get("hops") or []:
            t = h.get("probe_ttl")
            if isinstance(t, int):
                byttl.setdefault(t, []).append({"addr": h.get("addr"), "state": "reply"})
        hops = [{"ttl": t, "probes": byttl[t]} for t in sorted(byttl)]
        reason = "reached" if obj.get("stop_reason") == "COMPLETED" else \
            str(obj.get("stop_reason", "")).lower()
        out.append({"target": obj.get("dst"), "hops": hops, "reason": reason,
                    "last_ttl": None, "max_ttl": None})
    return out


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    scamper = "--scamper" in argv
    lst = None
    if "--list" in argv:
        lst = argv[argv.index("--list") + 1]
        args.remove(lst)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        truth = cb.load_truth(args[0])
        traces = scamper_traces(args[1]) if scamper else cb.load_results(args[1])
    except (OSError, ValueError) as e:
        print(f"batch-score: {e}", file=sys.stderr)
        return 2
    want = None
    if lst:
        with open(lst) as f:
            want = [cb.norm(x.strip()) for x in f if x.strip() and not x.startswith("#")]
    seen = {}
    for t in traces:
        k = cb.norm(t["target"]) if t["target"] else None
        seen.setdefault(k, []).append(t)
    targets = want if want is not None else list(truth)
    correct = found = expected = skipped = 0
    links_want, links_got = set(), set()
    for k in targets:
        tr = truth.get(k)
        if tr is None:
            continue
        for h in tr.get("hops") or []:
            if h.get("addr") is not None:
                expected += 1
                links_want.add((h["ttl"], cb.norm(h["addr"])))
        got = seen.get(k) or []
        if len(got) != 1:
            continue
        res = got[0]
        if not cb.compare(tr, res):
            correct += 1
        tr_addr = {h["ttl"]: cb.norm(h["addr"]) for h in tr.get("hops") or []
                   if h.get("addr") is not None}
        for hop in res["hops"]:
            ttl = hop.get("ttl")
            if ttl not in tr_addr:
                continue
            if hop.get("skipped"):
                skipped += 1
            elif any(p.get("addr") and cb.norm(p["addr"]) == tr_addr[ttl]
                     for p in hop.get("probes") or []):
                found += 1
                links_got.add((ttl, tr_addr[ttl]))
    print(f"targets {len(targets)}, correct {correct}, hops found {found}/{expected}, "
          f"skipped {skipped}, distinct (ttl, address) found {len(links_got)}/{len(links_want)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
