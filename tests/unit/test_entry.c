/*
 * test_entry.c - the entry pass (compiler/entry.c): where the entry op goes,
 * what it reads and subtracts, and the preprocessing scale folded into the
 * first conv's weights. The numerical end-to-end checks (against the reference
 * evaluator's literal preprocessing) are in tests/e2e.sh; these pin the graph
 * rewrite itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A small network from spec text, built, shaped, random weights, BN folded:
 * the state lower_entry() runs on in rsc's pipeline. */
static void make_graph(Graph *g, const char *text) {
  Spec s;
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&s);
  SrcFile f = {"t.spec", text, strlen(text)};
  assert_true(spec_parse(&s, &f, &d));
  assert_true(spec_finish(&s, &d));
  graph_init(g, &s);
  PassCtx c = {.d = &d, .seed = 3, .draw_now = true};
  assert_true(compile_to(g, &c, PASS_FOLD));
}

static float *copy_tensor(const Tensor *t) {
  float *p = xmalloc(tensor_elems(t) * sizeof *p);
  memcpy(p, t->data, tensor_elems(t) * sizeof *p);
  return p;
}

static bool lower(Graph *g) {
  Diag d;
  diag_init(&d, stderr);
  PassCtx c = {.d = &d};
  return compile_to(g, &c, PASS_ENTRY);
}

#define SMALL "blocks 1 1 1 1\nwidths 8 8 8 8\nstem_widths 4 4 8\nwidth 32\n"

static void test_default_input_has_no_entry(void **state) {
  (void)state;
  Graph g;
  make_graph(&g, SMALL);
  int n = g.nnodes, first = -1;
  for (int i = 0; i < g.nnodes && first < 0; i++)
    if (!g.nodes[i].dead && g.nodes[i].nin && g.nodes[i].in[0] == g.input)
      first = i;
  float *w = copy_tensor(&g.tensors[g.nodes[first].w]);
  assert_true(lower(&g));
  /* f32 NHWC without preprocessing: the caller's buffer is the conv's input. */
  assert_int_equal(g.nnodes, n);
  assert_int_equal(g.nodes[first].in[0], g.input);
  assert_memory_equal(w, g.tensors[g.nodes[first].w].data,
                      tensor_elems(&g.tensors[g.nodes[first].w]) * sizeof *w);
  for (int i = 0; i < g.nnodes; i++)
    assert_int_not_equal(g.nodes[i].op, OP_ENTRY);
  free(w);
  graph_free(&g);
}

static void test_entry_node_placement(void **state) {
  (void)state;
  static const char *const specs[] = {
      SMALL "input_type u8\n",
      SMALL "input_layout nchw\nbatch 2\n",
      SMALL "preprocess imagenet\n",
      "blocks 1 1 1 1\nwidths 8 8 8 8\nwidth 32\ninput_type u8\ninput_layout nchw\n"
      "preprocess imagenet\nstem classic\nstem_widths 8\n",
  };
  for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
    Graph g;
    make_graph(&g, specs[k]);
    int n = g.nnodes, output_op = g.nodes[g.output].op;
    assert_true(lower(&g));
    graph_check(&g);
    /* One node, right after the input, of the input's shape; the first conv
     * (and nothing else) reads it; everything after moved up by one. */
    assert_int_equal(g.nnodes, n + 1);
    int e = g.input + 1;
    assert_int_equal(g.nodes[e].op, OP_ENTRY);
    assert_int_equal(g.nodes[e].nin, 1);
    assert_int_equal(g.nodes[e].in[0], g.input);
    assert_memory_equal(&g.nodes[e].out, &g.nodes[g.input].out, sizeof(Shape));
    assert_int_equal(g.nodes[e + 1].op, OP_CONV);
    assert_int_equal(g.nodes[e + 1].in[0], e);
    Uses u;
    uses_build(&u, &g);
    assert_int_equal(uses_count(&u, g.input), 1);
    assert_int_equal(uses_count(&u, e), 1);
    uses_free(&u);
    assert_int_equal(g.nodes[g.output].op, output_op);
    graph_free(&g);
  }
}

static void test_preprocess_scale_folded(void **state) {
  (void)state;
  Graph a, b;
  make_graph(&a, SMALL "input_type u8\n");
  make_graph(&b, SMALL "input_type u8\npreprocess imagenet\n");
  assert_true(lower(&a));
  assert_true(lower(&b));
  /* Same random weights; only the first conv differs, by 1/(255 std_c) on
   * input channel c (rounded once from double). */
  const Tensor *wa = &a.tensors[a.nodes[a.input + 2].w], *wb = &b.tensors[b.nodes[b.input + 2].w];
  assert_int_equal(a.nodes[a.input + 2].op, OP_CONV);
  assert_int_equal(wa->dims[1], 3);
  size_t taps = (size_t)wa->dims[2] * (size_t)wa->dims[3];
  for (int o = 0; o < wa->dims[0]; o++)
    for (int c = 0; c < 3; c++)
      for (size_t t = 0; t < taps; t++) {
        size_t i = ((size_t)o * 3 + (size_t)c) * taps + t;
        assert_true(wb->data[i] == (float)(wa->data[i] / (255.0 * imagenet_std[c])));
      }
  /* The bias is untouched: the mean is the entry's job (exact at borders). */
  const Tensor *ba = &a.tensors[a.nodes[a.input + 2].b], *bb = &b.tensors[b.nodes[b.input + 2].b];
  assert_memory_equal(ba->data, bb->data, tensor_elems(ba) * sizeof(float));
  for (int i = a.input + 3; i < a.nnodes; i++)
    if (a.nodes[i].w >= 0)
      assert_memory_equal(a.tensors[a.nodes[i].w].data, b.tensors[b.nodes[i].w].data,
                          tensor_elems(&a.tensors[a.nodes[i].w]) * sizeof(float));
  /* The shift, in the input's units, stored on the entry node. */
  const Node *ea = &a.nodes[a.input + 1], *eb = &b.nodes[b.input + 1];
  assert_int_equal(ea->op, OP_ENTRY);
  assert_int_equal(eb->op, OP_ENTRY);
  assert_false(ea->attr.entry.shifted);
  assert_true(eb->attr.entry.shifted);
  for (int c = 0; c < 3; c++) {
    assert_true(ea->attr.entry.shift[c] == 0.0);
    assert_true(fabs(eb->attr.entry.shift[c] - 255.0 * imagenet_mean[c]) == 0.0);
  }
  assert_true(fabs(eb->attr.entry.shift[0] - 123.675) < 1e-12);
  graph_free(&a);
  graph_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_input_has_no_entry),
      cmocka_unit_test(test_entry_node_placement),
      cmocka_unit_test(test_preprocess_scale_folded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
