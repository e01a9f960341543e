/*
 * test_bf16.c - the bf16 conv (runtime/rsc_conv_bf16.h) against its scalar
 * twin (runtime/rsc_conv_bf16_ref.h), bit for bit: the twin sums in the
 * kernel's order and rounds as the instructions do, so any difference is a
 * bug. First the rounding itself: rsc_bf16 (the kernel's scalar rounding),
 * rsc_bf16_ref (the twin's, which compiler/pack.c uses on the weights) and
 * vcvtne2ps2bf16 on ties, denormals, infinities, NaN and random bits; and
 * rsc_bf16_dp against vdpbf16ps lane by lane. Then convs of the shapes the
 * tile treats specially (odd C, C not a multiple of 32, C over 1024, K
 * below KB, padded taps, strides, batch 2) under every tile, block group,
 * thread split, activation and with the SE pool, whose partial sums are
 * checked against the twin's outputs summed in chunk order. The twin itself
 * is checked against a double-precision conv of the rounded values. The
 * vector cases need AVX512-BF16 and are skipped on a CPU without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel runs here with run-time shapes, where gcc cannot follow the
 * unrolled tile's registers and warns falsely (the Makefile says the same of
 * test_kernels_host); generated code, with constant shapes, is built with
 * every warning as an error by tests/e2e.sh. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "../../runtime/rsc_kernels.h"
#include "../../runtime/rsc_kernels_ref.h"

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rnd_u32(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static float rnd(void) { return (float)(rnd_u32() >> 8) / 8388608.0f - 1.0f; } /* [-1, 1) */

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static bool have_bf16(void) {
#if RSC_BF16_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") != 0;
#else
  return false;
#endif
}

/* ------------------------------------------------------------ rounding */

enum { NSPECIAL = 20 };
static const uint32_t SPECIAL[NSPECIAL] = {
    0x00000000u, 0x80000000u, 0x00000001u, 0x807fffffu, 0x00400000u, /* zeros, denormals */
    0x00800000u, 0x80800000u,                                        /* smallest normals */
    0x3f808000u, 0x3f818000u, 0x3f808001u, 0x3f807fffu,              /* ties even/odd, off-tie */
    0x7f7fffffu, 0xff7f8000u,                                        /* rounds to infinity */
    0x7f800000u, 0xff800000u,                                        /* infinities */
    0x7fc00000u, 0x7f800001u, 0xffa00001u,                           /* NaNs, quiet and signalling */
    0x3f800000u, 0x40490fdbu};                                       /* 1, pi */

static void check_round(float x) {
  uint16_t a = rsc_bf16(x), b = rsc_bf16_ref(x);
  if (a != b)
    fail_msg("rsc_bf16(%08x) = %04x, rsc_bf16_ref %04x", bits(x), a, b);
}

#if RSC_BF16_X86
/* vcvtne2ps2bf16 on 32 floats; out[i] the bf16 of x[i]. */
RSC_BF16_FN static void hw_round32(const float *x, uint16_t *out) {
  __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x));
  _mm512_storeu_si512((void *)out, (__m512i)v);
}

/* vdpbf16ps on 16 lanes. */
RSC_BF16_FN static void hw_dp16(float *acc, const uint32_t *w, const uint32_t *x) {
  __m512 a = _mm512_loadu_ps(acc);
  a = _mm512_dpbf16_ps(a, (__m512bh)_mm512_loadu_si512((const void *)w),
                       (__m512bh)_mm512_loadu_si512((const void *)x));
  _mm512_storeu_ps(acc, a);
}
#endif

static void test_round_scalar(void **state) {
  (void)state;
  for (int i = 0; i < NSPECIAL; i++)
    check_round(from_bits(SPECIAL[i]));
  for (int i = 0; i < 1 << 20; i++)
    check_round(from_bits(rnd_u32()));
  /* the rounding itself: a tie goes to the even neighbour */
  assert_int_equal(rsc_bf16_ref(from_bits(0x3f808000u)), 0x3f80);
  assert_int_equal(rsc_bf16_ref(from_bits(0x3f818000u)), 0x3f82);
  assert_int_equal(rsc_bf16_ref(from_bits(0x3f808001u)), 0x3f81);
  assert_int_equal(rsc_bf16_ref(from_bits(0x00400000u)), 0x0000);
  assert_int_equal(rsc_bf16_ref(from_bits(0x7f7fffffu)), 0x7f80);
}

static void test_round_hw(void **state) {
  (void)state;
  if (!have_bf16())
    skip();
#if RSC_BF16_X86
  float x[32];
  uint16_t h[32];
  for (int round = 0; round < (1 << 16); round++) {
    for (int i = 0; i < 32; i++)
      x[i] = round == 0 && i < NSPECIAL ? from_bits(SPECIAL[i]) : from_bits(rnd_u32());
    hw_round32(x, h);
    for (int i = 0; i < 32; i++)
      if (h[i] != rsc_bf16_ref(x[i]))
        fail_msg("vcvtne2ps2bf16(%08x) = %04x, rsc_bf16_ref %04x", bits(x[i]), h[i],
                 rsc_bf16_ref(x[i]));
  }
#endif
}

/* A bf16 pair of random values of a magnitude near 2^e. */
static uint32_t rnd_pair(int e) {
  float a = ldexpf(rnd(), e), b = ldexpf(rnd(), e);
  return (uint32_t)rsc_bf16_ref(a) | (uint32_t)rsc_bf16_ref(b) << 16;
}

static void test_dp_hw(void **state) {
  (void)state;
  if (!have_bf16())
    skip();
#if RSC_BF16_X86
  float acc[16], want[16];
  uint32_t w[16], x[16];
  /* Magnitudes from ordinary to where products and sums go denormal. */
  static const int EXP[] = {0, 10, -10, -60, -63, -64, -70};
  for (int round = 0; round < 20000; round++) {
    const int e = EXP[round % (int)(sizeof EXP / sizeof EXP[0])];
    for (int l = 0; l < 16; l++) {
      w[l] = rnd_pair(e);
      x[l] = rnd_pair(e);
      acc[l] = round % 3 == 0 ? 0.0f : ldexpf(rnd(), 2 * e + (int)(rnd_u32() % 5) - 2);
      if (round % 5 == 4)
        acc[l] = -acc[l] * 1e-3f;
      want[l] = rsc_bf16_dp(acc[l], w[l], x[l]);
    }
    hw_dp16(acc, w, x);
    for (int l = 0; l < 16; l++)
      if (bits(acc[l]) != bits(want[l]))
        fail_msg("vdpbf16ps lane %d: %08x, rsc_bf16_dp %08x (w %08x x %08x)", l, bits(acc[l]),
                 bits(want[l]), w[l], x[l]);
  }
#endif
}

/* ------------------------------------------------------------ the conv */

typedef struct ConvCase {
  int N, H, W, C, K, KH, KW, SH, SW, PT, PL, KB;
} ConvCase;

static const ConvCase CASES[] = {
    /* N  H  W  C     K    KH KW SH SW PT PL KB */
    {1, 5, 5, 64, 64, 1, 1, 1, 1, 0, 0, 64},     /* 1x1, one block */
    {1, 7, 6, 35, 40, 3, 3, 1, 1, 1, 1, 32},     /* odd C, K below two blocks, padding */
    {2, 9, 9, 48, 96, 3, 3, 2, 2, 1, 1, 48},     /* stride 2, batch 2, C = 32 + 16 */
    {1, 4, 4, 1040, 32, 1, 1, 1, 1, 0, 0, 16},   /* C over rsc_zero's 1024 */
    {1, 6, 5, 3, 24, 7, 7, 2, 2, 3, 2, 32},      /* a 3-channel stem, asymmetric padding */
    {2, 3, 3, 130, 130, 3, 3, 1, 1, 1, 1, 64},   /* K, C past a block, 1 of 2 lanes in the last */
    {1, 5, 5, 31, 17, 3, 3, 1, 1, 1, 1, 17},     /* KB no multiple of 16: the scalar path */
};

static float *rnd_buf(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = rnd();
  return p;
}

/* OIHW weights into LAYOUT_CONV_BF16 words, by the twin's index. */
static float *pack_bf16(const float *oihw, const ConvCase *t) {
  const int C2 = (t->C + 1) / 2, nkb = (t->K + t->KB - 1) / t->KB;
  size_t n = (size_t)nkb * t->KB * t->KH * t->KW * C2;
  float *w = calloc(n, sizeof *w);
  assert_non_null(w);
  for (int o = 0; o < t->K; o++)
    for (int i = 0; i < t->C; i++)
      for (int kh = 0; kh < t->KH; kh++)
        for (int kw = 0; kw < t->KW; kw++) {
          size_t at = rsc_conv_bf16_w_at_ref(o, i, kh, kw, t->C, t->KH, t->KW, t->KB);
          uint32_t word;
          memcpy(&word, &w[at], 4);
          uint32_t h = rsc_bf16_ref(oihw[(((size_t)o * t->C + i) * t->KH + kh) * t->KW + kw]);
          word |= i % 2 ? h << 16 : h;
          memcpy(&w[at], &word, 4);
        }
  return w;
}

/* The kernel as a generated wrapper calls it: from a function compiled for
 * AVX512-BF16 (RSC_BF16_FN), into which it inlines. */
RSC_BF16_FN static void conv_part(const float *in, const float *w, const float *bias, float *out,
                                  float *pool, int PC, const ConvCase *t, int OH, int OW, int NP,
                                  int KG, int act, int part, int parts) {
  rsc_conv2d_bf16_part(in, w, bias, out, pool, PC, t->N, t->H, t->W, t->C, OH, OW, t->K, t->KH,
                       t->KW, t->SH, t->SW, t->PT, t->PL, t->KB, NP, KG, act, part, parts);
}

static int out_dim(int n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; }

static void run_case(const ConvCase *t, int act, bool check_ref) {
  const int OH = out_dim(t->H, t->KH, t->SH, t->PT), OW = out_dim(t->W, t->KW, t->SW, t->PL);
  const int nkb = (t->K + t->KB - 1) / t->KB;
  const size_t nin = (size_t)t->N * t->H * t->W * t->C, nout = (size_t)t->N * OH * OW * t->K;
  float *in = rnd_buf(nin), *oihw = rnd_buf((size_t)t->K * t->C * t->KH * t->KW);
  float *bias = calloc((size_t)nkb * t->KB, sizeof *bias);
  for (int o = 0; o < t->K; o++)
    bias[o] = rnd();
  float *w = pack_bf16(oihw, t), *ref = malloc(nout * sizeof *ref), *out = malloc(nout * 4);
  rsc_conv2d_bf16_ref(in, w, bias, ref, t->N, t->H, t->W, t->C, OH, OW, t->K, t->KH, t->KW, t->SH,
                      t->SW, t->PT, t->PL, t->KB, act);
  if (check_ref) { /* the twin against a double conv of the rounded values */
    double maxabs = 0, maxerr = 0;
    for (int n = 0; n < t->N; n++)
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
          for (int o = 0; o < t->K; o++) {
            double s = bias[o];
            for (int kh = 0; kh < t->KH; kh++)
              for (int kw = 0; kw < t->KW; kw++) {
                int ih = oh * t->SH - t->PT + kh, iw = ow * t->SW - t->PL + kw;
                if (ih < 0 || ih >= t->H || iw < 0 || iw >= t->W)
                  continue;
                for (int i = 0; i < t->C; i++)
                  s += (double)rsc_bf16_float_ref(rsc_bf16_ref(
                           in[(((size_t)n * t->H + ih) * t->W + iw) * t->C + i])) *
                       rsc_bf16_float_ref(rsc_bf16_ref(
                           oihw[(((size_t)o * t->C + i) * t->KH + kh) * t->KW + kw]));
              }
            s = rsc_act_ref((float)s, act);
            double r = ref[(((size_t)n * OH + oh) * OW + ow) * t->K + o];
            maxabs = fmax(maxabs, fabs(s));
            maxerr = fmax(maxerr, fabs(s - r));
          }
    /* float32 sums of at most 7*7*1040 terms: far inside 1e-4 of the scale */
    if (maxerr > 1e-4 * maxabs)
      fail_msg("twin vs double: error %g of max %g", maxerr, maxabs);
  }
  if (!have_bf16() && t->KB % 16 == 0)
    goto done; /* the vector tile needs the CPU's AVX512-BF16 */
  const int hw = OH * OW, PC = 4, nch = (hw + PC - 1) / PC;
  float *pool = malloc((size_t)t->N * nch * t->K * sizeof *pool);
  static const int NPS[] = {1, 3, 4, 7, 16};
  for (size_t a = 0; a < sizeof NPS / sizeof NPS[0]; a++)
    for (int kg = 1; kg <= 2; kg++)
      for (int parts = 1; parts <= 3; parts++)
        for (int pooled = 0; pooled <= 1; pooled++) {
          memset(out, 0xff, nout * 4); /* NaN: an output not written fails */
          for (int part = 0; part < parts; part++)
            conv_part(in, w, bias, out, pooled ? pool : NULL, PC, t, OH, OW, NPS[a], kg, act, part,
                      parts);
          for (size_t i = 0; i < nout; i++)
            if (bits(out[i]) != bits(ref[i]))
              fail_msg("C %d K %d KB %d np %d kg %d parts %d act %d: out[%zu] %08x (%g), twin "
                       "%08x (%g)",
                       t->C, t->K, t->KB, NPS[a], kg, parts, act, i, bits(out[i]), out[i],
                       bits(ref[i]), ref[i]);
          if (!pooled)
            continue;
          for (int n = 0; n < t->N; n++) /* chunk sums in pixel order, from the twin */
            for (int j = 0; j < nch; j++)
              for (int o = 0; o < t->K; o++) {
                const float *r0 = ref + ((size_t)n * hw + (size_t)j * PC) * t->K + o;
                float s = r0[0];
                for (int q = 1; q < PC && j * PC + q < hw; q++)
                  s += r0[(size_t)q * t->K];
                float got = pool[((size_t)n * nch + j) * t->K + o];
                if (bits(got) != bits(s))
                  fail_msg("pool n %d chunk %d k %d: %g, want %g", n, j, o, got, s);
              }
        }
  free(pool);
done:
  free(in);
  free(oihw);
  free(bias);
  free(w);
  free(ref);
  free(out);
}

static void test_conv_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
    run_case(&CASES[i], RSC_ACT_RELU, true);
}

static void test_conv_every_act(void **state) {
  (void)state;
  static const int ACTS[] = {RSC_ACT_NONE, RSC_ACT_SWISH, RSC_ACT_SIGMOID};
  for (size_t a = 0; a < sizeof ACTS / sizeof ACTS[0]; a++) {
    run_case(&CASES[1], ACTS[a], false);
    run_case(&CASES[5], ACTS[a], false);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_scalar), cmocka_unit_test(test_round_hw),
      cmocka_unit_test(test_dp_hw),        cmocka_unit_test(test_conv_cases),
      cmocka_unit_test(test_conv_every_act),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
