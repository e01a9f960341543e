/* clone.h - fuzz_clone(): a target's graph built once, copied per input
 * (fuzz_safetensors.c, fuzz_h5.c). Building it again per input (names looked
 * up linearly, each strcmp traced by libFuzzer) took half of an execution of
 * fuzz_safetensors. Included by one target each: static. */
#ifndef RSC_FUZZ_CLONE_H
#define RSC_FUZZ_CLONE_H

#include "rsc.h"

#include <string.h>

/* A copy of a graph that has no weights and no kernels yet: the node and
 * tensor arrays, the names and the index of tensor names are its only memory
 * (graph_free's list); the index is rebuilt on the copy's names, whose keys it
 * borrows. */
static void fuzz_clone(Graph *dst, const Graph *src) {
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

#endif
