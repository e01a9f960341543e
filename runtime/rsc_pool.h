/*
 * rsc_pool.h - max and average pooling, the global pools and the pixel
 * means that SE's squeeze shares. Scalar twin: rsc_pool_ref.h. Needs
 * rsc_vec.h.
 */
#ifndef RSC_POOL_H
#define RSC_POOL_H

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
#endif /* RSC_POOL_H */
