/*
 * test_kernels.c - the runtime kernels (runtime/rsc_kernels.h, by family)
 * against their scalar twins (runtime/rsc_kernels_ref.h, one per family).
 *
 * Inputs are pseudo-random with a fixed seed. Shapes are chosen for the cases
 * the tiled conv treats specially: odd H and W, C and K no multiple of 16,
 * K smaller than KB, every KB, stride 2, asymmetric padding, 1x1 / 3x3 / 7x7
 * windows, 1x1 images, batch 2 (and with it the 1x1 "one long row" view).
 * Kernel and twin sum in the same order, so they differ only by fused
 * multiply-adds: outputs must agree to 1e-5 of the output's max-abs. Outputs
 * get a canary tail that must survive. The ref itself is checked against a
 * conv on unpacked OIHW weights, and the pooling edge rules against hand
 * computed examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The generated model's context: these headers come first there too. */
#include "../../runtime/rsc_kernels.h"
#include "../../runtime/rsc_kernels_ref.h"
#include "rsc_one_thread.h"

/* ---------------------------------------------------------------- helpers */

/* RSC_TEST_SUBSET=1 (make sanitize): the conv cases sweep a twelfth of their
 * tile / part / prefetch / group / pool combinations (run_conv_case says
 * which); the whole sweep under ASan took 14 minutes of CI's 90. */
static bool subset;

enum { CANARY = 16 }; /* floats after every output that must stay untouched */
static const float CANARY_VAL = 12345.0f;

static uint32_t rng_state = 0x2545f491u;

static float rnd(void) { /* xorshift32 -> [-1, 1) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}

static float *rnd_buf(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = rnd();
  return p;
}

/* An output buffer of n floats poisoned with NaN, plus the canary tail. */
static float *out_buf(size_t n) {
  float *p = malloc((n + CANARY) * sizeof *p);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  for (size_t i = 0; i < CANARY; i++)
    p[n + i] = CANARY_VAL;
  return p;
}

/* got vs want over n floats: |got - want| <= 1e-5 * max|want|, canaries intact. */
static void check_close(const float *got, const float *want, size_t n, const char *what) {
  float maxabs = 1e-3f, maxerr = 0.0f;
  size_t worst = 0;
  for (size_t i = 0; i < n; i++)
    if (fabsf(want[i]) > maxabs)
      maxabs = fabsf(want[i]);
  for (size_t i = 0; i < n; i++) {
    float e = fabsf(got[i] - want[i]);
    if (!(e <= maxerr)) { /* also catches NaN */
      maxerr = isnan(e) ? INFINITY : e;
      worst = i;
    }
  }
  if (maxerr > 1e-5f * maxabs)
    fail_msg("%s: element %zu: got %.9g, want %.9g (max-abs %g)", what, worst, (double)got[worst],
             (double)want[worst], (double)maxabs);
  for (size_t i = 0; i < CANARY; i++)
    if (got[n + i] != CANARY_VAL)
      fail_msg("%s: wrote past the end of the output (canary %zu)", what, i);
}

static const char *const ACT_NAMES[] = {"none", "relu", "swish", "sigmoid"};

/* ---------------------------------------------------------------- conv */

typedef struct ConvCase {
  int n, h, w, c, k, kh, kw, sh, sw, pt, pb, pl, pr, kb, act;
} ConvCase;

static int out_dim(int in, int k, int s, int p0, int p1) { return (in + p0 + p1 - k) / s + 1; }

/* Packs OIHW weights [K][C][KH][KW] into LAYOUT_CONV_BLOCK, padding with zeros. */
static float *pack_conv(const float *oihw, int K, int C, int KH, int KW, int KB, size_t *nout) {
  int nkb = (K + KB - 1) / KB;
  size_t n = (size_t)nkb * KH * KW * C * KB;
  float *p = calloc(n, sizeof *p);
  assert_non_null(p);
  for (int o = 0; o < K; o++)
    for (int i = 0; i < C; i++)
      for (int kh = 0; kh < KH; kh++)
        for (int kw = 0; kw < KW; kw++)
          p[(((size_t)(o / KB) * KH + kh) * KW + kw) * C * KB + (size_t)i * KB + o % KB] =
              oihw[(((size_t)o * C + i) * KH + kh) * KW + kw];
  *nout = n;
  return p;
}

/* Image n's pool in chunks of PC pixels, the order rsc_conv2d_part and
 * rsc_se_add_part share: chunk j of image n's sum, per channel, in pixel order
 * from the chunk's first pixel, at pool[(n*ceil(HW/PC) + j)*K + k]. */
static float chunk_sum(const float *out, int HW, int K, int PC, long n, long j, int k) {
  const long p0 = n * HW + j * PC, p1 = (j + 1) * PC < HW ? p0 + PC : (n + 1) * HW;
  float s = out[p0 * K + k];
  for (long p = p0 + 1; p < p1; p++)
    s += out[p * K + k];
  return s;
}

/* rsc_conv2d_part's pool: every chunk's slot, bit for bit. */
static void check_pool_slots(const float *pool, const float *out, int N, int HW, int K, int PC,
                             int NP, const char *what) {
  const long nch = (HW + PC - 1) / PC;
  for (long n = 0; n < N; n++)
    for (long j = 0; j < nch; j++)
      for (int k = 0; k < K; k++) {
        const float v = pool[(n * nch + j) * K + k], s = chunk_sum(out, HW, K, PC, n, j, k);
        if (memcmp(&v, &s, sizeof s) != 0)
          fail_msg("%s: np %d pc %d pool slot (image %ld, chunk %ld) channel %d is %g, want %g",
                   what, NP, PC, n, j, k, (double)v, (double)s);
      }
}

static void run_conv_case(const ConvCase *t) {
  int oh = out_dim(t->h, t->kh, t->sh, t->pt, t->pb),
      ow = out_dim(t->w, t->kw, t->sw, t->pl, t->pr);
  int nkb = (t->k + t->kb - 1) / t->kb;
  size_t nin = (size_t)t->n * t->h * t->w * t->c, nout = (size_t)t->n * oh * ow * t->k, nw;
  float *in = rnd_buf(nin);
  float *raw = rnd_buf((size_t)t->k * t->c * t->kh * t->kw);
  float *w = pack_conv(raw, t->k, t->c, t->kh, t->kw, t->kb, &nw);
  float *b = calloc((size_t)nkb * t->kb, sizeof *b);
  assert_non_null(b);
  for (int o = 0; o < t->k; o++)
    b[o] = rnd();
  float *got = out_buf(nout), *want = out_buf(nout);
  rsc_conv2d(in, w, b, got, t->n, t->h, t->w, t->c, oh, ow, t->k, t->kh, t->kw, t->sh, t->sw, t->pt,
             t->pl, t->kb, t->act);
  rsc_conv2d_ref(in, w, b, want, t->n, t->h, t->w, t->c, oh, ow, t->k, t->kh, t->kw, t->sh, t->sw,
                 t->pt, t->pl, t->kb, t->act);
  char what[160];
  snprintf(what, sizeof what, "conv n%d %dx%dx%d -> %dx%dx%d k%dx%d s%dx%d p%d,%d,%d,%d kb%d %s",
           t->n, t->h, t->w, t->c, oh, ow, t->k, t->kh, t->kw, t->sh, t->sw, t->pt, t->pb, t->pl,
           t->pr, t->kb, ACT_NAMES[t->act]);
  check_close(got, want, nout, what);
  /* Any register tile and any split over threads must give the same bytes:
   * the sum of every output runs in one fixed order (docs/kernels.md). */
  /* So must any grouping of the blocks (KG; 0 and past nkb are clamped),
   * the next-block and next-input prefetches (NX, XP) on or off, groups of TG tiles taking
   * turns on chunks of TC channels, and the SE pool's partial sums
   * (pool) written or not; those must be each image's chunk sums in pixel
   * order, whatever the tile and split. */
  static const int NPS[] = {1, 3, 5, 13, 16}, PARTS[] = {1, 2, 3}, KGS[] = {0, 1, 2, 3, 99};
  static const int TGS[] = {1, 2, 3, 9}, TCS[] = {0, 16, 5, 7}; /* TG 9 is clamped to 8 */
  static const int PCS[] = {0, 1, 7, 32}; /* pool chunks: none, of 1, 7 and 32 pixels */
  const long P = (long)t->n * oh * ow;
  float *alt = out_buf(nout);
  float *pool = out_buf((size_t)P * (size_t)t->k); /* slots for chunks of 1, the most */
  for (size_t i = 0; i < sizeof NPS / sizeof *NPS; i++)
    for (size_t j = 0; j < sizeof PARTS / sizeof *PARTS; j++)
      for (size_t g = 0; g < sizeof KGS / sizeof *KGS; g++)
        for (size_t tg = 0; tg < sizeof TGS / sizeof *TGS; tg++)
          for (int nx = 0; nx <= 3; nx++) /* bit 0: NX, bit 1: XP */
            for (size_t pc = 0; pc < sizeof PCS / sizeof *PCS; pc++) {
              if (tg > 0 && KGS[g] > 1)
                continue; /* groups of tiles need KG 1: these would repeat TG 1 */
              /* The subset: every (np, kg, tg, pool) once, with the part
               * count and the prefetch flags each a function of them. */
              size_t mix = i + g + tg + pc;
              if (subset && ((mix + j) % 3 != 0 || (mix + (size_t)nx) % 4 != 0))
                continue;
              memset(alt, 0xff, nout * sizeof *alt); /* NaNs: a skipped output shows */
              for (int part = 0; part < PARTS[j]; part++)
                rsc_conv2d_part(in, w, b, alt, PCS[pc] ? pool : NULL, PCS[pc], t->n, t->h, t->w,
                                t->c, oh, ow, t->k, t->kh, t->kw, t->sh, t->sw, t->pt, t->pl,
                                t->kb, NPS[i], KGS[g], nx & 1, nx >> 1, TGS[tg], TCS[tg], t->act,
                                part, PARTS[j]);
              if (memcmp(alt, got, (nout + CANARY) * sizeof *alt) != 0)
                fail_msg("%s: np %d kg %d nx %d xp %d tg %d tc %d pool pc %d in %d parts differs "
                         "from np 4 kg 1 in one part",
                         what, NPS[i], KGS[g], nx & 1, nx >> 1, TGS[tg], TCS[tg], PCS[pc],
                         PARTS[j]);
              if (PCS[pc])
                check_pool_slots(pool, got, t->n, oh * ow, t->k, PCS[pc], NPS[i], what);
            }
  for (size_t j = 0; j < CANARY; j++)
    if (pool[(size_t)P * (size_t)t->k + j] != CANARY_VAL)
      fail_msg("%s: the pool wrote past its slots (canary %zu)", what, j);
  free(alt);
  free(pool);
  free(in);
  free(raw);
  free(w);
  free(b);
  free(got);
  free(want);
}

/* clang-format off */
static const ConvCase CONV_CASES[] = {
    /* n  h   w   c   k  kh kw sh sw pt pb pl pr kb act */
    {1, 7, 7, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 8, RSC_ACT_RELU},          /* K < KB */
    {2, 9, 11, 13, 19, 3, 3, 2, 2, 1, 1, 1, 1, 16, RSC_ACT_SWISH},     /* odd everything */
    {1, 15, 13, 6, 32, 7, 7, 2, 2, 3, 3, 3, 3, 32, RSC_ACT_NONE},      /* 7x7 stem-like */
    {2, 8, 8, 24, 70, 1, 1, 1, 1, 0, 0, 0, 0, 64, RSC_ACT_SIGMOID},    /* 1x1 row view, batch 2 */
    {2, 5, 3, 17, 40, 1, 1, 1, 1, 0, 0, 0, 0, 8, RSC_ACT_RELU},        /* row view across images */
    {1, 10, 10, 16, 33, 1, 1, 2, 2, 0, 0, 0, 0, 16, RSC_ACT_RELU},     /* strided 1x1 */
    {1, 9, 9, 16, 24, 1, 1, 2, 2, 0, 0, 0, 0, 8, RSC_ACT_SWISH},       /* strided 1x1, odd */
    {1, 1, 1, 37, 20, 1, 1, 1, 1, 0, 0, 0, 0, 8, RSC_ACT_NONE},        /* 1x1 image */
    {2, 1, 1, 20, 9, 3, 3, 1, 1, 1, 1, 1, 1, 8, RSC_ACT_SWISH},        /* 1x1 image, padded 3x3 */
    {1, 3, 3, 5, 16, 7, 7, 1, 1, 3, 3, 3, 3, 16, RSC_ACT_RELU},        /* window larger than image */
    {2, 17, 17, 3, 32, 3, 3, 2, 2, 1, 1, 1, 1, 32, RSC_ACT_SWISH},     /* deep-stem first conv */
    {1, 12, 12, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 64, RSC_ACT_RELU},     /* full blocks */
    {1, 6, 5, 40, 24, 3, 3, 1, 1, 0, 1, 1, 0, 16, RSC_ACT_NONE},       /* asymmetric padding */
    {1, 7, 9, 12, 20, 3, 3, 2, 2, 0, 1, 0, 1, 16, RSC_ACT_RELU},       /* TF-style "same" s2 */
    {1, 5, 30, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, RSC_ACT_SIGMOID},   /* long rows: many 4-tiles */
    {1, 4, 13, 8, 48, 1, 3, 1, 1, 0, 0, 1, 1, 16, RSC_ACT_NONE},       /* 1x3 window */
    {1, 9, 6, 5, 8, 3, 1, 2, 1, 1, 1, 0, 0, 8, RSC_ACT_RELU},          /* 3x1, stride 2x1 */
    {1, 11, 11, 7, 130, 3, 3, 1, 1, 1, 1, 1, 1, 64, RSC_ACT_SWISH},    /* K = 2 blocks + 2 */
    {1, 8, 10, 9, 50, 3, 3, 1, 1, 1, 1, 1, 1, 24, RSC_ACT_NONE},       /* KB no power of two */
    {1, 6, 7, 10, 80, 3, 3, 2, 2, 1, 1, 1, 1, 40, RSC_ACT_RELU},       /* KB 40 */
    {2, 6, 6, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, RSC_ACT_SWISH},         /* KB 1 */
    {1, 14, 14, 32, 32, 3, 3, 1, 1, 2, 2, 2, 2, 32, RSC_ACT_RELU},     /* padding 2 */
    {1, 8, 8, 32, 64, 2, 2, 2, 2, 0, 0, 0, 0, 64, RSC_ACT_NONE},       /* 2x2 s2 */
};
/* clang-format on */

static void test_conv_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof CONV_CASES / sizeof *CONV_CASES; i++)
    run_conv_case(&CONV_CASES[i]);
}

/* Every activation on shapes that exercise both tile paths. */
static void test_conv_every_act(void **state) {
  (void)state;
  for (int act = RSC_ACT_NONE; act <= RSC_ACT_SIGMOID; act++) {
    ConvCase a = {2, 13, 11, 19, 45, 3, 3, 1, 1, 1, 1, 1, 1, 16, act};
    ConvCase b = {1, 9, 9, 21, 70, 1, 1, 1, 1, 0, 0, 0, 0, 32, act};
    run_conv_case(&a);
    run_conv_case(&b);
  }
}

/* The ref against a conv written on unpacked OIHW weights: pins the layout. */
/* ---------------------------------------------------------------- winograd */

/* The compiler's filter transform (compiler/pack.c), the one rsc packs with. */
void wino_filter_transform(const float g[9], float u[16]);

/* Packs OIHW 3x3 weights into LAYOUT_WINO_BLOCK with the compiler's transform. */
static float *pack_wino(const float *oihw, int K, int C, int KB) {
  int nkb = (K + KB - 1) / KB;
  float *p = calloc((size_t)nkb * 16 * C * KB, sizeof *p);
  assert_non_null(p);
  for (int o = 0; o < K; o++)
    for (int i = 0; i < C; i++) {
      float u[16];
      wino_filter_transform(oihw + ((size_t)o * C + i) * 9, u);
      for (int xi = 0; xi < 16; xi++)
        p[(((size_t)(o / KB) * 16 + xi) * C + i) * KB + o % KB] = u[xi];
    }
  return p;
}

typedef struct WinoCase {
  int n, h, w, c, k, kb, act;
} WinoCase;

/* rsc_wino_part against the direct scalar conv (3x3, stride 1, padding 1) on
 * the same filters; then every NT and split must give the same bytes. */
static void run_wino_case(const WinoCase *t) {
  int nkb = (t->k + t->kb - 1) / t->kb;
  size_t nin = (size_t)t->n * t->h * t->w * t->c, nout = (size_t)t->n * t->h * t->w * t->k, nw;
  float *in = rnd_buf(nin);
  float *raw = rnd_buf((size_t)t->k * t->c * 9);
  float *wd = pack_conv(raw, t->k, t->c, 3, 3, t->kb, &nw);
  float *ww = pack_wino(raw, t->k, t->c, t->kb);
  float *b = calloc((size_t)nkb * t->kb, sizeof *b);
  assert_non_null(b);
  for (int o = 0; o < t->k; o++)
    b[o] = rnd();
  float *got = out_buf(nout), *want = out_buf(nout), *alt = out_buf(nout), *twin = out_buf(nout);
  rsc_wino_part(in, ww, b, got, t->n, t->h, t->w, t->c, t->k, t->kb, 4, t->act, 0, 1);
  rsc_conv2d_ref(in, wd, b, want, t->n, t->h, t->w, t->c, t->h, t->w, t->k, 3, 3, 1, 1, 1, 1, t->kb,
                 t->act);
  char what[160];
  snprintf(what, sizeof what, "wino n%d %dx%dx%d -> %d kb%d %s", t->n, t->h, t->w, t->c, t->k,
           t->kb, ACT_NAMES[t->act]);
  check_close(got, want, nout, what);
  /* The twin sums as the kernel does: the same bits. */
  rsc_wino_ref(in, ww, b, twin, t->n, t->h, t->w, t->c, t->k, t->kb, t->act);
  if (memcmp(twin, got, (nout + CANARY) * sizeof *twin) != 0)
    fail_msg("%s: differs from its scalar twin rsc_wino_ref", what);
  static const int NTS[] = {1, 3, 8, 20}, PARTS[] = {1, 2, 3};
  for (size_t i = 0; i < sizeof NTS / sizeof *NTS; i++)
    for (size_t j = 0; j < sizeof PARTS / sizeof *PARTS; j++) {
      for (int part = 0; part < PARTS[j]; part++)
        rsc_wino_part(in, ww, b, alt, t->n, t->h, t->w, t->c, t->k, t->kb, NTS[i], t->act, part,
                      PARTS[j]);
      if (memcmp(alt, got, (nout + CANARY) * sizeof *alt) != 0)
        fail_msg("%s: nt %d in %d parts differs from nt 4 in one part", what, NTS[i], PARTS[j]);
    }
  free(in);
  free(raw);
  free(wd);
  free(ww);
  free(b);
  free(got);
  free(want);
  free(alt);
  free(twin);
}

/* clang-format off */
static const WinoCase WINO_CASES[] = {
    /* n  h   w    c    k  kb  act */
    {1, 8, 8, 16, 16, 16, RSC_ACT_RELU},       /* whole tiles */
    {1, 7, 9, 32, 64, 64, RSC_ACT_NONE},       /* odd sizes: partial tiles */
    {2, 5, 5, 64, 40, 32, RSC_ACT_SWISH},      /* batch 2, K = block + 8 */
    {1, 10, 10, 160, 32, 32, RSC_ACT_RELU},    /* 3 channel chunks, last partial */
    {1, 6, 4, 13, 20, 8, RSC_ACT_SIGMOID},     /* C, K, KB no multiple of 16 */
    {1, 1, 1, 16, 16, 16, RSC_ACT_RELU},       /* 1x1 image */
    {1, 3, 2, 8, 130, 128, RSC_ACT_NONE},      /* KB above the unit's 64 lanes */
    {3, 4, 3, 20, 9, 24, RSC_ACT_RELU},        /* KB no power of two */
    {1, 5, 6, 12, 10, 6, RSC_ACT_SWISH},       /* KB no multiple of any vector: lanes */
};
/* clang-format on */

static void test_wino_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof WINO_CASES / sizeof *WINO_CASES; i++)
    run_wino_case(&WINO_CASES[i]);
}

/* The filter transform against G g G^T written out for a filter with one 1. */
static void test_wino_filter_transform(void **state) {
  (void)state;
  /* g = e(1,1) (the centre): u = G e G^T = column 1 of G times row 1 of G^T. */
  const float g[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  const float col[4] = {0, 0.5f, -0.5f, 0};
  float u[16];
  wino_filter_transform(g, u);
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      assert_true(u[a * 4 + b] == col[a] * col[b]);
}

static void test_conv_ref_layout(void **state) {
  (void)state;
  const int N = 2, H = 6, W = 5, C = 3, K = 11, KH = 3, KW = 3, S = 2, P = 1, KB = 8;
  const int OH = out_dim(H, KH, S, P, P), OW = out_dim(W, KW, S, P, P);
  size_t nw, nout = (size_t)N * OH * OW * K;
  float *in = rnd_buf((size_t)N * H * W * C), *raw = rnd_buf((size_t)K * C * KH * KW);
  float *w = pack_conv(raw, K, C, KH, KW, KB, &nw);
  float b[16] = {0};
  for (int o = 0; o < K; o++)
    b[o] = rnd();
  float *got = out_buf(nout), *want = out_buf(nout);
  rsc_conv2d_ref(in, w, b, got, N, H, W, C, OH, OW, K, KH, KW, S, S, P, P, KB, RSC_ACT_NONE);
  for (int n = 0; n < N; n++)
    for (int y = 0; y < OH; y++)
      for (int x = 0; x < OW; x++)
        for (int o = 0; o < K; o++) {
          double acc = b[o];
          for (int i = 0; i < C; i++)
            for (int ky = 0; ky < KH; ky++)
              for (int kx = 0; kx < KW; kx++) {
                int iy = y * S - P + ky, ix = x * S - P + kx;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                  acc += (double)in[((n * H + iy) * W + ix) * C + i] *
                         raw[((o * C + i) * KH + ky) * KW + kx];
              }
          want[((n * OH + y) * OW + x) * K + o] = (float)acc;
        }
  check_close(got, want, nout, "conv ref vs OIHW");
  free(in);
  free(raw);
  free(w);
  free(got);
  free(want);
}

/* ---------------------------------------------------------------- pools */

typedef struct PoolCase {
  int n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow;
} PoolCase;

/* clang-format off */
static const PoolCase POOL_CASES[] = {
    /* n h  w  c   kh kw sh sw pt pl oh ow */
    {2, 9, 8, 13, 3, 3, 2, 2, 1, 1, 5, 4},  /* stem maxpool 3x3/2 pad 1 */
    {1, 7, 7, 16, 3, 3, 2, 2, 1, 1, 4, 4},
    {2, 7, 9, 5, 2, 2, 2, 2, 0, 0, 4, 5},   /* ResNet-D shortcut: ceil mode */
    {1, 8, 8, 24, 2, 2, 2, 2, 0, 0, 4, 4},  /* exact 2x2/2 */
    {1, 5, 6, 3, 3, 3, 1, 1, 1, 1, 5, 6},   /* 3x3/1 same */
    {1, 1, 1, 40, 2, 2, 2, 2, 0, 0, 1, 1},  /* 1x1 image */
    {2, 11, 3, 17, 3, 3, 2, 2, 1, 1, 6, 2},
    {2, 10, 10, 64, 3, 3, 2, 2, 1, 1, 5, 5}, /* whole vectors */
    {1, 9, 7, 37, 5, 5, 2, 2, 2, 2, 5, 4},   /* vectors + tail, 5x5 window */
};
/* clang-format on */

static void test_pool_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof POOL_CASES / sizeof *POOL_CASES; i++) {
    const PoolCase *t = &POOL_CASES[i];
    size_t nin = (size_t)t->n * t->h * t->w * t->c, nout = (size_t)t->n * t->oh * t->ow * t->c;
    float *in = rnd_buf(nin), *want = out_buf(nout);
    for (int avg = 0; avg <= 1; avg++) {
      (avg ? rsc_avgpool_ref : rsc_maxpool_ref)(in, want, t->n, t->h, t->w, t->c, t->oh, t->ow,
                                                t->kh, t->kw, t->sh, t->sw, t->pt, t->pl);
      /* A max is exact, and the average adds the same taps in the same order
       * before one division: the same bytes as the scalar twin, in any split. */
      for (int parts = 1; parts <= 4; parts++) {
        float *got = out_buf(nout);
        for (int part = 0; part < parts; part++)
          rsc_pool_part(in, got, t->n, t->h, t->w, t->c, t->oh, t->ow, t->kh, t->kw, t->sh, t->sw,
                        t->pt, t->pl, avg, part, parts);
        if (memcmp(got, want, (nout + CANARY) * sizeof *got) != 0)
          fail_msg("%s case %zu in %d parts differs from its _ref", avg ? "avgpool" : "maxpool", i,
                   parts);
        free(got);
      }
    }
    free(in);
    free(want);
  }
}

/* 2x2/2 ceil mode on a 3x3 image: partial windows divide by their in-bounds count. */
static void test_avgpool_partial_window(void **state) {
  (void)state;
  const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float want[4] = {(1 + 2 + 4 + 5) / 4.0f, (3 + 6) / 2.0f, (7 + 8) / 2.0f, 9.0f};
  float got[4 + CANARY];
  for (int i = 0; i < CANARY; i++)
    got[4 + i] = CANARY_VAL;
  rsc_avgpool(in, got, 1, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0, 0);
  for (int i = 0; i < 4; i++)
    assert_float_equal(got[i], want[i], 0.0f);
  rsc_avgpool_ref(in, got, 1, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0, 0);
  for (int i = 0; i < 4; i++)
    assert_float_equal(got[i], want[i], 0.0f);
  assert_true(got[4] == CANARY_VAL);
}

/* 3x3/2 pad 1 on an all-negative 3x3 image: zero padding would win every max. */
static void test_maxpool_padding_ignored(void **state) {
  (void)state;
  const float in[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  const float want[4] = {-1, -2, -4, -5};
  float got[4];
  rsc_maxpool(in, got, 1, 3, 3, 1, 2, 2, 3, 3, 2, 2, 1, 1);
  for (int i = 0; i < 4; i++)
    assert_float_equal(got[i], want[i], 0.0f);
  rsc_maxpool_ref(in, got, 1, 3, 3, 1, 2, 2, 3, 3, 2, 2, 1, 1);
  for (int i = 0; i < 4; i++)
    assert_float_equal(got[i], want[i], 0.0f);
}

static void test_global_pools(void **state) {
  (void)state;
  static const int shapes[][3] = {{1, 49, 2048 / 16}, {2, 7, 13}, {2, 1, 37}, {1, 64, 1}};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    int n = shapes[i][0], hw = shapes[i][1], c = shapes[i][2];
    float *in = rnd_buf((size_t)n * hw * c), *got = out_buf((size_t)n * c),
          *want = out_buf((size_t)n * c);
    rsc_global_avgpool(in, got, n, hw, c);
    rsc_global_avgpool_ref(in, want, n, hw, c);
    check_close(got, want, (size_t)n * c, "global_avgpool");
    rsc_global_maxpool(in, got, n, hw, c);
    rsc_global_maxpool_ref(in, want, n, hw, c);
    check_close(got, want, (size_t)n * c, "global_maxpool");
    free(in);
    free(got);
    free(want);
  }
}

/* ---------------------------------------------------------------- dense and elementwise */

/* Weights [K][CIN] (logical (o, i)) of DENSE_KB = 32 blocks repacked in blocks
 * of kb, with padding columns of NaN: a kernel that stored or read past
 * column K would show it. */
static float *dense_repack(const float *w32, int cin, int k, int kb) {
  const size_t n = (size_t)(k + kb - 1) / (size_t)kb * (size_t)kb * (size_t)cin;
  float *w = malloc(n * sizeof *w);
  for (size_t j = 0; j < n; j++)
    w[j] = NAN;
  for (int o = 0; o < k; o++)
    for (int i = 0; i < cin; i++)
      w[((size_t)(o / kb) * (size_t)cin + (size_t)i) * (size_t)kb + (size_t)(o % kb)] =
          rsc_dense_w_ref(w32, cin, 32, o, i);
  return w;
}

static void test_dense(void **state) {
  (void)state;
  static const int shapes[][3] = {{1, 2048, 1000}, {2, 37, 19}, {2, 1, 5},  {1, 13, 1},
                                  {8, 96, 70},     {3, 5, 33},  {4, 9, 64}, {11, 40, 100},
                                  {8, 300, 2048},  {17, 20, 96}};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int act = RSC_ACT_NONE; act <= RSC_ACT_SIGMOID; act++) {
      int n = shapes[i][0], cin = shapes[i][1], k = shapes[i][2];
      const size_t kpad = (size_t)(k + 31) / 32 * 32;
      float *in = rnd_buf((size_t)n * cin), *w = rnd_buf(kpad * (size_t)cin), *b = rnd_buf(kpad);
      float *got = out_buf((size_t)n * k), *want = out_buf((size_t)n * k);
      rsc_dense(in, w, b, got, n, cin, k, 32, act);
      rsc_dense_ref(in, w, b, want, n, cin, k, 32, act);
      check_close(got, want, (size_t)n * k, "dense");
      /* Split over 2..5 parts (column blocks): the same bytes. */
      for (int parts = 2; parts <= 5; parts++) {
        float *alt = out_buf((size_t)n * k);
        for (int part = 0; part < parts; part++)
          rsc_dense_part(in, w, b, alt, n, cin, k, 32, act, part, parts);
        assert_memory_equal(alt, got, (size_t)n * k * sizeof *got);
        free(alt);
      }
      /* Each row alone gives the bits of its row in the batch (register
       * blocks of 1 row against blocks of up to RSC_DENSE_ROWS). */
      for (int r = 0; r < n; r++) {
        float *one = out_buf((size_t)k);
        rsc_dense(in + (size_t)r * cin, w, b, one, 1, cin, k, 32, act);
        assert_memory_equal(one, got + (size_t)r * k, (size_t)k * sizeof *one);
        free(one);
      }
      /* Other block widths, vector (16, and 8 where vectors are 8 or 4
       * floats) or scalar lanes (8 under AVX-512, 48, 64): the same bits. */
      static const int KBS[] = {16, 8, 48, 64};
      for (size_t q = 0; q < sizeof KBS / sizeof *KBS; q++) {
        const int kb = KBS[q];
        float *wq = dense_repack(w, cin, k, kb), *bq = rnd_buf((size_t)(k + kb - 1) / kb * kb);
        float *alt = out_buf((size_t)n * k);
        memcpy(bq, b, (size_t)k * sizeof *b);
        for (int part = 0; part < 2; part++)
          rsc_dense_part(in, wq, bq, alt, n, cin, k, kb, act, part, 2);
        if (memcmp(alt, got, (size_t)n * k * sizeof *got) != 0)
          fail_msg("dense %dx%dx%d: blocks of %d differ from blocks of 32", n, cin, k, kb);
        free(wq);
        free(bq);
        free(alt);
      }
      free(in);
      free(w);
      free(b);
      free(got);
      free(want);
    }
}

static void test_add_act(void **state) {
  (void)state;
  static const size_t sizes[] = {1, 7, 64, 1001};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (int act = RSC_ACT_NONE; act <= RSC_ACT_SIGMOID; act++) {
      size_t n = sizes[i];
      float *a = rnd_buf(n), *b = rnd_buf(n), *got = out_buf(n), *want = out_buf(n);
      rsc_add_act(a, b, got, n, act);
      rsc_add_act_ref(a, b, want, n, act);
      check_close(got, want, n, "add_act");
      free(a);
      free(b);
      free(got);
      free(want);
    }
}

static void test_se_add(void **state) {
  (void)state;
  static const int shapes[][4] = {{2, 49, 24, 6}, {1, 9, 64, 16}, {2, 1, 13, 1}, {1, 25, 7, 3},
                                  {3, 4, 40, 10}};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int act = RSC_ACT_NONE; act <= RSC_ACT_SIGMOID; act++) {
      int n = shapes[i][0], hw = shapes[i][1], c = shapes[i][2], m = shapes[i][3];
      size_t nx = (size_t)n * hw * c;
      float *x = rnd_buf(nx), *sc = rnd_buf(nx);
      /* fc1 and fc2 in blocks of 32 outputs (LAYOUT_DENSE_BLOCK), padded. */
      const size_t mpad = (size_t)(m + 31) / 32 * 32, cpad = (size_t)(c + 31) / 32 * 32;
      float *w1 = rnd_buf((size_t)c * mpad), *b1 = rnd_buf(mpad);
      float *w2 = rnd_buf((size_t)m * cpad), *b2 = rnd_buf(cpad);
      /* The kernel's scratch is N*(C+M) floats (the ref's C+M); out_buf's
       * canary after it must stay untouched. */
      const size_t nscr = (size_t)n * (size_t)(c + m);
      float *scr = out_buf(nscr), *scr_ref = out_buf((size_t)(c + m));
      float *got = out_buf(nx), *want = out_buf(nx);
      rsc_se_add(x, sc, w1, b1, w2, b2, got, scr, 32, n, hw, c, m, 32, act);
      rsc_se_add_ref(x, sc, w1, b1, w2, b2, want, scr_ref, n, hw, c, m, 32, act);
      check_close(got, want, nx, "se_add");
      for (size_t j = 0; j < CANARY; j++)
        if (scr[nscr + j] != CANARY_VAL)
          fail_msg("se_add wrote past its N*(C+M) scratch (canary %zu)", j);
      /* Chunks of PC pixels, pooled here or summed by a conv (pool, built
       * as rsc_conv2d_part writes it): the same bytes. Unwritten slots are
       * NaN. */
      static const int PCS[] = {1, 3, 5, 16, 32};
      for (size_t q = 0; q < sizeof PCS / sizeof *PCS; q++) {
        const int pc = PCS[q], nch = (hw + pc - 1) / pc;
        float *pool = out_buf((size_t)n * nch * (size_t)c), *alt = out_buf(nx);
        float *fused = out_buf(nx);
        for (long img = 0; img < n; img++)
          for (long j = 0; j < nch; j++)
            for (int k = 0; k < c; k++)
              pool[(img * nch + j) * c + k] = chunk_sum(x, hw, c, pc, img, j, k);
        rsc_se_add(x, sc, w1, b1, w2, b2, alt, scr, pc, n, hw, c, m, 32, act);
        rsc_se_add_part(x, sc, w1, b1, w2, b2, fused, scr, pool, pc, n, hw, c, m, 32, act, 0, 1,
                        NULL, NULL);
        char what[64];
        snprintf(what, sizeof what, "se_add in chunks of %d", pc);
        check_close(alt, want, nx, what);
        if (memcmp(fused, alt, nx * sizeof *alt) != 0)
          fail_msg("se_add in chunks of %d: the pool's chunk sums differ from pooling x", pc);
        free(pool);
        free(alt);
        free(fused);
      }
      free(x);
      free(sc);
      free(w1);
      free(b1);
      free(w2);
      free(b2);
      free(scr);
      free(scr_ref);
      free(got);
      free(want);
    }
}

/*
 * An image's SE tail is the same bytes alone or in a batch: the conv's pool
 * (any tile, any split) and the SE's means count chunks from each image's
 * own first pixel. Image i of a batch of N, through a 1x1 conv pooling for
 * the SE (np 5 in 2 parts) and the SE, against image i alone through the
 * same conv with other tiles and splits (np 3 in 3 parts, np 7 in 1), and
 * against the SE pooling it itself. The maps' pixel counts are no multiple
 * of the tiles or the chunks, so tiles straddle images and chunks.
 */
static void test_se_batch(void **state) {
  (void)state;
  static const int shapes[][6] = {/* n, h, w, c (conv input), k (SE channels), m */
                                  {3, 5, 5, 16, 64, 8}, {3, 7, 9, 8, 40, 4}, {8, 3, 3, 32, 48, 12},
                                  {2, 13, 11, 4, 16, 2}};
  static const int PCS[] = {7, 32};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int act = RSC_ACT_NONE; act <= RSC_ACT_SWISH; act++)
      for (size_t q = 0; q < sizeof PCS / sizeof *PCS; q++) {
        const int n = shapes[i][0], h = shapes[i][1], w = shapes[i][2], c = shapes[i][3];
        const int k = shapes[i][4], m = shapes[i][5], hw = h * w, pc = PCS[q];
        const int nch = (hw + pc - 1) / pc, kb = 16;
        const size_t img_in = (size_t)hw * c, img_x = (size_t)hw * k;
        size_t nw;
        float *in = rnd_buf((size_t)n * img_in), *raw = rnd_buf((size_t)k * c);
        float *wc = pack_conv(raw, k, c, 1, 1, kb, &nw);
        float *bc = rnd_buf((size_t)(k + kb - 1) / kb * kb);
        float *sc = rnd_buf((size_t)n * img_x);
        const size_t mpad = (size_t)(m + 31) / 32 * 32, kpad = (size_t)(k + 31) / 32 * 32;
        float *w1 = rnd_buf((size_t)k * mpad), *b1 = rnd_buf(mpad);
        float *w2 = rnd_buf((size_t)m * kpad), *b2 = rnd_buf(kpad);
        float *x = out_buf((size_t)n * img_x), *pool = out_buf((size_t)n * nch * k);
        float *scr = out_buf((size_t)n * (k + m)), *out = out_buf((size_t)n * img_x);
        for (int part = 0; part < 2; part++)
          rsc_conv2d_part(in, wc, bc, x, pool, pc, n, h, w, c, h, w, k, 1, 1, 1, 1, 0, 0, kb, 5,
                          1, 0, 0, 1, 0, act, part, 2);
        rsc_se_add_part(x, sc, w1, b1, w2, b2, out, scr, pool, pc, n, hw, k, m, 32, RSC_ACT_RELU,
                        0, 1, NULL, NULL);
        float *x1 = out_buf(img_x), *pool1 = out_buf((size_t)nch * k), *out1 = out_buf(img_x);
        for (int img = 0; img < n; img++) {
          static const int NP1[] = {3, 7}, PARTS1[] = {3, 1};
          for (int r = 0; r < 2; r++) {
            const float *sc1 = sc + (size_t)img * img_x;
            for (int part = 0; part < PARTS1[r]; part++)
              rsc_conv2d_part(in + (size_t)img * img_in, wc, bc, x1, pool1, pc, 1, h, w, c, h, w,
                              k, 1, 1, 1, 1, 0, 0, kb, NP1[r], 1, 0, 0, 1, 0, act, part,
                              PARTS1[r]);
            rsc_se_add_part(x1, sc1, w1, b1, w2, b2, out1, scr, pool1, pc, 1, hw, k, m, 32,
                            RSC_ACT_RELU, 0, 1, NULL, NULL);
            if (memcmp(out1, out + (size_t)img * img_x, img_x * sizeof *out1) != 0)
              fail_msg("se n%d %dx%dx%d->%d %s pc %d: image %d alone (np %d) differs from its "
                       "batch",
                       n, h, w, c, k, ACT_NAMES[act], pc, img, NP1[r]);
            rsc_se_add(x1, sc1, w1, b1, w2, b2, out1, scr, pc, 1, hw, k, m, 32, RSC_ACT_RELU);
            if (memcmp(out1, out + (size_t)img * img_x, img_x * sizeof *out1) != 0)
              fail_msg("se n%d %dx%dx%d->%d %s pc %d: image %d alone, pooled by the SE, differs "
                       "from its batch",
                       n, h, w, c, k, ACT_NAMES[act], pc, img);
          }
        }
        float *ptrs[] = {in, raw, wc, bc, sc, w1, b1, w2, b2, x, pool, scr, out, x1, pool1, out1};
        for (size_t j = 0; j < sizeof ptrs / sizeof *ptrs; j++)
          free(ptrs[j]);
      }
}

static void test_softmax(void **state) {
  (void)state;
  static const int shapes[][2] = {{3, 10}, {1, 1000}, {2, 1}};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    int n = shapes[i][0], k = shapes[i][1];
    size_t nx = (size_t)n * k;
    float *got = out_buf(nx), *want = out_buf(nx);
    for (size_t j = 0; j < nx; j++)
      got[j] = want[j] = 20.0f * rnd();
    rsc_softmax(got, n, k);
    rsc_softmax_ref(want, n, k);
    check_close(got, want, nx, "softmax");
    for (int r = 0; r < n; r++) {
      float sum = 0.0f;
      for (int j = 0; j < k; j++)
        sum += got[(size_t)r * k + j];
      assert_float_equal(sum, 1.0f, 1e-5f);
    }
    free(got);
    free(want);
  }
  /* Logits far beyond expf's range: the row max must be subtracted first. */
  float big[3] = {1000.0f, 999.0f, -1000.0f};
  rsc_softmax(big, 1, 3);
  assert_float_equal(big[0], 1.0f / (1.0f + expf(-1.0f)), 1e-6f);
  assert_float_equal(big[1], expf(-1.0f) / (1.0f + expf(-1.0f)), 1e-6f);
  assert_float_equal(big[2], 0.0f, 0.0f);
}

/* The activation codes are the compiler's ActKind values, which emit.c
 * spells as these names. */
/* ---------------------------------------------------------------- entry */

/* rsc_entry_u8 / _f32 against rsc_entry_ref: bytes or floats, NHWC or NCHW,
 * with and without a shift; a subtraction per element, so the same bits. */
static void test_entry(void **state) {
  (void)state;
  enum { N = 2, H = 3, W = 5, C = 3 };
  const size_t n = (size_t)N * H * W * C;
  unsigned char u8[N * H * W * C];
  float *f32 = rnd_buf(n), shift[C] = {123.675f, 116.28f, 103.53f};
  for (size_t i = 0; i < n; i++)
    u8[i] = (unsigned char)(rng_state = rng_state * 1103515245u + 12345u) >> 3;
  float *got = out_buf(n), *want = out_buf(n);
  for (int bytes = 0; bytes <= 1; bytes++)
    for (int nchw = 0; nchw <= 1; nchw++)
      for (int sh = 0; sh <= 1; sh++) {
        if (bytes)
          rsc_entry_u8(u8, got, N, H, W, C, nchw, sh ? shift : NULL);
        else
          rsc_entry_f32(f32, got, N, H, W, C, nchw, sh ? shift : NULL);
        rsc_entry_ref(bytes ? (const void *)u8 : (const void *)f32, bytes, want, N, H, W, C, nchw,
                      sh ? shift : NULL);
        if (memcmp(got, want, (n + CANARY) * sizeof *got) != 0)
          fail_msg("entry %s %s %s: differs from its scalar twin rsc_entry_ref",
                   bytes ? "u8" : "f32", nchw ? "nchw" : "nhwc", sh ? "shift" : "no shift");
      }
  free(f32);
  free(got);
  free(want);
}

static void test_act_codes(void **state) {
  (void)state;
  assert_int_equal(RSC_ACT_NONE, 0);
  assert_int_equal(RSC_ACT_RELU, 1);
  assert_int_equal(RSC_ACT_SWISH, 2);
  assert_int_equal(RSC_ACT_SIGMOID, 3);
  assert_float_equal(rsc_act(-2.0f, RSC_ACT_RELU), 0.0f, 0.0f);
  assert_float_equal(rsc_act(3.0f, RSC_ACT_SWISH), 3.0f / (1.0f + expf(-3.0f)), 1e-6f);
  assert_float_equal(rsc_act(0.0f, RSC_ACT_SIGMOID), 0.5f, 0.0f);
  assert_float_equal(rsc_act(-7.5f, RSC_ACT_NONE), -7.5f, 0.0f);
}

int main(void) {
  const char *sub = getenv("RSC_TEST_SUBSET");
  subset = sub && strcmp(sub, "1") == 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_act_codes),
      cmocka_unit_test(test_conv_ref_layout),
      cmocka_unit_test(test_conv_cases),
      cmocka_unit_test(test_conv_every_act),
      cmocka_unit_test(test_wino_filter_transform),
      cmocka_unit_test(test_wino_cases),
      cmocka_unit_test(test_pool_cases),
      cmocka_unit_test(test_avgpool_partial_window),
      cmocka_unit_test(test_maxpool_padding_ignored),
      cmocka_unit_test(test_global_pools),
      cmocka_unit_test(test_dense),
      cmocka_unit_test(test_add_act),
      cmocka_unit_test(test_se_add),
      cmocka_unit_test(test_se_batch),
      cmocka_unit_test(test_softmax),
      cmocka_unit_test(test_entry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
