#!/bin/bash
# fuzz_replay.sh - replays the checked-in fuzz seed corpus (fuzz/corpus/<target>/)
# through each fuzz target built with the plain driver ($B/fuzz/replay_*), so
# inputs that once crashed rsc keep being run in `make test` without libFuzzer.
# A crash, abort or hang (60 s per target) fails the suite.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
for corpus in fuzz/corpus/*/; do
  t=$(basename "$corpus")
  bin=${B:-build}/fuzz/replay_$t
  if [ ! -x "$bin" ]; then
    echo "fuzz_replay: $bin missing (make $bin)"; fail=$((fail + 1)); continue
  fi
  if out=$(timeout 60 "$bin" "$corpus" 2>&1); then
    pass=$((pass + 1)); echo "  $t: $out"
  else
    fail=$((fail + 1)); echo "  $t: FAILED"; echo "$out" | tail -n 20
  fi
done
# fuzz_loader's reference: the freshly generated fz.weights must open and run
# (RSC_FUZZ_EXPECT_OPEN=1 makes the target abort otherwise), so the loader target
# reaches past every check of the loader whatever the checked-in corpus holds.
bin=${B:-build}/fuzz/replay_loader w=${B:-build}/fuzz/loader/fz.weights
if [ -x "$bin" ] && out=$(RSC_FUZZ_EXPECT_OPEN=1 timeout 60 "$bin" "$w" 2>&1); then
  pass=$((pass + 1)); echo "  loader, generated fz.weights opens and runs: $out"
else
  fail=$((fail + 1)); echo "  loader: the generated $w does not open and run"; echo "${out:-}" | tail -n 5
fi
echo "fuzz_replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
