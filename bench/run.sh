#!/bin/bash
# bench/run.sh - `make bench`: rsc against PyTorch and ONNX Runtime on the same
# random weights.
#
#   0. ONNX Runtime: tools/ensure-ort.sh installs onnxruntime-node (the version
#      bench/ort/package-lock.json pins; its CPU build of ONNX Runtime) into
#      bench/ort/node_modules with npm ci --ignore-scripts, once;
#   1. the machine's FMA peak (bench/fmapeak.c) and DRAM streaming-read
#      bandwidth and L3 size (bench/dramread.c, $DIR/dram.txt), 1 and 2 threads;
#   2. per model and batch: random weights from PyTorch (bench/torch_bench.py
#      weights), rsc --summary=json (layers, MACs, weight bytes: saved as
#      $DIR/json/<key>.summary.json for the DRAM ceiling), rsc --weights --main,
#      cc -O3 -march=native (both timed);
#   3. torch_bench.py compare: same output check, then rsc and PyTorch's faster
#      configuration timed alternately for each thread count; ONNX Runtime
#      (the PyTorch model exported to ONNX, run from node by bench/ort_bench.js)
#      checked against PyTorch and timed in the same rounds;
#   4. peak RSS of each (/usr/bin/time), then bench/results.md (and stdout),
#      whose "DRAM ceiling" column is the % of peak no code can beat when every
#      weight byte streams from DRAM once per inference (torch_bench.py report);
#      the default run took 52 minutes on an idle 2-core Zen 5-class EPYC
#      (PyTorch at batch 8 is most of it), about 65 on the 2-vCPU Intel Xeon VM
#      (RS-350 batch 8 alone 32); BENCH_QUICK=1 takes about 2;
#   5. the per-layer profile (-DNET_PROFILE) of the first model, batch 1, 1 thread:
#      its 10 slowest layers go into results.md, the whole table beside it.
#
# Environment:
#   BENCH_MODELS   "depth@size ..." (default "50@160 101@192 152@256 350@320")
#   BENCH_BATCHES  (default "1 8")      BENCH_THREADS (default "1,2")
#   BENCH_RUNS     timed runs per side (default 10; 1 warm-up more)
#   BENCH_GAP      seconds of pause before each timed run of either side, so the
#                  other's idle threads stop spinning (default 0.01; torch_bench.py)
#   BENCH_QUICK=1  RS-50@160, batch 1 only (development)
#   BENCH_DIR      scratch directory (default build/bench)
#   BENCH_RSC_FLAGS extra rsc flags, e.g. --no-winograd (default none)
#   BENCH_OUT      the report (default bench/results.md; a partial run, such as
#                  BENCH_MODELS with fewer models, may go elsewhere); the whole
#                  profile goes beside it as profile.txt
#   BENCH_ORT=0    leave ONNX Runtime out (no node or npm needed)
#   CC             C compiler (default cc)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the tree
RSC=build/rsc
CC=${CC:-cc}
DIR=${BENCH_DIR:-build/bench}
MODELS=${BENCH_MODELS:-50@160 101@192 152@256 350@320}
BATCHES=${BENCH_BATCHES:-1 8}
THREADS=${BENCH_THREADS:-1,2}
RUNS=${BENCH_RUNS:-10}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  MODELS=50@160
  BATCHES=1
fi
CFLAGS_BENCH="-O3 -march=native -std=c11"
# The spec of that depth and size, else any of that depth (the size is set by flags anyway).
spec_of() {
  if [ -f "specs/resnet-rs-$1-i$2.spec" ]; then echo "specs/resnet-rs-$1-i$2.spec"
  else ls specs/resnet-rs-"$1"-i*.spec | head -1; fi
}

[ -x "$RSC" ] || make "$RSC"
ORT=()
ORT_VERSION=()
if [ "${BENCH_ORT:-1}" != 0 ]; then
  v=$(tools/ensure-ort.sh)
  ORT=(--ort bench/ort_bench.js)
  ORT_VERSION=(--ort-version "$v")
  echo "== ONNX Runtime: onnxruntime-node $v (bench/ort/node_modules)"
fi
rm -rf "$DIR"
mkdir -p "$DIR/json"
start=$(date +%s)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== FMA peak (bench/fmapeak.c)"
$CC -O2 -march=native -std=c11 -ffp-contract=fast -pthread bench/fmapeak.c -o "$DIR/fmapeak"
"$DIR/fmapeak" 1 2 | tee "$DIR/peak.txt"
echo "== DRAM streaming read (bench/dramread.c)"
$CC -O2 -march=native -std=c11 -pthread bench/dramread.c -o "$DIR/dramread"
"$DIR/dramread" 1 2 | tee "$DIR/dram.txt"

for m in $MODELS; do
  depth=${m%@*} size=${m#*@}
  spec=$(spec_of "$depth" "$size")
  label="RS-$depth@$size"
  w="$DIR/rs$depth-$size.safetensors"
  echo "== $label: random weights (PyTorch)"
  $PY bench/torch_bench.py weights --depth "$depth" --size "$size" --weights "$w"
  for b in $BATCHES; do
    d="$DIR/rs$depth-$size-b$b"
    key="RS-$depth-$size-b$b"
    mkdir -p "$d"
    # shellcheck disable=SC2206 # BENCH_RSC_FLAGS is a list of flags
    flags=("$spec" --width "$size" --height "$size" --batch "$b" --weights "$w" ${BENCH_RSC_FLAGS:-})
    "$RSC" "${flags[@]}" --summary=json > "$DIR/json/$key.summary.json"
    macs=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["macs"])' \
      "$DIR/json/$key.summary.json")
    t0=$(now)
    "$RSC" "${flags[@]}" --main --name net -o "$d/net.c"
    t1=$(now)
    $CC $CFLAGS_BENCH -fPIC -c "$d/net.c" -o "$d/net.o"
    t2=$(now)
    $CC "$d/net.o" -o "$d/net" -lm -pthread
    $CC -shared "$d/net.o" -o "$d/libnet.so" -lm -pthread
    echo "== $label batch $b: rsc $(secs "$t0" "$t1") s, cc $(secs "$t1" "$t2") s, $macs MACs"
    # rsc's peak RSS: the generated main, one run on a zero input.
    head -c $((4 * b * size * size * 3)) /dev/zero > "$d/zero.f32"
    /usr/bin/time -f %M -o "$d/rss" "$d/net" -w "$d/net.weights" "$d/zero.f32" "$d/out.f32"
    {
      echo "macs=$macs"
      echo "rsc_s=$(secs "$t0" "$t1")"
      echo "cc_s=$(secs "$t1" "$t2")"
      echo "rsc_rss_kb=$(tail -1 "$d/rss")"
    } > "$DIR/json/$key.txt"
    rc=0
    $PY bench/torch_bench.py compare --depth "$depth" --size "$size" --batch "$b" --weights "$w" \
      --label "$label" --lib "$(realpath "$d/libnet.so")" --rsc-weights "$d/net.weights" \
      --threads "$THREADS" --runs "$RUNS" --gap "${BENCH_GAP:-0.01}" --json "$DIR/json/$key.json" \
      "${ORT[@]}" || rc=$?
    [ "$rc" = 0 ] || echo "== $label batch $b: outputs differ, see the check columns"
    # PyTorch's peak RSS: its configuration at the most threads, in a process of its own.
    t=${THREADS##*,}
    config=$($PY -c 'import json,sys; print([r["config"] for r in json.load(open(sys.argv[1])) if r["threads"] == int(sys.argv[2])][0])' \
      "$DIR/json/$key.json" "$t")
    /usr/bin/time -f %M -o "$d/trss" $PY bench/torch_bench.py rss --depth "$depth" --size "$size" \
      --batch "$b" --weights "$w" --config "$config" --threads "$t"
    echo "torch_rss_kb=$(tail -1 "$d/trss")" >> "$DIR/json/$key.txt"
    rm -f "$d/zero.f32" "$d/out.f32"
  done
done

# The per-layer profile of the first model, batch 1, 1 thread.
m=${MODELS%% *}
depth=${m%@*} size=${m#*@}
d="$DIR/profile"
mkdir -p "$d"
"$RSC" "$(spec_of "$depth" "$size")" --width "$size" --height "$size" --batch 1 \
  --weights "$DIR/rs$depth-$size.safetensors" --main --name net -o "$d/net.c"
$CC $CFLAGS_BENCH -DNET_PROFILE "$d/net.c" -o "$d/net" -lm -pthread
head -c $((4 * size * size * 3)) /dev/zero > "$d/zero.f32"
pcmd="net -w net.weights -r 11 -t 1 (cc -DNET_PROFILE)"
"$d/net" -w "$d/net.weights" -r 11 -t 1 "$d/zero.f32" "$d/out.f32" 2> "$d/profile.txt"
out=${BENCH_OUT:-bench/results.md}
mkdir -p "$(dirname "$out")"
cp "$d/profile.txt" "$(dirname "$out")/profile.txt" # the whole table, beside the report

cpuinfo() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'; }
machine="$(nproc) cores, $(cpuinfo 'model name') (family $(cpuinfo 'cpu family'), model $(cpuinfo 'model'))"
$PY bench/torch_bench.py report --json-dir "$DIR/json" --peak "$DIR/peak.txt" --dram "$DIR/dram.txt" \
  --profile "$d/profile.txt" --profile-label "RS-$depth@$size batch 1, 1 thread" \
  --profile-cmd "$pcmd" --machine "$machine" "${ORT_VERSION[@]}" --out "$out"
echo "== $out written; total $(($(date +%s) - start)) s"
