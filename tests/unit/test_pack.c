/*
 * test_pack.c - weight packing (compiler/pack.c), on a net with 64-channel
 * 4x4 maps (so some convs run as Winograd), SE blocks and a dense head, run
 * up to pack (tests/unit/pipeline_util.h) for every --target:
 *   - every raw element lands at the offset pack.c's header documents:
 *     conv (o,i,h,w) at (((o/kb)*KH + h)*KW + w)*I*kb + i*kb + o%kb; Winograd
 *     element xi of U = G g G^T at ((o/kb)*16 + xi)*I*kb + i*kb + o%kb, U
 *     computed here in double from G; dense (o,i) at ((o/kb)*I + i)*kb + o%kb
 *     with kb DENSE_KB; a vector's o at o; everything else zero;
 *   - which layout each tensor gets (from its node: conv weight by sched->conv.wino,
 *     bias VECTOR at the conv's kb; dense and SE fc DENSE_BLOCK);
 *   - the payload: offsets 16-float aligned, in node order, not overlapping,
 *     weight_floats their end; tensors no live node uses are freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#include <math.h>
#include <string.h>

#include "../../runtime/rsc_conv_bf16_ref.h" /* the rounding pack.c must use */

static const char net[] = "blocks 1 1 2 1\nwidths 64 64 64 64\nstem_widths 8 8 16\nwidth 64\n"
                          "height 64\nclasses 10\nchannels 3\n";

/* u = G g G^T in double, G of F(2x2,3x3). */
static void wino_u(const float g[9], double u[16]) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  double t[4][3];
  for (int a = 0; a < 4; a++)
    for (int j = 0; j < 3; j++)
      t[a][j] = G[a][0] * g[0 * 3 + j] + G[a][1] * g[1 * 3 + j] + G[a][2] * g[2 * 3 + j];
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      u[a * 4 + b] = t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2];
}

/* Checks t's packed image dst against its raw values, element by element;
 * counts the elements written so the rest can be checked to be zero. */
static void check_tensor(const Tensor *t, const float *raw, const float *dst) {
  size_t n = t->packed_floats, O = (size_t)t->dims[0], kb = (size_t)t->kb;
  size_t padded = (O + kb - 1) / kb * kb;
  char *hit = xcalloc(n, 1);
  switch (t->layout) {
  case LAYOUT_CONV_BLOCK: {
    size_t I = (size_t)t->dims[1], KH = (size_t)t->dims[2], KW = (size_t)t->dims[3];
    assert_int_equal(n, padded * I * KH * KW);
    for (size_t o = 0; o < O; o++)
      for (size_t i = 0; i < I; i++)
        for (size_t h = 0; h < KH; h++)
          for (size_t w = 0; w < KW; w++) {
            size_t at = (((o / kb) * KH + h) * KW + w) * I * kb + i * kb + o % kb;
            if (dst[at] != raw[((o * I + i) * KH + h) * KW + w])
              fail_msg("%s (%zu,%zu,%zu,%zu) not at %zu", t->name, o, i, h, w, at);
            hit[at] = 1;
          }
    break;
  }
  case LAYOUT_WINO_BLOCK: {
    size_t I = (size_t)t->dims[1];
    assert_int_equal(t->dims[2], 3);
    assert_int_equal(n, padded * 16 * I);
    for (size_t o = 0; o < O; o++)
      for (size_t i = 0; i < I; i++) {
        double u[16];
        wino_u(raw + (o * I + i) * 9, u);
        for (size_t xi = 0; xi < 16; xi++) {
          size_t at = ((o / kb) * 16 + xi) * I * kb + i * kb + o % kb;
          if (fabs(dst[at] - u[xi]) > 1e-6 * (fabs(u[xi]) + 1e-3))
            fail_msg("%s (%zu,%zu) U[%zu] %g at %zu, expected %g", t->name, o, i, xi, dst[at], at,
                     u[xi]);
          hit[at] = 1;
        }
      }
    break;
  }
  case LAYOUT_DENSE_BLOCK: {
    size_t I = (size_t)t->dims[1];
    assert_int_equal(kb, DENSE_KB);
    assert_int_equal(n, padded * I);
    for (size_t o = 0; o < O; o++)
      for (size_t i = 0; i < I; i++) {
        size_t at = ((o / kb) * I + i) * kb + o % kb;
        if (dst[at] != raw[o * I + i])
          fail_msg("%s (%zu,%zu) not at %zu", t->name, o, i, at);
        hit[at] = 1;
      }
    break;
  }
  case LAYOUT_CONV_BF16: { /* words of two bf16: (o, 2p) low, (o, 2p+1) high */
    size_t I = (size_t)t->dims[1], KH = (size_t)t->dims[2], KW = (size_t)t->dims[3];
    size_t I2 = (I + 1) / 2;
    assert_int_equal(n, padded * I2 * KH * KW);
    for (size_t o = 0; o < O; o++)
      for (size_t i = 0; i < I; i++)
        for (size_t h = 0; h < KH; h++)
          for (size_t w = 0; w < KW; w++) {
            size_t at = (((o / kb) * KH + h) * KW + w) * I2 * kb + (i / 2) * kb + o % kb;
            uint32_t word;
            memcpy(&word, &dst[at], 4);
            float x = raw[((o * I + i) * KH + h) * KW + w];
            uint32_t want = rsc_bf16_ref(x);
            if ((i % 2 ? word >> 16 : word & 0xffffu) != want)
              fail_msg("%s (%zu,%zu,%zu,%zu): word %08x at %zu, want %04x", t->name, o, i, h, w,
                       word, at, want);
            /* the nearest bf16: within half a unit of its last place */
            float back = rsc_bf16_float_ref(want);
            assert_true(fabsf(back - x) <= fabsf(x) * 0x1p-8f);
            if (i + 1 == I && I % 2) /* an odd I's last pair: zero high half */
              assert_int_equal(word >> 16, 0);
            hit[at] = 1;
          }
    break;
  }
  case LAYOUT_VECTOR:
    assert_int_equal(n, padded);
    for (size_t o = 0; o < O; o++) {
      assert_true(dst[o] == raw[o]);
      hit[o] = 1;
    }
    break;
  case LAYOUT_RAW:
    fail_msg("%s: used but no layout", t->name);
  }
  for (size_t k = 0; k < n; k++)
    if (!hit[k] && dst[k] != 0)
      fail_msg("%s: padding at %zu is %g, not 0", t->name, k, dst[k]);
  free(hit);
}

static void expect_layout(const Graph *g, int id, Layout l, int kb) {
  assert_true(id >= 0);
  assert_true(g->tensors[id].used);
  assert_int_equal(g->tensors[id].layout, l);
  assert_int_equal(g->tensors[id].kb, kb);
}

static void check_spec(const char *spec, Target target, int *winos, int *bf16s) {
  Graph g;
  /* The raw values: the state before pack (fold and entry wrote them). */
  Graph raw;
  assert_true(pipeline_to(&raw, spec, "plan", target));
  assert_true(pipeline_to(&g, spec, "pack", target));
  /* Layouts from the nodes. */
  size_t prev_end = 0;
  int last_node_order = -1;
  for (int i = 0; i < g.nnodes; i++) {
    const Node *n = &g.nodes[i];
    if (n->dead)
      continue;
    if (n->op == OP_CONV) {
      const ConvSched *cs = &n->sched->conv;
      expect_layout(&g, n->w,
                    cs->wino   ? LAYOUT_WINO_BLOCK
                    : cs->bf16 ? LAYOUT_CONV_BF16
                               : LAYOUT_CONV_BLOCK,
                    cs->kb);
      expect_layout(&g, n->b, LAYOUT_VECTOR, cs->kb);
      *winos += cs->wino;
      *bf16s += cs->bf16;
      /* bf16: every conv but the first (which reads the image), none Winograd */
      bool first = g.nodes[n->in[0]].op == OP_INPUT || g.nodes[n->in[0]].op == OP_ENTRY;
      assert_int_equal(cs->bf16, g.spec.precision == PRECISION_BF16 && !first);
      if (g.spec.precision == PRECISION_BF16)
        assert_false(cs->wino);
    } else if (n->op == OP_DENSE) {
      expect_layout(&g, n->w, LAYOUT_DENSE_BLOCK, DENSE_KB);
      expect_layout(&g, n->b, LAYOUT_VECTOR, DENSE_KB);
    } else if (n->op == OP_SE_ADD) {
      expect_layout(&g, n->attr.se.fc1_w, LAYOUT_DENSE_BLOCK, DENSE_KB);
      expect_layout(&g, n->attr.se.fc1_b, LAYOUT_VECTOR, DENSE_KB);
      expect_layout(&g, n->attr.se.fc2_w, LAYOUT_DENSE_BLOCK, DENSE_KB);
      expect_layout(&g, n->attr.se.fc2_b, LAYOUT_VECTOR, DENSE_KB);
    }
    /* Offsets in node order, aligned, back to back (up to alignment). */
    TensorRef refs[NODE_MAX_TENSORS];
    for (int k = 0, m = node_tensors(n, refs); k < m; k++) {
      const Tensor *t = &g.tensors[refs[k].id];
      assert_int_equal(t->offset % 16, 0);
      assert_int_equal(t->offset, (prev_end + 15) / 16 * 16);
      prev_end = t->offset + t->packed_floats;
      last_node_order = i;
    }
  }
  assert_true(last_node_order > 0);
  assert_int_equal(g.weight_floats, (prev_end + 15) / 16 * 16);
  /* Every used tensor, element by element. */
  int used = 0;
  for (int k = 0; k < g.ntensors; k++) {
    const Tensor *t = &g.tensors[k];
    if (!t->used) {
      assert_null(t->data); /* freed: BN statistics, pruned nodes */
      continue;
    }
    used++;
    const Tensor *r = &raw.tensors[k];
    assert_string_equal(r->name, t->name);
    float *dst = xmalloc(t->packed_floats * sizeof *dst);
    for (size_t j = 0; j < t->packed_floats; j++)
      dst[j] = NAN; /* no stale value may pass for padding */
    pack_tensor(t, r->data, dst);
    check_tensor(t, r->data, dst);
    free(dst);
  }
  assert_true(used > 20);
  graph_free(&raw);
  graph_free(&g);
}

static void test_layouts(void **state) {
  (void)state;
  int winos = 0, bf16s = 0;
  check_spec(net, TARGET_GENERIC, &winos, &bf16s);
  check_spec(net, TARGET_AVX2, &winos, &bf16s);
  check_spec(net, TARGET_AVX512, &winos, &bf16s);
  assert_true(winos > 0); /* the Winograd layout was checked */
  assert_int_equal(bf16s, 0);
  /* bf16, with an odd channel count somewhere: stem widths 8 7 16 */
  static const char net_bf16[] = "blocks 1 1 2 1\nwidths 64 64 64 64\nstem_widths 8 7 16\n"
                                 "width 64\nheight 64\nclasses 10\nchannels 3\n"
                                 "precision bf16\n";
  check_spec(net_bf16, TARGET_AVX512_BF16, &winos, &bf16s);
  assert_true(bf16s > 10); /* the bf16 layout was checked */
}

/* wino_filter_transform alone, on a filter with a known transform: g all
 * ones gives U rows (1, 1.5, 0.5, 1) x (1, 1.5, 0.5, 1)... computed by hand:
 * G 1 = (1, 1.5, 0.5, 1), so U = v v^T with v = (1, 1.5, 0.5, 1). */
static void test_wino_transform(void **state) {
  (void)state;
  float g[9], u[16];
  for (int k = 0; k < 9; k++)
    g[k] = 1;
  wino_filter_transform(g, u);
  static const double v[4] = {1, 1.5, 0.5, 1};
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      assert_float_equal(u[a * 4 + b], v[a] * v[b], 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layouts),
      cmocka_unit_test(test_wino_transform),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
