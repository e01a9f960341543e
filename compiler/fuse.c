/*
 * fuse.c - operator fusion, in two rewrites:
 *
 * 1. An ACT whose producer is a CONV, DENSE or ADD read by nothing else becomes
 *    that producer's epilogue (conv+bias+relu, add+relu, fc1+relu, fc2+sigmoid).
 * 2. The Squeeze-and-Excitation tail of a bottleneck,
 *        s = POOL avg global(x); s = CONV fc1 (relu); g = CONV fc2 (sigmoid);
 *        y = SCALE(x, g); out = ADD(y, shortcut) (act)
 *    becomes one SE_ADD(x, shortcut) node carrying fc1/fc2 weights: the kernel
 *    pools, runs both small FCs, scales, adds the shortcut and activates in one
 *    pass over x, so the scaled tensor is never stored.
 * Patterns are matched strictly (single use of every intermediate), so a graph
 * that does not have this exact form is left as it is and still correct.
 * Then every input of a residual sum (ADD, SE_ADD) is linked to the sum, and
 * an SE_ADD's x to the SE_ADD (Node.residual, Node.se), for select and emit.
 */
#include "rsc.h"

#include <stdlib.h>

static bool single_use(const Graph *g, const Uses *u, int id) {
  return uses_count(u, id) == 1 && g->output != id;
}

static void fuse_activations(Graph *g, Uses *u) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_ACT)
      continue;
    Node *src = &g->nodes[n->in[0]];
    bool can = src->op == OP_CONV || src->op == OP_DENSE || src->op == OP_ADD;
    if (can && src->act == ACT_NONE && single_use(g, u, n->in[0])) {
      int producer = n->in[0];
      src->act = n->act;
      uses_kill(u, g, i);
      uses_replace(u, g, i, producer);
    }
  }
}

/* Is node id a 1x1 CONV with bias, activation a, reading from? */
static bool is_fc(const Graph *g, const Uses *u, int id, ActKind a, int from) {
  const Node *n = &g->nodes[id];
  return n->op == OP_CONV && n->act == a && n->b >= 0 && n->kh == 1 && n->kw == 1 &&
         n->in[0] == from && single_use(g, u, id);
}

static void fuse_se(Graph *g, Uses *u) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *add = &g->nodes[i];
    if (add->dead || add->op != OP_ADD)
      continue;
    int sc = add->in[0];
    const Node *scale = &g->nodes[sc];
    if (scale->op != OP_SCALE || !single_use(g, u, sc))
      continue;
    int x = scale->in[0], gate = scale->in[1];
    int fc1 = g->nodes[gate].in[0], pool = fc1 >= 0 ? g->nodes[fc1].in[0] : -1;
    const Node *pn = pool >= 0 ? &g->nodes[pool] : NULL;
    if (!pn || pn->op != OP_POOL || !pn->attr.pool.global || pn->attr.pool.kind != POOL_AVG ||
        pn->in[0] != x || !single_use(g, u, pool) || !is_fc(g, u, fc1, ACT_RELU, pool) ||
        !is_fc(g, u, gate, ACT_SIGMOID, fc1) || uses_count(u, x) != 2)
      continue;
    /* The SE module's name without ".se" suffix is the block: "layer1.0". */
    const Node *f1 = &g->nodes[fc1], *f2 = &g->nodes[gate];
    add->op = OP_SE_ADD;
    uses_set_input(u, g, i, 0, x); /* in[1] stays the shortcut */
    add->attr.se = (SeAttr){.fc1_w = f1->w,
                            .fc1_b = f1->b,
                            .fc2_w = f2->w,
                            .fc2_b = f2->b,
                            .mid = g->tensors[f1->w].dims[0]};
    char *name = xstrfmt("%s", scale->name); /* "layer1.0.se" */
    free(add->name);
    add->name = name;
    uses_kill(u, g, pool);
    uses_kill(u, g, fc1);
    uses_kill(u, g, gate);
    uses_kill(u, g, sc);
  }
}

/* The links the later stages follow instead of searching the graph: each
 * SE_ADD's x knows its SE, each input of a residual sum knows the sum. */
static void link_nodes(Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || (n->op != OP_ADD && n->op != OP_SE_ADD))
      continue;
    for (int k = 0; k < n->nin; k++) {
      Node *in = &g->nodes[n->in[k]];
      RSC_ASSERT(in->residual < 0); /* one residual sum per tensor */
      in->residual = i;
    }
    if (n->op == OP_SE_ADD)
      g->nodes[n->in[0]].se = i;
  }
  g->linked = true;
}

bool fuse_ops(Graph *g, Diag *d) {
  (void)d;
  Uses u;
  uses_build(&u, g);
  fuse_activations(g, &u);
  fuse_se(g, &u);
  link_nodes(g);
  uses_check(&u, g);
  uses_free(&u);
  graph_check(g);
  return true;
}
