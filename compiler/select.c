/*
 * select.c - kernel selection. Every live compute node gets the name of a
 * kernel specialised to its exact shape; nodes with the same name share one
 * emitted function. Names say everything, XNNPACK-style:
 *   conv3x3s2p1x1_n1_160x160x3_80x80x32_kb32_relu
 *   op, window, stride, leading pads, batch, input HxWxC, output HxWxC, tile, epilogue.
 *
 * Tile choice for convs (kb = output channels per register block): the largest
 * of 64, 32, 16 that divides K, so no lane is wasted; otherwise 16 (or 8 for
 * K <= 8) with the last block zero-padded by pack.c.
 */
#include "rsc.h"

#include <stdlib.h>

static int conv_tile(int k) {
  static const int tiles[] = {64, 32, 16};
  for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++)
    if (k % tiles[i] == 0)
      return tiles[i];
  return k <= 8 ? 8 : 16;
}

static char *kernel_name(const Graph *g, const Node *n) {
  Shape in = n->nin ? g->nodes[n->in[0]].out : n->out, o = n->out;
  switch (n->op) {
  case OP_CONV:
    return xstrfmt("conv%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%dx%d_kb%d_%s", n->kh, n->kw, n->sh,
                   n->sw, n->pad_t, n->pad_l, o.n, in.h, in.w, in.c, o.h, o.w, o.c, n->kb,
                   act_name(n->act));
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    return xstrfmt("%s%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%d", op_name(n->op), n->kh, n->kw, n->sh,
                   n->sw, n->pad_t, n->pad_l, o.n, in.h, in.w, in.c, o.h, o.w);
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
    return xstrfmt("%s_n%d_%dx%dx%d", op_name(n->op), o.n, in.h, in.w, in.c);
  case OP_DENSE:
    return xstrfmt("dense_n%d_%d_%d_%s", o.n, in.c, o.c, act_name(n->act));
  case OP_ADD:
    return xstrfmt("add_n%d_%dx%dx%d_%s", o.n, o.h, o.w, o.c, act_name(n->act));
  case OP_SE_ADD:
    return xstrfmt("se_add_n%d_%dx%dx%d_m%d_%s", o.n, o.h, o.w, o.c, n->se_mid, act_name(n->act));
  case OP_SOFTMAX:
    return xstrfmt("softmax_n%d_%d", o.n, o.c);
  case OP_ENTRY:
    return xstrfmt("entry_%s_%s_n%d_%dx%dx%d_%s", g->spec.input_type == INPUT_U8 ? "u8" : "f32",
                   g->spec.input_layout == INPUT_NCHW ? "nchw" : "nhwc", o.n, o.h, o.w, o.c,
                   g->spec.preprocess == PREPROCESS_IMAGENET ? "imagenet" : "none");
  case OP_INPUT:
    return NULL;
  case OP_BN:
  case OP_ACT:
  case OP_SCALE:
  case OP_COUNT:
    break;
  }
  return NULL;
}

bool select_kernels(Graph *g, Diag *d) {
  bool ok = true;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op == OP_INPUT)
      continue;
    if (n->op == OP_CONV)
      n->kb = conv_tile(n->out.c);
    free(n->kernel);
    n->kernel = kernel_name(g, n);
    if (!n->kernel) {
      /* Only reachable if a pass left an unfused op behind. */
      diag(d, DIAG_ERROR, "no kernel for '%s' (%s): the fusion passes did not apply", n->name,
           op_name(n->op));
      ok = false;
    }
  }
  return ok;
}
