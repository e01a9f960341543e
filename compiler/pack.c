/*
 * pack.c - weight prepacking. Draws each live weight tensor, at compile time,
 * into the layout its kernel reads, and lays the packed tensors out one after
 * another in the weights payload at 64-byte-aligned offsets, in execution order.
 *
 * Layouts (units: elements):
 *   LAYOUT_CONV_BLOCK  OIHW -> [ceil(O/kb)][KH][KW][I][kb]; element (o,i,h,w) at
 *                      (((o/kb)*KH + h)*KW + w)*I*kb + i*kb + o%kb; padded o are 0.
 *                      The conv kernel then streams one kb-wide weight row per
 *                      input tap into a row of output-channel accumulators.
 *   LAYOUT_VECTOR      bias [O] -> [ceil(O/kb)*kb], zero-padded.
 *   LAYOUT_DENSE_IO    [out][in] (or [out][in][1][1]) -> [in][out].
 */
#include "rsc.h"

#include <string.h>

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

static void pack_conv(Tensor *t, int kb) {
  int O = t->dims[0], I = t->dims[1], KH = t->dims[2], KW = t->dims[3];
  size_t blocks = ((size_t)O + (size_t)kb - 1) / (size_t)kb;
  t->packed_floats = blocks * (size_t)KH * (size_t)KW * (size_t)I * (size_t)kb;
  t->packed = xcalloc(t->packed_floats, sizeof(float));
  for (int o = 0; o < O; o++)
    for (int i = 0; i < I; i++)
      for (int h = 0; h < KH; h++)
        for (int w = 0; w < KW; w++)
          t->packed[((((size_t)(o / kb) * KH + h) * KW + w) * I + i) * kb + o % kb] =
              t->data[(((size_t)o * I + i) * KH + h) * KW + w];
  t->layout = LAYOUT_CONV_BLOCK;
  t->kb = kb;
}

static void pack_vector(Tensor *t, int kb) {
  size_t n = (size_t)t->dims[0];
  t->packed_floats = (n + (size_t)kb - 1) / (size_t)kb * (size_t)kb;
  t->packed = xcalloc(t->packed_floats, sizeof(float));
  memcpy(t->packed, t->data, n * sizeof(float));
  t->layout = LAYOUT_VECTOR;
  t->kb = kb;
}

static void pack_dense(Tensor *t) {
  /* [out][in] or [out][in][1][1]: the trailing 1x1 of an SE fc changes nothing. */
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1];
  t->packed_floats = O * I;
  t->packed = xmalloc(t->packed_floats * sizeof(float));
  for (size_t o = 0; o < O; o++)
    for (size_t i = 0; i < I; i++)
      t->packed[i * O + o] = t->data[o * I + i];
  t->layout = LAYOUT_DENSE_IO;
  t->kb = 1;
}

static void place(Graph *g, int id, size_t *cursor) {
  Tensor *t = &g->tensors[id];
  RSC_ASSERT(!t->used); /* every tensor belongs to exactly one node */
  t->used = true;
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
      RSC_ASSERT(n->w >= 0 && n->b >= 0 && n->kb > 0);
      pack_conv(&g->tensors[n->w], n->kb);
      pack_vector(&g->tensors[n->b], n->kb);
      place(g, n->w, &cursor);
      place(g, n->b, &cursor);
      break;
    case OP_DENSE:
      pack_dense(&g->tensors[n->w]);
      pack_vector(&g->tensors[n->b], 1);
      place(g, n->w, &cursor);
      place(g, n->b, &cursor);
      break;
    case OP_SE_ADD:
      pack_dense(&g->tensors[n->p[0]]);
      pack_vector(&g->tensors[n->p[1]], 1);
      pack_dense(&g->tensors[n->p[2]]);
      pack_vector(&g->tensors[n->p[3]], 1);
      for (int k = 0; k < 4; k++)
        place(g, n->p[k], &cursor);
      break;
    case OP_INPUT:
    case OP_ENTRY: /* its shift is a constant of the generated code */
    case OP_BN:
    case OP_ACT:
    case OP_MAXPOOL:
    case OP_AVGPOOL:
    case OP_GLOBAL_AVGPOOL:
    case OP_GLOBAL_MAXPOOL:
    case OP_SCALE:
    case OP_ADD:
    case OP_SOFTMAX:
    case OP_COUNT:
      break;
    }
  }
  g->weight_floats = cursor;
  return true;
}
