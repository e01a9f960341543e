/*
 * rsc_limits.h - the facts the compiler and the runtime share: activation
 * codes and the kernels' size limits. One header, included by the compiler
 * (compiler/rsc.h, select.c) and pasted first into every generated model, so
 * neither side keeps a copy. Plain #defines only: it must read as C for both.
 */
#ifndef RSC_LIMITS_H
#define RSC_LIMITS_H

/* Activation codes of the kernels' `act` argument; the compiler's ActKind
 * takes the same values (compiler/rsc.h). */
#define RSC_ACT_NONE 0    /* identity */
#define RSC_ACT_RELU 1    /* max(x, 0) */
#define RSC_ACT_SWISH 2   /* x * sigmoid(x) */
#define RSC_ACT_SIGMOID 3 /* 1 / (1 + exp(-x)) */

/* Register-tile limits of the direct conv: pixels x vectors of accumulators.
 * The compiler stays inside them (select.c); the kernel clamps anyway, so
 * that any call works. */
#define RSC_NP_MAX 16
#define RSC_V_MAX 4

/* Tiles per group (rsc_conv2d_part's TG) and the group's spilled
 * accumulator vectors, TG * NP * (KB/VL) at most; select.c stays within. */
#define RSC_TG_MAX 8
#define RSC_TG_VECS 192

/* Winograd's stack buffers of one unit: tiles, output lanes and input
 * channels at most (16 x NT x CC + 16 x NT x KB floats = 64 KiB). */
#define RSC_WINO_NT 8
#define RSC_WINO_KB 64
#define RSC_WINO_CC 64

#endif /* RSC_LIMITS_H */
