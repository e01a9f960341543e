/*
 * rsc_kernels.h - the runtime kernels of generated models.
 *
 * rsc pastes this file verbatim into every generated model .c file, after
 * <math.h>, <stddef.h> and <string.h>, then emits one small wrapper per layer
 * shape that calls a kernel with nothing but constants besides the pointers
 * and the thread team's part / parts:
 *   static void k_conv3x3s2...(in, w, b, out, int part, int parts)
 *   { rsc_conv2d_part(in, w, b, out, NULL, 1, 1,160,160,3, 80,80,32, 3,3, 2,2,
 *                     1,1, 32,10, 1, 1, 0, 1, 0, RSC_ACT_RELU, part, parts); }
 * Every kernel is static and forced inline, so each wrapper is a copy of the
 * kernel specialised to its shape: loop bounds become constants, the register
 * tile unrolls completely and the activation switch folds away. Layouts,
 * tiling and threading: docs/kernels.md.
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
 *   - No allocation, no globals, no VLAs; every name starts with rsc_ / RSC_.
 *   - Each kernel has a plain scalar twin in rsc_kernels_ref.h (the test
 *     oracle, reading the same packed layouts).
 */
#ifndef RSC_KERNELS_H
#define RSC_KERNELS_H

/* Activation codes: equal to the compiler's ActKind values. */
#define RSC_ACT_NONE 0
#define RSC_ACT_RELU 1
#define RSC_ACT_SWISH 2
#define RSC_ACT_SIGMOID 3

/* Forced inline so each wrapper specialises its kernel; `unused` because a
 * model uses only some kernels, and clang warns about unused static inline
 * functions of the main file (this text is pasted there, not included). */
#if defined(__GNUC__)
#define RSC_INLINE static inline __attribute__((always_inline, unused))
#else
#define RSC_INLINE static inline
#endif

/* clang never defines FP_FAST_FMAF, hence the target macros as well. */
#if defined(FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define RSC_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define RSC_FMA(a, b, c) ((a) * (b) + (c))
#endif

RSC_INLINE float rsc_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* act(x) for an activation code; the switch folds when act is a constant. */
RSC_INLINE float rsc_act(float x, int act) {
  switch (act) {
  case RSC_ACT_RELU:
    return x > 0.0f ? x : 0.0f;
  case RSC_ACT_SWISH:
    return x * rsc_sigmoid(x);
  case RSC_ACT_SIGMOID:
    return rsc_sigmoid(x);
  default:
    return x;
  }
}

/*
 * The vector unit of the target the generated file is compiled for:
 * RSC_VL floats per register. AVX-512 and AVX2 use intrinsics (a fused
 * multiply-add, exactly what fmaf computes per lane); everything else a
 * 4-float struct whose lane loops any compiler turns into its own SIMD. The
 * compiler (select.c) sizes each conv's register tile for the target named
 * by --target; this choice only has to agree for speed, never for results.
 */
#if defined(__AVX512F__)
#include <immintrin.h>
#define RSC_VL 16
typedef __m512 rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) { return _mm512_loadu_ps(p); }
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) { _mm512_storeu_ps(p, v); }
RSC_INLINE rsc_vf rsc_vset1(float x) { return _mm512_set1_ps(x); }
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) { return _mm512_fmadd_ps(a, b, c); }
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
/* a > b ? a : b per lane (maxps's operand order; b when either is NaN) */
RSC_INLINE rsc_vf rsc_vmax(rsc_vf a, rsc_vf b) { return _mm512_max_ps(a, b); }
RSC_INLINE rsc_vf rsc_vadd(rsc_vf a, rsc_vf b) { return _mm512_add_ps(a, b); }
RSC_INLINE rsc_vf rsc_vsub(rsc_vf a, rsc_vf b) { return _mm512_sub_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RSC_VL 8
typedef __m256 rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) { return _mm256_loadu_ps(p); }
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) { _mm256_storeu_ps(p, v); }
RSC_INLINE rsc_vf rsc_vset1(float x) { return _mm256_set1_ps(x); }
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) { return _mm256_fmadd_ps(a, b, c); }
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
RSC_INLINE rsc_vf rsc_vmax(rsc_vf a, rsc_vf b) { return _mm256_max_ps(a, b); }
RSC_INLINE rsc_vf rsc_vadd(rsc_vf a, rsc_vf b) { return _mm256_add_ps(a, b); }
RSC_INLINE rsc_vf rsc_vsub(rsc_vf a, rsc_vf b) { return _mm256_sub_ps(a, b); }
#else
#define RSC_VL 4
typedef struct rsc_vf {
  float f[RSC_VL];
} rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) {
  rsc_vf v;
  for (int i = 0; i < RSC_VL; i++)
    v.f[i] = p[i];
  return v;
}
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) {
  for (int i = 0; i < RSC_VL; i++)
    p[i] = v.f[i];
}
RSC_INLINE rsc_vf rsc_vset1(float x) {
  rsc_vf v;
  for (int i = 0; i < RSC_VL; i++)
    v.f[i] = x;
  return v;
}
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) {
  for (int i = 0; i < RSC_VL; i++)
    c.f[i] = RSC_FMA(a.f[i], b.f[i], c.f[i]);
  return c;
}
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] = a.f[i] > 0.0f ? a.f[i] : 0.0f;
  return a;
}
RSC_INLINE rsc_vf rsc_vmax(rsc_vf a, rsc_vf b) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] = a.f[i] > b.f[i] ? a.f[i] : b.f[i];
  return a;
}
RSC_INLINE rsc_vf rsc_vadd(rsc_vf a, rsc_vf b) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] += b.f[i];
  return a;
}
RSC_INLINE rsc_vf rsc_vsub(rsc_vf a, rsc_vf b) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] -= b.f[i];
  return a;
}
#endif

/* Full unrolling of the loops over a tile's accumulators (constant trip
 * counts after inlining). Without it clang (14) leaves the large epilogue
 * rolled, indexes the accumulator array dynamically there, and so keeps the
 * whole tile in memory: stores after every FMA, convs 3x slower. gcc unrolls
 * them by itself at -O3 but not at -O2, where the same happens (measured:
 * a 1x1 conv tile 8x slower at -O2 without the pragma, as fast as -O3 with
 * it). Where the counts are not constants (a test calling a kernel with
 * run-time shapes) clang cannot unroll and would say so: that is expected,
 * hence the warning is off. */
#if defined(__clang__)
#define RSC_UNROLL _Pragma("clang loop unroll(full)")
#pragma clang diagnostic ignored "-Wpass-failed"
#elif defined(__GNUC__)
#define RSC_UNROLL _Pragma("GCC unroll 16")
#else
#define RSC_UNROLL
#endif

/* Register-tile limits: pixels x vectors of accumulators. The compiler stays
 * inside them (select.c); the kernel clamps anyway, so that any call works. */
#define RSC_NP_MAX 16
#define RSC_V_MAX 4

/* Zeros that a tap outside the image reads instead of the input. */
#define RSC_ZERO_N 1024
static const float rsc_zero[RSC_ZERO_N]
#if defined(__GNUC__)
    __attribute__((unused, aligned(64)))
#endif
    = {0.0f};

/* ---------------------------------------------------------------- conv2d */

/* Vectors per accumulator row for a block of KB = V*RSC_VL channels: the
 * largest divisor of V that is at most RSC_V_MAX. Folds to a constant. */
RSC_INLINE int rsc_conv_vc(int V) {
  for (int v = RSC_V_MAX; v > 1; v--)
    if (V % v == 0)
      return v;
  return 1;
}

/* Software prefetch of the weight stream, RSC_PF_DIST floats (8 KiB) ahead
 * of the loads, into L1; RSC_PREFETCH_L2 for the next block (rsc_nextpf).
 * Prefetches never fault, so running past the end is harmless. */
#define RSC_PF_DIST 2048
#if defined(__GNUC__)
#define RSC_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define RSC_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#else
#define RSC_PREFETCH(p) ((void)(p))
#define RSC_PREFETCH_L2(p) ((void)(p))
#endif

/*
 * A tile's share of the next weight block's prefetch: from tile step `step`
 * on, one 64-byte line of `line0` every 2^sh steps (line i at step i << sh).
 * line0 NULL: none. rsc_conv2d_part explains who prefetches what.
 * xoff (0: none): the next tile's input, xoff floats past each pixel's
 * (rsc_conv2d_part's XP), prefetched a line per pixel every 16 channels.
 * cw (NULL: none): the tile's share of the next weight chunk of a group of
 * tiles (rsc_conv2d_part's TG), spread evenly over its steps.
 */
typedef struct {
  const float *line0;
  int step, sh;
  long xoff;
  const float *cw; /* chunk prefetch (rsc_conv_tiles' TG): NULL none, else */
  long coff;       /* each 16 steps c0 .. ce-1 prefetch the lines that start */
  int cs;          /* in [cw + coff + c0*cs, cw + coff + ce*cs) */
} rsc_nextpf;

/* One step of rsc_tile_steps: channel c of the NP rows, weights wc. */
RSC_INLINE void rsc_tile_step(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX],
                              const float *const x[RSC_NP_MAX], const float *restrict wc, int c,
                              int NP, int VC) {
  rsc_vf wv[RSC_V_MAX];
  RSC_UNROLL
  for (int q = 0; q < VC; q++)
    wv[q] = rsc_vload(wc + q * RSC_VL);
  RSC_UNROLL
  for (int r = 0; r < NP; r++) {
    const rsc_vf xv = rsc_vset1(x[r][c]);
    RSC_UNROLL
    for (int q = 0; q < VC; q++)
      acc[r][q] = rsc_vfma(xv, wv[q], acc[r][q]);
  }
}

/*
 * The register tile's inner loop, shared by the direct conv and Winograd's
 * products: for cn input channels c, acc[r][q] += x[r][c] * wc[c*KB + q*VL..]
 * for NP rows r and VC vectors q. Per channel: VC weight-vector loads, NP
 * broadcasts, NP*VC FMAs, all unrolled so acc stays in registers. nx: this
 * stretch of steps' share of the next block's prefetch (rsc_nextpf).
 * With pf set it also prefetches the weights RSC_PF_DIST floats ahead, one
 * line per 64 bytes it consumes. The caller sets pf on the first tile a thread
 * runs of each weight block: that tile pulls the block from L3 or DRAM (at
 * batch 1 every layer's weights are cold, the network's exceed the L3), where
 * the hardware prefetchers fall behind; the block's later tiles find it in
 * L2. Measured on the 5x5x512 3x3 conv with cold weights (Ice Lake Xeon):
 * 1.83 -> 1.60 ms, and 0.87 -> 0.67 ms on the 5x5 1x1 2048->512 one.
 */
RSC_INLINE void rsc_tile_steps(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX],
                               const float *const x[RSC_NP_MAX], const float *restrict wc,
                               int cn, int KB, int NP, int VC, int pf, rsc_nextpf nx) {
  /* The prefetches are issued per 16 steps, ahead of them, so that the
   * steps themselves run nothing but their loads and FMAs: with 512-bit
   * FMAs on two of the four ALU ports, every scalar test and branch in the
   * step loop competes with them. */
  for (int c0 = 0; c0 < cn; c0 += 16) {
    const int ce = cn - c0 < 16 ? cn : c0 + 16;
    if (nx.xoff) {
      RSC_UNROLL
      for (int r = 0; r < NP; r++)
        RSC_PREFETCH(x[r] + c0 + nx.xoff);
    }
    if (nx.cw) { /* the lines of cw + coff + c*cs that steps c0 .. ce-1 enter */
      const long a = nx.coff + (long)c0 * nx.cs, b = nx.coff + (long)ce * nx.cs;
      for (long off = (a + 15) & ~15L; off < b; off += 16)
        RSC_PREFETCH(nx.cw + off);
    }
    if (nx.line0) { /* line i at step i << sh */
      const int m = (1 << nx.sh) - 1;
      for (int st = (nx.step + c0 + m) & ~m; st < nx.step + ce; st += m + 1)
        RSC_PREFETCH_L2(nx.line0 + (size_t)(st >> nx.sh) * 16);
    }
    if (pf) {
      for (int c = c0; c < ce; c++, wc += KB) {
        RSC_UNROLL
        for (int l = 0; l < VC * RSC_VL; l += 16)
          RSC_PREFETCH(wc + RSC_PF_DIST + l);
        rsc_tile_step(acc, x, wc, c, NP, VC);
      }
    } else {
      for (int c = c0; c < ce; c++, wc += KB)
        rsc_tile_step(acc, x, wc, c, NP, VC);
    }
  }
}

/*
 * The SE pool's order of additions (rsc_conv2d_part's pool, rsc_slot_mean,
 * rsc_pixel_mean): an image's pixels form chunks of PC, counted from its own
 * first pixel (the last chunk may be short); each chunk's sum runs in pixel
 * order from its first pixel, and the mean adds the chunk sums in chunk
 * order. Nothing in it depends on the batch, the tiles or the split, so an
 * image's pooled mean is the same bytes alone or in any batch (compiler/
 * select.c makes PC a constant, SE_POOL_CHUNK).
 *
 * rsc_conv2d_part's unit u (of `units`, groups of kg of the nkb blocks,
 * tile-major within a group) moved down to the nearest unit where a thread's
 * range may start with a pool: a group's first, or the first unit of a tile
 * whose first pixel starts a chunk (NP pixels per tile, hw per image), so
 * that one thread sums each chunk; `units` itself stays. The search walks
 * the chunk starts down from u's tile: within an image their residues mod NP
 * repeat after NP chunks at most, so an image with none among NP has none.
 */
RSC_INLINE long rsc_chunk_floor(long u, long units, long tiles, long nkb, long kg, int NP, long hw,
                                int PC) {
  if (u >= units)
    return units;
  const long g = u / (kg * tiles), gu = u % (kg * tiles);
  const long gn = nkb - g * kg < kg ? nkb - g * kg : kg;
  const long p = gu / gn * NP;
  long n = p / hw, j = (p - n * hw) / PC;
  for (;;) {
    for (int i = 0; i < NP && j >= 0; i++, j--) {
      const long s = n * hw + j * PC;
      if (s % NP == 0)
        return g * kg * tiles + s / NP * gn;
    }
    if (n == 0) /* not reached: pixel 0 starts a chunk and a tile */
      return g * kg * tiles;
    n--;
    j = (hw - 1) / PC;
  }
}

/*
 * A tile's part in the SE pool (rsc_conv2d_part's pool): slot holds the
 * chunk sum of the tile's first pixel (channel 0 of the tile's block), and
 * pixel r >= 1 with bit r of `runs` set starts the next chunk, whose slot is
 * the next row, K floats on (an image's last chunk is followed by the next
 * image's first). add: the first pixel continues a chunk an earlier tile
 * began, and adds to its slot, where a chunk's first pixel stores. slot
 * NULL: no pool. Passed by value, in registers: with a per-pixel slot array
 * on the stack instead, a stage-1 conv at batch 8 was 20 % slower, most
 * likely because its output stores miss the cache and fill the store
 * buffer, so that every further store waits for it to drain
 * (docs/kernels.md, "The SE tail").
 */
typedef struct {
  float *slot;
  int K, add;
  unsigned runs;
} rsc_tpool;

/*
 * The pool's share of one tile from its stored outputs o[r], channels
 * [j0, j1): each chunk's sum, in pixel order from the slot's (tp.add) or
 * from the chunk's first pixel, stored to its slot. For the tiles
 * rsc_conv_tiles does not pool from its registers: other activations, a
 * block's partial vector, a tile past the last pixel. The values are read
 * back while they are in L1. xb[r] == NULL ends the tile.
 */
RSC_INLINE void rsc_tile_pool(float *const o[RSC_NP_MAX], const float *const xb[RSC_NP_MAX],
                              int NP, int j0, int j1, rsc_tpool tp) {
  for (int j = j0; j < j1; j++) {
    float *slot = tp.slot + j;
    float s = tp.add ? *slot + o[0][j] : o[0][j];
    for (int r = 1; r < NP && xb[r]; r++) {
      if (tp.runs >> r & 1u) {
        *slot = s;
        slot += tp.K;
        s = o[r][j];
      } else {
        s += o[r][j];
      }
    }
    *slot = s;
  }
}

/*
 * One register tile of rsc_conv_tiles: NP consecutive output pixels (in
 * (n, oh, ow) order, across rows and images) of one block of output channels.
 *   xb[r], ih0[r], iw0[r]  pixel r's image and window origin; xb[r] == NULL
 *                          for a slot past the last pixel (not stored)
 *   o[r]  where pixel r's channels of the block go
 *   tp    the tile's part in the SE pool's partial sums (rsc_tpool)
 */
typedef struct {
  const float *xb[RSC_NP_MAX];
  float *o[RSC_NP_MAX];
  int ih0[RSC_NP_MAX], iw0[RSC_NP_MAX];
  rsc_tpool tp;
} rsc_tile;

/* Tiles per group (rsc_conv2d_part's TG) and the group's spilled
 * accumulator vectors, TG * NP * (KB/VL) at most; select.c stays within. */
#define RSC_TG_MAX 8
#define RSC_TG_VECS 192

/* A tile's NP x VC accumulators to and from a group's spill buffer. */
RSC_INLINE void rsc_acc_store(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX], float *p, int NP, int VC) {
  RSC_UNROLL
  for (int r = 0; r < NP; r++)
    RSC_UNROLL
    for (int v = 0; v < VC; v++)
      rsc_vstore(p + (r * VC + v) * RSC_VL, acc[r][v]);
}

RSC_INLINE void rsc_acc_load(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX], const float *p, int NP, int VC) {
  RSC_UNROLL
  for (int r = 0; r < NP; r++)
    RSC_UNROLL
    for (int v = 0; v < VC; v++)
      acc[r][v] = rsc_vload(p + (r * VC + v) * RSC_VL);
}

/*
 * A tile's epilogue for its vectors v0 .. v0+VC-1 (acc): ReLU on the
 * registers, the pool's share, then the stores; a block's padded lanes
 * (past kn) are dropped.
 */
RSC_INLINE void rsc_tile_store(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX], const rsc_tile *tl, int NP,
                               int VC, int v0, int kn, int act) {
  const rsc_tpool tp = tl->tp;
  if (act == RSC_ACT_RELU) {
    RSC_UNROLL
    for (int r = 0; r < NP; r++)
      RSC_UNROLL
      for (int v = 0; v < VC; v++)
        acc[r][v] = rsc_vrelu(acc[r][v]);
  }
  /* A whole tile pools from the registers (which hold what is stored: ReLU
   * or none, whole vectors), before the stores, which at batch 8 miss the
   * cache (stores retire in order). Most tiles lie in one chunk: one run of
   * adds, the rest branch where a chunk starts (tp.runs). */
  const int pool_regs = tp.slot && (act == RSC_ACT_RELU || act == RSC_ACT_NONE) &&
                        (v0 + VC) * RSC_VL <= kn && tl->xb[NP - 1];
  if (pool_regs) {
    RSC_UNROLL
    for (int v = 0; v < VC; v++) {
      float *slot = tp.slot + (v0 + v) * RSC_VL;
      rsc_vf sum = tp.add ? rsc_vadd(rsc_vload(slot), acc[0][v]) : acc[0][v];
      if (!tp.runs) {
        RSC_UNROLL
        for (int r = 1; r < NP; r++)
          sum = rsc_vadd(sum, acc[r][v]);
      } else {
        RSC_UNROLL
        for (int r = 1; r < NP; r++) {
          if (tp.runs >> r & 1u) {
            rsc_vstore(slot, sum);
            slot += tp.K;
            sum = acc[r][v];
          } else {
            sum = rsc_vadd(sum, acc[r][v]);
          }
        }
      }
      rsc_vstore(slot, sum);
    }
  }
  RSC_UNROLL
  for (int r = 0; r < NP; r++) {
    if (!tl->xb[r])
      continue;
    RSC_UNROLL
    for (int v = 0; v < VC; v++) {
      const int j = (v0 + v) * RSC_VL;
      if (j >= kn)
        break;
      if (j + RSC_VL <= kn && (act == RSC_ACT_RELU || act == RSC_ACT_NONE)) {
        rsc_vstore(tl->o[r] + j, acc[r][v]);
      } else {
        float t[RSC_VL];
        rsc_vstore(t, acc[r][v]);
        /* A fixed trip count: gcc's range analysis of an unrolled
         * `l < kn - j` bound warns of a huge memcpy (-Wstringop-overread). */
        for (int l = 0; l < RSC_VL; l++)
          if (j + l < kn)
            tl->o[r][j + l] = act == RSC_ACT_RELU ? t[l] : rsc_act(t[l], act);
      }
    }
  }
  /* Other activations and a block's partial vector: from the stores. */
  if (tp.slot && !pool_regs && v0 * RSC_VL < kn)
    rsc_tile_pool(tl->o, tl->xb, NP, v0 * RSC_VL,
                  (v0 + VC) * RSC_VL < kn ? (v0 + VC) * RSC_VL : kn, tp);
}

/*
 * gt register tiles tl[0 .. gt-1] (rsc_tile) of one block of KB output
 * channels, in that order.
 *   wb  this block's weights [KH][KW][C][KB]; bb its bias [KB]
 *   kn  the block's real channels (the rest is padding)
 *   pf  prefetch the weight stream (rsc_tile_steps), for gt 1
 *   nx  the tiles' share of the next block's prefetch, its steps counted
 *       (v0 pass, kh, kw, c) from 0 (gt 1)
 *   CS  channels per chunk, for gt > 1
 * gt 1: the tile keeps its accumulators in registers from the first tap to
 * the last. gt > 1: the tiles take turns on each chunk of CS channels of a
 * tap, their accumulators stored to a stack buffer in between, so the
 * chunk's weights come from L3 or DRAM once, for the first tile, and from L1
 * for the others; meanwhile each tile prefetches its share of the next
 * chunk (rsc_conv2d_part's TG says why).
 * A tap outside the image points the pixel at rsc_zero, so all NP pixels run
 * the same unrolled loop; an FMA with 0 leaves every finite sum unchanged.
 * Each output is bias + sum over (kh, kw, c) in that order whatever the
 * tile or group (a spilled accumulator is reloaded exactly), so NP, TG, the
 * split over threads and the target never change a result (only FMA vs
 * separate multiply-add could, and that is fixed per target).
 */
RSC_INLINE void rsc_conv_tiles(const rsc_tile *tl, int gt, const float *restrict wb,
                               const float *restrict bb, int H, int W, int C, int KH, int KW,
                               int KB, int NP, int kn, int act, int pf, rsc_nextpf nx, int CS) {
  if (KB % RSC_VL != 0) {
    /* Generic lanes (KB no multiple of the vector): one pixel at a time. */
    for (int t = 0; t < gt; t++) {
      for (int r = 0; r < NP; r++) {
        if (!tl[t].xb[r])
          continue;
        for (int j = 0; j < kn; j++) {
          float acc = bb[j];
          for (int kh = 0; kh < KH; kh++) {
            const int ih = tl[t].ih0[r] + kh;
            if (ih < 0 || ih >= H)
              continue;
            for (int kw = 0; kw < KW; kw++) {
              const int iw = tl[t].iw0[r] + kw;
              if (iw < 0 || iw >= W)
                continue;
              const float *restrict x =
                  tl[t].xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C;
              const float *restrict wk = wb +
                                         ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C *
                                             (size_t)KB +
                                         (size_t)j;
              for (int c = 0; c < C; c++)
                acc = RSC_FMA(x[c], wk[(size_t)c * (size_t)KB], acc);
            }
          }
          tl[t].o[r][j] = rsc_act(acc, act);
        }
      }
      if (tl[t].tp.slot)
        rsc_tile_pool(tl[t].o, tl[t].xb, NP, 0, kn, tl[t].tp);
    }
    return;
  }
  const int V = KB / RSC_VL, VC = rsc_conv_vc(V);
  /* Chunks: CS channels with a group, else what rsc_zero covers (one chunk
   * for C <= 1024). A group's tiles share the next chunk's prefetch. */
  const int CH = gt > 1 && CS > 0 && CS < RSC_ZERO_N ? CS : RSC_ZERO_N;
  const int cs = gt > 1 ? (KB + gt - 1) / gt : 0;
  for (int v0 = 0; v0 < V; v0 += VC) {
    rsc_vf acc[RSC_NP_MAX][RSC_V_MAX];
    float spill[RSC_TG_VECS * RSC_VL]; /* gt > 1 only */
    RSC_UNROLL
    for (int r = 0; r < NP; r++)
      RSC_UNROLL
      for (int v = 0; v < VC; v++)
        acc[r][v] = rsc_vload(bb + (v0 + v) * RSC_VL);
    if (gt > 1)
      for (int t = 0; t < gt; t++)
        rsc_acc_store(acc, spill + t * NP * VC * RSC_VL, NP, VC);
    for (int kh = 0; kh < KH; kh++)
      for (int kw = 0; kw < KW; kw++) {
        const long tap = (long)kh * KW + kw;
        const float *restrict wk = wb + (size_t)tap * (size_t)C * (size_t)KB + (size_t)v0 * RSC_VL;
        for (int c0 = 0; c0 < C; c0 += CH) {
          const int cn = C - c0 < CH ? C - c0 : CH;
          for (int t = 0; t < gt; t++) {
            const float *x[RSC_NP_MAX];
            for (int r = 0; r < NP; r++) {
              const int ih = tl[t].ih0[r] + kh, iw = tl[t].iw0[r] + kw;
              x[r] = tl[t].xb[r] && ih >= 0 && ih < H && iw >= 0 && iw < W
                         ? tl[t].xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C +
                               (size_t)c0
                         : rsc_zero;
            }
            rsc_nextpf nxs = nx;
            nxs.step = ((v0 / VC * KH + kh) * KW + kw) * C + c0;
            if (gt > 1) {
              nxs.cw = wb;
              nxs.coff = (tap * C + c0 + cn) * KB + (long)t * cn * cs;
              nxs.cs = cs;
              rsc_acc_load(acc, spill + t * NP * VC * RSC_VL, NP, VC);
            }
            rsc_tile_steps(acc, x, wk + (size_t)c0 * (size_t)KB, cn, KB, NP, VC, pf, nxs);
            if (gt > 1)
              rsc_acc_store(acc, spill + t * NP * VC * RSC_VL, NP, VC);
          }
        }
      }
    for (int t = 0; t < gt; t++) {
      if (gt > 1)
        rsc_acc_load(acc, spill + t * NP * VC * RSC_VL, NP, VC);
      rsc_tile_store(acc, &tl[t], NP, VC, v0, kn, act);
    }
  }
}

/*
 * out = act(conv(in, w) + bias), zero padding; part `part` of `parts`.
 *   in   [N][H][W][C]                 pixel (n,h,w) at ((n*H + h)*W + w)*C
 *   out  [N][OH][OW][K]               pixel (n,h,w) at ((n*OH + h)*OW + w)*K
 *   w    [ceil(K/KB)][KH][KW][C][KB]  OIHW element (o,i,kh,kw) at
 *        (((o/KB)*KH + kh)*KW + kw)*C*KB + i*KB + o%KB; K zero-padded to a
 *        multiple of KB (LAYOUT_CONV_BLOCK)
 *   bias [ceil(K/KB)*KB]              zero-padded
 * Output (oh,ow) reads input rows oh*SH - PT + kh and columns ow*SW - PL + kw;
 * taps outside the image read zero (bottom/right padding is implied by OH, OW).
 * The work is ceil(K/KB) blocks x ceil(N*OH*OW/NP) pixel tiles, in groups
 * of KG blocks: group by group, and within a group tile by tile, each tile
 * through the group's blocks. KG = 1 is block-major (a block's weights stay
 * in cache while its tiles run); a larger KG reads the input once per group
 * instead of once per block, for layers whose input does not stay in L2 but
 * whose KG blocks of weights do (compiler/select.c chooses). Part p of P
 * gets the p-th of P contiguous, near-equal ranges of those units. Any
 * split and any KG give the same bytes: no output's sum is split.
 *
 * NX (with KG 1 only): prefetch the next block into L2 while this block's
 * later tiles run. A block's first tile pulls the block from DRAM at the
 * rate the core's fill buffers allow and its other tiles run from L2 with
 * DRAM idle, so at batch 1 a layer's weight fetch adds to its compute. With
 * NX, tiles 1, 2, .. of block kb each prefetch their share of block kb+1,
 * one line every 2^sh steps, sh as large as still covers the block, so the
 * next block arrives spread over this one's compute. compiler/select.c sets
 * it where two blocks fit in half of L2. Prefetches change no result.
 *
 * XP: prefetch the next tile's input while a tile runs, where the input
 * does not stay in L2 (select.c). A tile reads its NP pixels' channels in
 * lockstep, NP streams a pixel row apart, which the hardware prefetchers do
 * not follow: the tile stalls on a miss every 16 channels. Each pixel's
 * input in the next tile is NP*SW pixels on (exact within an output row),
 * and a line of it is prefetched when the tile enters a line of its own.
 * RS-50@160 batch 8: stage 1's 1x1 256->64 convs 0.70-0.80x.
 *
 * TG > 1 (with KG 1): a block's tiles run in groups of up to TG (evened
 * out, so no tile is left alone), which take turns on chunks of TC channels
 * of each tap (rsc_conv_tiles). Without groups, a block's first tile pulls
 * the block from DRAM at the rate one core's outstanding misses allow while
 * its other tiles wait, then those run from cache with DRAM idle: at batch 1
 * in the last stage, 2-8 tiles per block, the fetch is as long as the
 * compute. In a group the first tile of each chunk reads it from DRAM (or
 * L3) and the others from L1, and every tile prefetches its share of the
 * next chunk, so the stream runs under all of the group's FMAs. Measured
 * (bench/tiles.sh, cold weights, Ice Lake Xeon): the stage-4 layers of
 * RS-50@160, RS-101@192 and RS-152@256 at batch 1, 0.71-0.90x.
 *
 * pool (NULL: none): the partial sums of a Squeeze-and-Excitation pool over
 * this conv's output, written while its tiles are in L1, so the SE
 * (rsc_se_add_part) need not read the whole output once more to pool it:
 * the sum of each chunk of PC pixels of each image (rsc_chunk_floor's
 * order), chunk j of image n in pool[(n*ceil(OH*OW/PC) + j)*K + k], k < K.
 * The parts' ranges start and end where a chunk does (rsc_chunk_floor), so
 * one thread sums a chunk, tile after tile: the partials, like the output,
 * are the same bytes for any split, tile and batch. Chunks of 32 pixels
 * (select.c) keep them to a few % of the output.
 */
RSC_INLINE void rsc_conv2d_part(const float *restrict in, const float *restrict w,
                                const float *restrict bias, float *restrict out,
                                float *restrict pool, int PC, int N, int H, int W, int C, int OH,
                                int OW, int K, int KH, int KW, int SH, int SW, int PT, int PL,
                                int KB, int NP, int KG, int NX, int XP, int TG, int TC, int act,
                                int part, int parts) {
  if (NP < 1)
    NP = 1;
  if (NP > RSC_NP_MAX)
    NP = RSC_NP_MAX;
  const long P = (long)N * OH * OW, tiles = (P + NP - 1) / NP;
  const long nkb = (K + KB - 1) / KB, units = nkb * tiles;
  const long kg = KG < 1 ? 1 : KG > nkb ? nkb : KG;
  if (PC < 1)
    PC = 1;
  long u0 = units * part / parts, u1 = units * (part + 1) / parts;
  const long hw = (long)OH * OW, nch = (hw + PC - 1) / PC; /* chunks per image */
  if (pool) { /* down to where a chunk starts */
    u0 = rsc_chunk_floor(u0, units, tiles, nkb, kg, NP, hw, PC);
    u1 = rsc_chunk_floor(u1, units, tiles, nkb, kg, NP, hw, PC);
  }
  const size_t bsz = (size_t)KH * (size_t)KW * (size_t)C * (size_t)KB; /* floats per block */
  /* Next-block prefetch: steps per tile, lines per block, and the interval. */
  const long steps = (long)KH * KW * C * (KB % RSC_VL ? 1 : KB / RSC_VL / rsc_conv_vc(KB / RSC_VL));
  const long lines = (long)(bsz / 16);
  int sh = 0;
  while (sh < 6 && ((tiles - 1) * steps >> (sh + 1)) >= lines)
    sh++;
  const long share = (steps + (1L << sh) - 1) >> sh; /* lines per tile */
  const int nx_on = NX && kg == 1 && tiles > 1 && KB % RSC_VL == 0;
  /* Tiles per group: TG with kg 1 (a group's tiles are consecutive units of
   * one block), within what the spill buffer holds. */
  int tg = TG < 1 || kg > 1 ? 1 : TG > RSC_TG_MAX ? RSC_TG_MAX : TG;
  const int vc = KB % RSC_VL ? 1 : rsc_conv_vc(KB / RSC_VL);
  while (tg > 1 && tg * NP * vc > RSC_TG_VECS)
    tg--;
  /* A block's tiles in groups of equal size (within one): a lone last tile
   * would sweep the whole block without a group's prefetch. */
  const long ngroups = (tiles + tg - 1) / tg;
  tg = (int)((tiles + ngroups - 1) / ngroups);
  for (long u = u0; u < u1;) {
    /* Group g holds blocks [g*kg, g*kg + gn); its units are tile-major. */
    const long g = u / (kg * tiles), gu = u % (kg * tiles);
    const long gn = nkb - g * kg < kg ? nkb - g * kg : kg;
    const long kb = g * kg + gu % gn, ti = gu / gn;
    /* gt tiles ti, ti + 1, .. of block kb: to the end of ti's group of tg,
     * within the block and the range. */
    long gt = tg - ti % tg;
    if (gt > tiles - ti)
      gt = tiles - ti;
    if (gt > u1 - u)
      gt = u1 - u;
    rsc_tile tl[RSC_TG_MAX];
    /* do-while: gt >= 1, and gcc's -Wmaybe-uninitialized (-O2) cannot see it. */
    int t = 0;
    do {
      const long p0 = (ti + t) * NP;
      for (int r = 0; r < NP; r++) {
        const long p = p0 + r;
        const long n = p / ((long)OH * OW), oh = p / OW % OH, ow = p % OW;
        tl[t].xb[r] = p < P ? in + (size_t)n * (size_t)H * (size_t)W * (size_t)C : NULL;
        tl[t].o[r] = p < P ? out + (size_t)p * (size_t)K + (size_t)kb * (size_t)KB : out;
        tl[t].ih0[r] = (int)oh * SH - PT;
        tl[t].iw0[r] = (int)ow * SW - PL;
      }
      tl[t].tp = (rsc_tpool){NULL, K, 0, 0u};
      if (pool) { /* the chunk of pixel p0 (at q in image n) and where the next ones start */
        const long n = p0 / hw, q = p0 - n * hw;
        tl[t].tp.slot = pool + (size_t)(n * nch + q / PC) * (size_t)K + (size_t)kb * (size_t)KB;
        tl[t].tp.add = q % PC != 0;
        for (int r = 1; r < NP; r++)
          if ((q + r) % hw % PC == 0)
            tl[t].tp.runs |= 1u << r;
      }
    } while (++t < gt);
    const int kn = K - (int)kb * KB < KB ? K - (int)kb * KB : KB;
    /* A thread's first tile of each block streams the block in: prefetch.
     * (The first gn units of a range visit every block of the group.) A
     * group prefetches chunk by chunk instead. */
    const int pf = gt == 1 && (u - u0 < gn || ti == 0);
    rsc_nextpf nx = {NULL, 0, sh, XP ? (long)NP * SW * C : 0, NULL, 0, 0};
    if (nx_on && gt == 1 && ti >= 1 && (ti - 1) * share < lines)
      nx.line0 = w + (size_t)(kb + 1) * bsz + (size_t)((ti - 1) * share) * 16;
    rsc_conv_tiles(tl, (int)gt, w + (size_t)kb * bsz, bias + (size_t)kb * (size_t)KB, H, W, C, KH,
                   KW, KB, NP, kn, act, pf, nx, TC);
    u += gt;
  }
}

/* The whole conv on one thread, with a 4-pixel tile. */
RSC_INLINE void rsc_conv2d(const float *restrict in, const float *restrict w,
                           const float *restrict bias, float *restrict out, int N, int H, int W,
                           int C, int OH, int OW, int K, int KH, int KW, int SH, int SW, int PT,
                           int PL, int KB, int act) {
  rsc_conv2d_part(in, w, bias, out, NULL, 1, N, H, W, C, OH, OW, K, KH, KW, SH, SW, PT, PL, KB, 4,
                  1, 0, 0, 1, 0, act, 0, 1);
}

/* ------------------------------------------------- conv3x3 by Winograd */

/*
 * Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016) for 3x3 convs with stride 1 and padding 1: each 2x2
 * output tile is A^T [U .* (B^T d B)] A over the 4x4 input patch d that
 * covers it, with U = G g G^T the 4x4 transform of each 3x3 filter, computed
 * and packed by rsc at compile time (pack.c). 16 multiply-adds per input
 * channel and 2x2 outputs instead of 36: 2.25x fewer. The transforms B^T.B
 * and A^T.A are additions only, so the error stays within a few ulps of the
 * direct sum (G has halves: exact in binary).
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   A^T = [1 1 1 0; 0 1 -1 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 * Element xi = 4a + b of a 4x4 matrix is its row a, column b.
 */

/* Stack buffers of one unit: tiles, output lanes and input channels at most
 * (16 x NT x CC + 16 x NT x KB floats = 64 KiB with these limits). */
#define RSC_WINO_NT 8
_Static_assert(RSC_WINO_NT <= RSC_NP_MAX, "Winograd tiles share the direct tile's registers");
#define RSC_WINO_KB 64
#define RSC_WINO_CC 64

/* t = B^T d B for one 4x4 patch, vectors or single lanes (T is the type). */
#define RSC_WINO_IN_TRANSFORM(T, ADD, SUB, d, t)                                                 \
  do {                                                                                           \
    T r_[4][4];                                                                                  \
    for (int j_ = 0; j_ < 4; j_++) {                                                             \
      r_[0][j_] = SUB(d[0][j_], d[2][j_]);                                                       \
      r_[1][j_] = ADD(d[1][j_], d[2][j_]);                                                       \
      r_[2][j_] = SUB(d[2][j_], d[1][j_]);                                                       \
      r_[3][j_] = SUB(d[1][j_], d[3][j_]);                                                       \
    }                                                                                            \
    for (int i_ = 0; i_ < 4; i_++) {                                                             \
      t[i_][0] = SUB(r_[i_][0], r_[i_][2]);                                                      \
      t[i_][1] = ADD(r_[i_][1], r_[i_][2]);                                                      \
      t[i_][2] = SUB(r_[i_][2], r_[i_][1]);                                                      \
      t[i_][3] = SUB(r_[i_][1], r_[i_][3]);                                                      \
    }                                                                                            \
  } while (0)

/* y = A^T m A for one 4x4 element matrix. */
#define RSC_WINO_OUT_TRANSFORM(T, ADD, SUB, m, y)                                                \
  do {                                                                                           \
    T s_[2][4];                                                                                  \
    for (int j_ = 0; j_ < 4; j_++) {                                                             \
      s_[0][j_] = ADD(ADD(m[0][j_], m[1][j_]), m[2][j_]);                                        \
      s_[1][j_] = SUB(SUB(m[1][j_], m[2][j_]), m[3][j_]);                                        \
    }                                                                                            \
    for (int i_ = 0; i_ < 2; i_++) {                                                             \
      y[i_][0] = ADD(ADD(s_[i_][0], s_[i_][1]), s_[i_][2]);                                      \
      y[i_][1] = SUB(SUB(s_[i_][1], s_[i_][2]), s_[i_][3]);                                      \
    }                                                                                            \
  } while (0)

#define RSC_FADD_(a, b) ((a) + (b))
#define RSC_FSUB_(a, b) ((a) - (b))

/*
 * Input transform of channels [c0, c0 + cn) of NT tiles into
 * v[16][RSC_WINO_NT][RSC_WINO_CC]. p[r][i][j] points at tile r's patch
 * element (i, j) (channel 0 of its pixel), or is NULL outside the image or for
 * a slot past the last tile: those read as zeros.
 */
RSC_INLINE void rsc_wino_input(const float *p[RSC_WINO_NT][4][4], int c0, int cn, int NT,
                               float *restrict v) {
  for (int r = 0; r < NT; r++) {
    int c = 0;
    for (; c + RSC_VL <= cn; c += RSC_VL) {
      rsc_vf d[4][4], t[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          d[i][j] = p[r][i][j] ? rsc_vload(p[r][i][j] + c0 + c) : rsc_vset1(0.0f);
      RSC_WINO_IN_TRANSFORM(rsc_vf, rsc_vadd, rsc_vsub, d, t);
      for (int xi = 0; xi < 16; xi++)
        rsc_vstore(v + ((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_CC + (size_t)c,
                   t[xi / 4][xi % 4]);
    }
    for (; c < cn; c++) { /* channels past the last full vector */
      float d[4][4], t[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          d[i][j] = p[r][i][j] ? p[r][i][j][c0 + c] : 0.0f;
      RSC_WINO_IN_TRANSFORM(float, RSC_FADD_, RSC_FSUB_, d, t);
      for (int xi = 0; xi < 16; xi++)
        v[((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_CC + (size_t)c] = t[xi / 4][xi % 4];
    }
  }
}

/*
 * m[r][l] (+)= sum over c < cn of v[r][c] * wk[c*KB + l] for NT tiles r and
 * ln lanes l: one element xi's slice of the tile's batched matrix product.
 * v rows are RSC_WINO_CC apart, m rows RSC_WINO_KB; `first` starts from zero
 * instead of m's partial sums. Registers: NT x (up to RSC_V_MAX) vectors.
 */
RSC_INLINE void rsc_wino_gemm(const float *restrict v, const float *restrict wk,
                              float *restrict m, int NT, int cn, int KB, int ln, int first,
                              int pf) {
  if (ln % RSC_VL != 0) {
    for (int r = 0; r < NT; r++)
      for (int l = 0; l < ln; l++) {
        float acc = first ? 0.0f : m[r * RSC_WINO_KB + l];
        for (int c = 0; c < cn; c++)
          acc = RSC_FMA(v[r * RSC_WINO_CC + c], wk[(size_t)c * (size_t)KB + (size_t)l], acc);
        m[r * RSC_WINO_KB + l] = acc;
      }
    return;
  }
  const int V = ln / RSC_VL, VC = rsc_conv_vc(V);
  for (int v0 = 0; v0 < V; v0 += VC) {
    rsc_vf acc[RSC_NP_MAX][RSC_V_MAX];
    const float *x[RSC_NP_MAX];
    /* Every slot set (rows past NT unused): gcc cannot tell at -O2 with a
     * run-time NT and would warn. Constant-folded in the generated code. */
    for (int r = 0; r < RSC_NP_MAX; r++)
      x[r] = v + (r < NT ? r : 0) * RSC_WINO_CC;
    RSC_UNROLL
    for (int r = 0; r < NT; r++)
      RSC_UNROLL
      for (int q = 0; q < VC; q++)
        acc[r][q] = first ? rsc_vset1(0.0f) : rsc_vload(m + r * RSC_WINO_KB + (v0 + q) * RSC_VL);
    rsc_tile_steps(acc, x, wk + v0 * RSC_VL, cn, KB, NT, VC, pf, (rsc_nextpf){NULL, 0, 0, 0, NULL, 0, 0});
    RSC_UNROLL
    for (int r = 0; r < NT; r++)
      RSC_UNROLL
      for (int q = 0; q < VC; q++)
        rsc_vstore(m + r * RSC_WINO_KB + (v0 + q) * RSC_VL, acc[r][q]);
  }
}

/*
 * Output transform of tile r's ln lanes: y = A^T m A + bias, activated, into
 * the tile's (up to) 2x2 output pixels o[i][j] (NULL: outside the image);
 * only lanes < kn are real channels.
 */
RSC_INLINE void rsc_wino_output(const float *restrict m, int r, const float *restrict bb,
                                float *o[2][2], int ln, int kn, int act) {
  int l = 0;
  for (; l + RSC_VL <= ln && l + RSC_VL <= kn; l += RSC_VL) {
    rsc_vf e[4][4], y[2][2];
    for (int xi = 0; xi < 16; xi++)
      e[xi / 4][xi % 4] = rsc_vload(m + ((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_KB + (size_t)l);
    RSC_WINO_OUT_TRANSFORM(rsc_vf, rsc_vadd, rsc_vsub, e, y);
    const rsc_vf b = rsc_vload(bb + l);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        if (!o[i][j])
          continue;
        rsc_vf z = rsc_vadd(y[i][j], b);
        if (act == RSC_ACT_RELU || act == RSC_ACT_NONE) {
          rsc_vstore(o[i][j] + l, act == RSC_ACT_RELU ? rsc_vrelu(z) : z);
        } else {
          float t[RSC_VL];
          rsc_vstore(t, z);
          for (int q = 0; q < RSC_VL; q++)
            o[i][j][l + q] = rsc_act(t[q], act);
        }
      }
  }
  for (; l < ln && l < kn; l++) { /* lanes past the last full vector */
    float e[4][4], y[2][2];
    for (int xi = 0; xi < 16; xi++)
      e[xi / 4][xi % 4] = m[((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_KB + (size_t)l];
    RSC_WINO_OUT_TRANSFORM(float, RSC_FADD_, RSC_FSUB_, e, y);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        if (o[i][j])
          o[i][j][l] = rsc_act(y[i][j] + bb[l], act);
  }
}

/*
 * out = act(conv3x3(in, w) + bias), stride 1, padding 1: same layouts as
 * rsc_conv2d_part (OH = H, OW = W) except the weights:
 *   w [ceil(K/KB)][16][C][KB]  element xi of U = G g G^T for filter (o, i) at
 *     ((o/KB)*16 + xi)*C*KB + i*KB + o%KB; K zero-padded (LAYOUT_WINO_BLOCK)
 * The work is ceil(K/KB) blocks x ceil(T/NT) groups of NT consecutive tiles
 * (T = N*ceil(H/2)*ceil(W/2) tiles in (n, row, column) order), block-major,
 * split over parts like rsc_conv2d_part. A unit walks the input channels in
 * chunks of RSC_WINO_CC: the chunk's patches are transformed into v, then for
 * each of the 16 elements an NT x KB register tile accumulates v x U into m;
 * after the last chunk every tile's m is transformed back and stored.
 * Each output's sums run in channel order whatever NT and the split (m
 * round-trips through memory exactly), so results depend on the shapes only.
 */
RSC_INLINE void rsc_wino_part(const float *restrict in, const float *restrict w,
                              const float *restrict bias, float *restrict out, int N, int H, int W,
                              int C, int K, int KB, int NT, int act, int part, int parts) {
  if (NT < 1)
    NT = 1;
  if (NT > RSC_WINO_NT)
    NT = RSC_WINO_NT;
  const int TH = (H + 1) / 2, TW = (W + 1) / 2;
  const long T = (long)N * TH * TW, groups = (T + NT - 1) / NT;
  const long nkb = (K + KB - 1) / KB, units = nkb * groups;
  const long u0 = units * part / parts, u1 = units * (part + 1) / parts;
  float v[16 * RSC_WINO_NT * RSC_WINO_CC];
  float m[16 * RSC_WINO_NT * RSC_WINO_KB];
  for (long u = u0; u < u1; u++) {
    const long kb = u / groups, t0 = (u % groups) * NT;
    const float *p[RSC_WINO_NT][4][4];
    float *o[RSC_WINO_NT][2][2];
    for (int r = 0; r < NT; r++) {
      const long t = t0 + r;
      const long n = t / ((long)TH * TW), th = t / TW % TH, tw = t % TW;
      const float *img = in + (size_t)n * (size_t)H * (size_t)W * (size_t)C;
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          const long ih = 2 * th - 1 + i, iw = 2 * tw - 1 + j;
          p[r][i][j] = t < T && ih >= 0 && ih < H && iw >= 0 && iw < W
                           ? img + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C
                           : NULL;
        }
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          const long oh = 2 * th + i, ow = 2 * tw + j;
          o[r][i][j] = t < T && oh < H && ow < W
                           ? out + (((size_t)n * (size_t)H + (size_t)oh) * (size_t)W + (size_t)ow) *
                                       (size_t)K +
                                 (size_t)kb * (size_t)KB
                           : NULL;
        }
    }
    const float *restrict wb = w + (size_t)kb * 16 * (size_t)C * (size_t)KB;
    const int kn = K - (int)kb * KB < KB ? K - (int)kb * KB : KB;
    const int pf = u == u0 || t0 == 0; /* as in rsc_conv2d_part */
    for (int l0 = 0; l0 < KB; l0 += RSC_WINO_KB) {
      const int ln = KB - l0 < RSC_WINO_KB ? KB - l0 : RSC_WINO_KB;
      for (int c0 = 0; c0 < C; c0 += RSC_WINO_CC) {
        const int cn = C - c0 < RSC_WINO_CC ? C - c0 : RSC_WINO_CC;
        rsc_wino_input(p, c0, cn, NT, v);
        for (int xi = 0; xi < 16; xi++)
          rsc_wino_gemm(v + (size_t)xi * RSC_WINO_NT * RSC_WINO_CC,
                        wb + ((size_t)xi * (size_t)C + (size_t)c0) * (size_t)KB + (size_t)l0,
                        m + (size_t)xi * RSC_WINO_NT * RSC_WINO_KB, NT, cn, KB, ln, c0 == 0,
                        pf);
      }
      for (int r = 0; r < NT; r++) {
        float *ol[2][2];
        for (int i = 0; i < 2; i++)
          for (int j = 0; j < 2; j++)
            ol[i][j] = o[r][i][j] ? o[r][i][j] + l0 : NULL;
        rsc_wino_output(m, r, bias + (size_t)kb * (size_t)KB + (size_t)l0, ol, ln, kn - l0, act);
      }
    }
  }
}

/* ---------------------------------------------------------------- pools */

/*
 * Max or average pooling (avg: a constant of the call, so the other
 * operation folds away) over each window's in-bounds taps only:
 *   max: the max of the taps (-INFINITY if a window had none, which no valid
 *        model produces);
 *   avg: 0 + the taps in (kh, kw) order, divided by their count
 *        (count_include_pad=False: the ResNet-D shortcut's 2x2/2 ceil-mode
 *        pool divides its last partial window by 2 or 1, not 4); 0 if none.
 *   in [N][H][W][C], out [N][OH][OW][C]; output (oh,ow) reads rows
 *   oh*SH - PT + kh and columns ow*SW - PL + kw.
 * Part `part` of `parts`: a contiguous range of output rows (n, oh); RSC_VL
 * channels at a time in a register across the window's taps, so each output
 * is stored once.
 */
RSC_INLINE void rsc_pool_part(const float *restrict in, float *restrict out, int N, int H, int W,
                              int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT,
                              int PL, int avg, int part, int parts) {
  const size_t rows = (size_t)N * (size_t)OH;
  const size_t r0 = rows * (size_t)part / (size_t)parts;
  const size_t r1 = rows * ((size_t)part + 1) / (size_t)parts;
  const float init = avg ? 0.0f : -INFINITY;
  for (size_t row = r0; row < r1; row++) {
    const size_t n = row / (size_t)OH;
    const int oh = (int)(row % (size_t)OH);
    const float *restrict img = in + n * (size_t)H * (size_t)W * (size_t)C;
    for (int ow = 0; ow < OW; ow++) {
      float *restrict o = out + (row * (size_t)OW + (size_t)ow) * (size_t)C;
      /* The window's in-bounds rows [ih0, ih1) and columns [iw0, iw1). */
      const int ih0 = oh * SH - PT < 0 ? 0 : oh * SH - PT;
      const int ih1 = oh * SH - PT + KH < H ? oh * SH - PT + KH : H;
      const int iw0 = ow * SW - PL < 0 ? 0 : ow * SW - PL;
      const int iw1 = ow * SW - PL + KW < W ? ow * SW - PL + KW : W;
      int c = 0;
      for (; c + RSC_VL <= C; c += RSC_VL) {
        rsc_vf a = rsc_vset1(init);
        for (int ih = ih0; ih < ih1; ih++)
          for (int iw = iw0; iw < iw1; iw++) {
            const rsc_vf x =
                rsc_vload(img + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C + c);
            a = avg ? rsc_vadd(a, x) : rsc_vmax(x, a);
          }
        rsc_vstore(o + c, a);
      }
      for (; c < C; c++) {
        float a = init;
        for (int ih = ih0; ih < ih1; ih++)
          for (int iw = iw0; iw < iw1; iw++) {
            const float x = img[((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C + (size_t)c];
            a = avg ? a + x : x > a ? x : a;
          }
        o[c] = a;
      }
      const int taps = (ih1 - ih0) * (iw1 - iw0);
      if (avg && taps > 0) {
        const float d = (float)taps;
        for (c = 0; c < C; c++)
          o[c] = o[c] / d;
      }
    }
  }
}

RSC_INLINE void rsc_maxpool_part(const float *restrict in, float *restrict out, int N, int H,
                                 int W, int C, int OH, int OW, int KH, int KW, int SH, int SW,
                                 int PT, int PL, int part, int parts) {
  rsc_pool_part(in, out, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, 0, part, parts);
}

RSC_INLINE void rsc_avgpool_part(const float *restrict in, float *restrict out, int N, int H,
                                 int W, int C, int OH, int OW, int KH, int KW, int SH, int SW,
                                 int PT, int PL, int part, int parts) {
  rsc_pool_part(in, out, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, 1, part, parts);
}

/* The whole pool on one thread. */
RSC_INLINE void rsc_maxpool(const float *restrict in, float *restrict out, int N, int H, int W,
                            int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  rsc_pool_part(in, out, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, 0, 0, 1);
}

RSC_INLINE void rsc_avgpool(const float *restrict in, float *restrict out, int N, int H, int W,
                            int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  rsc_pool_part(in, out, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, 1, 0, 1);
}

/* Channels per pass of rsc_pixel_mean: its chunk sums stay in L1. */
#define RSC_MEAN_CB 64

/*
 * Mean over the pixels of channels [c0, c1) of one image x [HW][C] (the
 * global average pool, SE's squeeze): s[c] = the sum over the pixels in
 * chunks of PC (rsc_chunk_floor's order: each chunk in pixel order, then
 * the chunks in order; PC >= HW: one sum in pixel order), divided by HW.
 * RSC_MEAN_CB channels at a time, RSC_VL per add.
 */
RSC_INLINE void rsc_pixel_mean(const float *restrict x, float *restrict s, int HW, int C, int PC,
                               size_t c0, size_t c1) {
  for (size_t cb = c0; cb < c1; cb += RSC_MEAN_CB) {
    const size_t ce = c1 - cb < RSC_MEAN_CB ? c1 : cb + RSC_MEAN_CB;
    float t[RSC_MEAN_CB]; /* the chunk's sums of channels [cb, ce) */
    for (int p0 = 0; p0 < HW; p0 += PC) {
      const int p1 = HW - p0 < PC ? HW : p0 + PC;
      for (size_t c = cb; c < ce; c++)
        t[c - cb] = x[(size_t)p0 * (size_t)C + c];
      for (int p = p0 + 1; p < p1; p++) {
        const float *restrict xp = x + (size_t)p * (size_t)C + cb;
        size_t c = 0;
        for (; c + RSC_VL <= ce - cb; c += RSC_VL)
          rsc_vstore(t + c, rsc_vadd(rsc_vload(t + c), rsc_vload(xp + c)));
        for (; c < ce - cb; c++)
          t[c] += xp[c];
      }
      for (size_t c = cb; c < ce; c++)
        s[c] = p0 == 0 ? t[c - cb] : s[c] + t[c - cb];
    }
    for (size_t c = cb; c < ce; c++)
      s[c] = s[c] / (float)HW;
  }
}

/* Channels [c0, c1) of image n's mean from the chunk sums a conv wrote
 * (rsc_conv2d_part's pool, chunks of PC pixels): the sum of its chunks in
 * order, divided by HW; the same bytes as rsc_pixel_mean of its pixels. */
RSC_INLINE void rsc_slot_mean(const float *restrict pool, float *restrict s, int n, int HW, int PC,
                              int C, size_t c0, size_t c1) {
  const size_t nch = ((size_t)HW + (size_t)PC - 1) / (size_t)PC;
  const float *restrict first = pool + (size_t)n * nch * (size_t)C;
  for (size_t c = c0; c < c1; c++)
    s[c] = first[c];
  /* The vector loop's end, stated rather than tested per step (c + RSC_VL <= c1):
   * gcc -O2 with parts a constant 1 (NO_THREADS) otherwise warned that the
   * tail loop's 2^62th iteration overflows s (-Waggressive-loop-optimizations). */
  const size_t cv = c0 + (c1 - c0) / RSC_VL * RSC_VL;
  for (size_t j = 1; j < nch; j++) {
    const float *restrict row = first + j * (size_t)C;
    size_t c = c0;
    for (; c < cv; c += RSC_VL)
      rsc_vstore(s + c, rsc_vadd(rsc_vload(s + c), rsc_vload(row + c)));
    for (; c < c1; c++)
      s[c] += row[c];
  }
  for (size_t c = c0; c < c1; c++)
    s[c] = s[c] / (float)HW;
}

/* Mean over the HW pixels of each image: in [N][HW][C] -> out [N][C].
 * Summed in pixel order, then divided by HW. */
RSC_INLINE void rsc_global_avgpool(const float *restrict in, float *restrict out, int N, int HW,
                                   int C) {
  for (int n = 0; n < N; n++)
    rsc_pixel_mean(in + (size_t)n * (size_t)HW * (size_t)C, out + (size_t)n * (size_t)C, HW, C,
                   HW, 0, (size_t)C);
}

/* Max over the HW pixels of each image: in [N][HW][C] -> out [N][C]. */
RSC_INLINE void rsc_global_maxpool(const float *restrict in, float *restrict out, int N, int HW,
                                   int C) {
  for (int n = 0; n < N; n++) {
    float *restrict o = out + (size_t)n * (size_t)C;
    const float *restrict x = in + (size_t)n * (size_t)HW * (size_t)C;
    for (int c = 0; c < C; c++)
      o[c] = -INFINITY;
    for (int p = 0; p < HW; p++)
      for (int c = 0; c < C; c++)
        o[c] = x[(size_t)p * (size_t)C + (size_t)c] > o[c] ? x[(size_t)p * (size_t)C + (size_t)c]
                                                           : o[c];
  }
}

/* ---------------------------------------------------------------- dense */

/* A register block of rsc_dense_blocks: the sums of one KB-column block for
 * up to RSC_DENSE_ROWS rows, KB/RSC_VL vectors per row, beside the row's
 * KB/RSC_VL weight vectors and a broadcast: 16 + 2 + 1 of AVX-512's 32
 * registers at KB 32, 8 + 4 + 1 of AVX2's 16, and the portable 4-float
 * vectors one row. Blocks wider than RSC_DENSE_MAXKB (or not whole vectors)
 * take the scalar lanes instead. */
#define RSC_DENSE_ROWS (RSC_VL == 16 ? 8 : RSC_VL == 8 ? 2 : 1)
#define RSC_DENSE_MAXKB 32

/*
 * Column blocks [blk0, blk1) of rsc_dense (KB columns each). Block blk's
 * weights are one contiguous [CIN][KB] run, so a thread's blocks are one
 * sequential stream: at small batch a dense layer is a matrix-vector
 * product bound by DRAM, and a stream per core is what keeps the hardware
 * prefetchers (and both cores' memory queues) full. The sums of a block
 * stay in registers over all CIN inputs, each weight vector serving every
 * row of the register block; the last block's padding columns (zero weights)
 * are computed but not stored. Every output is b + the sum over i in
 * increasing order, one RSC_FMA per product, whatever N, the blocks, the
 * path or the target. Measured (2-core Zen 5 EPYC, cold weights, 2048x512):
 * 1 row 102 us on one thread, 82 on two, where the [in][out] layout took
 * 130 (one thread streaming whole rows; two threads on alternate halves of
 * each row, 134); 8 rows 165 / 100 us against 253 / 135.
 */
RSC_INLINE void rsc_dense_blocks(const float *restrict in, const float *restrict w,
                                 const float *restrict b, float *restrict out, int N, int CIN,
                                 int K, int KB, long blk0, long blk1, int act) {
  const int V = KB / RSC_VL;
  const int vec = KB % RSC_VL == 0 && KB <= RSC_DENSE_MAXKB;
  for (long blk = blk0; blk < blk1; blk++) {
    const float *restrict wb = w + (size_t)blk * (size_t)CIN * (size_t)KB;
    const size_t k = (size_t)blk * (size_t)KB;
    const int cols = (size_t)K - k < (size_t)KB ? (int)((size_t)K - k) : KB;
    for (int n0 = 0; n0 < N; n0 += vec ? RSC_DENSE_ROWS : 1) {
      const float *restrict x = in + (size_t)n0 * (size_t)CIN;
      float *restrict o = out + (size_t)n0 * (size_t)K + k;
      if (!vec) { /* scalar lanes, one row */
        for (int l = 0; l < cols; l++) {
          float acc = b[k + (size_t)l];
          for (int i = 0; i < CIN; i++)
            acc = RSC_FMA(x[i], wb[(size_t)i * (size_t)KB + (size_t)l], acc);
          o[l] = rsc_act(acc, act);
        }
        continue;
      }
      const int nr = N - n0 < RSC_DENSE_ROWS ? N - n0 : RSC_DENSE_ROWS;
      rsc_vf s[RSC_DENSE_ROWS][RSC_DENSE_MAXKB / RSC_VL];
      for (int r = 0; r < nr; r++)
        for (int v = 0; v < V; v++)
          s[r][v] = rsc_vload(b + k + (size_t)v * RSC_VL);
      for (int i = 0; i < CIN; i++) {
        rsc_vf wv[RSC_DENSE_MAXKB / RSC_VL];
        for (int v = 0; v < V; v++)
          wv[v] = rsc_vload(wb + (size_t)i * (size_t)KB + (size_t)v * RSC_VL);
        for (int r = 0; r < nr; r++) {
          const rsc_vf a = rsc_vset1(x[(size_t)r * (size_t)CIN + (size_t)i]);
          for (int v = 0; v < V; v++)
            s[r][v] = rsc_vfma(a, wv[v], s[r][v]);
        }
      }
      for (int r = 0; r < nr; r++) {
        float sums[RSC_DENSE_MAXKB];
        for (int v = 0; v < V; v++)
          rsc_vstore(sums + v * RSC_VL, s[r][v]);
        for (int l = 0; l < cols; l++) /* not the last block's padding */
          o[(size_t)r * (size_t)K + (size_t)l] = rsc_act(sums[l], act);
      }
    }
  }
}

/*
 * out = act(in * w + b).
 *   in [N][CIN], out [N][K], b [ceil(K/KB)*KB] (zero-padded)
 *   w  [ceil(K/KB)][CIN][KB] (LAYOUT_DENSE_BLOCK): element (o,i) of the
 *      [out][in] weight at ((o/KB)*CIN + i)*KB + o%KB; padded o are 0
 * Each output is b + the sum over i in increasing order.
 */
RSC_INLINE void rsc_dense(const float *restrict in, const float *restrict w,
                          const float *restrict b, float *restrict out, int N, int CIN, int K,
                          int KB, int act) {
  rsc_dense_blocks(in, w, b, out, N, CIN, K, KB, 0, (K + KB - 1) / KB, act);
}

/* ---------------------------------------------------------------- elementwise */

/* out[i] = act(a[i] + b[i]) for n elements (any layout, all three alike). */
RSC_INLINE void rsc_add_act(const float *restrict a, const float *restrict b, float *restrict out,
                            size_t n, int act) {
  for (size_t i = 0; i < n; i++)
    out[i] = rsc_act(a[i] + b[i], act);
}

/* Range [lo, hi) of `part` of `parts` when n items are split evenly, in
 * whole runs of 16 floats (64 bytes): two threads that write neighbouring
 * ranges never share a cache line, which at a split in mid-line would
 * bounce between the cores on every store (elementwise adds, SE's pool). */
RSC_INLINE void rsc_range(size_t n, int part, int parts, size_t *lo, size_t *hi) {
  const size_t runs = (n + 15) / 16;
  const size_t a = runs * (size_t)part / (size_t)parts * 16;
  const size_t b = runs * ((size_t)part + 1) / (size_t)parts * 16;
  *lo = a < n ? a : n;
  *hi = b < n ? b : n;
}

/* Part `part` of `parts` of rsc_add_act: a contiguous, 16-float aligned range. */
RSC_INLINE void rsc_add_act_part(const float *restrict a, const float *restrict b,
                                 float *restrict out, size_t n, int act, int part, int parts) {
  size_t lo, hi;
  rsc_range(n, part, parts, &lo, &hi);
  rsc_add_act(a + lo, b + lo, out + lo, hi - lo, act);
}

/* rsc_dense split over output column blocks: part `part` of `parts` takes
 * one contiguous run of blocks, so one stream of weights per thread
 * (rsc_dense_blocks), and no output cache line is written by two parts
 * while KB floats are a multiple of 64 bytes. */
RSC_INLINE void rsc_dense_part(const float *restrict in, const float *restrict w,
                               const float *restrict b, float *restrict out, int N, int CIN, int K,
                               int KB, int act, int part, int parts) {
  const long nblk = (K + KB - 1) / KB;
  const long blk0 = nblk * part / parts, blk1 = nblk * (part + 1) / parts;
  if (blk1 > blk0)
    rsc_dense_blocks(in, w, b, out, N, CIN, K, KB, blk0, blk1, act);
}

/* SE's excite and the residual tail for pixels [p0, p1) of one image:
 * out[p][c] = act(x[p][c] * g[c] + sc[p][c]), vectors for ReLU and none.
 * out may be x or sc (each element is read before it is written). */
RSC_INLINE void rsc_se_scale_add(const float *x, const float *restrict g, const float *sc,
                                 float *out, int C, size_t p0,
                                 size_t p1, int act) {
  const int vec = act == RSC_ACT_RELU || act == RSC_ACT_NONE;
  for (size_t p = p0; p < p1; p++) {
    const size_t at = p * (size_t)C;
    int c = 0;
    for (; vec && c + RSC_VL <= C; c += RSC_VL) {
      const rsc_vf y = rsc_vfma(rsc_vload(x + at + (size_t)c), rsc_vload(g + c),
                                rsc_vload(sc + at + (size_t)c));
      rsc_vstore(out + at + (size_t)c, act == RSC_ACT_RELU ? rsc_vrelu(y) : y);
    }
    for (; c < C; c++)
      out[at + (size_t)c] = rsc_act(RSC_FMA(x[at + (size_t)c], g[c], sc[at + (size_t)c]), act);
  }
}

/*
 * The fused tail of a bottleneck: Squeeze-and-Excitation on x, then the
 * residual add and the block's activation. Per image n:
 *   s[n][c] = mean over the HW pixels of x[n][.][c]        (chunks of PC)
 *   m[n][j] = relu(b1[j] + sum_c s[n][c] * fc1[j][c])      (c order)
 *   g[n][c] = sigmoid(b2[c] + sum_j m[n][j] * fc2[c][j])   (j order)
 *   out[n][p][c] = act(x[n][p][c] * g[n][c] + sc[n][p][c])
 *   x, sc, out [N][HW][C]; w1 [ceil(M/KB)][C][KB], b1 [ceil(M/KB)*KB],
 *   w2 [ceil(C/KB)][M][KB], b2 [ceil(C/KB)*KB] (LAYOUT_DENSE_BLOCK of fc1
 *   [M,C,1,1] and fc2 [C,M,1,1], rsc_dense); scratch: N*(C + M) floats,
 *   s then g in [0, N*C), m in [N*C, N*(C+M)).
 * The phases run over the whole batch, so each of the two dense layers
 * streams its weights once for all N images (rsc_dense_blocks): in stage 4
 * they are 8 MB, which per image were read N times from DRAM.
 * Each phase (pool over channels, reduce, gate, scale and add over pixel
 * rows) is split into `parts` ranges of independent outputs (the reduce and
 * the gate in column blocks, rsc_dense_part), with sync(ctx) (a barrier
 * of all parts) between phases that read another part's results.
 * No sum is split, so the output is the same for any number of parts.
 * out may be x or sc: the only phase that writes out reads x and sc at
 * the same rows and no other, after the barrier that ends the pool's reads.
 * The pool sums each image's pixels in chunks of PC (rsc_chunk_floor's
 * order), never across images: an image's output is the same bytes alone
 * or in any batch. pool (NULL: pool x here): the chunk sums the conv
 * producing x wrote (rsc_conv2d_part's pool, chunks of the same PC); the
 * means are then the same bytes, and x is read once instead of twice.
 */
RSC_INLINE void rsc_se_add_part(const float *x, const float *sc,
                                const float *restrict w1, const float *restrict b1,
                                const float *restrict w2, const float *restrict b2, float *out,
                                float *restrict scratch,
                                const float *restrict pool, int PC, int N, int HW, int C, int M,
                                int KB, int act, int part, int parts, void (*sync)(void *),
                                void *ctx) {
  float *restrict s = scratch;
  float *restrict m = scratch + (size_t)N * (size_t)C;
  const size_t rows = (size_t)N * (size_t)HW;
  size_t c0, c1;
  rsc_range((size_t)C, part, parts, &c0, &c1);
  /* Whole rows of C floats: no cache line shared between parts. */
  const size_t r0 = rows * (size_t)part / (size_t)parts;
  const size_t r1 = rows * ((size_t)part + 1) / (size_t)parts;
  for (int n = 0; n < N; n++) {
    if (pool)
      rsc_slot_mean(pool, s + (size_t)n * (size_t)C, n, HW, PC, C, c0, c1);
    else
      rsc_pixel_mean(x + (size_t)n * (size_t)HW * (size_t)C, s + (size_t)n * (size_t)C, HW, C,
                     PC, c0, c1);
  }
  if (parts > 1)
    sync(ctx);
  rsc_dense_part(s, w1, b1, m, N, C, M, KB, RSC_ACT_RELU, part, parts);
  if (parts > 1)
    sync(ctx);
  /* s is dead once m exists: the gate reuses its room. */
  rsc_dense_part(m, w2, b2, s, N, M, C, KB, RSC_ACT_SIGMOID, part, parts);
  if (parts > 1)
    sync(ctx);
  for (size_t r = r0; r < r1;) {
    /* The rows of one image share its gate. */
    const size_t n = r / (size_t)HW;
    const size_t end = (n + 1) * (size_t)HW < r1 ? (n + 1) * (size_t)HW : r1;
    const size_t base = n * (size_t)HW * (size_t)C;
    rsc_se_scale_add(x + base, s + n * (size_t)C, sc + base, out + base, C, r - n * (size_t)HW,
                     end - n * (size_t)HW, act);
    r = end;
  }
}

/* The whole of rsc_se_add_part on one thread. */
RSC_INLINE void rsc_se_add(const float *x, const float *sc,
                           const float *restrict w1, const float *restrict b1,
                           const float *restrict w2, const float *restrict b2, float *out,
                           float *restrict scratch, int PC, int N, int HW, int C, int M, int KB,
                           int act) {
  rsc_se_add_part(x, sc, w1, b1, w2, b2, out, scratch, NULL, PC, N, HW, C, M, KB, act, 0, 1, NULL,
                  NULL);
}

/* In-place softmax over each row of x [N][K]: the row max is subtracted
 * before expf, and the sum runs in index order. */
RSC_INLINE void rsc_softmax(float *restrict x, int N, int K) {
  for (int n = 0; n < N; n++) {
    float *restrict row = x + (size_t)n * (size_t)K;
    float mx = row[0];
    for (int k = 1; k < K; k++)
      mx = row[k] > mx ? row[k] : mx;
    float sum = 0.0f;
    for (int k = 0; k < K; k++) {
      row[k] = expf(row[k] - mx);
      sum += row[k];
    }
    for (int k = 0; k < K; k++)
      row[k] = row[k] / sum;
  }
}

/* ---------------------------------------------------------------- entry */

/* Element i of the caller's input, bytes or floats. */
RSC_INLINE float rsc_entry_load(const void *restrict in, int u8, size_t i) {
  return u8 ? (float)((const unsigned char *)in)[i] : ((const float *)in)[i];
}

/*
 * The network's entry (the compiler's OP_ENTRY, compiler/entry.c): the
 * caller's input, bytes or floats, NHWC or NCHW, to the float32 NHWC tensor
 * the first conv reads, minus a per-channel shift (NULL: none). Under
 * `preprocess imagenet` the shift is 255 * the ImageNet mean and the conv's
 * weights carry the 1/(255 std) scale, so the conv's zero padding is exactly
 * the zero of normalised space.
 *   in   NHWC [N][H][W][C] (nchw == 0) or NCHW [N][C][H][W] (nchw == 1)
 *   out  NHWC [N][H][W][C], written in order
 */
RSC_INLINE void rsc_entry(const void *restrict in, int u8, float *restrict out, int N, int H,
                          int W, int C, int nchw, const float *restrict shift) {
  const size_t hw = (size_t)H * (size_t)W;
  for (int n = 0; n < N; n++)
    for (size_t p = 0; p < hw; p++)
      for (int c = 0; c < C; c++) {
        const size_t o = ((size_t)n * hw + p) * (size_t)C + (size_t)c;
        const size_t i = nchw ? ((size_t)n * (size_t)C + (size_t)c) * hw + p : o;
        const float x = rsc_entry_load(in, u8, i);
        out[o] = shift ? x - shift[c] : x;
      }
}

/* uint8_t is unsigned char wherever it exists; the runtime needs no <stdint.h>. */
RSC_INLINE void rsc_entry_u8(const unsigned char *restrict in, float *restrict out, int N, int H,
                             int W, int C, int nchw, const float *restrict shift) {
  rsc_entry(in, 1, out, N, H, W, C, nchw, shift);
}

RSC_INLINE void rsc_entry_f32(const float *restrict in, float *restrict out, int N, int H, int W,
                              int C, int nchw, const float *restrict shift) {
  rsc_entry(in, 0, out, N, H, W, C, nchw, shift);
}

#endif /* RSC_KERNELS_H */
