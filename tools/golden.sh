#!/bin/bash
# golden.sh write|check - the checked-in generated models under generated/.
#   write: regenerate them (make golden)
#   check: regenerate into a temporary directory and fail on any byte of
#          difference (part of make test); also checks that two runs of rsc
#          give identical bytes, .weights included.
# Each golden is the .c, the .h and a text manifest of the weights layout; the
# weights blob itself is not checked in (it is hundreds of MB).
set -u
cd "$(dirname "$0")/.."
mode=${1:-check}
RSC=${RSC:-${B:-build}/rsc}
# The kernels' tiles depend on --target, whose default is the host: pin it so
# that the goldens are the same on every machine.
TARGET="--target avx512"
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
