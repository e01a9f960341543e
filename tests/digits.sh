#!/bin/bash
# digits.sh - the trained model end to end: rsc compiles the checked-in digits
# model (examples/digits: digits.spec, digits.safetensors from train.py), the
# generated C and examples/digits/eval.c are built with gcc AND clang under
# -std=c11 -Wall -Wextra -Wpedantic -Werror, and every held-out image must get
# the class PyTorch predicted (heldout.txt, written by train.py), with logits
# within 1e-4 of max|logit| of PyTorch's (heldout_logits.f32). This runs the
# u8 input and the compiled-in ImageNet preprocessing against PyTorch on a real
# network. Run from the repository root after `make`.
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
echo "digits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
