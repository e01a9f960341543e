/*
 * build.c - spec -> unfused graph. Every node carries its timm module name and
 * every weight tensor its timm state_dict name and PyTorch shape, so weight
 * import is a name lookup. Spatial shapes are left to shape.c; channel counts
 * are tracked here because the weight shapes need them.
 *
 * Network (docs/resnet-rs.md): stem, four stages of bottlenecks
 * (conv1 1x1, conv2 3x3, conv3 1x1 -> 4*planes, SE, + shortcut, act), head.
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

typedef struct Builder {
  Graph *g;
  const Spec *s;
  int cur;   /* node id of the current tensor */
  int cur_c; /* its channel count */
} Builder;

static int declare_vector(Builder *b, const char *name, const char *field, int c) {
  char *tn = xstrfmt("%s.%s", name, field);
  int id = graph_add_tensor(b->g, tn, 1, &c);
  free(tn);
  return id;
}

static void declare_bn(Builder *b, int node, const char *name, int c) {
  BnAttr *bn = &b->g->nodes[node].attr.bn;
  bn->gamma = declare_vector(b, name, "weight", c);
  bn->beta = declare_vector(b, name, "bias", c);
  bn->mean = declare_vector(b, name, "running_mean", c);
  bn->var = declare_vector(b, name, "running_var", c);
}

static int add_unary(Builder *b, Op op, const char *name, int in) {
  int id = graph_add_node(b->g, op, name);
  b->g->nodes[id].in[0] = in;
  b->g->nodes[id].nin = 1;
  return id;
}

/* A pool over a window (set by the caller) or, global, all of H,W. */
static int add_pool(Builder *b, PoolKind kind, bool global, const char *name, int in) {
  int id = add_unary(b, OP_POOL, name, in);
  b->g->nodes[id].attr.pool = (PoolAttr){.kind = kind, .global = global};
  return id;
}

/* conv (no bias) with TF fixed padding: pad_beg = (k-1)/2, pad_end = k-1-pad_beg. */
static int add_conv(Builder *b, const char *name, int in, int cin, int cout, int k, int stride,
                    bool bias) {
  int id = add_unary(b, OP_CONV, name, in);
  Node *n = &b->g->nodes[id];
  n->kh = n->kw = k;
  n->sh = n->sw = stride;
  n->pad_t = n->pad_l = (k - 1) / 2;
  n->pad_b = n->pad_r = k - 1 - (k - 1) / 2;
  int dims[4] = {cout, cin, k, k};
  char *tn = xstrfmt("%s.weight", name);
  int w = graph_add_tensor(b->g, tn, 4, dims);
  free(tn);
  int bb = -1;
  if (bias) {
    tn = xstrfmt("%s.bias", name);
    bb = graph_add_tensor(b->g, tn, 1, &cout);
    free(tn);
  }
  n = &b->g->nodes[id]; /* graph_add_tensor does not move nodes, but be plain */
  n->w = w;
  n->b = bb;
  return id;
}

static int add_bn(Builder *b, const char *name, int in, int c) {
  int id = add_unary(b, OP_BN, name, in);
  b->g->nodes[id].attr.bn.eps = b->s->bn_eps;
  declare_bn(b, id, name, c);
  return id;
}

static int add_act(Builder *b, const char *name, int in, ActKind a) {
  int id = add_unary(b, OP_ACT, name, in);
  b->g->nodes[id].act = a;
  return id;
}

/* conv -> BN -> act, the unit the stem and the blocks are made of. conv_name and
 * bn_name are timm's; act_name NULL means no activation. */
static void conv_bn_act(Builder *b, const char *conv_name, const char *bn_name,
                        const char *act_name_, int cout, int k, int stride) {
  int c = add_conv(b, conv_name, b->cur, b->cur_c, cout, k, stride, false);
  int n = add_bn(b, bn_name, c, cout);
  if (act_name_)
    n = add_act(b, act_name_, n, b->s->act);
  b->cur = n;
  b->cur_c = cout;
}

static void build_stem(Builder *b) {
  const Spec *s = b->s;
  if (s->stem == STEM_DEEP) {
    conv_bn_act(b, "conv1.0", "conv1.1", "conv1.2", s->stem_out[0], 3, 2);
    conv_bn_act(b, "conv1.3", "conv1.4", "conv1.5", s->stem_out[1], 3, 1);
    conv_bn_act(b, "conv1.6", "bn1", "act1", s->stem_out[2], 3, 1);
  } else {
    conv_bn_act(b, "conv1", "bn1", "act1", s->stem_out[0], 7, 2);
  }
  if (s->stem_down == STEM_DOWN_CONV) {
    conv_bn_act(b, "maxpool.0", "maxpool.1", "maxpool.2", b->cur_c, 3, 2);
  } else {
    int id = add_pool(b, POOL_MAX, false, "maxpool", b->cur);
    Node *n = &b->g->nodes[id];
    n->kh = n->kw = 3;
    n->sh = n->sw = 2;
    n->pad_t = n->pad_l = n->pad_b = n->pad_r = 1;
    b->cur = id;
  }
}

/* The projection shortcut of a block whose stride or width changes. */
static int build_shortcut(Builder *b, const char *blk, int in, int cin, int cout, int stride) {
  char *n0 = xstrfmt("%s.downsample.0", blk), *n1 = xstrfmt("%s.downsample.1", blk),
       *n2 = xstrfmt("%s.downsample.2", blk);
  int out;
  if (b->s->shortcut == SHORTCUT_AVGPOOL) {
    /* downsample.0 is the pool (Identity at stride 1), then 1x1 conv + BN. */
    int x = in;
    if (stride > 1) {
      x = add_pool(b, POOL_AVG, false, n0, in);
      Node *p = &b->g->nodes[x];
      p->kh = p->kw = p->sh = p->sw = stride; /* pads: ceil mode, set by shape.c */
    }
    int c = add_conv(b, n1, x, cin, cout, 1, 1, false);
    out = add_bn(b, n2, c, cout);
  } else {
    int c = add_conv(b, n0, in, cin, cout, 1, stride, false);
    out = add_bn(b, n1, c, cout);
  }
  free(n0);
  free(n1);
  free(n2);
  return out;
}

static void build_se(Builder *b, const char *blk, int c) {
  /* The reduce width (docs/spec.md, se_rounding): Keras max(1, int(C*r)), or
   * timm's make_divisible(C*r, 8) as SEModule calls it (round_limit 0). */
  int mid;
  if (b->s->se_rounding == SE_ROUND_TIMM) {
    mid = (int)(c * b->s->se_ratio + 4) / 8 * 8;
    if (mid < 8)
      mid = 8;
  } else {
    mid = (int)(c * b->s->se_ratio);
    if (mid < 1)
      mid = 1;
  }
  char *pool = xstrfmt("%s.se.pool", blk), *fc1 = xstrfmt("%s.se.fc1", blk),
       *act = xstrfmt("%s.se.act", blk), *fc2 = xstrfmt("%s.se.fc2", blk),
       *gate = xstrfmt("%s.se.gate", blk), *se = xstrfmt("%s.se", blk);
  int x = b->cur;
  int s = add_pool(b, POOL_AVG, true, pool, x);
  s = add_conv(b, fc1, s, c, mid, 1, 1, true);
  s = add_act(b, act, s, ACT_RELU);
  s = add_conv(b, fc2, s, mid, c, 1, 1, true);
  s = add_act(b, gate, s, ACT_SIGMOID);
  int y = graph_add_node(b->g, OP_SCALE, se);
  b->g->nodes[y].in[0] = x;
  b->g->nodes[y].in[1] = s;
  b->g->nodes[y].nin = 2;
  b->cur = y;
  free(pool);
  free(fc1);
  free(act);
  free(fc2);
  free(gate);
  free(se);
}

static void build_block(Builder *b, int stage, int index, int planes, int stride) {
  const Spec *s = b->s;
  char *blk = xstrfmt("layer%d.%d", stage + 1, index);
  int cin = b->cur_c, cout = 4 * planes, in = b->cur;
  int shortcut = in;
  if (stride != 1 || cin != cout)
    shortcut = build_shortcut(b, blk, in, cin, cout, stride);
  char *nm[8];
  static const char *const parts[8] = {"conv1", "bn1", "act1", "conv2",
                                       "bn2",   "act2", "conv3", "bn3"};
  for (int i = 0; i < 8; i++)
    nm[i] = xstrfmt("%s.%s", blk, parts[i]);
  b->cur = in;
  b->cur_c = cin;
  conv_bn_act(b, nm[0], nm[1], nm[2], planes, 1, s->stride_on == STRIDE_ON_1X1 ? stride : 1);
  conv_bn_act(b, nm[3], nm[4], nm[5], planes, 3, s->stride_on == STRIDE_ON_3X3 ? stride : 1);
  conv_bn_act(b, nm[6], nm[7], NULL, cout, 1, 1);
  if (s->se_ratio > 0)
    build_se(b, blk, cout);
  char *add = xstrfmt("%s.add", blk), *act = xstrfmt("%s.act3", blk);
  int a = graph_add_node(b->g, OP_ADD, add);
  b->g->nodes[a].in[0] = b->cur;
  b->g->nodes[a].in[1] = shortcut;
  b->g->nodes[a].nin = 2;
  b->cur = add_act(b, act, a, s->act);
  free(add);
  free(act);
  for (int i = 0; i < 8; i++)
    free(nm[i]);
  free(blk);
}

static void build_head(Builder *b) {
  const Spec *s = b->s;
  switch (s->head) {
  case HEAD_NONE:
    return;
  case HEAD_MAX:
    b->cur = add_pool(b, POOL_MAX, true, "global_pool", b->cur);
    return;
  case HEAD_AVG:
    b->cur = add_pool(b, POOL_AVG, true, "global_pool", b->cur);
    return;
  case HEAD_DENSE:
    break;
  }
  int pool = add_pool(b, POOL_AVG, true, "global_pool", b->cur);
  int fc = add_unary(b, OP_DENSE, "fc", pool);
  int wd[2] = {s->classes, b->cur_c};
  b->g->nodes[fc].w = graph_add_tensor(b->g, "fc.weight", 2, wd);
  b->g->nodes[fc].b = graph_add_tensor(b->g, "fc.bias", 1, &s->classes);
  b->cur = fc;
  if (s->classifier_act == ACT_SOFTMAX)
    b->cur = add_unary(b, OP_SOFTMAX, "softmax", fc);
}

bool build_graph(Graph *g, Diag *d) {
  (void)d; /* a resolved spec always builds; limits are checked by shape.c */
  Builder b = {.g = g, .s = &g->spec};
  g->input = graph_add_node(g, OP_INPUT, "input");
  b.cur = g->input;
  b.cur_c = g->spec.channels;
  build_stem(&b);
  for (int st = 0; st < RSC_STAGES; st++) {
    for (int i = 0; i < g->spec.blocks[st]; i++)
      build_block(&b, st, i, g->spec.planes[st], i == 0 && st > 0 ? 2 : 1);
    g->stage_out[st] = b.cur; /* endpoint c2 + st */
  }
  build_head(&b);
  g->output = b.cur;
  graph_check(g);
  return true;
}
