#!/bin/bash
# run-demo.sh - the main job (make run): compile a shipped ResNet-RS spec with
# rsc, build the generated C with the system compiler, run it on an input and
# show what happened and how fast. Override with SPEC=... and REPEAT=...
set -eu
cd "$(dirname "$0")/.."
SPEC=${SPEC:-specs/resnet-rs-50-i160.spec}
REPEAT=${REPEAT:-10}
CC=${CC:-cc}
out=build/demo
mkdir -p "$out"
make -s build/tests/f32gen >/dev/null
echo "== rsc $SPEC (random weights, seed 1)"
t0=$(date +%s.%N)
build/rsc "$SPEC" --seed 1 --main --stats -o "$out/model.c"
t1=$(date +%s.%N)
printf 'rsc took %.2f s; wrote %s\n' "$(awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}")" "$(cd "$out" && ls -sh model.c model.h model.weights | tr '\n' ' ')"
echo "== $CC -O3 -march=native -std=c11 -c model.c && link"
t0=$(date +%s.%N)
$CC -O3 -march=native -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$out/model" "$out/model.c" -lm
t1=$(date +%s.%N)
printf '%s took %.2f s\n' "$CC" "$(awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}")"
n=$(awk '/^#define .*_(BATCH|IN_H|IN_W|IN_C) /{p = (p ? p : 1) * $3} END {print p}' "$out/model.h")
build/tests/f32gen "$n" 1 "$out/input.f32"
echo "== run: $REPEAT inferences on a random input"
"$out/model" -w "$out/model.weights" -r "$REPEAT" "$out/input.f32" "$out/output.f32"
echo "== top-5 outputs (indices into the classes; random weights, so no meaning)"
od -An -v -f -w4 "$out/output.f32" | awk '{print NR-1, $1}' | sort -k2 -g -r | head -5 |
  awk '{printf "  class %4d  logit %10.4f\n", $1, $2}'
