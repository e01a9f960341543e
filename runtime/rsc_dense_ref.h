/*
 * rsc_dense_ref.h - the scalar twin of rsc_dense.h: the dense layer, the
 * elementwise add, SE with the residual add, the softmax.
 */
#ifndef RSC_DENSE_REF_H
#define RSC_DENSE_REF_H

#include "rsc_vec_ref.h"

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

#endif /* RSC_DENSE_REF_H */
