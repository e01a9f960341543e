/*
 * test_shape.c - shape inference (compiler/shape.c), run up to shape
 * (tests/unit/pipeline_util.h):
 *   - hand-computed shapes of a small odd-sized net (17x19, batch 2): the
 *     stride-2 convs (pad 1) give ceil(n/2); the 2x2/2 shortcut avgpool is
 *     ceil mode with its overhang as end padding (5 rows -> 3, pad_b 1);
 *     the head gives [2,1,1,classes];
 *   - every node of RS-50 and of the small net against the rules, computed
 *     here: window ops (in + pads - k)/s + 1 (avgpool: ceil, overhang in
 *     pad_b/pad_r), conv channels from the weight, elementwise ops keep the
 *     shape, global pools and dense [N,1,1,C], a conv's weight reads its
 *     input's channels;
 *   - an input too small is refused, naming the layer and the smallest
 *     accepted size (17x17 for five stride-2 layers: ceil(17/16) = 2), and a
 *     tensor over the limit is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#define SMALL "blocks 1 1 1 1\nwidths 8 16 24 32\nstem_widths 4 4 8\nclasses 5\nbatch 2\n"

static const Node *node(const Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0)
      return &g->nodes[i];
  fail_msg("no node %s", name);
  return NULL;
}

static void expect(const Graph *g, const char *name, int n, int h, int w, int c) {
  Shape s = node(g, name)->out;
  if (s.n != n || s.h != h || s.w != w || s.c != c)
    fail_msg("%s: [%d,%d,%d,%d], expected [%d,%d,%d,%d]", name, s.n, s.h, s.w, s.c, n, h, w, c);
}

static void test_hand_computed(void **state) {
  (void)state;
  Graph g;
  assert_true(pipeline_to(&g, SMALL "height 17\nwidth 19\n", "shape", TARGET_AVX2));
  expect(&g, "input", 2, 17, 19, 3);
  expect(&g, "conv1.0", 2, 9, 10, 4);
  expect(&g, "conv1.6", 2, 9, 10, 8);
  expect(&g, "maxpool.0", 2, 5, 5, 8); /* the stem's stride-2 conv */
  expect(&g, "layer1.0.conv3", 2, 5, 5, 32);
  expect(&g, "layer2.0.downsample.0", 2, 3, 3, 32);
  const Node *p = node(&g, "layer2.0.downsample.0");
  assert_int_equal(p->pad_b, 1); /* ceil mode: the last window hangs over one row */
  assert_int_equal(p->pad_r, 1);
  expect(&g, "layer2.0.conv2", 2, 3, 3, 16);
  expect(&g, "layer2.0.add", 2, 3, 3, 64);
  expect(&g, "layer3.0.downsample.0", 2, 2, 2, 64);
  expect(&g, "layer4.0.conv2", 2, 1, 1, 32);
  expect(&g, "layer4.0.se.pool", 2, 1, 1, 128);
  expect(&g, "layer4.0.se.fc1", 2, 1, 1, 32);
  expect(&g, "global_pool", 2, 1, 1, 128);
  expect(&g, "fc", 2, 1, 1, 5);
  graph_free(&g);
}

static void check_rules(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op == OP_INPUT)
      continue;
    Shape in = g->nodes[n->in[0]].out, o = n->out, want = in;
    switch (n->op) {
    case OP_CONV:
      assert_int_equal(g->tensors[n->w].dims[1], in.c);
      want.c = g->tensors[n->w].dims[0];
      want.h = (in.h + n->pad_t + n->pad_b - n->kh) / n->sh + 1;
      want.w = (in.w + n->pad_l + n->pad_r - n->kw) / n->sw + 1;
      break;
    case OP_POOL:
      if (n->attr.pool.global) {
        want.h = want.w = 1;
      } else if (n->attr.pool.kind == POOL_MAX) {
        want.h = (in.h + n->pad_t + n->pad_b - n->kh) / n->sh + 1;
        want.w = (in.w + n->pad_l + n->pad_r - n->kw) / n->sw + 1;
      } else {
        want.h = in.h <= n->kh ? 1 : (in.h - n->kh + n->sh - 1) / n->sh + 1;
        want.w = in.w <= n->kw ? 1 : (in.w - n->kw + n->sw - 1) / n->sw + 1;
        assert_int_equal(n->pad_t, 0);
        assert_int_equal(n->pad_b, (want.h - 1) * n->sh + n->kh - in.h);
        assert_int_equal(n->pad_r, (want.w - 1) * n->sw + n->kw - in.w);
      }
      break;
    case OP_DENSE:
      assert_int_equal(g->tensors[n->w].dims[1], in.c);
      want = (Shape){in.n, 1, 1, g->tensors[n->w].dims[0]};
      break;
    case OP_SCALE:
    case OP_ADD: /* both inputs the same (SCALE: a vector per channel) */
      assert_int_equal(g->nodes[n->in[1]].out.c, in.c);
      if (n->op == OP_ADD)
        assert_memory_equal(&g->nodes[n->in[1]].out, &in, sizeof in);
      break;
    case OP_BN:
    case OP_ACT:
    case OP_SOFTMAX:
    case OP_SE_ADD:
    case OP_ENTRY:
    case OP_INPUT:
    case OP_COUNT:
      break;
    }
    if (memcmp(&o, &want, sizeof o) != 0)
      fail_msg("%s (%s): [%d,%d,%d,%d], the rule gives [%d,%d,%d,%d]", n->name, node_op_name(n),
               o.n, o.h, o.w, o.c, want.n, want.h, want.w, want.c);
  }
}

static void test_rules(void **state) {
  (void)state;
  static const char *const specs[] = {
      "depth 50\nheight 160\nwidth 160\n",
      "depth 50\nheight 97\nwidth 131\nwidth_multiplier 0.25\nbatch 3\n",
      "depth 50\nheight 33\nwidth 65\nstem classic\nstem_widths 64\nstem_downsample maxpool\n"
      "shortcut strided\nhead max\n",
      SMALL "height 17\nwidth 19\n",
  };
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    Graph g;
    assert_true(pipeline_to_deferred(&g, specs[i], "shape", TARGET_AVX2));
    check_rules(&g);
    graph_free(&g);
  }
}

/* Runs up to shape expecting failure; returns what was diagnosed. */
static char *refused(const char *spec) {
  Spec s;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  Diag d;
  diag_init(&d, f);
  spec_defaults(&s);
  SrcFile src = {"t.spec", spec, strlen(spec)};
  assert_true(spec_parse(&s, &src, &d) && spec_finish(&s, &d));
  Graph g;
  graph_init(&g, &s);
  assert_true(build_graph(&g, &d));
  assert_false(infer_shapes(&g, &d));
  graph_free(&g);
  fclose(f);
  return buf;
}

static void test_too_small(void **state) {
  (void)state;
  char *m = refused(SMALL "height 16\nwidth 19\n");
  if (!strstr(m, "input 16x19 is too small") || !strstr(m, "smallest input it accepts is 17x17"))
    fail_msg("unexpected diagnostic: %s", m);
  free(m);
  m = refused("blocks 1 1 1 1\nwidths 8 16 24 32\nstem_widths 4 4 8\nheight 20000\n"
              "width 20000\nbatch 8\n");
  if (!strstr(m, "'input' would produce [8,20000,20000,3] = 9600000000 floats, over the limit"))
    fail_msg("unexpected diagnostic: %s", m);
  free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_computed),
      cmocka_unit_test(test_rules),
      cmocka_unit_test(test_too_small),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
