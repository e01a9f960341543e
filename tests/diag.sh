#!/bin/bash
# diag.sh - end-to-end diagnostics: each tests/diag/NAME.spec is a bad spec, and
# `build/rsc tests/diag/NAME.spec -o OUT.c` must exit with status 1, print
# exactly tests/diag/NAME.expected on stderr (nothing on stdout), and write no
# file at all. A tests/diag/NAME.args file adds command-line arguments, one per
# line, between the spec and -o (for the messages about options and flags).
# Run from anywhere after `make`; paths are relative to the repository root, as
# they appear in the messages.
# Prints "diag: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
RSC=${RSC:-${B:-build}/rsc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for spec in tests/diag/*.spec; do
  name=$(basename "$spec" .spec)
  expected=tests/diag/$name.expected
  out=$tmp/out
  mkdir -p "$out"
  problems=()
  if [ ! -f "$expected" ]; then
    problems+=("no $expected")
  else
    args=()
    [ -f "tests/diag/$name.args" ] && mapfile -t args <"tests/diag/$name.args"
    $RSC "$spec" "${args[@]}" -o "$out/out.c" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    [ "$rc" -eq 1 ] || problems+=("exit status $rc, expected 1")
    if [ -s "$tmp/stdout" ]; then problems+=("unexpected output on stdout"); fi
    if ! cmp -s "$expected" "$tmp/stderr"; then
      problems+=("stderr differs from $expected:
$(diff -u --label expected --label actual "$expected" "$tmp/stderr")")
    fi
    left=$(ls -A "$out")
    if [ -n "$left" ]; then problems+=("files left behind: $left"); fi
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name"
    printf '  %s\n' "${problems[@]}"
  fi
  rm -rf "$out"
done
echo "diag: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
