#!/bin/sh
# ensure-deps.sh - checks that the Debian packages rsc's build and tests need are
# installed; installs the missing ones when run as root, else prints the exact
# apt-get line and fails. Called by `make run`, `make test` and .ci/run.
set -eu
# What each package gives us: m4 (templates), cc/clang (both compilers build the
# generated code), cmocka (unit tests), cJSON (safetensors headers), python3-torch
# and numpy (PyTorch cross-check), make; libpng/libjpeg (examples/classify decodes
# images), PIL and torchvision (its Python reference, and the ImageNet labels),
# scikit-learn (the digits data and test photos, examples/digits/train.py);
# libhdf5 (Keras .h5 weights) and h5py (tests write .h5 files), cmake
# (examples/integration/cmake); libclang-rt-14-dev (libFuzzer, `make fuzz`), valgrind.
PKGS="m4 gcc clang make libcmocka-dev libcjson-dev pkg-config python3 python3-torch python3-numpy
  libpng-dev libjpeg-dev python3-pil python3-torchvision python3-sklearn
  libhdf5-dev python3-h5py cmake libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "ensure-deps: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends $missing >&2
else
  echo "ensure-deps: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi
