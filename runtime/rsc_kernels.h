/*
 * rsc_kernels.h - the runtime kernels of generated models.
 *
 * rsc pastes this file verbatim into every generated model .c file, after
 * <math.h>, <stddef.h> and <string.h>, then emits one small wrapper per layer
 * shape that calls a kernel with nothing but constants besides the pointers
 * and the thread team's part / parts:
 *   static void k_conv3x3s2...(in, w, b, out, int part, int parts)
 *   { rsc_conv2d_part(in, w, b, out, 1,160,160,3, 80,80,32, 3,3, 2,2, 1,1,
 *                     32, 14, RSC_ACT_RELU, part, parts); }
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
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RSC_VL 8
typedef __m256 rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) { return _mm256_loadu_ps(p); }
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) { _mm256_storeu_ps(p, v); }
RSC_INLINE rsc_vf rsc_vset1(float x) { return _mm256_set1_ps(x); }
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) { return _mm256_fmadd_ps(a, b, c); }
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
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
#endif

/* Full unrolling of the loops over a tile's accumulators (constant trip
 * counts after inlining). Without it clang (14) leaves the large epilogue
 * rolled, indexes the accumulator array dynamically there, and so keeps the
 * whole tile in memory: stores after every FMA, convs 3x slower. gcc unrolls
 * them by itself. Where the counts are not constants (a test calling a
 * kernel with run-time shapes) clang cannot unroll and would say so: that is
 * expected, hence the warning is off. */
#if defined(__clang__)
#define RSC_UNROLL _Pragma("clang loop unroll(full)")
#pragma clang diagnostic ignored "-Wpass-failed"
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

/*
 * One register tile: NP consecutive output pixels (in (n, oh, ow) order,
 * across rows and images) of one block of KB output channels.
 *   xb[r], ih0[r], iw0[r]  pixel r's image and window origin; xb[r] == NULL
 *                          for a slot past the last pixel (not stored)
 *   wb  this block's weights [KH][KW][C][KB]; bb its bias [KB]
 *   o[r] where pixel r's channels [0, kn) go
 * A tap outside the image points the pixel at rsc_zero, so all NP pixels run
 * the same unrolled loop; an FMA with 0 leaves every finite sum unchanged.
 * Each output is bias + sum over (kh, kw, c) in that order whatever the
 * tile, so NP, the split over threads and the target never change a result
 * (only FMA vs separate multiply-add could, and that is fixed per target).
 */
RSC_INLINE void rsc_conv_tile(const float *const xb[RSC_NP_MAX], const int ih0[RSC_NP_MAX],
                              const int iw0[RSC_NP_MAX], const float *restrict wb,
                              const float *restrict bb, float *const o[RSC_NP_MAX], int H, int W,
                              int C, int KH, int KW, int KB, int NP, int kn, int act) {
  if (KB % RSC_VL != 0) {
    /* Generic lanes (KB no multiple of the vector): one pixel at a time. */
    for (int r = 0; r < NP; r++) {
      if (!xb[r])
        continue;
      for (int j = 0; j < kn; j++) {
        float acc = bb[j];
        for (int kh = 0; kh < KH; kh++) {
          const int ih = ih0[r] + kh;
          if (ih < 0 || ih >= H)
            continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = iw0[r] + kw;
            if (iw < 0 || iw >= W)
              continue;
            const float *restrict x = xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C;
            const float *restrict wk =
                wb + ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C * (size_t)KB + (size_t)j;
            for (int c = 0; c < C; c++)
              acc = RSC_FMA(x[c], wk[(size_t)c * (size_t)KB], acc);
          }
        }
        o[r][j] = rsc_act(acc, act);
      }
    }
    return;
  }
  const int V = KB / RSC_VL, VC = rsc_conv_vc(V);
  for (int v0 = 0; v0 < V; v0 += VC) {
    rsc_vf acc[RSC_NP_MAX][RSC_V_MAX];
    RSC_UNROLL
    for (int r = 0; r < NP; r++)
      RSC_UNROLL
      for (int v = 0; v < VC; v++)
        acc[r][v] = rsc_vload(bb + (v0 + v) * RSC_VL);
    for (int kh = 0; kh < KH; kh++)
      for (int kw = 0; kw < KW; kw++) {
        const float *restrict wk = wb +
                                   ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C * (size_t)KB +
                                   (size_t)v0 * RSC_VL;
        /* Channels in chunks that rsc_zero covers (one chunk for C <= 1024). */
        for (int c0 = 0; c0 < C; c0 += RSC_ZERO_N) {
          const int cn = C - c0 < RSC_ZERO_N ? C - c0 : RSC_ZERO_N;
          const float *x[RSC_NP_MAX];
          for (int r = 0; r < NP; r++) {
            const int ih = ih0[r] + kh, iw = iw0[r] + kw;
            x[r] = xb[r] && ih >= 0 && ih < H && iw >= 0 && iw < W
                       ? xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C + (size_t)c0
                       : rsc_zero;
          }
          const float *restrict wc = wk + (size_t)c0 * (size_t)KB;
          for (int c = 0; c < cn; c++, wc += KB) {
            rsc_vf wv[RSC_V_MAX];
            RSC_UNROLL
            for (int v = 0; v < VC; v++)
              wv[v] = rsc_vload(wc + v * RSC_VL);
            RSC_UNROLL
            for (int r = 0; r < NP; r++) {
              const rsc_vf xv = rsc_vset1(x[r][c]);
              RSC_UNROLL
              for (int v = 0; v < VC; v++)
                acc[r][v] = rsc_vfma(xv, wv[v], acc[r][v]);
            }
          }
        }
      }
    /* Epilogue: activation and store; a block's padded lanes are dropped. */
    RSC_UNROLL
    for (int r = 0; r < NP; r++) {
      if (!xb[r])
        continue;
      RSC_UNROLL
      for (int v = 0; v < VC; v++) {
        const int j = (v0 + v) * RSC_VL;
        if (j >= kn)
          break;
        if (act == RSC_ACT_RELU)
          acc[r][v] = rsc_vrelu(acc[r][v]);
        if (j + RSC_VL <= kn && (act == RSC_ACT_RELU || act == RSC_ACT_NONE)) {
          rsc_vstore(o[r] + j, acc[r][v]);
        } else {
          float t[RSC_VL];
          rsc_vstore(t, acc[r][v]);
          /* A fixed trip count: gcc's range analysis of an unrolled
           * `l < kn - j` bound warns of a huge memcpy (-Wstringop-overread). */
          for (int l = 0; l < RSC_VL; l++)
            if (j + l < kn)
              o[r][j + l] = act == RSC_ACT_RELU ? t[l] : rsc_act(t[l], act);
        }
      }
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
 * The work is ceil(K/KB) blocks x ceil(N*OH*OW/NP) pixel tiles, block-major
 * (a block's weights stay in cache while its tiles run); part p of P gets the
 * p-th of P contiguous, near-equal ranges of those units. Any split gives the
 * same bytes: no output's sum is split.
 */
RSC_INLINE void rsc_conv2d_part(const float *restrict in, const float *restrict w,
                                const float *restrict bias, float *restrict out, int N, int H,
                                int W, int C, int OH, int OW, int K, int KH, int KW, int SH, int SW,
                                int PT, int PL, int KB, int NP, int act, int part, int parts) {
  if (NP < 1)
    NP = 1;
  if (NP > RSC_NP_MAX)
    NP = RSC_NP_MAX;
  const long P = (long)N * OH * OW, tiles = (P + NP - 1) / NP;
  const long nkb = (K + KB - 1) / KB, units = nkb * tiles;
  const long u0 = units * part / parts, u1 = units * (part + 1) / parts;
  for (long u = u0; u < u1; u++) {
    const long kb = u / tiles, p0 = (u % tiles) * NP;
    const float *xb[RSC_NP_MAX];
    float *o[RSC_NP_MAX];
    int ih0[RSC_NP_MAX], iw0[RSC_NP_MAX];
    for (int r = 0; r < NP; r++) {
      const long p = p0 + r;
      const long n = p / ((long)OH * OW), oh = p / OW % OH, ow = p % OW;
      xb[r] = p < P ? in + (size_t)n * (size_t)H * (size_t)W * (size_t)C : NULL;
      o[r] = p < P ? out + (size_t)p * (size_t)K + (size_t)kb * (size_t)KB : out;
      ih0[r] = (int)oh * SH - PT;
      iw0[r] = (int)ow * SW - PL;
    }
    const int kn = K - (int)kb * KB < KB ? K - (int)kb * KB : KB;
    rsc_conv_tile(xb, ih0, iw0, w + (size_t)kb * (size_t)KH * (size_t)KW * (size_t)C * (size_t)KB,
                  bias + (size_t)kb * (size_t)KB, o, H, W, C, KH, KW, KB, NP, kn, act);
  }
}

/* The whole conv on one thread, with a 4-pixel tile. */
RSC_INLINE void rsc_conv2d(const float *restrict in, const float *restrict w,
                           const float *restrict bias, float *restrict out, int N, int H, int W,
                           int C, int OH, int OW, int K, int KH, int KW, int SH, int SW, int PT,
                           int PL, int KB, int act) {
  rsc_conv2d_part(in, w, bias, out, N, H, W, C, OH, OW, K, KH, KW, SH, SW, PT, PL, KB, 4, act, 0,
                  1);
}

/* ---------------------------------------------------------------- pools */

/*
 * Max pooling; padding is ignored: each output is the max over its in-bounds
 * taps only (-INFINITY if a window had none, which no valid model produces).
 *   in [N][H][W][C], out [N][OH][OW][C]; output (oh,ow) reads rows
 *   oh*SH - PT + kh and columns ow*SW - PL + kw.
 */
RSC_INLINE void rsc_maxpool(const float *restrict in, float *restrict out, int N, int H, int W,
                            int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        float *restrict o =
            out + (((size_t)n * (size_t)OH + (size_t)oh) * (size_t)OW + (size_t)ow) * (size_t)C;
        for (int c = 0; c < C; c++)
          o[c] = -INFINITY;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh;
          if (ih < 0 || ih >= H)
            continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw;
            if (iw < 0 || iw >= W)
              continue;
            const float *restrict x =
                in + (((size_t)n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * (size_t)C;
            for (int c = 0; c < C; c++)
              o[c] = x[c] > o[c] ? x[c] : o[c];
          }
        }
      }
}

/*
 * Average pooling over in-bounds taps only: the divisor is the number of
 * taps inside the image (count_include_pad=False). This is what the ResNet-D
 * shortcut's 2x2/2 ceil-mode pool needs: its last partial window divides by
 * 2 or 1, not 4. Layouts and tap positions as rsc_maxpool.
 */
RSC_INLINE void rsc_avgpool(const float *restrict in, float *restrict out, int N, int H, int W,
                            int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        float *restrict o =
            out + (((size_t)n * (size_t)OH + (size_t)oh) * (size_t)OW + (size_t)ow) * (size_t)C;
        int cnt = 0;
        for (int c = 0; c < C; c++)
          o[c] = 0.0f;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh;
          if (ih < 0 || ih >= H)
            continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw;
            if (iw < 0 || iw >= W)
              continue;
            const float *restrict x =
                in + (((size_t)n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * (size_t)C;
            for (int c = 0; c < C; c++)
              o[c] += x[c];
            cnt++;
          }
        }
        if (cnt > 0) {
          const float d = (float)cnt;
          for (int c = 0; c < C; c++)
            o[c] = o[c] / d;
        }
      }
}

/* Mean over the HW pixels of each image: in [N][HW][C] -> out [N][C].
 * Summed in pixel order, then divided by HW. */
RSC_INLINE void rsc_global_avgpool(const float *restrict in, float *restrict out, int N, int HW,
                                   int C) {
  for (int n = 0; n < N; n++) {
    float *restrict o = out + (size_t)n * (size_t)C;
    const float *restrict x = in + (size_t)n * (size_t)HW * (size_t)C;
    for (int c = 0; c < C; c++)
      o[c] = 0.0f;
    for (int p = 0; p < HW; p++)
      for (int c = 0; c < C; c++)
        o[c] += x[(size_t)p * (size_t)C + (size_t)c];
    for (int c = 0; c < C; c++)
      o[c] = o[c] / (float)HW;
  }
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

/*
 * out = act(in * w + b).
 *   in [N][CIN], out [N][K], b [K]
 *   w  [CIN][K] (LAYOUT_DENSE_IO): element (o,i) of the [out][in] weight at i*K + o
 * Each output is b + sum over i in increasing order, vectorised over o.
 */
RSC_INLINE void rsc_dense(const float *restrict in, const float *restrict w,
                          const float *restrict b, float *restrict out, int N, int CIN, int K,
                          int act) {
  for (int n = 0; n < N; n++) {
    const float *restrict x = in + (size_t)n * (size_t)CIN;
    float *restrict o = out + (size_t)n * (size_t)K;
    for (int k = 0; k < K; k++)
      o[k] = b[k];
    for (int i = 0; i < CIN; i++) {
      const float a = x[i];
      const float *restrict wi = w + (size_t)i * (size_t)K;
      for (int k = 0; k < K; k++)
        o[k] = RSC_FMA(a, wi[k], o[k]);
    }
    for (int k = 0; k < K; k++)
      o[k] = rsc_act(o[k], act);
  }
}

/* ---------------------------------------------------------------- elementwise */

/* out[i] = act(a[i] + b[i]) for n elements (any layout, all three alike). */
RSC_INLINE void rsc_add_act(const float *restrict a, const float *restrict b, float *restrict out,
                            size_t n, int act) {
  for (size_t i = 0; i < n; i++)
    out[i] = rsc_act(a[i] + b[i], act);
}

/* Part `part` of `parts` of rsc_add_act: a contiguous, 16-float aligned range. */
RSC_INLINE void rsc_add_act_part(const float *restrict a, const float *restrict b,
                                 float *restrict out, size_t n, int act, int part, int parts) {
  const size_t v = (n + 15) / 16, i0 = v * (size_t)part / (size_t)parts * 16,
               i1 = v * ((size_t)part + 1) / (size_t)parts * 16;
  const size_t lo = i0 < n ? i0 : n, hi = i1 < n ? i1 : n;
  rsc_add_act(a + lo, b + lo, out + lo, hi - lo, act);
}

/*
 * The fused tail of a bottleneck: Squeeze-and-Excitation on x, then the
 * residual add and the block's activation. Per image:
 *   s[c]   = mean over the HW pixels of x[.][c]        (pixel order)
 *   m[j]   = relu(b1[j] + sum_c s[c] * w1[c*M + j])    (c order)
 *   g[c]   = sigmoid(b2[c] + sum_j m[j] * w2[j*C + c]) (j order)
 *   out[p][c] = act(x[p][c] * g[c] + sc[p][c])
 *   x, sc, out [N][HW][C]; w1 [C][M], b1 [M], w2 [M][C], b2 [C] (DENSE_IO
 *   layouts of fc1 [M,C,1,1] and fc2 [C,M,1,1]); scratch: C + M floats, s
 *   then g in [0, C), m in [C, C+M).
 */
RSC_INLINE void rsc_se_add(const float *restrict x, const float *restrict sc,
                           const float *restrict w1, const float *restrict b1,
                           const float *restrict w2, const float *restrict b2, float *restrict out,
                           float *restrict scratch, int N, int HW, int C, int M, int act) {
  float *restrict s = scratch;
  float *restrict m = scratch + C;
  for (int n = 0; n < N; n++) {
    const size_t base = (size_t)n * (size_t)HW * (size_t)C;
    rsc_global_avgpool(x + base, s, 1, HW, C);
    rsc_dense(s, w1, b1, m, 1, C, M, RSC_ACT_RELU);
    /* s is dead once m exists: the gate reuses its room. */
    rsc_dense(m, w2, b2, s, 1, M, C, RSC_ACT_SIGMOID);
    for (int p = 0; p < HW; p++) {
      const size_t at = base + (size_t)p * (size_t)C;
      for (int c = 0; c < C; c++)
        out[at + (size_t)c] = rsc_act(RSC_FMA(x[at + (size_t)c], s[c], sc[at + (size_t)c]), act);
    }
  }
}

/* Range [lo, hi) of `part` of `parts` when n items are split evenly. */
RSC_INLINE void rsc_range(size_t n, int part, int parts, size_t *lo, size_t *hi) {
  *lo = n * (size_t)part / (size_t)parts;
  *hi = n * ((size_t)part + 1) / (size_t)parts;
}

/* Outputs [k0, k1) of rsc_dense for one row: the same per-output order. */
RSC_INLINE void rsc_dense_cols(const float *restrict x, const float *restrict w,
                               const float *restrict b, float *restrict o, int CIN, int K,
                               size_t k0, size_t k1, int act) {
  for (size_t k = k0; k < k1; k++)
    o[k] = b[k];
  for (int i = 0; i < CIN; i++) {
    const float a = x[i];
    const float *restrict wi = w + (size_t)i * (size_t)K;
    for (size_t k = k0; k < k1; k++)
      o[k] = RSC_FMA(a, wi[k], o[k]);
  }
  for (size_t k = k0; k < k1; k++)
    o[k] = rsc_act(o[k], act);
}

/* rsc_dense split over output columns: part `part` of `parts`. */
RSC_INLINE void rsc_dense_part(const float *restrict in, const float *restrict w,
                               const float *restrict b, float *restrict out, int N, int CIN, int K,
                               int act, int part, int parts) {
  size_t k0, k1;
  rsc_range((size_t)K, part, parts, &k0, &k1);
  for (int n = 0; n < N; n++)
    rsc_dense_cols(in + (size_t)n * (size_t)CIN, w, b, out + (size_t)n * (size_t)K, CIN, K, k0,
                   k1, act);
}

/*
 * rsc_se_add on a team: each phase (pool over channels, reduce, gate, scale
 * and add over pixels) is split into `parts` ranges of independent outputs,
 * with sync(ctx) (a barrier of all parts) between phases that read another
 * part's results. Every value is computed exactly as rsc_se_add does, so the
 * output is the same for any number of parts.
 */
RSC_INLINE void rsc_se_add_part(const float *restrict x, const float *restrict sc,
                                const float *restrict w1, const float *restrict b1,
                                const float *restrict w2, const float *restrict b2,
                                float *restrict out, float *restrict scratch, int N, int HW, int C,
                                int M, int act, int part, int parts, void (*sync)(void *),
                                void *ctx) {
  float *restrict s = scratch;
  float *restrict m = scratch + C;
  size_t c0, c1, j0, j1, p0, p1;
  rsc_range((size_t)C, part, parts, &c0, &c1);
  rsc_range((size_t)M, part, parts, &j0, &j1);
  rsc_range((size_t)HW, part, parts, &p0, &p1);
  for (int n = 0; n < N; n++) {
    const size_t base = (size_t)n * (size_t)HW * (size_t)C;
    if (n > 0 && parts > 1)
      sync(ctx); /* the previous image's gate is still being read */
    for (size_t c = c0; c < c1; c++)
      s[c] = 0.0f;
    for (int p = 0; p < HW; p++)
      for (size_t c = c0; c < c1; c++)
        s[c] += x[base + (size_t)p * (size_t)C + c];
    for (size_t c = c0; c < c1; c++)
      s[c] = s[c] / (float)HW;
    if (parts > 1)
      sync(ctx);
    rsc_dense_cols(s, w1, b1, m, C, M, j0, j1, RSC_ACT_RELU);
    if (parts > 1)
      sync(ctx);
    /* s is dead once m exists: the gate reuses its room. */
    rsc_dense_cols(m, w2, b2, s, M, C, c0, c1, RSC_ACT_SIGMOID);
    if (parts > 1)
      sync(ctx);
    for (size_t p = p0; p < p1; p++) {
      const size_t at = base + p * (size_t)C;
      for (int c = 0; c < C; c++)
        out[at + (size_t)c] = rsc_act(RSC_FMA(x[at + (size_t)c], s[c], sc[at + (size_t)c]), act);
    }
  }
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
