#!/bin/bash
# classify.sh - examples/classify end to end. The example is built (its own
# Makefile: rsc with --input-type u8 --preprocess imagenet, then the program)
# with gcc AND clang around a small ResNet-RS-50 with random weights, and run on
# JPEGs (scikit-learn's two photos) and PNGs made from them (RGB, grey,
# palette, RGBA, portrait, small). For every image and compiler it must exit 0
# and print exactly five ranked ImageNet labels; and the 8-bit crop it feeds the
# model (--dump-input) must equal, byte for byte, what timm's eval transform
# makes of the image in Python (tests/timm_eval_ref.py: PIL decode,
# torchvision Resize(bicubic) + CenterCrop). The checked-in label header must
# be what gen-labels.sh makes of torchvision's list. Uses ${B:-build}/rsc; GEN_CFLAGS
# go to the example's CFLAGS (make sanitize).
# Run from the repository root after `make`. Prints "classify: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD PY=${TORCH_PYTHON:-/usr/bin/python3} RSC=$PWD/${B:-build}/rsc
IMAGES=/usr/lib/python3/dist-packages/sklearn/datasets/images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

if examples/classify/gen-labels.sh >"$tmp/labels.h" 2>"$tmp/labels.err" &&
   cmp -s "$tmp/labels.h" examples/classify/imagenet_labels.h; then
  ok "imagenet_labels.h is gen-labels.sh's output"
else
  bad "imagenet_labels.h differs from gen-labels.sh's output: $(cat "$tmp/labels.err")"
fi

# The images: two real photos, and PNGs of every colour type made from one.
for f in china.jpg flower.jpg; do cp "$IMAGES/$f" "$tmp/$f" || bad "missing $IMAGES/$f"; done
"$PY" - "$tmp" <<'PYEOF' || bad "cannot make the PNG test images"
import sys
from PIL import Image
d = sys.argv[1]
im = Image.open(d + "/china.jpg").convert("RGB")
im.save(d + "/rgb.png")
im.convert("L").save(d + "/grey.png")
im.convert("P", palette=Image.ADAPTIVE, colors=64).save(d + "/palette.png")
a = im.copy()
a.putalpha(Image.linear_gradient("L").resize(im.size))
a.save(d + "/rgba.png")
im.rotate(90, expand=True).crop((0, 0, 301, 517)).save(d + "/portrait.png")
# 162x150 -> 151x140: a 23-pixel margin, whose half rounds to even (12).
im.resize((162, 150)).save(d + "/small.jpg", quality=90)
PYEOF
images="china.jpg flower.jpg rgb.png grey.png palette.png rgba.png portrait.png small.jpg"

# A small RS-50 (quarter widths) keeps the build quick; depth 50 -> crop_pct 0.91.
printf 'depth 50\nwidth 128\nwidth_multiplier 0.25\n' >"$tmp/m.spec"
size=128 crop=0.91
for f in $images; do
  "$PY" tests/timm_eval_ref.py "$tmp/$f" $size $crop "$tmp/$f.ref" 2>"$tmp/ref.err" ||
    { bad "timm_eval_ref.py $f: $(cat "$tmp/ref.err")"; }
done
ccs=${CLASSIFY_COMPILERS:-gcc clang}
[ "${RSC_TEST_SUBSET:-0}" = 1 ] && ccs=${CLASSIFY_COMPILERS:-gcc} # make sanitize
for cc in $ccs; do
  o=$tmp/build_$cc
  if ! make -s -C examples/classify RSC="$RSC" SPEC="$tmp/m.spec" O="$o" CC=$cc \
       CFLAGS="-O2 ${GEN_CFLAGS:-}" >"$tmp/make.out" 2>&1; then
    bad "$cc: examples/classify does not build:"; head -20 "$tmp/make.out"; continue
  fi
  for f in $images; do
    if ! "$o/classify" -w "$o/model.weights" --dump-input "$tmp/$f.$cc" "$tmp/$f" >"$tmp/out" 2>&1; then
      bad "$cc $f: classify failed: $(cat "$tmp/out")"; continue
    fi
    # A header line, then "  r. pp.pp%  label (class k)" for r = 1..5 with k's label.
    if ! awk -v labels="$ROOT/examples/classify/imagenet_labels.h" '
        BEGIN { while ((getline l < labels) > 0) if (l ~ /^    "/) { sub(/^    "/, "", l); sub(/",$/, "", l); name[n++] = l } }
        NR == 1 { next }
        { if (!match($0, /^  [1-5]\. +[0-9.]+%  .* \(class [0-9]+\)$/)) exit 1
          k = $0; sub(/.*\(class /, "", k); sub(/\)$/, "", k)
          lab = $0; sub(/^  [1-5]\. +[0-9.]+%  /, "", lab); sub(/ \(class [0-9]+\)$/, "", lab)
          if (lab != name[k] || substr($0, 3, 1) != NR - 1) exit 1; rows++ }
        END { exit !(NR == 6 && rows == 5) }' "$tmp/out"; then
      bad "$cc $f: output is not five ranked ImageNet labels:"; cat "$tmp/out"; continue
    fi
    if cmp -s "$tmp/$f.$cc" "$tmp/$f.ref"; then
      ok "$cc $f: top-1 '$(sed -n 2p "$tmp/out" | sed 's/^ *1\. *//')', crop identical to timm's"
    else
      bad "$cc $f: the crop differs from timm's eval transform: $(cmp -l "$tmp/$f.$cc" "$tmp/$f.ref" | wc -l) bytes differ"
    fi
  done
done
echo "classify: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
