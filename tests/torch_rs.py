#!/usr/bin/python3
"""torch_rs.py - an independent ResNet-RS in torch.nn, the outside oracle of rsc.

Builds the network with module names that give exactly timm's state_dict names
(docs/resnet-rs.md, "Weight names"), randomises it deterministically,
and writes three files:

  --weights W.safetensors  the state_dict (float32, plus num_batches_tracked as
                           I64 scalars, which rsc must ignore), written by hand:
                           no safetensors package is assumed
  --input IN.f32           a random normal input, float32 NHWC [N][H][W][C]
  --output OUT.f32         the model's output computed in float64 (the float32
                           weights widened exactly), stored as float32: [N][classes]
                           for the dense head, [N][C] for avg/max, NHWC for none

The float32 forward is also run and its distance from the float64 one printed,
for information (it shows how much of a 1e-4 budget plain float32 uses).

Run with /usr/bin/python3 (the interpreter that has torch 1.13 and numpy).
Example: torch_rs.py --depth 50 --height 160 --width 160 --weights w.safetensors
         --input in.f32 --output out.f32
Every spec key of rsc (docs/spec.md) has the flag of the same name with the same
default, so a spec converts to arguments one to one; beyond the ResNet-RS default
that covers the classic family (7x7 stem, max pool, strided shortcut, stride on
the 1x1 conv), swish, other heads, widths and multipliers.
"""
import argparse
import copy
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DEPTHS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 24, 36, 3],
          270: [4, 29, 53, 4], 350: [4, 36, 72, 4], 420: [4, 44, 87, 4]}


def make_act(kind):
    return nn.ReLU() if kind == "relu" else nn.SiLU()


class SE(nn.Module):
    """timm SEModule: mean, fc1 (1x1 conv, bias), ReLU, fc2 (1x1 conv, bias), sigmoid gate."""

    def __init__(self, c, mid):
        super().__init__()
        self.fc1 = nn.Conv2d(c, mid, 1, bias=True)
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(mid, c, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.fc2(self.act(self.fc1(s)))
        return x * torch.sigmoid(s)


def se_width(c, a):
    """The SE reduce width: Keras int(C*r) (at least 1), or timm's SEModule,
    make_divisible(C*r, 8, round_limit=0.) = max(8, int(C*r + 4) // 8 * 8)."""
    if a.se_rounding == "timm":
        return max(8, int(c * a.se_ratio + 4) // 8 * 8)
    return max(1, int(c * a.se_ratio))


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride, a):
        super().__init__()
        cout = 4 * planes
        s1 = stride if a.stride_on == "1x1" else 1
        s3 = stride if a.stride_on == "3x3" else 1
        self.conv1 = nn.Conv2d(cin, planes, 1, stride=s1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, eps=a.bn_eps)
        self.act1 = make_act(a.activation)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=s3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=a.bn_eps)
        self.act2 = make_act(a.activation)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout, eps=a.bn_eps)
        self.se = SE(cout, se_width(cout, a)) if a.se_ratio > 0 else None
        self.act3 = make_act(a.activation)
        self.downsample = None
        if stride != 1 or cin != cout:
            if a.shortcut == "avgpool":
                pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                        if stride > 1 else nn.Identity())
                self.downsample = nn.Sequential(pool, nn.Conv2d(cin, cout, 1, bias=False),
                                                nn.BatchNorm2d(cout, eps=a.bn_eps))
            else:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                                nn.BatchNorm2d(cout, eps=a.bn_eps))

    def forward(self, x):
        sc = x if self.downsample is None else self.downsample(x)
        y = self.act1(self.bn1(self.conv1(x)))
        y = self.act2(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        if self.se is not None:
            y = self.se(y)
        return self.act3(y + sc)


class ResNet(nn.Module):
    def __init__(self, a):
        super().__init__()
        act, eps, sw = a.activation, a.bn_eps, a.stem_widths
        if a.stem == "deep":
            self.conv1 = nn.Sequential(
                nn.Conv2d(a.channels, sw[0], 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(sw[0], eps=eps), make_act(act),
                nn.Conv2d(sw[0], sw[1], 3, padding=1, bias=False),
                nn.BatchNorm2d(sw[1], eps=eps), make_act(act),
                nn.Conv2d(sw[1], sw[2], 3, padding=1, bias=False))
        else:
            self.conv1 = nn.Conv2d(a.channels, sw[0], 7, stride=2, padding=3, bias=False)
        c = sw[-1]
        self.bn1 = nn.BatchNorm2d(c, eps=eps)
        self.act1 = make_act(act)
        if a.stem_downsample == "conv":
            self.maxpool = nn.Sequential(nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
                                         nn.BatchNorm2d(c, eps=eps), make_act(act))
        else:
            self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        for s in range(4):
            blocks = []
            for i in range(a.blocks[s]):
                stride = 2 if s > 0 and i == 0 else 1
                blocks.append(Bottleneck(c, a.widths[s], stride, a))
                c = 4 * a.widths[s]
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        self.head = a.head
        self.softmax = a.classifier_activation == "softmax"
        if a.head == "dense":
            self.fc = nn.Linear(c, a.classes)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.maxpool(x)
        for s in range(4):
            x = getattr(self, "layer%d" % (s + 1))(x)
        if self.head == "none":
            return x.permute(0, 2, 3, 1)  # NHWC, as rsc writes a feature map
        if self.head == "max":
            return x.amax((2, 3))
        x = x.mean((2, 3))
        if self.head == "dense":
            x = self.fc(x)
            if self.softmax:
                x = torch.softmax(x, 1)
        return x


@torch.no_grad()
def randomise(model):
    """The same distributions as rsc's weights_random (not the same values)."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                m.bias.normal_(0, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            lo, hi = (0.1, 0.3) if name.endswith(".bn3") else (0.5, 1.5)
            m.weight.uniform_(lo, hi)
            m.bias.normal_(0, 0.1)
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
        elif isinstance(m, nn.Linear):
            m.weight.normal_(0, 1 / math.sqrt(m.in_features))
            m.bias.normal_(0, 0.01)


def write_safetensors(path, state):
    """safetensors by hand: u64 LE header length, JSON header (keys sorted, padded
    with spaces to a multiple of 8), then the tensors' bytes back to back."""
    header, blobs, off = {}, [], 0
    for name in sorted(state):
        t = state[name].detach().cpu()
        if t.dtype == torch.float32:
            raw, dt = t.contiguous().numpy().astype("<f4").tobytes(), "F32"
        elif t.dtype == torch.int64:
            raw, dt = t.contiguous().numpy().astype("<i8").tobytes(), "I64"
        else:
            raise SystemExit("torch_rs: unexpected dtype %s of %s" % (t.dtype, name))
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def int_list(n):
    def parse(s):
        v = [int(x) for x in s.replace(",", " ").split()]
        if len(v) not in n:
            raise argparse.ArgumentTypeError("expected %s numbers" % " or ".join(map(str, n)))
        return v
    return parse


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--depth", type=int, choices=sorted(DEPTHS), default=50)
    p.add_argument("--blocks", type=int_list([4]), help="blocks per stage, overrides --depth")
    p.add_argument("--height", type=int, help="default: the width, or 224")
    p.add_argument("--width", type=int, help="default: the height, or 224")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--widths", type=int_list([4]), default=[64, 128, 256, 512],
                   help="bottleneck widths before the multiplier")
    p.add_argument("--width-multiplier", type=float, default=1.0,
                   help="scales widths and stem widths, rounding half up (as rsc)")
    p.add_argument("--stem-widths", type=int_list([1, 3]), default=None,
                   help="3 deep stem widths (32,32,64) or 1 classic (64)")
    p.add_argument("--se-ratio", type=float, default=0.25)
    p.add_argument("--se-rounding", choices=["keras", "timm"], default="keras")
    p.add_argument("--stem", choices=["deep", "classic"], default="deep")
    p.add_argument("--stem-downsample", choices=["conv", "maxpool"], default="conv")
    p.add_argument("--shortcut", choices=["avgpool", "strided"], default="avgpool")
    p.add_argument("--stride-on", choices=["3x3", "1x1"], default="3x3")
    p.add_argument("--bn-eps", type=float, default=1e-5)
    p.add_argument("--activation", choices=["relu", "swish"], default="relu")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--head", choices=["dense", "avg", "max", "none"], default="dense")
    p.add_argument("--classifier-activation", choices=["none", "softmax"], default="none")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    a = p.parse_args()
    a.blocks = a.blocks or DEPTHS[a.depth]
    a.height = a.height or a.width or 224
    a.width = a.width or a.height
    if a.stem_widths is None:
        a.stem_widths = [32, 32, 64] if a.stem == "deep" else [64]
    if len(a.stem_widths) != (3 if a.stem == "deep" else 1):
        p.error("--stem-widths: a %s stem takes %d widths" % (a.stem, 3 if a.stem == "deep" else 1))

    def scale(w):
        return max(1, int(math.floor(w * a.width_multiplier + 0.5)))
    a.widths = [scale(w) for w in a.widths]
    a.stem_widths = [scale(w) for w in a.stem_widths]

    torch.manual_seed(a.seed)
    model = ResNet(a)
    randomise(model)
    model.eval()
    write_safetensors(a.weights, model.state_dict())

    x = torch.randn(a.batch, a.height, a.width, a.channels, dtype=torch.float32)
    x.numpy().astype("<f4").tofile(a.input)
    x_nchw = x.permute(0, 3, 1, 2).contiguous()

    with torch.no_grad():
        y32 = model(x_nchw)
        m64 = copy.deepcopy(model).double()
        y64 = m64(x_nchw.double())
    y64.contiguous().numpy().astype("<f4").tofile(a.output)

    d = (y32.double() - y64).abs().max().item()
    ref = y64.abs().max().item()
    print("torch_rs: blocks %s input %dx%dx%d: output %s, max|out| %.4g, "
          "float32 vs float64 max diff %.3g (%.3g relative)"
          % (a.blocks, a.height, a.width, a.channels, list(y64.shape), ref, d,
             d / ref if ref else 0.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
