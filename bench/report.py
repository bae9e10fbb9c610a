#!/usr/bin/env python3
"""Table and ratios from bench/run.sh's results (one JSON object a line);
with --readme, replaces a results section of bench/README.md (between the
<!-- SECTION:begin --> and <!-- SECTION:end --> markers, SECTION being
--section, "results" by default) with the date, the machine, the table and
the exact commands.

A side timed in several rounds (run.sh --rounds) counts with its least min
and its least median over them; a target is met when both ratios (least
min / least min, least median / least median) are within it."""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

# Issue 5's targets: edgelens time / peer time at most this.
TARGETS = {
    ("aiy", "opencv"): 0.5,
    ("aiy", "tfjs-wasm"): 0.05,
    ("coco", "onnxruntime-convs"): 1.0,
    ("handtrack", "tfjs-wasm"): 0.1,
    ("centernet", "tfjs-wasm"): 0.1,
    ("faceboxes", "tfjs-wasm"): 0.1,
}
MODEL_ORDER = ["aiy", "voc", "coco", "handtrack", "centernet", "faceboxes"]
PEER_NAMES = {
    "opencv": "OpenCV DNN forward()",
    "tfjs-wasm": "TF.js wasm",
    "onnxruntime-convs": "ONNX Runtime, 47 convs only",
}
MODEL_NAMES = {
    "aiy": "aiy person/cat/dog (TF1, 0.25, 256)",
    "voc": "voc (TF1, 20 classes, resize 256 in graph)",
    "coco": "generated coco (TF1, 1.0, 300, 91 classes)",
    "handtrack": "human-models handtrack (TF.js, 320)",
    "centernet": "human-models centernet (TF.js, 512)",
    "faceboxes": "human-models faceboxes (TF.js, photo size)",
}


def machine():
    model = "?"
    flags = set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name") and model == "?":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags]
    load = os.getloadavg()
    return "%d CPUs (nproc), %s [%s], Linux %s, load average %.2f %.2f %.2f at the end of the run" % (
        os.cpu_count() or 0, model, " ".join(isa), platform.release(), *load)


def git_rev():
    if os.environ.get("EL_BENCH_REV"):
        return os.environ["EL_BENCH_REV"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def fmt(v):
    return "%.2f" % v if v < 100 else "%.1f" % v


def least_of_rounds(rows):
    """One entry per (model, runtime, threads): its least min_ms and least
    median_ms over the rounds (min_ms is the median where a tool gives no
    min), and how many rounds there were; insertion order kept."""
    sides = {}
    for r in rows:
        key = (r["model"], r["runtime"], r["threads"])
        mn = r.get("min_ms", r["median_ms"])
        s = sides.get(key)
        if s is None:
            sides[key] = dict(r, min_ms=mn, rounds=1)
        else:
            s["min_ms"] = min(s["min_ms"], mn)
            s["median_ms"] = min(s["median_ms"], r["median_ms"])
            s["rounds"] += 1
    return sides


def ms(r):
    return "-" if r is None else "%s / %s" % (fmt(r["min_ms"]), fmt(r["median_ms"]))


def ratios(rr):
    return "-" if rr is None else " / ".join("%.3f" % x if x is not None else "-" for x in rr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--readme")
    ap.add_argument("--image", default="")
    ap.add_argument("--bin", default="")
    ap.add_argument("--section", default="results")
    a = ap.parse_args()
    rows, skips = [], []
    with open(a.results) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            (skips if "skip" in r else rows).append(r)
    sides = least_of_rounds(rows)
    ours = {(m, t): r for (m, rt, t), r in sides.items() if rt == "edgelens"}
    # edgelens-fp32: the same model with --precision fp32, next to the
    # default (auto), against the same peers
    ours_fp32 = {(m, t): r for (m, rt, t), r in sides.items() if rt == "edgelens-fp32"}
    table = []
    for r in sides.values():
        if r["runtime"].startswith("edgelens"):
            continue
        for mine in (ours, ours_fp32):
            e = mine.get((r["model"], r["threads"]))
            # (where auto already ran fp32, the fp32 rows say it again)
            auto = ours.get((r["model"], r["threads"]))
            if mine is ours_fp32 and (not e or (auto and auto.get("precision") == "fp32")):
                continue
            ratio = e["median_ms"] / r["median_ms"] if e and r["median_ms"] > 0 else None
            rmin = e["min_ms"] / r["min_ms"] if e and r["min_ms"] > 0 else None
            worse = max(x for x in (ratio, rmin) if x is not None) if ratio is not None else None
            target = TARGETS.get((r["model"], r["runtime"]))
            verdict = "" if worse is None or target is None else ("ok" if worse <= target else "MISS")
            label = r["model"] + (" [%s]" % e["precision"] if e and e.get("precision") else "")
            table.append((label, r["threads"], e if e else None, r["runtime"], r.get("version", ""), r,
                          (rmin, ratio) if ratio is not None else None, target, verdict))
    # edgelens runs with no peer timed still show up
    for (m, t), e in ours.items():
        if not any(x[0].split(" [")[0] == m and x[1] == t for x in table):
            table.append((m, t, e, "-", "", None, None, None, ""))
    order = {m: i for i, m in enumerate(MODEL_ORDER)}
    table.sort(key=lambda x: (order.get(x[0].split(" [")[0], 99), x[1], x[3], x[0]))

    head = ("model", "thr", "edgelens ms", "peer", "peer ms", "edgelens/peer", "target")
    lines = []
    for m, t, e, peer, ver, p, ratio, target, verdict in table:
        lines.append((m, str(t), ms(e), ("%s %s" % (PEER_NAMES.get(peer, peer), ver)).strip(), ms(p), ratios(ratio),
                      ("<= %g %s" % (target, verdict)).strip() if target is not None else ""))
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(l, widths)) for l in lines]
    print("\n".join(out))
    for s in skips:
        print("skipped: " + s["skip"])

    if not a.readme:
        return 0
    md = []
    md.append("Run of %s, edgelens %s (`%s`), image `%s`." % (
        datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), git_rev(), a.bin, a.image))
    md.append("")
    md.append("Machine: " + machine() + ".")
    md.append("")
    nr = max((r["rounds"] for r in sides.values()), default=1)
    md.append("Min / median per inference in milliseconds (%s); ratio = edgelens / peer, min / median "
              "(lower is better for edgelens); a target is met when both ratios are within it." % (
                  "least of %d interleaved rounds per side" % nr if nr > 1 else "one round"))
    md.append("")
    md.append("| model | threads | edgelens ms | peer | peer ms | edgelens/peer | target (issue 5) |")
    md.append("|---|---|---|---|---|---|---|")
    for m, t, e, peer, ver, p, ratio, target, verdict in table:
        md.append("| %s | %d | %s | %s | %s | %s | %s |" % (
            MODEL_NAMES.get(m.split(" [")[0], m) + (" [" + m.split(" [")[1] if " [" in m else ""), t, ms(e),
            ("%s %s" % (PEER_NAMES.get(peer, peer), ver)).strip(), ms(p), ratios(ratio),
            ("<= %g%s" % (target, ": " + verdict if verdict else "")) if target is not None else ""))
    if skips:
        md.append("")
        md.append("Skipped:")
        md.append("")
        md += ["- " + s["skip"] for s in skips]
    md.append("")
    md.append("Commands, in the order run (each under `flock /tmp/el-bench.lock`%s):" % (
        ", each model's %d times in turn" % nr if nr > 1 else ""))
    md.append("")
    md.append("```")
    md += list(dict.fromkeys(r["cmd"] for r in rows))
    md.append("```")
    with open(a.readme) as fh:
        text = fh.read()
    b, e = "<!-- %s:begin -->" % a.section, "<!-- %s:end -->" % a.section
    if b not in text or e not in text:
        print("report: %s has no %s markers" % (a.readme, a.section), file=sys.stderr)
        return 1
    pre, rest = text.split(b, 1)
    _, post = rest.split(e, 1)
    with open(a.readme, "w") as fh:
        fh.write(pre + b + "\n" + "\n".join(md) + "\n" + e + post)
    print("results written to %s" % a.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
