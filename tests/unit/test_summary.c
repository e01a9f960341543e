/*
 * test_summary.c - `rsc --summary` (compiler/summary.c).
 *
 * The totals of all eleven Table-7 variants (specs/resnet-rs-*.spec) must equal
 * the table of docs/resnet-rs.md, transcribed below by hand: trainable
 * params exactly, GMACs to the doc's three decimals, and for RS-50 the Keras
 * "Total params" (BN statistics included). Then the fused-op mapping of each
 * built layer, on a small network with an entry node inserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* docs/resnet-rs.md, "The variants of the paper (Table 7 resolutions)". */
static const struct {
  const char *spec;
  uint64_t params; /* trainable */
  double gmacs;    /* as printed, three decimals */
} table7[] = {
    {"specs/resnet-rs-50-i160.spec", 35691912, 2.279},
    {"specs/resnet-rs-101-i160.spec", 63618696, 4.182},
    {"specs/resnet-rs-101-i192.spec", 63618696, 6.012},
    {"specs/resnet-rs-152-i192.spec", 86621576, 8.747},
    {"specs/resnet-rs-152-i224.spec", 86621576, 11.895},
    {"specs/resnet-rs-152-i256.spec", 86621576, 15.528},
    {"specs/resnet-rs-200-i256.spec", 93209992, 20.093},
    {"specs/resnet-rs-270-i256.spec", 129861448, 26.950},
    {"specs/resnet-rs-350-i256.spec", 163956168, 34.377},
    {"specs/resnet-rs-350-i320.spec", 163956168, 53.684},
    {"specs/resnet-rs-420-i320.spec", 191891656, 63.942},
};
/* Same doc: Keras model.summary() "Total params" of RS-50. */
static const uint64_t rs50_keras_total = 35745288;

static bool built(Graph *g, const char *text, size_t len, const char *name) {
  Spec s;
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&s);
  SrcFile f = {name, text, len};
  if (!spec_parse(&s, &f, &d) || !spec_finish(&s, &d))
    return false;
  graph_init(g, &s);
  return build_graph(g, &d) && infer_shapes(g, &d);
}

static void test_table7_totals(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof table7 / sizeof *table7; i++) {
    size_t len;
    char *text = read_file(table7[i].spec, &len);
    if (!text)
      fail_msg("cannot read %s (run from the repository root)", table7[i].spec);
    Graph g;
    assert_true(built(&g, text, len, table7[i].spec));
    Summary s;
    summary_collect(&s, &g);
    if (s.trainable != table7[i].params)
      fail_msg("%s: %llu trainable params, doc says %llu", table7[i].spec,
               (unsigned long long)s.trainable, (unsigned long long)table7[i].params);
    double gmacs = s.macs / 1e9;
    if (fabs(gmacs - table7[i].gmacs) > 0.0005)
      fail_msg("%s: %.6f GMACs, doc says %.3f", table7[i].spec, gmacs, table7[i].gmacs);
    if (i == 0)
      assert_int_equal(s.trainable + s.statistics, rs50_keras_total);
    summary_free(&s);
    graph_free(&g);
    free(text);
  }
}

static const Node *fused_of(const Summary *s, const Graph *g, const char *row) {
  for (int i = 0; i < s->nrows; i++)
    if (strcmp(s->rows[i].name, row) == 0) {
      assert_true(s->rows[i].fused >= 0);
      return &g->nodes[s->rows[i].fused];
    }
  fail_msg("no row %s", row);
  return NULL;
}

/* The whole pipeline up to plan, as rsc runs it (pipeline_util.h), with
 * preprocessing so entry.c inserts a node and the built and final graphs no
 * longer line up by index. */
static void test_fused_mapping(void **state) {
  (void)state;
  static const char text[] = "blocks 1 1 1 1\nwidths 8 8 8 8\nstem_widths 4 4 8\nwidth 32\n"
                             "preprocess imagenet\n";
  Graph g;
  assert_true(pipeline_to(&g, text, "shape", TARGET_AVX2));
  Summary s;
  summary_collect(&s, &g);
  assert_true(pipeline_resume(&g, "shape", "plan"));
  summary_attach(&s, &g);
  const Node *n = fused_of(&s, &g, "layer1.0.bn1");
  assert_string_equal(n->name, "layer1.0.conv1");
  assert_int_equal(n->op, OP_CONV);
  assert_int_equal(n->act, ACT_RELU);
  n = fused_of(&s, &g, "layer1.0.act1");
  assert_string_equal(n->name, "layer1.0.conv1");
  n = fused_of(&s, &g, "conv1.0");
  assert_string_equal(n->name, "conv1.0");
  n = fused_of(&s, &g, "layer1.0.bn3");
  assert_string_equal(n->name, "layer1.0.conv3");
  assert_int_equal(n->act, ACT_NONE);
  static const char *const se_parts[] = {"layer2.0.se.pool", "layer2.0.se.fc1", "layer2.0.se.act",
                                         "layer2.0.se.fc2",  "layer2.0.se.gate", "layer2.0.add",
                                         "layer2.0.act3"};
  for (size_t i = 0; i < sizeof se_parts / sizeof *se_parts; i++) {
    n = fused_of(&s, &g, se_parts[i]);
    assert_string_equal(n->name, "layer2.0.se");
    assert_int_equal(n->op, OP_SE_ADD);
  }
  n = fused_of(&s, &g, "fc");
  assert_int_equal(n->op, OP_DENSE);
  assert_int_equal(s.arena_bytes, g.arena_floats * 4);
  assert_true(s.arena_bound_bytes <= s.arena_bytes);
  summary_free(&s);
  graph_free(&g);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static char *dot_text(const Graph *g, const Summary *s, bool fused) {
  FILE *f = tmpfile();
  assert_non_null(f);
  dot_write(g, s, fused, f);
  long len = ftell(f);
  assert_true(len > 0);
  char *buf = xmalloc((size_t)len + 1);
  rewind(f);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  buf[len] = '\0';
  fclose(f);
  return buf;
}

/* --emit=dot: every built edge drawn once (plus input -> entry when fused);
 * one cluster per live fused node; edges inside a cluster dashed, the rest
 * carry the producer's shape. */
static void test_dot(void **state) {
  (void)state;
  static const char text[] = "blocks 1 1 1 1\nwidths 8 8 8 8\nstem_widths 4 4 8\nwidth 32\n"
                             "preprocess imagenet\n";
  Graph g;
  assert_true(pipeline_to(&g, text, "shape", TARGET_AVX2));
  Summary s;
  summary_collect(&s, &g);
  int edges = 0, internal = 0;
  assert_true(pipeline_resume(&g, "shape", "plan"));
  summary_attach(&s, &g);
  for (int i = 0; i < s.nrows; i++) {
    int in[2] = {s.rows[i].in0, s.rows[i].in1};
    for (int k = 0; k < 2; k++)
      if (in[k] >= 0) {
        edges++;
        internal += s.rows[in[k]].op != OP_INPUT && s.rows[in[k]].fused == s.rows[i].fused;
      }
  }
  char *b = dot_text(&g, &s, false), *f = dot_text(&g, &s, true);
  assert_int_equal(count(b, "->"), edges);
  assert_int_equal(count(b, "style=dashed"), 0);
  assert_non_null(strstr(b, "subgraph \"cluster_layer2.0\""));
  assert_non_null(strstr(b, "[label=\"[1,8,8,32]\"]"));
  assert_int_equal(count(f, "->"), edges + 1);
  assert_int_equal(count(f, "style=dashed"), internal);
  assert_true(internal > 0);
  int clusters = 0;
  for (int i = 0; i < g.nnodes; i++)
    clusters += !g.nodes[i].dead && g.nodes[i].op != OP_INPUT && g.nodes[i].op != OP_ENTRY;
  assert_int_equal(count(f, "subgraph"), clusters);
  assert_non_null(strstr(f, "subgraph \"cluster_layer2.0.se\""));
  assert_non_null(strstr(f, "entry [label="));
  free(b);
  free(f);
  summary_free(&s);
  graph_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table7_totals),
      cmocka_unit_test(test_fused_mapping),
      cmocka_unit_test(test_dot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
