#!/bin/bash
# run.sh - everything `make test` runs, in order, with one summary line at the
# end. Each suite prints its own "NAME: N passed, M failed" line, then its time.
set -u
cd "$(dirname "$0")/.."
suites=0 failed=0
run() {
  echo "== $1"
  suites=$((suites + 1))
  local t0=$SECONDS
  if ! "${@:2}"; then failed=$((failed + 1)); echo "!! suite $1 failed"; fi
  echo "   ($1: $((SECONDS - t0)) s)"
}
run_unit() {
  local fail=0
  for t in ${B:-build}/tests/test_*; do
    [ -x "$t" ] || continue
    "$t" || fail=1
  done
  return $fail
}
run unit       run_unit
run diag       tests/diag.sh
run fuzz_corpus tests/fuzz_replay.sh
run robustness tests/robustness.sh
run tsan       tests/tsan.sh
run e2e        tests/e2e.sh
run endpoints  tests/endpoints.sh
run profile    tests/profile.sh
run keras_h5   tests/keras_h5.sh
run embed      tests/embed.sh
run integration tests/integration.sh
run verify     tests/verify.sh
run digits     tests/digits.sh
run classify   tests/classify.sh
run torch      tests/torch_check.sh
run golden     tools/golden.sh check
echo "== summary"
echo "suites: $((suites - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
