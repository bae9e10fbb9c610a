#!/usr/bin/env bash
# End-to-end frame rate of `edgelens run` (capture thread -> detector ->
# publishing) against the engine alone on the same video's frames.
#
#   bash bench/agent_fps.sh [MODEL] [VIDEO] [FRAMES] [THREADS]
#
# The agent reads the file with --no-pace (as fast as it decodes, in its own
# capture thread, newest frame only) so the detector is the bottleneck, as
# with a camera faster than the model; the engine alone runs back to back on
# frames decoded beforehand. The pipeline overlaps decoding and publishing
# with inference when the ratio agent/engine is close to 1 (target >= 0.95).
# Results go to stdout as JSON; nothing is written to the repository.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=${1:-$repo/../shared/models/ssd_mobilenet_v1_aiy_person_cat_dog}
video=${2:-$repo/.data/opencv/vtest.avi}
frames=${3:-300}
threads=${4:-1}
build=${EL_BENCH_BUILD:-$repo/build-bench-rel}

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target edgelens_cli el_engine_fps >/dev/null

lock() { flock /tmp/el-bench.lock "$@"; }

engine=$(lock "$build/el_engine_fps" "$model" "$video" "$frames" "$threads")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Skip the first 10 payloads (model load, warm-up); time the next ones.
lock bash -c "timeout 300 '$build/edgelens' run --model '$model' --source '$video' --no-pace --loop \
    --threads $threads 2>/dev/null | head -n $((frames + 10)) > '$out'" || true
agent=$(python3 - "$out" <<'PY'
import datetime, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][10:]
t = [datetime.datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp() for r in rows]
g = sum(r["inference_ms"] for r in rows) / len(rows)
print(json.dumps({"frames": len(rows) - 1, "seconds": round(t[-1] - t[0], 3),
                  "fps": round((len(rows) - 1) / (t[-1] - t[0]), 3), "graph_ms": round(g, 2)}))
PY
)
python3 - "$engine" "$agent" "$model" "$threads" <<'PY'
import json, sys
e, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"model": sys.argv[3], "threads": int(sys.argv[4]), "engine": e, "agent": a,
                  "agent_over_engine": round(a["fps"] / e["fps"], 3)}))
PY
