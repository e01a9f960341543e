#!/bin/bash
# endpoints.sh - the `outputs` key / --outputs flag (docs/spec.md, "Feature
# endpoints"). For each case rsc compiles a spec with seeded random weights;
# tests/endpoints_main.c, a caller of the generated P_run_outputs, is built
# under -std=c11 -Wall -Wextra -Wpedantic -Werror and writes every endpoint (it
# also checks threads, P_run and NULL pointers, see there); rsc --main's
# program, from the same object of the generated code (its main renamed for
# the caller's link), writes the same bits. gcc builds every case, clang the
# small nets (CLANG_CASES: every API path, at a fraction of RS-50's build). Each
# endpoint must match the reference evaluator's value of that tensor within
# 1e-4 of the endpoint's max-abs: c2..c5 are the unfused graph's last
# layer{1..4}.N.act3, head its output. The endpoint sizes in the header must
# be those of the reference's tensors, and a model without the head must not
# contain the head's code.
# The generated code of the RS-50 cases is built at -O0 (gcc), the small nets'
# at -O2 with both compilers: the RS-50 cases test the endpoints on the
# preset's graph (rsc's part), the small nets take every API path and kernel
# under the optimiser (tests/e2e.sh builds RS-50 itself at -O2); -O2 costs
# ~20 s of CPU per RS-50 build against ~1.5 s at -O0, the same bits out.
# ENDPOINTS_OPT_CASES=all builds every case at -O2.
# Run from the repository root after `make`. Prints "endpoints: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
B=${B:-build}; RSC=${RSC:-$B/rsc} REF=$B/tests/refeval CMP=$B/tests/f32cmp GEN=$B/tests/f32gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -ffp-contract=off"
pass=0 fail=0 skipped=0
CLANG_CASES=${ENDPOINTS_CLANG_CASES:-" small_all small_c4 head_none u8_nchw_c2 "}
OPT_CASES=${ENDPOINTS_OPT_CASES:-" small_all small_c4 head_none u8_nchw_c2 "}
# RSC_TEST_SUBSET=1 (make sanitize): the small nets (every endpoint, stopping
# at c4, head none with endpoints beside it, u8 NCHW c2 only), with gcc; the
# RS-50 cases take the same paths at ten times the cost under the sanitizers.
SUBSET_CASES=" small_all:gcc small_c4:gcc head_none:gcc u8_nchw_c2:gcc "

# case NAME 'spec; lines' [extra rsc flags...]
case_() {
  local name=$1 spec=$2 d=$tmp/$1 ccs="gcc"
  shift 2
  [[ $CLANG_CASES == *" $name "* ]] && ccs="gcc clang"
  if [ "${RSC_TEST_SUBSET:-0}" = 1 ]; then
    local m
    m=$(grep -o "[[:space:]]$name:[a-z,]*" <<<"$SUBSET_CASES") || {
      echo "SKIP endpoints $name: not in RSC_TEST_SUBSET"; skipped=$((skipped + 1)); return; }
    ccs=${m#*:}
    ccs=${ccs//,/ }
  fi
  mkdir -p "$d"
  printf '%s\n' "$spec" | tr ';' '\n' | sed 's/^ *//' >"$d/m.spec"
  if ! $RSC "$d/m.spec" --seed 7 --name m --main "$@" -o "$d/m.c" 2>"$d/rsc.err"; then
    echo "FAIL $name: rsc failed:"; cat "$d/rsc.err"; fail=$((fail + 1)); return
  fi
  # The endpoints the header declares, in API order, and the blocks per stage.
  local eps blocks n kind=f32
  eps=$(awk '/^#define M_OUT_[A-Z0-9]+ [0-9]+ /{sub("M_OUT_", "", $2); print tolower($2)}' "$d/m.h")
  blocks=$($RSC "$d/m.spec" "$@" --dump=build 2>/dev/null | grep -o ' = layer[1-4]\.[0-9]*\.act3 ' |
    sed 's/.*layer\([1-4]\)\.\([0-9]*\)\.act3 /\1 \2/' | awk '{last[$1] = $2} END {print last[1], last[2], last[3], last[4]}')
  if [ -z "$eps" ] || [ "$(wc -w <<<"$blocks")" -ne 4 ]; then
    echo "FAIL $name: no endpoints in m.h ('$eps') or no stages in the dump ('$blocks')"; fail=$((fail + 1)); return
  fi
  n=$(awk '/^#define M_(BATCH|IN_H|IN_W|IN_C) /{p = (p ? p : 1) * $3} END {print p}' "$d/m.h")
  grep -q '^#define M_IN_IMAGENET 1$' "$d/m.h" && kind=pixels
  grep -q '^#define M_IN_U8 1$' "$d/m.h" && kind=u8
  $GEN "$n" 13 "$d/in.f32" $kind
  local dumps=() e b
  read -r -a b <<<"$blocks"
  for e in $eps; do
    [ "$e" = head ] && continue
    local st=${e#c}
    dumps+=(--dump "layer$((st - 1)).${b[$((st - 2))]}.act3" "$d/ref_$e.f32")
  done
  if ! $REF "$d/m.spec" --seed 7 "${dumps[@]}" "$d/in.f32" "$d/ref_head.f32" 2>"$d/ref.err"; then
    echo "FAIL $name: refeval failed:"; cat "$d/ref.err"; fail=$((fail + 1)); return
  fi
  # Without the head, the model ends at its deepest endpoint: no pooling, no fc.
  if ! grep -qx 'head' <<<"$eps" && grep -q 'global_pool\|/\* fc:' "$d/m.c"; then
    echo "FAIL $name: the head's layers are in a model without 'head' in outputs"; fail=$((fail + 1)); return
  fi
  for cc in $ccs; do
    mkdir -p "$d/$cc"
    # make sanitize's GEN_CFLAGS (-O1 and the sanitizers) override -O2 but
    # not -O0, which is faster with the sanitizers too.
    local opt=-O0 cf="$CCFLAGS ${GEN_CFLAGS:-} -O0"
    if [ "$OPT_CASES" = all ] || [[ $OPT_CASES == *" $name "* ]]; then
      opt=-O2 cf="$CCFLAGS -O2 ${GEN_CFLAGS:-}"
    fi
    # The generated code is built once: m.o serves rsc --main's program as it
    # is, and the caller with its main renamed.
    if ! $cc $cf -c -o "$d/m_$cc.o" "$d/m.c" 2>"$d/cc.err" ||
       ! objcopy --redefine-sym main=m_generated_main "$d/m_$cc.o" "$d/m_nomain_$cc.o" 2>>"$d/cc.err" ||
       ! $cc $cf -I"$d" -o "$d/run_$cc" tests/endpoints_main.c "$d/m_nomain_$cc.o" -lm 2>>"$d/cc.err"; then
      echo "FAIL $name: $cc $opt failed to build:"; head -20 "$d/cc.err"; fail=$((fail + 1)); continue
    fi
    if ! "$d/run_$cc" "$d/m.weights" "$d/in.f32" "$d/$cc" 2>"$d/run.err"; then
      echo "FAIL $name ($cc):"; cat "$d/run.err"; fail=$((fail + 1)); continue
    fi
    local ok=1 line="" res last=${eps##*$'\n'}
    # rsc --main's program writes the same bits: OUTPUT, and the others beside it
    # (on two pinned threads, each of two runs after a 1 ms pause).
    if ! $cc $cf -o "$d/main_$cc" "$d/m_$cc.o" -lm 2>"$d/cc.err" ||
       ! "$d/main_$cc" -t 2 -p -g 1 -r 2 -w "$d/m.weights" "$d/in.f32" "$d/$cc/main.f32" 2>"$d/run.err"; then
      echo "FAIL $name ($cc): the --main program:"; cat "$d/cc.err" "$d/run.err"; fail=$((fail + 1)); continue
    fi
    for e in $eps; do
      local mf="$d/$cc/main.$e.f32"
      [ "$e" = "$last" ] && mf="$d/$cc/main.f32"
      cmp -s "$mf" "$d/$cc/$e.f32" || { ok=0; line+=" $e: the --main program's $(basename "$mf") differs"; }
    done
    for e in $eps; do
      # The header's size per image times the batch is the reference tensor's size.
      local want got
      want=$(($(stat -c %s "$d/ref_$e.f32") / 4))
      got=$(( $(awk -v m="M_OUT_${e^^}_SIZE" '$1 == "#define" && $2 == m {print $3}' "$d/m.h") *
              $(awk '$2 == "M_BATCH" {print $3}' "$d/m.h") ))
      if [ "$want" -ne "$got" ]; then
        ok=0; line+=" $e: header says $got floats, reference has $want"; continue
      fi
      if res=$($CMP "$d/$cc/$e.f32" "$d/ref_$e.f32" 1e-4); then
        line+=" $e ok (${res%%  worst*})"
      else
        ok=0; line+=" $e FAILS: $res"
      fi
    done
    if [ $ok = 1 ]; then
      echo "ok   $name ($cc $opt):$line"; pass=$((pass + 1))
    else
      echo "FAIL $name ($cc $opt):$line"; fail=$((fail + 1))
    fi
  done
}

# ResNet-RS-50 with every endpoint, at a small odd non-square size.
case_ rs50_all   'depth 50; height 45; width 67; outputs c2,c3,c4,c5,head'
# Batch 2, a pooled head, some endpoints, by flag (it overrides the file's).
case_ batch2_avg 'depth 50; width 41; batch 2; width_multiplier 0.5; head avg; outputs head' --outputs 'c3 c5 head'
# No head: the model ends at c4 (its P_run output), c2 beside it.
case_ no_head    'depth 50; height 39; width 35; width_multiplier 0.5; outputs c4, c2'
# The same two on a small net.
case_ small_all  'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 29; height 23; outputs c2,c3,c4,c5,head'
case_ small_c4   'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 25; height 31; batch 2; outputs c4, c2'
# head none: c5 is the head's tensor, copied to a second buffer.
case_ head_none  'blocks 1 2 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 29; height 23; head none; outputs c5,head,c3'
# Another input format and network shape; only the shallowest stage, no head.
case_ u8_nchw_c2 'blocks 2 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 27; height 21; batch 2; input_type u8; input_layout nchw; preprocess imagenet; activation swish; stem_downsample maxpool; outputs c2'

echo "endpoints: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
