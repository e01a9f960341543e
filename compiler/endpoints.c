/*
 * endpoints.c - the `outputs` key (docs/spec.md, "Feature endpoints"): which
 * tensors the generated code hands back. c2..c5 are the outputs of stages 1..4
 * (build.c records them in g->stage_out; the passes keep the ids current), head
 * is g->output.
 *
 * With the head among the outputs the graph is left alone: the stage outputs
 * are copied out of the arena by the emitted code right after the layer that
 * computes them (emit.c), while their readers still need them. Without the
 * head, nothing after the deepest selected stage is computed: that stage's
 * node becomes g->output (it writes straight into the caller's buffer, as the
 * head does otherwise) and every node it does not depend on is marked dead,
 * so the later passes neither plan, select nor pack them.
 */
#include "rsc.h"

#include <stdlib.h>

int endpoint_node(const Graph *g, Endpoint e) {
  RSC_ASSERT((int)e >= 0 && e < RSC_ENDPOINTS);
  return e == ENDPOINT_HEAD ? g->output : g->stage_out[e - ENDPOINT_C2];
}

bool select_outputs(Graph *g, Diag *d) {
  (void)d;
  unsigned sel = g->spec.outputs;
  RSC_ASSERT(sel != 0 && sel < ENDPOINT_BIT(RSC_ENDPOINTS));
  if (sel & ENDPOINT_BIT(ENDPOINT_HEAD))
    return true;
  int deepest = ENDPOINT_C5;
  while (!(sel & ENDPOINT_BIT(deepest)))
    deepest--;
  g->output = endpoint_node(g, (Endpoint)deepest);
  /* Dead unless the new output depends on it: walk its inputs backwards. */
  bool *needed = xcalloc((size_t)g->nnodes, sizeof *needed);
  needed[g->output] = true;
  for (int i = g->output; i >= 0; i--) {
    const Node *n = &g->nodes[i];
    if (!needed[i] || n->dead)
      continue;
    for (int k = 0; k < n->nin; k++)
      needed[n->in[k]] = true;
  }
  for (int i = 0; i < g->nnodes; i++)
    if (!needed[i] && i != g->input)
      g->nodes[i].dead = true;
  /* The stage output read by the next block's residual sum, now cut off. */
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->se >= 0 && g->nodes[n->se].dead)
      n->se = -1;
    if (n->residual >= 0 && g->nodes[n->residual].dead)
      n->residual = -1;
  }
  free(needed);
  return true;
}
