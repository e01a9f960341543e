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
# corrupt MANIFEST SRC DST [bf16]: layer2.0.conv2's first packed weight + 0.5
# (under bf16: the low half of its first word, element (0, 0, 0, 0)).
corrupt() {
off=$(awk '$6 == "layer2.0.conv2.weight" {print $1}' "$1")
python3 - "$2" "$3" "$off" "${4:-fp32}" <<'PY'
import struct, sys
src, dst, off, prec = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
b = bytearray(open(src, 'rb').read())
HDR, M = 64, (1 << 64) - 1
P = 0x100000001b3
i = HDR + 4 * off  # element [0][0][0][0][0]: output channel 0, a real (unpadded) weight
if prec == 'bf16':
    (h,) = struct.unpack_from('<H', b, i)
    (v,) = struct.unpack('<f', struct.pack('<I', h << 16))
    struct.pack_into('<H', b, i, struct.unpack('<I', struct.pack('<f', v + 0.5))[0] >> 16)
else:
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
}
corrupt "$tmp/m.man" "$tmp/m.weights" "$tmp/bad.weights"
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

# 4. --precision bf16 (docs/precision.md): its own tolerance, 2^-5 of max|ref|;
# a good model passes, and a wrong bf16 weight is still caught where it is read.
if grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  if $RSC "$tmp/s.spec" --seed 3 --precision bf16 --manifest "$tmp/b.man" --verify -o "$tmp/b.c" \
       >"$tmp/bgood.out" 2>"$tmp/bgood.err" && grep -q '^verify: PASS.*within 0.03125' "$tmp/bgood.out"; then
    ok "bf16 model passes: $(grep '^verify:' "$tmp/bgood.out")"
  else
    bad "bf16 model:"; cat "$tmp/bgood.out" "$tmp/bgood.err"
  fi
  corrupt "$tmp/b.man" "$tmp/b.weights" "$tmp/bbad.weights" bf16
  if $RSC "$tmp/s.spec" --seed 3 --precision bf16 --verify --verify-weights "$tmp/bbad.weights" \
       -o "$tmp/b2.c" >"$tmp/bbad.out" 2>"$tmp/bbad.err"; then
    bad "bf16: corrupted weights passed --verify:"; cat "$tmp/bbad.out"
  elif grep -q '^verify: FAIL.*first: layer2.0.conv2$' "$tmp/bbad.out"; then
    ok "bf16: corrupted weight caught: $(grep '^layer2.0.conv2 ' "$tmp/bbad.out" | tr -s ' ')"
  else
    bad "bf16: corrupted weights not reported at layer2.0.conv2:"; cat "$tmp/bbad.out" "$tmp/bbad.err"
  fi
else
  echo "skip bf16: this CPU has no AVX512-BF16"
fi

echo "verify: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
