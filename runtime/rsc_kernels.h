/*
 * rsc_kernels.h - the runtime kernels of generated models, by family.
 *
 * rsc pastes the files included below, verbatim and in this order, into every
 * generated model .c file (one marked block, after <math.h>, <stddef.h>,
 * <stdint.h>, <stdio.h>, <stdlib.h> and <string.h>; tools/golden.sh checks
 * the block against these files), then emits one small wrapper per layer
 * shape that calls a kernel with nothing but constants besides the pointers
 * and the thread team's part / parts, and the model's API around the loader
 * and the team.
 * Every kernel is static and forced inline, so each wrapper is a copy of the
 * kernel specialised to its shape: loop bounds become constants, the register
 * tile unrolls completely and the activation switch folds away. Layouts,
 * tiling and threading: docs/kernels.md.
 *
 * The families (each file says what it needs before it):
 *   rsc_limits.h  activation codes, tile limits, return codes; shared with the compiler
 *   rsc_vec.h     the vector layer: rsc_vf, FMA, activations, range split
 *   rsc_conv.h    direct convolution          twin rsc_conv_ref.h
 *   rsc_conv_bf16.h the conv in bf16 (AVX512-BF16) twin rsc_conv_bf16_ref.h
 *   rsc_wino.h    Winograd F(2x2, 3x3)        twin rsc_wino_ref.h
 *   rsc_pool.h    pools, global pools, means  twin rsc_pool_ref.h
 *   rsc_dense.h   dense, add, SE, softmax     twin rsc_dense_ref.h
 *   rsc_entry.h   the network's input         twin rsc_entry_ref.h
 *   rsc_checksum.h the .weights format and checksum (rsc writes it with it)
 *   rsc_loader.h  reading and checking a .weights file, the CPU check
 *   rsc_threads.h the thread team: workers, barrier, pinning
 * rsc_kernels_ref.h includes every twin; tests/unit/rsc_one_thread.h has the
 * whole-layer, one-thread calls the unit tests use.
 *
 * Invariants the compiler relies on:
 *   - All activations are NHWC float32, batch outermost; strides below are in
 *     units of elements (floats).
 *   - Pointers marked restrict never alias (the arena plan guarantees it).
 *   - Reduction orders depend only on the shapes, never on tiling, so a
 *     model's output is reproducible run to run. Multiply-adds go through
 *     RSC_FMA, which is a fused fmaf() whenever the target has a fast one and
 *     a plain a*b+c otherwise, never the compiler's choice: gcc and clang, at
 *     any -O, give bit-identical outputs for a given target.
 *   - The kernels allocate nothing; no globals, no VLAs; every name starts
 *     with rsc_ / RSC_.
 *   - Each kernel has a plain scalar twin (the test oracle, reading the same
 *     packed layouts).
 */
#ifndef RSC_KERNELS_H
#define RSC_KERNELS_H

#include "rsc_limits.h"
#include "rsc_vec.h"
#include "rsc_conv.h"
#include "rsc_conv_bf16.h"
#include "rsc_wino.h"
#include "rsc_pool.h"
#include "rsc_dense.h"
#include "rsc_entry.h"
#include "rsc_checksum.h"
#include "rsc_loader.h"
#include "rsc_threads.h"

#endif /* RSC_KERNELS_H */
