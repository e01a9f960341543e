#!/bin/bash
# run-demo.sh - the main job (make run): a ResNet-RS trained in PyTorch
# (examples/digits: scikit-learn's handwritten digits, weights checked in),
# compiled by rsc, built with the system compiler, run on the held-out images
# through the generated C; prints its accuracy next to PyTorch's on the same
# images, checks that the two predict the same class for every image (exit 1
# if not) and shows the speed.
#
# SPEC=FILE (any other spec) runs the random-weights demo instead: compile the
# spec, build it with the generated main(), time REPEAT inferences on a random
# input (`make demo-rs50` is that with specs/resnet-rs-50-i160.spec).
set -eu
cd "$(dirname "$0")/.."
DIGITS=examples/digits
SPEC=${SPEC:-$DIGITS/digits.spec}
REPEAT=${REPEAT:-10}
CC=${CC:-cc}
CFLAGS_DEMO="-O3 -march=native -std=c11 -Wall -Wextra -Wpedantic -Werror"

secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b - a}'; }

digits_demo() {
  local out=build/digits
  mkdir -p "$out"
  echo "== rsc $SPEC --weights $DIGITS/digits.safetensors (trained by $DIGITS/train.py)"
  local t0 t1
  t0=$(date +%s.%N)
  build/rsc "$SPEC" --weights "$DIGITS/digits.safetensors" --name digits --stats -o "$out/digits.c"
  t1=$(date +%s.%N)
  echo "rsc took $(secs "$t0" "$t1") s; wrote $(cd "$out" && ls -sh digits.c digits.h digits.weights | tr '\n' ' ')"
  echo "== $CC $CFLAGS_DEMO $DIGITS/eval.c digits.c"
  t0=$(date +%s.%N)
  $CC $CFLAGS_DEMO -I"$out" -o "$out/eval" "$DIGITS/eval.c" "$out/digits.c" -lm
  t1=$(date +%s.%N)
  echo "$CC took $(secs "$t0" "$t1") s"
  echo "== classify the held-out digits through the generated C, compare with PyTorch"
  "$out/eval" -w "$out/digits.weights" -r "$REPEAT" -l "$DIGITS/heldout_logits.f32" "$DIGITS/heldout.u8" "$DIGITS/heldout.txt"
}

random_demo() {
  local out=build/demo
  mkdir -p "$out"
  make -s build/tests/f32gen >/dev/null
  echo "== rsc $SPEC (random weights, seed 1)"
  local t0 t1
  t0=$(date +%s.%N)
  build/rsc "$SPEC" --seed 1 --main --stats -o "$out/model.c"
  t1=$(date +%s.%N)
  echo "rsc took $(secs "$t0" "$t1") s; wrote $(cd "$out" && ls -sh model.c model.h model.weights | tr '\n' ' ')"
  echo "== $CC $CFLAGS_DEMO -c model.c && link"
  t0=$(date +%s.%N)
  $CC $CFLAGS_DEMO -o "$out/model" "$out/model.c" -lm
  t1=$(date +%s.%N)
  echo "$CC took $(secs "$t0" "$t1") s"
  local n kind=f32
  n=$(awk '/^#define .*_(BATCH|IN_H|IN_W|IN_C) /{p = (p ? p : 1) * $3} END {print p}' "$out/model.h")
  grep -q '^#define .*_IN_IMAGENET 1$' "$out/model.h" && kind=pixels
  grep -q '^#define .*_IN_U8 1$' "$out/model.h" && kind=u8
  build/tests/f32gen "$n" 1 "$out/input.f32" $kind
  echo "== run: $REPEAT inferences on a random input"
  "$out/model" -w "$out/model.weights" -r "$REPEAT" "$out/input.f32" "$out/output.f32"
  echo "== top-5 outputs (indices into the classes; random weights, so no meaning)"
  od -An -v -f -w4 "$out/output.f32" | awk '{print NR-1, $1}' | sort -k2 -g -r | head -5 |
    awk '{printf "  class %4d  logit %10.4f\n", $1, $2}'
}

if [ "$SPEC" = "$DIGITS/digits.spec" ]; then
  digits_demo
else
  random_demo
fi
