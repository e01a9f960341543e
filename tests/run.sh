#!/bin/bash
# run.sh - everything `make test` runs, with one summary line at the end. Each
# suite prints its own "NAME: N passed, M failed" line, then its wall time and
# the CPU time (user + system) of its processes, which is steadier than the
# wall time on a shared machine; the summary adds them up with the load
# average at the end. RSC_SUITES="e2e_1 warnings ..." runs only those suites
# (names as in the queue below), to time or rerun a few.
#
# The suites are independent (each works in its own mktemp directory), so they
# run side by side, RSC_TEST_JOBS at a time (default: one per CPU): most of
# their time is one single-threaded cc building a generated model, and one at a
# time left the second core idle (make test took 49 min on a 2-vCPU
# development VM, and CI ran past its limit with make sanitize after it). The longest start
# first; e2e, the longest by far, runs as two shards (E2E_SHARD). Each suite's
# output is kept apart and printed whole when it ends.
#
# No silent passes: a suite that leaves a case out (a CPU without the ISA, a
# missing tool, RSC_TEST_SUBSET=1) prints one line "SKIP <suite> <case>: why"
# per case; they are counted into the summary line, so a run that tested less
# says so. A case that cannot run for a reason the machine should not have
# (rsc not built, a compiler missing) fails instead.
set -u
cd "$(dirname "$0")/.."
jobs=${RSC_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: RSC_TEST_JOBS must be a positive integer, not '$jobs'" >&2; exit 2; }
out=$(mktemp -d /tmp/rsc-run.XXXXXX)
trap 'rm -rf "$out"' EXIT

run_unit() {
  local fail=0
  for t in ${B:-build}/tests/test_*; do
    [ -x "$t" ] || continue
    "$t" || fail=1
  done
  return $fail
}

# NAME COMMAND..., longest first by CPU seconds (2026-12-08, after the -O0
# builds, measured on a 2-core machine at load 15-20: e2e 222 and 257 a shard,
# warnings 284 on two jobs of its own, endpoints 124, torch 51, profile 38,
# embed 34; from the last quiet run before them: tsan ~190, classify ~90, the
# rest under 30 each).
queue=(
  "e2e_1        env E2E_SHARD=1/2 tests/e2e.sh"
  "e2e_2        env E2E_SHARD=2/2 tests/e2e.sh"
  "warnings     tests/warnings.sh"
  "tsan         tests/tsan.sh"
  "endpoints    tests/endpoints.sh"
  "classify     tests/classify.sh"
  "profile      tests/profile.sh"
  "torch        tests/torch_check.sh"
  "embed        tests/embed.sh"
  "digits       tests/digits.sh"
  "robustness   tests/robustness.sh"
  "unit         run_unit"
  "verify       tests/verify.sh"
  "batch        tests/batch.sh"
  "integration  tests/integration.sh"
  "keras_h5     tests/keras_h5.sh"
  "golden       tools/golden.sh check"
  "tune         tests/tune.sh"
  "diag         tests/diag.sh"
  "dump         tests/dump.sh"
  "fuzz_corpus  tests/fuzz_replay.sh"
  "doclinks     tests/doclinks.sh"
  "imports      tests/imports.sh"
)

if [ -n "${RSC_SUITES:-}" ]; then
  keep=()
  for q in "${queue[@]}"; do
    [[ " $RSC_SUITES " == *" ${q%% *} "* ]] && keep+=("$q")
  done
  [ ${#keep[@]} -gt 0 ] || { echo "run.sh: no suite in RSC_SUITES='$RSC_SUITES'" >&2; exit 2; }
  queue=("${keep[@]}")
fi

declare -A name_of=()
suites=0 failed=0 skipped=0 cpu_total=0 t_start=$SECONDS

start() {
  local name=$1
  shift
  ( t0=$SECONDS
    "$@" >"$out/$name.log" 2>&1
    rc=$?
    # times: this subshell's, then its children's user and system CPU time
    # (the suite's processes, all waited for), as "1m2.345s 0m0.678s".
    # (Not in a $(...): that subshell has no children.)
    times >"$out/$name.times"
    cpu=$(awk 'NR == 2 {
      for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
      printf "%.0f", s }' "$out/$name.times")
    echo "$rc $((SECONDS - t0)) $cpu" >"$out/$name.end" ) &
  name_of[$!]=$name
}

finish() {
  local name=$1 rc secs cpu
  read -r rc secs cpu <"$out/$name.end"
  cpu_total=$((cpu_total + cpu))
  suites=$((suites + 1))
  echo "== $name"
  cat "$out/$name.log"
  skipped=$((skipped + $(grep -c '^SKIP ' "$out/$name.log")))
  [ "$rc" -eq 0 ] || { failed=$((failed + 1)); echo "!! suite $name failed"; }
  echo "   ($name: $secs s, $cpu s CPU)"
}

next=0
while [ $next -lt ${#queue[@]} ] || [ ${#name_of[@]} -gt 0 ]; do
  if [ $next -lt ${#queue[@]} ] && [ ${#name_of[@]} -lt "$jobs" ]; then
    read -r -a cmd <<<"${queue[$next]}"
    next=$((next + 1))
    start "${cmd[@]}"
    continue
  fi
  wait -n -p done_pid
  finish "${name_of[$done_pid]}"
  unset "name_of[$done_pid]"
done

echo "== summary"
echo "suites: $((suites - failed)) passed, $failed failed, $skipped cases skipped ($jobs at a time, $((SECONDS - t_start)) s, $cpu_total s CPU; load $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$failed" -eq 0 ]
