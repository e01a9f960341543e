#!/bin/bash
# verify.sh - `rsc --verify` (compiler/verify.c): it passes on a good model, and
# it catches and locates a wrong weight in the generated code's inputs.
#
# The corruption: one packed weight of layer2.0.conv2 (located with --manifest)
# is changed in the .weights file and the header checksum recomputed, so the
# generated loader accepts the file (the fingerprint covers the layout, not the
# values). That is what a packing bug (pack.c drawing a value into the wrong
# place) or a damaged deployed file looks like to the generated code. The
# reference evaluator still gets the true weights (same --seed), so --verify must
# fail, and every layer before layer2.0.conv2 must still pass: the per-layer
# report points at the first layer that read the bad weight.
set -u
cd "$(dirname "$0")/.."
RSC=${RSC:-${B:-build}/rsc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

printf 'blocks 1 1 1 1\nwidths 8 8 8 8\nstem_widths 4 4 8\nwidth 33\nactivation swish\n' >"$tmp/s.spec"

# 1. A good model passes (with -o: the files written are the ones checked).
if $RSC "$tmp/s.spec" --seed 3 --manifest "$tmp/m.man" --verify -o "$tmp/m.c" >"$tmp/good.out" 2>"$tmp/good.err" &&
   grep -q '^verify: PASS' "$tmp/good.out"; then
  ok "good model passes: $(grep '^verify:' "$tmp/good.out")"
else
  bad "good model:"; cat "$tmp/good.out" "$tmp/good.err"
fi

# 2. Without -o, in a temporary directory, u8 NCHW input with preprocessing.
if $RSC "$tmp/s.spec" --input-type u8 --input-layout nchw --preprocess imagenet --verify \
     >"$tmp/tmpdir.out" 2>"$tmp/tmpdir.err" && grep -q '^verify: PASS' "$tmp/tmpdir.out"; then
  ok "without -o (u8 nchw imagenet input) passes"
else
  bad "without -o:"; cat "$tmp/tmpdir.out" "$tmp/tmpdir.err"
fi

# 3. One wrong packed weight, checksum fixed.
off=$(awk '$6 == "layer2.0.conv2.weight" {print $1}' "$tmp/m.man")
python3 - "$tmp/m.weights" "$tmp/bad.weights" "$off" <<'PY'
import struct, sys
src, dst, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, 'rb').read())
HDR, M = 64, (1 << 64) - 1
P = 0x100000001b3
i = HDR + 4 * off  # element [0][0][0][0][0]: output channel 0, a real (unpadded) weight
(v,) = struct.unpack_from('<f', b, i)
struct.pack_into('<f', b, i, v + 0.5)
# compiler/wfile.c wfile_checksum, over the payload
p = bytes(b[HDR:]); n = len(p)
lane = [0xcbf29ce484222325 ^ k for k in range(4)]
nw = n // 8
for j in range(nw):
    lane[j % 4] = ((lane[j % 4] ^ int.from_bytes(p[8*j:8*j+8], 'little')) * P) & M
if n % 8:
    t = p[8*nw:] + bytes(8 - n % 8)
    lane[nw % 4] = ((lane[nw % 4] ^ int.from_bytes(t, 'little')) * P) & M
h = n
for k in range(4):
    h = ((h ^ lane[k]) * P) & M
h ^= h >> 33; h = (h * 0xff51afd7ed558ccd) & M
h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) & M
h ^= h >> 33
struct.pack_into('<Q', b, 32, h)
open(dst, 'wb').write(b)
PY
# A wrong checksum would make the harness' open fail, which reports no layer:
# the "first: layer2.0.conv2" check below also guards the test itself.
if $RSC "$tmp/s.spec" --seed 3 --verify --verify-weights "$tmp/bad.weights" -o "$tmp/m2.c" \
     >"$tmp/bad.out" 2>"$tmp/bad.err"; then
  bad "corrupted weights passed --verify:"; cat "$tmp/bad.out"
elif ! grep -q '^verify: FAIL.*first: layer2.0.conv2$' "$tmp/bad.out"; then
  bad "corrupted weights: not reported at layer2.0.conv2:"; cat "$tmp/bad.out" "$tmp/bad.err"
elif awk '/^layer2.0.conv2 /{exit} / FAIL/{f=1} END{exit !f}' "$tmp/bad.out"; then
  bad "corrupted weights: a layer before layer2.0.conv2 failed:"; cat "$tmp/bad.out"
else
  ok "corrupted weight caught: $(grep '^layer2.0.conv2 ' "$tmp/bad.out" | tr -s ' ')"
fi

echo "verify: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
