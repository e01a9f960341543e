#!/bin/bash
# golden.sh write|check|expand - the checked-in generated models under generated/.
#   write:  regenerate them (make golden)
#   check:  regenerate into a temporary directory and fail on any byte of
#           difference (part of make test); also checks that two runs of rsc
#           give identical bytes, .weights included.
#   expand FILE: print a golden .c as rsc wrote it (its runtime block pasted).
# Each golden is the .c, the .h and a text manifest of the weights layout; the
# weights blob itself is not checked in (it is hundreds of MB).
# The runtime block: rsc pastes the files runtime/rsc_kernels.h includes,
# verbatim and in that order, between the lines "==== begin rsc runtime" and
# "==== end rsc runtime" of every .c. A golden .c stores the model part only:
# its block is one #include of runtime/rsc_kernels.h (so it still compiles
# the same code), and check compares the block rsc wrote with those files
# once per golden, so a golden's diff shows the model, and a change of the
# runtime shows in runtime/ alone.
set -u
cd "$(dirname "$0")/.."
mode=${1:-check}
RSC=${RSC:-${B:-build}/rsc}
BEGIN_RT='==== begin rsc runtime'
END_RT='==== end rsc runtime'
# The include as seen from a golden, two directories below the root.
up=../..
RT_INCLUDE="#include \"$up/runtime/rsc_kernels.h\" /* golden: the block is runtime/, see tools/golden.sh */"
# The runtime's files in the order rsc pastes them.
runtime_files() {
  sed -n 's|^#include "\(rsc_[a-z0-9_]*\.h\)"$|runtime/\1|p' runtime/rsc_kernels.h
}
# A generated .c with its runtime block replaced by the include (stdin -> stdout).
strip_runtime() {
  awk -v b="$BEGIN_RT" -v e="$END_RT" -v inc="$RT_INCLUDE" '
    index($0, b) { print; print inc; skip = 1; next }
    index($0, e) { skip = 0 }
    !skip'
}
# The runtime block of a generated .c, without its marker lines.
runtime_block() {
  awk -v b="$BEGIN_RT" -v e="$END_RT" 'index($0, e) { on = 0 } on; index($0, b) { on = 1 }' "$1"
}
if [ "$mode" = expand ]; then
  f=${2:?usage: golden.sh expand FILE}
  awk -v inc="$RT_INCLUDE" -v files="$(runtime_files | paste -sd' ')" '
    $0 == inc { n = split(files, fs, " "); for (i = 1; i <= n; i++) while ((getline l < fs[i]) > 0) print l; next }
    { print }' "$f"
  exit
fi
# The kernels' tiles depend on --target and --cpu, whose defaults are the
# host's: pin them so that the goldens are the same on every machine.
TARGET="--target avx512 --cpu zen5"
# dir name | spec | output base name
GOLDENS="rs50_160:specs/resnet-rs-50-i160.spec:rs50 rs152_256:specs/resnet-rs-152-i256.spec:rs152
  digits:examples/digits/digits.spec:digits"  # u8 input, ImageNet preprocessing: the entry op
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for g in $GOLDENS; do
  IFS=: read -r dir spec base <<<"$g"
  if [ "$mode" = write ]; then
    mkdir -p "generated/$dir"
    $RSC "$spec" --main --seed 1 $TARGET -o "generated/$dir/$base.c" --manifest "generated/$dir/$base.manifest" || exit 1
    strip_runtime <"generated/$dir/$base.c" >"$tmp/model.c" && mv "$tmp/model.c" "generated/$dir/$base.c" || exit 1
    rm -f "generated/$dir/$base.weights"
    echo "wrote generated/$dir/$base.{c,h,manifest}"
    continue
  fi
  mkdir -p "$tmp/a/$dir" "$tmp/b/$dir"
  for run in a b; do
    $RSC "$spec" --main --seed 1 $TARGET -o "$tmp/$run/$dir/$base.c" --manifest "$tmp/$run/$dir/$base.manifest" || { fail=$((fail + 1)); continue 2; }
  done
  if cmp -s "$tmp/a/$dir/$base.weights" "$tmp/b/$dir/$base.weights" &&
     cmp -s "$tmp/a/$dir/$base.c" "$tmp/b/$dir/$base.c"; then
    echo "ok   $dir: two runs of rsc give identical bytes"; pass=$((pass + 1))
  else
    echo "FAIL $dir: two runs of rsc differ"; fail=$((fail + 1))
  fi
  if runtime_block "$tmp/a/$dir/$base.c" | cmp -s - <(cat $(runtime_files)); then
    echo "ok   $dir/$base.c: its runtime block is runtime/rsc_kernels.h's files"; pass=$((pass + 1))
  else
    echo "FAIL $dir/$base.c: its runtime block is not runtime/rsc_kernels.h's files, in order"; fail=$((fail + 1))
  fi
  strip_runtime <"$tmp/a/$dir/$base.c" >"$tmp/a/$dir/$base.c.model" && mv "$tmp/a/$dir/$base.c.model" "$tmp/a/$dir/$base.c"
  for ext in c h manifest; do
    if diff -u "generated/$dir/$base.$ext" "$tmp/a/$dir/$base.$ext" >"$tmp/diff" 2>&1; then
      echo "ok   $dir/$base.$ext matches the golden"; pass=$((pass + 1))
    else
      echo "FAIL $dir/$base.$ext differs from the golden (make golden rewrites it):"
      head -40 "$tmp/diff"; fail=$((fail + 1))
    fi
  done
done
[ "$mode" = write ] && exit 0
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
