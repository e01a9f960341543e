#!/bin/bash
# warnings.sh - the generated code compiles without a warning: each checked-in
# golden (generated/*/*.c, RS-50@160, RS-152@256 and the u8-input digits net)
# under gcc and clang with -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Werror,
# at -O2 and -O3 (gcc's -Wmaybe-uninitialized depends on how much it inlines),
# for the baseline x86-64 (the portable vector code) and for x86-64-v4 (the
# AVX-512 kernels the goldens' --target avx512 tiles are for). A user who
# builds rs152.c with -Werror must not be stopped by our code: until
# 2026-11-30 gcc -O2 and -O3 flagged rsc_conv2d_part's tile array as maybe
# uninitialized on RS-50@160. Compile only (-c), so any x86-64 host will do.
# Run from the repository root. Prints "warnings: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
WFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Werror"
# compiler | optimisation and target flags
BUILDS="gcc:-O2 gcc:-O3_-march=x86-64-v4 clang:-O2_-march=x86-64-v4 clang:-O3"
# RSC_TEST_SUBSET=1 (make sanitize): digits only; the sanitizers add nothing
# to a compile-only check, and make test compiles them all.
goldens=(generated/*/*.c)
[ "${RSC_TEST_SUBSET:-0}" = 1 ] && goldens=(generated/digits/digits.c)
pass=0 fail=0
for c in "${goldens[@]}"; do
  for b in $BUILDS; do
    cc=${b%%:*} flags=${b#*:}
    flags=${flags//_/ }
    if $cc $WFLAGS $flags -c "$c" -o "$tmp/o.o" 2>"$tmp/err"; then
      echo "ok   $c: $cc $flags, no warning"; pass=$((pass + 1))
    else
      echo "FAIL $c: $cc $flags:"; head -30 "$tmp/err"; fail=$((fail + 1))
    fi
  done
done
echo "warnings: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
