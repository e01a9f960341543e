#!/bin/bash
# bench/precision.sh - `make bench-precision`: rsc's bf16 against rsc's fp32 on
# the same seeded random weights, side by side (docs/precision.md).
#
# Per model (depth@size), both built from one spec and seed with --main and
# cc -O3 -march=native:
#   accuracy  batch 1, PREC_INPUTS random N(0,1) inputs: the cosine similarity of
#             the bf16 logits to the fp32 ones (smallest over the inputs), top-5
#             overlap (mean) and top-1 agreement; and the conditioning of the
#             seeded network: `rsc --verify` of the fp32 model, its classifier's
#             error against the float64 reference (relative to max|logit|),
#             next to the bf16 model's;
#   speed     per batch and thread count, PREC_PAIRS pairs of runs in
#             alternating order (bench/abtime.sh's method: `net -r PREC_RUNS`
#             each, the median ms of a run is a sample): each side's median
#             and the median of the pairs' fp32/bf16 ratios with quartiles;
#   size      the .weights bytes and the peak RSS (/usr/bin/time) of one run.
# The machine's load average is printed before and after (the VMs are shared).
#
# Environment: PREC_MODELS (default "50@160"), PREC_BATCHES ("1"),
# PREC_THREADS ("1 2"), PREC_PAIRS (8), PREC_RUNS (5), PREC_INPUTS (8),
# PREC_VERIFY (1: run the conditioning check), PREC_DIR (build/precision),
# PREC_OUT (the report, default stdout only), CC.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RSC=build/rsc
CC=${CC:-cc}
DIR=${PREC_DIR:-build/precision}
MODELS=${PREC_MODELS:-50@160}
BATCHES=${PREC_BATCHES:-1}
THREADS=${PREC_THREADS:-1 2}
PAIRS=${PREC_PAIRS:-8}
RUNS=${PREC_RUNS:-5}
INPUTS=${PREC_INPUTS:-8}
mkdir -p "$DIR"
report=$DIR/report.md
spec_of() {
  if [ -f "specs/resnet-rs-$1-i$2.spec" ]; then echo "specs/resnet-rs-$1-i$2.spec"
  else ls specs/resnet-rs-"$1"-i*.spec | head -1; fi
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
flags=$(grep -o -w -E 'avx512_bf16|avx512_vnni|amx_bf16|amx_int8|amx_tile' /proc/cpuinfo | sort -u | paste -sd' ')
{
  echo "Machine: $cpu, $(nproc) CPUs; $flags. Load average at the start: $(load)."
  echo
  echo "| model | batch | inputs | cos(bf16, fp32) min | top-5 overlap | top-1 same | fp32 vs f64 (fc) | bf16 vs f64 (fc) |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$report"
speed_rows=()
for m in $MODELS; do
  depth=${m%@*} size=${m#*@}
  spec=$(spec_of "$depth" "$size")
  for b in $BATCHES; do
    d=$DIR/rs$depth-$size-b$b
    mkdir -p "$d"
    for p in fp32 bf16; do
      $RSC "$spec" --width "$size" --height "$size" --batch "$b" --seed 1 --precision $p \
        --name net --main -o "$d/$p.c"
      $CC -O3 -march=native -std=c11 "$d/$p.c" -o "$d/$p" -lm -pthread
    done
    insize=$(grep -m1 -E '^#define NET_IN_SIZE [0-9]+$' "$d/fp32.h" | cut -d' ' -f3)
    if [ "$b" = 1 ]; then # accuracy
      cond=("-" "-")
      if [ "${PREC_VERIFY:-1}" = 1 ]; then
        for i in 0 1; do
          p=$([ $i = 0 ] && echo fp32 || echo bf16)
          cond[$i]=$($RSC "$spec" --width "$size" --height "$size" --seed 1 --precision $p --verify \
            2>/dev/null | awk '$1 == "fc" {print $5}') || true
        done
      fi
      for k in $(seq "$INPUTS"); do
        $PY -c "import numpy as np, sys; np.random.default_rng($k).standard_normal($insize, dtype=np.float32).tofile(sys.argv[1])" "$d/in$k.f32"
        for p in fp32 bf16; do "$d/$p" -w "$d/$p.weights" -r 1 "$d/in$k.f32" "$d/$p.$k.out" >/dev/null; done
      done
      acc=$($PY - "$d" "$INPUTS" <<'EOF'
import numpy as np, sys
d, n = sys.argv[1], int(sys.argv[2])
cos, top5, top1 = [], [], 0
for k in range(1, n + 1):
    a = np.fromfile(f"{d}/fp32.{k}.out", np.float32).astype(np.float64)
    b = np.fromfile(f"{d}/bf16.{k}.out", np.float32).astype(np.float64)
    cos.append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    top5.append(len(set(np.argsort(-a)[:5]) & set(np.argsort(-b)[:5])) / 5)
    top1 += int(a.argmax() == b.argmax())
print(f"{min(cos):.7f} | {np.mean(top5):.3f} | {top1}/{n}")
EOF
)
      echo "| RS-$depth@$size | 1 | $INPUTS | $acc | ${cond[0]} | ${cond[1]} |" >>"$report"
    fi
    head -c $((4 * b * insize)) /dev/zero >"$d/zero.f32"
    wf=$(stat -c %s "$d/fp32.weights") wb=$(stat -c %s "$d/bf16.weights")
    rf=$(/usr/bin/time -f %M "$d/fp32" -w "$d/fp32.weights" -r 1 "$d/zero.f32" "$d/o.f32" 2>&1 >/dev/null | tail -1)
    rb=$(/usr/bin/time -f %M "$d/bf16" -w "$d/bf16.weights" -r 1 "$d/zero.f32" "$d/o.f32" 2>&1 >/dev/null | tail -1)
    for t in $THREADS; do
      : >"$d/times"
      for pr in $(seq "$PAIRS"); do
        order="fp32 bf16"
        [ $((pr % 2)) = 0 ] && order="bf16 fp32"
        for p in $order; do
          ms=$("$d/$p" -w "$d/$p.weights" -r "$RUNS" -t "$t" "$d/zero.f32" "$d/o.f32" 2>&1 |
            awk '/runs: median/ {print $5}')
          echo "$pr $p $ms" >>"$d/times"
        done
      done
      row=$($PY - "$d/times" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    p, k, ms = line.split()
    t.setdefault(p, {})[k] = float(ms)
f = [v["fp32"] for v in t.values()]
b = [v["bf16"] for v in t.values()]
r = sorted(v["fp32"] / v["bf16"] for v in t.values())
q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
print(f"{statistics.median(f):.2f} | {statistics.median(b):.2f} | {statistics.median(r):.2f}x ({q[0]:.2f}-{q[2]:.2f})")
EOF
)
      speed_rows+=("| RS-$depth@$size | $b | $t | $row | $((wf / 1048576)) / $((wb / 1048576)) MiB | $((rf / 1024)) / $((rb / 1024)) MiB |")
    done
  done
done
{
  echo
  echo "| model | batch | threads | fp32 ms | bf16 ms | fp32/bf16 (quartiles) | .weights fp32 / bf16 | peak RSS fp32 / bf16 |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${speed_rows[@]}"
  echo
  echo "Load average at the end: $(load). $PAIRS pairs of $RUNS runs per row."
} >>"$report"
cat "$report"
[ -z "${PREC_OUT:-}" ] || cp "$report" "$PREC_OUT"
