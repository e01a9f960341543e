/*
 * rsc_kernels_ref.h - plain scalar twins of the kernels in rsc_kernels.h.
 *
 * The test oracle: each function has the signature of its kernel plus the
 * suffix _ref, reads the SAME packed layouts, and is written as the most
 * obvious nested loops with one output element at a time, so that a reader
 * can check it against the layout comments in rsc_kernels.h by eye. Speed is
 * no concern here. Reduction orders match the kernels' (bias first, then taps
 * in (kh, kw, c) order), so the two differ only by fused multiply-adds.
 * May be included with or without rsc_kernels.h; all static inline, so a
 * program may use any subset without unused-function warnings.
 */
#ifndef RSC_KERNELS_REF_H
#define RSC_KERNELS_REF_H

/* Same values as rsc_kernels.h (an identical redefinition is allowed). */
#define RSC_ACT_NONE 0
#define RSC_ACT_RELU 1
#define RSC_ACT_SWISH 2
#define RSC_ACT_SIGMOID 3

static inline float rsc_act_ref(float x, int act) {
  float sig = 1.0f / (1.0f + expf(-x));
  switch (act) {
  case RSC_ACT_NONE:
    return x;
  case RSC_ACT_RELU:
    return x > 0.0f ? x : 0.0f;
  case RSC_ACT_SWISH:
    return x * sig;
  case RSC_ACT_SIGMOID:
    return sig;
  default:
    return x;
  }
}

/* Packed LAYOUT_CONV_BLOCK offset of OIHW element (o, i, kh, kw). */
static inline size_t rsc_conv_w_at_ref(int o, int i, int kh, int kw, int C, int KH, int KW,
                                       int KB) {
  return ((((size_t)(o / KB) * (size_t)KH + (size_t)kh) * (size_t)KW + (size_t)kw) * (size_t)C +
          (size_t)i) *
             (size_t)KB +
         (size_t)(o % KB);
}

static inline void rsc_conv2d_ref(const float *in, const float *w, const float *bias, float *out,
                                  int N, int H, int W, int C, int OH, int OW, int K, int KH, int KW,
                                  int SH, int SW, int PT, int PL, int KB, int act) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++)
        for (int o = 0; o < K; o++) {
          float acc = bias[o];
          for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
              for (int i = 0; i < C; i++) {
                int ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue;
                acc += in[(((size_t)n * H + ih) * W + iw) * C + i] *
                       w[rsc_conv_w_at_ref(o, i, kh, kw, C, KH, KW, KB)];
              }
          out[(((size_t)n * OH + oh) * OW + ow) * K + o] = rsc_act_ref(acc, act);
        }
}

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

/* Element (o, i) of a [out][in] weight in LAYOUT_DENSE_BLOCK (rsc_dense). */
static inline float rsc_dense_w_ref(const float *w, int CIN, int KB, int o, int i) {
  return w[((size_t)(o / KB) * CIN + i) * KB + o % KB];
}

static inline void rsc_dense_ref(const float *in, const float *w, const float *b, float *out, int N,
                                 int CIN, int K, int KB, int act) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < K; o++) {
      float acc = b[o];
      for (int i = 0; i < CIN; i++)
        acc += in[(size_t)n * CIN + i] * rsc_dense_w_ref(w, CIN, KB, o, i);
      out[(size_t)n * K + o] = rsc_act_ref(acc, act);
    }
}

static inline void rsc_add_act_ref(const float *a, const float *b, float *out, size_t n, int act) {
  for (size_t i = 0; i < n; i++)
    out[i] = rsc_act_ref(a[i] + b[i], act);
}

static inline void rsc_se_add_ref(const float *x, const float *sc, const float *w1, const float *b1,
                                  const float *w2, const float *b2, float *out, float *scratch,
                                  int N, int HW, int C, int M, int KB, int act) {
  float *s = scratch, *m = scratch + C;
  for (int n = 0; n < N; n++) {
    const float *xn = x + (size_t)n * HW * C;
    for (int c = 0; c < C; c++) {
      float sum = 0.0f;
      for (int p = 0; p < HW; p++)
        sum += xn[(size_t)p * C + c];
      s[c] = sum / (float)HW;
    }
    for (int j = 0; j < M; j++) {
      float acc = b1[j];
      for (int c = 0; c < C; c++)
        acc += s[c] * rsc_dense_w_ref(w1, C, KB, j, c);
      m[j] = rsc_act_ref(acc, RSC_ACT_RELU);
    }
    for (int c = 0; c < C; c++) {
      float acc = b2[c];
      for (int j = 0; j < M; j++)
        acc += m[j] * rsc_dense_w_ref(w2, M, KB, c, j);
      s[c] = rsc_act_ref(acc, RSC_ACT_SIGMOID); /* the gate */
    }
    for (int p = 0; p < HW; p++)
      for (int c = 0; c < C; c++) {
        size_t at = ((size_t)n * HW + p) * C + c;
        out[at] = rsc_act_ref(x[at] * s[c] + sc[at], act);
      }
  }
}

static inline void rsc_softmax_ref(float *x, int N, int K) {
  for (int n = 0; n < N; n++) {
    float *row = x + (size_t)n * K;
    float mx = row[0], sum = 0.0f;
    for (int k = 1; k < K; k++)
      if (row[k] > mx)
        mx = row[k];
    for (int k = 0; k < K; k++) {
      row[k] = expf(row[k] - mx);
      sum += row[k];
    }
    for (int k = 0; k < K; k++)
      row[k] /= sum;
  }
}

#endif /* RSC_KERNELS_REF_H */
