/*
 * test_plan.c - the memory plan (compiler/plan.c), checked against live
 * ranges recomputed here from the graph's edges, on networks run up to plan
 * (tests/unit/pipeline_util.h): with SE (in-place SE_ADDs), without SE (plain
 * ADDs, none in place), with an entry node and batch 3, and a headless one:
 *   - no two simultaneously live arena tensors overlap (a tensor is live
 *     from its node to its last reader, both included, so an output never
 *     overlaps an input), except an SE_ADD and the input it writes over;
 *   - the in-place rules: `over` is one of the SE_ADD's inputs, of the same
 *     size, whose last reader it is; the shortcut (in[1]) is preferred when
 *     both qualify; an SE_ADD that is no input's last reader is not in place;
 *     only SE_ADDs are ever in place;
 *   - the input and the output are not in the arena; offsets are 64-byte
 *     aligned; the SE scratch sits above every tensor and fits in the arena;
 *     the lower bound is the most floats live at once plus the scratch, and
 *     the arena is not below it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#define NET "blocks 1 2 1 1\nwidths 8 16 24 32\nstem_widths 4 4 8\nwidth 19\nheight 17\n"

static size_t floats(const Node *n) { return (shape_elems(n->out) + 15) / 16 * 16; }

static void check_plan(const char *spec, int want_in_place) {
  Graph g;
  assert_true(pipeline_to(&g, spec, "plan", TARGET_AVX2));
  int nn = g.nnodes;
  int *last = xmalloc((size_t)nn * sizeof *last); /* own last reader */
  for (int i = 0; i < nn; i++)
    last[i] = i;
  for (int i = 0; i < nn; i++)
    if (!g.nodes[i].dead)
      for (int k = 0; k < g.nodes[i].nin; k++)
        if (last[g.nodes[i].in[k]] < i)
          last[g.nodes[i].in[k]] = i;
  /* The buffer each node's output is in: itself, or what it writes over. */
  int *buf = xmalloc((size_t)nn * sizeof *buf);
  int in_place = 0;
  size_t top = 0, max_scratch = 0;
  for (int i = 0; i < nn; i++) {
    const Node *n = &g.nodes[i];
    buf[i] = i;
    if (n->dead)
      continue;
    assert_int_equal(n->in_arena, i != g.input && i != g.output);
    if (n->op == OP_SE_ADD) { /* the output's too: it writes there */
      size_t s = se_scratch_floats(n);
      max_scratch = s > max_scratch ? s : max_scratch;
    }
    if (!n->in_arena)
      continue;
    assert_int_equal(n->offset % 16, 0);
    if (n->offset + floats(n) > top)
      top = n->offset + floats(n);
    if (n->over < 0) {
      if (n->op == OP_SE_ADD) /* could it have been? */
        for (int k = 0; k < 2; k++) {
          const Node *src = &g.nodes[n->in[k]];
          assert_false(src->in_arena && last[n->in[k]] == i &&
                       shape_elems(src->out) == shape_elems(n->out));
        }
      continue;
    }
    in_place++;
    assert_int_equal(n->op, OP_SE_ADD);
    assert_true(n->over == n->in[0] || n->over == n->in[1]);
    const Node *o = &g.nodes[n->over];
    assert_true(o->in_arena);
    assert_int_equal(last[n->over], i);
    assert_int_equal(shape_elems(o->out), shape_elems(n->out));
    assert_int_equal(n->offset, o->offset);
    if (n->over == n->in[0]) { /* the shortcut did not qualify */
      const Node *sc = &g.nodes[n->in[1]];
      assert_false(sc->in_arena && last[n->in[1]] == i &&
                   shape_elems(sc->out) == shape_elems(n->out));
    }
    buf[i] = buf[n->over];
  }
  assert_int_equal(in_place, want_in_place);
  /* No overlap between simultaneously live tensors of different buffers. */
  size_t live_max = 0;
  for (int t = 0; t < nn; t++) {
    size_t live = 0;
    for (int i = 0; i <= t; i++) {
      const Node *a = &g.nodes[i];
      if (a->dead || !a->in_arena || last[i] < t)
        continue;
      bool head = true; /* count a chained buffer once */
      for (int j = 0; j < i; j++)
        if (!g.nodes[j].dead && g.nodes[j].in_arena && buf[j] == buf[i] && last[j] >= t)
          head = false;
      live += head ? floats(a) : 0;
      for (int j = i + 1; j <= t; j++) {
        const Node *b = &g.nodes[j];
        if (b->dead || !b->in_arena || last[j] < t || buf[j] == buf[i])
          continue;
        if (a->offset < b->offset + floats(b) && b->offset < a->offset + floats(a))
          fail_msg("%s [%zu,+%zu) and %s [%zu,+%zu) overlap, both live at node %d", a->name,
                   a->offset, floats(a), b->name, b->offset, floats(b), t);
      }
    }
    live_max = live > live_max ? live : live_max;
  }
  assert_true(g.scratch_offset >= top);
  assert_true(g.scratch_offset + max_scratch <= g.arena_floats);
  assert_int_equal(g.arena_lower_bound, live_max + max_scratch);
  assert_true(g.arena_lower_bound <= g.arena_floats);
  free(last);
  free(buf);
  graph_free(&g);
}

static void test_se(void **state) {
  (void)state;
  check_plan(NET, 5);
}

static void test_no_se(void **state) {
  (void)state;
  check_plan(NET "se_ratio 0\n", 0);
}

static void test_entry_batch(void **state) {
  (void)state;
  check_plan(NET "batch 3\ninput_type u8\npreprocess imagenet\n", 5);
}

/* Without the head the last SE_ADD is the output: not in the arena. */
static void test_headless(void **state) {
  (void)state;
  check_plan(NET "head none\n", 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_se),
      cmocka_unit_test(test_no_se),
      cmocka_unit_test(test_entry_batch),
      cmocka_unit_test(test_headless),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
