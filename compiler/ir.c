/*
 * ir.c - the graph IR: nodes in execution order, weight tensors by timm name,
 * a stable text dump (what --dump= prints and the pass tests compare) and an
 * invariant checker run after every pass.
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {
#define X(id, name) name,
    OP_LIST(X)
#undef X
};

const char *op_name(Op op) {
  RSC_ASSERT(op >= 0 && op < OP_COUNT);
  return op_names[op];
}

const char *act_name(ActKind a) {
  switch (a) {
  case ACT_NONE:
    return "none";
  case ACT_RELU:
    return "relu";
  case ACT_SWISH:
    return "swish";
  case ACT_SIGMOID:
    return "sigmoid";
  case ACT_SOFTMAX:
    return "softmax";
  }
  return "?";
}

size_t shape_elems(Shape s) {
  return (size_t)s.n * (size_t)s.h * (size_t)s.w * (size_t)s.c;
}

size_t tensor_elems(const Tensor *t) {
  size_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= (size_t)t->dims[i];
  return n;
}

void graph_init(Graph *g, const Spec *s) {
  memset(g, 0, sizeof *g);
  g->spec = *s;
  g->input = g->output = -1;
  for (int st = 0; st < RSC_STAGES; st++)
    g->stage_out[st] = -1;
}

void graph_free(Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    free(g->nodes[i].name);
    free(g->nodes[i].kernel);
  }
  for (int i = 0; i < g->ntensors; i++) {
    free(g->tensors[i].name);
    free(g->tensors[i].data);
    free(g->tensors[i].packed);
    free(g->tensors[i].scale);
  }
  free(g->nodes);
  free(g->tensors);
  memset(g, 0, sizeof *g);
}

int graph_add_node(Graph *g, Op op, const char *name) {
  if (g->nnodes == g->cap_nodes) {
    g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
    g->nodes = xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
  }
  Node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->name = xstrdup(name);
  n->in[0] = n->in[1] = -1;
  n->w = n->b = -1;
  for (int i = 0; i < 4; i++)
    n->p[i] = -1;
  n->first = n->last = -1;
  n->over = -1;
  return g->nnodes++;
}

int graph_add_tensor(Graph *g, const char *name, int ndim, const int *dims) {
  RSC_ASSERT(ndim >= 1 && ndim <= 4);
  RSC_ASSERT(graph_find_tensor(g, name) < 0);
  if (g->ntensors == g->cap_tensors) {
    g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 256;
    g->tensors = xrealloc(g->tensors, (size_t)g->cap_tensors * sizeof *g->tensors);
  }
  Tensor *t = &g->tensors[g->ntensors];
  memset(t, 0, sizeof *t);
  t->name = xstrdup(name);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->dims[i] = dims[i];
  return g->ntensors++;
}

int graph_find_tensor(const Graph *g, const char *name) {
  /* Linear: a few thousand tensors at most, searched only while importing. */
  for (int i = 0; i < g->ntensors; i++)
    if (strcmp(g->tensors[i].name, name) == 0)
      return i;
  return -1;
}

int graph_use_count(const Graph *g, int id) {
  int uses = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int k = 0; k < n->nin; k++)
      uses += n->in[k] == id;
  }
  return uses;
}

static void dump_tensor_ref(const Graph *g, FILE *out, const char *role, int t) {
  if (t < 0)
    return;
  const Tensor *tt = &g->tensors[t];
  fprintf(out, " %s=%s[", role, tt->name);
  for (int i = 0; i < tt->ndim; i++)
    fprintf(out, "%s%d", i ? "," : "", tt->dims[i]);
  fputc(']', out);
  if (tt->layout != LAYOUT_RAW)
    fprintf(out, "@%zu", tt->offset);
}

void graph_dump(const Graph *g, FILE *out) {
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    fprintf(out, "%%%d = %s %s(", i, n->name, op_name(n->op));
    for (int k = 0; k < n->nin; k++)
      fprintf(out, "%s%%%d", k ? ", " : "", n->in[k]);
    fprintf(out, ") -> [%d,%d,%d,%d]", n->out.n, n->out.h, n->out.w, n->out.c);
    switch (n->op) {
    case OP_CONV:
    case OP_MAXPOOL:
    case OP_AVGPOOL:
      fprintf(out, " k=%dx%d s=%dx%d pad=%d,%d,%d,%d", n->kh, n->kw, n->sh, n->sw, n->pad_t,
              n->pad_l, n->pad_b, n->pad_r);
      break;
    case OP_BN: {
      char eps[32];
      format_double(eps, n->eps);
      fprintf(out, " eps=%s", eps);
      break;
    }
    case OP_SE_ADD:
      fprintf(out, " mid=%d", n->se_mid);
      break;
    case OP_INPUT:
    case OP_ACT:
    case OP_GLOBAL_AVGPOOL:
    case OP_GLOBAL_MAXPOOL:
    case OP_DENSE:
    case OP_SCALE:
    case OP_ADD:
    case OP_SOFTMAX:
    case OP_COUNT:
      break;
    case OP_ENTRY: {
      char sh[32];
      format_double(sh, entry_shift(&g->spec, 0));
      fprintf(out, " from=%s,%s shift0=%s", g->spec.input_type == INPUT_U8 ? "u8" : "f32",
              g->spec.input_layout == INPUT_NCHW ? "nchw" : "nhwc", sh);
      break;
    }
    }
    if (n->act != ACT_NONE)
      fprintf(out, " act=%s", act_name(n->act));
    dump_tensor_ref(g, out, "w", n->w);
    dump_tensor_ref(g, out, "b", n->b);
    for (int k = 0; k < 4; k++)
      dump_tensor_ref(g, out, "p", n->p[k]);
    if (n->first >= 0)
      fprintf(out, " live=%d..%d", n->first, n->last);
    if (n->in_arena)
      fprintf(out, " arena@%zu", n->offset);
    if (n->kernel)
      fprintf(out, " kernel=%s", n->kernel);
    fputc('\n', out);
  }
  if (g->arena_floats)
    fprintf(out, "# arena %zu floats, lower bound %zu floats\n", g->arena_floats,
            g->arena_lower_bound);
  if (g->weight_floats)
    fprintf(out, "# weights %zu floats\n", g->weight_floats);
}

void graph_check(const Graph *g) {
  RSC_ASSERT(g->input >= 0 && g->input < g->nnodes);
  RSC_ASSERT(g->output >= 0 && g->output < g->nnodes && !g->nodes[g->output].dead);
  /* Stage outputs stay alive while they can be endpoints: up to the output. */
  for (int st = 0; st < RSC_STAGES; st++)
    RSC_ASSERT(g->stage_out[st] < g->nnodes &&
               (g->stage_out[st] < 0 || g->stage_out[st] > g->output ||
                !g->nodes[g->stage_out[st]].dead));
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    RSC_ASSERT(n->nin >= 0 && n->nin <= 2);
    for (int k = 0; k < n->nin; k++) {
      /* Execution order is topological: producers come first and are alive. */
      RSC_ASSERT(n->in[k] >= 0 && n->in[k] < i);
      RSC_ASSERT(!g->nodes[n->in[k]].dead);
    }
    RSC_ASSERT(n->w < g->ntensors && n->b < g->ntensors);
    for (int k = 0; k < 4; k++)
      RSC_ASSERT(n->p[k] < g->ntensors);
    RSC_ASSERT((n->op == OP_INPUT) == (i == g->input));
  }
}

void graph_replace_uses(Graph *g, int old_id, int new_id) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] == old_id)
        n->in[k] = new_id;
  }
  if (g->output == old_id)
    g->output = new_id;
  for (int st = 0; st < RSC_STAGES; st++)
    if (g->stage_out[st] == old_id)
      g->stage_out[st] = new_id;
}

int graph_insert_node(Graph *g, int pos, Op op, const char *name) {
  RSC_ASSERT(pos >= 0 && pos <= g->nnodes);
  int id = graph_add_node(g, op, name);
  Node n = g->nodes[id];
  memmove(&g->nodes[pos + 1], &g->nodes[pos], (size_t)(id - pos) * sizeof *g->nodes);
  g->nodes[pos] = n;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] >= pos)
        g->nodes[i].in[k]++;
  if (g->input >= pos)
    g->input++;
  if (g->output >= pos)
    g->output++;
  for (int st = 0; st < RSC_STAGES; st++)
    if (g->stage_out[st] >= pos)
      g->stage_out[st]++;
  return pos;
}
