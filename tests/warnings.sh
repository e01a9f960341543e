#!/bin/bash
# warnings.sh - the generated code compiles without a warning, in every
# configuration docs/integration.md lets a user build it in.
#
# 1. Each checked-in golden (generated/*/*.c, RS-50@160, RS-152@256 and the
#    u8-input digits net) under gcc and clang with -std=c11 -Wall -Wextra
#    -Wpedantic -Wshadow -Werror, at -O2 and -O3 (gcc's -Wmaybe-uninitialized
#    depends on how much it inlines), for the baseline x86-64 (the portable
#    vector code) and for x86-64-v4 (the AVX-512 kernels the goldens' --target
#    avx512 tiles are for). A user who builds rs152.c with -Werror must not be
#    stopped by our code: until 2026-11-30 gcc -O2 and -O3 flagged
#    rsc_conv2d_part's tile array as maybe uninitialized on RS-50@160.
# 2. The full matrix on one small model (fuzz/loader.spec, --main, --target
#    generic: the same file on every host, and a third of the compile time of
#    the avx512 tiles, which part 1 covers): gcc and clang x -O0/-O2/-O3 x
#    with/without -march=native x threads/-DFZ_NO_THREADS, and a forced
#    system-header include (-include stdio.h, as autotools' -include config.h
#    or a precompiled header does) in each of these without -march=native:
#    36 compiles, nproc at a time. The include changes which declarations the
#    headers make (the pinning code's affinity API, a front-end matter), and
#    -march only which vector code is compiled, so the include is crossed
#    with every compiler, level and threading but not with -march=native
#    (12 builds left out, 8 of them -O2/-O3 ones of ~6 s of CPU each).
#    Until 2026-12-08 gcc -O2 with NO_THREADS (how rsc --verify builds) warned
#    in rsc_slot_mean (-Waggressive-loop-optimizations), and the forced
#    include hid <sched.h>'s affinity API from the pinning code (implicit
#    sched_getaffinity, undeclared CPU_SETSIZE).
# 3. Behaviour of that degraded pinning (Linux): the forced-include build's -p
#    fails with the pinning message (fz_pin_threads returns ERR_THREADS) and
#    the plain build's -p -t 2 runs.
# 4. No template parameter or m4 builtin is left unexpanded in the small
#    model's or the goldens' .c and .h (the header once said
#    -DRSC_UPREFIX_NO_THREADS): the names are those emit.c and the templates
#    m4_define, so a new one is covered without editing this file.
# Compile only (-c) but for 3, so any x86-64 host will do. Part 1's builds
# run nproc at a time too (their order in the output varies).
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
jobs=$(nproc 2>/dev/null || echo 1)
# One golden build: prints "ok   ..." or "FAIL ..." and the first errors.
golden_build() {
  local c=$1 g=$2 cc=$3 flags=${4//_/ } tag=$5
  if $cc $WFLAGS $flags -I"$(dirname "$c")" -c "$g" -o "$tmp/$tag.o" 2>"$tmp/$tag.err"; then
    echo "ok   $c: $cc $flags, no warning"
  else
    echo "FAIL $c: $cc $flags:"; head -30 "$tmp/$tag.err"
  fi
}
export -f golden_build
export WFLAGS tmp
i=0
for c in "${goldens[@]}"; do
  # As rsc wrote it: the golden stores its runtime block as an #include.
  i=$((i + 1))
  tools/golden.sh expand "$c" >"$tmp/golden$i.c"
  for b in $BUILDS; do
    echo "$c $tmp/golden$i.c ${b%%:*} ${b#*:} g$i${b//[^A-Za-z0-9]/}"
  done
done | xargs -P "$jobs" -L 1 bash -c 'golden_build "$@"' _ >"$tmp/goldens" 2>&1
cat "$tmp/goldens"
pass=$((pass + $(grep -c '^ok   ' "$tmp/goldens")))
fail=$((fail + $(grep -c '^FAIL ' "$tmp/goldens")))
if [ "$(grep -c '^ok   \|^FAIL ' "$tmp/goldens")" -ne $((${#goldens[@]} * $(wc -w <<<"$BUILDS"))) ]; then
  echo "FAIL the goldens' builds did not all report"; fail=$((fail + 1))
fi

# 2. The matrix on the small model.
RSC=${RSC:-${B:-build}/rsc}
mkdir -p "$tmp/fz"
if ! $RSC fuzz/loader.spec --main --seed 1 --name fz --target generic -o "$tmp/fz/fz.c" \
  >"$tmp/err" 2>&1; then
  echo "FAIL rsc fuzz/loader.spec:"; cat "$tmp/err"; fail=$((fail + 1))
else
  # One compile: prints "ok   ..." or "FAIL ..." and the first errors.
  compile() {
    local cc=$1 flags=${2//,/ } tag=$3
    if $cc $WFLAGS $flags -c "$tmp/fz/fz.c" -o "$tmp/fz/$tag.o" 2>"$tmp/fz/$tag.err"; then
      echo "ok   fz.c: $cc $flags, no warning"
    else
      echo "FAIL fz.c: $cc $flags:"; head -20 "$tmp/fz/$tag.err"
    fi
  }
  export -f compile
  export WFLAGS tmp
  jobs=$(nproc 2>/dev/null || echo 1) t0=$SECONDS
  for cc in gcc clang; do
    for opt in -O0 -O2 -O3; do
      for march in "" ,-march=native; do
        for thr in "" ,-DFZ_NO_THREADS; do
          for inc in "" ,-include,stdio.h; do
            [ -n "$march" ] && [ -n "$inc" ] && continue
            f=$opt$march$thr$inc
            echo "$cc $f $cc${f//[^A-Za-z0-9]/}"
          done
        done
      done
    done
  done | xargs -P "$jobs" -L 1 bash -c 'compile "$@"' _ >"$tmp/matrix" 2>&1
  cat "$tmp/matrix"
  n=$(grep -c '^ok   ' "$tmp/matrix")
  m=$(grep -c '^FAIL ' "$tmp/matrix")
  pass=$((pass + n)) fail=$((fail + m))
  if [ $((n + m)) -ne 36 ]; then
    echo "FAIL the matrix ran $((n + m)) compiles, not 36"; fail=$((fail + 1))
  fi
  echo "     (the matrix: $((SECONDS - t0)) s, $jobs at a time)"

  # 3. Pinning with and without the affinity API (a threaded -O0 gcc build of each).
  if [ "$(uname -s)" = Linux ]; then
    head -c "$(awk '$2 == "FZ_IN_SIZE" {print $3}' "$tmp/fz/fz.h")" /dev/zero >"$tmp/fz/in.u8"
    gcc -pthread -o "$tmp/fz/plain" "$tmp/fz/gccO0.o" -lm
    gcc -pthread -o "$tmp/fz/forced" "$tmp/fz/gccO0includestdioh.o" -lm
    args=(-w "$tmp/fz/fz.weights" -t 2 "$tmp/fz/in.u8" "$tmp/fz/out.f32")
    if "$tmp/fz/plain" -p "${args[@]}" 2>"$tmp/err"; then
      echo "ok   fz -t 2 -p: pinned run"; pass=$((pass + 1))
    else
      echo "FAIL fz -t 2 -p:"; cat "$tmp/err"; fail=$((fail + 1))
    fi
    if ! "$tmp/fz/forced" -p "${args[@]}" 2>"$tmp/err" &&
       grep -q -- '-p: pinning threads needs' "$tmp/err" && "$tmp/fz/forced" "${args[@]}"; then
      echo "ok   -include stdio.h: -p refused ($(sed 's/^[^:]*: //' "$tmp/err")), -t 2 runs"
      pass=$((pass + 1))
    else
      echo "FAIL -include stdio.h build, -p:"; cat "$tmp/err"; fail=$((fail + 1))
    fi
  fi
fi

# 4. Nothing left unexpanded.
names=$(grep -oh 'm4_define(<|RSC_[A-Za-z0-9_]*' compiler/*.c templates/*.m4 | sed 's/.*<|//' |
  sort -u | paste -sd'|')
for f in "$tmp/fz/fz.c" "$tmp/fz/fz.h" generated/*/*.[ch]; do
  [ -f "$f" ] || continue
  if grep -nE "($names)([^A-Za-z0-9]|\$)|(^|[^A-Za-z0-9_])m4_" "$f" >"$tmp/err"; then
    echo "FAIL ${f#"$tmp"/}: an m4 name left unexpanded:"; head -5 "$tmp/err"; fail=$((fail + 1))
  else
    echo "ok   ${f#"$tmp"/}: no m4 name left"; pass=$((pass + 1))
  fi
done
echo "warnings: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
