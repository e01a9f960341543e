#!/usr/bin/python3
"""keras_h5.py - writes a timm-named safetensors file as a Keras save_weights .h5,
the way tf.keras' save_weights_to_hdf5_group lays it out, for tests of
`rsc --weights FILE.h5` (tests/keras_h5.sh). Independent of rsc's C mapping:
the names follow ../shared/docs/resnet-rs.md.

  keras_h5.py IN.safetensors OUT.h5 [--scheme apps|converted] [--stem-counter N]
              [--split K] [--drop LAYER] [--bad-shape LAYER] [--int-weight LAYER] [--whole-model 1]
              [--dtype f32|f64] [--bad-value LAYER:VALUE]

Layout written: root attrs backend, keras_version, layer_names (numpy 'S'
array; split into layer_names0..K-1 with --split K, as Keras does past
64512 bytes); one group per layer (weightless layers too: input, activations)
with attr weight_names and datasets <layer>/<layer>/<var>:0. Conv kernels
HWIO, dense [in,out], BN gamma/beta/moving_mean/moving_variance. --dtype f64
stores every float dataset as float64; --bad-value puts VALUE (nan, inf, 1e300)
at index 0 of LAYER's first weight, stored as float64.
"""
import json
import re
import struct
import sys

import h5py
import numpy as np

LIMIT = 64512  # Keras' HDF5_OBJECT_HEADER_LIMIT


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


STEM = {"conv1.0": ("conv", 1), "conv1.1": ("batch_norm", 1), "conv1.3": ("conv", 2),
        "conv1.4": ("batch_norm", 2), "conv1.6": ("conv", 3), "bn1": ("batch_norm", 3),
        "maxpool.0": ("conv", 4), "maxpool.1": ("batch_norm", 4)}
BLOCK = {"conv1": ("_conv_1", "conv_1"), "bn1": ("batch_norm_1", "batch_norm_1"),
         "conv2": ("_conv_2", "conv_2"), "bn2": ("_batch_norm_2", "batch_norm_2"),
         "conv3": ("_conv_3", "conv_3"), "bn3": ("_batch_norm_3", "batch_norm_3"),
         "se.fc1": ("_se_se_reduce", "se_reduce"), "se.fc2": ("_se_se_expand", "se_expand"),
         "downsample.1": ("_projection_conv", "projection_conv"),
         "downsample.2": ("_projection_batch_norm", "projection_batch_norm")}


def keras_layer(module, scheme, counter):
    apps = scheme == "apps"
    if module in STEM:
        kind, k = STEM[module]
        return (f"stem_{counter}_stem_{kind}_{k}" if apps else f"stem_{kind}_{k}"), kind
    if module == "fc":
        return "predictions", "dense"
    m = re.fullmatch(r"layer(\d+)\.(\d+)\.(.+)", module)
    s, i, part = int(m.group(1)), int(m.group(2)), m.group(3)
    a, c = BLOCK[part]
    name = f"BlockGroup{s + 1}__block_{i}_{a}" if apps else f"c{s + 1}_block_{i}_{c}"
    return name, ("batch_norm" if "batch_norm" in a else "conv")


def main():
    args = sys.argv[1:]
    src, dst = args[0], args[1]
    opts = {"--scheme": "apps", "--stem-counter": "1", "--split": "0", "--drop": None,
            "--bad-shape": None, "--int-weight": None, "--whole-model": "0", "--dtype": "f32",
            "--bad-value": None}
    i = 2
    while i < len(args):
        opts[args[i]] = args[i + 1]
        i += 2
    tensors = read_safetensors(src)
    # Modules in state_dict order (the network's order), each with its tensors.
    modules = {}
    for name, v in tensors.items():
        mod, field = name.rsplit(".", 1)
        if field == "num_batches_tracked":
            continue
        modules.setdefault(mod, {})[field] = v
    layer_names, groups = ["input_1", "rescaling", "normalization"], {}
    for mod, fields in modules.items():
        name, kind = keras_layer(mod, opts["--scheme"], opts["--stem-counter"])
        if kind == "batch_norm":
            ws = [("gamma", fields["weight"]), ("beta", fields["bias"]),
                  ("moving_mean", fields["running_mean"]),
                  ("moving_variance", fields["running_var"])]
        elif kind == "dense":
            ws = [("kernel", fields["weight"].T), ("bias", fields["bias"])]
        else:
            ws = [("kernel", fields["weight"].transpose(2, 3, 1, 0))]
            if "bias" in fields:
                ws.append(("bias", fields["bias"]))
        if name == opts["--drop"]:
            continue
        if name == opts["--bad-shape"]:
            ws[0] = (ws[0][0], ws[0][1][..., :-1])
        if name == opts["--int-weight"]:  # a non-float dataset rsc must refuse
            ws[0] = (ws[0][0], ws[0][1].astype(np.int32))
        if opts["--dtype"] == "f64":
            ws = [(w, v.astype(np.float64)) for w, v in ws]
        if opts["--bad-value"] and name == opts["--bad-value"].split(":")[0]:
            v = ws[0][1].astype(np.float64)
            v.flat[0] = float(opts["--bad-value"].split(":")[1])
            ws[0] = (ws[0][0], v)
        layer_names.append(name)
        groups[name] = ws
        if kind == "batch_norm":  # weightless layers between, as Keras has them
            layer_names.append(name.replace("batch_norm", "act"))
    with h5py.File(dst, "w") as h5:
        # Model.save("x.h5") puts the same layout under /model_weights.
        f = h5.create_group("model_weights") if opts["--whole-model"] == "1" else h5
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.11.0"
        data = np.asarray([n.encode() for n in layer_names])
        k = int(opts["--split"])
        if k == 0:
            while data.nbytes > LIMIT * max(k, 1):
                k += 1
        if k > 1:
            for cid, chunk in enumerate(np.array_split(data, k)):
                f.attrs[f"layer_names{cid}"] = chunk
        else:
            f.attrs["layer_names"] = data
        for name in layer_names:
            g = f.create_group(name)
            ws = groups.get(name, [])
            wnames = [f"{name}/{w}:0".encode() for w, _ in ws]
            g.attrs["weight_names"] = np.asarray(wnames, dtype="S" + str(max([len(w) for w in wnames] + [1])))
            for (w, v), wn in zip(ws, wnames):
                keep = v.dtype in (np.int32, np.float64)
                g.create_dataset(wn.decode(), data=np.ascontiguousarray(v, dtype=v.dtype if keep else np.float32))


if __name__ == "__main__":
    main()
