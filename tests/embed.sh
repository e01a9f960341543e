#!/bin/bash
# embed.sh - rsc --embed-weights: the object file carries the .weights (an
# assembler .incbin), open(&m, NULL) uses it. For gcc and clang under
# -std=c11 -Wall -Wextra -Wpedantic -Werror: the embedded build's output is
# bit-identical to the file-loading build's; -w FILE still works; a corrupted
# blob (checksum), another model's blob (fingerprint), a blob cut inside its
# header (truncated) and a short foreign one (bad magic) are refused at open;
# NAME_WEIGHTS_FILE overrides the path; a missing blob fails the build.
# The model is compiled once per compiler to assembly (emb_CC.s; clang with
# -fno-integrated-as, else its -S output holds the blob's bytes instead of
# the .incbin); the refused blobs are then embedded by assembling a copy whose
# .incbin names them (the loader code, what these cases test, is the same
# bits), and one of them (corrupt) through the define, as a user does. Every
# program is removed before it is rebuilt, so a failed build cannot leave the
# previous compiler's program to be run in its place.
# emb_CC.s is compiled at -O2 (the blob's symbols under the optimiser, as a
# user builds them); the file-loading build and the define's build at -O0
# (CCFLAGS0): they are there for their output bits, the same at any level (no
# contraction, no reassociation), and for the preprocessor's define, and each
# -O2 build of the model costs ~20 s of CPU (gcc), -O0 ~1.5 s.
# Run from the repository root after `make`. Prints "embed: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
RSC=$PWD/${B:-build}/rsc GEN=$PWD/${B:-build}/tests/f32gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -ffp-contract=off ${GEN_CFLAGS:-}"
# -O0 after make sanitize's GEN_CFLAGS (-O1 and the sanitizers): faster with
# the sanitizers too.
CCFLAGS0="-std=c11 -Wall -Wextra -Wpedantic -Werror -ffp-contract=off ${GEN_CFLAGS:-} -O0"

printf 'blocks 1 2 1 1\nwidths 8 16 16 32\nstem_widths 8 8 16\nwidth 32\nclasses 10\n' >s.spec
mkdir gen
$RSC s.spec --seed 3 --main -o gen/plain.c || bad "rsc plain"
$RSC s.spec --seed 3 --main --embed-weights -o gen/emb.c || bad "rsc --embed-weights"
$RSC s.spec --depth 50 --seed 3 -o gen/other.c || bad "rsc other model"
$GEN 3072 5 in.f32 f32
grep -q 'incbin' gen/plain.c && bad "plain model has an .incbin"
# RSC_TEST_SUBSET=1 (make sanitize): gcc only.
ccs="gcc clang"
[ "${RSC_TEST_SUBSET:-0}" = 1 ] && ccs=gcc
for cc in $ccs; do
  $cc $CCFLAGS0 -o plain_$cc gen/plain.c -lm || { bad "$cc: plain build"; continue; }
  sflags=""
  [ $cc = clang ] && sflags=-fno-integrated-as
  rm -f emb_$cc other short alien corrupt
  if ! $cc $CCFLAGS $sflags -S -o emb_$cc.s gen/emb.c 2>cc.err || ! $cc $CCFLAGS -o emb_$cc emb_$cc.s -lm 2>>cc.err; then
    bad "$cc: embedded build: $(head -3 cc.err)"; continue
  fi
  # emb_$cc.s with another blob: assembling is all it takes.
  incbin_() {
    grep -q '\.incbin[[:space:]]*"gen/emb\.weights"' emb_$cc.s || { bad "$cc: no .incbin of gen/emb.weights in the assembly"; return 1; }
    sed "s|\(\.incbin[[:space:]]*\)\"gen/emb\.weights\"|\1\"$1\"|" emb_$cc.s >"$2.s" && $cc $CCFLAGS -o "$2" "$2.s" -lm
  }
  ./plain_$cc -w gen/plain.weights in.f32 p.f32
  if ./emb_$cc in.f32 e.f32 && cmp -s p.f32 e.f32; then
    ok "$cc: open(NULL) on the embedded weights gives the file build's output"
  else
    bad "$cc: embedded output differs"
  fi
  ./emb_$cc -w gen/emb.weights in.f32 e2.f32 && cmp -s p.f32 e2.f32 && ok "$cc: -w FILE still works" ||
    bad "$cc: -w FILE with an embedded build"
  # The object must not need the blob at run time.
  mv gen/emb.weights gen/emb.weights.away
  ./emb_$cc in.f32 e3.f32 && cmp -s p.f32 e3.f32 && ok "$cc: runs without the .weights file" ||
    bad "$cc: needs the .weights at run time"
  mv gen/emb.weights.away gen/emb.weights
  cp gen/emb.weights corrupt.weights
  printf '\001' | dd of=corrupt.weights bs=1 seek=300 conv=notrunc 2>/dev/null
  $cc $CCFLAGS0 -DEMB_WEIGHTS_FILE='"corrupt.weights"' -o corrupt gen/emb.c -lm
  ./corrupt in.f32 x.f32 2>err.txt
  grep -q 'checksum mismatch' err.txt && ok "$cc: corrupted embedded blob refused (checksum)" ||
    bad "$cc: corrupted blob: $(cat err.txt)"
  incbin_ gen/other.weights other
  ./other in.f32 x.f32 2>err.txt
  grep -q 'fingerprint mismatch' err.txt && ok "$cc: another model's blob refused (fingerprint)" ||
    bad "$cc: other model's blob: $(cat err.txt)"
  # Cut inside the header: truncated, and a short blob that is not ours: bad magic.
  head -c 20 gen/emb.weights >short.weights; printf 'not rsc' >alien.weights
  incbin_ short.weights short
  ./short in.f32 x.f32 2>err.txt
  grep -q 'weights file is truncated' err.txt && ok "$cc: embedded blob cut in its header refused (truncated)" ||
    bad "$cc: short blob: $(cat err.txt)"
  incbin_ alien.weights alien
  ./alien in.f32 x.f32 2>err.txt
  grep -q 'bad magic' err.txt && ok "$cc: short foreign embedded blob refused (bad magic)" ||
    bad "$cc: short foreign blob: $(cat err.txt)"
  # Assembling emb_CC.s is the step that reads the blob: from gen/ its
  # relative path names nothing.
  (cd gen && ! $cc $CCFLAGS -c -o /dev/null ../emb_$cc.s 2>/dev/null) &&
    ok "$cc: compiling from another directory without the define fails the build" ||
    bad "$cc: built although .incbin's relative path cannot be found"
done
echo "embed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
