/*
 * shape.c - shape inference. Walks the graph in execution order and gives every
 * node its NHWC output shape, following docs/resnet-rs.md exactly:
 * convs use TF fixed padding (set by build.c), the 2x2/2 shortcut pool is ceil
 * mode with the partial window's padding recorded in pad_b/pad_r (the kernel
 * divides by the in-bounds count), global pools and dense layers give [N,1,1,C].
 *
 * Two things are refused here, each with a message that says why:
 *  - an input too small for the network: every stride-2 layer must see at least
 *    2 rows and columns, else it "downsamples" a map that is already 1 pixel
 *    (the smallest accepted size is searched for and reported);
 *  - a tensor over RSC_MAX_TENSOR_FLOATS, so no size computation can overflow.
 */
#include "rsc.h"

#include <stdlib.h>

/* 2^31 floats (8 GiB) per activation: far above any real model, and it keeps
 * every offset and count of the generated code inside a 64-bit size_t. */
#define RSC_MAX_TENSOR_FLOATS (1ull << 31)

/* Output size of a window op along one axis; pads given. */
static int window_out(int in, int pad_beg, int pad_end, int k, int s) {
  return (in + pad_beg + pad_end - k) / s + 1;
}

/* Runs inference on a copy of the geometry; returns the first node whose stride
 * needs more input than it gets, or -1. Fills shapes when fill is true. */
static int propagate(Graph *g, int in_h, int in_w, bool fill) {
  Shape *sh = xmalloc((size_t)g->nnodes * sizeof *sh);
  int bad = -1;
  for (int i = 0; i < g->nnodes && bad < 0; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    Shape in = n->nin > 0 ? sh[n->in[0]] : (Shape){0};
    Shape out = in;
    switch (n->op) {
    case OP_INPUT:
      out = (Shape){g->spec.batch, in_h, in_w, g->spec.channels};
      break;
    case OP_CONV:
    case OP_POOL:
      if (n->op == OP_POOL && n->attr.pool.global) {
        out.h = out.w = 1;
        break;
      }
      if ((n->sh > 1 && in.h < 2) || (n->sw > 1 && in.w < 2)) {
        bad = i;
        break;
      }
      if (n->op == OP_POOL && n->attr.pool.kind == POOL_AVG) {
        /* ceil mode: the last window may hang over the edge; record that overhang
         * as end padding so the kernel's in-bounds count handles it. */
        int oh = (in.h - n->kh + n->sh - 1) / n->sh + 1, ow = (in.w - n->kw + n->sw - 1) / n->sw + 1;
        if (in.h < n->kh)
          oh = 1;
        if (in.w < n->kw)
          ow = 1;
        if (fill) {
          n->pad_t = n->pad_l = 0;
          n->pad_b = (oh - 1) * n->sh + n->kh - in.h;
          n->pad_r = (ow - 1) * n->sw + n->kw - in.w;
        }
        out.h = oh;
        out.w = ow;
      } else {
        out.h = window_out(in.h, n->pad_t, n->pad_b, n->kh, n->sh);
        out.w = window_out(in.w, n->pad_l, n->pad_r, n->kw, n->sw);
      }
      if (n->op == OP_CONV)
        out.c = g->tensors[n->w].dims[0];
      break;
    case OP_DENSE:
      out = (Shape){in.n, 1, 1, g->tensors[n->w].dims[0]};
      break;
    case OP_SE_ADD:
    case OP_ENTRY: /* same logical shape as the input it converts */
    case OP_BN:
    case OP_ACT:
    case OP_SCALE:
    case OP_ADD:
    case OP_SOFTMAX:
      break;
    case OP_COUNT:
      RSC_ASSERT(!"bad op");
    }
    sh[i] = out;
    if (fill)
      n->out = out;
  }
  free(sh);
  return bad;
}

/* Smallest size along one axis that the network accepts (the other axis large). */
static int smallest_accepted(Graph *g, bool height) {
  for (int s = 1; s < 1 << 16; s++)
    if (propagate(g, height ? s : 4096, height ? 4096 : s, false) < 0)
      return s;
  return -1;
}

/* Reports a size error at the first of keys[] the spec set (the keys that
 * make the size), with a note at each other one set; unlocated if none is. */
static void size_error(Diag *d, const Spec *s, const SpecKey *keys, int nkeys, const char *msg) {
  int first = -1;
  for (int i = 0; i < nkeys; i++) {
    const SpecLoc *l = &s->loc[keys[i]];
    if (!l->file)
      continue;
    if (first < 0) {
      first = i;
      diag_loc(d, DIAG_ERROR, l, "%s", msg);
    } else {
      diag_loc(d, DIAG_NOTE, l, "'%s' set here", spec_key_name(keys[i]));
    }
  }
  if (first < 0)
    diag(d, DIAG_ERROR, "%s", msg);
}

bool infer_shapes(Graph *g, Diag *d) {
  const Spec *s = &g->spec;
  int bad = propagate(g, s->height, s->width, true);
  if (bad >= 0) {
    const Node *n = &g->nodes[bad];
    const Shape in = g->nodes[n->in[0]].out;
    int mh = smallest_accepted(g, true), mw = smallest_accepted(g, false);
    char *msg = xstrfmt(
        "input %dx%d is too small for this network: '%s' (stride %d) would downsample a "
        "%dx%d map; each of the network's downsamplings needs at least 2 pixels, so the "
        "smallest input it accepts is %dx%d (height x width)",
        s->height, s->width, n->name, n->sh, in.h, in.w, mh, mw);
    /* At the side that is too small; a square input's other key if only it was set. */
    SpecKey side = n->sh > 1 && in.h < 2 ? KEY_HEIGHT : KEY_WIDTH;
    SpecKey other = side == KEY_HEIGHT ? KEY_WIDTH : KEY_HEIGHT;
    diag_loc(d, DIAG_ERROR, s->loc[side].file ? &s->loc[side] : &s->loc[other], "%s", msg);
    free(msg);
    return false;
  }
  bool ok = true;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    /* Checked in double so the product itself cannot overflow. */
    double elems = (double)n->out.n * n->out.h * n->out.w * n->out.c;
    if (elems > (double)RSC_MAX_TENSOR_FLOATS) {
      static const SpecKey keys[] = {KEY_BATCH,  KEY_HEIGHT,           KEY_WIDTH,
                                     KEY_WIDTHS, KEY_WIDTH_MULTIPLIER, KEY_STEM_WIDTHS,
                                     KEY_CHANNELS};
      char *msg = xstrfmt("'%s' would produce [%d,%d,%d,%d] = %.0f floats, over the limit of "
                          "%llu floats per tensor; reduce the input size, batch or widths",
                          n->name, n->out.n, n->out.h, n->out.w, n->out.c, elems,
                          RSC_MAX_TENSOR_FLOATS);
      size_error(d, s, keys, (int)(sizeof keys / sizeof *keys), msg);
      free(msg);
      ok = false;
      break;
    }
  }
  for (int i = 0; ok && i < g->ntensors; i++) {
    const Tensor *t = &g->tensors[i];
    double elems = 1;
    for (int k = 0; k < t->ndim; k++)
      elems *= t->dims[k];
    if (elems > (double)RSC_MAX_TENSOR_FLOATS) {
      static const SpecKey keys[] = {KEY_WIDTHS, KEY_WIDTH_MULTIPLIER, KEY_STEM_WIDTHS,
                                     KEY_CLASSES, KEY_CHANNELS};
      char *msg = xstrfmt("weight '%s' would hold %.0f floats, over the limit of %llu floats "
                          "per tensor; reduce the widths",
                          t->name, elems, RSC_MAX_TENSOR_FLOATS);
      size_error(d, s, keys, (int)(sizeof keys / sizeof *keys), msg);
      free(msg);
      ok = false;
    }
  }
  return ok;
}
