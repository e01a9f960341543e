/* fuzz_spec.c - libFuzzer target: spec text through parsing, finishing, graph
 * building, shape inference and, for small networks, every later pass but emit.
 * Diagnostics go to a null stream: the target looks for crashes, leaks and UB,
 * not for the messages (tests/diag.sh checks those). */
#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Above this many weight floats the later passes are skipped: random weights
 * for ResNet-RS-420 would take seconds per input and find nothing new. */
enum { FUZZ_MAX_WEIGHT_FLOATS = 1 << 20 };

static size_t weight_floats(const Graph *g) {
  size_t n = 0;
  for (int i = 0; i < g->ntensors; i++)
    n += tensor_elems(&g->tensors[i]);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *null_out;
  if (!null_out)
    null_out = fopen("/dev/null", "w");
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
  ok = ok && build_graph(&g, &d) && infer_shapes(&g, &d);
  if (ok && weight_floats(&g) <= FUZZ_MAX_WEIGHT_FLOATS) {
    weights_random(&g, 1);
    ok = fold_bn(&g, &d) && lower_entry(&g, &d) && fuse_ops(&g, &d) && plan_memory(&g, &d) &&
         select_kernels(&g, &d) && pack_weights(&g, &d);
    (void)ok;
  }
  graph_free(&g);
  free(text);
  return 0;
}
