#!/usr/bin/env python3
"""Time edgelens through `edgelens detect --json` (fallback while `edgelens
bench` does not exist): runs the given command, reads the inference_ms of
each JSON line (graph execution per image), drops --warmup, prints one JSON
line {"median_ms", "min_ms", "p90_ms", "first_ms", "iterations"}.
usage: detect_time.py [--warmup N] -- EDGELENS detect ... IMAGE IMAGE ...
"""
import json
import statistics
import subprocess
import sys


def main(argv):
    warmup = 3
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    i = argv.index("--")
    opts, cmd = argv[:i], argv[i + 1:]
    if "--warmup" in opts:
        warmup = int(opts[opts.index("--warmup") + 1])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        return p.returncode
    ms = [json.loads(line)["inference_ms"] for line in p.stdout.splitlines() if line.startswith("{")]
    if len(ms) <= warmup:
        print("too few results", file=sys.stderr)
        return 1
    first, times = ms[0], sorted(ms[warmup:])
    print(json.dumps({"runtime": "edgelens detect", "iterations": len(times), "first_ms": first,
                      "min_ms": times[0], "median_ms": statistics.median(times),
                      "p90_ms": times[int(0.9 * (len(times) - 1))]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
