#!/bin/sh
# ensure-ort.sh - installs ONNX Runtime for `make bench` (bench/run.sh calls it;
# `make test` never does): onnxruntime-node, the version pinned by
# bench/ort/package-lock.json, into bench/ort/node_modules (git-ignored) with
# `npm ci --ignore-scripts`. The npm package carries the CPU build of ONNX
# Runtime (bin/napi-v6/linux/x64/libonnxruntime.so.1 and its node binding);
# its install script, skipped, would only fetch GPU (CUDA) libraries. Needs
# node and npm (Debian's nodejs and npm, installed here when run as root).
# Does nothing when the pinned version is installed and its binding loads;
# prints that version.
set -eu
cd "$(dirname "$0")/../bench/ort"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "ensure-ort: installing nodejs npm" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends nodejs npm >&2
  else
    echo "ensure-ort: node and npm are needed for ONNX Runtime. Run:" >&2
    echo "  sudo apt-get install -y nodejs npm" >&2
    echo "(or BENCH_ORT=0 make bench to leave ONNX Runtime out)" >&2
    exit 1
  fi
fi
# The version package-lock.json pins, and the one installed (if any).
want=$(node -e 'console.log(require("./package-lock.json").packages["node_modules/onnxruntime-node"].version)')
have=$(node -e 'try { console.log(require("./node_modules/onnxruntime-node/package.json").version) } catch (e) { console.log("none") }')
loads() {
  node -e 'const o = require("onnxruntime-node"); if (!o.listSupportedBackends().some(b => b.name === "cpu")) process.exit(1)' \
    >/dev/null 2>&1
}
if [ "$have" != "$want" ] || ! loads; then
  echo "ensure-ort: npm ci --ignore-scripts (onnxruntime-node $want, was $have)" >&2
  npm ci --ignore-scripts --no-audit --no-fund >&2
  if ! loads; then
    echo "ensure-ort: onnxruntime-node $want installed but its CPU binding does not load:" >&2
    node -e 'require("onnxruntime-node")' >&2 || true
    exit 1
  fi
fi
echo "$want"
