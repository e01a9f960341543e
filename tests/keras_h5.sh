#!/bin/bash
# keras_h5.sh - Keras .h5 import and --export-weights. From one set of seeded
# random weights (a safetensors file), tests/keras_h5.py writes Keras
# save_weights files in both naming schemes, with and without the top, with
# a stem counter other than 1 and with layer_names split into layer_names0..;
# rsc must build a .weights blob byte-identical to the safetensors import from
# each, and from float64 datasets. Then the round trip h5 -> --export-weights ->
# --weights, and the errors (missing layer, wrong shape, NaN/Inf/out-of-range
# values, extra layer, not HDF5) with their messages and
# no output file. Run from the repository root after `make`.
# Prints "keras_h5: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
RSC=$PWD/${B:-build}/rsc PY=/usr/bin/python3 W=$PWD/tests/keras_h5.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

cat >top.spec <<'EOF'
blocks 1 2 1 1
widths 8 16 16 32
stem_widths 8 8 16
width 32
classes 10
EOF
sed 's/^classes 10$/head avg/' top.spec >notop.spec

for v in top notop; do
  $RSC $v.spec --seed 3 --export-weights $v.safetensors || bad "$v: export of random weights"
  $RSC $v.spec --weights $v.safetensors -o ref_$v.c || bad "$v: safetensors import"
  # The export is the raw random weights: importing it gives the seeded blob.
  $RSC $v.spec --seed 3 -o seed_$v.c
  cmp -s seed_$v.weights ref_$v.weights && ok "$v: --seed blob == export+import blob" ||
    bad "$v: exported random weights import to a different blob"
done

# case NAME SPEC-VARIANT keras_h5.py-options...
same() {
  local name=$1 v=$2
  shift 2
  if ! $PY "$W" $v.safetensors $name.h5 "$@" || ! $RSC $v.spec --weights $name.h5 -o $name.c \
    2>$name.err; then
    bad "$name: import failed: $(head -3 $name.err)"; return
  fi
  cmp -s ref_$v.weights $name.weights && ok "$name: blob identical to the safetensors import" ||
    bad "$name: blob differs from the safetensors import"
}
same apps_top top --scheme apps
same converted_top top --scheme converted
same apps_notop notop --scheme apps
same converted_notop notop --scheme converted
same split3_converted top --scheme converted --split 3
same split2_stem7 top --scheme apps --stem-counter 7 --split 2
same whole_model top --scheme converted --whole-model 1
same f64_weights top --scheme apps --dtype f64

# Round trip: h5 -> raw safetensors -> the same blob, and the same file as the source.
if $RSC top.spec --weights apps_top.h5 --export-weights rt.safetensors -o rt.c &&
  $RSC top.spec --weights rt.safetensors -o rt2.c && cmp -s rt2.weights ref_top.weights &&
  cmp -s rt.weights ref_top.weights && cmp -s rt.safetensors top.safetensors; then
  ok "round trip h5 -> export -> import: identical blob and safetensors"
else
  bad "round trip h5 -> export -> import"
fi

# err NAME SPEC H5 EXPECTED-MESSAGE: rsc fails with the message and writes nothing.
err() {
  local name=$1 spec=$2 h5=$3 msg=$4
  rm -f out.c out.h out.weights
  if $RSC $spec --weights $h5 -o out.c 2>$name.err; then
    bad "$name: rsc accepted the file"; return
  fi
  if ! grep -qF -- "$msg" $name.err; then
    bad "$name: message not found: $msg"; sed 's/^/     /' $name.err | head -5; return
  fi
  [ -e out.c ] || [ -e out.weights ] && { bad "$name: an output file was written"; return; }
  ok "$name: $msg"
}
$PY "$W" top.safetensors drop.h5 --drop BlockGroup3__block_1__conv_2
err missing_layer top.spec drop.h5 \
  "drop.h5: missing layer 'BlockGroup3__block_1__conv_2' (converted-checkpoint name 'c3_block_1_conv_2') for layer2.1.conv2.weight [16,16,3,3]"
$PY "$W" top.safetensors shape.h5 --scheme converted --bad-shape c2_block_0_conv_1
err wrong_shape top.spec shape.h5 \
  "shape.h5: layer 'c2_block_0_conv_1': weight 'c2_block_0_conv_1/kernel:0': expected [1,1,16,8] (layer1.0.conv1.weight [8,16,1,1]), file has [1,1,16,7]"
$PY "$W" top.safetensors int.h5 --scheme converted --int-weight c2_block_0_conv_1
err non_float top.spec int.h5 \
  "int.h5: layer 'c2_block_0_conv_1': weight 'c2_block_0_conv_1/kernel:0' is not floating point"
# bad_value NAME VALUE MESSAGE: VALUE at index 0 of a conv kernel (a float64 dataset).
bad_value() {
  $PY "$W" top.safetensors $1.h5 --scheme converted --bad-value c2_block_0_conv_1:$2
  err $1 top.spec $1.h5 \
    "$1.h5: dataset 'c2_block_0_conv_1/c2_block_0_conv_1/kernel:0' (layer1.0.conv1.weight): $3 at index 0"
}
bad_value bad_value_nan nan NaN
bad_value bad_value_inf inf "Inf (or a double out of float range)"
bad_value bad_value_1e300 1e300 "Inf (or a double out of float range)"
err top_into_notop notop.spec apps_top.h5 \
  "apps_top.h5: layer 'predictions' (2 weights) matches no layer of the network"
err notop_into_top top.spec apps_notop.h5 "apps_notop.h5: missing layer 'predictions'"
err wrong_depth <(sed 's/^blocks 1 2 1 1$/blocks 1 3 1 1/' top.spec) apps_top.h5 \
  "missing layer 'BlockGroup3__block_2__conv_1' (converted-checkpoint name 'c3_block_2_conv_1')"
printf 'not hdf5' >fake.h5
err not_hdf5 top.spec fake.h5 "fake.h5: not an HDF5 file"
$PY -c "import h5py; h5py.File('plain.h5', 'w').create_dataset('x', data=[1.0])"
err not_keras top.spec plain.h5 "plain.h5: no layer_names attribute"

echo "keras_h5: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
