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
 *   LAYOUT_WINO_BLOCK  3x3 OIHW -> [ceil(O/kb)][16][I][kb]: element xi of
 *                      U = G g G^T (Winograd F(2x2,3x3)) of filter (o,i) at
 *                      ((o/kb)*16 + xi)*I*kb + i*kb + o%kb; padded o are 0.
 *                      For one block and element xi, the kernel's batched
 *                      matrix product streams one kb-wide row per channel.
 *   LAYOUT_VECTOR      bias [O] -> [ceil(O/kb)*kb], zero-padded.
 *   LAYOUT_DENSE_IO    [out][in] (or [out][in][1][1]) -> [in][out].
 *
 * Memory: a packer draws into one scratch buffer (packed_buffer), reused for
 * every tensor, and keep_packed copies the result over the tensor's raw data,
 * which is then no longer needed, when the sizes match (they do unless O is
 * padded to a multiple of kb). A fresh buffer per packed tensor would keep a
 * second full copy of the weights alive and cost a page fault per 4 KB of it
 * (RS-420: 770 MB, ~190,000 faults); a memcpy of cache-warm memory is cheaper.
 * After this pass tensors hold packed values only: data is freed.
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

static float *scratch;
static size_t scratch_cap; /* floats */

/* Sets t->packed to n floats of scratch, zeroed when the packed form has
 * padding (its size differs from the raw one), else left for the packer to
 * overwrite completely. keep_packed then gives t its own copy. */
static void packed_buffer(Tensor *t, size_t n) {
  if (n > scratch_cap) {
    free(scratch);
    scratch = xmalloc(n * sizeof(float));
    scratch_cap = n;
  }
  if (n != tensor_elems(t))
    memset(scratch, 0, n * sizeof(float));
  t->packed = scratch;
  t->packed_floats = n;
}

/* Moves t's packed values out of scratch: over its raw data when that has the
 * same size, else into a new block; the raw data is gone either way. */
static void keep_packed(Tensor *t) {
  RSC_ASSERT(t->packed == scratch);
  size_t n = t->packed_floats;
  float *dst = t->data;
  if (!dst || tensor_elems(t) != n) {
    free(t->data);
    dst = xmalloc(n * sizeof(float));
  }
  memcpy(dst, scratch, n * sizeof(float));
  t->packed = dst;
  t->data = NULL;
}

static void scratch_free(void) {
  free(scratch);
  scratch = NULL;
  scratch_cap = 0;
}

/* The packers go through the source in tiles of TILE input channels: each
 * tile's destination rows (TILE x KH x KW rows of kb floats) stay in L1 while
 * every output channel of the block writes its lane of them, and the source
 * is read in order. */
enum { TILE = 16 };

static void pack_conv(Tensor *t, int kb) {
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KB = (size_t)kb;
  size_t KHW = (size_t)t->dims[2] * (size_t)t->dims[3];
  size_t blocks = (O + KB - 1) / KB;
  packed_buffer(t, blocks * KHW * I * KB);
  for (size_t o0 = 0; o0 < O; o0 += KB) /* one block: its rows start at o0*KHW*I */
    for (size_t i0 = 0; i0 < I; i0 += TILE) {
      size_t i1 = i0 + TILE < I ? i0 + TILE : I;
      for (size_t lane = 0; lane < KB && o0 + lane < O; lane++) {
        const float *src = t->data + ((o0 + lane) * I + i0) * KHW; /* (o, i0.., h, w) */
        float *dst = t->packed + o0 * KHW * I + i0 * KB + lane;
        for (size_t i = i0; i < i1; i++, dst += KB)
          for (size_t hw = 0; hw < KHW; hw++)
            dst[hw * I * KB] = *src++;
      }
    }
  t->layout = LAYOUT_CONV_BLOCK;
  t->kb = kb;
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

static void pack_wino(Tensor *t, int kb) {
  int O = t->dims[0], I = t->dims[1];
  RSC_ASSERT(t->dims[2] == 3 && t->dims[3] == 3);
  size_t blocks = ((size_t)O + (size_t)kb - 1) / (size_t)kb;
  packed_buffer(t, blocks * 16 * (size_t)I * (size_t)kb);
  for (int o = 0; o < O; o++)
    for (int i = 0; i < I; i++) {
      float u[16];
      wino_filter_transform(t->data + ((size_t)o * I + i) * 9, u);
      for (int xi = 0; xi < 16; xi++)
        t->packed[(((size_t)(o / kb) * 16 + xi) * I + i) * kb + o % kb] = u[xi];
    }
  t->layout = LAYOUT_WINO_BLOCK;
  t->kb = kb;
}

static void pack_vector(Tensor *t, int kb) {
  size_t n = (size_t)t->dims[0];
  packed_buffer(t, (n + (size_t)kb - 1) / (size_t)kb * (size_t)kb);
  memcpy(t->packed, t->data, n * sizeof(float));
  t->layout = LAYOUT_VECTOR;
  t->kb = kb;
}

static void pack_dense(Tensor *t) {
  /* [out][in] or [out][in][1][1]: the trailing 1x1 of an SE fc changes nothing. */
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1];
  packed_buffer(t, O * I);
  for (size_t o0 = 0; o0 < O; o0 += TILE) /* a transpose, TILE x TILE at a time */
    for (size_t i0 = 0; i0 < I; i0 += TILE) {
      size_t o1 = o0 + TILE < O ? o0 + TILE : O, i1 = i0 + TILE < I ? i0 + TILE : I;
      for (size_t o = o0; o < o1; o++)
        for (size_t i = i0; i < i1; i++)
          t->packed[i * O + o] = t->data[o * I + i];
    }
  t->layout = LAYOUT_DENSE_IO;
  t->kb = 1;
}

/* Gives tensor id (just packed) its own memory and the next offset. */
static void place(Graph *g, int id, size_t *cursor) {
  Tensor *t = &g->tensors[id];
  RSC_ASSERT(!t->used); /* every tensor belongs to exactly one node */
  keep_packed(t);
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
    /* Each tensor is placed right after it is packed: scratch holds one. */
    case OP_CONV:
      RSC_ASSERT(n->w >= 0 && n->b >= 0 && n->kb > 0);
      if (n->wino)
        pack_wino(&g->tensors[n->w], n->kb);
      else
        pack_conv(&g->tensors[n->w], n->kb);
      place(g, n->w, &cursor);
      pack_vector(&g->tensors[n->b], n->kb);
      place(g, n->b, &cursor);
      break;
    case OP_DENSE:
      pack_dense(&g->tensors[n->w]);
      place(g, n->w, &cursor);
      pack_vector(&g->tensors[n->b], 1);
      place(g, n->b, &cursor);
      break;
    case OP_SE_ADD:
      for (int k = 0; k < 4; k++) { /* fc1 w, fc1 b, fc2 w, fc2 b */
        if (k % 2 == 0)
          pack_dense(&g->tensors[n->p[k]]);
        else
          pack_vector(&g->tensors[n->p[k]], 1);
        place(g, n->p[k], &cursor);
      }
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
  scratch_free();
  /* The raw values of everything else (BN statistics folded away, tensors of
   * pruned nodes) are not needed any more either. */
  for (int i = 0; i < g->ntensors; i++) {
    free(g->tensors[i].data);
    g->tensors[i].data = NULL;
  }
  g->weight_floats = cursor;
  return true;
}
