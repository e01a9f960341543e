#!/bin/bash
# bench/tiles.sh - time one conv layer under several register tiles
# (bench/tiletime.c), to check or calibrate the tile model of select.c.
#
#   bench/tiles.sh N H W C OH OW K KH KW S P "KBxNP[gKG][n][x][tTG[cTC]][p] ... wKBxNT ..." [runs]
#   bench/tiles.sh 8 5 5 512 5 5 512 3 3 1 1 "16x10 32x10 32x8 64x5 w32x8"
#
# A candidate "KBxNP" is a direct conv tile (with "gKG": KG blocks per group,
# else 1; a trailing "n": the next-block prefetch, NX; then "x": the next
# tile's input prefetch, XP; then "tTG": groups of TG tiles taking turns on
# chunks of TC channels ("cTC", else 128), rsc_conv2d_part's TG; then "p": the
# SE pool's partial sums written, as for an `_sp` kernel); "wKBxNT" a Winograd
# one (3x3, stride 1, pad 1 only). One thread; weights cold, input warm (see
# the C file).
set -euo pipefail
[ $# -ge 12 ] || { sed -n 2,11p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
N=$1 H=$2 W=$3 C=$4 OH=$5 OW=$6 K=$7 KH=$8 KW=$9 S=${10} P=${11} tiles=${12} runs=${13:-15}
dir=$(mktemp -d)
# TILES_KEEP=DIR keeps the generated program there (for perf, objdump).
if [ -n "${TILES_KEEP:-}" ]; then mkdir -p "$TILES_KEEP"; dir=$TILES_KEEP; else trap 'rm -rf "$dir"' EXIT; fi
maxw=0
{
  echo "#define CONV_IN ((size_t)$N * $H * $W * $C)"
  echo "#define CONV_OUT ((size_t)$N * $OH * $OW * $K)"
  echo "#define CONV_FLOPS (2.0 * $N * $OH * $OW * $K * $C * $KH * $KW)"
  i=0
  for t in $tiles; do
    if [[ $t == w* ]]; then
      kb=${t#w}; kb=${kb%x*}; nt=${t#*x}
      echo "static void f$i(const float *in, const float *w, const float *b, float *out) {"
      echo "  rsc_wino_part(in, w, b, out, $N, $H, $W, $C, $K, $kb, $nt, RSC_ACT_RELU, 0, 1);"
      echo "}"
      wf=$(( (K + kb - 1) / kb * kb * C * 16 ))
    else
      kb=${t%%x*} np=${t#*x} kg=1 nx=0 xp=0 pool=NULL tg=1 tc=128
      if [[ $np == *p ]]; then pool=pool; np=${np%p}; fi
      if [[ $np =~ c([0-9]+)$ ]]; then tc=${BASH_REMATCH[1]}; np=${np%c*}; fi
      if [[ $np =~ t([0-9]+)$ ]]; then tg=${BASH_REMATCH[1]}; np=${np%t*}; fi
      if [[ $np == *x ]]; then xp=1; np=${np%x}; fi
      if [[ $np == *n ]]; then nx=1; np=${np%n}; fi
      if [[ $np == *g* ]]; then kg=${np#*g}; np=${np%g*}; fi
      echo "static void f$i(const float *in, const float *w, const float *b, float *out) {"
      pc=32 # rsc.h's SE_POOL_CHUNK
      [ $pool = pool ] && echo "  static float pool[$N * (($OH * $OW + $pc - 1) / $pc) * $K];"
      echo "  rsc_conv2d_part(in, w, b, out, $pool, $pc, $N, $H, $W, $C, $OH, $OW, $K, $KH, $KW, $S, $S, $P, $P, $kb, $np, $kg, $nx, $xp, $tg, $tc, RSC_ACT_RELU, 0, 1);"
      echo "}"
      wf=$(( (K + kb - 1) / kb * kb * C * KH * KW ))
    fi
    [ "$wf" -gt "$maxw" ] && maxw=$wf
    i=$((i + 1))
  done
  echo "#define CONV_W ((size_t)$maxw)"
  echo "static const struct { const char *name; conv_fn fn; } candidates[] = {"
  i=0
  for t in $tiles; do echo "  {\"$t\", f$i},"; i=$((i + 1)); done
  echo "};"
} > "$dir/tiles.inc"
cp "$(dirname "$0")/tiletime.c" "$dir/"
sed -i 's|"../runtime/rsc_kernels.h"|"'"$(realpath "$(dirname "$0")/../runtime/rsc_kernels.h")"'"|' "$dir/tiletime.c"
${CC:-cc} -O3 -march=native -std=c11 -I"$dir" "$dir/tiletime.c" -o "$dir/tiletime" -lm
"$dir/tiletime" "$runs"
