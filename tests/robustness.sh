#!/bin/bash
# robustness.sh - runs every row of docs/robustness.md: each hostile input must
# make rsc exit 1 with the documented message, create no output and leave no
# temporary file, and (for injection rows) execute nothing. Rows are named as in
# the table; a row in the table without a case here, or the reverse, fails.
set -u
cd "$(dirname "$0")/.."
RSC=$(realpath "${RSC:-${B:-build}/rsc}") # absolute: some cases run in other directories
W=$(mktemp -d /tmp/rsc-robust.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0 ran=()
BASE=specs/resnet-rs-50-i160.spec
DIGITS=examples/digits/digits.spec

# spec_with KEY VALUE...: the RS-50 spec with KEY replaced.
spec_with() {
  local k=$1; shift
  { grep -v -E "^($k|depth|blocks)( |$)" "$BASE"
    [ "$k" = blocks ] || [ "$k" = depth ] || grep -E "^depth " "$BASE"; echo "$k $*"; } > "$W/in.spec"
}
# safetensors HEADER_JSON PAYLOAD_BYTES [LEN_OVERRIDE]
safetensors() {
  python3 -c 'import sys,struct; h=sys.argv[1].encode(); n=int(sys.argv[3]) if len(sys.argv)>3 else len(h); sys.stdout.buffer.write(struct.pack("<Q",n)+h+b"\0"*int(sys.argv[2]))' "$@" > "$W/in.safetensors"
}
# expect ROW PATTERN ARGS...: rsc ARGS -o OUT.c exits 1, prints PATTERN, writes nothing.
expect() {
  local row=$1 pat=$2; shift 2
  ran+=("$row")
  rm -f "$W"/out.* "$W"/PWNED
  local err rc
  err=$(timeout 120 "$RSC" "$@" -o "$W/out.c" 2>&1); rc=$?
  local left; left=$(ls -p "$W" | grep -v / | grep -v -E '^in\.' || true)
  if [ "$rc" -eq 1 ] && grep -q -E -- "$pat" <<<"$err" && [ -z "$left" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $row: rc=$rc, files left: [$left], wanted /$pat/, got:"; echo "$err" | head -n 5
  fi
}

spec_with depth 50000000;            expect depth-huge "'depth' must be one of" "$W/in.spec"
spec_with blocks 1000000 1 1 1;      expect blocks-huge "'blocks' must be in 1\.\.1000" "$W/in.spec"
spec_with height 1000000;            expect input-huge "'height' must be in 1\.\.65536" "$W/in.spec"
spec_with height 30000; sed -i 's/^width .*/width 30000/' "$W/in.spec"
                                     expect tensor-huge "over the limit of 2147483648 floats per tensor" "$W/in.spec"
spec_with batch 1000000000;          expect batch-huge "'batch' must be in 1\.\.4096" "$W/in.spec"
spec_with classes 2000000000;        expect classes-huge "'classes' must be in 1\.\.1000000" "$W/in.spec"
spec_with widths 100000000 1 1 1;    expect widths-huge "'widths' must be in 1\.\.65536" "$W/in.spec"
spec_with width_multiplier 1e9;      expect multiplier-huge "'width_multiplier' must be in" "$W/in.spec"
# A 10 MB line: the message quotes 200 bytes of it (and 64 of a 10 MB word), not 20 MB.
python3 -c "import sys; sys.stdout.write('depth 50\nheight' + ' ' * 10000000 + '22a\n')" >"$W/in.spec"
                                     expect spec-long-line "'height' needs an integer, not '22a'" "$W/in.spec"
n=$("$RSC" "$W/in.spec" -o "$W/out.c" 2>&1 | wc -c); [ "$n" -lt 1000 ] || { echo "FAIL spec-long-line: $n bytes of messages"; fail=$((fail + 1)); }
python3 -c "import sys; sys.stdout.write('depth 50\n' + 'k' * 10000000 + ' 1\n')" >"$W/in.spec"
                                     expect spec-long-word "unknown key 'k{64}\.\.\.'" "$W/in.spec"
n=$("$RSC" "$W/in.spec" -o "$W/out.c" 2>&1 | wc -c); [ "$n" -lt 1000 ] || { echo "FAIL spec-long-word: $n bytes of messages"; fail=$((fail + 1)); }
rm -f "$W/in.spec"
expect precision-word "'precision' must be 'fp32' or 'bf16', not 'int8'" "$DIGITS" --precision int8
expect precision-target "'precision bf16' needs --target avx512-bf16" "$DIGITS" --precision bf16 --target avx512
expect target-amx "--target amx: rsc has no AMX kernels yet" "$DIGITS" --target amx
expect name-m4 "--name .* is not a C identifier" "$DIGITS" --name "m4_esyscmd(touch $W/PWNED)"
expect name-quote "--name .* is not a C identifier" "$DIGITS" --name '<|x|>'
expect name-comment "--name .* is not a C identifier" "$DIGITS" --name 'a*/b'
expect name-newline "is not a C identifier" "$DIGITS" --name $'a\nb'
# Tuning files (rsc --tuning): the digits model pinned to zen5/avx512.
TUNE="--cpu zen5 --target avx512"
printf 'machine zen5 avx512\nuse conv3x3s2x2p1x1_n1_32x32x3_16x16x16 direct kb16\0np8\n' > "$W/in.tuning"
                                     expect tuning-nul "tuning file '.*' has a NUL byte" "$DIGITS" $TUNE --tuning "$W/in.tuning"
printf 'machine spr avx512\n' > "$W/in.tuning"
                                     expect tuning-other-machine "in\.tuning:1:1: error: tuned for --cpu spr --target avx512, not this compile's --cpu zen5" "$DIGITS" $TUNE --tuning "$W/in.tuning"
printf 'machine zen5 avx512\nuse conv3x3s2x2p1x1_n1_32x32x3_16x16x16 direct kb64 np16 kg1 nx0 xp0 tg1 tc0\n' > "$W/in.tuning"
                                     expect tuning-bad-schedule "in\.tuning:2:5: error: schedule for .*: a 64x16 tile needs 69 vector registers" "$DIGITS" $TUNE --tuning "$W/in.tuning"
python3 -c "import sys; sys.stdout.write('machine zen5 avx512\n' + '#' * 5000000 + '\n')" > "$W/in.tuning"
                                     expect tuning-huge "cannot read tuning file '.*': 5000021 bytes, more than the limit of 4194304" "$DIGITS" $TUNE --tuning "$W/in.tuning"
printf 'machine zen5 avx512-bf16\n' > "$W/in.tuning"
                                     expect tuning-bf16 "--tune and --tuning schedule float32 convs, not 'precision bf16'" "$DIGITS" --cpu zen5 --target avx512-bf16 --precision bf16 --tuning "$W/in.tuning"
rm -f "$W/in.tuning"
[ -e "$W/PWNED" ] && { echo "FAIL name-m4: m4_esyscmd ran"; fail=$((fail + 1)); }
safetensors '{"fc.weight":{"dtype":"F32","shape":[10,64],"data_offsets":[0,1073741824]}}' 0
                                     expect st-offset-outside "tensor .fc.weight.: data_offsets \\[0,1073741824\\] outside the data section" "$DIGITS" --weights "$W/in.safetensors"
safetensors '{}' 0 1099511627776;    expect st-header-len "header length 1099511627776 exceeds the file size" "$DIGITS" --weights "$W/in.safetensors"
printf '\1\2\3' > "$W/in.safetensors"
                                     expect st-truncated "file too short for a safetensors header" "$DIGITS" --weights "$W/in.safetensors"
safetensors '{"a":' 0;               expect st-bad-json "header is not a valid JSON object" "$DIGITS" --weights "$W/in.safetensors"

# vlimit KB: `ulimit -v KB`, so a run that reads or allocates without bound
# fails here rather than swapping the machine. An ASan build reserves terabytes
# of address space and cannot run under it: there, allocations over ASAN_MB
# (default 64) MiB fail instead (malloc returns NULL, as it does when the
# limit is hit), which is what the out-of-memory rows need.
ASAN=$(ldd "$RSC" 2>/dev/null | grep -c libasan)
vlimit() {
  if [ "$ASAN" = 0 ]; then ulimit -v "$1"; else
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=${ASAN_MB:-64}
  fi
}

# keep ROW PATTERN LIMIT ARGS...: a good run writes $W/keep/out.*; then rsc ARGS
# -o the same path (under `ulimit -f LIMIT`, "-" for none, TMPDIR=$W/tmp) must
# exit 1 with PATTERN, leave the earlier outputs byte-identical and leave no
# other file in $W/keep or $W/tmp (temporaries, m4 drivers).
keep() {
  local row=$1 pat=$2 lim=$3; shift 3
  ran+=("$row")
  rm -rf "$W/keep" "$W/tmp"; mkdir -p "$W/keep" "$W/tmp"
  env -u RSC_M4 "$RSC" "$DIGITS" -o "$W/keep/out.c" 2>/dev/null || { fail=$((fail + 1)); echo "FAIL $row: good run failed"; return; }
  local before; before=$(cd "$W/keep" && md5sum out.*)
  local err rc
  err=$( [ "$lim" = - ] || ulimit -f "$lim"; [ -z "${VLIM:-}" ] || vlimit "$VLIM"
         TMPDIR=$W/tmp timeout 120 "$RSC" "$@" -o "$W/keep/out.c" 2>&1); rc=$?
  local after; after=$(cd "$W/keep" && md5sum out.*)
  local left; left=$(ls "$W/tmp"; ls "$W/keep" | grep -v -x -E 'out\.(c|h|weights)')
  if [ "$rc" -eq 1 ] && grep -q -E -- "$pat" <<<"$err" && [ "$before" = "$after" ] && [ -z "$left" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $row: rc=$rc, outputs intact: $([ "$before" = "$after" ] && echo yes || echo no), files left: [$left], wanted /$pat/, got:"
    echo "$err" | head -n 5
  fi
}
printf '\1\2\3' > "$W/in.safetensors"
                                     keep keep-bad-weights "file too short for a safetensors header" - "$DIGITS" --weights "$W/in.safetensors"
RSC_M4=false                         keep keep-m4-fails "m4 failed \(false, status 1\)" - "$DIGITS"
RSC_M4=$W/no-such-m4                 keep keep-m4-missing "cannot run '.*no-such-m4': No such file" - "$DIGITS"
                                     keep keep-disk-full-driver "cannot write m4 driver .*: File too large" 8 "$DIGITS"
                                     keep keep-disk-full-output "cannot write '.*out\.weights': File too large" 200 "$DIGITS"

# The generic out-of-memory exit (xmalloc): RS-50 with random weights needs
# about 100 MB of address space with one thread; at 70 MB an allocation fails
# while the .weights is written, when the .c and .h temporaries and the m4
# drivers exist: all removed, the earlier outputs intact.
VLIM=70000 ASAN_MB=4 RSC_THREADS=1   keep keep-out-of-memory "rsc: error: out of memory \(allocating [0-9]+ bytes\)" - "$BASE"

# Paths: outputs onto devices, FIFOs, sockets, links; two paths naming one
# file. fresh makes $W/p holding a spec and a weights file, the row adds what
# it needs, and refuse runs rsc ARGS there (no -o added), which must exit 1
# with PATTERN and leave every entry of $W/p as it was (type, link target,
# contents) and add none, nor leave anything in its TMPDIR (m4 drivers,
# --verify's directory).
P=$W/p
fresh() {
  rm -rf "$P"; mkdir -p "$P"
  cp "$DIGITS" "$P/s.spec"; cp examples/digits/digits.safetensors "$P/w.safetensors"
}
snapshot() {
  (cd "$P" && find . -printf '%y %p %l\n' | sort && find . -type f -exec md5sum {} + | sort)
}
refuse() {
  local row=$1 pat=$2; shift 2
  ran+=("$row")
  local before; before=$(snapshot)
  local err rc
  rm -rf "$W/rtmp"; mkdir "$W/rtmp"
  err=$(cd "$P" && vlimit "${VLIM:-2000000}" && TMPDIR=$W/rtmp timeout 60 "$RSC" "$@" 2>&1); rc=$?
  local after; after=$(snapshot; ls -A "$W/rtmp")
  if [ "$rc" -eq 1 ] && grep -q -E -- "$pat" <<<"$err" && [ "$before" = "$after" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $row: rc=$rc, files unchanged: $([ "$before" = "$after" ] && echo yes || echo no), wanted /$pat/, got:"
    echo "$err" | head -n 5
    [ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | head -n 6
  fi
}
fresh; mkfifo "$P/m.c";              refuse out-fifo "cannot write 'm\.c': it is a FIFO; outputs can only be regular files" s.spec -o m.c
fresh; ln -s /dev/null "$P/m.h";     refuse out-chardev "cannot write 'm\.h': it is a character device" s.spec -o m.c
fresh; python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$P/m.weights"
                                     refuse out-socket "cannot write 'm\.weights': it is a socket" s.spec -o m.c
fresh; mkdir "$P/m.txt";             refuse out-directory "cannot write 'm\.txt': it is a directory" s.spec -o m.c --manifest m.txt
fresh; ln -s gone.c "$P/m.c";        refuse out-dangling-link "cannot write 'm\.c': a symbolic link to a missing file" s.spec -o m.c
fresh;                               refuse out-empty-path "cannot write '': an empty path names no file" s.spec -o m.c --manifest ''
fresh;                               refuse out-not-c "-o 'w\.safetensors' must name a \.c file" s.spec --weights w.safetensors -o w.safetensors
fresh;                               refuse same-weights-export "--weights 'w\.safetensors' and --export-weights '\./w\.safetensors' are the same file" s.spec --weights w.safetensors --export-weights ./w.safetensors
fresh;                               refuse same-manifest-header "-o's header 'm\.h' and --manifest 'm\.h' are the same file" s.spec -o m.c --manifest m.h
fresh;                               refuse same-export-weights "-o's weights 'm\.weights' and --export-weights '.*/p/m\.weights' are the same file" s.spec -o m.c --export-weights "$P/m.weights"
fresh; ln "$P/s.spec" "$P/hard.txt"; refuse same-hardlink "the spec 's\.spec' and --manifest 'hard\.txt' are the same file" s.spec -o m.c --manifest hard.txt
fresh; ln -s s.spec "$P/m.txt";      refuse same-symlink "the spec 's\.spec' and --manifest 'm\.txt' are the same file" s.spec -o m.c --manifest m.txt
fresh; mkdir "$P/d";                 refuse same-new-name "-o 'd/\.\./m\.c' and --manifest 'm\.c' are the same file" s.spec -o d/../m.c --manifest m.c
fresh; ln -s m.weights "$P/v.weights"; refuse same-dangling-link "--verify-weights 'v\.weights' and -o's weights 'm\.weights' are the same file" s.spec -o m.c --verify --verify-weights v.weights
# Written through a link: the target is replaced, the link stays a link.
ran+=(out-symlink); fresh; echo old > "$P/real.c"; ln -s real.c "$P/m.c"
if (cd "$P" && "$RSC" s.spec -o m.c) && [ -L "$P/m.c" ] && [ "$(readlink "$P/m.c")" = real.c ] &&
   grep -q "Generated by rsc" "$P/real.c"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL out-symlink: link replaced or target not written"; ls -l "$P"; fi

# Inputs that never end, or are not files: a clear error in bounded time
# and memory (timeout, ulimit -v), nothing written.
fresh; mkdir "$P/dir.spec";          refuse spec-directory "cannot read spec 'dir\.spec': is a directory" dir.spec -o m.c
fresh;                               refuse spec-dev-zero "cannot read spec '/dev/zero': is a character device" /dev/zero -o m.c
# feed FIFO CMD...: a FIFO CMD writes into; release FIFO lets a writer rsc
# left waiting or writing go (it must not outlive the test).
feed() { local f=$1; shift; mkfifo "$f"; ("$@" > "$f" 2>/dev/null &); }
release() { timeout 2 cat "$1" > /dev/null 2>&1; }
fresh; feed "$P/f.spec" yes 'depth 50'
                                     refuse spec-fifo-endless "cannot read spec 'f\.spec': more than the limit of 16777216 bytes" f.spec -o m.c
release "$P/f.spec"
fresh;                               refuse st-dev-zero "/dev/zero: cannot read: is a character device" s.spec --weights /dev/zero -o m.c
fresh; feed "$P/f.st" cat /dev/zero
# (the pipe's buffer grows to its cap, about 107 MB for this net: over ASan's
# default per-allocation limit of 64 MiB here, so that limit is raised)
ASAN_MB=256                          refuse st-fifo-endless "f\.st: cannot read: a pipe of more than [0-9]+ bytes" s.spec --weights f.st -o m.c
release "$P/f.st"
fresh; mkfifo "$P/f.h5";             refuse h5-fifo "f\.h5: cannot read: is a FIFO; HDF5 weights must be a regular file" s.spec --weights f.h5 -o m.c
fresh; mkfifo "$P/f.weights";        refuse verify-weights-fifo "--verify-weights 'f\.weights' must be a regular file: it is a FIFO" s.spec --verify --verify-weights f.weights
# A header whose one tensor (fc.weight, 256 MB for 250000 classes) is more
# than the memory left under a 450 MB limit: the file is sparse (zeros) and
# mapped (257 MB of the limit), so the tensor's allocation is what fails.
fresh; python3 - "$P/w.safetensors" "$P/big.safetensors" 250000 <<'PY'
import json, struct, sys
src, out, classes = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = open(src, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
h.pop('__metadata__', None)
h['fc.weight']['shape'][0] = classes; h['fc.bias']['shape'][0] = classes
off = 0
for k in sorted(h):
    size = 4
    for d in h[k]['shape']: size *= d
    h[k]['data_offsets'] = [off, off + size]; off += size
j = json.dumps(h).encode()
with open(out, 'wb') as f:
    f.write(struct.pack('<Q', len(j)) + j); f.truncate(8 + len(j) + off)
PY
VLIM=450000 ASAN_MB=128              refuse st-out-of-memory "big\.safetensors: tensor 'fc\.weight': out of memory \(256000000 bytes\)" s.spec --classes 250000 --weights big.safetensors -o m.c
# The same file through a pipe (read once, never reopened) imports as the file does.
ran+=(st-fifo); fresh; feed "$P/f.st" cat "$P/w.safetensors"
if (cd "$P" && timeout 60 "$RSC" s.spec --weights f.st -o a.c && "$RSC" s.spec --weights w.safetensors -o b.c) &&
   cmp -s "$P/a.weights" "$P/b.weights"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL st-fifo: a piped safetensors file does not import as the file does"; fi
release "$P/f.st"
rm -rf "$P"

# st_variant MODE: from the digits weights, writes $W/in.safetensors (the
# variant) and $W/in.ref.safetensors (F32 with the values the variant must convert
# to exactly). MODE: f16, bf16, f64 (convert), nan, inf, f64-range, overlap,
# i32 (each damages one tensor, the first conv weight).
st_variant() {
  python3 - "$1" examples/digits/digits.safetensors "$W/in.safetensors" "$W/in.ref.safetensors" <<'EOF'
import json, struct, sys
mode, src, out, ref = sys.argv[1:]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
hdr = json.loads(b[8:8 + n]); data = b[8 + n:]
meta = hdr.pop('__metadata__', None)
names = sorted(hdr, key=lambda k: hdr[k]['data_offsets'][0])
vals = {k: list(struct.unpack('<%df' % ((hdr[k]['data_offsets'][1] - hdr[k]['data_offsets'][0]) // 4),
                              data[hdr[k]['data_offsets'][0]:hdr[k]['data_offsets'][1]])) for k in names}
victim = next(k for k in names if k.endswith('conv.weight') or k == 'conv1.weight' or k.endswith('.weight') and len(hdr[k]['shape']) == 4)
def bf16(x): return struct.unpack('<I', struct.pack('<f', x))[0] >> 16
def write(path, dt):
    h, blob = {}, b''
    for k in names:
        v, t = vals[k], dt.get(k, 'F32')
        if t == 'F32': raw = struct.pack('<%df' % len(v), *v)
        elif t == 'F16': raw = struct.pack('<%de' % len(v), *v)
        elif t == 'BF16': raw = struct.pack('<%dH' % len(v), *[bf16(x) for x in v])
        elif t == 'F64': raw = struct.pack('<%dd' % len(v), *v)
        elif t == 'I32': raw = struct.pack('<%di' % len(v), *[0] * len(v))
        h[k] = {'dtype': t, 'shape': hdr[k]['shape'], 'data_offsets': [len(blob), len(blob) + len(raw)]}
        blob += raw
    if mode == 'overlap':  # the second tensor starts inside the first
        a, c = names[0], names[1]
        h[c]['data_offsets'] = [h[a]['data_offsets'][1] - 4, h[a]['data_offsets'][1] - 4 + h[c]['data_offsets'][1] - h[c]['data_offsets'][0]]
    j = json.dumps(h).encode()
    open(path, 'wb').write(struct.pack('<Q', len(j)) + j + blob)
if mode in ('f16', 'bf16', 'f64'):
    # Round every value to what the narrow type holds, so the F32 reference is exact.
    for k in names:
        if mode == 'f16': vals[k] = list(struct.unpack('<%de' % len(vals[k]), struct.pack('<%de' % len(vals[k]), *vals[k])))
        if mode == 'bf16': vals[k] = [struct.unpack('<f', struct.pack('<I', bf16(x) << 16))[0] for x in vals[k]]
    write(ref, {})
    write(out, {k: mode.upper() for k in names})
else:
    if mode == 'nan': vals[victim][5] = float('nan')
    if mode == 'inf': vals[victim][5] = float('-inf')
    if mode == 'f64-range': vals[victim][5] = 1e300
    write(out, {victim: 'F64' if mode == 'f64-range' else 'I32' if mode == 'i32' else 'F32'})
    print(victim)
EOF
}
# converts ROW MODE: the MODE file and its exact F32 reference give
# byte-identical .weights (and rsc succeeds on both).
converts() {
  local row=$1; ran+=("$row")
  st_variant "$2" >/dev/null
  if "$RSC" "$DIGITS" --weights "$W/in.safetensors" -o "$W/cv/a.c" 2>"$W/cv/err" &&
     "$RSC" "$DIGITS" --weights "$W/in.ref.safetensors" -o "$W/cv/b.c" 2>>"$W/cv/err" &&
     cmp -s "$W/cv/a.weights" "$W/cv/b.weights" && ! cmp -s "$W/cv/a.weights" "$W/cv/good.weights"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL $row: conversion not exact or refused:"; head -n 3 "$W/cv/err"
  fi
}
mkdir -p "$W/cv"; "$RSC" "$DIGITS" --weights examples/digits/digits.safetensors -o "$W/cv/good.c" || { fail=$((fail + 1)); echo "FAIL converts: good run"; }
converts st-f16 f16
converts st-bf16 bf16
# F64 holding F32 values exactly: same .weights as the original file.
ran+=(st-f64); st_variant f64 >/dev/null
if "$RSC" "$DIGITS" --weights "$W/in.safetensors" -o "$W/cv/a.c" 2>"$W/cv/err" && cmp -s "$W/cv/a.weights" "$W/cv/good.weights"; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL st-f64:"; head -n 3 "$W/cv/err"; fi
v=$(st_variant nan);       expect st-nan "tensor '$v': NaN at index 5" "$DIGITS" --weights "$W/in.safetensors"
v=$(st_variant inf);       expect st-inf "tensor '$v': Inf at index 5" "$DIGITS" --weights "$W/in.safetensors"
v=$(st_variant f64-range); expect st-f64-range "tensor '$v': value 1e\+300 at index 5 does not fit a float" "$DIGITS" --weights "$W/in.safetensors"
v=$(st_variant i32);       expect st-dtype-int "tensor '$v': unsupported dtype 'I32' \(F32, F16, BF16 or F64 expected\)" "$DIGITS" --weights "$W/in.safetensors"
st_variant overlap >/dev/null; expect st-overlap "tensors '.*' \[[0-9]+,[0-9]+\] and '.*' \[[0-9]+,[0-9]+\] overlap" "$DIGITS" --weights "$W/in.safetensors"
rm -f "$W/in.ref.safetensors"

# The generated loader (P_open): a small model built with --main, its .weights
# file damaged one way per row; the program must exit 1 (not crash) with the
# P_strerror message of that damage.
L=$W/ld; mkdir -p "$L"
printf 'blocks 1 2 1 1\nwidths 8 16 16 32\nstem_widths 8 8 16\nwidth 32\nclasses 10\n' > "$L/s.spec"
"$RSC" "$L/s.spec" --seed 3 --main -o "$L/m.c" && "$RSC" "$L/s.spec" --depth 50 --seed 3 -o "$L/other.c" &&
  ${CC:-cc} -std=c11 -O1 ${GEN_CFLAGS:-} -o "$L/m" "$L/m.c" -lm -lpthread || { fail=$((fail + 1)); echo "FAIL loader: cannot build the model"; }
head -c $((32 * 32 * 3 * 4)) /dev/zero > "$L/in.f32"
# damage ROW PATTERN PYTHON: PYTHON edits bytearray b (the good file) into w.weights.
damage() {
  local row=$1 pat=$2 py=$3
  ran+=("$row")
  python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); o=open(sys.argv[2],'rb').read(); $py; open(sys.argv[3],'wb').write(b)" \
    "$L/m.weights" "$L/other.weights" "$L/w.weights"
  local err rc; err=$("$L/m" -w "$L/w.weights" "$L/in.f32" "$L/out.f32" 2>&1); rc=$?
  if [ "$rc" -eq 1 ] && grep -q -E -- "$pat" <<<"$err"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $row: rc=$rc, wanted /$pat/, got:"; echo "$err" | head -n 3
  fi
}
# Control: the undamaged file runs, so each failure below is the damage's.
"$L/m" -w "$L/m.weights" "$L/in.f32" "$L/out.f32" || { fail=$((fail + 1)); echo "FAIL loader: the good file does not run"; }
damage ld-truncated "weights file is truncated" "b=b[:-100]"
damage ld-short-header "weights file is truncated" "b=b[:20]"
damage ld-empty "not an rsc weights file \(bad magic\)" "b=b[:0]"
damage ld-magic "not an rsc weights file \(bad magic\)" "b[0]^=1"
damage ld-version "unsupported weights format version" "b[8]=2"
damage ld-fingerprint "belongs to another model \(fingerprint mismatch\)" "b=bytearray(o)"
damage ld-precision "of another precision than this model \(fp32\)" "b[40]=1"
damage ld-checksum "corrupted \(checksum mismatch\)" "b[-1]^=0x40"
damage ld-trailing "wrong size for this model" "b+=b'x'"

# Rows run by other suites: the named case must still exist there.
while IFS='|' read -r _ ref _; do
  suite=${ref%%:*}; suite=${suite# }; case_=${ref#*: }; case_=${case_% }
  grep -q -F -- "$case_" "$suite" && pass=$((pass + 1)) ||
    { fail=$((fail + 1)); echo "FAIL docs row '$ref': no case '$case_' in $suite"; }
done < <(grep -E '^\| tests/[a-z0-9_]+\.sh: ' docs/robustness.md)

# Every row of the table has run, and every case here is in the table.
rows=$(sed -n 's/^| `\([a-z0-9-]*\)` |.*/\1/p' docs/robustness.md | sort)
have=$(printf '%s\n' "${ran[@]}" | sort)
if [ "$rows" != "$have" ]; then
  fail=$((fail + 1)); echo "FAIL table: docs/robustness.md rows and tests differ:"; diff <(echo "$rows") <(echo "$have")
fi
echo "robustness: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
