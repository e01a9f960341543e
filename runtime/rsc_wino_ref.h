/*
 * rsc_wino_ref.h - the scalar twin of rsc_wino.h: a 3x3, stride 1, padding 1
 * conv by Winograd F(2x2, 3x3) as plain loops, one 2x2 output tile and one
 * output channel at a time, reading the same LAYOUT_WINO_BLOCK weights:
 *   w [ceil(K/KB)][16][C][KB]: element xi of U = G g G^T for filter (o, i)
 *     at ((o/KB)*16 + xi)*C*KB + i*KB + o%KB
 * The transforms are written as the matrices B^T and A^T of rsc_wino.h,
 * summing each row's nonzero terms in column order, and each element's
 * product sums over the input channels in order from zero with RSC_REF_FMA:
 * the kernel's order, so the twin gives the kernel's bits.
 */
#ifndef RSC_WINO_REF_H
#define RSC_WINO_REF_H

#include <stdlib.h>

#include "rsc_vec_ref.h"

/* sum over k of coef[k] * x[k], nonzero terms only, in k order. */
static inline float rsc_wino_row_ref(const signed char coef[4], const float x[4]) {
  float acc = 0.0f;
  int first = 1;
  for (int k = 0; k < 4; k++) {
    if (!coef[k])
      continue;
    const float term = coef[k] > 0 ? x[k] : -x[k];
    acc = first ? term : acc + term;
    first = 0;
  }
  return acc;
}

static inline void rsc_wino_ref(const float *in, const float *w, const float *bias, float *out,
                                int N, int H, int W, int C, int K, int KB, int act) {
  static const signed char rsc_wino_bt_ref[4][4] = {
      {1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static const signed char rsc_wino_at_ref[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  const int TH = (H + 1) / 2, TW = (W + 1) / 2;
  float *v = malloc((size_t)C * 16 * sizeof *v); /* one tile's B^T d B, [C][16] */
  if (!v)
    abort();
  for (int n = 0; n < N; n++)
    for (int th = 0; th < TH; th++)
      for (int tw = 0; tw < TW; tw++) {
        for (int c = 0; c < C; c++) {
          float d[4][4], r[4][4];
          for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
              const int ih = 2 * th - 1 + i, iw = 2 * tw - 1 + j;
              d[i][j] = ih < 0 || ih >= H || iw < 0 || iw >= W
                            ? 0.0f
                            : in[(((size_t)n * H + ih) * W + iw) * C + c];
            }
          for (int a = 0; a < 4; a++) /* r = B^T d, column by column */
            for (int j = 0; j < 4; j++) {
              const float col[4] = {d[0][j], d[1][j], d[2][j], d[3][j]};
              r[a][j] = rsc_wino_row_ref(rsc_wino_bt_ref[a], col);
            }
          for (int i = 0; i < 4; i++) /* t = r B */
            for (int b = 0; b < 4; b++)
              v[(size_t)c * 16 + (size_t)(4 * i + b)] = rsc_wino_row_ref(rsc_wino_bt_ref[b], r[i]);
        }
        for (int o = 0; o < K; o++) {
          float m[4][4], s[2][4];
          for (int xi = 0; xi < 16; xi++) {
            float acc = 0.0f;
            for (int c = 0; c < C; c++)
              acc = RSC_REF_FMA(v[(size_t)c * 16 + (size_t)xi],
                                w[(((size_t)(o / KB) * 16 + (size_t)xi) * (size_t)C + (size_t)c) *
                                      (size_t)KB +
                                  (size_t)(o % KB)],
                                acc);
            m[xi / 4][xi % 4] = acc;
          }
          for (int a = 0; a < 2; a++) /* s = A^T m */
            for (int j = 0; j < 4; j++) {
              const float col[4] = {m[0][j], m[1][j], m[2][j], m[3][j]};
              s[a][j] = rsc_wino_row_ref(rsc_wino_at_ref[a], col);
            }
          for (int i = 0; i < 2; i++) /* y = s A, plus the bias */
            for (int b = 0; b < 2; b++) {
              const int oh = 2 * th + i, ow = 2 * tw + b;
              if (oh < H && ow < W)
                out[(((size_t)n * H + oh) * W + ow) * K + o] =
                    rsc_act_ref(rsc_wino_row_ref(rsc_wino_at_ref[b], s[i]) + bias[o], act);
            }
        }
      }
  free(v);
}

#endif /* RSC_WINO_REF_H */
