/*
 * summary.c - `rsc --summary`: a Keras model.summary()-like table of the
 * network, one row per layer of the unfused graph (timm names), with the fused
 * op each became, its output shape, parameters and multiply-adds; then totals.
 *
 * Parameters and MACs are counted on the graph as build.c made it (after shape
 * inference, before any weights are loaded or folded): that is the network the
 * paper and Keras describe, so the totals can be checked against
 * docs/resnet-rs.md. Folding changes the parameter count (BN goes away,
 * biases appear), which is what "packed weight bytes" reports instead.
 *
 * Counting conventions (those of the paper's Table 7 and of Keras):
 *   - trainable params: conv / dense weights and biases, BN gamma and beta;
 *   - total params: also BN running mean and variance (Keras "Total params");
 *   - MACs: one per multiply-add of the convs (SE fcs included) and the dense
 *     classifier; pooling, BN, activations, scale and add count none. FLOPs = 2 MACs.
 *
 * The passes never delete nodes: they mark them dead, and the only insertion is
 * entry.c's OP_ENTRY. So the final graph, without inserted entry nodes, lines up
 * with the built one node for node, and a dead node's fate is read off it:
 * BN and ACT went into their producer, the SE parts into the node that consumed
 * them (the SE_ADD).
 */
#include "rsc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static uint64_t tensor_count(const Graph *g, int t) {
  return t >= 0 ? (uint64_t)tensor_elems(&g->tensors[t]) : 0;
}

static void count_node(const Graph *g, const Node *n, SummaryRow *r) {
  switch (n->op) {
  case OP_CONV: {
    const Tensor *w = &g->tensors[n->w];
    r->trainable = tensor_count(g, n->w) + tensor_count(g, n->b);
    /* Every output element takes Cin * KH * KW multiply-adds. */
    r->macs = (uint64_t)shape_elems(n->out) * (uint64_t)w->dims[1] * (uint64_t)w->dims[2] *
              (uint64_t)w->dims[3];
    break;
  }
  case OP_DENSE:
    r->trainable = tensor_count(g, n->w) + tensor_count(g, n->b);
    r->macs = (uint64_t)shape_elems(n->out) * (uint64_t)g->tensors[n->w].dims[1];
    break;
  case OP_BN:
    r->trainable = tensor_count(g, n->attr.bn.gamma) + tensor_count(g, n->attr.bn.beta);
    r->statistics = tensor_count(g, n->attr.bn.mean) + tensor_count(g, n->attr.bn.var);
    break;
  case OP_INPUT:
  case OP_ACT:
  case OP_POOL:
  case OP_SCALE:
  case OP_ADD:
  case OP_SOFTMAX:
  case OP_SE_ADD:
  case OP_ENTRY:
  case OP_COUNT:
    break;
  }
}

void summary_collect(Summary *s, const Graph *g) {
  memset(s, 0, sizeof *s);
  s->rows = xcalloc((size_t)g->nnodes, sizeof *s->rows);
  s->nrows = g->nnodes;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    SummaryRow *r = &s->rows[i];
    r->name = xstrdup(n->name);
    r->op = n->op;
    r->word = node_op_name(n);
    r->act = n->act;
    r->out = n->out;
    r->in0 = n->nin > 0 ? n->in[0] : -1;
    r->in1 = n->nin > 1 ? n->in[1] : -1;
    r->consumer = -1; /* set when its first reader (later in node order) comes */
    r->fused = -1;
    for (int k = 0; k < n->nin; k++)
      if (s->rows[n->in[k]].consumer < 0)
        s->rows[n->in[k]].consumer = i;
    count_node(g, n, r);
    s->trainable += r->trainable;
    s->statistics += r->statistics;
    s->macs += r->macs;
  }
}

/* The final node built row i lives on as (-1: none, i.e. a dead end). Rows
 * are resolved last to first: the fate of i's consumer (a later row) is
 * known by then, so a run of dead rows (everything after the deepest
 * output without the head) costs one step per row, not one per row after. */
static int resolve(const Summary *s, const Graph *g, const int *final_of, int i) {
  const SummaryRow *r = &s->rows[i];
  int f = final_of[i];
  if (!g->nodes[f].dead)
    return f;
  /* BN (folded) and ACT (an epilogue) went backwards into their producer. */
  if ((r->op == OP_BN || r->op == OP_ACT) && r->in0 >= 0) {
    int p = r->in0;
    while ((s->rows[p].op == OP_BN || s->rows[p].op == OP_ACT) && g->nodes[final_of[p]].dead &&
           s->rows[p].in0 >= 0)
      p = s->rows[p].in0;
    if (!g->nodes[final_of[p]].dead)
      return final_of[p];
  }
  /* Anything else dead was absorbed by what read it (the SE parts into SE_ADD). */
  RSC_ASSERT(r->consumer < 0 || r->consumer > i);
  return r->consumer >= 0 ? s->rows[r->consumer].fused : -1;
}

void summary_attach(Summary *s, const Graph *g) {
  int *final_of = xcalloc((size_t)s->nrows + 1, sizeof *final_of);
  int j = 0;
  for (int f = 0; f < g->nnodes; f++) {
    if (g->nodes[f].op == OP_ENTRY)
      continue; /* inserted by entry.c: no built row */
    RSC_ASSERT(j < s->nrows);
    final_of[j++] = f;
  }
  RSC_ASSERT(j == s->nrows);
  for (int i = s->nrows - 1; i >= 0; i--)
    s->rows[i].fused = resolve(s, g, final_of, i);
  free(final_of);
  s->weight_bytes = (uint64_t)g->weight_floats * 4;
  s->arena_bytes = (uint64_t)g->arena_floats * 4;
  s->arena_bound_bytes = (uint64_t)g->arena_lower_bound * 4;
  s->attached = true;
}

void summary_free(Summary *s) {
  for (int i = 0; i < s->nrows; i++)
    free(s->rows[i].name);
  free(s->rows);
  memset(s, 0, sizeof *s);
}

/* "conv+relu", "se_add+relu", "dense". */
static void op_label(const Node *n, char *buf, size_t size) {
  bool with_act = n->act != ACT_NONE && n->op != OP_ACT &&
                  (n->op == OP_CONV || n->op == OP_DENSE || n->op == OP_ADD || n->op == OP_SE_ADD);
  snprintf(buf, size, "%s%s%s", node_op_name(n), with_act ? "+" : "",
           with_act ? act_name(n->act) : "");
}

static void shape_text(Shape sh, char *buf, size_t size) {
  snprintf(buf, size, "[%d,%d,%d,%d]", sh.n, sh.h, sh.w, sh.c);
}

/* 35691912 -> "35,691,912". */
static void grouped(uint64_t v, char buf[32]) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), o = 0;
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

static const char *fused_text(const Summary *s, const Graph *g, int i, char *buf, size_t size) {
  const SummaryRow *r = &s->rows[i];
  if (r->fused < 0)
    return "(removed)";
  const Node *f = &g->nodes[r->fused];
  char label[48];
  op_label(f, label, sizeof label);
  if (strcmp(f->name, r->name) == 0)
    snprintf(buf, size, "%s", label);
  else
    snprintf(buf, size, "%s in %s", label, f->name);
  return buf;
}

/* The endpoints the generated code hands back (spec key outputs), in API order:
 * "c3 [1,28,28,512] from layer2.3.se, head [1,1,1,1000] from fc". */
static void outputs_text(const Graph *g, FILE *out) {
  const char *sep = "";
  for (int e = 0; e < RSC_ENDPOINTS; e++) {
    if (!(g->spec.outputs & ENDPOINT_BIT(e)))
      continue;
    const Node *n = &g->nodes[endpoint_node(g, (Endpoint)e)];
    char shape[48];
    shape_text(n->out, shape, sizeof shape);
    fprintf(out, "%s%s %s from %s", sep, endpoint_name((Endpoint)e), shape, n->name);
    sep = ", ";
  }
}

void summary_print(const Summary *s, const Graph *g, const char *model, FILE *out) {
  RSC_ASSERT(s->attached);
  const Spec *sp = &g->spec;
  fprintf(out, "Model: \"%s\"  (input %dx%dx%d, batch %d)\n", model, sp->height, sp->width,
          sp->channels, sp->batch);
  static const char rule[] = "----------------------------------------------------------------"
                             "--------------------------------------------------------";
  fprintf(out, "%s\n%-26s %-14s %-34s %-16s %11s %15s\n%s\n", rule, "Layer (timm name)", "Type",
          "Fused op (node)", "Output shape", "Param #", "MACs", rule);
  for (int i = 0; i < s->nrows; i++) {
    const SummaryRow *r = &s->rows[i];
    char fused[128], shape[48], params[32], macs[32];
    shape_text(r->out, shape, sizeof shape);
    grouped(r->trainable + r->statistics, params);
    grouped(r->macs, macs);
    fprintf(out, "%-26s %-14s %-34s %-16s %11s %15s\n", r->name, r->word,
            fused_text(s, g, i, fused, sizeof fused), shape, params, macs);
  }
  char a[32], b[32], c[32];
  grouped(s->trainable + s->statistics, a);
  grouped(s->trainable, b);
  grouped(s->statistics, c);
  fprintf(out, "%s\nTotal params: %s (incl. BN statistics)\nTrainable params: %s\n"
               "Non-trainable params: %s (BN running mean and variance)\n",
          rule, a, b, c);
  grouped(s->macs, a);
  grouped(2 * s->macs, b);
  fprintf(out, "MACs: %s (%.3f G)\nFLOPs: %s (%.3f G, 2 per MAC)\n", a, s->macs / 1e9, b,
          2 * s->macs / 1e9);
  grouped(s->weight_bytes, a);
  fprintf(out, "Packed weights: %s bytes (%.2f MiB, folded and laid out for the kernels)\n", a,
          s->weight_bytes / 1048576.0);
  grouped(s->arena_bytes, a);
  grouped(s->arena_bound_bytes, b);
  fprintf(out, "Arena: %s bytes (%.2f MiB); plan lower bound %s bytes (%.2f MiB)\n", a,
          s->arena_bytes / 1048576.0, b, s->arena_bound_bytes / 1048576.0);
  fprintf(out, "Outputs: ");
  outputs_text(g, out);
  fprintf(out, "\n%s\n", rule);
}

static cJSON *shape_json(Shape sh) {
  int d[4] = {sh.n, sh.h, sh.w, sh.c};
  return cJSON_CreateIntArray(d, 4);
}

void summary_print_json(const Summary *s, const Graph *g, const char *model, FILE *out) {
  RSC_ASSERT(s->attached);
  const Spec *sp = &g->spec;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "model", model);
  int in[4] = {sp->batch, sp->height, sp->width, sp->channels};
  cJSON_AddItemToObject(root, "input", cJSON_CreateIntArray(in, 4));
  cJSON *layers = cJSON_AddArrayToObject(root, "layers");
  for (int i = 0; i < s->nrows; i++) {
    const SummaryRow *r = &s->rows[i];
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "name", r->name);
    cJSON_AddStringToObject(l, "op", r->word);
    if (r->fused >= 0) {
      const Node *f = &g->nodes[r->fused];
      char label[48];
      op_label(f, label, sizeof label);
      cJSON_AddStringToObject(l, "fused_node", f->name);
      cJSON_AddStringToObject(l, "fused_op", label);
    } else {
      cJSON_AddNullToObject(l, "fused_node");
      cJSON_AddNullToObject(l, "fused_op");
    }
    cJSON_AddItemToObject(l, "shape", shape_json(r->out));
    cJSON_AddNumberToObject(l, "params", (double)(r->trainable + r->statistics));
    cJSON_AddNumberToObject(l, "trainable_params", (double)r->trainable);
    cJSON_AddNumberToObject(l, "macs", (double)r->macs);
    cJSON_AddItemToArray(layers, l);
  }
  /* The endpoints, in the order of P_run_outputs' outputs[] (the last is P_run's). */
  cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
  for (int e = 0; e < RSC_ENDPOINTS; e++) {
    if (!(g->spec.outputs & ENDPOINT_BIT(e)))
      continue;
    const Node *n = &g->nodes[endpoint_node(g, (Endpoint)e)];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", endpoint_name((Endpoint)e));
    cJSON_AddStringToObject(o, "node", n->name);
    cJSON_AddItemToObject(o, "shape", shape_json(n->out));
    cJSON_AddItemToArray(outs, o);
  }
  cJSON *t = cJSON_AddObjectToObject(root, "totals");
  cJSON_AddNumberToObject(t, "params", (double)(s->trainable + s->statistics));
  cJSON_AddNumberToObject(t, "trainable_params", (double)s->trainable);
  cJSON_AddNumberToObject(t, "non_trainable_params", (double)s->statistics);
  cJSON_AddNumberToObject(t, "macs", (double)s->macs);
  cJSON_AddNumberToObject(t, "flops", (double)(2 * s->macs));
  cJSON_AddNumberToObject(t, "packed_weight_bytes", (double)s->weight_bytes);
  cJSON_AddNumberToObject(t, "arena_bytes", (double)s->arena_bytes);
  cJSON_AddNumberToObject(t, "arena_lower_bound_bytes", (double)s->arena_bound_bytes);
  char *text = cJSON_Print(root);
  fprintf(out, "%s\n", text);
  free(text);
  cJSON_Delete(root);
}
