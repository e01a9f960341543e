/*
 * rsc_vec.h - the vector layer of the runtime: RSC_INLINE, RSC_FMA, the
 * activations, the target's vector type rsc_vf with its operations, the
 * unrolling pragma and the even split of a range over the thread team.
 * Every other family builds on it. Needs rsc_limits.h before it, and
 * <math.h> and <stddef.h>.
 */
#ifndef RSC_VEC_H
#define RSC_VEC_H

/* Forced inline so each wrapper specialises its kernel; `unused` because a
 * model uses only some kernels, and clang warns about unused static inline
 * functions of the main file (this text is pasted there, not included). */
#if defined(__GNUC__)
#define RSC_INLINE static inline __attribute__((always_inline, unused))
#else
#define RSC_INLINE static inline
#endif

/* The runtime's other functions (thread team, loader): left to the compiler
 * to inline or not, and `unused` for the same reason (an embedded-weights
 * check in a model that reads a file, for instance). */
#if defined(__GNUC__)
#define RSC_STATIC static __attribute__((unused))
#else
#define RSC_STATIC static
#endif

/* clang never defines FP_FAST_FMAF, hence the target macros as well. */
#if defined(FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define RSC_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define RSC_FMA(a, b, c) ((a) * (b) + (c))
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

/*
 * The vector unit of the target the generated file is compiled for:
 * RSC_VL floats per register. AVX-512 and AVX2 use intrinsics (a fused
 * multiply-add, exactly what fmaf computes per lane); everything else a
 * 4-float struct whose lane loops any compiler turns into its own SIMD. The
 * compiler (select.c) sizes each conv's register tile for the target named
 * by --target; this choice only has to agree for speed, never for results.
 */
#if defined(__AVX512F__)
#include <immintrin.h>
#define RSC_VL 16
typedef __m512 rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) { return _mm512_loadu_ps(p); }
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) { _mm512_storeu_ps(p, v); }
RSC_INLINE rsc_vf rsc_vset1(float x) { return _mm512_set1_ps(x); }
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) { return _mm512_fmadd_ps(a, b, c); }
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
/* a > b ? a : b per lane (maxps's operand order; b when either is NaN) */
RSC_INLINE rsc_vf rsc_vmax(rsc_vf a, rsc_vf b) { return _mm512_max_ps(a, b); }
RSC_INLINE rsc_vf rsc_vadd(rsc_vf a, rsc_vf b) { return _mm512_add_ps(a, b); }
RSC_INLINE rsc_vf rsc_vsub(rsc_vf a, rsc_vf b) { return _mm512_sub_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RSC_VL 8
typedef __m256 rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) { return _mm256_loadu_ps(p); }
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) { _mm256_storeu_ps(p, v); }
RSC_INLINE rsc_vf rsc_vset1(float x) { return _mm256_set1_ps(x); }
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) { return _mm256_fmadd_ps(a, b, c); }
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
RSC_INLINE rsc_vf rsc_vmax(rsc_vf a, rsc_vf b) { return _mm256_max_ps(a, b); }
RSC_INLINE rsc_vf rsc_vadd(rsc_vf a, rsc_vf b) { return _mm256_add_ps(a, b); }
RSC_INLINE rsc_vf rsc_vsub(rsc_vf a, rsc_vf b) { return _mm256_sub_ps(a, b); }
#else
#define RSC_VL 4
typedef struct rsc_vf {
  float f[RSC_VL];
} rsc_vf;
RSC_INLINE rsc_vf rsc_vload(const float *p) {
  rsc_vf v;
  for (int i = 0; i < RSC_VL; i++)
    v.f[i] = p[i];
  return v;
}
RSC_INLINE void rsc_vstore(float *p, rsc_vf v) {
  for (int i = 0; i < RSC_VL; i++)
    p[i] = v.f[i];
}
RSC_INLINE rsc_vf rsc_vset1(float x) {
  rsc_vf v;
  for (int i = 0; i < RSC_VL; i++)
    v.f[i] = x;
  return v;
}
RSC_INLINE rsc_vf rsc_vfma(rsc_vf a, rsc_vf b, rsc_vf c) {
  for (int i = 0; i < RSC_VL; i++)
    c.f[i] = RSC_FMA(a.f[i], b.f[i], c.f[i]);
  return c;
}
RSC_INLINE rsc_vf rsc_vrelu(rsc_vf a) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] = a.f[i] > 0.0f ? a.f[i] : 0.0f;
  return a;
}
RSC_INLINE rsc_vf rsc_vmax(rsc_vf a, rsc_vf b) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] = a.f[i] > b.f[i] ? a.f[i] : b.f[i];
  return a;
}
RSC_INLINE rsc_vf rsc_vadd(rsc_vf a, rsc_vf b) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] += b.f[i];
  return a;
}
RSC_INLINE rsc_vf rsc_vsub(rsc_vf a, rsc_vf b) {
  for (int i = 0; i < RSC_VL; i++)
    a.f[i] -= b.f[i];
  return a;
}
#endif

/* Full unrolling of the loops over a tile's accumulators (constant trip
 * counts after inlining). Without it clang (14) leaves the large epilogue
 * rolled, indexes the accumulator array dynamically there, and so keeps the
 * whole tile in memory: stores after every FMA, convs 3x slower. gcc unrolls
 * them by itself at -O3 but not at -O2, where the same happens (measured:
 * a 1x1 conv tile 8x slower at -O2 without the pragma, as fast as -O3 with
 * it). Where the counts are not constants (a test calling a kernel with
 * run-time shapes) clang cannot unroll and would say so: that is expected,
 * hence the warning is off. */
#if defined(__clang__)
#define RSC_UNROLL _Pragma("clang loop unroll(full)")
#pragma clang diagnostic ignored "-Wpass-failed"
#elif defined(__GNUC__)
#define RSC_UNROLL _Pragma("GCC unroll 16")
#else
#define RSC_UNROLL
#endif


/* Range [lo, hi) of `part` of `parts` when n items are split evenly, in
 * whole runs of 16 floats (64 bytes): two threads that write neighbouring
 * ranges never share a cache line, which at a split in mid-line would
 * bounce between the cores on every store (elementwise adds, SE's pool). */
RSC_INLINE void rsc_range(size_t n, int part, int parts, size_t *lo, size_t *hi) {
  const size_t runs = (n + 15) / 16;
  const size_t a = runs * (size_t)part / (size_t)parts * 16;
  const size_t b = runs * ((size_t)part + 1) / (size_t)parts * 16;
  *lo = a < n ? a : n;
  *hi = b < n ? b : n;
}

#endif /* RSC_VEC_H */
