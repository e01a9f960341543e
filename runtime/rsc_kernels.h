/*
 * rsc_kernels.h - the runtime kernels of generated models.
 *
 * rsc pastes this file verbatim into every generated model .c file, after
 * <math.h>, <stddef.h> and <string.h>, then emits one small wrapper per layer
 * shape that calls a kernel with nothing but constants besides the pointers:
 *   static void k_conv3x3s2...(in, w, b, out)
 *   { rsc_conv2d(in, w, b, out, 1,160,160,3, 80,80,32, 3,3, 2,2, 1,1, 32, RSC_ACT_RELU); }
 * Every kernel is static and forced inline, so each wrapper is a copy of the
 * kernel specialised to its shape: loop bounds become constants, the
 * activation switch folds away, and the fixed-size inner tiles over output
 * channels vectorise at -O2 without any intrinsics.
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

/* Output channels per accumulator row of rsc_conv2d's tile: two SIMD
 * registers of the target, so that its 4-pixel tile keeps 8 independent
 * accumulators in registers: enough to hide the FMA latency, few enough not
 * to spill (four registers per row halved the speed on AVX2). */
#ifndef RSC_LANES
#if defined(__AVX512F__)
#define RSC_LANES 32
#elif defined(__AVX__)
#define RSC_LANES 16
#else
#define RSC_LANES 8
#endif
#endif

/* clang fully unrolls the short lane loops first and would then vectorise
 * the channel loop across pixels with gathers; keep it on the lanes. */
#if defined(__clang__)
#define RSC_NO_VECTORIZE _Pragma("clang loop vectorize(disable)")
#else
#define RSC_NO_VECTORIZE
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

/* ---------------------------------------------------------------- conv2d */

/* Lanes per accumulator row for a block of KB channels: at most RSC_LANES
 * and a divisor of KB, so that no row straddles two blocks. Folds to a
 * constant for the compiler's KBs (powers of two). */
RSC_INLINE int rsc_conv_lanes(int KB) {
  if (KB <= RSC_LANES)
    return KB;
  if (KB % RSC_LANES == 0)
    return RSC_LANES;
  for (int l = RSC_LANES - 1; l > 1; l--)
    if (KB % l == 0)
      return l;
  return 1;
}

/*
 * One conv tile: np output pixels (1 or 4) of one output-channel block, the
 * pixels np consecutive output columns of one row.
 *   img  this image [H][W][C]; the first pixel's window starts at row ih0,
 *        column iw0 (either may be negative), pixel r's r*SW columns later
 *   wb   this block's weights [KH][KW][C][KB]
 *   bb   this block's bias [KB]
 *   o    output of the first pixel; pixel r at o + r*K; channels [0, kn)
 *        are stored, the rest of the block is padding
 * With np == 4 every tap of every pixel must be inside the image
 * horizontally; with np == 1 taps outside [0,H) x [0,W) are skipped (read as
 * zero). Rows outside [0,H) are skipped either way.
 * The block is done RSC_LANES channels at a time: np rows of accumulators
 * a0..a3, each updated by one broadcast input value times the same weight
 * vector wc[0..L).
 */
RSC_INLINE void rsc_conv_tile(const float *restrict img, const float *restrict wb,
                              const float *restrict bb, float *restrict o, int H, int W, int C,
                              int K, int KH, int KW, int SW, int KB, int ih0, int iw0, int np,
                              int kn, int act) {
  const int L = rsc_conv_lanes(KB);
  const size_t ps = (size_t)SW * (size_t)C; /* from one pixel's input to the next */
  for (int j0 = 0; j0 < kn; j0 += L) {
    float a0[RSC_LANES], a1[RSC_LANES], a2[RSC_LANES], a3[RSC_LANES];
    for (int j = 0; j < L; j++)
      a0[j] = a1[j] = a2[j] = a3[j] = bb[j0 + j];
    for (int kh = 0; kh < KH; kh++) {
      if (ih0 + kh < 0 || ih0 + kh >= H)
        continue;
      for (int kw = 0; kw < KW; kw++) {
        if (np == 1 && (iw0 + kw < 0 || iw0 + kw >= W))
          continue;
        const float *restrict x =
            img + ((size_t)(ih0 + kh) * (size_t)W + (size_t)(iw0 + kw)) * (size_t)C;
        const float *restrict wk =
            wb + ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C * (size_t)KB + (size_t)j0;
        RSC_NO_VECTORIZE
        for (int c = 0; c < C; c++) {
          const float *restrict wc = wk + (size_t)c * (size_t)KB;
          const float x0 = x[c];
          for (int j = 0; j < L; j++)
            a0[j] = RSC_FMA(x0, wc[j], a0[j]);
          if (np == 4) {
            const float x1 = x[ps + (size_t)c], x2 = x[2 * ps + (size_t)c],
                        x3 = x[3 * ps + (size_t)c];
            for (int j = 0; j < L; j++)
              a1[j] = RSC_FMA(x1, wc[j], a1[j]);
            for (int j = 0; j < L; j++)
              a2[j] = RSC_FMA(x2, wc[j], a2[j]);
            for (int j = 0; j < L; j++)
              a3[j] = RSC_FMA(x3, wc[j], a3[j]);
          }
        }
      }
    }
    /* Only the last block of a K that is no multiple of KB stores fewer lanes. */
    const int ln = kn - j0 < L ? kn - j0 : L;
    for (int r = 0; r < np; r++) {
      const float *a = r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : a3;
      float *restrict op = o + (size_t)r * (size_t)K + (size_t)j0;
      if (ln == L) {
        for (int j = 0; j < L; j++)
          op[j] = rsc_act(a[j], act);
      } else {
        for (int j = 0; j < ln; j++)
          op[j] = rsc_act(a[j], act);
      }
    }
  }
}

/*
 * out = act(conv(in, w) + bias), zero padding.
 *   in   [N][H][W][C]                 pixel (n,h,w) at ((n*H + h)*W + w)*C
 *   out  [N][OH][OW][K]               pixel (n,h,w) at ((n*OH + h)*OW + w)*K
 *   w    [ceil(K/KB)][KH][KW][C][KB]  OIHW element (o,i,kh,kw) at
 *        (((o/KB)*KH + kh)*KW + kw)*C*KB + i*KB + o%KB; K zero-padded to a
 *        multiple of KB (LAYOUT_CONV_BLOCK)
 *   bias [ceil(K/KB)*KB]              zero-padded
 * Output (oh,ow) reads input rows oh*SH - PT + kh and columns ow*SW - PL + kw;
 * taps outside the image read zero (bottom/right padding is implied by OH, OW).
 * KB is any positive constant; the compiler uses 8, 16, 32 or 64, and tiles
 * vectorise best when KB is a multiple of RSC_LANES or smaller than it.
 *
 * Columns whose whole window is inside the image are computed 4 at a time,
 * sharing every weight-vector load; border and leftover columns one at a time
 * with bounds checks. Each output is bias + sum over (kh, kw, c) in that order,
 * whatever the tile, so results depend on the shapes only.
 */
RSC_INLINE void rsc_conv2d(const float *restrict in, const float *restrict w,
                           const float *restrict bias, float *restrict out, int N, int H, int W,
                           int C, int OH, int OW, int K, int KH, int KW, int SH, int SW, int PT,
                           int PL, int KB, int act) {
  /* A 1x1, stride-1, unpadded conv is a matrix product over all N*H*W pixels:
   * view them as one image row so that 4-pixel tiles run across rows. */
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    W = N * H * W;
    OW = W;
    N = H = OH = 1;
  }
  const int nkb = (K + KB - 1) / KB;
  /* Interior columns [ow_lo, ow_hi): ow*SW - PL >= 0 and ow*SW - PL + KW <= W. */
  int ow_lo = (PL + SW - 1) / SW;
  int ow_hi = W - KW + PL >= 0 ? (W - KW + PL) / SW + 1 : 0;
  if (ow_lo > OW)
    ow_lo = OW;
  if (ow_hi > OW)
    ow_hi = OW;
  if (ow_hi < ow_lo)
    ow_hi = ow_lo;
  for (int n = 0; n < N; n++) {
    const float *restrict img = in + (size_t)n * (size_t)H * (size_t)W * (size_t)C;
    for (int kb = 0; kb < nkb; kb++) {
      /* Block-major: this block's weights stay in cache over the image. */
      const float *restrict wb = w + (size_t)kb * (size_t)KH * (size_t)KW * (size_t)C * (size_t)KB;
      const float *restrict bb = bias + (size_t)kb * (size_t)KB;
      const int kn = K - kb * KB < KB ? K - kb * KB : KB;
      for (int oh = 0; oh < OH; oh++) {
        const int ih0 = oh * SH - PT;
        float *restrict orow = out +
                               ((size_t)n * (size_t)OH + (size_t)oh) * (size_t)OW * (size_t)K +
                               (size_t)kb * (size_t)KB;
        int ow = 0;
        while (ow < OW) {
          float *restrict o = orow + (size_t)ow * (size_t)K;
          if (ow >= ow_lo && ow + 4 <= ow_hi) {
            rsc_conv_tile(img, wb, bb, o, H, W, C, K, KH, KW, SW, KB, ih0, ow * SW - PL, 4, kn,
                          act);
            ow += 4;
          } else {
            rsc_conv_tile(img, wb, bb, o, H, W, C, K, KH, KW, SW, KB, ih0, ow * SW - PL, 1, kn,
                          act);
            ow += 1;
          }
        }
      }
    }
  }
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
