/*
 * rsc_limits.h - the facts the compiler and the runtime share: activation
 * codes, the kernels' size limits, the thread team's size and the runtime's
 * return codes. One header, included by the compiler
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

/* The most threads a team has, the caller's included (rsc_threads.h); the
 * generated header's <PREFIX>_MAX_THREADS is this number. */
#define RSC_MAX_THREADS 64

/* Return codes of the thread team and the loader (rsc_threads.h,
 * rsc_loader.h). The generated API returns them as they are: its
 * <PREFIX>_OK and <PREFIX>_ERR_* (templates/model.h.m4, docs/integration.md)
 * have the same values, which the generated .c asserts. */
#define RSC_OK 0
#define RSC_ERR_ARG 1        /* a NULL or out-of-range argument */
#define RSC_ERR_NOMEM 2      /* allocation failed */
#define RSC_ERR_OPEN 3       /* the weights file cannot be opened */
#define RSC_ERR_READ 4       /* read error */
#define RSC_ERR_MAGIC 5      /* not an rsc weights file */
#define RSC_ERR_VERSION 6    /* another weights format version */
#define RSC_ERR_MODEL 7      /* weights of another model (fingerprint differs) */
#define RSC_ERR_TRUNCATED 8  /* shorter than its header says */
#define RSC_ERR_SIZE 9       /* size differs from the model's, or trailing bytes */
#define RSC_ERR_CHECKSUM 10  /* payload corrupted */
#define RSC_ERR_THREADS 11   /* threads unavailable (built without) or not created */
#define RSC_ERR_CPU 12       /* the CPU lacks the instruction set the code was built for */
#define RSC_ERR_PRECISION 13 /* weights of another precision (rsc --precision) */

#endif /* RSC_LIMITS_H */
