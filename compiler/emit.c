/*
 * emit.c - writes the generated model: OUT.c, OUT.h and OUT.weights (and an
 * optional text manifest of the weights layout).
 *
 * C decides, m4 formats: this file computes every constant (offsets, shapes,
 * kernel parameters) and writes an m4 driver of macro calls, one per table row,
 * kernel and layer; templates/rsc.m4 turns the calls into C, model.c.m4 and
 * model.h.m4 are the skeletons. A kernel is one macro call per family
 * (RSC_K_CONV, RSC_K_WINO, RSC_K_POOL, ...) whose arguments are the facts of its
 * runtime call; the C of the call, its parameter names included, is rsc.m4's.
 * A layer's buffers are named, not written as C: RSC_BUF_ARENA(ident),
 * RSC_BUF_WEIGHT(ident), RSC_BUF_SCRATCH(offset), ... (rsc.m4 says the C).
 * Only network-derived identifiers, numbers and the canonical spec reach m4,
 * all quoted with <| |>.
 * Nothing is written until everything is generated; then all files are
 * committed together (output.c), so a failure never leaves partial output.
 */
#include "rsc.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* "layer1.0.conv1" -> "layer1_0_conv1" */
static char *ident(const char *name) {
  char *s = xstrdup(name);
  for (char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p))
      *p = '_';
  return s;
}

/* The runtime's code of a fused activation: RSC_ACT_<id> of the ACT_LIST table. */
static const char *act_const(ActKind a) {
  RSC_ASSERT(a != ACT_SOFTMAX); /* never fused */
  static const char *const consts[] = {
#define X(id, name) "RSC_ACT_" #id,
      ACT_LIST(X)
#undef X
  };
  return consts[a];
}

/* "[64,256,1,1]" */
static void dims_text(const Tensor *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < t->ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? "," : "", t->dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
}

/* Used tensors sorted by payload offset (pack.c assigns them in node order). */
static int cmp_offset(const void *a, const void *b, const Graph *g) {
  size_t x = g->tensors[*(const int *)a].offset, y = g->tensors[*(const int *)b].offset;
  return (x > y) - (x < y);
}
static const Graph *sort_g;
static int cmp_offset_q(const void *a, const void *b) { return cmp_offset(a, b, sort_g); }

static int *used_tensors(const Graph *g, int *n) {
  int *ids = xmalloc((size_t)(g->ntensors + 1) * sizeof *ids);
  *n = 0;
  for (int i = 0; i < g->ntensors; i++)
    if (g->tensors[i].used)
      ids[(*n)++] = i;
  sort_g = g;
  qsort(ids, (size_t)*n, sizeof *ids, cmp_offset_q);
  return ids;
}

static void emit_manifest(const Graph *g, StrBuf *out) {
  int n;
  int *ids = used_tensors(g, &n);
  sb_printf(out, "# rsc weights layout: offset_floats packed_floats layout kb shape name\n");
  for (int k = 0; k < n; k++) {
    const Tensor *t = &g->tensors[ids[k]];
    char dims[64];
    dims_text(t, dims, sizeof dims);
    sb_printf(out, "%zu %zu %s %d %s %s\n", t->offset, t->packed_floats, layout_name(t->layout),
              t->kb, dims, t->name);
  }
  sb_printf(out, "# payload %zu floats\n", g->weight_floats);
  free(ids);
}

/* Node id's output buffer, named for rsc.m4 (RSC_BUF_*): the run's input or
 * output, or the node's arena slot. */
static void buf_expr(const Graph *g, int id, char *buf, size_t n) {
  if (id == g->input)
    snprintf(buf, n, "RSC_BUF_INPUT");
  else if (id == g->output)
    snprintf(buf, n, "RSC_BUF_OUTPUT");
  else {
    char *s = ident(g->nodes[id].name);
    snprintf(buf, n, "RSC_BUF_ARENA(<|%s|>)", s);
    free(s);
  }
}

/* Tensor t's packed weights, named for rsc.m4. */
static void w_expr(const Graph *g, int t, char *buf, size_t n) {
  char *s = ident(g->tensors[t].name);
  snprintf(buf, n, "RSC_BUF_WEIGHT(<|%s|>)", s);
  free(s);
}

/* A kernel is emitted once however many layers share its shape. */
typedef struct Seen {
  char **names; /* owned copies, the keys of index */
  int n, cap;
  NameMap index;
} Seen;

static bool seen_add(Seen *s, const char *name) {
  if (namemap_get(&s->index, name) >= 0)
    return false;
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->names = xrealloc(s->names, (size_t)s->cap * sizeof *s->names);
  }
  s->names[s->n] = xstrdup(name);
  namemap_put(&s->index, s->names[s->n], s->n);
  s->n++;
  return true;
}

static void seen_free(Seen *s) {
  for (int i = 0; i < s->n; i++)
    free(s->names[i]);
  free(s->names);
  namemap_free(&s->index);
}

/* The shortest "%g" text that reads back (strtof) as the same float, + "f". */
static void float_literal(char buf[32], float v) {
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(buf, 32, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v)
      break;
  }
  if (!strpbrk(buf, ".e"))
    strcat(buf, ".0");
  strcat(buf, "f");
}

/* The C type of the input P_run reads. */
static const char *in_ctype(const Spec *s) { return s->input_type == INPUT_U8 ? "uint8_t" : "float"; }

/* OP_ENTRY's shift (entry.c) as the float literals of its C channels, or
 * empty under `preprocess none`. */
static char *entry_shift_list(const Graph *g, const Node *n, int channels) {
  StrBuf sb = {0};
  RSC_ASSERT(n->attr.entry.shifted == (g->spec.preprocess != PREPROCESS_NONE));
  if (n->attr.entry.shifted)
    for (int c = 0; c < channels; c++) {
      char num[32];
      float_literal(num, (float)n->attr.entry.shift[c]);
      sb_printf(&sb, "%s%s", c ? ", " : "", num);
    }
  return sb.buf ? sb.buf : xstrdup("");
}

/* One kernel: the facts of its runtime call, as one rsc.m4 macro call with
 * the runtime's parameters in its order (rsc.m4 names them in the C). */
static void kernel_def(StrBuf *o, const Graph *g, const Node *n) {
  Shape in = g->nodes[n->in[0]].out, out = n->out;
  const char *kernel = n->sched->kernel;
  const ConvSched *cs = &n->sched->conv;
  char desc[160];
  snprintf(desc, sizeof desc, "%s [%d,%d,%d,%d] -> [%d,%d,%d,%d]", node_op_name(n), in.n, in.h,
           in.w, in.c, out.n, out.h, out.w, out.c);
  switch (n->op) {
  case OP_CONV:
    if (cs->wino) {
      sb_printf(o, "RSC_K_WINO(<|%s|>, <|%s|>, %d, %d, %d, %d, %d, %d, %d, %s)\n", kernel, desc,
                out.n, in.h, in.w, in.c, out.c, cs->kb, cs->np, act_const(n->act));
      break;
    }
    if (cs->bf16) {
      sb_printf(o,
                "RSC_K_CONV_BF16(<|%s|>, <|%s|>, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
                "%d, %d, %d, %d, %d, %d, %s)\n",
                kernel, desc, cs->se_pool ? 1 : 0, cs->se_pool ? SE_POOL_CHUNK : 1, out.n, in.h,
                in.w, in.c, out.h, out.w, out.c, n->kh, n->kw, n->sh, n->sw, n->pad_t, n->pad_l,
                cs->kb, cs->np, cs->kg, act_const(n->act));
      break;
    }
    sb_printf(o,
              "RSC_K_CONV(<|%s|>, <|%s|>, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
              "%d, %d, %d, %d, %d, %d, %d, %d, %s)\n",
              kernel, desc, cs->se_pool ? 1 : 0, cs->se_pool ? SE_POOL_CHUNK : 1, out.n, in.h,
              in.w, in.c, out.h, out.w, out.c, n->kh, n->kw, n->sh, n->sw, n->pad_t, n->pad_l,
              cs->kb, cs->np, cs->kg, cs->nx ? 1 : 0, cs->xp ? 1 : 0, cs->tg > 1 ? cs->tg : 1,
              cs->tg > 1 ? cs->tc : 0, act_const(n->act));
    break;
  case OP_POOL:
    if (n->attr.pool.global)
      sb_printf(o, "RSC_K_GLOBAL_POOL(<|%s|>, <|%s|>, %s, %d, %d, %d)\n", kernel, desc,
                node_op_name(n), out.n, in.h * in.w, in.c);
    else
      sb_printf(o,
                "RSC_K_POOL(<|%s|>, <|%s|>, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d)\n",
                kernel, desc, node_op_name(n), out.n, in.h, in.w, in.c, out.h, out.w, n->kh,
                n->kw, n->sh, n->sw, n->pad_t, n->pad_l);
    break;
  case OP_DENSE:
    sb_printf(o, "RSC_K_DENSE(<|%s|>, <|%s|>, %d, %d, %d, %d, %s)\n", kernel, desc, out.n, in.c,
              out.c, DENSE_KB, act_const(n->act));
    break;
  case OP_ADD:
    sb_printf(o, "RSC_K_ADD(<|%s|>, <|%s|>, %zu, %s)\n", kernel, desc, shape_elems(out),
              act_const(n->act));
    break;
  case OP_SE_ADD: {
    /* The pool a conv wrote (se_pool): its offset in the scratch; else none. */
    char pool[32] = "";
    if (n->sched->pooled)
      snprintf(pool, sizeof pool, "%zu", se_pool_offset(n));
    sb_printf(o, "RSC_K_SE_ADD(<|%s|>, <|%s|>, <|%s|>, %d, %d, %d, %d, %d, %d, %s)\n", kernel,
              desc, pool, SE_POOL_CHUNK, out.n, out.h * out.w, out.c, n->attr.se.mid, DENSE_KB,
              act_const(n->act));
    break;
  }
  case OP_SOFTMAX:
    sb_printf(o, "RSC_K_SOFTMAX(<|%s|>, <|%s|>, %zu, %d, %d)\n", kernel, desc, shape_elems(out),
              out.n, out.c);
    break;
  case OP_ENTRY: {
    char *shift = entry_shift_list(g, n, out.c);
    sb_printf(o, "RSC_K_ENTRY(<|%s|>, <|%s|>, %s, %d, %d, %d, %d, %d, <|%s|>)\n", kernel, desc,
              g->spec.input_type == INPUT_U8 ? "u8" : "f32", out.n, out.h, out.w, out.c,
              g->spec.input_layout == INPUT_NCHW, shift);
    free(shift);
    break;
  }
  case OP_INPUT:
  case OP_BN:
  case OP_ACT:
  case OP_SCALE:
  case OP_COUNT:
    RSC_ASSERT(!"no kernel for an unfused op");
  }
}

/* Multiply-adds of one fused layer: a conv's Cin x KH x KW per output, a
 * dense layer's Cin; the SE's two small dense layers (<1 %) and pools, adds
 * and copies count none. From the shapes, since the weights are packed by now. */
static uint64_t layer_macs(const Node *n, Shape in) {
  const uint64_t outs = (uint64_t)n->out.n * (uint64_t)n->out.h * (uint64_t)n->out.w *
                        (uint64_t)n->out.c;
  if (n->op == OP_CONV)
    return outs * (uint64_t)in.c * (uint64_t)n->kh * (uint64_t)n->kw;
  if (n->op == OP_DENSE)
    return outs * (uint64_t)in.c * (uint64_t)in.h * (uint64_t)in.w;
  return 0;
}

static void layer_call(StrBuf *o, const Graph *g, int id) {
  const Node *n = &g->nodes[id];
  Shape in = g->nodes[n->in[0]].out, out = n->out;
  char args[2048], x[128], y[128], dst[128];
  buf_expr(g, n->in[0], x, sizeof x);
  buf_expr(g, id, dst, sizeof dst);
  switch (n->op) {
  case OP_CONV:
  case OP_DENSE: {
    char w[160], b[160];
    w_expr(g, n->w, w, sizeof w);
    w_expr(g, n->b, b, sizeof b);
    snprintf(args, sizeof args, "%s, %s, %s, %s", x, w, b, dst);
    if (n->sched->conv.se_pool) { /* the partials' place in the scratch of the SE_ADD reading dst */
      RSC_ASSERT(n->se >= 0);
      const Node *se = &g->nodes[n->se];
      RSC_ASSERT(se->op == OP_SE_ADD && se->sched->pooled);
      size_t len = strlen(args);
      snprintf(args + len, sizeof args - len, ", RSC_BUF_SCRATCH(%zu)", se_pool_offset(se));
    }
    break;
  }
  case OP_ADD:
    buf_expr(g, n->in[1], y, sizeof y);
    snprintf(args, sizeof args, "%s, %s, %s", x, y, dst);
    break;
  case OP_SE_ADD: {
    char fc1_w[160], fc1_b[160], fc2_w[160], fc2_b[160];
    w_expr(g, n->attr.se.fc1_w, fc1_w, sizeof fc1_w);
    w_expr(g, n->attr.se.fc1_b, fc1_b, sizeof fc1_b);
    w_expr(g, n->attr.se.fc2_w, fc2_w, sizeof fc2_w);
    w_expr(g, n->attr.se.fc2_b, fc2_b, sizeof fc2_b);
    buf_expr(g, n->in[1], y, sizeof y);
    snprintf(args, sizeof args,
             "%s, %s, %s, %s, %s, %s, %s, RSC_BUF_SCRATCH(), RSC_TEAM_SYNC", x, y, fc1_w, fc1_b,
             fc2_w, fc2_b, dst);
    break;
  }
  case OP_POOL:
  case OP_SOFTMAX:
  case OP_ENTRY:
    snprintf(args, sizeof args, "%s, %s", x, dst);
    break;
  case OP_INPUT:
  case OP_BN:
  case OP_ACT:
  case OP_SCALE:
  case OP_COUNT:
    RSC_ASSERT(!"unfused op");
  }
  char geo[64] = "";
  if (n->op == OP_CONV || (n->op == OP_POOL && !n->attr.pool.global))
    snprintf(geo, sizeof geo, " %dx%d/%d", n->kh, n->kw, n->sh);
  sb_printf(o, "RSC_LAYER(<|%s: %s%s%s%s [%d,%d,%d,%d] -> [%d,%d,%d,%d]|>, <|%s|>, <|%s|>)\n",
            n->name, node_op_name(n), geo, n->act != ACT_NONE ? " +" : "",
            n->act != ACT_NONE ? act_name(n->act) : "", in.n, in.h, in.w, in.c, out.n, out.h,
            out.w, out.c, n->sched->kernel, args);
  /* The layer's output for -D<PREFIX>_TRACE builds (rsc --verify); no code otherwise. */
  sb_printf(o, "RSC_TRACE(<|%s|>, <|%s|>, %zu)\n", n->name, dst, shape_elems(out));
  /* The layer's row of the -D<PREFIX>_PROFILE table (bench); no code otherwise. */
  sb_printf(o, "RSC_PROFILE(<|%s|>, %" PRIu64 ")\n", n->name, layer_macs(n, in));
}

/* The selected endpoints in API order (their index in P_run_outputs'
 * outputs[]); returns how many. The last one is g->output (endpoints.c). */
static int api_endpoints(const Graph *g, Endpoint e[RSC_ENDPOINTS]) {
  int n = 0;
  for (int k = 0; k < RSC_ENDPOINTS; k++)
    if (g->spec.outputs & ENDPOINT_BIT(k))
      e[n++] = (Endpoint)k;
  RSC_ASSERT(n > 0 && endpoint_node(g, e[n - 1]) == g->output);
  return n;
}

/* What each endpoint is, for the header. */
static const char *const endpoint_doc[RSC_ENDPOINTS] = {
    "stage 1 output (timm layer1), 1/4 of the input size",
    "stage 2 output (timm layer2), 1/8 of the input size",
    "stage 3 output (timm layer3), 1/16 of the input size",
    "stage 4 output (timm layer4), 1/32 of the input size",
    "the head's output: the Output above",
};

/* Endpoints other than g->output are copied to the caller's buffer right after
 * the layer that computes them, while they are still live in the arena (or,
 * for c5 under `head none`, in the caller's head buffer). P_run leaves their
 * pointers NULL: no copy. */
static void endpoint_copies(StrBuf *o, const Graph *g, int id, Seen *kernels) {
  Endpoint e[RSC_ENDPOINTS];
  int n = api_endpoints(g, e);
  for (int k = 0; k < n - 1; k++) {
    if (endpoint_node(g, e[k]) != id)
      continue;
    Shape s = g->nodes[id].out;
    size_t elems = shape_elems(s);
    char src[128], *name = xstrdup(endpoint_name(e[k]));
    buf_expr(g, id, src, sizeof src);
    for (char *p = name; *p; p++)
      *p = (char)toupper((unsigned char)*p);
    char *kname = xstrfmt("copy_%zu", elems);
    if (seen_add(kernels, kname))
      sb_printf(o, "RSC_K_COPY(%zu)\n", elems);
    free(kname);
    sb_printf(o, "RSC_LAYER(<|output %s: %s [%d,%d,%d,%d]|>, <|copy_%zu|>, "
                 "<|%s, RSC_BUF_ENDPOINT(%s)|>)\n",
              endpoint_name(e[k]), g->nodes[id].name, s.n, s.h, s.w, s.c, elems, src, name);
    free(name);
  }
}

static const char *out_doc(const Spec *s) {
  if (!(s->outputs & ENDPOINT_BIT(ENDPOINT_HEAD)))
    return "the output of the deepest stage in 'outputs', NHWC [OUT_H][OUT_W][OUT_C]";
  switch (s->head) {
  case HEAD_DENSE:
    return s->classifier_act == ACT_SOFTMAX ? "class probabilities (softmax)" : "class logits";
  case HEAD_AVG:
    return "globally average-pooled features";
  case HEAD_MAX:
    return "globally max-pooled features";
  case HEAD_NONE:
    return "the final feature map, NHWC [OUT_H][OUT_W][OUT_C]";
  }
  return "";
}

/* Definitions shared by the .c and .h drivers. */
static void common_defs(StrBuf *o, const Graph *g, const EmitOptions *opt, uint64_t fp) {
  char *up = xstrdup(opt->prefix);
  for (char *p = up; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  StrBuf spec = {0}, banner = {0};
  spec_canonical(&g->spec, &spec);
  sb_printf(&banner, " * Generated by rsc. Do not edit.\n *\n * Model:\n");
  for (char *line = spec.buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    sb_printf(&banner, " *   %.*s\n", (int)(nl ? nl - line : (ptrdiff_t)strlen(line)), line);
  }
  sb_printf(&banner, " * Weights: %s\n", opt->cmdline ? opt->cmdline : "");
  /* The tiles and the Winograd choices follow the target, whose default is
   * the CPU running rsc: the same command on another CPU may emit other
   * (equally correct) code, and this line says why. */
  sb_printf(&banner, " * Tuned for: --target %s --cpu %s%s", target_name(g->target),
            machine_name(g->machine), g->no_wino ? " --no-winograd" : "");
  int tuned = 0; /* shapes whose schedule a tuning file (--tuning) gave */
  for (int i = 0; g->tuning && i < g->tuning->nuses; i++)
    tuned += g->tuning->uses[i].used;
  if (g->tuning)
    sb_printf(&banner, ", a tuning file's schedules for %d conv shapes", tuned);
  sb_printf(&banner, "\n");
  const Node *out = &g->nodes[g->output];
  sb_printf(o, "m4_changequote(`<|', `|>')m4_changecom()m4_dnl\n");
  sb_printf(o, "m4_define(<|RSC_PREFIX|>, <|%s|>)m4_dnl\n", opt->prefix);
  sb_printf(o, "m4_define(<|RSC_UPREFIX|>, <|%s|>)m4_dnl\n", up);
  sb_printf(o, "m4_define(<|RSC_BANNER|>, <|%s|>)m4_dnl\n", banner.buf);
  sb_printf(o, "m4_define(<|RSC_BATCH|>, <|%d|>)m4_dnl\n", g->spec.batch);
  sb_printf(o, "m4_define(<|RSC_IN_H|>, <|%d|>)m4_dnl\n", g->spec.height);
  sb_printf(o, "m4_define(<|RSC_IN_W|>, <|%d|>)m4_dnl\n", g->spec.width);
  sb_printf(o, "m4_define(<|RSC_IN_C|>, <|%d|>)m4_dnl\n", g->spec.channels);
  sb_printf(o, "m4_define(<|RSC_IN_CTYPE|>, <|%s|>)m4_dnl\n", in_ctype(&g->spec));
  sb_printf(o, "m4_define(<|RSC_IN_U8|>, <|%d|>)m4_dnl\n", g->spec.input_type == INPUT_U8);
  sb_printf(o, "m4_define(<|RSC_IN_NCHW|>, <|%d|>)m4_dnl\n", g->spec.input_layout == INPUT_NCHW);
  sb_printf(o, "m4_define(<|RSC_IN_IMAGENET|>, <|%d|>)m4_dnl\n",
            g->spec.preprocess == PREPROCESS_IMAGENET);
  sb_printf(o, "m4_define(<|RSC_IN_SIZE|>, <|%zu|>)m4_dnl\n",
            (size_t)g->spec.height * (size_t)g->spec.width * (size_t)g->spec.channels);
  sb_printf(o, "m4_define(<|RSC_OUT_H|>, <|%d|>)m4_dnl\n", out->out.h);
  sb_printf(o, "m4_define(<|RSC_OUT_W|>, <|%d|>)m4_dnl\n", out->out.w);
  sb_printf(o, "m4_define(<|RSC_OUT_C|>, <|%d|>)m4_dnl\n", out->out.c);
  sb_printf(o, "m4_define(<|RSC_OUT_SIZE|>, <|%zu|>)m4_dnl\n",
            (size_t)out->out.h * (size_t)out->out.w * (size_t)out->out.c);
  sb_printf(o, "m4_define(<|RSC_OUT_DOC|>, <|%s|>)m4_dnl\n", out_doc(&g->spec));
  sb_printf(o, "m4_define(<|RSC_ARENA_BYTES|>, <|%zu|>)m4_dnl\n", g->arena_floats * 4);
  sb_printf(o, "m4_define(<|RSC_WEIGHT_BYTES|>, <|%zu|>)m4_dnl\n", g->weight_floats * 4);
  sb_printf(o, "m4_define(<|RSC_FINGERPRINT|>, <|0x%016" PRIx64 "|>)m4_dnl\n", fp);
  sb_printf(o, "m4_define(<|RSC_SCRATCH|>, <|%zu|>)m4_dnl\n", g->scratch_offset);
  sb_printf(o, "m4_define(<|RSC_RUNTIME|>, <|%s/runtime|>)m4_dnl\n", opt->datadir);
  sb_printf(o, "m4_define(<|RSC_EMBED|>, <|%d|>)m4_dnl\n", opt->embed_weights);
  /* The precision's code in the .weights header (wfile.c) and its word. */
  sb_printf(o, "m4_define(<|RSC_PRECISION|>, <|%d|>)m4_dnl\n", (int)g->spec.precision);
  sb_printf(o, "m4_define(<|RSC_PRECISION_NAME|>, <|%s|>)m4_dnl\n",
            precision_name(g->spec.precision));
  /* `outputs`: the header's endpoint macros and P_run_outputs exist only when
   * the spec asks for more or other than the head (model.h.m4). */
  Endpoint e[RSC_ENDPOINTS];
  int ne = api_endpoints(g, e);
  sb_printf(o, "m4_define(<|RSC_MULTI|>, <|%d|>)m4_dnl\n", g->spec.outputs != ENDPOINTS_DEFAULT);
  sb_printf(o, "m4_define(<|RSC_NUM_OUTPUTS|>, <|%d|>)m4_dnl\n", ne);
  sb_printf(o, "m4_define(<|RSC_OUTPUT_LIST|>, <|");
  for (int k = 0; k < ne; k++) {
    Shape s = g->nodes[endpoint_node(g, e[k])].out;
    char name[8];
    snprintf(name, sizeof name, "%s", endpoint_name(e[k]));
    for (char *p = name; *p; p++)
      *p = (char)toupper((unsigned char)*p);
    sb_printf(o, "RSC_OUTPUT(<|%s|>, %d, %d, %d, %d, %zu, <|%s|>)", name, k, s.h, s.w, s.c,
              (size_t)s.h * (size_t)s.w * (size_t)s.c,
              endpoint_doc[e[k]]);
  }
  sb_printf(o, "|>)m4_dnl\n");
  free(up);
  sb_free(&spec);
  sb_free(&banner);
}

static char *with_ext(const char *out_c, const char *ext);

static void c_driver(StrBuf *o, const Graph *g, const EmitOptions *opt, uint64_t fp,
                     const char *header_name) {
  common_defs(o, g, opt, fp);
  sb_printf(o, "m4_define(<|RSC_HEADER|>, <|%s|>)m4_dnl\n", header_name);
  if (opt->embed_weights) { /* .incbin's path: the .weights as given, see model.c.m4 */
    char *w_path = with_ext(opt->out_c, ".weights");
    sb_printf(o, "m4_define(<|RSC_WEIGHTS_FILE|>, <|%s|>)m4_dnl\n", w_path);
    free(w_path);
  }
  if (opt->with_main)
    sb_printf(o, "m4_define(<|RSC_WITH_MAIN|>, <|1|>)m4_dnl\n");
  sb_printf(o, "m4_include(<|rsc.m4|>)\n");
  int n;
  int *ids = used_tensors(g, &n);
  for (int k = 0; k < n; k++) {
    const Tensor *t = &g->tensors[ids[k]];
    char *id = ident(t->name), dims[64];
    dims_text(t, dims, sizeof dims);
    sb_printf(o, "RSC_WEIGHT(<|%s|>, <|%zu|>, <|%s %s -> %s", id, t->offset, t->name, dims,
              layout_name(t->layout));
    if (t->layout == LAYOUT_CONV_BLOCK || t->layout == LAYOUT_WINO_BLOCK ||
        t->layout == LAYOUT_CONV_BF16)
      sb_printf(o, " kb=%d", t->kb);
    sb_printf(o, "|>)\n");
    free(id);
  }
  free(ids);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *nd = &g->nodes[i];
    if (!nd->in_arena)
      continue;
    char *id = ident(nd->name);
    sb_printf(o, "RSC_ARENA(<|%s|>, <|%zu|>, <|[%d,%d,%d,%d] live %d..%d|>)\n", id, nd->offset,
              nd->out.n, nd->out.h, nd->out.w, nd->out.c, nd->first, nd->last);
    free(id);
  }
  Seen seen = {0};
  for (int i = 0; i < g->nnodes; i++) {
    const Node *nd = &g->nodes[i];
    if (!nd->dead && nd->op != OP_INPUT && seen_add(&seen, nd->sched->kernel))
      kernel_def(o, g, nd);
  }
  seen_free(&seen);
  Seen copies = {0};
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].op != OP_INPUT) {
      layer_call(o, g, i);
      endpoint_copies(o, g, i, &copies);
    }
  seen_free(&copies);
  sb_printf(o, "m4_include(<|model.c.m4|>)m4_dnl\n");
}

static bool file_write(void *ctx, const void *data, size_t n) {
  return outputs_put(ctx, data, n);
}

static bool file_patch(void *ctx, size_t offset, const void *data, size_t n) {
  return outputs_put_at(ctx, offset, data, n);
}

/* The .weights file, streamed from the packed tensors to its temporary f: the
 * payload can be 900 MB (RS-420), not to be copied once more in memory. A
 * failure is kept in f, for outputs_close to report. */
static void write_weights(const Graph *g, uint64_t fp, OutFile *f) {
  size_t payload;
  RSC_ASSERT(size_mul(g->weight_floats, 4, &payload));
  outputs_reserve(f, RSC_WFILE_HEADER + payload);
  WfileSink sink = {file_write, file_patch, f};
  wfile_write(g, fp, &sink);
}

/* An m4 expansion written straight into an output's temporary. */
typedef struct M4Out {
  OutFile f;
  M4Run m4;
  bool open, running;
} M4Out;

static void m4_out_start(M4Out *mo, const char *path, const StrBuf *drv, const char *datadir,
                         Diag *d) {
  mo->open = outputs_open(&mo->f, path, d);
  mo->running = mo->open && m4_start(&mo->m4, datadir, drv->buf, drv->len, mo->f.fd, d);
}

/* Waits for m4; keeps the file in outs if it and everything before went
 * well (ok), else removes it. Returns ok && this file's success. */
static bool m4_out_finish(M4Out *mo, bool ok, Outputs *outs, Diag *d) {
  bool good = mo->running && m4_finish(&mo->m4, d);
  if (!mo->open)
    return false;
  if (ok && good)
    return outputs_close(outs, &mo->f, d);
  outputs_discard(&mo->f);
  return false;
}

static char *with_ext(const char *out_c, const char *ext) {
  size_t n = strlen(out_c);
  if (n >= 2 && strcmp(out_c + n - 2, ".c") == 0)
    n -= 2;
  return xstrfmt("%.*s%s", (int)n, out_c, ext);
}

bool emit_model(Graph *g, const EmitOptions *opt, Diag *d) {
  if (g->weight_floats > INT_MAX || g->arena_floats > INT_MAX) {
    diag(d, DIAG_ERROR, "model too large: offsets over %d floats do not fit the generated "
         "code's int offset tables", INT_MAX);
    return false;
  }
  if (opt->embed_weights && strpbrk(opt->out_c, "\"\\\n\r<>|")) {
    diag(d, DIAG_ERROR, "--embed-weights: output path '%s' cannot be put in an assembler string "
         "(it contains one of \" \\ < > | or a newline)", opt->out_c);
    return false;
  }
  if (strstr(opt->datadir, "<|") || strstr(opt->datadir, "|>")) {
    diag(d, DIAG_ERROR, "data directory '%s' contains m4 quote characters", opt->datadir);
    return false;
  }
  uint64_t fp = graph_fingerprint(g);
  char *h_path = with_ext(opt->out_c, ".h"), *w_path = with_ext(opt->out_c, ".weights");
  const char *slash = strrchr(h_path, '/');
  const char *h_name = slash ? slash + 1 : h_path;

  StrBuf drv_c = {0}, drv_h = {0}, man = {0};
  c_driver(&drv_c, g, opt, fp, h_name);
  common_defs(&drv_h, g, opt, fp);
  sb_printf(&drv_h, "m4_include(<|model.h.m4|>)m4_dnl\n");
  /* m4 expands the .c and .h (separate processes, a few hundred ms for
   * RS-420) while this thread writes the .weights. Files are kept in
   * outs in the order .c, .h, .weights, manifest. */
  Outputs outs = {0};
  M4Out c = {0}, h = {0};
  m4_out_start(&c, opt->out_c, &drv_c, opt->datadir, d);
  if (c.running)
    m4_out_start(&h, h_path, &drv_h, opt->datadir, d);
  OutFile w;
  bool w_open = h.running && outputs_open(&w, w_path, d), ok = w_open;
  if (ok)
    write_weights(g, fp, &w);
  bool c_ok = m4_out_finish(&c, ok, &outs, d); /* always waited for and cleaned up */
  ok = m4_out_finish(&h, ok && c_ok, &outs, d) && c_ok && ok;
  if (ok)
    ok = outputs_close(&outs, &w, d);
  else if (w_open)
    outputs_discard(&w);
  if (ok && opt->manifest) {
    emit_manifest(g, &man);
    ok = outputs_write(&outs, opt->manifest, man.buf, man.len, d);
  }
  if (ok)
    ok = outputs_commit(&outs, d);
  else
    outputs_abort(&outs);
  sb_free(&drv_c);
  sb_free(&drv_h);
  sb_free(&man);
  free(h_path);
  free(w_path);
  return ok;
}
