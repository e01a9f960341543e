#!/bin/bash
# digits.sh - the trained model end to end: rsc compiles the checked-in digits
# model (examples/digits: digits.spec, digits.safetensors from train.py), the
# generated C and examples/digits/eval.c are built with gcc AND clang under
# -std=c11 -Wall -Wextra -Wpedantic -Werror, and every held-out image must get
# the class PyTorch predicted (heldout.txt, written by train.py), with logits
# within 1e-4 of max|logit| of PyTorch's (heldout_logits.f32). This runs the
# u8 input and the compiled-in ImageNet preprocessing against PyTorch on a real
# network. Run from the repository root after `make`.
# Then the same model with --precision bf16 (where the CPU has AVX512-BF16):
# every held-out image must still get PyTorch's class (359/359, the goal of
# docs/precision.md), with logits within 5e-3 of max|logit| (measured: 3.0e-3;
# bf16 keeps 8 significant bits), and the .weights must be of bf16.
# Prints "digits: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
RSC=${RSC:-${B:-build}/rsc} DIGITS=examples/digits
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -ffp-contract=off ${GEN_CFLAGS:-}"
COMPILERS=${DIGITS_COMPILERS:-"gcc clang"}
[ "${RSC_TEST_SUBSET:-0}" = 1 ] && COMPILERS=${DIGITS_COMPILERS:-gcc} # make sanitize
pass=0 fail=0
if ! $RSC "$DIGITS/digits.spec" --weights "$DIGITS/digits.safetensors" --name digits \
     -o "$tmp/digits.c" 2>"$tmp/rsc.err"; then
  echo "FAIL rsc failed:"; cat "$tmp/rsc.err"
  echo "digits: 0 passed, 1 failed"; exit 1
fi
for cc in $COMPILERS; do
  if ! $cc $CCFLAGS -I"$tmp" -o "$tmp/eval_$cc" "$DIGITS/eval.c" "$tmp/digits.c" -lm \
       2>"$tmp/cc.err"; then
    echo "FAIL $cc: build failed:"; head -20 "$tmp/cc.err"; fail=$((fail + 1)); continue
  fi
  if "$tmp/eval_$cc" -w "$tmp/digits.weights" -r 1 -l "$DIGITS/heldout_logits.f32" "$DIGITS/heldout.u8" "$DIGITS/heldout.txt" \
       >"$tmp/out" 2>&1; then
    echo "ok   $cc: $(grep -E 'accuracy|same|logits' "$tmp/out" | tr -s ' ' | paste -sd';')"
    pass=$((pass + 1))
  else
    echo "FAIL $cc:"; cat "$tmp/out"; fail=$((fail + 1))
  fi
done
# bf16: rsc chooses --target avx512-bf16 on a CPU that has it; elsewhere
# there is nothing to run the kernels on.
if grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  mkdir -p "$tmp/bf16"
  if ! $RSC "$DIGITS/digits.spec" --weights "$DIGITS/digits.safetensors" --name digits \
       --precision bf16 -o "$tmp/bf16/digits.c" 2>"$tmp/rsc.err"; then
    echo "FAIL bf16: rsc failed:"; cat "$tmp/rsc.err"; fail=$((fail + 1))
  fi
  for cc in $COMPILERS; do
    [ -f "$tmp/bf16/digits.c" ] || break
    if ! $cc $CCFLAGS -I"$tmp/bf16" -o "$tmp/eval_bf16_$cc" "$DIGITS/eval.c" "$tmp/bf16/digits.c" \
         -lm 2>"$tmp/cc.err"; then
      echo "FAIL bf16 $cc: build failed:"; head -20 "$tmp/cc.err"; fail=$((fail + 1)); continue
    fi
    if "$tmp/eval_bf16_$cc" -w "$tmp/bf16/digits.weights" -r 1 -l "$DIGITS/heldout_logits.f32" \
         -t 5e-3 "$DIGITS/heldout.u8" "$DIGITS/heldout.txt" >"$tmp/out" 2>&1 &&
       grep -q "same prediction: *359/359" "$tmp/out"; then
      echo "ok   bf16 $cc: $(grep -E 'accuracy, rsc|same|logits' "$tmp/out" | tr -s ' ' | paste -sd';')"
      pass=$((pass + 1))
    else
      echo "FAIL bf16 $cc:"; cat "$tmp/out"; fail=$((fail + 1))
    fi
  done
  # The fp32 model refuses the bf16 file: its header names the precision.
  if [ -x "$tmp/eval_gcc" ] && [ -f "$tmp/bf16/digits.weights" ]; then
    if "$tmp/eval_gcc" -w "$tmp/bf16/digits.weights" -r 1 "$DIGITS/heldout.u8" "$DIGITS/heldout.txt" \
         2>&1 | grep -q "of another precision than this model (fp32)"; then
      pass=$((pass + 1))
    else
      echo "FAIL bf16: the fp32 model does not refuse the bf16 weights"; fail=$((fail + 1))
    fi
  fi
else
  echo "skip bf16: this CPU has no AVX512-BF16"
fi
echo "digits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
