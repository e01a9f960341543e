/*
 * test_fuse.c - operator fusion (compiler/fuse.c), on small networks run up
 * to fuse (tests/unit/pipeline_util.h):
 *   - which ops are fused: no live ACT, SCALE, or SE pool/fc is left; every
 *     conv that fed a ReLU (swish under `activation swish`) carries it; the
 *     head's global pool and dense stay;
 *   - the conv -> SE link: each block's SE_ADD reads the block's conv3 (in[0])
 *     and carries that block's fc1/fc2 tensors, fc1's width as attr.se.mid;
 *   - the residual link: in[1] of the SE_ADD (or, with se_ratio 0, of the
 *     ADD, which then carries the block's activation) is the shortcut: the
 *     downsample conv in a block's first unit, the previous unit otherwise;
 *   - nothing else goes: the live nodes drop by one per activation and four
 *     more per SE tail (pool, fc1, fc2, scale; the ADD becomes the SE_ADD).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#define NET "blocks 1 2 1 1\nwidths 8 16 24 32\nstem_widths 4 4 8\nwidth 19\nheight 17\n"

static int find(const Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && strcmp(g->nodes[i].name, name) == 0)
      return i;
  return -1;
}

static int live(const Graph *g, Op op) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++)
    n += !g->nodes[i].dead && g->nodes[i].op == op;
  return n;
}

static const char *const units[] = {"layer1.0", "layer2.0", "layer2.1", "layer3.0", "layer4.0"};

/* The shortcut a unit's residual adds: the downsample conv of a stage's first
 * unit, else the previous unit's output. */
static int shortcut_of(const Graph *g, int u, const char *prev_out_suffix) {
  char name[64];
  if (strcmp(units[u] + strlen(units[u]) - 2, ".0") == 0) {
    snprintf(name, sizeof name, "%s.downsample.1", units[u]);
  } else {
    snprintf(name, sizeof name, "%s%s", units[u - 1], prev_out_suffix);
  }
  int id = find(g, name);
  if (id < 0)
    fail_msg("no node %s", name);
  return id;
}

static void check_fused(const char *spec, ActKind act, bool se) {
  Graph b, g;
  assert_true(pipeline_to(&b, spec, "entry", TARGET_AVX2));
  assert_true(pipeline_to(&g, spec, "fuse", TARGET_AVX2));
  /* What disappeared: every ACT, every SE tail. */
  int acts = live(&b, OP_ACT), scales = live(&b, OP_SCALE);
  assert_int_equal(scales, se ? 5 : 0);
  assert_int_equal(live(&g, OP_ACT), 0);
  assert_int_equal(live(&g, OP_SCALE), 0);
  assert_int_equal(live(&g, OP_SE_ADD), se ? 5 : 0);
  assert_int_equal(live(&g, OP_ADD), se ? 0 : 5);
  int global_avg = 0;
  for (int i = 0; i < g.nnodes; i++)
    global_avg += !g.nodes[i].dead && g.nodes[i].op == OP_POOL && g.nodes[i].attr.pool.global &&
                  g.nodes[i].attr.pool.kind == POOL_AVG;
  assert_int_equal(global_avg, 1); /* the head's */
  assert_int_equal(live(&g, OP_DENSE), 1);
  /* Per SE tail: pool, fc1, its act, fc2, gate act (=sigmoid), scale go, and
   * the ADD becomes the SE_ADD; each other ACT goes into its producer. */
  int live_b = 0, live_g = 0;
  for (int i = 0; i < b.nnodes; i++)
    live_b += !b.nodes[i].dead;
  for (int i = 0; i < g.nnodes; i++)
    live_g += !g.nodes[i].dead;
  assert_int_equal(live_b - live_g, acts + (se ? 4 * scales : 0));
  /* Every conv that fed an activation carries it. */
  for (int i = 0; i < b.nnodes; i++) {
    const Node *a = &b.nodes[i];
    if (a->dead || a->op != OP_ACT || strstr(a->name, ".se."))
      continue;
    const Node *src = &b.nodes[a->in[0]];
    if (src->op == OP_ADD && se)
      continue; /* into the SE_ADD, checked below */
    int f = find(&g, src->name);
    assert_true(f >= 0);
    if (g.nodes[f].act != a->act)
      fail_msg("%s: act %s, the built graph's %s had %s", g.nodes[f].name,
               act_name(g.nodes[f].act), a->name, act_name(a->act));
    assert_int_equal(a->act, act);
  }
  /* The links: conv3 -> SE (or ADD) <- shortcut. */
  for (int u = 0; u < 5; u++) {
    char name[64];
    snprintf(name, sizeof name, se ? "%s.se" : "%s.add", units[u]);
    int s = find(&g, name);
    if (s < 0)
      fail_msg("no node %s", name);
    const Node *n = &g.nodes[s];
    assert_int_equal(n->op, se ? OP_SE_ADD : OP_ADD);
    assert_int_equal(n->act, act);
    snprintf(name, sizeof name, "%s.conv3", units[u]);
    assert_int_equal(n->in[0], find(&g, name));
    assert_int_equal(g.nodes[n->in[0]].act, ACT_NONE);
    assert_int_equal(n->in[1], shortcut_of(&g, u, se ? ".se" : ".add"));
    if (!se)
      continue;
    const SeAttr *se_attr = &n->attr.se;
    const struct {
      const char *part;
      int id;
    } parts[] = {{"se.fc1.weight", se_attr->fc1_w},
                 {"se.fc1.bias", se_attr->fc1_b},
                 {"se.fc2.weight", se_attr->fc2_w},
                 {"se.fc2.bias", se_attr->fc2_b}};
    for (int k = 0; k < 4; k++) {
      snprintf(name, sizeof name, "%s.%s", units[u], parts[k].part);
      assert_true(parts[k].id >= 0);
      assert_string_equal(g.tensors[parts[k].id].name, name);
    }
    assert_int_equal(se_attr->mid, g.tensors[se_attr->fc1_w].dims[0]);
    assert_int_equal(g.tensors[se_attr->fc2_w].dims[0], n->out.c);
  }
  graph_free(&b);
  graph_free(&g);
}

static void test_se_relu(void **state) {
  (void)state;
  check_fused(NET, ACT_RELU, true);
}

static void test_se_swish(void **state) {
  (void)state;
  check_fused(NET "activation swish\n", ACT_SWISH, true);
}

static void test_no_se(void **state) {
  (void)state;
  check_fused(NET "se_ratio 0\n", ACT_RELU, false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_se_relu),
      cmocka_unit_test(test_se_swish),
      cmocka_unit_test(test_no_se),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
