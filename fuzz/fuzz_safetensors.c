/* fuzz_safetensors.c - libFuzzer target: the safetensors reader
 * (weights_load_safetensors_mem, the file reader after the file is in memory),
 * loading the input as the weights of fuzz/safetensors.spec: a fixed small
 * network, so names and shapes can match and the reader gets past the header
 * checks, and a valid file is small. On success fold and entry run over the
 * loaded floats. In memory on one thread: no file per input.
 *
 * The graph is built once: each input loads into a copy of it (clone), since
 * building it again (names looked up linearly, each strcmp traced by
 * libFuzzer) took half of an execution. */
#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_SPEC
#define FUZZ_SPEC "fuzz/safetensors.spec"
#endif

static FILE *null_out;
static SrcFile spec_file; /* spec.loc points into it */
static Spec spec;
static Graph built; /* after shape inference, no weights */

/* A copy of a graph that has no weights and no kernels yet: the node and
 * tensor arrays, the names and the index of tensor names are its only memory
 * (graph_free's list); the index is rebuilt on the copy's names, whose keys it
 * borrows. */
static void clone(Graph *dst, const Graph *src) {
  RSC_ASSERT(src->nnodes > 0 && src->ntensors > 0);
  *dst = *src;
  dst->nodes = xmalloc((size_t)src->nnodes * sizeof *dst->nodes);
  dst->tensors = xmalloc((size_t)src->ntensors * sizeof *dst->tensors);
  dst->cap_nodes = src->nnodes;
  dst->cap_tensors = src->ntensors;
  memcpy(dst->nodes, src->nodes, (size_t)src->nnodes * sizeof *dst->nodes);
  memcpy(dst->tensors, src->tensors, (size_t)src->ntensors * sizeof *dst->tensors);
  for (int i = 0; i < src->nnodes; i++) {
    RSC_ASSERT(!src->nodes[i].sched);
    dst->nodes[i].name = xstrdup(src->nodes[i].name);
  }
  for (int i = 0; i < src->ntensors; i++) {
    const Tensor *t = &src->tensors[i];
    RSC_ASSERT(!t->data && !t->packed && !t->nscales);
    dst->tensors[i].name = xstrdup(t->name);
  }
  dst->tensor_index = (NameMap){0};
  for (int i = 0; i < dst->ntensors; i++)
    namemap_put(&dst->tensor_index, dst->tensors[i].name, i);
}

static void setup(void) {
  null_out = fopen("/dev/null", "w");
  setenv("RSC_THREADS", "1", 0);
  spec_file.name = FUZZ_SPEC;
  spec_file.text = read_file(FUZZ_SPEC, &spec_file.len);
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&spec);
  if (!spec_file.text || !(spec_parse(&spec, &spec_file, &d) && spec_finish(&spec, &d))) {
    fprintf(stderr, "fuzz_safetensors: cannot read %s (run from the rsc tree)\n", FUZZ_SPEC);
    exit(1);
  }
  graph_init(&built, &spec);
  built.target = TARGET_GENERIC;
  if (!(build_graph(&built, &d) && infer_shapes(&built, &d)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!null_out)
    setup();
  Diag d;
  diag_init(&d, null_out);
  Graph g;
  clone(&g, &built);
  if (weights_load_safetensors_mem(&g, "fuzz.safetensors", data, size, &d))
    (void)(fold_bn(&g, &d) && lower_entry(&g, &d)); /* touch the loaded floats */
  graph_free(&g);
  return 0;
}
