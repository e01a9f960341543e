/*
 * test_fold.c - BN folding (compiler/fold.c). On a small network run up to
 * weights (tests/unit/pipeline_util.h), one conv's BN gets chosen statistics;
 * after fold:
 *   - every conv weight w'[o][k] is (float)(w[o][k] * s[o]), s[o] =
 *     gamma[o] / sqrt(var[o] + eps), computed here in double from the values
 *     before folding, and the bias is (float)((b - mean) * s + beta);
 *   - a known tensor (gamma 2, var 3, eps 1e-5, mean 0.5, beta -1) gives the
 *     hand-computed numbers;
 *   - every BN is dead and its readers read the conv; the conv keeps act none
 *     (the ACT after it is fuse's);
 *   - deferred weights (rsc's default without --weights) record the scale
 *     and, drawn later, give the same bits as weights drawn before folding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#include <math.h>

#define SMALL "blocks 1 1 1 1\nwidths 8 16 24 32\nstem_widths 4 4 8\nwidth 19\nheight 17\n"

static int node_named(const Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0)
      return i;
  fail_msg("no node %s", name);
  return -1;
}

static float *copy(const Tensor *t) {
  float *p = xmalloc(tensor_elems(t) * sizeof *p);
  memcpy(p, t->data, tensor_elems(t) * sizeof *p);
  return p;
}

typedef struct Saved {
  int conv, bn;
  float *w, *gamma, *beta, *mean, *var;
  double eps;
} Saved;

static void test_folded_values(void **state) {
  (void)state;
  Graph g;
  assert_true(pipeline_to(&g, SMALL, "weights", TARGET_AVX2));
  /* A known tensor: layer1.0.bn2 with fixed statistics. */
  int bn2 = node_named(&g, "layer1.0.bn2");
  const Node *b2 = &g.nodes[bn2];
  int c = g.tensors[b2->attr.bn.gamma].dims[0];
  for (int o = 0; o < c; o++) {
    g.tensors[b2->attr.bn.gamma].data[o] = 2.0f;
    g.tensors[b2->attr.bn.beta].data[o] = -1.0f;
    g.tensors[b2->attr.bn.mean].data[o] = 0.5f;
    g.tensors[b2->attr.bn.var].data[o] = 3.0f;
  }
  /* Every conv+BN pair, before folding. */
  Saved *sv = xcalloc((size_t)g.nnodes, sizeof *sv);
  int ns = 0;
  for (int i = 0; i < g.nnodes; i++) {
    const Node *n = &g.nodes[i];
    if (n->op != OP_BN)
      continue;
    const Node *cv = &g.nodes[n->in[0]];
    assert_int_equal(cv->op, OP_CONV);
    assert_int_equal(cv->b, -1); /* build: convs before BN have no bias */
    sv[ns++] = (Saved){n->in[0],
                       i,
                       copy(&g.tensors[cv->w]),
                       copy(&g.tensors[n->attr.bn.gamma]),
                       copy(&g.tensors[n->attr.bn.beta]),
                       copy(&g.tensors[n->attr.bn.mean]),
                       copy(&g.tensors[n->attr.bn.var]),
                       n->attr.bn.eps};
  }
  assert_true(ns >= 20);
  Diag d;
  diag_init(&d, stderr);
  assert_true(fold_bn(&g, &d));
  for (int k = 0; k < ns; k++) {
    const Node *cv = &g.nodes[sv[k].conv];
    assert_true(g.nodes[sv[k].bn].dead);
    assert_int_equal(cv->act, ACT_NONE);
    assert_true(cv->b >= 0);
    const Tensor *w = &g.tensors[cv->w], *b = &g.tensors[cv->b];
    int cout = w->dims[0];
    size_t per = tensor_elems(w) / (size_t)cout;
    assert_int_equal(b->dims[0], cout);
    for (int o = 0; o < cout; o++) {
      double s = sv[k].gamma[o] / sqrt((double)sv[k].var[o] + sv[k].eps);
      for (size_t j = 0; j < per; j++)
        if (w->data[o * per + j] != (float)(sv[k].w[o * per + j] * s))
          fail_msg("%s: w[%d][%zu] %a, expected %a", cv->name, o, j, w->data[o * per + j],
                   (float)(sv[k].w[o * per + j] * s));
      assert_true(b->data[o] == (float)((0.0 - sv[k].mean[o]) * s + sv[k].beta[o]));
    }
    if (sv[k].bn == bn2) { /* s = 2 / sqrt(3 + 1e-5) = 1.1547 (by hand), bias = -0.5 s - 1 */
      assert_float_equal(sv[k].eps, 1e-5, 0);
      for (int o = 0; o < cout; o++) {
        assert_float_equal(b->data[o], -1.5773493, 1e-6);
        for (size_t j = 0; j < per; j++)
          assert_float_equal(w->data[o * per + j], sv[k].w[o * per + j] * 1.1546986,
                             1e-6 * fabs(sv[k].w[o * per + j]) + 1e-30);
      }
    }
    free(sv[k].w), free(sv[k].gamma), free(sv[k].beta), free(sv[k].mean), free(sv[k].var);
  }
  /* Nothing reads a BN any more. */
  for (int i = 0; i < g.nnodes; i++)
    if (!g.nodes[i].dead)
      for (int j = 0; j < g.nodes[i].nin; j++)
        assert_int_not_equal(g.nodes[g.nodes[i].in[j]].op, OP_BN);
  free(sv);
  graph_free(&g);
}

/* rsc without --weights draws the big tensors only when it writes them: fold
 * records the scale, and the values drawn then equal eager folding's bits. */
static void test_deferred_same_bits(void **state) {
  (void)state;
  Graph eager, lazy;
  Diag d;
  diag_init(&d, stderr);
  assert_true(pipeline_to(&eager, SMALL, "fold", TARGET_AVX2));
  assert_true(pipeline_to(&lazy, SMALL, "shape", TARGET_AVX2));
  weights_random_deferred(&lazy, 7);
  assert_true(fold_bn(&lazy, &d));
  assert_int_equal(eager.ntensors, lazy.ntensors);
  int scaled = 0;
  float *scratch = NULL;
  size_t cap = 0;
  for (int i = 0; i < lazy.ntensors; i++) {
    const Tensor *t = &lazy.tensors[i];
    assert_string_equal(t->name, eager.tensors[i].name);
    if (t->deferred && t->nscales)
      scaled++;
    const float *v = tensor_values(&lazy, t, &scratch, &cap);
    assert_memory_equal(v, eager.tensors[i].data, tensor_elems(t) * sizeof *v);
  }
  assert_true(scaled >= 20);
  free(scratch);
  graph_free(&eager);
  graph_free(&lazy);
}

/* The same through entry, which scales the first conv per input channel:
 * a deferred first conv records fold's scale, then entry's, and tensor.c
 * applies both in that order when it draws the values, as eagerly. */
static void test_deferred_same_bits_entry(void **state) {
  (void)state;
  static const char spec[] = SMALL "input_type u8\npreprocess imagenet\n";
  Graph eager, lazy;
  assert_true(pipeline_to(&eager, spec, "entry", TARGET_AVX2));
  assert_true(pipeline_to_deferred(&lazy, spec, "entry", TARGET_AVX2));
  assert_int_equal(eager.ntensors, lazy.ntensors);
  int both = 0;
  float *scratch = NULL;
  size_t cap = 0;
  for (int i = 0; i < lazy.ntensors; i++) {
    const Tensor *t = &lazy.tensors[i];
    if (t->deferred && t->nscales == 2) {
      assert_true(t->scales[0].axis == 0 && t->scales[1].axis == 1);
      both++;
    }
    const float *v = tensor_values(&lazy, t, &scratch, &cap);
    if (tensor_elems(t))
      assert_memory_equal(v, eager.tensors[i].data, tensor_elems(t) * sizeof *v);
  }
  assert_int_equal(both, 1); /* the first conv */
  free(scratch);
  graph_free(&eager);
  graph_free(&lazy);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_folded_values),
      cmocka_unit_test(test_deferred_same_bits),
      cmocka_unit_test(test_deferred_same_bits_entry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
