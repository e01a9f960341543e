#!/bin/bash
# torch_check.sh - the outside cross-check: an independent ResNet-RS written in
# torch.nn (tests/torch_rs.py, timm's state_dict names) is randomised, saved as a
# safetensors file and run in float64 on a random input. For each case:
#   - rsc compiles the same spec with those weights (--weights, so the importer,
#     BN folding and everything after it are on the path), the generated program
#     is built and run, and its output must match torch within 1e-4 of max|out|;
#   - the reference evaluator (tests/refeval.c) runs on the same spec and weights
#     and must match torch too: this validates the oracle that e2e.sh trusts.
# The generated code is built at -O0 (TORCH_CC_OPT=-O2 for the optimiser):
# what this suite checks is rsc's side, the importer, the folding and the
# layouts, against an outside network, which no optimisation level changes;
# tests/e2e.sh builds every kernel and option at -O2 with gcc and clang. gcc
# -O2 costs ~20 s of CPU per model here (8 models), -O0 ~1.5 s.
# Run from the repository root after `make` (needs $B/rsc, $B/tests/refeval,
# $B/tests/f32cmp; B defaults to build). Prints "torch: N passed, M failed". Without torch the suite
# is skipped (exit 0) unless TORCH_REQUIRED=1.
set -u
cd "$(dirname "$0")/.."
PY=${TORCH_PYTHON:-/usr/bin/python3}
B=${B:-build}; RSC=${RSC:-$B/rsc} REF=$B/tests/refeval CMP=$B/tests/f32cmp
TOL=1e-4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$B/test-logs/torch.txt
mkdir -p "$B/test-logs"
: >"$log"
pass=0 fail=0 skipped=0
# RSC_TEST_SUBSET=1 (make sanitize): the classic family, the custom net with
# everything flipped, and the two feature-map/pooled heads; the RS-50 and RS-101
# cases take the same paths as e2e's with random weights, at many times the cost.
SUBSET_CASES=" resnet50 custom head_none head_max se_timm "

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "SKIP torch all: $PY cannot import torch and numpy"
  [ "${TORCH_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
fi
for tool in "$REF" "$CMP"; do
  [ -x "$tool" ] || { echo "torch: $tool is missing: run make build/tests/refeval build/tests/f32cmp"; exit 1; }
done
have_rsc=1
if [ ! -x "$RSC" ]; then
  have_rsc=0
  echo "NOTE: $RSC is missing: only the reference evaluator is checked against torch"
fi

# check NAME RESULT_FILE WHAT: compares one output with torch's and counts it.
check() {
  local res
  if res=$($CMP "$2" "$d/torch.f32" "$TOL" 2>&1); then
    echo "ok   $1 ($3): $res"; pass=$((pass + 1))
  else
    echo "FAIL $1 ($3): $res"; fail=$((fail + 1))
  fi
  echo "$1 $3 $res" >>"$log"
}

# case_ NAME 'spec; lines; separated; by; semicolons'. Each spec key becomes the
# torch_rs.py flag of the same name ("stem_widths 8 16 24" -> --stem-widths 8,16,24).
case_() {
  local name=$1 spec=$2
  if [ "${RSC_TEST_SUBSET:-0}" = 1 ] && [[ $SUBSET_CASES != *" $name "* ]]; then
    echo "SKIP torch $name: not in RSC_TEST_SUBSET"; skipped=$((skipped + 1)); return
  fi
  d=$tmp/$1
  mkdir -p "$d"
  printf '%s\n' "$spec" | tr ';' '\n' | sed 's/^ *//; /^$/d' >"$d/m.spec"
  local args=() key vals
  while read -r key vals; do
    args+=("--${key//_/-}" "${vals// /,}")
  done <"$d/m.spec"
  if ! "$PY" tests/torch_rs.py "${args[@]}" --seed 5 --weights "$d/w.safetensors" \
       --input "$d/in.f32" --output "$d/torch.f32" >"$d/torch.out" 2>&1; then
    echo "FAIL $name: torch_rs.py failed:"; cat "$d/torch.out"; fail=$((fail + 1)); return
  fi
  echo "     $name: $(cat "$d/torch.out")"

  # The oracle: unfused graph, raw weights, naive loops.
  if $REF "$d/m.spec" --weights "$d/w.safetensors" "$d/in.f32" "$d/ref.f32" 2>"$d/ref.err"; then
    check "$name" "$d/ref.f32" refeval
  else
    echo "FAIL $name (refeval): failed:"; cat "$d/ref.err"; fail=$((fail + 1))
  fi

  # The compiler under test.
  [ "$have_rsc" = 1 ] || return
  if ! $RSC "$d/m.spec" --weights "$d/w.safetensors" --main -o "$d/m.c" 2>"$d/rsc.err"; then
    echo "FAIL $name (rsc): rsc failed:"; cat "$d/rsc.err"; fail=$((fail + 1)); return
  fi
  # After make sanitize's GEN_CFLAGS (-O1 and the sanitizers): -O0 is faster
  # with the sanitizers too.
  if ! cc -std=c11 ${GEN_CFLAGS:-} ${TORCH_CC_OPT:--O0} -o "$d/m" "$d/m.c" -lm 2>"$d/cc.err"; then
    echo "FAIL $name (rsc): the generated code does not build:"; head -20 "$d/cc.err"
    fail=$((fail + 1)); return
  fi
  if ! "$d/m" -w "$d/m.weights" "$d/in.f32" "$d/out.f32" 2>"$d/run.err"; then
    echo "FAIL $name (rsc): the model failed:"; cat "$d/run.err"; fail=$((fail + 1)); return
  fi
  check "$name" "$d/out.f32" rsc
}

# ResNet-RS-50 at its paper resolution: the real thing, 35.7 M parameters.
case_ rs50_160    'depth 50; height 160; width 160'
# Odd, non-square input: partial avg-pool windows (in-bounds count), ceil sizes.
case_ rs50_97x131 'depth 50; height 97; width 131'
# A deeper preset without SE (no se.* tensors in the file).
case_ rs101_64    'depth 101; width 64; se_ratio 0'
# The classic family: 7x7 stem, max pool, strided shortcut; batch and classes.
case_ resnet50    'depth 50; width 67; stem classic; stem_widths 64; stem_downsample maxpool; shortcut strided; se_ratio 0; batch 2; classes 10'
# Everything else flipped at once on a small custom net.
case_ custom      'blocks 1 2 1 1; widths 24 40 72 100; width_multiplier 0.75; stem_widths 8 16 24; se_ratio 0.3; channels 1; height 29; width 37; bn_eps 0.001; activation swish; stride_on 1x1; classes 7; classifier_activation softmax'
# A feature-map head (NHWC output) with batch 2.
case_ head_none   'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; height 41; width 23; batch 2; head none'
case_ head_max    'blocks 1 1 2 1; widths 8 16 24 32; stem_widths 8 8 16; height 33; width 47; head max; activation swish'

# timm-shaped SE: at se_ratio 0.1 timm's make_divisible(C*r, 8) widths differ
# from Keras' int(C*r) (64 channels: 8 against 6). Without se_rounding timm rsc
# must refuse the file, naming an SE tensor; with it, match torch.
case_ se_timm     'blocks 1 1 1 1; widths 16 24 40 56; stem_widths 8 8 16; width 35; se_ratio 0.1; se_rounding timm'
if [ "$have_rsc" = 1 ] && [ -f "$tmp/se_timm/w.safetensors" ]; then
  grep -v '^se_rounding' "$tmp/se_timm/m.spec" >"$tmp/se_timm/keras.spec"
  if ! $RSC "$tmp/se_timm/keras.spec" --weights "$tmp/se_timm/w.safetensors" -o "$tmp/se_timm/k.c" \
       2>"$tmp/se_timm/k.err" && grep -q "se.fc1.weight" "$tmp/se_timm/k.err" &&
     [ ! -e "$tmp/se_timm/k.c" ]; then
    echo "ok   se_timm_refused_without_key: $(head -1 "$tmp/se_timm/k.err")"; pass=$((pass + 1))
  else
    echo "FAIL se_timm_refused_without_key: timm-shaped SE weights not refused by the Keras rounding:"
    head -3 "$tmp/se_timm/k.err"; fail=$((fail + 1))
  fi
fi

echo "torch: $pass passed, $fail failed"
[ "$skipped" -gt 0 ] && echo "torch: RSC_TEST_SUBSET=1: $skipped cases not run"
[ "$fail" -eq 0 ]
