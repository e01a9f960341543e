#!/usr/bin/python3
"""timm_eval_ref.py - the Python side of tests/classify.sh: what timm's eval
transform (timm.data.transforms_factory.transforms_imagenet_eval, square crop,
"center" crop mode) makes of an image, before ToTensor/Normalize, written as
RGB bytes [H][W][3]. Built from torchvision transforms on a PIL image, as timm
does: Resize(floor(size / crop_pct), bicubic) then CenterCrop(size).

Usage: timm_eval_ref.py IMAGE SIZE CROP_PCT OUT.rgb
"""
import math
import sys

from PIL import Image
from torchvision import transforms


def main():
    path, size, crop_pct, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    img = Image.open(path).convert("RGB")
    t = transforms.Compose([
        transforms.Resize(math.floor(size / crop_pct),
                          interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
    ])
    crop = t(img)
    assert crop.size == (size, size) and crop.mode == "RGB"
    with open(out, "wb") as f:
        f.write(crop.tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
