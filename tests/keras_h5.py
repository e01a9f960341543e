#!/usr/bin/python3
"""keras_h5.py - writes a timm-named safetensors file as the weights file Keras
would write for the same ResNet-RS, for tests of `rsc --weights FILE.h5`
(tests/keras_h5.sh). Independent of rsc's C mapping: the layer names follow
docs/resnet-rs.md, the files follow Keras's saving code, cited below
by repository tag and file (github.com/keras-team/keras); Keras itself is not
installable here, so each rule is done with the same h5py calls Keras makes.

  keras_h5.py IN.safetensors OUT.h5 [--format keras2|keras3-legacy|keras3]
      [--scheme apps|converted] [--stem-counter N] [--whole-model 1] [--nested 1]
      [--optimizer 1] [--no-name-metadata 1] [--header-limit BYTES] [--libver latest]
      [--drop LAYER] [--bad-shape LAYER] [--int-weight LAYER] [--dtype f32|f64]
      [--bad-value LAYER:VALUE]

The model (construction order of v2.11.0 keras/applications/resnet_rs.py:
ResNetRS, STEM, Conv2DFixedPadding, fixed_padding, BottleneckBlock, SE): Input,
Rescaling, Normalization (mean and variance given: no weights, v2.11.0
keras/layers/preprocessing/normalization.py build); per stem conv k a
ZeroPadding2D when it strides, Conv2D, BatchNormalization, Activation; per
block AveragePooling2D (_projection_pooling, striding blocks), the projection
Conv2D and BN, conv/BN/act x3, SE (GlobalAveragePooling2D, Reshape, two Conv2D
with bias, Multiply), Dropout, Add, Activation; head GlobalAveragePooling2D
avg_pool, Dropout top_dropout, Dense predictions (without the top and
pooling="avg", avg_pool only). Layers without weights use Keras's automatic
names (input_1, zero_padding2d_3, add_2, ...). rsc maps by name, not order.

--format keras2 (default): Model.save_weights("x.h5") of tf.keras 2.11
  (v2.11.0 keras/engine/training.py save_weights -> keras/saving/legacy/
  hdf5_format.py save_weights_to_hdf5_group), see write_legacy. --whole-model 1:
  Model.save("x.h5") (hdf5_format.py save_model_to_hdf5): root attrs from
  saving_utils.model_metadata, the same layout under /model_weights.
--format keras3-legacy: Keras 3 Model.save("x.h5") (keras/src/legacy/saving/
  legacy_h5_format.py save_model_to_hdf5, save_weights_to_hdf5_group): the same
  layout with Variable.path weight names ("conv/kernel", no ":0").
--format keras3: Keras 3 Model.save_weights("x.weights.h5") (keras/src/saving/
  saving_lib.py save_weights_only, _save_state, _save_container_state,
  H5IOStore), see write_keras3.
--nested 1: the ResNet-RS is one layer of an outer functional model (Keras 3).
--optimizer 1: a compiled, trained model's Adam state is in the file too.
--no-name-metadata 1: Keras 3.0-3.5 (H5Entry before v3.6.0 wrote no "name").
--header-limit BYTES: Keras's chunking rule at a smaller limit than
  HDF5_OBJECT_HEADER_LIMIT (64512), so a small network's layer_names splits.
--libver latest: h5py.File(libver="latest"), the newest HDF5 object formats
  (Keras opens files with h5py's default, the most compatible ones): a file a
  third the size, for the fuzz seed corpus (fuzz/corpus/h5/raw_keras*).
Mutations for error tests: --drop LAYER (not written), --bad-shape LAYER (first
weight's last axis one short), --int-weight LAYER (int32), --dtype f64 (every
float weight float64), --bad-value LAYER:VALUE (VALUE at index 0 of the first
weight, stored as float64).
"""
import json
import re
import struct
import sys

import h5py
import numpy as np

# v2.11.0 keras/saving/legacy/hdf5_format.py and keras/src/legacy/saving/
# legacy_h5_format.py: HDF5_OBJECT_HEADER_LIMIT = 64512.
HDF5_OBJECT_HEADER_LIMIT = 64512


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e
        b, en = e["data_offsets"]
        out[name] = np.frombuffer(data[b:en], dtype="<f4").reshape(e["shape"])
    return out


class Layer:
    """One Keras layer: its name, class, and variables in Keras order
    (trainable then non-trainable: v2.11.0 hdf5_format.py _legacy_weights; Keras
    3 Layer.save_own_variables, base_conv.py and dense.py save_own_variables:
    kernel then bias; batch_normalization.py build: gamma, beta (trainable),
    moving_mean, moving_variance)."""

    def __init__(self, name, cls, weights=()):
        self.name, self.cls, self.weights = name, cls, list(weights)


def to_snake_case(name):
    """keras/src/utils/naming.py to_snake_case: Keras 3's group names."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Names:
    """Automatic layer names, as backend.unique_object_name gives them:
    zero_padding2d, zero_padding2d_1, ..."""

    def __init__(self):
        self.used = {}

    def auto(self, cls):
        base = to_snake_case(cls)
        k = self.used.get(base, 0)
        self.used[base] = k + 1
        return base if k == 0 else f"{base}_{k}"


def build_model(tensors, scheme, counter, keras3):
    """The ResNet-RS functional model's layers (see the module docstring)."""
    mods = {}
    for name, v in tensors.items():
        mod, field = name.rsplit(".", 1)
        if field != "num_batches_tracked":
            mods.setdefault(mod, {})[field] = v

    def conv(mod):
        f = mods[mod]
        ws = [("kernel", f["weight"].transpose(2, 3, 1, 0))]  # OIHW -> HWIO
        return ws + ([("bias", f["bias"])] if "bias" in f else [])

    def bn(mod):
        f = mods[mod]
        return [("gamma", f["weight"]), ("beta", f["bias"]),
                ("moving_mean", f["running_mean"]), ("moving_variance", f["running_var"])]

    apps = scheme == "apps"
    auto = Names()
    out = []
    add = out.append
    # tf.keras names the first Input "input_1" (v2.11.0 keras/engine/input_layer.py
    # InputLayer: prefix "input" + "_" + backend.get_uid(prefix)), Keras 3
    # "input_layer" (Layer's auto_name of the class InputLayer).
    add(Layer("input_layer" if keras3 else "input_1", "InputLayer"))
    add(Layer(auto.auto("Rescaling"), "Rescaling"))
    add(Layer(auto.auto("Normalization"), "Normalization"))
    stem = f"stem_{counter}_stem_" if apps else "stem_"
    stem_mods = [("conv1.0", "conv1.1", 2), ("conv1.3", "conv1.4", 1),
                 ("conv1.6", "bn1", 1), ("maxpool.0", "maxpool.1", 2)]
    for k, (c, b, stride) in enumerate(stem_mods, 1):
        if stride > 1:
            add(Layer(auto.auto("ZeroPadding2D"), "ZeroPadding2D"))
        add(Layer(f"{stem}conv_{k}", "Conv2D", conv(c)))
        add(Layer(f"{stem}batch_norm_{k}", "BatchNormalization", bn(b)))
        add(Layer(f"{stem}act_{k}", "Activation"))
    blocks = []
    for mod in mods:
        m = re.match(r"layer(\d+)\.(\d+)\.", mod)
        if m and (int(m.group(1)), int(m.group(2))) not in blocks:
            blocks.append((int(m.group(1)), int(m.group(2))))
    for s, i in blocks:
        p = f"layer{s}.{i}."
        # apps: name + "_conv_1" with name "BlockGroup{S+1}__block_{i}_", but
        # name + "batch_norm_1" (resnet_rs.py BottleneckBlock).
        n = (lambda a, c: f"BlockGroup{s + 1}__block_{i}_{a}") if apps else \
            (lambda a, c: f"c{s + 1}_block_{i}_{c}")
        stride = 2 if s > 1 and i == 0 else 1
        if p + "downsample.1.weight" in tensors:
            if stride == 2:
                add(Layer(n("_projection_pooling", "projection_pooling"), "AveragePooling2D"))
            add(Layer(n("_projection_conv", "projection_conv"), "Conv2D", conv(p + "downsample.1")))
            add(Layer(n("_projection_batch_norm", "projection_batch_norm"), "BatchNormalization",
                      bn(p + "downsample.2")))
        add(Layer(n("_conv_1", "conv_1"), "Conv2D", conv(p + "conv1")))
        add(Layer(n("batch_norm_1", "batch_norm_1"), "BatchNormalization", bn(p + "bn1")))
        add(Layer(n("_act_1", "act_1"), "Activation"))
        if stride > 1:
            add(Layer(auto.auto("ZeroPadding2D"), "ZeroPadding2D"))
        add(Layer(n("_conv_2", "conv_2"), "Conv2D", conv(p + "conv2")))
        add(Layer(n("_batch_norm_2", "batch_norm_2"), "BatchNormalization", bn(p + "bn2")))
        add(Layer(n("_act_2", "act_2"), "Activation"))
        add(Layer(n("_conv_3", "conv_3"), "Conv2D", conv(p + "conv3")))
        add(Layer(n("_batch_norm_3", "batch_norm_3"), "BatchNormalization", bn(p + "bn3")))
        if p + "se.fc1.weight" in tensors:
            add(Layer(n("_se_se_squeeze", "se_squeeze"), "GlobalAveragePooling2D"))
            add(Layer(n("_se_se_reshape", "se_reshape"), "Reshape"))
            add(Layer(n("_se_se_reduce", "se_reduce"), "Conv2D", conv(p + "se.fc1")))
            add(Layer(n("_se_se_expand", "se_expand"), "Conv2D", conv(p + "se.fc2")))
            add(Layer(n("_se_se_excite", "se_excite"), "Multiply"))
        add(Layer(n("_drop", "drop"), "Dropout"))
        add(Layer(auto.auto("Add"), "Add"))
        add(Layer(n("_output_act", "output_act"), "Activation"))
    add(Layer("avg_pool", "GlobalAveragePooling2D"))
    if "fc" in mods:
        add(Layer("top_dropout", "Dropout"))
        add(Layer("predictions", "Dense", [("kernel", mods["fc"]["weight"].T),
                                           ("bias", mods["fc"]["bias"])]))
    return out


def mutate(model, opts):
    kept = []
    for layer in model:
        if layer.name == opts["--drop"]:
            continue
        ws = layer.weights
        if ws and layer.name == opts["--bad-shape"]:
            ws[0] = (ws[0][0], ws[0][1][..., :-1])
        if ws and layer.name == opts["--int-weight"]:
            ws[0] = (ws[0][0], ws[0][1].astype(np.int32))
        if opts["--dtype"] == "f64":
            ws[:] = [(w, v.astype(np.float64) if v.dtype.kind == "f" else v) for w, v in ws]
        if ws and opts["--bad-value"] and layer.name == opts["--bad-value"].split(":")[0]:
            v = ws[0][1].astype(np.float64)
            v.flat[0] = float(opts["--bad-value"].split(":")[1])
            ws[0] = (ws[0][0], v)
        kept.append(layer)
    return kept


# ------------------------------------------------ Keras 2 and legacy Keras 3 .h5

def save_attributes_to_hdf5_group(group, name, data, limit):
    """hdf5_format.py save_attributes_to_hdf5_group (tf.keras v2.11.0; the same
    in Keras 3 legacy_h5_format.py): split into name0, name1, ... until every
    chunk of np.array_split fits the limit; a single chunk is stored from the
    list itself, so an empty list becomes an empty float64 array (h5py converts
    [] with np.asarray)."""
    data_npy = np.asarray(data)
    num_chunks = 1
    chunked = np.array_split(data_npy, num_chunks)
    while any(x.nbytes > limit for x in chunked):
        num_chunks += 1
        chunked = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for chunk_id, chunk in enumerate(chunked):
            group.attrs["%s%d" % (name, chunk_id)] = chunk
    else:
        group.attrs[name] = data


def save_subset_weights_to_hdf5_group(group, names, values, limit):
    """hdf5_format.py save_subset_weights_to_hdf5_group: weight_names, then one
    dataset per weight at its name under the layer group (so the variable
    "conv/kernel:0" of layer "conv" is the dataset conv/conv/kernel:0)."""
    save_attributes_to_hdf5_group(group, "weight_names", names, limit)
    for name, val in zip(names, values):
        dset = group.create_dataset(name, val.shape, dtype=val.dtype)
        if not val.shape:
            dset[()] = val
        else:
            dset[:] = val


def save_weights_to_hdf5_group(f, layers, opts, keras3):
    """hdf5_format.py save_weights_to_hdf5_group (v2.11.0) / legacy_h5_format.py
    (Keras 3): layer_names in model.layers order, backend and keras_version as
    bytes, one group per layer created in name order, then the model's own
    weights in "top_level_model_weights" (none: an empty list)."""
    limit = int(opts["--header-limit"])
    save_attributes_to_hdf5_group(f, "layer_names", [l.name.encode("utf8") for l in layers],
                                  limit)
    f.attrs["backend"] = ("jax" if keras3 else "tensorflow").encode("utf8")
    f.attrs["keras_version"] = ("3.8.0" if keras3 else "2.11.0").encode("utf8")
    for layer in sorted(layers, key=lambda x: x.name):
        g = f.create_group(layer.name)
        # tf.keras: Variable.name "conv/kernel:0"; Keras 3: Variable.path "conv/kernel".
        names = [(f"{layer.name}/{w}" + ("" if keras3 else ":0")).encode("utf8")
                 for w, _ in layer.weights]
        save_subset_weights_to_hdf5_group(g, names, [v for _, v in layer.weights], limit)
    g = f.create_group("top_level_model_weights")
    save_subset_weights_to_hdf5_group(g, [], [], limit)


def write_legacy(path, layers, opts, keras3):
    with h5py.File(path, "w", libver=opts["--libver"]) as f:
        if opts["--whole-model"] != "1":  # training.py save_weights, save_format "h5"
            save_weights_to_hdf5_group(f, layers, opts, keras3)
            return
        # save_model_to_hdf5: saving_utils.model_metadata's str values as they
        # are (h5py: variable-length strings), dicts as JSON bytes.
        f.attrs["keras_version"] = "3.8.0" if keras3 else "2.11.0"
        f.attrs["backend"] = "jax" if keras3 else "tensorflow"
        config = {"class_name": "Functional", "config": {"name": "resnet-rs", "layers": [
            {"class_name": l.cls, "config": {"name": l.name}} for l in layers]}}
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        save_weights_to_hdf5_group(f.create_group("model_weights"), layers, opts, keras3)
        if opts["--optimizer"] == "1":  # save_optimizer_weights_to_hdf5_group
            opt = [("iter:0", np.int64(10)), ("learning_rate:0", np.float32(1e-3))]
            for l in layers:
                for w, v in l.weights[:2 if l.cls == "BatchNormalization" else None]:
                    opt.append((f"Adam/{l.name}/{w}/m:0", np.zeros_like(v)))
            g = f.create_group("optimizer_weights")
            save_subset_weights_to_hdf5_group(g, [n.encode() for n, _ in opt],
                                              [v for _, v in opt], HDF5_OBJECT_HEADER_LIMIT)


# ------------------------------------------------------------ Keras 3 .weights.h5

def write_keras3(path, layers, opts):
    """saving_lib.py save_weights_only -> _save_state(model, inner_path="").
    _save_state: a saveable with save_own_variables gets
    store.make(inner_path, metadata={"name": saveable.name}), which creates the
    group <inner_path>/vars ("vars" at the root for the model itself) with the
    attribute name (a str: h5py writes a variable-length string); its variables
    are datasets "0", "1", ... in save_own_variables order (Layer: trainable then
    non-trainable; Conv and Dense: kernel, bias). Then _walk_saveable: a
    Functional model yields "layers" first, whose items _save_container_state
    names by to_snake_case(class name) made unique per container (conv2d,
    conv2d_1, ...), then the other attributes in sorted order (an optimizer at
    "optimizer"). Before v3.6.0 (H5Entry) the vars group had no attribute; from
    v3.9.0 (H5IOStore) it is created at once when there is metadata, so layers
    without variables have an empty vars group in every version. No root
    attribute is written."""
    names = opts["--no-name-metadata"] != "1"

    def make(f, inner, name):
        g = f.create_group("vars") if not inner else f.create_group(inner).create_group("vars")
        if names:
            g.attrs["name"] = name
        return g

    def save_container(f, inner, items):
        used = {}
        for obj in items:
            base = to_snake_case(obj.cls)
            if base in used:
                used[base] += 1
                base = f"{base}_{used[base]}"
            else:
                used[base] = 0
            at = f"{inner}/{base}"
            if isinstance(obj, Layer):
                g = make(f, at, obj.name)
                for i, (_, v) in enumerate(obj.weights):
                    g[str(i)] = v  # H5IOStore.__setitem__
            else:  # a nested Functional model: its own (empty) vars, then its layers
                make(f, at, obj.name)
                save_container(f, at + "/layers", obj.layers)

    class Model:
        cls = "Functional"

        def __init__(self, name, layers):
            self.name, self.layers = name, layers

    model = Model("resnet-rs", layers)
    if opts["--nested"] == "1":  # inputs = Input(); outputs = resnet(inputs)
        model = Model("functional", [Layer("input_layer_1", "InputLayer"), model])
    with h5py.File(path, "w", libver=opts["--libver"]) as f:
        make(f, "", model.name)
        save_container(f, "layers", model.layers)
        if opts["--optimizer"] == "1":
            # base_optimizer.py: iterations, learning_rate, then adam.py build
            # interleaves momentum and velocity per trainable variable.
            g = make(f, "optimizer", "adam")
            state = [np.int64(10), np.float32(1e-3)]
            for l in layers:
                for w, v in l.weights[:2 if l.cls == "BatchNormalization" else None]:
                    state += [np.zeros_like(v), np.zeros_like(v)]
            for i, v in enumerate(state):
                g[str(i)] = v


def main():
    args = sys.argv[1:]
    src, dst = args[0], args[1]
    opts = {"--format": "keras2", "--scheme": "apps", "--stem-counter": "1",
            "--whole-model": "0", "--nested": "0", "--optimizer": "0",
            "--no-name-metadata": "0", "--libver": None, "--header-limit": str(HDF5_OBJECT_HEADER_LIMIT),
            "--drop": None, "--bad-shape": None, "--int-weight": None, "--dtype": "f32",
            "--bad-value": None}
    for i in range(2, len(args), 2):
        assert args[i] in opts, args[i]
        opts[args[i]] = args[i + 1]
    fmt = opts["--format"]
    layers = build_model(read_safetensors(src), opts["--scheme"], opts["--stem-counter"],
                         fmt != "keras2")
    layers = mutate(layers, opts)
    if fmt == "keras3":
        write_keras3(dst, layers, opts)
    else:
        write_legacy(dst, layers, opts, fmt == "keras3-legacy")


if __name__ == "__main__":
    main()
