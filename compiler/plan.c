/*
 * plan.c - the static memory plan. Every activation the network computes lives
 * in one arena at an offset fixed here; the input is read from the caller's
 * buffer and the last node writes straight into the caller's output buffer.
 *
 * A tensor is live from the node that defines it to the last node that reads
 * it, both included, so a kernel's output never overlaps its inputs (kernels
 * take restrict pointers). Placement is greedy: tensors in decreasing size,
 * each at the lowest 64-byte-aligned offset that overlaps no placed tensor
 * with an intersecting live range. The lower bound reported beside it is the
 * largest total of simultaneously live tensors: no plan can use less.
 * An SE_ADD that is the last reader of its shortcut writes its output over
 * it (`over`; else over its x, if it is x's last reader): its scale-add
 * then reads and writes the same lines, which need no separate fetch for
 * ownership, and one buffer serves both (one tensor fewer in the cache: at
 * batch 8 in stage 1 each is 13 MB). The shortcut is preferred: it is the
 * previous block's output, long in the arena anyway, where x, the conv
 * just before, sits in a short-lived, recently used buffer. A stage's
 * block outputs thus chain into one buffer, live while any of them is.
 * SE_ADD's scratch (N * (C + M) floats: pooled means, reduced vector and gate
 * of every image; then, if its producer pools for it, the partial sums that
 * conv writes) sits after the planned region, shared by every SE_ADD.
 * Runs after select.c, which decides the tiles those partials depend on.
 */
#include "rsc.h"

#include <stdlib.h>

enum { ALIGN_FLOATS = 16 }; /* 64 bytes */

static size_t align_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static size_t node_floats(const Node *n) { return align_up(shape_elems(n->out)); }

size_t se_pool_offset(const Node *se) {
  return align_up((size_t)se->out.n * ((size_t)se->out.c + (size_t)se->attr.se.mid));
}

size_t se_scratch_floats(const Node *se) {
  size_t need = se_pool_offset(se);
  if (se->sched->pooled) { /* rsc_conv2d_part's slots: one per chunk of each image */
    const size_t hw = (size_t)se->out.h * (size_t)se->out.w;
    const size_t slots = (size_t)se->out.n * ((hw + SE_POOL_CHUNK - 1) / SE_POOL_CHUNK);
    need += align_up(slots * (size_t)se->out.c);
  }
  return need;
}

static const Graph *sort_graph; /* qsort has no context argument in C11 */

static int by_size_desc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  size_t sx = node_floats(&sort_graph->nodes[x]), sy = node_floats(&sort_graph->nodes[y]);
  if (sx != sy)
    return sx < sy ? 1 : -1;
  return x - y; /* stable: deterministic plans */
}

static int by_offset(const void *a, const void *b) {
  const Node *x = &sort_graph->nodes[*(const int *)a], *y = &sort_graph->nodes[*(const int *)b];
  return (x->offset > y->offset) - (x->offset < y->offset);
}

/* The placed tensors live at each node, so that placing a tensor looks only at
 * those its live range meets: their number, not the graph's size. at[t] lists
 * them in at_ids[at_start[t] ..], at_n[t] of them so far. */
typedef struct Timeline {
  int *at_start, *at_n, *at_ids;
} Timeline;

/* The lowest offset where n (size floats) overlaps no placed tensor whose live
 * range meets its own. conflicts is scratch of one int per node, stamp marks
 * those collected (by n's id). */
static size_t lowest_free(const Graph *g, const Timeline *tl, int id, size_t size, int *conflicts,
                          int *stamp) {
  const Node *n = &g->nodes[id];
  int m = 0;
  unsigned long long visits = 0;
  for (int t = n->first; t <= n->last; t++)
    for (int k = 0; k < tl->at_n[t]; k++, visits++) {
      int p = tl->at_ids[tl->at_start[t] + k];
      if (stamp[p] != id) {
        stamp[p] = id;
        conflicts[m++] = p;
      }
    }
  rsc_count_steps(visits + (unsigned long long)m);
  /* In offset order, off rises past each one it runs into; the first gap
   * that fits is the lowest offset free of all of them. */
  qsort(conflicts, (size_t)m, sizeof *conflicts, by_offset);
  size_t off = 0;
  for (int k = 0; k < m; k++) {
    const Node *p = &g->nodes[conflicts[k]];
    if (p->offset >= off + size)
      break;
    if (p->offset + node_floats(p) > off)
      off = p->offset + node_floats(p);
  }
  return off;
}

bool plan_memory(Graph *g, Diag *d) {
  (void)d;
  /* Live ranges. */
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    n->first = n->last = n->dead ? -1 : i;
    n->in_arena = !n->dead && i != g->input && i != g->output;
  }
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int k = 0; k < n->nin; k++)
      if (g->nodes[n->in[k]].last < i)
        g->nodes[n->in[k]].last = i;
  }
  /* In place: an input's buffer lives on as the SE_ADD's output. Readers
   * are decided on each node's own range (own_last), the chain's first
   * buffer (root) spans all of them; root[i] is the node whose buffer i's
   * output lives in (itself unless in place). */
  int *own_last = xmalloc((size_t)g->nnodes * sizeof *own_last);
  int *root = xmalloc((size_t)g->nnodes * sizeof *root);
  for (int i = 0; i < g->nnodes; i++)
    own_last[i] = g->nodes[i].last;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    n->over = -1;
    root[i] = i;
    if (n->dead || n->op != OP_SE_ADD || !n->in_arena)
      continue;
    for (int k = 1; k >= 0 && n->over < 0; k--) {
      const Node *src = &g->nodes[n->in[k]];
      if (src->in_arena && own_last[n->in[k]] == i &&
          shape_elems(src->out) == shape_elems(n->out))
        n->over = n->in[k];
    }
    if (n->over >= 0) {
      root[i] = root[n->over]; /* over < i: its root is final */
      Node *r = &g->nodes[root[i]];
      if (r->last < n->last)
        r->last = n->last;
    }
  }
  free(own_last);
  /* Placement, biggest first. */
  int *order = xmalloc((size_t)g->nnodes * sizeof *order), norder = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].in_arena && g->nodes[i].over < 0)
      order[norder++] = i;
  sort_graph = g;
  qsort(order, (size_t)norder, sizeof *order, by_size_desc);
  /* Timeline slots: one per node of each tensor's live range. Lower bound:
   * the most floats live at any one node, from the changes at each range's
   * ends (live[t] = sum of change[0..t]). */
  Timeline tl = {.at_start = xmalloc((size_t)(g->nnodes + 1) * sizeof *tl.at_start),
                 .at_n = xcalloc((size_t)g->nnodes, sizeof *tl.at_n)};
  size_t *change = xcalloc((size_t)g->nnodes + 1, sizeof *change);
  for (int k = 0; k < norder; k++) {
    const Node *n = &g->nodes[order[k]];
    for (int t = n->first; t <= n->last; t++)
      tl.at_n[t]++;
    change[n->first] += node_floats(n);
    change[n->last + 1] -= node_floats(n); /* wraps; the sum comes back */
  }
  size_t slots = 0, bound = 0, live = 0;
  for (int t = 0; t < g->nnodes; t++) {
    tl.at_start[t] = (int)slots;
    slots += (size_t)tl.at_n[t];
    tl.at_n[t] = 0;
    live += change[t];
    if (live > bound)
      bound = live;
  }
  rsc_count_steps(slots + (size_t)g->nnodes);
  free(change);
  tl.at_ids = xmalloc((slots ? slots : 1) * sizeof *tl.at_ids);
  int *conflicts = xmalloc((size_t)g->nnodes * sizeof *conflicts);
  int *stamp = xmalloc((size_t)g->nnodes * sizeof *stamp);
  for (int i = 0; i < g->nnodes; i++)
    stamp[i] = -1;
  size_t top = 0;
  for (int k = 0; k < norder; k++) {
    Node *n = &g->nodes[order[k]];
    size_t size = node_floats(n);
    n->offset = lowest_free(g, &tl, order[k], size, conflicts, stamp);
    for (int t = n->first; t <= n->last; t++)
      tl.at_ids[tl.at_start[t] + tl.at_n[t]++] = order[k];
    if (n->offset + size > top)
      top = n->offset + size;
  }
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].in_arena && g->nodes[i].over >= 0)
      g->nodes[i].offset = g->nodes[root[i]].offset;
  free(root);
  free(conflicts);
  free(stamp);
  free(tl.at_start);
  free(tl.at_n);
  free(tl.at_ids);
  size_t scratch = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (!n->dead && n->op == OP_SE_ADD && se_scratch_floats(n) > scratch)
      scratch = se_scratch_floats(n);
  }
  g->scratch_offset = top;
  g->arena_floats = top + scratch;
  g->arena_lower_bound = bound + scratch;
  free(order);
  return true;
}
