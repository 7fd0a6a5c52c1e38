#!/usr/bin/env python3
"""Compare hoptrace batch results with the simulator's ground truth.

usage: check-batch.py TRUTH.jsonl RESULTS [--list FILE] [--max-shown N]

TRUTH.jsonl: `hoptrace-sim --scenario FILE --truth [--method M]` (one line per
host). RESULTS: hoptrace's output for the batch, in any of these forms:
  - one trace document per line (compact --json), with "hops";
  - --jsonl event lines (trace_start, probe_done, hop_done, trace_done...),
    grouped by their "trace" (or "id") when they have one, else from one
    trace_start to the next;
  - --json documents one after the other (indented).
A trace's target is its "target" field when that is a string (the target
as written in the list), else target.name, else target.addr. Unknown
fields are ignored.

Every expected target (the --list file's, else every truth target) must
appear exactly once. For each hop of each trace:
  - an address must be the truth's, or one of its candidates ("addrs");
  - a probe without an address ("*") is accepted where the truth says the
    hop may be silent (null), may lose probes ("loss") or may be rate
    limited ("ratelimit"), or where the result marks it rate_limited;
  - a hop marked "skipped" (a batch's stop set) is accepted; a hop whose
    probes were all cancelled without that mark is not;
  - a TTL past the truth's last hop is held to the truth's last hop (a
    silent end stays silent);
  - an answering truth hop missing from the result is a mismatch, unless
    the trace stopped at its max_ttl below it;
  - when the result says why it stopped: "reached" needs a truth that ends
    reached, "unreachable" one that ends with an unreachable, and a truth
    that ends reached or unreachable needs one of those two.
With --complete-only (a run killed and resumed into the same file),
lines that do not parse are skipped and traces without their trace_done
are dropped before counting; both are counted in the summary.
Prints a diff per mismatched target and a summary. Exit status: 0 all
match, 1 some mismatch (or a target missing, repeated or unexpected), 2
unreadable input.
"""
import ipaddress
import json
import sys


def norm(addr):
    if addr is None:
        return None
    try:
        return str(ipaddress.ip_address(str(addr).strip()))
    except ValueError:
        return str(addr).strip()


SKIPPED = {"lines": 0, "partial": 0}


def read_json_lines_lenient(path):
    """JSON lines, skipping lines that do not parse (a run killed with
    kill -9 may leave its last line cut; a resumed run then starts on a new
    line)."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                SKIPPED["lines"] += 1
    return out


def read_json_stream(path, lenient=False):
    """Every JSON value in the file: JSON lines or concatenated documents."""
    if lenient:
        return read_json_lines_lenient(path)
    with open(path) as f:
        text = f.read()
    dec = json.JSONDecoder()
    i, n, out = 0, len(text), []
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def target_of(obj):
    t = obj.get("target")
    if isinstance(t, str):
        return t
    if isinstance(t, dict):
        return t.get("name") or t.get("addr")
    return None


def stop_reason(obj):
    s = obj.get("stop")
    if isinstance(s, dict):
        return s.get("reason"), s.get("last_ttl")
    if isinstance(obj.get("reason"), str):
        return obj.get("reason"), obj.get("last_ttl")
    return None, None


def load_results(path, complete_only=False):
    """A list of traces: dicts with target, hops, reason, last_ttl, max_ttl.
    complete_only: lines that do not parse are skipped and traces without
    their trace_done (cut short by a kill) are dropped, counted in SKIPPED."""
    traces, open_by_id, current = [], {}, None

    def new_trace(key):
        t = {"target": None, "hops": [], "reason": None, "last_ttl": None, "max_ttl": None}
        traces.append(t)
        if key is not None:
            open_by_id[key] = t
        return t

    for obj in read_json_stream(path, complete_only):
        if not isinstance(obj, dict):
            raise ValueError("a result that is not a JSON object")
        if "hops" in obj and "type" not in obj:
            t = new_trace(None)
            t["target"] = target_of(obj)
            t["hops"] = obj.get("hops") or []
            t["reason"], t["last_ttl"] = stop_reason(obj)
            t["max_ttl"] = (obj.get("parameters") or {}).get("max_ttl")
            continue
        typ = obj.get("type")
        key = obj.get("trace", obj.get("id"))
        if typ == "trace_start":
            t = new_trace(key)
            current = t
        elif key is not None:
            t = open_by_id.get(key) or new_trace(key)
        else:
            t = current
            if t is None:
                raise ValueError(f"a {typ} line before any trace_start")
        if isinstance(obj.get("target"), str) or (typ == "trace_start" and t["target"] is None):
            t["target"] = target_of(obj) or t["target"]
        if typ == "trace_start":
            t["max_ttl"] = (obj.get("parameters") or {}).get("max_ttl")
        elif typ == "hop_done":
            t["hops"].append(obj)
        elif typ == "trace_done":
            r, lt = stop_reason(obj)
            t["reason"], t["last_ttl"] = r, lt
            t["done"] = True
    if complete_only:
        kept = [t for t in traces if t.get("done")]
        SKIPPED["partial"] += len(traces) - len(kept)
        traces = kept
    return traces


def load_truth(path):
    truth = {}
    for obj in read_json_stream(path):
        truth[norm(obj["target"])] = obj
    return truth


def truth_hop(tr, ttl):
    """(set of addresses, may be silent, loss or rate limit possible)."""
    hops = tr.get("hops") or []
    if not hops:
        return set(), True, False
    byttl = {h["ttl"]: h for h in hops}
    h = byttl.get(ttl) or (hops[-1] if ttl > hops[-1]["ttl"] else None)
    if h is None:
        return set(), True, True
    cands = h["addrs"] if "addrs" in h else [h.get("addr")]
    addrs = {norm(a) for a in cands if a is not None}
    silent = any(a is None for a in cands)
    return addrs, silent, bool(h.get("loss") or h.get("ratelimit"))


def show(addrs, silent):
    s = sorted(addrs)
    if silent:
        s.append("*")
    return "|".join(s) if s else "*"


def compare(tr, res):
    diffs = []
    got_ttls = set()
    for hop in res["hops"]:
        ttl = hop.get("ttl")
        if not isinstance(ttl, int):
            continue
        got_ttls.add(ttl)
        addrs, silent, lossy = truth_hop(tr, ttl)
        if hop.get("skipped"):
            # Doubletree's stop set: earlier traces from here went through
            # the next hop; this one is not claimed either way.
            continue
        probes = hop.get("probes") or []
        if probes and all(p.get("state") == "cancelled" for p in probes) and addrs \
                and not (silent or lossy):
            diffs.append(f"ttl {ttl}: not probed (and not marked skipped), truth "
                         f"{show(addrs, silent)}")
        for p in probes:
            if p.get("state") == "cancelled":
                continue
            a = p.get("addr")
            if a is not None:
                if norm(a) not in addrs:
                    diffs.append(f"ttl {ttl}: got {norm(a)}, truth {show(addrs, silent)}")
            elif not (silent or lossy or p.get("rate_limited")):
                diffs.append(f"ttl {ttl}: got * ({p.get('state')}), truth {show(addrs, silent)}")
    max_ttl = res.get("max_ttl")
    for h in tr.get("hops") or []:
        ttl = h["ttl"]
        if ttl in got_ttls:
            continue
        addrs, silent, lossy = truth_hop(tr, ttl)
        if silent or lossy or not addrs:
            continue
        if isinstance(max_ttl, int) and ttl > max_ttl:
            continue
        diffs.append(f"ttl {ttl}: missing, truth {show(addrs, silent)}")
    reason, end = res["reason"], tr.get("end")
    if reason is not None and end is not None:
        if reason == "reached" and end != "reached":
            diffs.append(f"stopped as reached, truth ends {end}")
        elif reason == "unreachable" and end != "unreach":
            diffs.append(f"stopped as unreachable, truth ends {end}")
        elif reason not in ("reached", "unreachable") and end in ("reached", "unreach"):
            diffs.append(f"stopped ({reason}), truth ends {end}")
    return diffs


def main(argv):
    args, list_path, max_shown, complete_only = [], None, 100, False
    i = 1
    while i < len(argv):
        if argv[i] == "--list" and i + 1 < len(argv):
            list_path = argv[i + 1]
            i += 2
        elif argv[i] == "--complete-only":
            complete_only = True
            i += 1
        elif argv[i] == "--max-shown" and i + 1 < len(argv):
            max_shown = int(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        print("usage: check-batch.py TRUTH.jsonl RESULTS [--list FILE] [--max-shown N] "
              "[--complete-only]", file=sys.stderr)
        return 2
    try:
        truth = load_truth(args[0])
        traces = load_results(args[1], complete_only)
        if list_path:
            expected = []
            with open(list_path) as f:
                for line in f:
                    line = line.split("#", 1)[0].strip()
                    if line:
                        expected.append(line)
        else:
            expected = list(truth)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"check-batch: {e}", file=sys.stderr)
        return 2

    by_target = {}
    unnamed = 0
    for t in traces:
        if t["target"] is None:
            unnamed += 1
            continue
        by_target.setdefault(norm(t["target"]), []).append(t)
    exp_norm = {}
    for e in expected:
        exp_norm.setdefault(norm(e), e)

    bad = {}
    missing = [e for e in exp_norm if e not in by_target]
    dups = [k for k, v in by_target.items() if len(v) > 1 and k in exp_norm]
    unexpected = [k for k in by_target if k not in exp_norm]
    notruth = [e for e in exp_norm if e not in truth]
    ok = 0
    for key in exp_norm:
        if key not in by_target or key in dups:
            continue
        if key not in truth:
            continue
        d = compare(truth[key], by_target[key][0])
        if d:
            bad[key] = d
        else:
            ok += 1

    shown = 0
    for key, d in bad.items():
        if shown >= max_shown:
            print(f"... {len(bad) - shown} more mismatched targets not shown")
            break
        shown += 1
        print(f"MISMATCH {exp_norm[key]}:")
        for line in d:
            print(f"  {line}")
    for name, lst in (("MISSING", missing), ("DUPLICATE", dups), ("UNEXPECTED", unexpected),
                      ("NO TRUTH", notruth)):
        for k in lst[:max_shown]:
            extra = f" ({len(by_target[k])} times)" if name == "DUPLICATE" else ""
            print(f"{name} {exp_norm.get(k, k)}{extra}")
        if len(lst) > max_shown:
            print(f"... {len(lst) - max_shown} more {name.lower()}")
    if unnamed:
        print(f"UNNAMED {unnamed} traces without a target")
    if complete_only:
        print(f"check-batch: skipped {SKIPPED['lines']} lines that do not parse and "
              f"{SKIPPED['partial']} traces without their trace_done")
    failed = bool(bad or missing or dups or unexpected or notruth or unnamed)
    print(f"check-batch: {len(exp_norm)} targets: {ok} match, {len(bad)} mismatch, "
          f"{len(missing)} missing, {len(dups)} duplicated, {len(unexpected)} unexpected, "
          f"{len(notruth)} without truth: {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
