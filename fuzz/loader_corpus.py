#!/usr/bin/python3
"""loader_corpus.py - rewrites fuzz/corpus/loader/ from a freshly generated
fz.weights (make B=build build/fuzz/replay_loader makes build/fuzz/loader/fz.weights):
the valid file and damaged copies. Run it when the weights layout (and so the
fingerprint) changes: fuzz_loader's second open and the replay's
RSC_FUZZ_EXPECT_OPEN=1 check use the generated file and need no refresh, but
the seeds then start past the header checks again.

  fuzz/loader_corpus.py [build/fuzz/loader/fz.weights]
"""
import os
import struct
import sys

src = open(sys.argv[1] if len(sys.argv) > 1 else "build/fuzz/loader/fz.weights", "rb").read()
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "loader")
os.makedirs(d, exist_ok=True)


def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def head(patch):
    b = bytearray(src[:64 + 256])
    patch(b)
    return b


w("valid.weights", src)
w("empty", b"")
w("short_header", src[:10])
w("header_only", src[:64])
w("truncated", src[:64 + 1000])
w("trailing", src + b"\0")
b = bytearray(src)
b[-1] ^= 1
w("bad_checksum", b)
w("bad_magic", head(lambda b: b.__setitem__(0, b[0] ^ 1)))
w("bad_version", head(lambda b: b.__setitem__(8, 2)))
w("bad_header_size", head(lambda b: b.__setitem__(12, 32)))
w("bad_fingerprint", head(lambda b: b.__setitem__(16, b[16] ^ 0x55)))
w("huge_size", head(lambda b: b.__setitem__(slice(24, 32), struct.pack("<Q", 2**63))))
w("small_size", head(lambda b: b.__setitem__(slice(24, 32), struct.pack("<Q", 256))))
# Payloads for the second open (checksum recomputed): NaN/Inf, and all-ones
# bits (NaNs) ending in 0xff, which also runs the model on 2 threads.
w("nan_inf", src[:64] + struct.pack("<4f", float("nan"), float("inf"), float("-inf"), 1e38) * 64)
w("all_ff_threads", src[:64] + b"\xff" * 513)
