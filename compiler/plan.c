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
  return align_up((size_t)se->out.n * ((size_t)se->out.c + (size_t)se->se_mid));
}

size_t se_scratch_floats(const Node *se) {
  size_t need = se_pool_offset(se);
  if (se->pooled) { /* rsc_conv2d_part's slots: one per chunk of each image */
    const size_t hw = (size_t)se->out.h * (size_t)se->out.w;
    const size_t slots = (size_t)se->out.n * ((hw + SE_POOL_CHUNK - 1) / SE_POOL_CHUNK);
    need += align_up(slots * (size_t)se->out.c);
  }
  return need;
}

/* The node whose buffer node id's output lives in: itself unless in place. */
static int buffer_root(const Graph *g, int id) {
  while (g->nodes[id].in_arena && g->nodes[id].over >= 0)
    id = g->nodes[id].over;
  return id;
}

static const Graph *sort_graph; /* qsort has no context argument in C11 */

static int by_size_desc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  size_t sx = node_floats(&sort_graph->nodes[x]), sy = node_floats(&sort_graph->nodes[y]);
  if (sx != sy)
    return sx < sy ? 1 : -1;
  return x - y; /* stable: deterministic plans */
}

static bool overlaps_time(const Node *a, const Node *b) {
  return a->first <= b->last && b->first <= a->last;
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
   * buffer (root) spans all of them. */
  int *own_last = xmalloc((size_t)g->nnodes * sizeof *own_last);
  for (int i = 0; i < g->nnodes; i++)
    own_last[i] = g->nodes[i].last;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    n->over = -1;
    if (n->dead || n->op != OP_SE_ADD || !n->in_arena)
      continue;
    for (int k = 1; k >= 0 && n->over < 0; k--) {
      const Node *src = &g->nodes[n->in[k]];
      if (src->in_arena && own_last[n->in[k]] == i &&
          shape_elems(src->out) == shape_elems(n->out))
        n->over = n->in[k];
    }
    if (n->over >= 0) {
      Node *root = &g->nodes[buffer_root(g, i)];
      if (root->last < n->last)
        root->last = n->last;
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
  int *placed = xmalloc((size_t)g->nnodes * sizeof *placed), nplaced = 0;
  size_t top = 0;
  for (int k = 0; k < norder; k++) {
    Node *n = &g->nodes[order[k]];
    size_t size = node_floats(n), off = 0;
    /* Raise off past every conflicting placed tensor until none conflicts;
     * each pass either settles or moves off strictly up, so this ends. */
    for (bool moved = true; moved;) {
      moved = false;
      for (int j = 0; j < nplaced; j++) {
        const Node *p = &g->nodes[placed[j]];
        size_t pend = p->offset + node_floats(p);
        if (overlaps_time(n, p) && off < pend && p->offset < off + size) {
          off = pend;
          moved = true;
        }
      }
    }
    n->offset = off;
    placed[nplaced++] = order[k];
    if (off + size > top)
      top = off + size;
  }
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].in_arena && g->nodes[i].over >= 0)
      g->nodes[i].offset = g->nodes[buffer_root(g, i)].offset;
  /* Lower bound: the most floats live at any one node. */
  size_t bound = 0;
  for (int t = 0; t < g->nnodes; t++) {
    size_t live = 0;
    for (int j = 0; j < nplaced; j++) {
      const Node *p = &g->nodes[placed[j]];
      if (p->first <= t && t <= p->last)
        live += node_floats(p);
    }
    if (live > bound)
      bound = live;
  }
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
  free(placed);
  return true;
}
