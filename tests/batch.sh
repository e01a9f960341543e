#!/bin/bash
# batch.sh - an image's result does not depend on its batch. A server batches
# requests as they come; a request's answer must not change with its
# neighbours. For each case rsc compiles one spec (seeded random weights) at
# batch 1, 2, 3 and 8 with --main; the batch-1 model runs each of 8 images
# alone, and every batch-B model runs images 0..B-1 together at 1 and 2
# threads. Each image's output (and each endpoint's, with --outputs) must be
# the bytes it has alone (cmp, not a tolerance). The cases cover every op
# kind: the SE tail with its pool fused into the conv, residual adds, the
# avg-pool and strided shortcuts, the max-pool stem, strided and Winograd
# convs, a conv that is Winograd's at some batches by the cost model alone,
# the dense head and the others, u8 NCHW input with ImageNet preprocessing,
# swish, and the portable and (where the CPU has them) AVX2/AVX-512 and bf16
# kernels.
# The selection is tuned for --target avx512 whatever the host, so the cases
# choose the same kernels on any machine. The generated code is built at -O0,
# after GEN_CFLAGS (make sanitize's -O1 with the sanitizers): the property
# holds at any level (no contraction, no reassociation), and gcc -O2 took
# 50 s per model on a shared 2-core machine, -O0 3 s.
# Run from the repository root after `make`. Prints "batch: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
B=${B:-build}; RSC=${RSC:-$B/rsc} GEN=$B/tests/f32gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -ffp-contract=off ${GEN_CFLAGS:-} -O0"
BATCHES="1 2 3 8" IMAGES=8
pass=0 fail=0

# bytes FILE
bytes() { wc -c <"$1"; }

# case NAME 'spec; lines' [-cc 'extra cc flags'] [extra rsc flags...]
case_() {
  local name=$1 spec=$2 d=$tmp/$1 ccx="" b t k
  shift 2
  if [ "${1:-}" = -cc ]; then ccx=$2; shift 2; fi
  mkdir -p "$d"
  printf '%s\n' "$spec" | tr ';' '\n' | sed 's/^ *//' >"$d/m.spec"
  for b in $BATCHES; do
    if ! $RSC "$d/m.spec" --seed 7 --target avx512 --batch "$b" --name m --main "$@" \
         -o "$d/b$b.c" 2>"$d/rsc.err"; then
      echo "FAIL $name: rsc failed at batch $b:"; cat "$d/rsc.err"; fail=$((fail + 1)); return
    fi
    if ! gcc $CCFLAGS $ccx -o "$d/b$b" "$d/b$b.c" -lm 2>"$d/cc.err"; then
      echo "FAIL $name: gcc failed at batch $b:"; head -20 "$d/cc.err"; fail=$((fail + 1)); return
    fi
  done
  # One image's input: IN_H * IN_W * IN_C values, bytes or floats.
  local n kind=f32 size=4
  n=$(awk '/^#define M_(IN_H|IN_W|IN_C) /{p = (p ? p : 1) * $3} END {print p}' "$d/b1.h")
  grep -q '^#define M_IN_IMAGENET 1$' "$d/b1.h" && kind=pixels
  grep -q '^#define M_IN_U8 1$' "$d/b1.h" && kind=u8 size=1
  $GEN $((n * IMAGES)) 5 "$d/all.in" $kind
  local isz=$((n * size))
  # Each image alone: the bytes every batch must give for it.
  for ((k = 0; k < IMAGES; k++)); do
    tail -c +$((k * isz + 1)) "$d/all.in" | head -c $isz >"$d/img$k.in"
    if ! "$d/b1" -w "$d/b1.weights" "$d/img$k.in" "$d/one$k.f32" 2>"$d/run.err"; then
      echo "FAIL $name: batch 1 failed on image $k:"; cat "$d/run.err"; fail=$((fail + 1)); return
    fi
  done
  # The outputs: OUT.f32 and, with endpoints, OUT.NAME.f32 beside it.
  local outs
  outs=$(cd "$d" && ls one0*.f32 | sed 's/^one0//')
  local bad=0
  for b in $BATCHES; do
    head -c $((b * isz)) "$d/all.in" >"$d/in$b"
    for t in 1 2; do
      if ! "$d/b$b" -t $t -w "$d/b$b.weights" "$d/in$b" "$d/out$b-$t.f32" 2>"$d/run.err"; then
        echo "FAIL $name: batch $b failed at -t $t:"; cat "$d/run.err"; bad=1; continue
      fi
      local o
      for o in $outs; do
        local got=$d/out$b-$t$o osz differ=""
        osz=$(bytes "$d/one0$o")
        if [ "$(bytes "$got")" -ne $((b * osz)) ]; then
          echo "FAIL $name: batch $b -t $t: out$o is $(bytes "$got") bytes, not $b x $osz"
          bad=1; continue
        fi
        for ((k = 0; k < b; k++)); do
          cmp -s -i $((k * osz)):0 -n "$osz" "$got" "$d/one$k$o" || differ="$differ $k"
        done
        if [ -n "$differ" ]; then
          echo "FAIL $name: batch $b -t $t: out$o of image(s)$differ differs from the image alone"
          bad=1
        fi
      done
    done
  done
  if [ $bad = 0 ]; then
    echo "ok   $name: each image's bytes at batch ${BATCHES// /, } and 1, 2 threads"; pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
}

SMALL='blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16'
# SE (its pool in the conv), the deep stem with a strided conv, avg-pool
# shortcuts, residual adds, the dense head; odd maps, so the conv's pixel
# tiles straddle images.
case_ se      "$SMALL; width 23; height 19; classes 5"
# The same paths through the vector kernels, with swish (the SE pool from the
# conv's stores), 1x1 strides and more blocks.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
isa=""
[[ $flags == *" avx2 "* && $flags == *" fma "* ]] && isa="-mavx2 -mfma"
[[ $flags == *" avx512f "* ]] && isa="-mavx512f -mavx2 -mfma"
case_ se_vec  'blocks 1 2 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 21; height 17; activation swish; stride_on 1x1; se_ratio 0.5; classes 3' \
  ${isa:+-cc "$isa"}
# Winograd convs, and a 4x4x64 3x3 conv whose estimates favour Winograd at
# batch 3 and 8 but the direct conv at batch 1 (select.c decides on one
# image's).
case_ wino    'blocks 1 1 2 2; widths 16 32 64 64; stem_widths 16 16 32; width 64; classes 5'
# The classic stem with its max pool, strided shortcuts, bytes in NCHW with
# ImageNet preprocessing, an avg head, and stage endpoints beside it.
case_ classic "blocks 1 1 1 1; widths 8 16 24 32; stem classic; stem_widths 16; stem_downsample maxpool; shortcut strided; width 29; height 21; input_type u8; input_layout nchw; preprocess imagenet; head avg" \
  --outputs c2,c3,c5,head
# No SE: the plain residual tail; a max head.
case_ no_se   "$SMALL; width 19; se_ratio 0; head max"

# --precision bf16 (docs/precision.md): the bf16 conv's tiles, its SE pool
# and the thread split keep each output's order of sums too (the vector code
# needs AVX512-BF16; the wrapper's target attribute compiles it at -O0 as well).
if grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  case_ bf16 'blocks 1 2 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 21; height 17; activation swish; se_ratio 0.5; classes 3' \
    --precision bf16 --target avx512-bf16
else
  echo "skip bf16: this CPU has no AVX512-BF16"
fi

echo "batch: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
