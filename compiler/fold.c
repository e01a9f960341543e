/*
 * fold.c - folds every inference BatchNorm into the convolution that feeds it:
 *   y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
 *     = conv_{w * s}(x) + (b - mean) * s + beta,   s = gamma / sqrt(var + eps)
 * per output channel, computed in double and rounded once. The conv's weight is
 * rewritten in place and it gains a bias tensor "<conv>.bias" (or keeps its own).
 * A BN whose producer is not a conv used only by it is left alone (none occur in
 * the networks build.c makes; the emitter would then reject the BN).
 */
#include "rsc.h"

#include <math.h>
#include <stdlib.h>

static void fold_one(Graph *g, int conv_id, int bn_id) {
  Node *bn = &g->nodes[bn_id];
  int cout = g->tensors[g->nodes[conv_id].w].dims[0];
  const float *gamma = g->tensors[bn->p[0]].data, *beta = g->tensors[bn->p[1]].data,
              *mean = g->tensors[bn->p[2]].data, *var = g->tensors[bn->p[3]].data;
  double eps = bn->eps;
  int bias = g->nodes[conv_id].b;
  if (bias < 0) {
    char *name = xstrfmt("%s.bias", g->nodes[conv_id].name);
    bias = graph_add_tensor(g, name, 1, &cout);
    free(name);
    g->tensors[bias].data = xcalloc((size_t)cout, sizeof(float));
    g->nodes[conv_id].b = bias;
  }
  Tensor *w = &g->tensors[g->nodes[conv_id].w];
  float *b = g->tensors[bias].data;
  size_t per_out = tensor_elems(w) / (size_t)cout;
  for (int o = 0; o < cout; o++) {
    double s = gamma[o] / sqrt((double)var[o] + eps);
    for (size_t k = 0; k < per_out; k++)
      w->data[(size_t)o * per_out + k] = (float)(w->data[(size_t)o * per_out + k] * s);
    b[o] = (float)(((double)b[o] - mean[o]) * s + beta[o]);
  }
  bn->dead = true;
  graph_replace_uses(g, bn_id, conv_id);
}

bool fold_bn(Graph *g, Diag *d) {
  (void)d;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_BN)
      continue;
    int src = n->in[0];
    if (g->nodes[src].op == OP_CONV && g->nodes[src].act == ACT_NONE &&
        graph_use_count(g, src) == 1)
      fold_one(g, src, i);
  }
  graph_check(g);
  return true;
}
