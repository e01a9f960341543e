/*
 * test_scaling.c - the compile stays linear in the network's size.
 *
 * `--blocks 1000,1000,1000,1000` (the documented maximum, 64,000 nodes) once
 * took minutes: tensor lookups compared every name, use counts and use
 * replacements walked the whole graph once per node, the memory plan
 * compared every tensor with every other. The house has no timed tests, so
 * this one counts work instead: rsc_steps(), which the graph's indexes (name
 * map probes, use list steps, graph_insert_node's renumbering, uses_build
 * and uses_check) and the plan's interval visits add to. Running the
 * pipeline on networks of N and 4N blocks per stage, linear work grows 4x
 * (a little less: the stem and head are fixed); work quadratic in the nodes
 * grows 16x, e.g. a pass that calls uses_build or a name lookup by scan for
 * every node, or a plan that compares each tensor with all placed before.
 * The bound, 5x, leaves room for hash tables that happen to be fuller at
 * one size than at the other, and none for a quadratic term that is
 * anything but negligible at 4N blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char datadir[PATH_MAX]; /* the source tree: B/tests/.. /.. */

typedef struct Run {
  int nodes;
  unsigned long long steps;
} Run;

/* The whole pipeline (main.c's compile() and emit, with --summary) on a
 * network of n blocks per stage, one channel wide: the size of the graph,
 * not of its tensors, is what varies. */
static Run compile_blocks(int n) {
  char *text = xstrfmt("blocks %d %d %d %d\nwidths 1 1 1 1\nstem_widths 1 1 1\nwidth 32\n"
                       "height 32\ninput_type u8\npreprocess imagenet\n",
                       n, n, n, n);
  Diag d;
  diag_init(&d, stderr);
  Graph g;
  Summary sum;
  unsigned long long before = rsc_steps(); /* the pipeline as rsc runs it (pipeline_util.h) */
  assert_true(pipeline_to_deferred(&g, text, "shape", TARGET_AVX2));
  summary_collect(&sum, &g);
  assert_true(pipeline_resume(&g, "shape", "pack"));
  char dir[] = "/tmp/rsc-scaling-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *out_c = xstrfmt("%s/m.c", dir);
  EmitOptions eo = {.out_c = out_c, .prefix = "m", .datadir = datadir, .cmdline = "test"};
  assert_true(emit_model(&g, &eo, &d));
  summary_attach(&sum, &g);
  Run r = {.nodes = g.nnodes, .steps = rsc_steps() - before};
  static const char *const ext[] = {"c", "h", "weights"};
  for (int i = 0; i < 3; i++) {
    char *p = xstrfmt("%s/m.%s", dir, ext[i]);
    unlink(p);
    free(p);
  }
  rmdir(dir);
  free(out_c);
  summary_free(&sum);
  graph_free(&g);
  free(text);
  return r;
}

static void test_compile_work_is_linear(void **state) {
  (void)state;
  Run small = compile_blocks(50), big = compile_blocks(200);
  double ratio = (double)big.steps / (double)small.steps;
  print_message("%d nodes: %llu steps; %d nodes: %llu steps (x%.2f)\n", small.nodes, small.steps,
                big.nodes, big.steps, ratio);
  /* The counter sees the work: several steps per node. */
  assert_true(big.nodes > 3 * small.nodes);
  assert_true(small.steps > (unsigned long long)small.nodes);
  assert_true(ratio < 5.0);
}

/* The use lists follow every rewrite, or uses_check aborts. */
static void test_uses_follow_rewrites(void **state) {
  (void)state;
  Graph g;
  Spec s;
  spec_defaults(&s);
  graph_init(&g, &s);
  /* input -> a -> b; c reads a and b; d reads c twice. */
  g.input = graph_add_node(&g, OP_INPUT, "input");
  int a = graph_add_node(&g, OP_ACT, "a"), b = graph_add_node(&g, OP_ACT, "b"),
      c = graph_add_node(&g, OP_ADD, "c"), dd = graph_add_node(&g, OP_ADD, "d");
  const int ins[5][2] = {{-1, -1}, {g.input, -1}, {a, -1}, {a, b}, {c, c}};
  for (int i = a; i <= dd; i++) {
    g.nodes[i].nin = i < c ? 1 : 2;
    g.nodes[i].in[0] = ins[i][0];
    g.nodes[i].in[1] = ins[i][1];
  }
  g.output = dd;
  Uses u;
  uses_build(&u, &g);
  uses_check(&u, &g);
  assert_int_equal(uses_count(&u, a), 2);
  assert_int_equal(uses_count(&u, c), 2);
  assert_int_equal(uses_count(&u, dd), 0);
  /* b dies and its reader reads a instead (what fold and fuse do). */
  uses_kill(&u, &g, b);
  uses_replace(&u, &g, b, a);
  uses_check(&u, &g);
  assert_int_equal(g.nodes[c].in[1], a);
  assert_int_equal(uses_count(&u, a), 2);
  assert_int_equal(uses_count(&u, b), 0);
  uses_set_input(&u, &g, dd, 1, a);
  uses_check(&u, &g);
  assert_int_equal(uses_count(&u, a), 3);
  assert_int_equal(uses_count(&u, c), 1);
  /* Replacing the output moves g->output too. */
  uses_replace(&u, &g, dd, c);
  assert_int_equal(g.output, c);
  uses_free(&u);
  graph_free(&g);
}

static void test_namemap(void **state) {
  (void)state;
  NameMap m = {0};
  enum { N = 5000 };
  char *names[N];
  assert_int_equal(namemap_get(&m, "x"), -1);
  for (int i = 0; i < N; i++) {
    names[i] = xstrfmt("layer%d.%d.conv%d.weight", i % 4 + 1, i / 4, i % 3);
    assert_int_equal(namemap_put(&m, names[i], i), -1);
  }
  for (int i = 0; i < N; i++)
    assert_int_equal(namemap_get(&m, names[i]), i);
  assert_int_equal(namemap_get(&m, "layer1.0.conv1"), -1);
  assert_int_equal(namemap_put(&m, names[7], 70), 7);
  assert_int_equal(namemap_get(&m, names[7]), 70);
  assert_int_equal((int)m.n, N);
  namemap_free(&m);
  for (int i = 0; i < N; i++)
    free(names[i]);
}

int main(int argc, char **argv) {
  (void)argc;
  /* templates/ and runtime/: $RSC_DATADIR, else the tree above B
   * (B/tests/test_scaling). */
  const char *env = getenv("RSC_DATADIR");
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "%s: cannot find itself\n", argv[0]);
    return 1;
  }
  exe[n] = '\0';
  for (int up = 0; up < 3; up++)
    *strrchr(exe, '/') = '\0';
  snprintf(datadir, sizeof datadir, "%s", env && *env ? env : exe);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compile_work_is_linear),
      cmocka_unit_test(test_uses_follow_rewrites),
      cmocka_unit_test(test_namemap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
