/*
 * dot.c - `rsc --emit=dot[:built|:fused]`: the network as a Graphviz graph.
 *
 * Both stages draw the ops of the network as built (timm names), so the two
 * pictures line up box for box:
 *   built  clusters the ops by block (stem, layer1.0, ..., head); every edge is a
 *          tensor and carries its shape [N,H,W,C].
 *   fused  clusters the ops by the fused node each became (one cluster = one
 *          kernel call, labelled with its fused op and kernel). Edges between
 *          clusters are the tensors the generated code stores (solid, with
 *          shapes); edges inside a cluster never reach memory (dashed). The entry
 *          op (input conversion, entry.c) appears between the input and the stem.
 * The mapping from built ops to fused nodes is the summary's (summary.c).
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

static void shape_label(Shape s, char *buf, size_t size) {
  snprintf(buf, size, "[%d,%d,%d,%d]", s.n, s.h, s.w, s.c);
}

/* The block a built op belongs to: "layer1.0", "stem", "head", or NULL. */
static const char *block_of(const Summary *s, int i, char *buf, size_t size) {
  const char *name = s->rows[i].name;
  if (s->rows[i].op == OP_INPUT)
    return NULL;
  if (strncmp(name, "layer", 5) == 0) {
    const char *dot = strchr(name, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    size_t n = dot ? (size_t)(dot - name) : strlen(name);
    snprintf(buf, size, "%.*s", (int)n, name);
    return buf;
  }
  for (int j = 0; j < i; j++)
    if (strncmp(s->rows[j].name, "layer", 5) == 0)
      return "head";
  return "stem";
}

static void op_text(Op op, const char *word, ActKind act, char *buf, size_t size) {
  bool with_act = act != ACT_NONE && (op == OP_CONV || op == OP_DENSE || op == OP_ADD ||
                                      op == OP_SE_ADD || op == OP_ACT);
  snprintf(buf, size, "%s%s%s", word, with_act ? " " : "", with_act ? act_name(act) : "");
}

static void node_line(const Summary *s, int i, FILE *out, const char *indent) {
  char op[48];
  op_text(s->rows[i].op, s->rows[i].word, s->rows[i].act, op, sizeof op);
  fprintf(out, "%sn%d [label=\"%s\\n%s\"%s];\n", indent, i, s->rows[i].name, op,
          s->rows[i].op == OP_INPUT ? ", shape=ellipse" : "");
}

static void write_built(const Summary *s, FILE *out) {
  char block[64], prev[64] = "";
  bool open = false;
  for (int i = 0; i < s->nrows; i++) {
    const char *b = block_of(s, i, block, sizeof block);
    if (open && (!b || strcmp(b, prev) != 0)) {
      fprintf(out, "  }\n");
      open = false;
    }
    if (b && !open) {
      fprintf(out, "  subgraph \"cluster_%s\" {\n    label=\"%s\";\n", b, b);
      snprintf(prev, sizeof prev, "%s", b);
      open = true;
    }
    node_line(s, i, out, open ? "    " : "  ");
  }
  if (open)
    fprintf(out, "  }\n");
  for (int i = 0; i < s->nrows; i++) {
    int in[2] = {s->rows[i].in0, s->rows[i].in1};
    for (int k = 0; k < 2; k++)
      if (in[k] >= 0) {
        char sh[48];
        shape_label(s->rows[in[k]].out, sh, sizeof sh);
        fprintf(out, "  n%d -> n%d [label=\"%s\"];\n", in[k], i, sh);
      }
  }
}

static void write_fused(const Graph *g, const Summary *s, FILE *out) {
  int entry = -1;
  for (int f = 0; f < g->nnodes; f++)
    if (!g->nodes[f].dead && g->nodes[f].op == OP_ENTRY)
      entry = f;
  /* The rows of each final node f, in row order: rows[start[f] .. start[f + 1]). */
  int *start = xcalloc((size_t)g->nnodes + 1, sizeof *start);
  int *rows = xmalloc((size_t)(s->nrows ? s->nrows : 1) * sizeof *rows);
  for (int i = 0; i < s->nrows; i++)
    if (s->rows[i].fused >= 0)
      start[s->rows[i].fused + 1]++;
  for (int f = 0; f < g->nnodes; f++)
    start[f + 1] += start[f];
  int *fill = xmalloc((size_t)(g->nnodes ? g->nnodes : 1) * sizeof *fill);
  memcpy(fill, start, (size_t)g->nnodes * sizeof *fill);
  for (int i = 0; i < s->nrows; i++)
    if (s->rows[i].fused >= 0)
      rows[fill[s->rows[i].fused]++] = i;
  free(fill);
  /* One cluster per live final node, in execution order. */
  for (int f = 0; f < g->nnodes; f++) {
    const Node *n = &g->nodes[f];
    if (n->dead || f == entry)
      continue;
    bool any = false;
    for (int r = start[f]; r < start[f + 1]; r++)
      if (s->rows[rows[r]].op != OP_INPUT) {
        int i = rows[r];
        if (!any) {
          char op[48];
          op_text(n->op, node_op_name(n), n->act, op, sizeof op);
          fprintf(out, "  subgraph \"cluster_%s\" {\n    label=\"%s: %s\\n%s\";\n", n->name,
                  n->name, op, n->sched ? n->sched->kernel : "");
          fprintf(out, "    style=filled; fillcolor=\"#eef3fb\";\n");
          any = true;
        }
        node_line(s, i, out, "    ");
      }
    if (any)
      fprintf(out, "  }\n");
  }
  free(start);
  free(rows);
  for (int i = 0; i < s->nrows; i++)
    if (s->rows[i].op == OP_INPUT)
      node_line(s, i, out, "  ");
  if (entry >= 0) {
    char sh[48];
    shape_label(g->nodes[entry].out, sh, sizeof sh);
    fprintf(out, "  entry [label=\"entry\\n%s\", shape=box, style=filled, fillcolor=\"#eef3fb\"];\n",
            g->nodes[entry].sched ? g->nodes[entry].sched->kernel : "");
    for (int i = 0; i < s->nrows; i++)
      if (s->rows[i].op == OP_INPUT)
        fprintf(out, "  n%d -> entry [label=\"%s\"];\n", i, sh);
  }
  for (int i = 0; i < s->nrows; i++) {
    int in[2] = {s->rows[i].in0, s->rows[i].in1};
    for (int k = 0; k < 2; k++) {
      int p = in[k];
      if (p < 0)
        continue;
      char sh[48];
      shape_label(s->rows[p].out, sh, sizeof sh);
      bool from_input = s->rows[p].op == OP_INPUT;
      if (from_input && entry >= 0)
        fprintf(out, "  entry -> n%d [label=\"%s\"];\n", i, sh);
      else if (s->rows[p].fused != s->rows[i].fused || from_input)
        fprintf(out, "  n%d -> n%d [label=\"%s\"];\n", p, i, sh);
      else
        fprintf(out, "  n%d -> n%d [style=dashed, color=gray40];\n", p, i);
    }
  }
}

void dot_write(const Graph *g, const Summary *s, bool fused, FILE *out) {
  RSC_ASSERT(s->attached);
  const Spec *sp = &g->spec;
  fprintf(out, "digraph rsc {\n  label=\"rsc: %s network, input %dx%dx%d, batch %d\";\n",
          fused ? "fused" : "built (unfused)", sp->height, sp->width, sp->channels, sp->batch);
  fprintf(out, "  labelloc=t;\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", "
               "fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n"
               "  graph [fontname=\"Helvetica\", fontsize=11];\n");
  if (fused)
    write_fused(g, s, out);
  else
    write_built(s, out);
  fprintf(out, "}\n");
}
