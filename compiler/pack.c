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
 * Two phases: plan_tensor decides each live tensor's layout, size and offset,
 * in execution order (cheap, sequential); then the packers run on
 * rsc_threads() threads, biggest tensors first, each drawing one tensor. A
 * tensor's packed values depend on nothing but its raw values and layout, so
 * the thread count changes no bit of the output.
 *
 * Memory: a packer draws into its thread's scratch buffer (reused for every
 * tensor that thread packs), and keep_packed copies the result over the
 * tensor's raw data, which is then no longer needed. A fresh buffer per
 * packed tensor would keep a second full copy of the weights alive and cost a
 * page fault per 4 KB of it (RS-420: 770 MB, ~190,000 faults); a memcpy of
 * cache-warm memory is cheaper. Tensors whose packed size differs (O padded
 * to kb, Winograd's 16 values per 3x3 filter) need new memory anyway: they
 * are drawn straight into it, zeroed by calloc. After this pass tensors hold
 * packed values only: data is freed.
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

/* One thread's reusable packing buffer. */
typedef struct Scratch {
  float *buf;
  size_t cap; /* floats */
} Scratch;

/* Sets t->packed to n floats to draw into: sc's buffer when n is the raw
 * size (the packer overwrites all of it; keep_packed then gives t its own
 * copy), else a new zeroed block, t's for good. */
static void packed_buffer(Tensor *t, size_t n, Scratch *sc) {
  t->packed_floats = n;
  if (n != tensor_elems(t)) {
    t->packed = xcalloc(n, sizeof(float));
    return;
  }
  if (n > sc->cap) {
    free(sc->buf);
    sc->buf = xmalloc(n * sizeof(float));
    sc->cap = n;
  }
  t->packed = sc->buf;
}

/* Moves t's packed values out of scratch, over its raw data; the raw data is
 * gone either way. */
static void keep_packed(Tensor *t, const Scratch *sc) {
  if (t->packed == sc->buf) {
    memcpy(t->data, sc->buf, t->packed_floats * sizeof(float));
    t->packed = t->data;
  } else {
    free(t->data);
  }
  t->data = NULL;
}

/* The packers go through the source in tiles of TILE input channels: each
 * tile's destination rows (TILE x KH x KW rows of kb floats) stay in L1 while
 * every output channel of the block writes its lane of them, and the source
 * is read in order. */
enum { TILE = 16 };

static void pack_conv(Tensor *t, int kb, Scratch *sc) {
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KB = (size_t)kb;
  size_t KHW = (size_t)t->dims[2] * (size_t)t->dims[3];
  size_t blocks = (O + KB - 1) / KB;
  packed_buffer(t, blocks * KHW * I * KB, sc);
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

static void pack_wino(Tensor *t, int kb, Scratch *sc) {
  int O = t->dims[0], I = t->dims[1];
  RSC_ASSERT(t->dims[2] == 3 && t->dims[3] == 3);
  size_t blocks = ((size_t)O + (size_t)kb - 1) / (size_t)kb;
  packed_buffer(t, blocks * 16 * (size_t)I * (size_t)kb, sc);
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

static void pack_vector(Tensor *t, int kb, Scratch *sc) {
  size_t n = (size_t)t->dims[0];
  packed_buffer(t, (n + (size_t)kb - 1) / (size_t)kb * (size_t)kb, sc);
  memcpy(t->packed, t->data, n * sizeof(float));
  t->layout = LAYOUT_VECTOR;
  t->kb = kb;
}

static void pack_dense(Tensor *t, Scratch *sc) {
  /* [out][in] or [out][in][1][1]: the trailing 1x1 of an SE fc changes nothing. */
  size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1];
  packed_buffer(t, O * I, sc);
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

/* What a live tensor becomes: its packer and output-channel block. */
typedef enum PackKind { PACK_CONV, PACK_WINO, PACK_VECTOR, PACK_DENSE } PackKind;

typedef struct PackJob {
  int tensor;
  PackKind kind;
  int kb;
  size_t floats; /* packed size */
} PackJob;

/* Packed size of tensor t as kind, in floats: what the packer will draw. */
static size_t packed_size(const Tensor *t, PackKind kind, int kb) {
  size_t O = (size_t)t->dims[0], KB = (size_t)kb, blocks = (O + KB - 1) / KB;
  switch (kind) {
  case PACK_CONV:
    return blocks * KB * tensor_elems(t) / O;
  case PACK_WINO:
    return blocks * KB * 16 * (size_t)t->dims[1];
  case PACK_VECTOR:
    return blocks * KB;
  case PACK_DENSE:
    return tensor_elems(t);
  }
  return 0;
}

typedef struct Packing {
  Graph *g;
  PackJob *jobs;
  int njobs;
  size_t cursor; /* next free offset, in floats */
  Scratch *scratch; /* one per thread */
} Packing;

/* Gives tensor id its layout's size and the next offset; packed later. */
static void plan_tensor(Packing *p, int id, PackKind kind, int kb) {
  Tensor *t = &p->g->tensors[id];
  RSC_ASSERT(!t->used); /* every tensor belongs to exactly one node */
  t->used = true;
  t->offset = p->cursor;
  size_t n = packed_size(t, kind, kb);
  p->cursor = align16(p->cursor + n);
  p->jobs[p->njobs++] = (PackJob){id, kind, kb, n};
}

static void pack_one(void *ctx, int i, int worker) {
  Packing *p = ctx;
  const PackJob *j = &p->jobs[i];
  Tensor *t = &p->g->tensors[j->tensor];
  Scratch *sc = &p->scratch[worker];
  switch (j->kind) {
  case PACK_CONV:
    pack_conv(t, j->kb, sc);
    break;
  case PACK_WINO:
    pack_wino(t, j->kb, sc);
    break;
  case PACK_VECTOR:
    pack_vector(t, j->kb, sc);
    break;
  case PACK_DENSE:
    pack_dense(t, sc);
    break;
  }
  RSC_ASSERT(t->packed_floats == j->floats);
  keep_packed(t, sc);
}

static int by_floats_desc(const void *a, const void *b) {
  const PackJob *x = a, *y = b;
  if (x->floats != y->floats)
    return x->floats > y->floats ? -1 : 1;
  return x->tensor - y->tensor;
}

bool pack_weights(Graph *g, Diag *d) {
  (void)d;
  Packing p = {.g = g, .jobs = xmalloc((size_t)(g->ntensors ? g->ntensors : 1) * sizeof(PackJob))};
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    switch (n->op) {
    case OP_CONV:
      RSC_ASSERT(n->w >= 0 && n->b >= 0 && n->kb > 0);
      plan_tensor(&p, n->w, n->wino ? PACK_WINO : PACK_CONV, n->kb);
      plan_tensor(&p, n->b, PACK_VECTOR, n->kb);
      break;
    case OP_DENSE:
      plan_tensor(&p, n->w, PACK_DENSE, 1);
      plan_tensor(&p, n->b, PACK_VECTOR, 1);
      break;
    case OP_SE_ADD:
      for (int k = 0; k < 4; k++) /* fc1 w, fc1 b, fc2 w, fc2 b */
        plan_tensor(&p, n->p[k], k % 2 == 0 ? PACK_DENSE : PACK_VECTOR, 1);
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
  /* Biggest first: the last jobs handed out are small, so the threads finish
   * together. */
  qsort(p.jobs, (size_t)p.njobs, sizeof *p.jobs, by_floats_desc);
  int threads = rsc_threads();
  p.scratch = xcalloc((size_t)threads, sizeof *p.scratch);
  parallel_for(p.njobs, threads, pack_one, &p);
  for (int i = 0; i < threads; i++)
    free(p.scratch[i].buf);
  free(p.scratch);
  free(p.jobs);
  /* The raw values of everything else (BN statistics folded away, tensors of
   * pruned nodes) are not needed any more either. */
  for (int i = 0; i < g->ntensors; i++) {
    free(g->tensors[i].data);
    g->tensors[i].data = NULL;
  }
  g->weight_floats = p.cursor;
  return true;
}
