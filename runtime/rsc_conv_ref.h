/*
 * rsc_conv_ref.h - the scalar twin of rsc_conv.h: the direct convolution as
 * the most obvious loops, one output at a time, reading the same packed
 * weights. Sums in the kernel's order (bias first, then taps in (kh, kw, c)
 * order), so the two differ only by fused multiply-adds.
 */
#ifndef RSC_CONV_REF_H
#define RSC_CONV_REF_H

#include "rsc_vec_ref.h"

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

#endif /* RSC_CONV_REF_H */
