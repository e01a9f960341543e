/*
 * ir.c - the graph IR: nodes in execution order, weight tensors by timm name,
 * a stable text dump (what --dump= prints and the pass tests compare) and an
 * invariant checker run after every pass.
 *
 * Every primitive a pass calls once per node costs O(1) (amortised), so that
 * the passes stay linear in the network (RS-420 has 2,250 nodes; --blocks
 * allows 64,000): tensors are found through a hash index of their names, and
 * the rewriting passes find a node's readers through use lists (Uses)
 * instead of walking the whole graph. rsc_steps counts that work.
 */
#include "rsc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic unsigned long long steps;

void rsc_count_steps(unsigned long long n) {
  atomic_fetch_add_explicit(&steps, n, memory_order_relaxed);
}

unsigned long long rsc_steps(void) { return atomic_load_explicit(&steps, memory_order_relaxed); }

/* ---- NameMap: open addressing, linear probing, at most half full. */

static uint64_t name_hash(const char *s) { return fnv1a64(FNV64_INIT, s, strlen(s)); }

/* The slot holding key, or the empty slot where it would go. */
static size_t namemap_slot(const NameMap *m, const char *key, uint64_t h) {
  size_t mask = m->cap - 1, i = (size_t)h & mask;
  unsigned long long probes = 1;
  while (m->keys[i] && (m->hashes[i] != h || strcmp(m->keys[i], key) != 0)) {
    i = (i + 1) & mask;
    probes++;
  }
  rsc_count_steps(probes);
  return i;
}

int namemap_get(const NameMap *m, const char *key) {
  if (!m->cap)
    return -1;
  size_t i = namemap_slot(m, key, name_hash(key));
  return m->keys[i] ? m->vals[i] : -1;
}

static void namemap_grow(NameMap *m) {
  NameMap bigger = {.cap = m->cap ? 2 * m->cap : 64};
  bigger.keys = xcalloc(bigger.cap, sizeof *bigger.keys);
  bigger.hashes = xmalloc(bigger.cap * sizeof *bigger.hashes);
  bigger.vals = xmalloc(bigger.cap * sizeof *bigger.vals);
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      size_t j = namemap_slot(&bigger, m->keys[i], m->hashes[i]);
      bigger.keys[j] = m->keys[i];
      bigger.hashes[j] = m->hashes[i];
      bigger.vals[j] = m->vals[i];
    }
  bigger.n = m->n;
  namemap_free(m);
  *m = bigger;
}

int namemap_put(NameMap *m, const char *key, int val) {
  RSC_ASSERT(val >= 0);
  if (2 * (m->n + 1) > m->cap)
    namemap_grow(m);
  uint64_t h = name_hash(key);
  size_t i = namemap_slot(m, key, h);
  int old = -1;
  if (m->keys[i]) {
    old = m->vals[i];
  } else {
    m->keys[i] = key;
    m->hashes[i] = h;
    m->n++;
  }
  m->vals[i] = val;
  return old;
}

void namemap_free(NameMap *m) {
  free(m->keys);
  free(m->hashes);
  free(m->vals);
  memset(m, 0, sizeof *m);
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
    sched_free(&g->nodes[i]);
  }
  for (int i = 0; i < g->ntensors; i++) {
    free(g->tensors[i].name);
    free(g->tensors[i].data);
    free(g->tensors[i].packed);
    for (int k = 0; k < g->tensors[i].nscales; k++)
      free(g->tensors[i].scales[k].s);
  }
  free(g->nodes);
  free(g->tensors);
  namemap_free(&g->tensor_index);
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
  if (op == OP_BN)
    n->attr.bn = (BnAttr){.gamma = -1, .beta = -1, .mean = -1, .var = -1};
  else if (op == OP_SE_ADD)
    n->attr.se = (SeAttr){.fc1_w = -1, .fc1_b = -1, .fc2_w = -1, .fc2_b = -1};
  n->first = n->last = -1;
  n->over = -1;
  n->se = n->residual = -1;
  return g->nnodes++;
}

int graph_add_tensor(Graph *g, const char *name, int ndim, const int *dims) {
  RSC_ASSERT(ndim >= 1 && ndim <= 4);
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
  /* The index keys are the tensors' own names: they stay put when the array grows. */
  RSC_ASSERT(namemap_put(&g->tensor_index, t->name, g->ntensors) < 0); /* names are unique */
  return g->ntensors++;
}

int graph_find_tensor(const Graph *g, const char *name) {
  return namemap_get(&g->tensor_index, name);
}

void sched_free(Node *n) {
  if (n->sched)
    free(n->sched->kernel);
  free(n->sched);
  n->sched = NULL;
}

int node_tensors(const Node *n, TensorRef out[NODE_MAX_TENSORS]) {
  TensorRef all[NODE_MAX_TENSORS];
  int k = 0;
  switch (n->op) {
  case OP_CONV:
  case OP_DENSE:
    all[k++] = (TensorRef){"w", n->w};
    all[k++] = (TensorRef){"b", n->b};
    break;
  case OP_BN:
    all[k++] = (TensorRef){"gamma", n->attr.bn.gamma};
    all[k++] = (TensorRef){"beta", n->attr.bn.beta};
    all[k++] = (TensorRef){"mean", n->attr.bn.mean};
    all[k++] = (TensorRef){"var", n->attr.bn.var};
    break;
  case OP_SE_ADD:
    all[k++] = (TensorRef){"fc1_w", n->attr.se.fc1_w};
    all[k++] = (TensorRef){"fc1_b", n->attr.se.fc1_b};
    all[k++] = (TensorRef){"fc2_w", n->attr.se.fc2_w};
    all[k++] = (TensorRef){"fc2_b", n->attr.se.fc2_b};
    break;
  case OP_INPUT:
  case OP_ACT:
  case OP_POOL:
  case OP_SCALE:
  case OP_ADD:
  case OP_SOFTMAX:
  case OP_ENTRY:
  case OP_COUNT:
    break;
  }
  int m = 0;
  for (int i = 0; i < k; i++)
    if (all[i].id >= 0)
      out[m++] = all[i];
  return m;
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
    fprintf(out, "%%%d = %s %s(", i, n->name, node_op_name(n));
    for (int k = 0; k < n->nin; k++)
      fprintf(out, "%s%%%d", k ? ", " : "", n->in[k]);
    fprintf(out, ") -> [%d,%d,%d,%d]", n->out.n, n->out.h, n->out.w, n->out.c);
    switch (n->op) {
    case OP_CONV:
    case OP_POOL:
      if (n->op == OP_POOL && n->attr.pool.global)
        break;
      fprintf(out, " k=%dx%d s=%dx%d pad=%d,%d,%d,%d", n->kh, n->kw, n->sh, n->sw, n->pad_t,
              n->pad_l, n->pad_b, n->pad_r);
      break;
    case OP_BN: {
      char eps[32];
      format_double(eps, n->attr.bn.eps);
      fprintf(out, " eps=%s", eps);
      break;
    }
    case OP_SE_ADD:
      fprintf(out, " mid=%d", n->attr.se.mid);
      break;
    case OP_INPUT:
    case OP_ACT:
    case OP_DENSE:
    case OP_SCALE:
    case OP_ADD:
    case OP_SOFTMAX:
    case OP_COUNT:
      break;
    case OP_ENTRY: {
      char sh[32];
      format_double(sh, n->attr.entry.shift[0]);
      fprintf(out, " from=%s,%s shift0=%s", spec_word(KEY_INPUT_TYPE, (int)g->spec.input_type),
              spec_word(KEY_INPUT_LAYOUT, (int)g->spec.input_layout), sh);
      break;
    }
    }
    if (n->act != ACT_NONE)
      fprintf(out, " act=%s", act_name(n->act));
    TensorRef refs[NODE_MAX_TENSORS];
    for (int k = 0, m = node_tensors(n, refs); k < m; k++)
      dump_tensor_ref(g, out, refs[k].role, refs[k].id);
    if (n->se >= 0)
      fprintf(out, " se=%%%d", n->se);
    if (n->residual >= 0)
      fprintf(out, " residual=%%%d", n->residual);
    if (n->first >= 0)
      fprintf(out, " live=%d..%d", n->first, n->last);
    if (n->in_arena)
      fprintf(out, " arena@%zu", n->offset);
    if (n->sched)
      fprintf(out, " kernel=%s", n->sched->kernel);
    fputc('\n', out);
  }
  if (g->arena_floats)
    fprintf(out, "# arena %zu floats, lower bound %zu floats\n", g->arena_floats,
            g->arena_lower_bound);
  if (g->weight_floats)
    fprintf(out, "# weights %zu floats\n", g->weight_floats);
}

/* Node i's fuse links (se, residual) and the edges they stand for, both ways:
 * a link names a live reader of i that reads it in that role, and every
 * SE_ADD's x and every residual sum's input links back. None before fuse. */
static void check_links(const Graph *g, int i) {
  const Node *n = &g->nodes[i];
  RSC_ASSERT(n->se >= -1 && n->se < g->nnodes && n->residual >= -1 && n->residual < g->nnodes);
  if (!g->linked) {
    RSC_ASSERT(n->se < 0 && n->residual < 0);
    return;
  }
  if (n->se >= 0) {
    const Node *se = &g->nodes[n->se];
    RSC_ASSERT(!se->dead && se->op == OP_SE_ADD && se->in[0] == i && n->residual == n->se);
  }
  if (n->residual >= 0) {
    const Node *r = &g->nodes[n->residual];
    RSC_ASSERT(!r->dead && (r->op == OP_ADD || r->op == OP_SE_ADD) &&
               (r->in[0] == i || r->in[1] == i));
  }
  if (n->op == OP_SE_ADD)
    RSC_ASSERT(g->nodes[n->in[0]].se == i);
  if (n->op == OP_ADD || n->op == OP_SE_ADD)
    for (int k = 0; k < n->nin; k++)
      RSC_ASSERT(g->nodes[n->in[k]].residual == i);
}

/* Node i's Sched (select.c): a conv's tile is set, and a conv that writes
 * an SE's pool and the SE_ADD that reads it name each other through the
 * fuse link, both ways. */
static void check_sched(const Graph *g, int i) {
  const Node *n = &g->nodes[i];
  const Sched *s = n->sched;
  RSC_ASSERT(n->op != OP_INPUT);
  if (n->op == OP_CONV) {
    RSC_ASSERT(s->conv.kb >= 1 && s->conv.np >= 1);
    RSC_ASSERT(!(s->conv.wino && s->conv.se_pool));
    if (s->conv.se_pool) {
      RSC_ASSERT(n->se >= 0);
      const Node *se = &g->nodes[n->se];
      RSC_ASSERT(se->sched && se->sched->pooled);
    }
  } else {
    RSC_ASSERT(s->conv.kb == 0 && !s->conv.se_pool);
  }
  RSC_ASSERT(!s->pooled || n->op == OP_SE_ADD);
  if (s->pooled) {
    const Node *x = &g->nodes[n->in[0]];
    RSC_ASSERT(x->se == i && x->op == OP_CONV && x->sched && x->sched->conv.se_pool);
  }
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
    /* Only CONV and DENSE have w and b; the other ops' tensors are in attr. */
    RSC_ASSERT(n->op == OP_CONV || n->op == OP_DENSE || (n->w < 0 && n->b < 0));
    TensorRef refs[NODE_MAX_TENSORS];
    for (int k = 0, m = node_tensors(n, refs); k < m; k++)
      RSC_ASSERT(refs[k].id < g->ntensors);
    if (n->op == OP_SE_ADD) /* fuse gives an SE_ADD its module's four tensors */
      RSC_ASSERT(n->attr.se.fc1_w >= 0 && n->attr.se.fc1_b >= 0 && n->attr.se.fc2_w >= 0 &&
                 n->attr.se.fc2_b >= 0 && n->attr.se.mid == g->tensors[n->attr.se.fc1_w].dims[0]);
    if (n->op == OP_POOL) /* a window pool has a window, a global one none */
      RSC_ASSERT((n->attr.pool.kind == POOL_MAX || n->attr.pool.kind == POOL_AVG) &&
                 (n->attr.pool.global ? n->kh == 0 && n->kw == 0
                                      : n->kh > 0 && n->kw > 0 && n->sh > 0 && n->sw > 0));
    RSC_ASSERT((n->op == OP_INPUT) == (i == g->input));
    if (n->sched)
      check_sched(g, i);
    check_links(g, i);
  }
}

/* ---- Uses: the edges reading a node, as a doubly linked list per node.
 * Edge e = 2 * reader + slot is the reader's in[slot]. */

static void uses_link(Uses *u, int e, int src) {
  u->next[e] = u->head[src];
  u->prev[e] = -1;
  if (u->head[src] >= 0)
    u->prev[u->head[src]] = e;
  u->head[src] = e;
  u->count[src]++;
}

static void uses_unlink(Uses *u, int e, int src) {
  if (u->prev[e] >= 0)
    u->next[u->prev[e]] = u->next[e];
  else
    u->head[src] = u->next[e];
  if (u->next[e] >= 0)
    u->prev[u->next[e]] = u->prev[e];
  u->count[src]--;
}

void uses_build(Uses *u, const Graph *g) {
  int n = g->nnodes;
  u->nnodes = n;
  u->head = xmalloc((size_t)(n ? n : 1) * sizeof *u->head);
  u->count = xcalloc((size_t)(n ? n : 1), sizeof *u->count);
  u->next = xmalloc((size_t)(n ? 2 * n : 1) * sizeof *u->next);
  u->prev = xmalloc((size_t)(n ? 2 * n : 1) * sizeof *u->prev);
  for (int i = 0; i < n; i++)
    u->head[i] = -1;
  for (int i = 0; i < n; i++) {
    const Node *nd = &g->nodes[i];
    if (nd->dead)
      continue;
    for (int k = 0; k < nd->nin; k++)
      uses_link(u, 2 * i + k, nd->in[k]);
  }
  rsc_count_steps((unsigned long long)n);
}

void uses_free(Uses *u) {
  free(u->head);
  free(u->count);
  free(u->next);
  free(u->prev);
  memset(u, 0, sizeof *u);
}

int uses_count(const Uses *u, int id) {
  RSC_ASSERT(id >= 0 && id < u->nnodes);
  return u->count[id];
}

void uses_replace(Uses *u, Graph *g, int old_id, int new_id) {
  RSC_ASSERT(u->nnodes == g->nnodes && old_id != new_id);
  unsigned long long n = 1;
  for (int e = u->head[old_id], next; e >= 0; e = next, n++) {
    next = u->next[e];
    g->nodes[e / 2].in[e % 2] = new_id;
    uses_unlink(u, e, old_id);
    uses_link(u, e, new_id);
  }
  rsc_count_steps(n);
  if (g->output == old_id)
    g->output = new_id;
  for (int st = 0; st < RSC_STAGES; st++)
    if (g->stage_out[st] == old_id)
      g->stage_out[st] = new_id;
}

void uses_set_input(Uses *u, Graph *g, int id, int slot, int src) {
  Node *n = &g->nodes[id];
  RSC_ASSERT(u->nnodes == g->nnodes && !n->dead && slot >= 0 && slot < n->nin);
  uses_unlink(u, 2 * id + slot, n->in[slot]);
  n->in[slot] = src;
  uses_link(u, 2 * id + slot, src);
  rsc_count_steps(1);
}

void uses_kill(Uses *u, Graph *g, int id) {
  Node *n = &g->nodes[id];
  RSC_ASSERT(u->nnodes == g->nnodes && !n->dead);
  for (int k = 0; k < n->nin; k++)
    uses_unlink(u, 2 * id + k, n->in[k]);
  n->dead = true;
  rsc_count_steps(1);
}

void uses_check(const Uses *u, const Graph *g) {
  RSC_ASSERT(u->nnodes == g->nnodes);
  int *count = xcalloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *count);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (!n->dead)
      for (int k = 0; k < n->nin; k++)
        count[n->in[k]]++;
  }
  for (int i = 0; i < g->nnodes; i++) {
    int listed = 0;
    for (int e = u->head[i]; e >= 0; e = u->next[e], listed++)
      RSC_ASSERT(!g->nodes[e / 2].dead && g->nodes[e / 2].in[e % 2] == i);
    RSC_ASSERT(listed == count[i] && u->count[i] == count[i]);
  }
  free(count);
}

int graph_insert_node(Graph *g, int pos, Op op, const char *name) {
  RSC_ASSERT(pos >= 0 && pos <= g->nnodes);
  int id = graph_add_node(g, op, name);
  rsc_count_steps((unsigned long long)g->nnodes);
  Node n = g->nodes[id];
  memmove(&g->nodes[pos + 1], &g->nodes[pos], (size_t)(id - pos) * sizeof *g->nodes);
  g->nodes[pos] = n;
  for (int i = 0; i < g->nnodes; i++) {
    Node *m = &g->nodes[i];
    for (int k = 0; k < m->nin; k++)
      if (m->in[k] >= pos)
        m->in[k]++;
    if (m->se >= pos)
      m->se++;
    if (m->residual >= pos)
      m->residual++;
  }
  if (g->input >= pos)
    g->input++;
  if (g->output >= pos)
    g->output++;
  for (int st = 0; st < RSC_STAGES; st++)
    if (g->stage_out[st] >= pos)
      g->stage_out[st]++;
  return pos;
}
