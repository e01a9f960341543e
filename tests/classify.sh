#!/bin/bash
# classify.sh - examples/classify end to end. The example is built (its own
# Makefile: rsc with --input-type u8 --preprocess imagenet, then the program)
# with gcc AND clang around a small ResNet-RS-50 with random weights, and run on
# JPEGs (scikit-learn's two photos, and CMYK/YCCK ones made from one) and PNGs
# made from them (RGB, grey, palette, RGBA, portrait, small, 3x1500 and 1500x2
# strips). For every image and compiler it must exit 0 and print exactly five
# ranked ImageNet labels; and the 8-bit crop it feeds the model (--dump-input)
# must equal, byte for byte, what timm's eval transform makes of the image in
# Python (tests/timm_eval_ref.py: PIL decode, torchvision Resize(bicubic) +
# CenterCrop); for the CMYK JPEG without Adobe's marker, which PIL decodes as
# inverted, of the RGB the conversion below makes of its inks. Then the hostile
# cases (docs/robustness.md lists them): truncated and oversized files must be
# refused with exit 1 and a message naming the file, a 1x20000 strip classified
# within 500 MB of address space, each run bounded by `ulimit -v` (not under
# ASan, which reserves terabytes of it) and `timeout`. The checked-in label
# header must be what gen-labels.sh makes of torchvision's list. Uses
# ${B:-build}/rsc; GEN_CFLAGS go to the example's CFLAGS (make sanitize).
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
# YCCK JPEGs (Photoshop's CMYK) are written by a libjpeg helper: PIL cannot.
${CC:-cc} -std=c11 -O2 -o "$tmp/jpeg_ycck" tests/jpeg_ycck.c -ljpeg 2>"$tmp/cc.err" ||
  bad "cannot build tests/jpeg_ycck.c: $(cat "$tmp/cc.err")"
"$PY" - "$tmp" <<'PYEOF' || bad "cannot make the test images"
import struct, subprocess, sys, zlib
import numpy as np
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
# Strips: the crop is a small part of a long resized image.
im.resize((3, 1500)).save(d + "/tall.png")
im.resize((1500, 2)).save(d + "/wide.png")

# CMYK JPEGs as tools write them. PIL: plain CMYK (Adobe APP14 marker,
# transform 0), inks stored inverted (Adobe's convention, 255 = no ink).
cmyk = im.convert("CMYK")
cmyk.save(d + "/cmyk.jpg", quality=90)
# YCCK (transform 2) from the same inks, also inverted.
open(d + "/cmyk.raw", "wb").write(cmyk.tobytes("raw", "CMYK;I"))
subprocess.check_call([d + "/jpeg_ycck", str(im.width), str(im.height), d + "/cmyk.raw", d + "/ycck.jpg"])
# PIL's file without its APP14 marker: the inks then read as amounts (0 = no ink).
b = open(d + "/cmyk.jpg", "rb").read()
i, out = 2, b[:2]
while b[i + 1] != 0xDA:  # markers up to the scan
    n = b[i + 2] << 8 | b[i + 3]
    out += b"" if b[i + 1] == 0xEE else b[i:i + 2 + n]
    i += 2 + n
open(d + "/noadobe.jpg", "wb").write(out + b[i:])
for f, adobe, xform in (("cmyk.jpg", 100, 0), ("ycck.jpg", 100, 2), ("noadobe.jpg", None, None)):
    j = Image.open(d + "/" + f)
    assert (j.mode, j.info.get("adobe"), j.info.get("adobe_transform")) == ("CMYK", adobe, xform), f

# PIL's cmyk2rgb, (255 - k) - round((255 - k) * ink / 255) for inks as amounts,
# which examples/classify reproduces; it must be what convert("RGB") gives.
def cmyk2rgb(v):
    v = v.astype(np.int32)
    nk = 255 - v[..., 3:4]
    t = v[..., :3] * nk + 128
    return (nk - (((t >> 8) + t) >> 8)).astype(np.uint8)
for f in ("cmyk.jpg", "ycck.jpg"):
    j = Image.open(d + "/" + f)
    assert np.array_equal(cmyk2rgb(np.asarray(j)), np.asarray(j.convert("RGB"))), f
# PIL reads every CMYK JPEG as Adobe's (inverted); examples/classify only one
# with the marker, so the reference of noadobe.jpg is its inks as amounts,
# converted, as a PNG that the loop below hands to timm_eval_ref.py instead.
j = np.asarray(Image.open(d + "/noadobe.jpg"))
Image.fromarray(cmyk2rgb(255 - j), "RGB").save(d + "/noadobe.jpg.rgb.png")

# Hostile files. A 1x20000 strip (165 bytes), whose resized image would be
# 140x2800000: the crop must be computed without it.
Image.new("RGB", (1, 20000), (200, 100, 50)).save(d + "/strip.png", optimize=True)
png = open(d + "/rgb.png", "rb").read()
open(d + "/trunc-half.png", "wb").write(png[:len(png) // 2])
open(d + "/trunc-noiend.png", "wb").write(png[:-12])  # image data whole, no IEND
open(d + "/trunc-iend.png", "wb").write(png[:-1])  # IEND's CRC cut
jpg = open(d + "/china.jpg", "rb").read()
open(d + "/trunc-half.jpg", "wb").write(jpg[:len(jpg) // 2])
open(d + "/trunc-eoi.jpg", "wb").write(jpg[:-2])  # all scan data, no EOI marker
def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))
# Headers declaring more pixels than PIL opens (2 * MAX_IMAGE_PIXELS = 178956970):
# 13400x13400 = 179560000, and the 10^10 of 100000x100000.
for w in (13400, 100000):
    open(d + "/huge%d.png" % w, "wb").write(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, w, 8, 2, 0, 0, 0)) +
        chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
small = bytearray(open(d + "/small.jpg", "rb").read())
sof = small.index(b"\xff\xc0")  # baseline SOF0: length, precision, height, width
small[sof + 5:sof + 9] = struct.pack(">HH", 13400, 13400)
open(d + "/huge13400.jpg", "wb").write(small)
PYEOF
images="china.jpg flower.jpg rgb.png grey.png palette.png rgba.png portrait.png small.jpg"
images="$images tall.png wide.png cmyk.jpg ycck.jpg noadobe.jpg"

# A small RS-50 (quarter widths) keeps the build quick; depth 50 -> crop_pct 0.91.
printf 'depth 50\nwidth 128\nwidth_multiplier 0.25\n' >"$tmp/m.spec"
size=128 crop=0.91
for f in $images; do
  src=$tmp/$f
  [ -e "$src.rgb.png" ] && src=$src.rgb.png # noadobe.jpg: PIL reads it inverted (above)
  "$PY" tests/timm_eval_ref.py "$src" $size $crop "$tmp/$f.ref" 2>"$tmp/ref.err" ||
    { bad "timm_eval_ref.py $f: $(cat "$tmp/ref.err")"; }
done
# bounded CMD...: CMD with at most 500 MB of address space (the program needs
# under 100 MB; ASan reserves terabytes, so under it only the time is bounded)
# and 20 s; stdout in $tmp/out, stderr in $tmp/err, the exit status in $rc.
vlimit=500000
case "${GEN_CFLAGS:-}" in *sanitize=address*) vlimit=unlimited ;; esac
bounded() {
  (ulimit -v $vlimit && exec timeout 20 "$@") >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
# five_labels FILE: a header line, then "  r. pp.pp%  label (class k)" for r = 1..5 with k's label.
five_labels() {
  awk -v labels="$ROOT/examples/classify/imagenet_labels.h" '
    BEGIN { while ((getline l < labels) > 0) if (l ~ /^    "/) { sub(/^    "/, "", l); sub(/",$/, "", l); name[n++] = l } }
    NR == 1 { next }
    { if (!match($0, /^  [1-5]\. +[0-9.]+%  .* \(class [0-9]+\)$/)) exit 1
      k = $0; sub(/.*\(class /, "", k); sub(/\)$/, "", k)
      lab = $0; sub(/^  [1-5]\. +[0-9.]+%  /, "", lab); sub(/ \(class [0-9]+\)$/, "", lab)
      if (lab != name[k] || substr($0, 3, 1) != NR - 1) exit 1; rows++ }
    END { exit !(NR == 6 && rows == 5) }' "$1"
}
# refused CC CASE FILE PATTERN: classify FILE exits 1, prints nothing on stdout
# (nothing classified) and "$tmp/FILE: PATTERN" on stderr.
refused() {
  local cc=$1 case_=$2 f=$3 pat=$4
  bounded "$o/classify" -w "$o/model.weights" "$tmp/$f"
  if [ "$rc" = 1 ] && [ ! -s "$tmp/out" ] && grep -q -E -x -- "$tmp/$f: $pat" "$tmp/err"; then
    ok "$cc $case_: $(cat "$tmp/err")"
  else
    bad "$cc $case_: wanted exit 1 and '$f: $pat', got exit $rc: $(head -c 300 "$tmp/err") $(head -n 2 "$tmp/out")"
  fi
}

ccs=${CLASSIFY_COMPILERS:-gcc clang}
[ "${RSC_TEST_SUBSET:-0}" = 1 ] && ccs=${CLASSIFY_COMPILERS:-gcc} # make sanitize
for cc in $ccs; do
  o=$tmp/build_$cc
  if ! make -s -C examples/classify RSC="$RSC" SPEC="$tmp/m.spec" O="$o" CC=$cc \
       CFLAGS="-O2 ${GEN_CFLAGS:-}" >"$tmp/make.out" 2>&1; then
    bad "$cc: examples/classify does not build:"; head -20 "$tmp/make.out"; continue
  fi
  for f in $images; do
    bounded "$o/classify" -w "$o/model.weights" --dump-input "$tmp/$f.$cc" "$tmp/$f"
    if [ "$rc" != 0 ] || [ -s "$tmp/err" ]; then
      bad "$cc $f: classify failed (exit $rc): $(cat "$tmp/err" "$tmp/out")"; continue
    fi
    if ! five_labels "$tmp/out"; then
      bad "$cc $f: output is not five ranked ImageNet labels:"; cat "$tmp/out"; continue
    fi
    if cmp -s "$tmp/$f.$cc" "$tmp/$f.ref"; then
      ok "$cc $f: top-1 '$(sed -n 2p "$tmp/out" | sed 's/^ *1\. *//')', crop identical to timm's"
    else
      bad "$cc $f: the crop differs from timm's eval transform: $(cmp -l "$tmp/$f.$cc" "$tmp/$f.ref" | wc -l) bytes differ"
    fi
  done

  # The hostile cases of docs/robustness.md (its rows name them).
  # strip_1x20000: resized whole it would be 140x2800000 (2 GB and 14 s when it
  # was); crop first, it fits the bounds, and the crop of a flat colour is flat.
  bounded "$o/classify" -w "$o/model.weights" --dump-input "$tmp/strip.$cc" "$tmp/strip.png"
  "$PY" -c 'import sys; sys.stdout.buffer.write(bytes([200, 100, 50]) * 128 * 128)' >"$tmp/strip.want"
  if [ "$rc" = 0 ] && five_labels "$tmp/out" && cmp -s "$tmp/strip.$cc" "$tmp/strip.want"; then
    ok "$cc strip_1x20000: classified within $vlimit KB and 20 s, crop flat"
  else
    bad "$cc strip_1x20000: exit $rc (124: over 20 s): $(head -c 300 "$tmp/err")"
  fi
  refused "$cc" trunc_jpeg_half trunc-half.jpg "cannot decode this JPEG: Premature end of JPEG file"
  refused "$cc" trunc_jpeg_eoi trunc-eoi.jpg "cannot decode this JPEG: Premature end of JPEG file"
  for f in trunc-half.png trunc-noiend.png trunc-iend.png; do
    refused "$cc" "trunc_png (${f#trunc-})" $f "truncated PNG: the file ends before its IEND chunk"
  done
  over="is [0-9]+ pixels, more than the 178956970 this program decodes \(PIL's limit, 2 \* Image.MAX_IMAGE_PIXELS\)"
  refused "$cc" huge_png_13400 huge13400.png "13400x13400 $over"
  refused "$cc" huge_png_100000 huge100000.png "100000x100000 $over"
  refused "$cc" huge_jpeg_13400 huge13400.jpg "13400x13400 $over"
  bounded "$o/classify" --help
  if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ] && head -n 1 "$tmp/out" | grep -q '^usage: classify -w'; then
    ok "$cc help: --help prints the usage on stdout, exit 0"
  else
    bad "$cc help: --help: exit $rc, stdout: $(head -n 1 "$tmp/out"), stderr: $(head -n 1 "$tmp/err")"
  fi
done
echo "classify: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
