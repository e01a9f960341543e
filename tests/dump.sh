#!/bin/bash
# dump.sh [check|write] - golden IR dumps: `rsc tests/dump/small.spec --dump=PASS`
# for every pass of the pipeline, compared with tests/dump/PASS.expected
# (`tests/dump.sh write` rewrites them; make golden does too). A change to any
# pass shows up here as a readable diff of that pass's IR, and only of the
# passes it changes, which the generated-C goldens (tools/golden.sh) show only
# as their end effect. The pass list is read from rsc itself (the list in its
# --dump error message), so a new pass without an .expected file fails here,
# and an .expected file of a pass rsc no longer has fails too.
# --target avx2 pins select's tiles, so the dumps are the same on every host.
# Prints "dump: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
mode=${1:-check}
RSC=${RSC:-${B:-build}/rsc}
SPEC=tests/dump/small.spec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# rsc: error: --dump: unknown pass in 'x' (passes: build shape ... pack)
passes=$($RSC "$SPEC" --dump=no-such-pass 2>&1 >/dev/null | sed -n 's/.*(passes: \(.*\))$/\1/p')
if [ -z "$passes" ]; then
  echo "FAIL dump: cannot read the pass list from '$RSC --dump=no-such-pass'"
  echo "dump: 0 passed, 1 failed"
  exit 1
fi
for p in $passes; do
  exp=tests/dump/$p.expected
  if ! $RSC "$SPEC" --target avx2 --seed 1 --dump="$p" -o "$tmp/m.c" >"$tmp/$p.out" 2>"$tmp/err"; then
    bad "$p: rsc failed: $(cat "$tmp/err")"; continue
  fi
  if [ "$mode" = write ]; then
    cp "$tmp/$p.out" "$exp"; echo "wrote $exp"; continue
  fi
  if [ ! -f "$exp" ]; then
    bad "$p: no $exp (tests/dump.sh write makes it)"
  elif diff -u --label "$exp" --label "rsc --dump=$p" "$exp" "$tmp/$p.out" >"$tmp/diff"; then
    echo "ok   $p"; pass=$((pass + 1))
  else
    bad "$p: the IR after $p differs from $exp (tests/dump.sh write rewrites it):"
    head -40 "$tmp/diff"
  fi
done
[ "$mode" = write ] && exit "$((fail > 0))"
for exp in tests/dump/*.expected; do
  p=$(basename "$exp" .expected)
  [[ " $passes " == *" $p "* ]] || bad "$exp: rsc has no pass '$p'"
done
echo "dump: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
