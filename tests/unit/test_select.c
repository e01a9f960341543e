/*
 * test_select.c - kernel selection (compiler/select.c), on ResNet-RS-50 at
 * 160x160 (its real layer shapes: inputs from a few KB to MBs, so every
 * blocking option occurs) and on a small odd-sized net, for every --target,
 * run up to select (tests/unit/pipeline_util.h):
 *   - every tile is within the runtime's limits (runtime/rsc_kernels.h, not
 *     select.c's copies): kb whole vectors, kb/VL <= RSC_V_MAX, np <=
 *     RSC_NP_MAX, the accumulators and weights in the register file, tg <=
 *     RSC_TG_MAX with tg*np*v <= RSC_TG_VECS, tc only with tg, kg <= blocks;
 *     Winograd tiles nt <= RSC_WINO_NT and kb <= RSC_WINO_KB;
 *   - Winograd only where it applies (3x3, stride 1, same size, input
 *     channels in whole vectors), and then no direct-only option;
 *   - the Winograd choice of each conv is the same at batch 1, 3 and 8 (an
 *     image's sums must not depend on its batch), and some convs take it;
 *   - --no-winograd (g->no_wino) takes it nowhere;
 *   - the SE pool goes into its producer exactly when that is a direct conv
 *     run just before the SE_ADD and read by nothing else;
 *   - the kernel name states the tile (kb, np or nt) and nodes of the same
 *     name have the same parameters;
 *   - every machine kind (--cpu) keeps those limits, CPUID's family and model
 *     map to the kinds, zen5 chooses what the model chose before the kinds
 *     existed (the generic avx512 figures), and rsc --tune's candidates are
 *     valid schedules, the model's own first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#include <math.h> /* before the runtime, which expects it */

#include "../../runtime/rsc_kernels.h"

static const char rs50[] = "depth 50\nheight 160\nwidth 160\n";
static const char odd[] = "blocks 1 2 1 1\nwidths 8 16 24 32\nstem_widths 8 8 16\nwidth 37\n"
                          "height 29\nchannels 1\n";

/* 4x4 and 2x2 maps of 64 channels: where a batch-3 estimate once chose
 * Winograd for a conv batch 1 ran direct. */
static const char small_maps[] = "blocks 2 2 2 2\nwidths 64 64 64 64\nstem_widths 32 32 64\n"
                                 "width 64\nheight 64\n";

static int target_vl(Target t) { return t == TARGET_AVX512 ? 16 : t == TARGET_AVX2 ? 8 : 4; }
static int target_regs(Target t) { return t == TARGET_AVX512 ? 32 : 16; }

static char *with_batch(const char *spec, int batch) { return xstrfmt("%sbatch %d\n", spec, batch); }

/* How often each option occurred, to show the checks were not vacuous. */
static int seen_kg, seen_tg, seen_nx, seen_xp, seen_wino;

static void check_limits(const Graph *g) {
  int vl = target_vl(g->target), regs = target_regs(g->target), winos = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_CONV)
      continue;
    Shape in = g->nodes[n->in[0]].out;
    const ConvSched *cs = &n->sched->conv;
    int v = cs->kb / vl;
    if (cs->kb % vl != 0 || v < 1 || v > RSC_V_MAX || cs->np < 1)
      fail_msg("%s: kb %d on %d lanes", n->name, cs->kb, vl);
    if (cs->np * v + v + 1 > regs)
      fail_msg("%s: np %d x v %d does not fit %d registers", n->name, cs->np, v, regs);
    seen_kg += cs->kg > 1, seen_tg += cs->tg > 1, seen_nx += cs->nx, seen_xp += cs->xp;
    seen_wino += cs->wino;
    if (cs->wino) {
      winos++;
      assert_true(n->kh == 3 && n->kw == 3 && n->sh == 1 && n->sw == 1);
      assert_true(n->pad_t == 1 && n->pad_l == 1 && n->out.h == in.h && n->out.w == in.w);
      assert_int_equal(in.c % vl, 0);
      assert_true(cs->np <= RSC_WINO_NT && cs->kb <= RSC_WINO_KB);
      assert_true(cs->kg == 1 && cs->tg == 1 && cs->tc == 0 && !cs->nx && !cs->xp && !cs->se_pool);
      if (!strstr(n->sched->kernel, "wino2x2_3x3_"))
        fail_msg("%s: Winograd but kernel %s", n->name, n->sched->kernel);
      continue;
    }
    int nkb = (n->out.c + cs->kb - 1) / cs->kb;
    assert_true(cs->np <= RSC_NP_MAX);
    assert_true(cs->kg >= 1 && cs->kg <= nkb);
    assert_true(cs->tg >= 1 && cs->tg <= RSC_TG_MAX && cs->tg * cs->np * v <= RSC_TG_VECS);
    if (cs->tg > 1) {
      assert_true(cs->tc >= 1 && cs->tc <= in.c && !cs->nx && cs->kg == 1);
    } else {
      assert_int_equal(cs->tc, 0);
    }
    char *tile = xstrfmt("_kb%d_np%d", cs->kb, cs->np);
    if (strncmp(n->sched->kernel, "conv", 4) != 0 || !strstr(n->sched->kernel, tile))
      fail_msg("%s: kernel %s does not state %s", n->name, n->sched->kernel, tile);
    free(tile);
  }
  /* Same name, same parameters: one emitted function serves them all. */
  for (int i = 0; i < g->nnodes; i++)
    for (int j = i + 1; j < g->nnodes; j++) {
      const Node *a = &g->nodes[i], *b = &g->nodes[j];
      if (!a->sched || !b->sched || strcmp(a->sched->kernel, b->sched->kernel))
        continue;
      assert_int_equal(a->op, b->op);
      const ConvSched *x = &a->sched->conv, *y = &b->sched->conv;
      assert_true(x->kb == y->kb && x->np == y->np && x->kg == y->kg && x->tg == y->tg &&
                  x->tc == y->tc && x->nx == y->nx && x->xp == y->xp && x->wino == y->wino &&
                  x->se_pool == y->se_pool && a->act == b->act);
      assert_int_equal(a->sched->pooled, b->sched->pooled);
      assert_memory_equal(&a->out, &b->out, sizeof a->out);
    }
  (void)winos;
}

static int count_wino(const Graph *g) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++)
    n += !g->nodes[i].dead && g->nodes[i].op == OP_CONV && g->nodes[i].sched->conv.wino;
  return n;
}

static void test_limits(void **state) {
  (void)state;
  static const Target targets[] = {TARGET_GENERIC, TARGET_AVX2, TARGET_AVX512};
  const char *specs[] = {rs50, odd};
  for (size_t s = 0; s < 2; s++)
    for (size_t t = 0; t < 3; t++)
      for (int batch = 1; batch <= 8; batch += 7) {
        char *text = with_batch(specs[s], batch);
        Graph g;
        assert_true(pipeline_to_deferred(&g, text, "select", targets[t]));
        check_limits(&g);
        graph_free(&g);
        free(text);
      }
  if (!seen_kg || !seen_tg || !seen_nx || !seen_xp || !seen_wino)
    fail_msg("an option never chosen: kg %d tg %d nx %d xp %d wino %d", seen_kg, seen_tg, seen_nx,
             seen_xp, seen_wino);
}

/* Winograd or direct, per conv: the same at every batch. */
static void test_wino_batch_independent(void **state) {
  (void)state;
  static const Target targets[] = {TARGET_GENERIC, TARGET_AVX2, TARGET_AVX512};
  static const int batches[] = {1, 3, 8};
  const char *specs[] = {rs50, small_maps};
  int total = 0;
  for (size_t t = 0; t < 6; t++) {
    Graph g[3];
    for (int b = 0; b < 3; b++) {
      char *text = with_batch(specs[t / 3], batches[b]);
      assert_true(pipeline_to_deferred(&g[b], text, "select", targets[t % 3]));
      free(text);
      assert_int_equal(g[b].nnodes, g[0].nnodes);
    }
    for (int i = 0; i < g[0].nnodes; i++)
      for (int b = 1; b < 3; b++)
        if (!g[0].nodes[i].dead && g[0].nodes[i].op == OP_CONV &&
            g[0].nodes[i].sched->conv.wino != g[b].nodes[i].sched->conv.wino)
          fail_msg("target %d: %s is %s at batch 1, %s at batch %d", (int)targets[t % 3],
                   g[0].nodes[i].name, g[0].nodes[i].sched->conv.wino ? "Winograd" : "direct",
                   g[b].nodes[i].sched->conv.wino ? "Winograd" : "direct", batches[b]);
    total += count_wino(&g[0]);
    for (int b = 0; b < 3; b++)
      graph_free(&g[b]);
  }
  assert_true(total > 0); /* the property is not vacuous */
}

static void test_no_winograd(void **state) {
  (void)state;
  Graph g;
  assert_true(pipeline_to_deferred(&g, rs50, "fuse", TARGET_AVX512));
  g.no_wino = true;
  Diag d;
  diag_init(&d, stderr);
  assert_true(select_outputs(&g, &d) && select_kernels(&g, &d));
  assert_int_equal(count_wino(&g), 0);
  check_limits(&g);
  graph_free(&g);
}

/* The SE pool in its producer: exactly the direct convs right before their
 * SE_ADD, read by nothing else. */
static void test_se_pool(void **state) {
  (void)state;
  Graph g;
  assert_true(pipeline_to_deferred(&g, rs50, "select", TARGET_AVX512));
  int pooled = 0, prev = -1;
  for (int i = 0; i < g.nnodes; i++) {
    const Node *n = &g.nodes[i];
    if (n->dead)
      continue;
    if (n->op == OP_SE_ADD) {
      const Node *x = &g.nodes[n->in[0]];
      int readers = 0;
      for (int j = 0; j < g.nnodes; j++)
        for (int k = 0; k < g.nodes[j].nin; k++)
          readers += !g.nodes[j].dead && g.nodes[j].in[k] == n->in[0];
      bool want = n->in[0] == prev && x->op == OP_CONV && !x->sched->conv.wino && readers == 1;
      assert_int_equal(n->sched->pooled, want);
      assert_int_equal(x->op == OP_CONV && x->sched->conv.se_pool, want);
      if (want && !strstr(n->sched->kernel, "_sp"))
        fail_msg("%s: pooled but kernel %s", n->name, n->sched->kernel);
      pooled += want;
    } else if (n->op == OP_CONV && n->sched->conv.se_pool) {
      /* only for the SE_ADD that follows */
      int next = i + 1;
      while (g.nodes[next].dead)
        next++;
      assert_int_equal(g.nodes[next].op, OP_SE_ADD);
      assert_int_equal(g.nodes[next].in[0], i);
    }
    prev = i;
  }
  assert_int_equal(pooled, 16); /* every block of RS-50 */
  graph_free(&g);
}

/* The kinds of a few CPUs by CPUID (vendor, family, model). */
static void test_machine_of(void **state) {
  (void)state;
  assert_int_equal(machine_of("AuthenticAMD", 26, 2), MACHINE_ZEN5);   /* EPYC 9005 */
  assert_int_equal(machine_of("AuthenticAMD", 25, 0x11), MACHINE_ZEN4); /* EPYC 9004 */
  assert_int_equal(machine_of("AuthenticAMD", 25, 0x61), MACHINE_ZEN4); /* Ryzen 7000 */
  assert_int_equal(machine_of("AuthenticAMD", 25, 0x01), MACHINE_GENERIC); /* Zen 3 */
  assert_int_equal(machine_of("GenuineIntel", 6, 143), MACHINE_SPR);
  assert_int_equal(machine_of("GenuineIntel", 6, 207), MACHINE_SPR); /* Emerald Rapids */
  assert_int_equal(machine_of("GenuineIntel", 6, 106), MACHINE_GENERIC); /* Ice Lake */
  assert_int_equal(machine_of("GenuineIntel", 26, 2), MACHINE_GENERIC);
}

static bool same_schedule(const Node *node, const ConvSched *s) {
  const ConvSched *n = &node->sched->conv;
  return n->wino == s->wino && n->kb == s->kb && n->np == s->np && n->kg == s->kg &&
         n->nx == s->nx && n->xp == s->xp && n->tg == s->tg && n->tc == s->tc;
}

static void test_machines(void **state) {
  (void)state;
  static const Target targets[] = {TARGET_GENERIC, TARGET_AVX2, TARGET_AVX512};
  const char *specs[] = {rs50, odd};
  int candidates = 0;
  for (int m = 0; m < MACHINE_COUNT; m++)
    for (size_t s = 0; s < 2; s++)
      for (size_t t = 0; t < 3; t++)
        for (int batch = 1; batch <= 8; batch += 7) {
          char *text = with_batch(specs[s], batch);
          Graph g;
          Diag d;
          diag_init(&d, stderr);
          assert_true(pipeline_to_deferred(&g, text, "select", targets[t]));
          g.machine = (Machine)m;
          assert_true(select_kernels(&g, &d));
          check_limits(&g);
          CostModel cm = cost_model(g.machine, g.target);
          for (int i = 0; i < g.nnodes; i++) {
            const Node *n = &g.nodes[i];
            if (n->dead || n->op != OP_CONV)
              continue;
            ConvSched c[SCHEDULES_MAX];
            Shape in = g.nodes[n->in[0]].out;
            int k = conv_candidates(n, in, &cm, true, c);
            assert_true(k >= 1 && k <= SCHEDULES_MAX);
            assert_true(same_schedule(n, &c[0]));
            for (int j = 0; j < k; j++) {
              char why[160];
              if (!schedule_valid(n, in, &cm, true, &c[j], why))
                fail_msg("%s candidate %d: %s", n->name, j, why);
            }
            candidates += k;
          }
          graph_free(&g);
          free(text);
        }
  assert_true(candidates > 0);
}

/* Zen 5's constants choose the tiles the avx512 model chose before. */
static void test_zen5_unchanged(void **state) {
  (void)state;
  for (int batch = 1; batch <= 8; batch += 7) {
    char *text = with_batch(rs50, batch);
    Graph a, b;
    Diag d;
    diag_init(&d, stderr);
    assert_true(pipeline_to_deferred(&a, text, "select", TARGET_AVX512));
    assert_true(pipeline_to_deferred(&b, text, "select", TARGET_AVX512));
    b.machine = MACHINE_ZEN5;
    assert_true(select_kernels(&b, &d));
    assert_int_equal(a.machine, MACHINE_GENERIC);
    for (int i = 0; i < a.nnodes; i++)
      if (!a.nodes[i].dead && a.nodes[i].sched)
        assert_string_equal(a.nodes[i].sched->kernel, b.nodes[i].sched->kernel);
    graph_free(&a);
    graph_free(&b);
    free(text);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_wino_batch_independent),
      cmocka_unit_test(test_no_winograd),
      cmocka_unit_test(test_se_pool),
      cmocka_unit_test(test_machine_of),
      cmocka_unit_test(test_machines),
      cmocka_unit_test(test_zen5_unchanged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
