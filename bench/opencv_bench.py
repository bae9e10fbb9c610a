#!/usr/bin/python3
"""Time OpenCV DNN's net.forward() on a TF1 SSD graph + text graph config.

Run with Debian's python3 (python3-opencv is installed for it, not for a
pyenv/venv interpreter). Prints one JSON line:
  {"peer": "opencv", "version": .., "threads": N, "median_ms": F, "min_ms": F, ...}
Times forward() only, on a blob prepared once (resize + [-1, 1] scaling are
outside the timing, as edgelens bench times graph execution on a prepared
input tensor). Median of --iterations after --warmup runs.
"""
import argparse
import json
import statistics
import sys
import time

import cv2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pb")
    ap.add_argument("pbtxt")
    ap.add_argument("--image", required=True)
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    cv2.setNumThreads(a.threads)
    t0 = time.perf_counter()
    net = cv2.dnn.readNetFromTensorflow(a.pb, a.pbtxt)
    load_ms = (time.perf_counter() - t0) * 1e3
    img = cv2.imread(a.image)
    if img is None:
        print("cannot read %s" % a.image, file=sys.stderr)
        return 1
    blob = cv2.dnn.blobFromImage(img, scalefactor=1.0 / 127.5, size=(a.size, a.size),
                                 mean=(127.5, 127.5, 127.5), swapRB=True, crop=False)
    net.setInput(blob)
    t0 = time.perf_counter()
    out = net.forward()
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(a.warmup):
        net.setInput(blob)
        net.forward()
    times = []
    for _ in range(a.iterations):
        net.setInput(blob)
        t0 = time.perf_counter()
        out = net.forward()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    dets = int((out[0, 0, :, 2] > 0).sum()) if out.ndim == 4 else -1
    print(json.dumps({
        "peer": "opencv", "version": cv2.__version__, "threads": a.threads, "iterations": a.iterations,
        "load_ms": round(load_ms, 2), "first_ms": round(first_ms, 2), "min_ms": round(times[0], 3),
        "median_ms": round(statistics.median(times), 3), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 3),
        "detections": dets, "output_shape": list(out.shape)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
