/*
 * reference.c - the reference evaluator: the independent oracle that rsc's generated
 * code is compared against (rsc --verify, and tests/refeval.c, its command line).
 *
 * It runs the UNFUSED graph (parse, build, shapes) with RAW timm-layout weights
 * (conv OIHW, dense [out][in], BN as four vectors), node by node in g->nodes order
 * with the most obvious loops: double accumulators, double activations, one
 * malloc'd buffer per node (freed after its last reader). None of rsc's
 * fold/fuse/plan/select/pack passes or runtime kernels is used, so a mistake there
 * cannot hide in both sides of the comparison.
 *
 * The input is read as the spec's input_type / input_layout say and preprocessed
 * literally, in double, before the first node (Keras' include_preprocessing:
 * x/255, then (x - mean)/std per RGB channel, padding zeros in that space), with
 * constants written here, not taken from the compiler.
 */
#include "rsc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Activations are held in double: the oracle should be more accurate than what
 * it checks, not merely as accurate. */
typedef struct Buf {
  double *v; /* shape_elems(node.out) values, NHWC */
} Buf;

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double apply_act(ActKind a, double x) {
  switch (a) {
  case ACT_NONE:
    return x;
  case ACT_RELU:
    return x > 0 ? x : 0;
  case ACT_SWISH:
    return x * sigmoid(x);
  case ACT_SIGMOID:
    return sigmoid(x);
  case ACT_SOFTMAX:
    break; /* not elementwise: only OP_SOFTMAX does it */
  }
  RSC_ASSERT(!"activation not elementwise");
}

/* Element [n][y][x][c] of an NHWC buffer of shape s. */
static size_t at(Shape s, int n, int y, int x, int c) {
  return (((size_t)n * s.h + y) * s.w + x) * s.c + c;
}

static void conv(const Graph *g, const Node *nd, const Shape is, const double *in, double *out) {
  const Tensor *w = &g->tensors[nd->w];
  const float *b = nd->b >= 0 ? g->tensors[nd->b].data : NULL;
  Shape os = nd->out;
  int cin = w->dims[1], kh = w->dims[2], kw = w->dims[3];
  RSC_ASSERT(cin == is.c && w->dims[0] == os.c && kh == nd->kh && kw == nd->kw);
  for (int n = 0; n < os.n; n++)
    for (int oy = 0; oy < os.h; oy++)
      for (int ox = 0; ox < os.w; ox++)
        for (int o = 0; o < os.c; o++) {
          double acc = b ? b[o] : 0.0;
          for (int ky = 0; ky < kh; ky++) {
            int y = oy * nd->sh - nd->pad_t + ky;
            if (y < 0 || y >= is.h)
              continue; /* zero padding */
            for (int kx = 0; kx < kw; kx++) {
              int x = ox * nd->sw - nd->pad_l + kx;
              if (x < 0 || x >= is.w)
                continue;
              const double *px = &in[at(is, n, y, x, 0)];
              /* w[o][i][ky][kx] */
              const float *wp = &w->data[(((size_t)o * cin) * kh + ky) * kw + kx];
              for (int i = 0; i < cin; i++)
                acc += px[i] * (double)wp[(size_t)i * kh * kw];
            }
          }
          out[at(os, n, oy, ox, o)] = apply_act(nd->act, acc);
        }
}

/* Max and average pooling windows; the window starts at -pad_t/-pad_l and only
 * in-bounds cells take part (max: pads are -inf; avg: divide by the count). */
static void pool(const Node *nd, const Shape is, const double *in, double *out) {
  Shape os = nd->out;
  for (int n = 0; n < os.n; n++)
    for (int oy = 0; oy < os.h; oy++)
      for (int ox = 0; ox < os.w; ox++)
        for (int c = 0; c < os.c; c++) {
          double mx = -INFINITY, sum = 0;
          int count = 0;
          for (int ky = 0; ky < nd->kh; ky++) {
            int y = oy * nd->sh - nd->pad_t + ky;
            if (y < 0 || y >= is.h)
              continue;
            for (int kx = 0; kx < nd->kw; kx++) {
              int x = ox * nd->sw - nd->pad_l + kx;
              if (x < 0 || x >= is.w)
                continue;
              double v = in[at(is, n, y, x, c)];
              mx = v > mx ? v : mx;
              sum += v;
              count++;
            }
          }
          RSC_ASSERT(count > 0);
          out[at(os, n, oy, ox, c)] = nd->attr.pool.kind == POOL_MAX ? mx : sum / count;
        }
}

static void global_pool(const Node *nd, const Shape is, const double *in, double *out) {
  for (int n = 0; n < is.n; n++)
    for (int c = 0; c < is.c; c++) {
      double mx = -INFINITY, sum = 0;
      for (int y = 0; y < is.h; y++)
        for (int x = 0; x < is.w; x++) {
          double v = in[at(is, n, y, x, c)];
          mx = v > mx ? v : mx;
          sum += v;
        }
      out[(size_t)n * is.c + c] = nd->attr.pool.kind == POOL_MAX ? mx : sum / ((double)is.h * is.w);
    }
}

static void dense(const Graph *g, const Node *nd, const Shape is, const double *in, double *out) {
  const Tensor *w = &g->tensors[nd->w];
  const float *b = nd->b >= 0 ? g->tensors[nd->b].data : NULL;
  int nout = w->dims[0], nin = w->dims[1];
  RSC_ASSERT(is.h == 1 && is.w == 1 && is.c == nin && nd->out.c == nout);
  for (int n = 0; n < is.n; n++)
    for (int o = 0; o < nout; o++) {
      double acc = b ? b[o] : 0.0;
      for (int i = 0; i < nin; i++)
        acc += in[(size_t)n * nin + i] * (double)w->data[(size_t)o * nin + i];
      out[(size_t)n * nout + o] = apply_act(nd->act, acc);
    }
}

static void batchnorm(const Graph *g, const Node *nd, const Shape is, const double *in,
                      double *out) {
  const BnAttr *bn = &nd->attr.bn;
  const float *gam = g->tensors[bn->gamma].data, *bet = g->tensors[bn->beta].data,
              *mean = g->tensors[bn->mean].data, *var = g->tensors[bn->var].data;
  size_t m = shape_elems(is);
  for (size_t i = 0; i < m; i++) {
    int c = (int)(i % (size_t)is.c);
    out[i] = gam[c] * (in[i] - mean[c]) / sqrt((double)var[c] + bn->eps) + bet[c];
  }
}

static void softmax(const Shape is, const double *in, double *out) {
  size_t rows = (size_t)is.n * is.h * is.w;
  for (size_t r = 0; r < rows; r++) {
    const double *x = in + r * is.c;
    double *y = out + r * is.c, mx = -INFINITY, sum = 0;
    for (int c = 0; c < is.c; c++)
      mx = x[c] > mx ? x[c] : mx;
    for (int c = 0; c < is.c; c++)
      sum += y[c] = exp(x[c] - mx);
    for (int c = 0; c < is.c; c++)
      y[c] /= sum;
  }
}

size_t reference_input_bytes(const Graph *g) {
  return shape_elems(g->nodes[g->input].out) * (g->spec.input_type == INPUT_U8 ? 1 : 4);
}

double *reference_input(const Graph *g, const void *raw) {
  const Spec *spec = &g->spec;
  Shape s = g->nodes[g->input].out;
  size_t want = shape_elems(s), esize = spec->input_type == INPUT_U8 ? 1 : 4;
  double *v = xmalloc(want * sizeof *v);
  for (int n = 0; n < s.n; n++)
    for (int y = 0; y < s.h; y++)
      for (int x = 0; x < s.w; x++)
        for (int c = 0; c < s.c; c++) {
          size_t i = spec->input_layout == INPUT_NCHW
                         ? (((size_t)n * s.c + c) * s.h + y) * s.w + x
                         : at(s, n, y, x, c);
          const unsigned char *p = (const unsigned char *)raw + esize * i;
          double val;
          if (esize == 1) {
            val = p[0];
          } else {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24;
            float f;
            memcpy(&f, &u, sizeof f);
            val = f;
          }
          if (spec->preprocess == PREPROCESS_IMAGENET) {
            /* Keras: Rescaling(1/255), then Normalization(mean, variance = std^2). */
            static const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
            RSC_ASSERT(s.c == 3);
            val = val / 255.0;
            val = (val - mean[c]) / sd[c];
          }
          v[at(s, n, y, x, c)] = val;
        }
  return v;
}

double *reference_eval(const Graph *g, const double *input, ReferenceTap tap, void *ctx) {
  Buf *buf = xcalloc((size_t)g->nnodes, sizeof *buf);
  int *last = xmalloc((size_t)g->nnodes * sizeof *last);
  for (int i = 0; i < g->nnodes; i++)
    last[i] = i;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++)
      last[g->nodes[i].in[k]] = i;
  last[g->output] = g->nnodes; /* kept */
  for (int i = 0; i < g->nnodes; i++) {
    const Node *nd = &g->nodes[i];
    RSC_ASSERT(!nd->dead);
    Shape is = nd->nin > 0 ? g->nodes[nd->in[0]].out : (Shape){0};
    const double *in0 = nd->nin > 0 ? buf[nd->in[0]].v : NULL;
    const double *in1 = nd->nin > 1 ? buf[nd->in[1]].v : NULL;
    size_t m = shape_elems(nd->out);
    double *out = NULL;
    if (nd->op != OP_INPUT)
      out = xmalloc((m ? m : 1) * sizeof *out);
    switch (nd->op) {
    case OP_INPUT:
      out = xmalloc((m ? m : 1) * sizeof *out);
      memcpy(out, input, m * sizeof *out);
      break;
    case OP_CONV:
      conv(g, nd, is, in0, out);
      break;
    case OP_BN:
      batchnorm(g, nd, is, in0, out);
      break;
    case OP_ACT:
      for (size_t j = 0; j < m; j++)
        out[j] = apply_act(nd->act, in0[j]);
      break;
    case OP_POOL:
      if (nd->attr.pool.global)
        global_pool(nd, is, in0, out);
      else
        pool(nd, is, in0, out);
      break;
    case OP_DENSE:
      dense(g, nd, is, in0, out);
      break;
    case OP_SCALE: {
      Shape ss = g->nodes[nd->in[1]].out;
      RSC_ASSERT(ss.h == 1 && ss.w == 1 && ss.c == is.c && ss.n == is.n);
      for (size_t j = 0; j < m; j++) {
        size_t c = j % (size_t)is.c, n = j / ((size_t)is.h * is.w * is.c);
        out[j] = in0[j] * in1[n * (size_t)is.c + c];
      }
      break;
    }
    case OP_ADD:
      for (size_t j = 0; j < m; j++)
        out[j] = apply_act(nd->act, in0[j] + in1[j]);
      break;
    case OP_SOFTMAX:
      softmax(is, in0, out);
      break;
    case OP_SE_ADD:
    case OP_ENTRY:
    case OP_COUNT:
      fprintf(stderr, "rsc: reference: node '%s': op '%s' cannot appear in an unfused graph\n",
              nd->name, nd->op == OP_COUNT ? "?" : node_op_name(nd));
      abort();
    }
    buf[i].v = out;
    if (tap)
      tap(ctx, i, out, m);
    for (int k = 0; k < nd->nin; k++)
      if (last[nd->in[k]] == i) {
        free(buf[nd->in[k]].v);
        buf[nd->in[k]].v = NULL;
      }
  }
  double *res = buf[g->output].v;
  for (int i = 0; i < g->nnodes; i++)
    if (i != g->output)
      free(buf[i].v);
  free(buf);
  free(last);
  return res;
}

