#!/bin/bash
# profile.sh - the per-layer profile of generated code (-D<PREFIX>_PROFILE,
# docs/kernels.md "Profile"). A small ResNet-RS is built with the flag under gcc
# AND clang (-std=c11 -Wall -Wextra -Wpedantic -Werror) and run with -r 3 on 1
# and 2 threads. Its stderr must hold the header line and exactly one row per
# fused layer, in layer order, with the timm names of `rsc --summary=json`'s
# fused nodes; GFLOP/s > 0 exactly for conv and dense rows; shares summing to
# ~100 %; every conv and dense row a time > 0. The profile must not change the output (bit-identical to the build
# without the flag), the build without it must print no profile, and
# PROFILE together with TRACE must not compile. Timing values are never checked.
# The profile builds are -O2 (a profile build must be warning-clean under the
# optimiser); the plain build, there for its output bytes and its silence, is
# -O0: the same bits at any level (no contraction, no reassociation), and gcc
# -O2 costs ~20 s of CPU for it.
# Run from the repository root after `make`. Prints "profile: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
RSC=${RSC:-${B:-build}/rsc}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -O2 ${GEN_CFLAGS:-}"
# -O0 after make sanitize's GEN_CFLAGS (-O1 and the sanitizers): faster with
# the sanitizers too.
CCFLAGS0="-std=c11 -Wall -Wextra -Wpedantic -Werror ${GEN_CFLAGS:-} -O0"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

flags=(specs/resnet-rs-50-i160.spec --blocks 1,2,1,1 --width-multiplier 0.25 --width 32
       --height 32 --batch 2 --seed 3)
$RSC "${flags[@]}" --main --name tp -o "$tmp/tp.c" || { echo "profile: rsc failed"; exit 1; }
$RSC "${flags[@]}" --summary=json > "$tmp/summary.json"
head -c $((4 * 2 * 32 * 32 * 3)) /dev/urandom > "$tmp/raw"
# A finite input: random bytes as floats can be NaN, so scale through python.
$PY -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); n=len(b)//4
open(sys.argv[2],"wb").write(struct.pack("<%df"%n, *[((x%2001)-1000)/500 for x in struct.unpack("<%dI"%n,b)]))' \
  "$tmp/raw" "$tmp/in.f32"

# The expected rows: the fused nodes in order, but the input, and whether each
# does multiply-adds that the profile counts (conv, dense).
$PY -c 'import json,sys
seen = []
for l in json.load(open(sys.argv[1]))["layers"]:
    if l["fused_node"] != "input" and l["fused_node"] not in [s[0] for s in seen]:
        seen.append((l["fused_node"], l["fused_op"].split("+")[0] in ("conv", "dense")))
for n, f in seen: print(n, int(f))' "$tmp/summary.json" > "$tmp/expected"

check_profile() { # check_profile NAME STDERR
  $PY - "$tmp/expected" "$2" <<'EOF' || { bad "$1: profile output wrong:"; sed 's/^/  /' "$2" | head -20; return; }
import sys
exp = [l.split() for l in open(sys.argv[1])]
lines = [l.split() for l in open(sys.argv[2]) if l.startswith("profile ")]
head, cols, rows = lines[0], lines[1], lines[2:]
assert head[1] == "tp:" and int(head[2]) == len(exp) and head[6] == "2", head  # mean of 2 runs
assert cols[1:] == ["layer", "ms", "GFLOP/s", "share"], cols
assert [r[1] for r in rows] == [e[0] for e in exp], ([r[1] for r in rows], exp)
for r, e in zip(rows, exp):
    assert len(r) == 5 and r[4].endswith("%"), r
    ms, gf = float(r[2]), float(r[3])
    assert ms >= 0, r
    if e[1] == "1":  # convs and dense take microseconds, far above the clock's step
        assert ms > 0 and gf > 0, (r, e)
    else:
        assert gf == 0, (r, e)
share = sum(float(r[4][:-1]) for r in rows)
assert abs(share - 100) < 0.5, share
EOF
  ok
}

# RSC_TEST_SUBSET=1 (make sanitize): gcc only.
ccs="gcc clang"
[ "${RSC_TEST_SUBSET:-0}" = 1 ] && ccs=gcc
for cc in $ccs; do
  if ! $cc $CCFLAGS -DTP_PROFILE "$tmp/tp.c" -o "$tmp/prof_$cc" -lm -pthread 2> "$tmp/cc.err"; then
    bad "$cc -DTP_PROFILE does not compile cleanly:"; head -20 "$tmp/cc.err"; continue
  fi
  ok
  for t in 1 2; do
    if ! "$tmp/prof_$cc" -w "$tmp/tp.weights" -r 3 -t $t "$tmp/in.f32" "$tmp/out_$cc$t.f32" \
      2> "$tmp/err_$cc$t"; then
      bad "$cc -t $t: run failed"; cat "$tmp/err_$cc$t"; continue
    fi
    check_profile "$cc -t $t" "$tmp/err_$cc$t"
  done
done

# Without the flag: same output bytes, no profile lines.
cc $CCFLAGS0 "$tmp/tp.c" -o "$tmp/plain" -lm -pthread
"$tmp/plain" -w "$tmp/tp.weights" -r 3 -t 2 "$tmp/in.f32" "$tmp/out_plain.f32" 2> "$tmp/err_plain"
if grep -q '^profile' "$tmp/err_plain"; then bad "plain build prints a profile"; else ok; fi
if cmp -s "$tmp/out_plain.f32" "$tmp/out_gcc1.f32" && cmp -s "$tmp/out_plain.f32" "$tmp/out_${ccs##* }2.f32"; then
  ok
else
  bad "the profile build's output differs from the plain build's"
fi
if cc $CCFLAGS -DTP_PROFILE -DTP_TRACE=x -c "$tmp/tp.c" -o "$tmp/both.o" 2>/dev/null; then
  bad "PROFILE with TRACE compiled"
else
  ok
fi

echo "profile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
