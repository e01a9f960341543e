#!/bin/bash
# keras_h5.sh - Keras weights import (.h5 of Keras 2, legacy .h5 and
# .weights.h5 of Keras 3) and --export-weights. From one set of seeded random
# weights (a safetensors file), tests/keras_h5.py writes the files Keras's own
# saving code writes for the same ResNet-RS (see its header for the Keras
# source of each rule: weightless layers with an empty weight_names, which
# h5py stores as float64 [0]; layer_names chunked past 64512 bytes; vars
# groups named by class with the layer name as an attribute; nested models;
# optimizer state), in both naming schemes, with and without the top; rsc must
# build a .weights blob byte-identical to the safetensors import from each, and
# from float64 datasets. Then the round trips h5 -> --export-weights ->
# --weights, and the errors (missing layer, wrong shape, NaN/Inf/out-of-range
# values, extra layer, Keras 3 files without layer names or with a hostile
# structure, not HDF5) with their
# messages and no output file. Run from the repository root after `make`.
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

# same NAME SPEC-VARIANT keras_h5.py-options...: NAME.h5 imports to the blob of
# the safetensors import.
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
# form NAME PYTHON-ASSERTIONS: the fixture NAME.h5 (open as f) has the form Keras writes.
form() {
  $PY -c "import h5py, numpy as np
f = h5py.File('$1.h5', 'r')
$2" 2>$1.form && ok "$1: written as Keras writes it" || bad "$1: not the form Keras writes: $(tail -1 $1.form)"
}
# Keras 2 (tf.keras 2.11 Model.save_weights)
same apps_top top --scheme apps
form apps_top "w = f['input_1'].attrs['weight_names']; assert w.dtype == np.float64 and w.shape == (0,)
assert list(f['BlockGroup2__block_0__conv_1'].attrs['weight_names']) == ['BlockGroup2__block_0__conv_1/kernel:0']
assert 'top_level_model_weights' in f and 'layer_names' in f.attrs and 'layer_names0' not in f.attrs
assert f['stem_1_stem_conv_1/stem_1_stem_conv_1/kernel:0'].shape == (3, 3, 3, 8)"
same converted_top top --scheme converted
same apps_notop notop --scheme apps
same converted_notop notop --scheme converted
same chunks_stem7 top --scheme apps --stem-counter 7 --header-limit 1500
form chunks_stem7 "assert 'layer_names' not in f.attrs and 'layer_names3' in f.attrs
assert f.attrs['layer_names0'].dtype.kind == 'S'"
same whole_model top --scheme converted --whole-model 1 --optimizer 1
form whole_model "assert 'model_config' in f.attrs and 'optimizer_weights' in f and 'layer_names' in f['model_weights'].attrs"
same f64_weights top --scheme apps --dtype f64
# layer_names past HDF5_OBJECT_HEADER_LIMIT with Keras's own limit: ~1900 layers.
sed 's/^blocks 1 2 1 1$/blocks 1 2 108 1/; s/^widths .*/widths 2 2 2 2/; s/^stem_widths .*/stem_widths 2 2 2/' \
  top.spec >long.spec
$RSC long.spec --seed 5 --export-weights long.safetensors && $RSC long.spec --weights long.safetensors \
  -o ref_long.c || bad "long: safetensors import"
same split_real long --scheme apps
form split_real "assert 'layer_names' not in f.attrs and 'layer_names1' in f.attrs and 'layer_names2' not in f.attrs"
# Keras 3 Model.save("x.h5"): the legacy layout, weight names without ":0"
same k3_legacy top --format keras3-legacy --whole-model 1
form k3_legacy "assert list(f['model_weights/predictions'].attrs['weight_names']) == ['predictions/kernel', 'predictions/bias']"
# Keras 3 Model.save_weights("x.weights.h5")
same k3_apps_top top --format keras3
form k3_apps_top "assert f['layers/conv2d_5/vars'].attrs['name'] == 'BlockGroup2__block_0__conv_1'
assert sorted(f['layers/batch_normalization/vars']) == ['0', '1', '2', '3'] and len(f['layers/activation/vars']) == 0
assert f['layers/dense/vars/0'].shape == (128, 10) and f['layers/dense/vars/1'].shape == (10,) and 'vars' in f and not f.attrs"
same k3_converted_notop notop --format keras3 --scheme converted
same k3_nested_optimizer top --format keras3 --nested 1 --optimizer 1 --stem-counter 4
form k3_nested_optimizer "assert f['layers/functional/layers/conv2d/vars'].attrs['name'] == 'stem_4_stem_conv_1' and 'optimizer/vars/0' in f"
same k3_f64 top --format keras3 --dtype f64

# Round trips: h5 -> raw safetensors -> the same blob, and the same file as the source.
for h5 in apps_top k3_apps_top; do
  if $RSC top.spec --weights $h5.h5 --export-weights rt.safetensors -o rt.c &&
    $RSC top.spec --weights rt.safetensors -o rt2.c && cmp -s rt2.weights ref_top.weights &&
    cmp -s rt.weights ref_top.weights && cmp -s rt.safetensors top.safetensors; then
    ok "round trip $h5 -> export -> import: identical blob and safetensors"
  else
    bad "round trip $h5 -> export -> import"
  fi
done

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
$PY "$W" top.safetensors k3_noname.h5 --format keras3 --no-name-metadata 1
err k3_no_names top.spec k3_noname.h5 \
  "k3_noname.h5: 'layers/batch_normalization/vars' holds 4 variables but no 'name' attribute"
$PY "$W" top.safetensors k3_drop.h5 --format keras3 --drop BlockGroup3__block_1__conv_2
err k3_missing_layer top.spec k3_drop.h5 \
  "k3_drop.h5: missing layer 'BlockGroup3__block_1__conv_2' (converted-checkpoint name 'c3_block_1_conv_2') for layer2.1.conv2.weight [16,16,3,3]"
$PY "$W" top.safetensors k3_shape.h5 --format keras3 --scheme converted --bad-shape c2_block_0_conv_1
err k3_wrong_shape top.spec k3_shape.h5 \
  "k3_shape.h5: layer 'c2_block_0_conv_1' (layers/conv2d_5/vars): variable 0 (kernel): expected [1,1,16,8] (layer1.0.conv1.weight [8,16,1,1]), file has [1,1,16,7]"
$PY "$W" top.safetensors k3_nan.h5 --format keras3 --bad-value BlockGroup2__block_0__conv_1:nan
err k3_bad_value top.spec k3_nan.h5 \
  "k3_nan.h5: dataset 'layers/conv2d_5/vars/0' (layer1.0.conv1.weight): NaN at index 0"
err k3_top_into_notop notop.spec k3_apps_top.h5 \
  "k3_apps_top.h5: layer 'predictions' (layers/dense/vars) (2 weights) matches no layer of the network"
cp apps_top.h5 int_wn.h5
$PY -c "import h5py; h5py.File('int_wn.h5', 'a')['stem_1_stem_conv_1'].attrs['weight_names'] = [1, 2]"
err int_weight_names top.spec int_wn.h5 \
  "int_wn.h5: layer 'stem_1_stem_conv_1': weight_names is neither empty nor a list of strings"
# Hostile Keras 3 structure: a hard-link cycle, a variable past the layer's, a
# non-string name, vars as a dataset: each reported, the walk ends.
cp k3_apps_top.h5 k3_hostile.h5
$PY -c "import h5py
f = h5py.File('k3_hostile.h5', 'a')
f['layers/conv2d/loop'] = f['layers']
f['layers/conv2d/vars/7'] = [1.0]
f['layers/activation/vars'].attrs['name'] = 5
f['layers/activation/vars/0'] = [1.0]
del f['layers/dense/vars']
f['layers/dense/vars'] = [1.0]"
err k3_hostile top.spec k3_hostile.h5 "k3_hostile.h5: 'layers/dense/vars' is not a group"
grep -qF "'layers/activation/vars' holds 1 variable but no 'name' attribute (a string)" k3_hostile.err &&
  grep -qF "layer 'stem_1_stem_conv_1' (layers/conv2d/vars): unexpected variable '7' (expected 0..0: kernel for conv 'conv1.0')" \
    k3_hostile.err && ok "k3_hostile: the other three reported" ||
  bad "k3_hostile: a problem not reported: $(cat k3_hostile.err)"
printf 'not hdf5' >fake.h5
err not_hdf5 top.spec fake.h5 "fake.h5: not an HDF5 file"
$PY -c "import h5py; h5py.File('plain.h5', 'w').create_dataset('x', data=[1.0])"
err not_keras top.spec plain.h5 "plain.h5: no layer_names attribute"

echo "keras_h5: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
