/*
 * pack.c - weight prepacking. Chooses the layout its kernel reads for each
 * live weight tensor and lays the packed tensors out one after another in the
 * weights payload at 64-byte-aligned offsets, in execution order; pack_tensor
 * draws one tensor into that layout.
 *
 * Layouts (units: elements):
 *   LAYOUT_CONV_BLOCK  OIHW -> [ceil(O/kb)][KH][KW][I][kb]; element (o,i,h,w) at
 *                      (((o/kb)*KH + h)*KW + w)*I*kb + i*kb + o%kb; padded o are 0.
 *                      The conv kernel then streams one kb-wide weight row per
 *                      input tap into a row of output-channel accumulators.
 *   LAYOUT_WINO_BLOCK  3x3 OIHW -> [ceil(O/kb)][16][I][kb]: element xi of
 *                      U = G g G^T (Winograd F(2x2,3x3)) of filter (o,i) at
 *                      ((o/kb)*16 + xi)*I*kb + i*kb + o%kb; padded o are 0.
 *                      For one block and element xi, the kernel's batched
 *                      matrix product streams one kb-wide row per channel.
 *   LAYOUT_CONV_BF16   OIHW -> [ceil(O/kb)][KH][KW][ceil(I/2)][kb] 32-bit words
 *                      (--precision bf16): word (o,p,h,w) at
 *                      (((o/kb)*KH + h)*KW + w)*ceil(I/2)*kb + p*kb + o%kb holds
 *                      the bf16 (rsc_bf16_ref: nearest even) of (o,2p,h,w) in
 *                      its low half and of (o,2p+1,h,w) in its high half (0
 *                      past I); padded o are 0. vdpbf16ps multiplies 16 such
 *                      words (16 outputs) by one broadcast pair of inputs:
 *
 *         one block, one tap:   lane 0            lane 1                  lane kb-1
 *           pair p = 0       [ w(o0,1) w(o0,0) | w(o0+1,1) w(o0+1,0) | ... ]  kb words
 *           pair p = 1       [ w(o0,3) w(o0,2) | ...                       ]
 *           ...                 hi 16    lo 16
 *           pair ceil(I/2)-1 [ 0 or w(o0,I-1) w(o0,I-2 or I-1) | ...       ]
 *                      docs/precision.md draws the whole block.
 *   LAYOUT_VECTOR      bias [O] -> [ceil(O/kb)*kb], zero-padded.
 *   LAYOUT_DENSE_BLOCK [out][in] (or [out][in][1][1]) -> [ceil(O/kb)][I][kb],
 *                      kb DENSE_KB: element (o,i) at ((o/kb)*I + i)*kb + o%kb;
 *                      padded o are 0. Each block of kb outputs is one
 *                      contiguous stream of weights, so the threads that split
 *                      a dense layer's blocks each read one sequential run.
 *
 * The pass (pack_weights) only decides layouts, sizes and offsets: the values
 * are drawn by pack_tensor while the .weights file is written (wfile.c), a
 * few tensors at a time into a buffer that is then checksummed and written.
 * So the packed payload (RS-420: 900 MB) never exists whole in memory: no
 * second copy of the weights, no page fault per 4 KB of one, and each packed
 * tensor is written while it is still in cache. A tensor's packed values
 * depend only on its raw values and layout, so how many threads pack (and
 * which tensor each packs) changes no bit of the output.
 */
#include "rsc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rsc_conv_bf16_ref.h" /* rsc_bf16_ref: the rounding the kernels' twin uses */

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

/* The conv packers write each block's destination in order, one kb-wide row
 * at a time, gathering the row's kb values from the block's kb source rows
 * (kb streams, which stay in cache: a block of source is at most a few
 * hundred KB). Writing in order is what makes them fast; reading in order
 * instead scatters every store to another cache line. */
static void pack_conv(const Tensor *t, const float *raw, float *dst) {
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KB = (size_t)t->kb;
  size_t KHW = (size_t)t->dims[2] * (size_t)t->dims[3];
  float *d = dst;
  for (size_t o0 = 0; o0 < O; o0 += KB) {
    size_t lanes = O - o0 < KB ? O - o0 : KB; /* the rest of the row is padding */
    const float *src = raw + o0 * I * KHW;     /* (o0, 0, 0, 0) */
    for (size_t hw = 0; hw < KHW; hw++)
      for (size_t i = 0; i < I; i++, d += KB)
        for (size_t lane = 0; lane < lanes; lane++)
          d[lane] = src[(lane * I + i) * KHW + hw];
  }
}

/* LAYOUT_CONV_BF16, in pack_conv's order: each destination row of kb words
 * (one tap, one pair of input channels) gathered from the block's kb
 * source rows. */
static void pack_conv_bf16(const Tensor *t, const float *raw, float *dst) {
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KB = (size_t)t->kb;
  size_t KHW = (size_t)t->dims[2] * (size_t)t->dims[3];
  float *d = dst;
  for (size_t o0 = 0; o0 < O; o0 += KB) {
    size_t lanes = O - o0 < KB ? O - o0 : KB;
    const float *src = raw + o0 * I * KHW;
    for (size_t hw = 0; hw < KHW; hw++)
      for (size_t i = 0; i < I; i += 2, d += KB)
        for (size_t lane = 0; lane < lanes; lane++) {
          uint32_t lo = rsc_bf16_ref(src[(lane * I + i) * KHW + hw]);
          uint32_t hi = i + 1 < I ? rsc_bf16_ref(src[(lane * I + i + 1) * KHW + hw]) : 0u;
          uint32_t word = lo | hi << 16;
          memcpy(&d[lane], &word, sizeof word);
        }
  }
}

void wino_filter_transform(const float g[9], float u[16]) {
  /* G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] */
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  double gg[4][3]; /* G g */
  for (int a = 0; a < 4; a++)
    for (int j = 0; j < 3; j++)
      gg[a][j] = G[a][0] * g[0 * 3 + j] + G[a][1] * g[1 * 3 + j] + G[a][2] * g[2 * 3 + j];
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      u[a * 4 + b] = (float)(gg[a][0] * G[b][0] + gg[a][1] * G[b][1] + gg[a][2] * G[b][2]);
}

static void pack_wino(const Tensor *t, const float *raw, float *dst) {
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KB = (size_t)t->kb;
  RSC_ASSERT(t->dims[2] == 3 && t->dims[3] == 3);
  for (size_t o0 = 0; o0 < O; o0 += KB) {
    size_t lanes = O - o0 < KB ? O - o0 : KB;
    float *blk = dst + o0 * 16 * I; /* block o0 / kb: [16][I][kb] */
    /* For one channel i the kb lanes fill the same 16 rows of kb floats. */
    for (size_t i = 0; i < I; i++) {
      const float *g = raw + (o0 * I + i) * 9; /* filter (o0, i); lane k at g + k*I*9 */
      for (size_t lane = 0; lane < lanes; lane++) {
        float u[16];
        wino_filter_transform(g + lane * I * 9, u);
        for (size_t xi = 0; xi < 16; xi++)
          blk[(xi * I + i) * KB + lane] = u[xi];
      }
    }
  }
}

/* The dense transpose goes TILE x TILE at a time: both the rows it reads and
 * the rows it writes stay in L1. */
enum { TILE = 16 };

static void pack_dense(const Tensor *t, const float *raw, float *dst) {
  /* [out][in] or [out][in][1][1]: the trailing 1x1 of an SE fc changes nothing. */
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KB = (size_t)t->kb;
  for (size_t o0 = 0; o0 < O; o0 += TILE) /* a transpose, TILE x TILE at a time */
    for (size_t i0 = 0; i0 < I; i0 += TILE) {
      size_t o1 = o0 + TILE < O ? o0 + TILE : O, i1 = i0 + TILE < I ? i0 + TILE : I;
      for (size_t o = o0; o < o1; o++)
        for (size_t i = i0; i < i1; i++)
          dst[((o / KB) * I + i) * KB + o % KB] = raw[o * I + i];
    }
}

void pack_tensor(const Tensor *t, const float *raw, float *dst) {
  size_t n = t->packed_floats;
  if (t->packed) { /* packed by hand (tests) */
    memcpy(dst, t->packed, n * sizeof(float));
    return;
  }
  RSC_ASSERT(raw || n == 0);
  /* Output channels padded to a multiple of kb: the padding is zeros. */
  if (t->dims[0] % t->kb != 0)
    memset(dst, 0, n * sizeof(float));
  switch (t->layout) {
  case LAYOUT_CONV_BLOCK:
    pack_conv(t, raw, dst);
    break;
  case LAYOUT_WINO_BLOCK:
    pack_wino(t, raw, dst);
    break;
  case LAYOUT_CONV_BF16:
    pack_conv_bf16(t, raw, dst);
    break;
  case LAYOUT_VECTOR:
    memcpy(dst, raw, (size_t)t->dims[0] * sizeof(float));
    break;
  case LAYOUT_DENSE_BLOCK:
    pack_dense(t, raw, dst);
    break;
  case LAYOUT_RAW:
    RSC_ASSERT(!"pack_tensor: tensor without a layout");
  }
}

/* Packed size in floats of tensor t in layout l with output block kb. */
static size_t packed_size(const Tensor *t, Layout l, int kb) {
  size_t O = (size_t)t->dims[0], KB = (size_t)kb, padded = (O + KB - 1) / KB * KB;
  switch (l) {
  case LAYOUT_CONV_BLOCK:
    return padded * (tensor_elems(t) / O);
  case LAYOUT_WINO_BLOCK:
    return padded * 16 * (size_t)t->dims[1];
  case LAYOUT_CONV_BF16: /* words of two bf16 */
    return padded * (size_t)t->dims[2] * (size_t)t->dims[3] * (((size_t)t->dims[1] + 1) / 2);
  case LAYOUT_VECTOR:
    return padded;
  case LAYOUT_DENSE_BLOCK:
    return padded * (size_t)t->dims[1];
  case LAYOUT_RAW:
    break;
  }
  RSC_ASSERT(!"packed_size: no layout");
  return 0;
}

/* Gives tensor id its layout, packed size and the next offset. */
static void place(Graph *g, int id, Layout l, int kb, size_t *cursor) {
  Tensor *t = &g->tensors[id];
  RSC_ASSERT(!t->used); /* every tensor belongs to exactly one node */
  RSC_ASSERT(t->data || t->deferred);
  t->used = true;
  t->layout = l;
  t->kb = kb;
  t->packed_floats = packed_size(t, l, kb);
  t->offset = *cursor;
  *cursor = align16(*cursor + t->packed_floats);
}

bool pack_weights(Graph *g, Diag *d) {
  (void)d;
  size_t cursor = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    switch (n->op) {
    case OP_CONV:
      RSC_ASSERT(n->w >= 0 && n->b >= 0 && n->sched && n->sched->conv.kb > 0);
      place(g, n->w,
            n->sched->conv.wino   ? LAYOUT_WINO_BLOCK
            : n->sched->conv.bf16 ? LAYOUT_CONV_BF16
                                  : LAYOUT_CONV_BLOCK,
            n->sched->conv.kb, &cursor);
      place(g, n->b, LAYOUT_VECTOR, n->sched->conv.kb, &cursor);
      break;
    case OP_DENSE:
      place(g, n->w, LAYOUT_DENSE_BLOCK, DENSE_KB, &cursor);
      place(g, n->b, LAYOUT_VECTOR, DENSE_KB, &cursor);
      break;
    case OP_SE_ADD:
      place(g, n->attr.se.fc1_w, LAYOUT_DENSE_BLOCK, DENSE_KB, &cursor);
      place(g, n->attr.se.fc1_b, LAYOUT_VECTOR, DENSE_KB, &cursor);
      place(g, n->attr.se.fc2_w, LAYOUT_DENSE_BLOCK, DENSE_KB, &cursor);
      place(g, n->attr.se.fc2_b, LAYOUT_VECTOR, DENSE_KB, &cursor);
      break;
    case OP_INPUT:
    case OP_ENTRY: /* its shift is a constant of the generated code */
    case OP_BN:
    case OP_ACT:
    case OP_POOL:
    case OP_SCALE:
    case OP_ADD:
    case OP_SOFTMAX:
    case OP_COUNT:
      break;
    }
  }
  /* The raw values of everything else (BN statistics folded away, tensors of
   * pruned nodes) are not needed any more. */
  for (int i = 0; i < g->ntensors; i++)
    if (!g->tensors[i].used) {
      free(g->tensors[i].data);
      g->tensors[i].data = NULL;
    }
  g->weight_floats = cursor;
  return true;
}
