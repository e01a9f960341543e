#!/usr/bin/env node
// ort_bench.js - the ONNX Runtime side of `make bench`: a persistent process that
// bench/torch_bench.py's `compare` drives over stdin/stdout, one line each way,
// like its rsc child (`serve`), so the runs of rsc, PyTorch and ONNX Runtime
// alternate one by one.
//
//   node bench/ort_bench.js MODEL.onnx IN.f32 N H W C
//
// MODEL.onnx takes NCHW float32 [N][C][H][W] (torch.onnx.export of the PyTorch
// model); IN.f32 is the NHWC float32 [N][H][W][C] input file rsc's side reads,
// transposed here to NCHW once. Commands:
//   "t T"     a new session with intraOpNumThreads T (interOpNumThreads 1,
//             executionMode 'sequential', graphOptimizationLevel 'all');
//             replies "ok"
//   "r"       one run, replies "ok MS" (wall time of session.run, output included)
//   "o PATH"  writes the last run's first output as float32 to PATH; "ok"
//   "q"       "ok", then exits
// Errors reply "error ..." and exit non-zero.
// ONNX Runtime comes from bench/ort/node_modules (tools/ensure-ort.sh installs
// onnxruntime-node there, pinned by bench/ort/package-lock.json).
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const ort = require(path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'));

function fail(msg) {
  process.stdout.write('error ' + msg + '\n');
  process.exit(1);
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 6) fail('usage: ort_bench.js MODEL.onnx IN.f32 N H W C');
  const [model, inPath] = argv;
  const [n, h, w, c] = argv.slice(2).map(Number);
  const buf = fs.readFileSync(inPath);
  if (buf.length !== 4 * n * h * w * c) fail('input size ' + buf.length + ' bytes, not ' + 4 * n * h * w * c);
  const nhwc = new Float32Array(buf.buffer, buf.byteOffset, n * h * w * c);
  const nchw = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++)
          nchw[((b * c + k) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + k];
  const input = new ort.Tensor('float32', nchw, [n, c, h, w]);
  let session = null;
  let out = null;
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    const cmd = line.trim().split(/\s+/);
    try {
      if (cmd[0] === 't') {
        if (session) await session.release();
        session = await ort.InferenceSession.create(model, {
          executionProviders: ['cpu'],
          intraOpNumThreads: Number(cmd[1]),
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        });
        if (session.inputNames.length !== 1) fail('model has ' + session.inputNames.length + ' inputs');
        process.stdout.write('ok\n');
      } else if (cmd[0] === 'r') {
        if (!session) fail('r before t');
        const feeds = { [session.inputNames[0]]: input };
        const t0 = process.hrtime.bigint();
        const res = await session.run(feeds);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        out = res[session.outputNames[0]];
        process.stdout.write('ok ' + ms.toFixed(6) + '\n');
      } else if (cmd[0] === 'o') {
        if (!out) fail('o before r');
        const d = out.data;
        fs.writeFileSync(cmd[1], Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        process.stdout.write('ok\n');
      } else if (cmd[0] === 'q') {
        if (session) await session.release();
        process.stdout.write('ok\n');
        process.exit(0);
      } else {
        fail('unknown command ' + JSON.stringify(line));
      }
    } catch (e) {
      fail(String(e && e.message ? e.message : e).replace(/\n/g, ' '));
    }
  }
}

main();
