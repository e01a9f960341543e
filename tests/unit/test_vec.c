/*
 * test_vec.c - the vector layer (runtime/rsc_vec.h) against its scalar twin
 * (runtime/rsc_vec_ref.h) and plain C, lane by lane: loads and stores,
 * broadcast, FMA (bit-identical to RSC_REF_FMA, which the kernels' twins
 * rely on), add, sub, ReLU, max (with maxps's rule for NaN: the second
 * operand), the activations of every code, and the even split of a range
 * over the team (covering, disjoint, in 16-float runs). Built without -m
 * flags it tests the portable 4-lane code; the Makefile builds it once more
 * with the host's vector ISA (test_vec_host), as test_kernels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rsc_limits.h"
#include "../../runtime/rsc_vec.h"
#include "../../runtime/rsc_vec_ref.h"

enum { N = 64 }; /* floats per test vector set, a multiple of every RSC_VL */

static float a[N], b[N], c[N];

/* Values with both signs, zeros, tiny and large magnitudes, fixed seed. */
static void fill(void) {
  uint32_t s = 12345;
  for (int i = 0; i < N; i++) {
    s = s * 1664525u + 1013904223u;
    a[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 20.0f;
    s = s * 1664525u + 1013904223u;
    b[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 3.0f;
    s = s * 1664525u + 1013904223u;
    c[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 1e-3f;
  }
  a[0] = 0.0f, a[1] = -0.0f, b[2] = 0.0f, a[3] = 1e30f, b[3] = 1e10f, a[4] = -1e-30f;
}

/* Bitwise equality: the layer's lanes compute exactly the scalar operation. */
static void assert_bits(const float *got, const float *want, int n) {
  for (int i = 0; i < n; i++)
    if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
      fail_msg("lane %d: got %a, want %a", i, (double)got[i], (double)want[i]);
}

static void test_load_store_set1(void **state) {
  (void)state;
  fill();
  float out[N + 1];
  out[N] = 42.0f; /* canary after the last vector */
  for (int i = 0; i + RSC_VL <= N; i += RSC_VL)
    rsc_vstore(out + i, rsc_vload(a + i));
  assert_bits(out, a, N);
  assert_true(out[N] == 42.0f);
  /* unaligned addresses */
  rsc_vstore(out + 1, rsc_vload(b + 3));
  assert_bits(out + 1, b + 3, RSC_VL);
  rsc_vstore(out, rsc_vset1(-2.5f));
  for (int i = 0; i < RSC_VL; i++)
    assert_true(out[i] == -2.5f);
}

static void test_arith(void **state) {
  (void)state;
  fill();
  float got[N], want[N];
  for (int i = 0; i + RSC_VL <= N; i += RSC_VL)
    rsc_vstore(got + i, rsc_vfma(rsc_vload(a + i), rsc_vload(b + i), rsc_vload(c + i)));
  for (int i = 0; i < N; i++)
    want[i] = RSC_REF_FMA(a[i], b[i], c[i]);
  assert_bits(got, want, N);
  for (int i = 0; i + RSC_VL <= N; i += RSC_VL)
    rsc_vstore(got + i, rsc_vadd(rsc_vload(a + i), rsc_vload(b + i)));
  for (int i = 0; i < N; i++)
    want[i] = a[i] + b[i];
  assert_bits(got, want, N);
  for (int i = 0; i + RSC_VL <= N; i += RSC_VL)
    rsc_vstore(got + i, rsc_vsub(rsc_vload(a + i), rsc_vload(b + i)));
  for (int i = 0; i < N; i++)
    want[i] = a[i] - b[i];
  assert_bits(got, want, N);
}

static void test_relu_max(void **state) {
  (void)state;
  fill();
  float got[N], want[N];
  for (int i = 0; i + RSC_VL <= N; i += RSC_VL)
    rsc_vstore(got + i, rsc_vrelu(rsc_vload(a + i)));
  for (int i = 0; i < N; i++)
    want[i] = rsc_act_ref(a[i], RSC_ACT_RELU);
  assert_bits(got + 2, want + 2, N - 2); /* lanes 0, 1: +0 and -0, below */
  assert_true(got[0] == 0.0f && got[1] == 0.0f);
  for (int i = 0; i + RSC_VL <= N; i += RSC_VL)
    rsc_vstore(got + i, rsc_vmax(rsc_vload(a + i), rsc_vload(b + i)));
  for (int i = 0; i < N; i++)
    want[i] = a[i] > b[i] ? a[i] : b[i];
  assert_bits(got, want, N);
  /* NaN in either operand: the second operand, as maxps */
  float x[RSC_VL], y[RSC_VL];
  for (int i = 0; i < RSC_VL; i++)
    x[i] = i % 2 ? NAN : 1.0f, y[i] = i % 2 ? 2.0f : NAN;
  rsc_vstore(got, rsc_vmax(rsc_vload(x), rsc_vload(y)));
  for (int i = 0; i < RSC_VL; i++)
    if (i % 2)
      assert_true(got[i] == 2.0f);
    else
      assert_true(isnan(got[i]));
}

static void test_act_twin(void **state) {
  (void)state;
  fill();
  const int acts[] = {RSC_ACT_NONE, RSC_ACT_RELU, RSC_ACT_SWISH, RSC_ACT_SIGMOID};
  for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++)
    for (int i = 0; i < N; i++) {
      float got = rsc_act(a[i], acts[k]), want = rsc_act_ref(a[i], acts[k]);
      if (memcmp(&got, &want, sizeof got) != 0 && !(got == 0.0f && want == 0.0f))
        fail_msg("act %d of %a: got %a, want %a", acts[k], (double)a[i], (double)got,
                 (double)want);
    }
  assert_true(rsc_act(-3.0f, RSC_ACT_RELU) == 0.0f);
  assert_true(rsc_act(0.0f, RSC_ACT_SIGMOID) == 0.5f);
  assert_true(rsc_act(0.0f, RSC_ACT_SWISH) == 0.0f);
}

/* Every split covers [0, n) exactly once, in order, each range starting on a
 * 16-float boundary (no cache line written by two parts). */
static void test_range(void **state) {
  (void)state;
  const size_t ns[] = {0, 1, 15, 16, 17, 100, 1000, 4096, 12345};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    for (int parts = 1; parts <= 9; parts++) {
      size_t next = 0;
      for (int part = 0; part < parts; part++) {
        size_t lo, hi;
        rsc_range(ns[i], part, parts, &lo, &hi);
        assert_true(lo == next);
        assert_true(hi >= lo && hi <= ns[i]);
        assert_true(lo % 16 == 0 || lo == ns[i]);
        next = hi;
      }
      assert_true(next == ns[i]);
    }
  size_t lo, hi; /* near-equal: 64 runs over 4 parts are 16 each */
  rsc_range(1024, 1, 4, &lo, &hi);
  assert_true(lo == 256 && hi == 512);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_store_set1), cmocka_unit_test(test_arith),
      cmocka_unit_test(test_relu_max),        cmocka_unit_test(test_act_twin),
      cmocka_unit_test(test_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
