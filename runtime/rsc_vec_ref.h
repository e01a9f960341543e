/*
 * rsc_vec_ref.h - the scalar twin of rsc_vec.h's activations (rsc_act), and
 * the multiply-add the twins use where their kernel fuses: RSC_REF_FMA is
 * fused exactly when rsc_vec.h's RSC_FMA is, so a twin summing in its
 * kernel's order gives its kernel's bits.
 */
#ifndef RSC_VEC_REF_H
#define RSC_VEC_REF_H

#include "rsc_limits.h"

#if defined(FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define RSC_REF_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define RSC_REF_FMA(a, b, c) ((a) * (b) + (c))
#endif

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

#endif /* RSC_VEC_REF_H */
