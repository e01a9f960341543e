#!/usr/bin/python3
"""train.py - trains the small ResNet-RS that `make run` compiles with rsc.

The data: scikit-learn's handwritten digits (Debian's python3-sklearn ships
them as sklearn/datasets/data/digits.csv.gz: 1797 8x8 images, 17 grey levels,
labels 0-9). Each image becomes what a camera pipeline would hand a network:
grey levels scaled to 0..255, upscaled to 32x32 (bilinear), rounded to bytes,
replicated to RGB. A fixed, stratified 80/20 split (seeded) holds out 359
images that training never sees.

The network: the reduced ResNet-RS of digits.spec (read from that file, so the
two cannot drift), built by tests/torch_rs.py with timm's module names, fed the
bytes through Keras' ResNet-RS preprocessing (x/255, then ImageNet mean/std),
exactly what the spec's `input_type u8` + `preprocess imagenet` compile in.

Writes, beside this script:
  digits.safetensors  the trained state_dict (timm names, float32)
  heldout.u8          the held-out images, uint8 NHWC [359][32][32][3]
  heldout.txt         one line per held-out image: "label torch_prediction"
  heldout_logits.f32  PyTorch's logits of the held-out images, float32 [359][10]
and prints the training log and the held-out accuracy.

Reproducible: seeded, single-threaded, deterministic algorithms; about a
minute on one CPU core. Run with /usr/bin/python3 (Debian's torch).
"""
import argparse
import math
import os
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
import torch_rs  # noqa: E402  (the repository's ResNet-RS in torch.nn)

MEAN = (0.485, 0.456, 0.406)  # Keras ResNet-RS include_preprocessing=True
STD = (0.229, 0.224, 0.225)
SIZE = 32


def read_spec(path):
    """The spec's keys as a torch_rs argument namespace (only what digits.spec uses)."""
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].replace(",", " ").split()
            if line:
                keys[line[0]] = line[1:]
    a = types.SimpleNamespace(
        blocks=[int(v) for v in keys["blocks"]], widths=[int(v) for v in keys["widths"]],
        stem_widths=[int(v) for v in keys["stem_widths"]],
        channels=int(keys.get("channels", ["3"])[0]), classes=int(keys["classes"][0]),
        height=int(keys["height"][0]), width=int(keys["width"][0]),
        se_ratio=float(keys.get("se_ratio", ["0.25"])[0]), stem="deep", stem_downsample="conv",
        shortcut="avgpool", stride_on="3x3", bn_eps=1e-5, activation="relu", head="dense",
        classifier_activation="none")
    assert keys.get("input_type") == ["u8"] and keys.get("preprocess") == ["imagenet"]
    assert a.height == SIZE and a.width == SIZE and a.channels == 3
    return a


def images_u8():
    """All 1797 digits as uint8 [N][32][32][3] (NHWC) and their labels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float64).unsqueeze(1) * (255.0 / 16.0)
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = x.round().clamp(0, 255).to(torch.uint8)
    return x.squeeze(1).unsqueeze(-1).expand(-1, -1, -1, 3).contiguous(), torch.tensor(d.target)


def preprocess(x_u8):
    """uint8 NHWC -> normalised float32 NCHW, as Keras' include_preprocessing does."""
    x = x_u8.permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def split(labels, seed):
    """A stratified 80/20 split: 20% of each class, chosen by a seeded permutation."""
    g = torch.Generator().manual_seed(seed)
    test = []
    for c in range(10):
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        test.append(idx[: int(round(len(idx) * 0.2))])
    test = torch.cat(test).sort().values
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[test] = False
    return mask.nonzero().flatten(), test


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=HERE, help="where the outputs go (default: beside this)")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    spec = read_spec(os.path.join(HERE, "digits.spec"))
    x, y = images_u8()
    train_idx, test_idx = split(y, args.seed)
    model = torch_rs.ResNet(spec)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = args.epochs * math.ceil(len(train_idx) / 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(args.seed + 1)
    xt = preprocess(x)
    for epoch in range(args.epochs):
        model.train()
        perm = train_idx[torch.randperm(len(train_idx), generator=g)]
        total = correct = 0
        loss_sum = 0.0
        for k in range(0, len(perm), 64):
            b = perm[k:k + 64]
            xb = xt[b]
            # A random shift of up to 2 pixels (zero padding in normalised space,
            # like the network's own) keeps the tiny model from memorising.
            dy, dx = torch.randint(-2, 3, (2,), generator=g).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            out = model(xb)
            loss = F.cross_entropy(out, y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(b)
            total += len(b)
            correct += (out.argmax(1) == y[b]).sum().item()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print("epoch %2d: loss %.4f, train accuracy %.4f" % (epoch + 1, loss_sum / total,
                                                                   correct / total))
    model.eval()
    with torch.no_grad():
        logits = model(xt[test_idx])
    pred = logits.argmax(1)
    top2 = logits.topk(2, 1).values
    margin = (top2[:, 0] - top2[:, 1]).min().item()
    acc = (pred == y[test_idx]).float().mean().item()
    print("held-out: %d images, PyTorch accuracy %.4f (%d/%d), smallest top-1 margin %.3f"
          % (len(test_idx), acc, (pred == y[test_idx]).sum().item(), len(test_idx), margin))

    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch_rs.write_safetensors(os.path.join(args.out, "digits.safetensors"), state)
    x[test_idx].numpy().tofile(os.path.join(args.out, "heldout.u8"))
    logits.numpy().astype("<f4").tofile(os.path.join(args.out, "heldout_logits.f32"))
    with open(os.path.join(args.out, "heldout.txt"), "w") as f:
        f.write("# label torch_prediction (examples/digits/train.py --seed %d --epochs %d)\n"
                % (args.seed, args.epochs))
        for t, q in zip(y[test_idx].tolist(), pred.tolist()):
            f.write("%d %d\n" % (t, q))
    return 0


if __name__ == "__main__":
    sys.exit(main())
