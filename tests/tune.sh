#!/bin/bash
# tune.sh - rsc --tune and --tuning on the digits example (20 small conv
# shapes, so the real timing run takes seconds):
#   1. --tune writes a tuning file for this host: a 'use' line per distinct
#      conv shape, each with its 'time' lines;
#   2. determinism: --tune-timings on that file gives the same bytes, twice;
#      edited timings move the choice with them;
#   3. a tuning whose schedules are all direct (and differ from the model's)
#      gives a model whose output is the untuned one's bit for bit (no sum
#      changes order), on the held-out images; one that switches Winograd
#      and direct passes --verify (the reference evaluator, tolerance 1e-4);
#   4. malformed tuning files: exit 1 with file:line:col, nothing written;
#      another machine kind's file refused; shapes the model lacks warned
#      about and ignored.
# Prints "tune: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
RSC=$(realpath "${RSC:-${B:-build}/rsc}")
D=examples/digits
W=$(mktemp -d /tmp/rsc-tune.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
# The kind and target rsc picks on this host, from a banner.
"$RSC" "$D/digits.spec" -o "$W/host.c" 2>/dev/null
host=$(sed -n 's/^ \* Tuned for: --target \([a-z0-9]*\) --cpu \([a-z0-9]*\).*/\2 \1/p' "$W/host.c")
read -r cpu target <<<"$host"
OPTS="--cpu $cpu --target $target"

# 1. A real tuning run.
if "$RSC" "$D/digits.spec" --tune "$W/t.tuning" 2>"$W/err" &&
   head -5 "$W/t.tuning" | grep -qx "machine $cpu $target"; then
  shapes=$("$RSC" "$D/digits.spec" -o "$W/m.c" --main && grep -o 'k_conv[0-9a-z_]*\|k_wino[0-9a-z_]*' "$W/m.c" |
    sed -E 's/^k_wino2x2_3x3_/k_conv3x3s1x1p1x1_/; s/_kb.*//' | sort -u | wc -l)
  uses=$(grep -c '^use ' "$W/t.tuning")
  nouse=$(awk '$1 == "use" { u[$2] = 1 } $1 == "time" && !u[$2] { print $2 }' "$W/t.tuning" | wc -l)
  if [ "$uses" -eq "$shapes" ] && [ "$nouse" -eq 0 ]; then ok "--tune: $uses shapes, each timed"
  else bad "--tune: $uses use lines for $shapes shapes, $nouse time lines without one"; fi
else
  bad "--tune failed:"; cat "$W/err"
fi

# 2. Deterministic given the timings.
"$RSC" "$D/digits.spec" --tune "$W/a.tuning" --tune-timings "$W/t.tuning" &&
"$RSC" "$D/digits.spec" --tune "$W/b.tuning" --tune-timings "$W/a.tuning" &&
if cmp -s "$W/t.tuning" "$W/a.tuning" && cmp -s "$W/a.tuning" "$W/b.tuning"; then
  ok "--tune-timings: the same bytes"
else bad "--tune-timings gives other bytes"; diff "$W/t.tuning" "$W/a.tuning" | head; fi
# Every candidate of every shape but the last made the fastest in turn: the
# 'use' line must follow.
last=$(awk '$1 == "time" { l = $0 } END { print l }' "$W/t.tuning")
key=$(cut -d' ' -f2 <<<"$last")
awk -v l="$last" '$0 == l { $NF = "0.000001" } { print }' "$W/t.tuning" > "$W/e.tuning"
"$RSC" "$D/digits.spec" --tune "$W/f.tuning" --tune-timings "$W/e.tuning"
want="use ${last#time }"; want=${want% *}
if grep -qxF "$want" "$W/f.tuning"; then ok "edited timings move the choice"
else bad "edited timings: wanted '$want', got '$(grep "^use $key " "$W/f.tuning")'"; fi

# 3. Bit-identical outputs under direct schedules. The tuning: for each shape
# the model runs direct (its first candidate), the last direct candidate
# (never the model's own).
{ echo "machine $cpu $target"
  awk '$1 == "time" && !($2 in first) { first[$2] = $3 }
       $1 == "time" && $3 == "direct" && first[$2] == "direct" { l[$2] = $0; o[$2] = 1 }
       END { for (k in o) { s = l[k]; sub(/^time /, "use ", s); sub(/ [0-9.e-]+$/, "", s); print s } }' \
       "$W/t.tuning" | sort; } > "$W/direct.tuning"
"$RSC" "$D/digits.spec" --weights "$D/digits.safetensors" --name net --main -o "$W/u.c" &&
"$RSC" "$D/digits.spec" --weights "$D/digits.safetensors" --name net --main $OPTS \
  --tuning "$W/direct.tuning" -o "$W/d.c" &&
changed=$(diff <(grep -o 'k_conv[0-9a-z_]*' "$W/u.c" | sort -u) <(grep -o 'k_conv[0-9a-z_]*' "$W/d.c" | sort -u) | grep -c '^>')
insize=$(sed -n 's/^#define NET_IN_SIZE \([0-9]*\)$/\1/p' "$W/u.h")
batch=$(sed -n 's/^#define NET_BATCH \([0-9]*\)$/\1/p' "$W/u.h")
head -c $((insize * batch)) "$D/heldout.u8" > "$W/in.u8"
for v in u d; do ${CC:-cc} -O2 -march=native -std=c11 -ffp-contract=off "$W/$v.c" -o "$W/$v" -lm -pthread; done
"$W/u" -w "$W/u.weights" "$W/in.u8" "$W/u.out" >/dev/null 2>&1
"$W/d" -w "$W/d.weights" "$W/in.u8" "$W/d.out" >/dev/null 2>&1
if [ "${changed:-0}" -gt 0 ] && [ -s "$W/u.out" ] && cmp -s "$W/u.out" "$W/d.out"; then
  ok "direct schedules: $changed kernels changed, output bit-identical"
else bad "direct schedules: ${changed:-0} kernels changed, outputs differ or missing"; fi
# Winograd switched both ways: within the reference's tolerance.
{ echo "machine $cpu $target"
  awk '$1 == "use" && $3 == "wino" { w[$2] = 1 }
       $1 == "time" { if ($3 == "wino" && !(($2) in w) && !(($2) in p)) { p[$2] = $0 }
                      if ($3 == "direct" && (($2) in w) && !(($2) in p)) { p[$2] = $0 } }
       END { for (k in p) { s = p[k]; sub(/^time /, "use ", s); sub(/ [0-9.e-]+$/, "", s); print s } }' \
       "$W/t.tuning" | sort; } > "$W/wino.tuning"
nw=$(grep -c '^use ' "$W/wino.tuning")
if [ "$nw" -gt 0 ] && "$RSC" "$D/digits.spec" --weights "$D/digits.safetensors" $OPTS \
     --tuning "$W/wino.tuning" --verify > "$W/verify.out" 2>&1; then
  ok "Winograd/direct switched on $nw shapes: --verify passes"
else bad "Winograd/direct switched on $nw shapes:"; tail -5 "$W/verify.out"; fi

# 4. Bad files. expect NAME PATTERN FILE_CONTENT [rsc options]
expect() {
  local name=$1 pat=$2 text=$3; shift 3
  printf '%s' "$text" > "$W/bad.tuning"
  rm -f "$W"/o.*
  local err rc
  err=$("$RSC" "$D/digits.spec" $OPTS "$@" --tuning "$W/bad.tuning" -o "$W/o.c" 2>&1); rc=$?
  if [ $rc -eq 1 ] && grep -qE -- "$pat" <<<"$err" && ! ls "$W"/o.* >/dev/null 2>&1; then ok "$name"
  else bad "$name: rc=$rc, wanted /$pat/, got:"; echo "$err" | head -5; fi
}
M="machine $cpu $target"
K=conv3x3s2x2p1x1_n1_32x32x3_16x16x16
expect "unknown directive" "bad\.tuning:2:1: error: unknown directive" "$M
frobnicate 1
"
expect "no machine line" "no 'machine' line" "# nothing
"
expect "use before machine" "bad\.tuning:1:1: error: 'use' before the 'machine' line" "use $K direct kb16 np8 kg1 nx1 xp0 tg1 tc0
$M
"
expect "unknown machine kind" "bad\.tuning:1:9: error: unknown machine kind" "machine pentium avx512
"
expect "another machine kind" "bad\.tuning:1:1: error: tuned for --cpu .* not this compile's" \
  "machine $([ "$cpu" = zen4 ] && echo spr || echo zen4) $target
"
expect "bad shape key" "bad\.tuning:2:5: error: expected a conv shape" "$M
use conv3x3_oops direct kb16 np8 kg1 nx1 xp0 tg1 tc0
"
expect "non-canonical key" "bad\.tuning:2:5: error: expected a conv shape" "$M
use conv3x3s2x2p1x1_n1_32x32x03_16x16x16 direct kb16 np8 kg1 nx1 xp0 tg1 tc0
"
expect "huge number in key" "bad\.tuning:2:5: error: expected a conv shape" "$M
use conv3x3s2x2p1x1_n1_32x32x3_16x16x99999999999999 direct kb16 np8 kg1 nx1 xp0 tg1 tc0
"
expect "bad schedule word" "bad\.tuning:2:$((6 + ${#K})): error: expected the schedule" "$M
use $K fast
"
expect "missing field" "bad\.tuning:2:[0-9]+: error: missing 'tc' field" "$M
use $K direct kb16 np8 kg1 nx1 xp0 tg1
"
expect "field out of range" "bad\.tuning:2:[0-9]+: error: 'nx' is out of range 0\.\.1" "$M
use $K direct kb16 np8 kg1 nx2 xp0 tg1 tc0
"
expect "field order" "bad\.tuning:2:[0-9]+: error: expected the schedule's 'npN' here" "$M
use $K direct kb16 kg1 np8 nx1 xp0 tg1 tc0
"
expect "trailing word" "bad\.tuning:2:[0-9]+: error: unexpected 'fast' at the end" "$M
use $K direct kb16 np8 kg1 nx1 xp0 tg1 tc0 fast
"
expect "bad time" "bad\.tuning:2:[0-9]+: error: expected the time in ms" "$M
time $K direct kb16 np8 kg1 nx1 xp0 tg1 tc0 -3
"
expect "second use" "bad\.tuning:3:5: error: a second 'use' line for '$K' \(the first is line 2\)" "$M
use $K direct kb16 np8 kg1 nx1 xp0 tg1 tc0
use $K direct kb16 np9 kg1 nx1 xp0 tg1 tc0
"
expect "schedule not for this shape" "bad\.tuning:2:5: error: schedule for '$K': Winograd, but this conv" "$M
use $K wino kb16 nt8
"
expect "too many registers" "bad\.tuning:2:5: error: schedule for '$K': a 64x16 tile needs" "$M
use $K direct kb64 np16 kg1 nx1 xp0 tg1 tc0
"
# A shape of another model: warned about, the rest applies, exit 0.
printf '%s\nuse conv1x1s1x1p0x0_n1_7x7x7_7x7x7 direct kb16 np7 kg1 nx0 xp0 tg1 tc0\n' "$M" > "$W/other.tuning"
if err=$("$RSC" "$D/digits.spec" $OPTS --tuning "$W/other.tuning" -o "$W/o.c" 2>&1) &&
   grep -q "other\.tuning:2:5: warning: no conv of this model has shape" <<<"$err" && [ -s "$W/o.c" ]; then
  ok "another model's shape: warned, ignored"
else bad "another model's shape:"; echo "$err" | head -3; fi
# --tune measures this host only.
if ! "$RSC" "$D/digits.spec" --cpu "$([ "$cpu" = zen4 ] && echo spr || echo zen4)" \
     --tune "$W/x.tuning" 2>"$W/err" && grep -q "tune times this host" "$W/err" && [ ! -e "$W/x.tuning" ]; then
  ok "--tune refuses another machine kind"
else bad "--tune with another --cpu:"; head -3 "$W/err"; fi

echo "tune: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
