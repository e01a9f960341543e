/*
 * rsc_pool_ref.h - the scalar twin of rsc_pool.h: windowed max and average
 * pools over in-bounds taps, and the global pools.
 */
#ifndef RSC_POOL_REF_H
#define RSC_POOL_REF_H

static inline void rsc_maxpool_ref(const float *in, float *out, int N, int H, int W, int C, int OH,
                                   int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++)
        for (int c = 0; c < C; c++) {
          float m = -INFINITY;
          for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
              int ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                continue;
              float v = in[(((size_t)n * H + ih) * W + iw) * C + c];
              if (v > m)
                m = v;
            }
          out[(((size_t)n * OH + oh) * OW + ow) * C + c] = m;
        }
}

static inline void rsc_avgpool_ref(const float *in, float *out, int N, int H, int W, int C, int OH,
                                   int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++)
        for (int c = 0; c < C; c++) {
          float sum = 0.0f;
          int cnt = 0;
          for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
              int ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                continue;
              sum += in[(((size_t)n * H + ih) * W + iw) * C + c];
              cnt++;
            }
          out[(((size_t)n * OH + oh) * OW + ow) * C + c] = cnt ? sum / (float)cnt : 0.0f;
        }
}

static inline void rsc_global_avgpool_ref(const float *in, float *out, int N, int HW, int C) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float sum = 0.0f;
      for (int p = 0; p < HW; p++)
        sum += in[((size_t)n * HW + p) * C + c];
      out[(size_t)n * C + c] = sum / (float)HW;
    }
}

static inline void rsc_global_maxpool_ref(const float *in, float *out, int N, int HW, int C) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float m = -INFINITY;
      for (int p = 0; p < HW; p++)
        if (in[((size_t)n * HW + p) * C + c] > m)
          m = in[((size_t)n * HW + p) * C + c];
      out[(size_t)n * C + c] = m;
    }
}

#endif /* RSC_POOL_REF_H */
