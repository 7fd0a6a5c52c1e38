#!/usr/bin/env python3
"""Validate hoptrace JSON output against docs/hoptrace.schema.json.

usage: schema_check.py SCHEMA FILE...   (*.json: one document; *.jsonl: one
object per line). Exits 77 when python3-jsonschema is not installed.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("schema_check: python3-jsonschema is not installed; skipping", file=sys.stderr)
    sys.exit(77)


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    v = cls(schema)
    n = 0
    bad = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        docs = [text] if path.endswith(".json") else text.splitlines()
        for i, d in enumerate(docs, 1):
            n += 1
            errs = sorted(v.iter_errors(json.loads(d)), key=lambda e: list(e.path))
            for e in errs:
                bad += 1
                print(f"{path}:{i}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
    if n == 0:
        print("schema_check: nothing to check", file=sys.stderr)
        return 1
    print(f"schema_check: {n} objects, {bad} errors")
    return 1 if bad else 0


sys.exit(main())
