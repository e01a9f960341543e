/* fuzz_spec.c - libFuzzer target: spec text through parsing and finishing and,
 * for networks of at most FUZZ_MAX_BLOCKS blocks, compile() of main.c from
 * graph building to packing (build, shape, weights, fold, entry, fuse, outputs,
 * select, plan, pack), all in memory on one thread. The weights are drawn as
 * `rsc` without --weights draws them (weights_random_deferred): only the 1-D
 * tensors that fold reads; the conv and dense weights stay deferred, never
 * drawn. Diagnostics go to a null stream: the target looks for crashes, leaks
 * and UB, not for the messages (tests/diag.sh checks those).
 *
 * Why the limits: the passes have the same code paths for 1 block per stage as
 * for 100, and a deep network's compile costs time in proportion to its size
 * (linear since the name maps, but still milliseconds per input); mutations
 * of the shipped deep specs held the target at 2 executions per second when
 * the build was quadratic. Above the limits
 * the deeper specs still exercise the parser and spec_finish. */
#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Above these the target stops after spec_finish, or after shape inference. */
enum { FUZZ_MAX_BLOCKS = 16, FUZZ_MAX_DRAWN_FLOATS = 1 << 20 };

static int blocks(const Spec *s) {
  int n = 0;
  for (int i = 0; i < RSC_STAGES; i++)
    n += s->blocks[i];
  return n;
}

/* The floats weights_random_deferred draws: the 1-D tensors. */
static size_t drawn_floats(const Graph *g) {
  size_t n = 0;
  for (int i = 0; i < g->ntensors; i++)
    if (g->tensors[i].ndim == 1)
      n += tensor_elems(&g->tensors[i]);
  return n;
}

/* compile() of main.c, with the random weights of a run without --weights and
 * graph_check after each pass, as there. */
static bool compile(Graph *g, Diag *d) {
  static bool (*const pass[])(Graph *, Diag *) = {
      fold_bn, lower_entry, fuse_ops, select_outputs, select_kernels, plan_memory, pack_weights,
  };
  if (!build_graph(g, d))
    return false;
  graph_check(g);
  if (!infer_shapes(g, d))
    return false;
  graph_check(g);
  if (drawn_floats(g) > FUZZ_MAX_DRAWN_FLOATS)
    return true;
  weights_random_deferred(g, 1);
  graph_check(g);
  for (size_t i = 0; i < sizeof pass / sizeof *pass; i++) {
    if (!pass[i](g, d))
      return false;
    graph_check(g);
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *null_out;
  if (!null_out) {
    null_out = fopen("/dev/null", "w");
    setenv("RSC_THREADS", "1", 0); /* no thread team per input: one core */
  }
  char *text = xmalloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  Diag d;
  diag_init(&d, null_out);
  Spec spec;
  spec_defaults(&spec);
  SrcFile f = {.name = "fuzz.spec", .text = text, .len = size};
  bool ok = spec_parse(&spec, &f, &d) && spec_finish(&spec, &d);
  Graph g;
  graph_init(&g, &spec);
  g.target = TARGET_GENERIC;
  if (ok && blocks(&spec) <= FUZZ_MAX_BLOCKS)
    (void)compile(&g, &d);
  graph_free(&g);
  free(text);
  return 0;
}
