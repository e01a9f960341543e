/*
 * rsc_conv_bf16.h - the direct convolution in bf16 (rsc --precision bf16):
 * weights and the conv's input rounded to bfloat16, products summed in
 * float32 by AVX512-BF16's vdpbf16ps, the epilogue (bias, activation, the SE
 * pool's partial sums) in float32 as in rsc_conv.h. Activations between
 * layers stay float32 (docs/precision.md says why); each tile rounds its
 * input to bf16 as it reads it. Scalar twin: rsc_conv_bf16_ref.h. Needs
 * rsc_vec.h and rsc_conv.h (rsc_zero, rsc_tile, rsc_chunk_floor,
 * rsc_tile_pool), <stdint.h> and <string.h>.
 *
 * Weights: LAYOUT_CONV_BF16 (compiler/pack.c), in 32-bit words, each the
 * bf16 pair of input channels (2p, 2p+1) of one output channel, channel 2p
 * in the low half:
 *   [ceil(K/KB)][KH][KW][ceil(C/2)][KB] words; word (o, p, kh, kw) at
 *   (((o/KB)*KH + kh)*KW + kw)*ceil(C/2)*KB + p*KB + o%KB
 * so a step (one tap, one pair of channels) loads KB/16 vectors of 16 words,
 * the pairs vdpbf16ps multiplies with a broadcast input pair. An odd C's
 * last pair has a zero weight (and reads a zero input) in its high half.
 *
 * Rounding (vcvtne2ps2bf16, and rsc_bf16 below): to nearest, ties to even;
 * float32 denormals become a zero of their sign; NaN stays a quiet NaN.
 * vdpbf16ps (rsc_bf16_dp): per lane, acc += hi(w)*hi(x), then acc +=
 * lo(w)*lo(x), each a float32 multiply-add rounded to nearest even, with
 * denormal inputs read as zero and denormal results flushed to zero.
 * Each output is bias + the pairs over (kh, kw, p) in that order, whatever
 * the tile or the thread split, so the twin gives the same bits.
 *
 * The vector code is compiled for AVX512-BF16 by a target attribute
 * (RSC_BF16_FN, on the generated wrapper too), so it builds with any -m
 * flags of gcc and clang on x86-64; the generated P_open checks the CPU
 * has it. Elsewhere (and for a KB that is no multiple of 16) the kernel
 * runs the same sums one output at a time.
 */
#ifndef RSC_CONV_BF16_H
#define RSC_CONV_BF16_H

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define RSC_BF16_X86 1
#define RSC_BF16_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define RSC_BF16_X86 0
#define RSC_BF16_FN
#endif

/* float32 -> bf16 bits, as vcvtne2ps2bf16 rounds. */
RSC_INLINE uint16_t rsc_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0) /* zero or denormal: a zero of its sign */
    return (uint16_t)(u >> 16 & 0x8000u);
  if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: quiet */
    return (uint16_t)(u >> 16 | 0x40u);
  return (uint16_t)((u + 0x7fffu + (u >> 16 & 1u)) >> 16);
}

/* The float32 of bf16 bits h (exact). */
RSC_INLINE float rsc_bf16_float(uint32_t h) {
  const uint32_t u = (h & 0xffffu) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Denormals to a zero of their sign (vdpbf16ps' DAZ and FTZ). */
RSC_INLINE float rsc_bf16_daz(float x) {
  return fabsf(x) < 1.17549435e-38f ? copysignf(0.0f, x) : x;
}

/* One lane of vdpbf16ps: acc + hi(w)*hi(x) + lo(w)*lo(x), in that order. */
RSC_INLINE float rsc_bf16_dp(float acc, uint32_t w, uint32_t x) {
  acc = rsc_bf16_daz(fmaf(rsc_bf16_float(w >> 16), rsc_bf16_float(x >> 16), rsc_bf16_daz(acc)));
  return rsc_bf16_daz(fmaf(rsc_bf16_float(w), rsc_bf16_float(x), acc));
}

/* The word at p (a packed weight), read as bits. */
RSC_INLINE uint32_t rsc_bf16_word(const float *p) {
  uint32_t u;
  memcpy(&u, p, sizeof u);
  return u;
}

/* Input channels (c, c+1) of pixel x as a bf16 pair; past C: zero. */
RSC_INLINE uint32_t rsc_bf16_xpair(const float *x, int c, int C) {
  return (uint32_t)rsc_bf16(x[c]) | (c + 1 < C ? (uint32_t)rsc_bf16(x[c + 1]) << 16 : 0u);
}

/* A tile one output at a time: KB no multiple of 16, or no AVX512-BF16
 * code. A tap outside the image reads zeros, as the vector tile does. */
RSC_INLINE void rsc_bf16_tile_scalar(const rsc_tile *tl, const float *restrict wb,
                                     const float *restrict bb, int H, int W, int C, int KH,
                                     int KW, int KB, int NP, int kn, int act) {
  const int C2 = (C + 1) / 2;
  for (int r = 0; r < NP; r++) {
    if (!tl->xb[r])
      continue;
    for (int j = 0; j < kn; j++) {
      float acc = bb[j];
      for (int kh = 0; kh < KH; kh++)
        for (int kw = 0; kw < KW; kw++) {
          const int ih = tl->ih0[r] + kh, iw = tl->iw0[r] + kw;
          const int in = ih >= 0 && ih < H && iw >= 0 && iw < W;
          const float *x = in ? tl->xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C
                              : NULL;
          const float *wk = wb + ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C2 * (size_t)KB;
          for (int p = 0; p < C2; p++)
            acc = rsc_bf16_dp(acc, rsc_bf16_word(wk + (size_t)p * (size_t)KB + (size_t)j),
                              x ? rsc_bf16_xpair(x, 2 * p, C) : 0u);
        }
      tl->o[r][j] = rsc_act(acc, act);
    }
  }
  if (tl->tp.slot)
    rsc_tile_pool(tl->o, tl->xb, NP, 0, kn, tl->tp);
}

#if RSC_BF16_X86
/*
 * One chunk of up to 32 input channels of a tap: each pixel's channels are
 * rounded to 16 bf16 pairs (one vcvtne2ps2bf16) into xs, then pn steps,
 * each VC weight-vector loads, NP broadcasts of a pair and NP*VC
 * vdpbf16ps. x[r] NULL: a tap outside the image, zeros. pf: prefetch the
 * weight stream ahead (rsc_tile_steps says when).
 */
RSC_INLINE RSC_BF16_FN void rsc_bf16_chunk(__m512 acc[RSC_NP_MAX][RSC_V_MAX],
                                           const float *const x[RSC_NP_MAX],
                                           const float *restrict wc, int cn, int KB, int NP,
                                           int VC, int pf) {
  uint32_t xs[RSC_NP_MAX][16] __attribute__((aligned(64)));
  const __mmask16 mlo = (__mmask16)(cn >= 16 ? 0xffffu : (1u << cn) - 1u);
  const __mmask16 mhi = (__mmask16)(cn >= 32 ? 0xffffu : cn <= 16 ? 0u : (1u << (cn - 16)) - 1u);
  RSC_UNROLL
  for (int r = 0; r < NP; r++) {
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    if (x[r]) {
      if (cn == 32) {
        lo = _mm512_loadu_ps(x[r]);
        hi = _mm512_loadu_ps(x[r] + 16);
      } else {
        lo = _mm512_maskz_loadu_ps(mlo, x[r]);
        hi = _mm512_maskz_loadu_ps(mhi, x[r] + 16);
      }
    }
    _mm512_store_si512((void *)xs[r], (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
  const int pn = (cn + 1) / 2;
  for (int p = 0; p < pn; p++, wc += KB) {
    __m512bh wv[RSC_V_MAX];
    RSC_UNROLL
    for (int q = 0; q < VC; q++)
      wv[q] = (__m512bh)_mm512_loadu_si512((const void *)(wc + q * 16));
    if (pf) {
      RSC_UNROLL
      for (int l = 0; l < VC * 16; l += 16)
        RSC_PREFETCH(wc + RSC_PF_DIST + l);
    }
    RSC_UNROLL
    for (int r = 0; r < NP; r++) {
      const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xs[r][p]);
      RSC_UNROLL
      for (int q = 0; q < VC; q++)
        acc[r][q] = _mm512_dpbf16_ps(acc[r][q], wv[q], xv);
    }
  }
}

/*
 * One register tile (rsc_tile, as rsc_conv_tiles') of a block of KB output
 * channels, KB a multiple of 16: for each group of VC vectors the NP x VC
 * accumulators start at the bias, run over every tap and chunk of 32
 * channels, then the epilogue stores the kn real channels (ReLU on the
 * vectors, other activations per lane) and adds the SE pool's share from
 * the stores.
 */
RSC_INLINE RSC_BF16_FN void rsc_bf16_tile(const rsc_tile *tl, const float *restrict wb,
                                          const float *restrict bb, int H, int W, int C, int KH,
                                          int KW, int KB, int NP, int kn, int act, int pf) {
  const int V = KB / 16, VC = rsc_conv_vc(V), C2 = (C + 1) / 2;
  for (int v0 = 0; v0 < V; v0 += VC) {
    __m512 acc[RSC_NP_MAX][RSC_V_MAX];
    RSC_UNROLL
    for (int r = 0; r < NP; r++)
      RSC_UNROLL
      for (int v = 0; v < VC; v++)
        acc[r][v] = _mm512_loadu_ps(bb + (v0 + v) * 16);
    for (int kh = 0; kh < KH; kh++)
      for (int kw = 0; kw < KW; kw++) {
        const float *restrict wk =
            wb + ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C2 * (size_t)KB +
            (size_t)v0 * 16;
        const float *px[RSC_NP_MAX];
        for (int r = 0; r < NP; r++) {
          const int ih = tl->ih0[r] + kh, iw = tl->iw0[r] + kw;
          px[r] = tl->xb[r] && ih >= 0 && ih < H && iw >= 0 && iw < W
                      ? tl->xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C
                      : NULL;
        }
        for (int c0 = 0; c0 < C; c0 += 32) {
          const float *x[RSC_NP_MAX];
          for (int r = 0; r < NP; r++)
            x[r] = px[r] ? px[r] + c0 : NULL;
          const float *restrict wc = wk + (size_t)(c0 / 2) * (size_t)KB;
          if (C - c0 >= 32) /* the common case: constant trip counts */
            rsc_bf16_chunk(acc, x, wc, 32, KB, NP, VC, pf);
          else
            rsc_bf16_chunk(acc, x, wc, C - c0, KB, NP, VC, pf);
        }
      }
    RSC_UNROLL
    for (int r = 0; r < NP; r++) {
      if (!tl->xb[r])
        continue;
      RSC_UNROLL
      for (int v = 0; v < VC; v++) {
        const int j = (v0 + v) * 16;
        if (j >= kn)
          break;
        __m512 a = acc[r][v];
        if (act == RSC_ACT_RELU)
          a = _mm512_max_ps(a, _mm512_setzero_ps());
        if (j + 16 <= kn && (act == RSC_ACT_RELU || act == RSC_ACT_NONE)) {
          _mm512_storeu_ps(tl->o[r] + j, a);
        } else {
          float t[16];
          _mm512_storeu_ps(t, a);
          for (int l = 0; l < 16; l++)
            if (j + l < kn)
              tl->o[r][j + l] = act == RSC_ACT_RELU ? t[l] : rsc_act(t[l], act);
        }
      }
    }
    if (tl->tp.slot && v0 * 16 < kn)
      rsc_tile_pool(tl->o, tl->xb, NP, v0 * 16, (v0 + VC) * 16 < kn ? (v0 + VC) * 16 : kn,
                    tl->tp);
  }
}
#endif /* RSC_BF16_X86 */

/*
 * This thread's part of a bf16 conv: in [N][H][W][C] float32, w the
 * LAYOUT_CONV_BF16 words, bias [ceil(K/KB)*KB] float32, out [N][OH][OW][K]
 * float32, pool as rsc_conv2d_part's. The work is cut as rsc_conv2d_part
 * cuts it (units of a block and a tile of NP pixels, KG blocks per group,
 * ranges moved to chunk starts when pooling), without its groups of tiles
 * and next-block prefetch: a block of bf16 weights is half the bytes.
 */
RSC_INLINE RSC_BF16_FN void rsc_conv2d_bf16_part(const float *restrict in, const float *restrict w,
                                                 const float *restrict bias, float *restrict out,
                                                 float *restrict pool, int PC, int N, int H, int W,
                                                 int C, int OH, int OW, int K, int KH, int KW,
                                                 int SH, int SW, int PT, int PL, int KB, int NP,
                                                 int KG, int act, int part, int parts) {
  if (NP < 1)
    NP = 1;
  if (NP > RSC_NP_MAX)
    NP = RSC_NP_MAX;
  if (PC < 1)
    PC = 1;
  const long P = (long)N * OH * OW, tiles = (P + NP - 1) / NP;
  const long nkb = (K + KB - 1) / KB, units = nkb * tiles;
  const long kg = KG < 1 ? 1 : KG > nkb ? nkb : KG;
  long u0 = units * part / parts, u1 = units * (part + 1) / parts;
  const long hw = (long)OH * OW, nch = (hw + PC - 1) / PC;
  if (pool) {
    u0 = rsc_chunk_floor(u0, units, tiles, nkb, kg, NP, hw, PC);
    u1 = rsc_chunk_floor(u1, units, tiles, nkb, kg, NP, hw, PC);
  }
  const size_t bsz = (size_t)KH * (size_t)KW * (size_t)((C + 1) / 2) * (size_t)KB; /* words */
  for (long u = u0; u < u1; u++) {
    const long g = u / (kg * tiles), gu = u % (kg * tiles);
    const long gn = nkb - g * kg < kg ? nkb - g * kg : kg;
    const long kb = g * kg + gu % gn, ti = gu / gn;
    rsc_tile tl;
    const long p0 = ti * NP;
    for (int r = 0; r < NP; r++) {
      const long p = p0 + r;
      const long n = p / hw, oh = p / OW % OH, ow = p % OW;
      tl.xb[r] = p < P ? in + (size_t)n * (size_t)H * (size_t)W * (size_t)C : NULL;
      tl.o[r] = p < P ? out + (size_t)p * (size_t)K + (size_t)kb * (size_t)KB : out;
      tl.ih0[r] = (int)oh * SH - PT;
      tl.iw0[r] = (int)ow * SW - PL;
    }
    tl.tp = (rsc_tpool){NULL, K, 0, 0u};
    if (pool) {
      const long n = p0 / hw, q = p0 - n * hw;
      tl.tp.slot = pool + (size_t)(n * nch + q / PC) * (size_t)K + (size_t)kb * (size_t)KB;
      tl.tp.add = q % PC != 0;
      for (int r = 1; r < NP; r++)
        if ((q + r) % hw % PC == 0)
          tl.tp.runs |= 1u << r;
    }
    const int kn = K - (int)kb * KB < KB ? K - (int)kb * KB : KB;
    const float *restrict wb = w + (size_t)kb * bsz;
    const float *restrict bb = bias + (size_t)kb * (size_t)KB;
#if RSC_BF16_X86
    if (KB % 16 == 0) {
      /* A thread's first tile of each block streams the block in. */
      const int pf = u - u0 < gn || ti == 0;
      rsc_bf16_tile(&tl, wb, bb, H, W, C, KH, KW, KB, NP, kn, act, pf);
      continue;
    }
#endif
    rsc_bf16_tile_scalar(&tl, wb, bb, H, W, C, KH, KW, KB, NP, kn, act);
  }
}

#endif /* RSC_CONV_BF16_H */
