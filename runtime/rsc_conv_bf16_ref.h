/*
 * rsc_conv_bf16_ref.h - the scalar twin of rsc_conv_bf16.h: the bf16 direct
 * convolution as the most obvious loops, one output at a time, reading the
 * same LAYOUT_CONV_BF16 words. Rounds as the vector code does (float32 ->
 * bf16 to nearest even, denormals to zero; vdpbf16ps' two multiply-adds per
 * pair, high half first, denormals read and written as zero), and sums in
 * its order (bias, then the pairs over (kh, kw, p)), so the two agree in
 * every bit. compiler/pack.c rounds the weights with rsc_bf16_ref.
 */
#ifndef RSC_CONV_BF16_REF_H
#define RSC_CONV_BF16_REF_H

#include <stdint.h>
#include <string.h>

#include "rsc_vec_ref.h"

/* float32 -> bf16 bits: nearest, ties to even; zero and denormals -> a zero
 * of their sign; NaN -> quiet NaN (vcvtne2ps2bf16). */
static inline uint16_t rsc_bf16_ref(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0)
    return (uint16_t)(u >> 16 & 0x8000u);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)(u >> 16 | 0x40u);
  uint32_t lsb = u >> 16 & 1u;
  return (uint16_t)((u + 0x7fffu + lsb) >> 16);
}

static inline float rsc_bf16_float_ref(uint32_t h) {
  uint32_t u = (h & 0xffffu) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline float rsc_bf16_ftz_ref(float x) {
  return fabsf(x) < 1.17549435e-38f ? copysignf(0.0f, x) : x;
}

/* Packed LAYOUT_CONV_BF16 word of OIHW element (o, i, kh, kw): the pair
 * (i & ~1, i | 1), element i in the low half when i is even. */
static inline size_t rsc_conv_bf16_w_at_ref(int o, int i, int kh, int kw, int C, int KH, int KW,
                                            int KB) {
  size_t C2 = (size_t)(C + 1) / 2;
  return ((((size_t)(o / KB) * (size_t)KH + (size_t)kh) * (size_t)KW + (size_t)kw) * C2 +
          (size_t)(i / 2)) *
             (size_t)KB +
         (size_t)(o % KB);
}

static inline void rsc_conv2d_bf16_ref(const float *in, const float *w, const float *bias,
                                       float *out, int N, int H, int W, int C, int OH, int OW,
                                       int K, int KH, int KW, int SH, int SW, int PT, int PL,
                                       int KB, int act) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++)
        for (int o = 0; o < K; o++) {
          float acc = bias[o];
          for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
              for (int i = 0; i < C; i += 2) {
                int ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
                int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                const float *x = in + (((size_t)n * H + (inside ? ih : 0)) * W +
                                       (inside ? iw : 0)) * C;
                float x0 = inside ? x[i] : 0.0f, x1 = inside && i + 1 < C ? x[i + 1] : 0.0f;
                uint32_t wp;
                memcpy(&wp, &w[rsc_conv_bf16_w_at_ref(o, i, kh, kw, C, KH, KW, KB)], 4);
                /* high half (channel i+1) first, then channel i */
                acc = rsc_bf16_ftz_ref(fmaf(rsc_bf16_float_ref(wp >> 16),
                                            rsc_bf16_float_ref(rsc_bf16_ref(x1)),
                                            rsc_bf16_ftz_ref(acc)));
                acc = rsc_bf16_ftz_ref(fmaf(rsc_bf16_float_ref(wp),
                                            rsc_bf16_float_ref(rsc_bf16_ref(x0)), acc));
              }
          out[(((size_t)n * OH + oh) * OW + ow) * K + o] = rsc_act_ref(acc, act);
        }
}

#endif /* RSC_CONV_BF16_REF_H */
