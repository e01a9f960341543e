/*
 * fold.c - folds every inference BatchNorm into the convolution that feeds it:
 *   y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
 *     = conv_{w * s}(x) + (b - mean) * s + beta,   s = gamma / sqrt(var + eps)
 * per output channel, computed in double and rounded once. The conv's weight is
 * rewritten in place and it gains a bias tensor "<conv>.bias" (or keeps its own).
 * A BN whose producer is not a conv used only by it is left alone (none occur in
 * the networks build.c makes; the emitter would then reject the BN).
 *
 * The graph rewrite and the biases are done in node order; the weights, all
 * but a few KB of the work (RS-420: 770 MB), are scaled afterwards on
 * rsc_threads() threads, one conv per job. Each job reads only its own conv's
 * weights and BN, so the result is the same on any number of threads. The
 * scale is recorded on the weight (tensor_scale, tensor.c), which applies it
 * now, or when it draws a weight not drawn yet (weights_random_deferred).
 */
#include "rsc.h"

#include <math.h>
#include <stdlib.h>

/* One conv whose weight still has to be scaled by its BN. */
typedef struct FoldJob {
  int conv, bn;
} FoldJob;

typedef struct Folding {
  Graph *g;
  FoldJob *jobs;
  int njobs;
} Folding;

static double bn_scale(const Graph *g, const Node *bn, int o) {
  const float *gamma = g->tensors[bn->attr.bn.gamma].data, *var = g->tensors[bn->attr.bn.var].data;
  return gamma[o] / sqrt((double)var[o] + bn->attr.bn.eps);
}

/* w[o] *= s[o] (tensor.c: rounded once per value; a deferred w records it). */
static void scale_weights(void *ctx, int i, int worker) {
  (void)worker;
  const Folding *f = ctx;
  const Graph *g = f->g;
  const Node *bn = &g->nodes[f->jobs[i].bn];
  Tensor *w = &g->tensors[g->nodes[f->jobs[i].conv].w];
  int cout = w->dims[0];
  double *s = xmalloc((size_t)cout * sizeof *s);
  for (int o = 0; o < cout; o++)
    s[o] = bn_scale(g, bn, o);
  tensor_scale(w, 0, s);
}

/* The bias and the graph rewrite; the weights are left to scale_weights. */
static void fold_one(Graph *g, Uses *u, int conv_id, int bn_id) {
  Node *bn = &g->nodes[bn_id];
  int cout = g->tensors[g->nodes[conv_id].w].dims[0];
  const float *beta = g->tensors[bn->attr.bn.beta].data, *mean = g->tensors[bn->attr.bn.mean].data;
  int bias = g->nodes[conv_id].b;
  if (bias < 0) {
    char *name = xstrfmt("%s.bias", g->nodes[conv_id].name);
    bias = graph_add_tensor(g, name, 1, &cout);
    free(name);
    g->tensors[bias].data = xcalloc((size_t)cout, sizeof(float));
    g->nodes[conv_id].b = bias;
  }
  float *b = g->tensors[bias].data;
  for (int o = 0; o < cout; o++)
    b[o] = (float)(((double)b[o] - mean[o]) * bn_scale(g, bn, o) + beta[o]);
  uses_kill(u, g, bn_id);
  uses_replace(u, g, bn_id, conv_id);
}

bool fold_bn(Graph *g, Diag *d) {
  (void)d;
  Folding f = {.g = g, .jobs = xmalloc((size_t)(g->nnodes ? g->nnodes : 1) * sizeof(FoldJob))};
  Uses u;
  uses_build(&u, g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_BN)
      continue;
    int src = n->in[0];
    if (g->nodes[src].op == OP_CONV && g->nodes[src].act == ACT_NONE &&
        uses_count(&u, src) == 1) {
      fold_one(g, &u, src, i);
      f.jobs[f.njobs++] = (FoldJob){src, i};
    }
  }
  /* Node order puts big and small convs side by side: no sort needed for
   * the threads to finish together. */
  uses_check(&u, g);
  uses_free(&u);
  parallel_for(f.njobs, rsc_threads(), scale_weights, &f);
  free(f.jobs);
  graph_check(g);
  return true;
}
