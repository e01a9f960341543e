#!/usr/bin/python3
"""torch_bench.py - the PyTorch side of `make bench` (bench/run.sh drives it), and
the driver of its rsc and ONNX Runtime children.

Subcommands (run with /usr/bin/python3, Debian's python3-torch):

  weights  --depth D --size S --weights W.safetensors
      Random weights from tests/torch_rs.py's torch.nn ResNet-RS (its `randomise`),
      written as safetensors for `rsc --weights`, so both sides use the same values.
  compare  --depth D --size S --batch B --weights W --lib libnet.so --threads 1,2
           --runs N --json OUT.json
      Loads W into the torch model, feeds rsc (the generated code as a shared
      library, run in a child process that never imports torch, so PyTorch's
      OpenMP threads cannot spin on rsc's cores) and PyTorch the same random
      input, checks the outputs agree (max |diff| / max |out| <= 1e-4), then per
      thread count picks PyTorch's faster configuration (jit.freeze +
      optimize_for_inference, or channels-last eager; best of 2 after 2 warm-up
      runs) and times rsc and PyTorch alternately: 1 warm-up, then N runs each,
      one of each in turn, each after a pause of --gap seconds (default 0.01).
      With --ort (bench/ort_bench.js): the same model exported to ONNX (opset
      13, torch.onnx.export: torch alone, no onnx package), run by ONNX Runtime
      in a node child on the same NHWC input file, its logits checked against
      both PyTorch configurations' (max |ORT - PyTorch| <= 1e-4), and timed in
      the same rounds: rsc, PyTorch, ONNX Runtime, each after the pause.
      The pause lets the other side's idle threads stop spinning: libgomp's
      (PyTorch's) spin for milliseconds after a parallel region and took the
      second core from rsc's worker (RS-50@160 batch 1, 2 threads, on the 2-core
      EPYC: rsc 16.7 ms with no pause, 10.4 ms with 10 ms; alone, back to back,
      10.4). Much longer pauses let the idle vCPU sleep and slowed both sides'
      2-thread runs (rsc 15.2 ms with 30 ms, PyTorch 25.9 ms with 200 ms).
  rss      --depth D --size S --batch B --weights W --config C --threads T
      Runs configuration C twice; bench/run.sh wraps it in /usr/bin/time for
      PyTorch's peak RSS.
  serve    LIB N_IN N_OUT IN.f32 W
      The rsc child of `compare`: commands on stdin "t T" (threads), "r" (one
      timed run; replies the ms), "o PATH" (write the output), "q". The ONNX
      Runtime child (node bench/ort_bench.js) answers the same commands.
  report   --json-dir DIR --peak PEAK.txt [--dram DRAM.txt] --profile PROF.txt --out results.md
      The table (and the profile's 10 slowest layers) as markdown. With --dram
      (bench/dramread.c's output) and DIR/<key>.summary.json (rsc --summary=json
      of that model and batch), each row also gets its DRAM ceiling: the highest
      % of peak any code could reach if every weight byte is read from DRAM once
      per inference. Per fused layer f, t_f = max(2 x MACs_f / peak_T,
      4 x params_f / bandwidth_T) for the row's thread count T; ceiling =
      (2 x MACs / peak_T) / sum t_f. The DRAM term counts only when the packed
      weights exceed the L3 (else 100 %: they could stay cached between
      inferences); "?" without the files. Activations are ignored, so it is an
      upper bound, not a prediction. Under the table: the layers of the first
      batch-1, 1-thread row whose DRAM term is the larger. Rows timed with
      --ort add ONNX Runtime's time, its ratio to rsc's and its check
      (--ort-version names onnxruntime-node's version in the text).
"""
import argparse
import ctypes
import glob
import json
import os
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4
ORT_TOL = 1e-4  # max |ONNX Runtime - PyTorch| on the logits (absolute)


def torch_model(depth, size, batch):
    import torch  # noqa: F401  (only the torch-side subcommands need it)
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    import torch_rs
    a = argparse.Namespace(
        depth=depth, blocks=torch_rs.DEPTHS[depth], height=size, width=size, channels=3,
        batch=batch, widths=[64, 128, 256, 512], width_multiplier=1.0,
        stem_widths=[32, 32, 64], se_ratio=0.25, se_rounding="keras", stem="deep",
        stem_downsample="conv",
        shortcut="avgpool", stride_on="3x3", bn_eps=1e-5, activation="relu", classes=1000,
        head="dense", classifier_activation="none", seed=1)
    return torch_rs, torch_rs.ResNet(a)


def read_safetensors(path):
    import numpy as np
    import torch
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    state = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        dt = {"F32": "<f4", "I64": "<i8"}[t["dtype"]]
        state[name] = torch.from_numpy(np.frombuffer(data[lo:hi], dtype=dt).copy().reshape(t["shape"]))
    return state


def load(a):
    import torch
    _, model = torch_model(a.depth, a.size, a.batch)
    model.load_state_dict(read_safetensors(a.weights))
    model.eval()
    return model


def configure(model, config, x):
    """The callable for one PyTorch configuration, and its input."""
    import torch
    if config == "jit.freeze":
        with torch.no_grad():
            m = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))
        return m, x
    m = model.to(memory_format=torch.channels_last)
    return m, x.contiguous(memory_format=torch.channels_last)


def cmd_weights(a):
    import torch
    torch_rs, model = torch_model(a.depth, a.size, 1)
    torch.manual_seed(a.seed)
    torch_rs.randomise(model)
    torch_rs.write_safetensors(a.weights, model.state_dict())


class Child:
    """A timed side in a child process, one command line each way: rsc's
    generated code (`serve`) or ONNX Runtime (bench/ort_bench.js)."""

    def __init__(self, name, argv):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        reply = self.p.stdout.readline().strip()
        if not reply.startswith("ok"):
            raise SystemExit("torch_bench: %s child: %r -> %r" % (self.name, line, reply))
        return reply[2:].strip()

    def close(self):
        self.ask("q")
        self.p.wait()


def cmd_compare(a):
    import numpy as np
    import torch
    model = load(a)
    torch.manual_seed(7)
    x = torch.randn(a.batch, a.size, a.size, 3, dtype=torch.float32)
    in_path = a.json + ".in.f32"
    x.numpy().astype("<f4").tofile(in_path)
    x = x.permute(0, 3, 1, 2).contiguous()
    rsc = Child("rsc", [sys.executable, os.path.abspath(__file__), "serve", a.lib, str(x.numel()),
                        str(a.batch * 1000), in_path, a.rsc_weights])
    out_path = a.json + ".out.f32"
    rsc.ask("t 1")
    rsc.ask("r")
    rsc.ask("o " + out_path)
    y_rsc = np.fromfile(out_path, dtype="<f4").reshape(a.batch, 1000)
    os.unlink(out_path)
    ort = None
    if a.ort:
        # The same module, weights loaded, as ONNX; ONNX Runtime reads the NHWC
        # input file rsc reads (ort_bench.js transposes it to the NCHW x).
        onnx_path = a.json + ".onnx"
        with torch.no_grad():
            torch.onnx.export(model, x, onnx_path, opset_version=13, do_constant_folding=True,
                              input_names=["input"], output_names=["logits"])
        ort = Child("ONNX Runtime", ["node", a.ort, onnx_path, in_path, str(a.batch), str(a.size),
                                     str(a.size), "3"])
        ort.ask("t 1")
        ort.ask("r")
        ort.ask("o " + out_path)
        y_ort = np.fromfile(out_path, dtype="<f4").reshape(a.batch, 1000)
        os.unlink(out_path)
    os.unlink(in_path)
    configs = {}
    check = {}
    check_ort = {}
    for name in ("jit.freeze", "channels_last"):
        with torch.no_grad():
            f, xi = configure(load(a) if name == "channels_last" else model, name, x)
            y = f(xi).numpy()
        diff = float(np.abs(y - y_rsc).max() / np.abs(y).max())
        check[name] = diff
        if ort:
            check_ort[name] = float(np.abs(y - y_ort).max())
        configs[name] = (f, xi)
    ok = all(d <= TOL for d in check.values())
    ok_ort = all(d <= ORT_TOL for d in check_ort.values())
    rows = []
    for t in a.threads:
        torch.set_num_threads(t)
        rsc.ask("t %d" % t)
        if ort:
            ort.ask("t %d" % t)
        # PyTorch's faster configuration at this thread count: two warm-up
        # runs (the profiling executor optimises the frozen graph over its
        # first two), then the best of two. A configuration whose first
        # warm-up already takes 3x the best time so far cannot win and stops
        # there: eager PyTorch runs 1x1 convs at one thread and batch < 16
        # through its own im2col and the system BLAS (Debian's reference
        # BLAS), which took minutes per run of RS-350@320 at batch 8.
        best = {}
        with torch.no_grad():
            for name, (f, xi) in configs.items():
                t0 = time.perf_counter()
                f(xi)
                first = (time.perf_counter() - t0) * 1e3
                if best and first > 3 * min(best.values()):
                    best[name] = first
                    continue
                f(xi)
                ts = []
                for _ in range(2):
                    t0 = time.perf_counter()
                    f(xi)
                    ts.append((time.perf_counter() - t0) * 1e3)
                best[name] = min(ts)
        config = min(best, key=best.get)
        f, xi = configs[config]
        r_ms, t_ms, o_ms = [], [], []
        with torch.no_grad():
            for i in range(a.warmup + a.runs):
                time.sleep(a.gap)
                r = float(rsc.ask("r"))
                time.sleep(a.gap)
                t0 = time.perf_counter()
                f(xi)
                tt = (time.perf_counter() - t0) * 1e3
                if ort:
                    time.sleep(a.gap)
                    o = float(ort.ask("r"))
                if i >= a.warmup:
                    r_ms.append(r)
                    t_ms.append(tt)
                    if ort:
                        o_ms.append(o)
        row = {"model": a.label, "depth": a.depth, "size": a.size, "batch": a.batch,
               "threads": t, "rsc_median": statistics.median(r_ms), "rsc_min": min(r_ms),
               "torch_median": statistics.median(t_ms), "torch_min": min(t_ms),
               "config": config, "config_best_of_3": best, "runs": a.runs, "gap": a.gap,
               "check": check, "check_ok": ok}
        if ort:
            row.update({"ort_median": statistics.median(o_ms), "ort_min": min(o_ms),
                        "check_ort": check_ort, "check_ort_ok": ok_ort})
        rows.append(row)
        print("torch_bench: %s batch %d threads %d: rsc %.2f ms, PyTorch (%s) %.2f ms%s, check %s%s"
              % (a.label, a.batch, t, row["rsc_median"], config, row["torch_median"],
                 ", ONNX Runtime %.2f ms" % row["ort_median"] if ort else "",
                 " ".join("%s %.2g" % kv for kv in check.items()),
                 ", ORT check %s" % " ".join("%s %.2g" % kv for kv in check_ort.items()) if ort else ""),
              flush=True)
    rsc.close()
    if ort:
        ort.close()
        os.unlink(onnx_path)  # each thread count's session reads it; hundreds of MB for the larger models
    with open(a.json, "w") as f:
        json.dump(rows, f, indent=1)
    if not ok:
        print("torch_bench: %s batch %d: OUTPUTS DIFFER (relative max diff %s > %g)"
              % (a.label, a.batch, check, TOL), file=sys.stderr)
    if not ok_ort:
        print("torch_bench: %s batch %d: ONNX RUNTIME'S OUTPUT DIFFERS (max |ORT - PyTorch| %s > %g)"
              % (a.label, a.batch, check_ort, ORT_TOL), file=sys.stderr)
    return 0 if ok and ok_ort else 1


def cmd_rss(a):
    import torch
    torch.set_num_threads(a.threads)
    model = load(a)
    torch.manual_seed(7)
    x = torch.randn(a.batch, 3, a.size, a.size, dtype=torch.float32)
    f, xi = configure(model, a.config, x)
    with torch.no_grad():
        for _ in range(2):  # the frozen graph's optimised form exists from the second
            f(xi)


def cmd_serve(a):
    lib = ctypes.CDLL(a.lib)
    for fn in ("net_open", "net_set_threads", "net_run"):
        getattr(lib, fn).restype = ctypes.c_int
    m = ctypes.c_void_p()
    if lib.net_open(ctypes.byref(m), a.weights.encode()):
        print("error open", flush=True)
        return 1
    data = open(a.input, "rb").read()
    if len(data) != 4 * a.n_in:
        print("error input size", flush=True)
        return 1
    inp = ctypes.create_string_buffer(data, len(data))
    out = (ctypes.c_float * a.n_out)()
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "t":
            rc = lib.net_set_threads(m, int(cmd[1]))
            print("ok" if rc == 0 else "error threads %d" % rc, flush=True)
        elif cmd[0] == "r":
            t0 = time.perf_counter()
            rc = lib.net_run(m, inp, out)
            ms = (time.perf_counter() - t0) * 1e3
            print("ok %.6f" % ms if rc == 0 else "error run %d" % rc, flush=True)
        elif cmd[0] == "o":
            with open(cmd[1], "wb") as f:
                f.write(bytes(out))
            print("ok", flush=True)
        else:
            lib.net_close(m)
            print("ok", flush=True)
            return 0
    return 0


def read_dram(path):
    """bench/dramread.c's output: ({threads: GB/s}, L3 bytes or 0 if unknown)."""
    bw, l3 = {}, 0
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:  # "l3: B bytes", "threads N: G GB/s read ..."
                w = line.split()
                if len(w) >= 3 and w[0] == "threads":
                    bw[int(w[1].rstrip(":"))] = float(w[2])
                elif len(w) >= 2 and w[0] == "l3:" and w[1].isdigit():
                    l3 = int(w[1])
    return bw, l3


def dram_ceiling(summary, peak, bw, l3):
    """The DRAM ceiling of one row: (% of peak, [(fused node, fused op, FLOPs,
    weight bytes, compute ms, DRAM ms)] in network order). peak in GFLOP/s, bw
    in GB/s. The weights count once per inference (the batch shares them), as
    4 x params: the fp32 weights any code must read (rsc's packed ones are more
    for Winograd layers and padded blocks)."""
    nodes = {}
    for l in summary["layers"]:
        n = nodes.setdefault(l["fused_node"], [l["fused_op"], 0, 0])
        n[1] += 2 * l["macs"]
        n[2] += 4 * l["params"]
    stream = summary["totals"]["packed_weight_bytes"] > l3
    layers = [(name, op, flops, nbytes, flops / (peak * 1e6), nbytes / (bw * 1e6) if stream else 0.0)
              for name, (op, flops, nbytes) in nodes.items()]
    t_min = sum(max(c, m) for _, _, _, _, c, m in layers)
    compute = 2 * summary["totals"]["macs"] / (peak * 1e6)
    return (100 * compute / t_min if t_min > 0 else 100.0), layers


def cmd_report(a):
    rows = []
    for path in sorted(glob.glob(os.path.join(a.json_dir, "*.json"))):
        if path.endswith(".summary.json"):
            continue
        with open(path) as f:
            rows += json.load(f)
    summaries = {}
    for path in sorted(glob.glob(os.path.join(a.json_dir, "*.summary.json"))):
        with open(path) as f:
            summaries[os.path.basename(path)[:-len(".summary.json")]] = json.load(f)
    bw, l3 = read_dram(a.dram)
    extra = {}
    for path in sorted(glob.glob(os.path.join(a.json_dir, "*.txt"))):
        with open(path) as f:
            extra[os.path.basename(path)[:-4]] = dict(l.split("=", 1) for l in f.read().split())
    peak = {}
    with open(a.peak) as f:
        for line in f:  # "threads N: G GFLOP/s"
            w = line.split()
            peak[int(w[1].rstrip(":"))] = float(w[2])
    order = {"RS-50": 0, "RS-101": 1, "RS-152": 2, "RS-200": 3, "RS-270": 4, "RS-350": 5, "RS-420": 6}
    rows.sort(key=lambda r: (order.get(r["model"].split("@")[0], 9), r["model"], r["batch"], r["threads"]))
    ort = any("ort_median" in r for r in rows)
    out = ["# rsc vs PyTorch%s (`make bench`)" % (" and ONNX Runtime" if ort else ""), "",
           "Generated by bench/run.sh on %s, %s. FMA peak measured in the same run (bench/fmapeak.c): %s."
           % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), a.machine,
              ", ".join("%d thread%s %.1f GFLOP/s" % (t, "s" if t > 1 else "", g) for t, g in sorted(peak.items()))),
           "Times: median (min) of %s interleaved runs after warm-up, each after a %s ms pause "
           "(so the other side's idle threads have stopped spinning); GFLOP/s on the network's direct-conv FLOPs "
           "(2 x MACs of `rsc --summary=json`); ratio = PyTorch / rsc (> 1: rsc faster). "
           "Peak RSS: rsc's generated main (1 run, 1 thread); PyTorch's configuration of the most threads "
           "in its own process (2 runs, interpreter and libraries included). "
           "Check: max |rsc - PyTorch| / max |PyTorch| on the same input and weights (must be <= %g)."
           % (rows[0]["runs"] if rows else "?", "%g" % (1e3 * rows[0]["gap"]) if rows and "gap" in rows[0] else "?",
              TOL), ""]
    if ort:
        out += ["ONNX Runtime: onnxruntime-node %s (CPU execution provider; bench/ort/package-lock.json) "
                "running the same PyTorch module with the same weights, exported by torch.onnx.export "
                "(opset 13), from node (bench/ort_bench.js) with intraOpNumThreads = threads, "
                "interOpNumThreads 1, sequential execution, graph optimisation level all; timed in the same "
                "rounds as rsc and PyTorch (rsc, PyTorch, ONNX Runtime, each after the pause). "
                "ORT ratio = ONNX Runtime / rsc (> 1: rsc faster). ORT check: max |ONNX Runtime - PyTorch| "
                "on the logits (must be <= %g)." % (a.ort_version or "?", ORT_TOL), ""]
    if bw:
        out += ["DRAM ceiling: the highest %% of peak any implementation could reach if every weight byte "
                "is read from DRAM once per inference (once for the whole batch) at the streaming-read "
                "bandwidth measured in the same run (bench/dramread.c: %s; L3 %s): per fused layer the larger "
                "of its FLOPs at the FMA peak and its fp32 weight bytes (4 x params of `rsc --summary=json`) "
                "at that bandwidth, summed, against the FLOPs alone at the peak. Applied only when the packed "
                "weights exceed the L3 (else they could stay cached between inferences: 100 %%). It ignores "
                "activations (mostly in cache) and every overhead of real kernels, so it is an upper bound, "
                "not a prediction." % (
                    ", ".join("%d thread%s %.1f GB/s" % (t, "s" if t > 1 else "", g) for t, g in sorted(bw.items())),
                    "%d MiB" % (l3 >> 20) if l3 else "unknown"), ""]
    out += ["| model | batch | threads | rsc ms | PyTorch ms (config) | ratio |%s rsc GFLOP/s | %% of peak "
            "| DRAM ceiling | rsc RSS MB | PyTorch RSS MB | rsc s | cc s | check |%s"
            % (" ORT ms | ORT ratio |" if ort else "", " ORT check |" if ort else ""),
            "|---|---:|---:|---:|---|---:|%s---:|---:|---:|---:|---:|---:|---:|---|%s"
            % ("---:|---:|" if ort else "", "---|" if ort else "")]
    held = None  # the first batch-1, 1-thread row with a ceiling: (row, ceiling %, its layers)
    for r in rows:
        key = "%s-b%d" % (r["model"].replace("@", "-"), r["batch"])
        e = extra.get(key, {})
        gflops = 2 * float(e.get("macs", "nan")) / (r["rsc_median"] * 1e6)
        ceiling = "?"
        t = r["threads"]
        if key in summaries and t in peak and t in bw and l3:
            pct, layers = dram_ceiling(summaries[key], peak[t], bw[t], l3)
            ceiling = "%.0f %%" % pct
            if held is None and r["batch"] == 1 and t == 1:
                held = (r, pct, layers)
        ort_cols = ort_check = ""
        if ort and "ort_median" in r:
            ort_cols = " %.2f (%.2f) | %.2f |" % (r["ort_median"], r["ort_min"], r["ort_median"] / r["rsc_median"])
            ort_check = " %.1e%s |" % (max(r["check_ort"].values()), "" if r["check_ort_ok"] else " FAIL")
        elif ort:
            ort_cols, ort_check = " ? | ? |", " ? |"
        out.append(("| %s | %d | %d | %.2f (%.2f) | %.2f (%.2f) (%s) | %.2f |%s %.1f | %.0f %% | %s "
                    "| %s | %s | %s | %s | %s |%s") % (
            r["model"], r["batch"], r["threads"], r["rsc_median"], r["rsc_min"], r["torch_median"],
            r["torch_min"], r["config"], r["torch_median"] / r["rsc_median"], ort_cols, gflops,
            100 * gflops / peak.get(r["threads"], float("nan")), ceiling,
            "%.0f" % (int(e["rsc_rss_kb"]) / 1024) if "rsc_rss_kb" in e else "?",
            "%.0f" % (int(e["torch_rss_kb"]) / 1024) if "torch_rss_kb" in e else "?",
            e.get("rsc_s", "?"), e.get("cc_s", "?"),
            "%.1e%s" % (max(r["check"].values()), "" if r["check_ok"] else " FAIL"), ort_check))
    if held:
        r, pct, layers = held
        bound = [l for l in layers if l[5] > l[4]]
        compute = sum(l[4] for l in layers)
        t_min = sum(max(l[4], l[5]) for l in layers)
        out += ["", "## DRAM ceiling: %s batch 1, 1 thread, the memory-bound layers" % r["model"], ""]
        if not bound:
            out += ["None: every fused layer's FLOPs at the FMA peak take longer than its weights from DRAM."]
        else:
            out += ["The fused layers whose weights take longer to read from DRAM (%.1f GB/s) than their "
                    "FLOPs take at the FMA peak (%.1f GFLOP/s): %d of %d, %.1f MB of the network's %.1f MB "
                    "of weights. With them the network needs at least %.2f ms against %.2f ms for its FLOPs "
                    "at the peak: the ceiling, %.0f %% (this row's rsc: %.2f ms)." % (
                        bw[1], peak[1], len(bound), sum(1 for l in layers if l[2] or l[3]),
                        sum(l[3] for l in bound) / 1e6, sum(l[3] for l in layers) / 1e6, t_min, compute,
                        pct, r["rsc_median"]), "",
                    "| layer | fused op | MFLOP | weight MB | FLOP/byte | compute ms | DRAM ms |",
                    "|---|---|---:|---:|---:|---:|---:|"]
            out += ["| %s | %s | %.1f | %.2f | %.1f | %.3f | %.3f |" % (name, op, flops / 1e6, nbytes / 1e6,
                                                                      flops / nbytes, c, m)
                    for name, op, flops, nbytes, c, m in bound]
    if a.profile and os.path.exists(a.profile):
        with open(a.profile) as f:
            lines = [l.split() for l in f if l.startswith("profile ")]
        head = lines[0] if lines else []
        layers = [l for l in lines[2:] if len(l) == 5]
        layers.sort(key=lambda l: -float(l[2]))
        out += ["", "## Profile: %s, the 10 slowest layers" % a.profile_label, "",
                "`%s` (%s)" % (" ".join(head[1:]), a.profile_cmd), "",
                "| layer | ms | GFLOP/s | share |", "|---|---:|---:|---:|"]
        out += ["| %s | %s | %s | %s |" % tuple(l[1:]) for l in layers[:10]]
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def model_args(s):
        s.add_argument("--depth", type=int, required=True)
        s.add_argument("--size", type=int, required=True)
        s.add_argument("--batch", type=int, default=1)
        s.add_argument("--weights", required=True)
    s = sub.add_parser("weights")
    model_args(s)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("compare")
    model_args(s)
    s.add_argument("--label", required=True)
    s.add_argument("--lib", required=True)
    s.add_argument("--rsc-weights", required=True)
    s.add_argument("--threads", type=lambda v: [int(t) for t in v.split(",")], default=[1, 2])
    s.add_argument("--runs", type=int, default=10)
    s.add_argument("--warmup", type=int, default=1)
    s.add_argument("--gap", type=float, default=0.01)
    s.add_argument("--json", required=True)
    s.add_argument("--ort", help="bench/ort_bench.js: ONNX Runtime in the same rounds")
    s = sub.add_parser("rss")
    model_args(s)
    s.add_argument("--config", required=True)
    s.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("serve")
    s.add_argument("lib")
    s.add_argument("n_in", type=int)
    s.add_argument("n_out", type=int)
    s.add_argument("input")
    s.add_argument("weights")
    s = sub.add_parser("report")
    s.add_argument("--json-dir", required=True)
    s.add_argument("--peak", required=True)
    s.add_argument("--dram")
    s.add_argument("--profile")
    s.add_argument("--profile-label", default="")
    s.add_argument("--profile-cmd", default="")
    s.add_argument("--machine", default="")
    s.add_argument("--ort-version", help="onnxruntime-node's version, for the report's text")
    s.add_argument("--out", required=True)
    a = p.parse_args()
    return {"weights": cmd_weights, "compare": cmd_compare, "rss": cmd_rss, "serve": cmd_serve,
            "report": cmd_report}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
