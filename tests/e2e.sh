#!/bin/bash
# e2e.sh - end-to-end: for each case, rsc compiles a spec with seeded random
# weights, the generated C is built under -std=c11 -Wall -Wextra -Wpedantic
# -Werror at -O2 or -O0 (below) and run on a seeded random input, once on one
# thread and once on
# two (which must give the same bits), and its output must match the reference
# evaluator (tests/refeval.c: the unfused network, raw weights, naive loops)
# within 1e-4 of the output's max-abs.
# Every case is built with gcc; the CLANG_CASES below with clang too. Together
# they keep every path of the generated code under clang (each kernel family,
# every input format, the AVX2 and AVX-512 intrinsics): the other cases differ
# from them only in shapes and graph options, the same code paths under the
# other compiler (every case with both compilers: 76 builds on an AVX-512
# machine; now 48).
# tests/warnings.sh checks clang's and gcc's warnings at -O2 and -O3 on the
# goldens.
# gcc builds the OPT_CASES below at -O2 and the others at -O0 (clang: -O2
# always). What a case tests is what rsc generated for its spec; the C
# optimiser is the same for every case, and its cost is ~20 s of CPU per
# RS-50-sized model whatever the depth (RS-420 as RS-50: the kernels are
# always_inline and specialised once per distinct call), against ~1.5 s at
# -O0 plus ~1-3 s more to run. The OPT_CASES are RSC_TEST_SUBSET's cases but
# RS-101 (the set that keeps every code path of the generated code, argued at
# SUBSET_CASES; RS-101 is there for depth, which is not a code path): every
# kernel, input format and option (swish in pre_u8_nchw and t_avx2_k) is built
# at -O2 by gcc, and by clang in the CLANG_CASES, where an optimiser-exposed
# fault (aliasing, overflow, an uninitialised read) would show; the -O0 cases
# vary depth, shapes and graph options, which -O2 does not make other code
# paths of. The outputs at -O0 and -O2 are the same bits (checked on RS-50 and
# RS-420: explicit vector code, -ffp-contract=off, no reassociation).
# E2E_OPT_CASES=all builds every case at -O2, as before 2026-12-08.
# A case whose ISA this CPU lacks prints a SKIP line (tests/run.sh counts
# them), it does not vanish.
# Run from the repository root after `make`. Prints "e2e: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
B=${B:-build}; RSC=${RSC:-$B/rsc} REF=$B/tests/refeval CMP=$B/tests/f32cmp GEN=$B/tests/f32gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# E2E_SHARD=K/N runs every Nth case from the Kth (tests/run.sh runs two shards
# side by side); each shard keeps its own log.
shard=${E2E_SHARD:-1/1}
shard_k=${shard%/*} shard_n=${shard#*/} case_no=0
if ! [[ $shard =~ ^[1-9][0-9]*/[1-9][0-9]*$ ]] || [ "$shard_k" -gt "$shard_n" ]; then
  echo "e2e: E2E_SHARD must be K/N with 1 <= K <= N, not '$shard'"; exit 2
fi
log=$B/test-logs/e2e.txt
[ "$shard_n" -gt 1 ] && log=$B/test-logs/e2e-$shard_k-of-$shard_n.txt
mkdir -p "$B/test-logs"
: >"$log"
CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -ffp-contract=off"
COMPILERS=${E2E_COMPILERS:-gcc}
# Also built with clang (E2E_CLANG_CASES=all: every case): RS-50 (the kernels
# of every preset), the custom net (1 channel, classes, bn_eps, SE ratio),
# d_small (stride on the 1x1, no SE, max head, batch 2), the f32 NCHW input,
# f32 and u8 NCHW preprocessing, the classic stem (7x7, max-pool, strided
# shortcut), swish, and the AVX2 and AVX-512 kernels.
CLANG_CASES=${E2E_CLANG_CASES:-" rs50_64 custom d_small in_nchw pre_f32 pre_u8_nchw pre_nchw_cls
  swish t_avx2_k t_avx512_k "}
OPT_CASES=${E2E_OPT_CASES:-" rs50_64 custom d_small in_u8 in_nchw in_u8_nchw pre_f32 pre_u8_nchw
  pre_nchw_cls t_avx2_k t_avx512_k "}
RSCX="" CCX="" # extra rsc and cc flags: the --target cases at the end set them
pass=0 fail=0 skipped=0
# RSC_TEST_SUBSET=1 (make sanitize, where a generated RS-50 takes a minute to
# build and run): only these cases, with these compilers. Together they keep
# every code path of the generated code: RS-50 and RS-101 (the deeper presets
# differ only in block counts, and every preset uses the same 35 kernels),
# -t 2 against -t 1 in each case, the classic stem with max-pool downsampling
# and strided shortcut (pre_nchw_cls), stride_on 1x1 without SE with a max head
# and batch 2 (d_small), the custom net (1 channel, classes, bn_eps, SE ratio),
# every input format and preprocessing, avg and no head, swish, and the AVX2
# and AVX-512 kernels; gcc only: clang 14 takes 334 s to build even in_u8 with
# -O1 -fsanitize=address,undefined (gcc: 9 s), and make test runs clang.
SUBSET_CASES=" rs50_64:gcc rs101_48:gcc custom:gcc d_small:gcc
  in_u8:gcc in_nchw:gcc in_u8_nchw:gcc pre_f32:gcc pre_u8_nchw:gcc pre_nchw_cls:gcc
  t_avx2_k:gcc t_avx512_k:gcc "

# case NAME 'spec; lines; separated; by; semicolons'
case_() {
  local name=$1 spec=$2 d=$tmp/$1 COMPILERS=$COMPILERS
  case_no=$((case_no + 1))
  [ $(((case_no - 1) % shard_n + 1)) -eq "$shard_k" ] || return 0
  if [ "${RSC_TEST_SUBSET:-0}" = 1 ]; then
    local m
    m=$(grep -o "[[:space:]]$name:[a-z,]*" <<<"$SUBSET_CASES") || {
      echo "SKIP e2e $name: not in RSC_TEST_SUBSET"; skipped=$((skipped + 1)); return; }
    COMPILERS=${m#*:}
    COMPILERS=${COMPILERS//,/ }
  elif [ "$CLANG_CASES" = all ] || [[ $CLANG_CASES == *[[:space:]]$name[[:space:]]* ]]; then
    [[ " $COMPILERS " == *" clang "* ]] || COMPILERS="$COMPILERS clang"
  fi
  mkdir -p "$d"
  printf '%s\n' "$spec" | tr ';' '\n' | sed 's/^ *//' >"$d/m.spec"
  if ! $RSC "$d/m.spec" --seed 7 --main $RSCX -o "$d/m.c" 2>"$d/rsc.err"; then
    echo "FAIL $name: rsc failed:"; cat "$d/rsc.err"; fail=$((fail + 1)); return
  fi
  local n kind=f32
  n=$(awk '/^#define .*_(BATCH|IN_H|IN_W|IN_C) /{p = (p ? p : 1) * $3} END {print p}' "$d/m.h")
  # Bytes for u8 inputs, floats in [0, 255) for preprocessed float inputs.
  grep -q '^#define .*_IN_IMAGENET 1$' "$d/m.h" && kind=pixels
  grep -q '^#define .*_IN_U8 1$' "$d/m.h" && kind=u8
  $GEN "$n" 11 "$d/in.f32" $kind
  if ! $REF "$d/m.spec" --seed 7 "$d/in.f32" "$d/ref.f32" 2>"$d/ref.err"; then
    echo "FAIL $name: refeval failed:"; cat "$d/ref.err"; fail=$((fail + 1)); return
  fi
  for cc in $COMPILERS; do
    # make sanitize's GEN_CFLAGS (-O1 and the sanitizers) come last and win:
    # gcc with them takes as long at -O0 as at -O1, counting the runs.
    local opt=-O0 tag
    if [ $cc != gcc ] || [ "$OPT_CASES" = all ] || [[ $OPT_CASES == *[[:space:]]$name[[:space:]]* ]]; then
      opt=-O2
    fi
    tag="$cc $opt"
    [ -n "${GEN_CFLAGS:-}" ] && tag="$cc $opt ${GEN_CFLAGS%% *}..."
    if ! $cc $CCFLAGS $opt $CCX ${GEN_CFLAGS:-} -o "$d/m_$cc" "$d/m.c" -lm 2>"$d/cc.err"; then
      echo "FAIL $name: $tag failed to build the generated code:"; head -20 "$d/cc.err"
      fail=$((fail + 1)); continue
    fi
    if ! "$d/m_$cc" -w "$d/m.weights" "$d/in.f32" "$d/out.f32" 2>"$d/run.err"; then
      echo "FAIL $name ($tag): the model failed:"; cat "$d/run.err"; fail=$((fail + 1)); continue
    fi
    # The thread team must not change a single bit of the output.
    if ! "$d/m_$cc" -t 2 -w "$d/m.weights" "$d/in.f32" "$d/out2.f32" 2>"$d/run.err"; then
      echo "FAIL $name ($tag): the model failed with -t 2:"; cat "$d/run.err"; fail=$((fail + 1)); continue
    fi
    if ! cmp -s "$d/out.f32" "$d/out2.f32"; then
      echo "FAIL $name ($tag): -t 2 output differs from -t 1"; fail=$((fail + 1)); continue
    fi
    local res
    if res=$($CMP "$d/out.f32" "$d/ref.f32" 1e-4); then
      echo "ok   $name ($tag): $res"; pass=$((pass + 1))
    else
      echo "FAIL $name ($tag): $res"; fail=$((fail + 1))
    fi
    echo "$name $tag $res" >>"$log"
  done
}

# Every depth preset (small inputs keep the reference evaluator quick).
case_ rs50_64      'depth 50; width 64'
case_ rs101_48     'depth 101; width 48'
case_ rs152_40     'depth 152; width 40'
case_ rs200_32     'depth 200; width 32'
case_ rs270_32     'depth 270; width 32'
case_ rs350_32     'depth 350; width 32'
case_ rs420_32     'depth 420; width 32'
# Odd and non-square inputs: partial pooling windows, asymmetric maps.
case_ rs50_odd     'depth 50; height 97; width 131; width_multiplier 0.5'
case_ rs50_odd2    'depth 50; height 33; width 17; width_multiplier 0.25'
# SE off, and each ResNet-D option flipped on its own.
case_ no_se        'depth 50; width 64; se_ratio 0'
case_ stem_classic 'depth 50; width 64; stem classic; stem_widths 64'
case_ stem_maxpool 'depth 50; width 65; stem_downsample maxpool'
case_ sc_strided   'depth 50; width 63; shortcut strided'
case_ stride_1x1   'depth 50; width 63; stride_on 1x1'
# The classic family.
case_ resnet50     'depth 50; width 67; stem classic; stem_widths 64; stem_downsample maxpool; shortcut strided; se_ratio 0'
case_ resnet50d    'depth 50; width 67; stem_downsample maxpool; se_ratio 0'
# Batch, classes, heads, activations, channels, widths.
case_ batch3       'depth 50; width 48; batch 3; width_multiplier 0.5'
case_ classes10    'depth 50; width 48; classes 10; classifier_activation softmax'
case_ head_avg     'depth 50; width 48; head avg'
case_ head_max     'depth 50; width 48; head max; batch 2'
case_ head_none    'depth 50; width 50; head none'
case_ swish        'depth 50; width 48; activation swish'
case_ custom       'blocks 1 2 1 1; widths 24 40 72 100; stem_widths 8 16 24; se_ratio 0.3; channels 1; width 37; height 29; bn_eps 0.001; classes 7'
# The ResNet-D stride switch, no SE, a max head and batch 2 on a small net.
case_ d_small      'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 23; height 19; stride_on 1x1; se_ratio 0; head max; batch 2'
# The input formats (compiler/entry.c): byte and NCHW inputs, and ImageNet
# preprocessing compiled in; small odd inputs, where most first-conv outputs
# touch the border (its zero padding is in normalised space).
case_ in_u8        'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 19; height 23; input_type u8; classes 5'
case_ in_nchw      'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 19; height 23; channels 2; input_layout nchw; batch 2; head avg'
case_ in_u8_nchw   'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 21; height 17; input_type u8; input_layout nchw; batch 2'
case_ pre_f32      'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 17; height 25; preprocess imagenet; head none'
case_ pre_u8       'depth 50; width 33; width_multiplier 0.25; input_type u8; preprocess imagenet'
case_ pre_u8_nchw  'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 23; height 19; input_type u8; input_layout nchw; preprocess imagenet; batch 2; activation swish'
case_ pre_nchw_cls 'blocks 1 1 1 1; widths 8 16 24 32; stem classic; stem_widths 16; stem_downsample maxpool; shortcut strided; width 29; input_layout nchw; preprocess imagenet'

# Each kernel variant (rsc --target tunes the tiles, the cc flags pick the
# vector code) against the reference; the host-tuned cases above ran the
# portable variant (no -m flags). AVX2/AVX-512 only where this CPU has them;
# elsewhere each such case prints a SKIP line (counted by tests/run.sh).
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
# isa_case_ NEEDS... -- NAME SPEC: case_ NAME SPEC if the CPU has every flag.
isa_case_() {
  local need=() f
  while [ "$1" != -- ]; do need+=("$1"); shift; done
  shift
  for f in "${need[@]}"; do
    if [[ " ${flags#*:} " != *" $f "* ]]; then
      case_no=$((case_no + 1)) # the shards stay as on a CPU that has it
      [ $(((case_no - 1) % shard_n + 1)) -eq "$shard_k" ] || return 0
      echo "SKIP e2e $1: this CPU has no $f"; skipped=$((skipped + 1)); return 0
    fi
  done
  case_ "$@"
}
RSCX="--target generic"
case_ t_generic  'depth 50; width 45; width_multiplier 0.5; batch 2'
RSCX="--target avx2" CCX="-mavx2 -mfma"
isa_case_ avx2 fma -- t_avx2     'depth 50; width 45; width_multiplier 0.5; batch 2'
isa_case_ avx2 fma -- t_avx2_sw  'depth 50; width 37; height 29; activation swish; stem_downsample maxpool'
isa_case_ avx2 fma -- t_avx2_k   'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 19; height 23; classes 5; activation swish; stem_downsample maxpool'
RSCX="--target avx512" CCX="-mavx512f -mavx2 -mfma"
isa_case_ avx512f avx2 fma -- t_avx512   'depth 50; width 45; width_multiplier 0.5; batch 2'
isa_case_ avx512f avx2 fma -- t_avx512_sw 'depth 50; width 37; height 29; activation swish; stem_downsample maxpool'
isa_case_ avx512f avx2 fma -- t_avx512_k 'blocks 1 1 1 1; widths 8 16 24 32; stem_widths 8 8 16; width 19; height 23; classes 5'
RSCX="" CCX=""

sh=""
[ "$shard_n" -gt 1 ] && sh=" (shard $shard)"
echo "e2e$sh: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
