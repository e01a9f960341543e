/*
 * wfile.c - the .weights file beside the generated C: a 64-byte header (see
 * rsc.h) and the packed weights of every used tensor at its offset. Also the
 * model fingerprint that ties a .weights file to the code generated with it.
 *
 * Everything is written byte by byte as little-endian, so the file is the same
 * whichever host compiled the model. The payload checksum is
 * runtime/rsc_checksum.h, the one the generated loader recomputes.
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

/* The checksum is runtime/rsc_checksum.h's (via rsc.h), the same code the
 * generated loader runs; these name it for the compiler. */
void wfile_sum_init(WfileSum *s) { rsc_sum_init(s); }

void wfile_sum_add(WfileSum *s, const void *data, size_t n) { rsc_sum_add(s, data, n); }

uint64_t wfile_sum_final(const WfileSum *s) { return rsc_sum_final(s); }

uint64_t wfile_checksum(const void *data, size_t n) { return rsc_checksum(data, n); }

/* Hashes text, not structs: no padding bytes, no dependence on the size of
 * size_t or on byte order. One line per used tensor:
 *   "<name> <layout> kb=<kb> [d0,d1,..] @<offset> <packed_floats>\n" */
uint64_t graph_fingerprint(const Graph *g) {
  StrBuf sb = {0};
  spec_canonical(&g->spec, &sb);
  for (int i = 0; i < g->ntensors; i++) {
    const Tensor *t = &g->tensors[i];
    if (!t->used)
      continue;
    sb_printf(&sb, "%s %s kb=%d [", t->name, layout_name(t->layout), t->kb);
    for (int k = 0; k < t->ndim; k++)
      sb_printf(&sb, "%s%d", k ? "," : "", t->dims[k]);
    sb_printf(&sb, "] @%zu %zu\n", t->offset, t->packed_floats);
  }
  uint64_t h = fnv1a64(FNV64_INIT, sb.buf ? sb.buf : "", sb.len);
  sb_free(&sb);
  return h;
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static bool host_is_little_endian(void) {
  const uint32_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static const Graph *sort_g; /* for by_offset; qsort has no context */

static int by_offset(const void *a, const void *b) {
  const Tensor *ta = &sort_g->tensors[*(const int *)a], *tb = &sort_g->tensors[*(const int *)b];
  if (ta->offset != tb->offset)
    return ta->offset < tb->offset ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

static int by_size_desc(const void *a, const void *b) {
  const Tensor *ta = &sort_g->tensors[*(const int *)a], *tb = &sort_g->tensors[*(const int *)b];
  if (ta->packed_floats != tb->packed_floats)
    return ta->packed_floats > tb->packed_floats ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

/* Ids of the used tensors in payload order; *n of them. */
static int *payload_order(const Graph *g, int *n) {
  int *ids = xmalloc((size_t)(g->ntensors ? g->ntensors : 1) * sizeof *ids);
  *n = 0;
  for (int i = 0; i < g->ntensors; i++)
    if (g->tensors[i].used)
      ids[(*n)++] = i;
  sort_g = g;
  qsort(ids, (size_t)*n, sizeof *ids, by_offset);
  return ids;
}

static void header(unsigned char h[RSC_WFILE_HEADER], Precision precision, uint64_t fingerprint,
                   uint64_t payload, uint64_t checksum) {
  memset(h, 0, RSC_WFILE_HEADER);
  memcpy(h, RSC_WFILE_MAGIC, sizeof RSC_WFILE_MAGIC); /* 7 chars and the NUL */
  put_le(h + 8, RSC_WFILE_VERSION, 4);
  put_le(h + 12, RSC_WFILE_HEADER, 4);
  put_le(h + 16, fingerprint, 8);
  put_le(h + 24, payload, 8);
  put_le(h + 32, checksum, 8);
  put_le(h + 40, (uint64_t)precision, 4); /* fp32 0: the bytes of files before the field */
}

/*
 * The payload is drawn and written in batches: consecutive tensors (in offset
 * order) adding up to about BATCH floats, or one bigger tensor, drawn into a
 * batch buffer by pack_tensor, one tensor per parallel_for job, while job 0
 * checksums and writes the previous batch from the other buffer. The two
 * buffers are reused throughout, and at 32 MB a batch is still in the last
 * level cache when it is written. A batch covers payload floats [start, end)
 * with no holes: the alignment gaps between its tensors are zeroed, and the
 * last batch runs to the payload's end.
 */
enum { BATCH = 8 << 20 }; /* floats */

typedef struct Batch {
  float *buf;
  size_t cap;        /* floats */
  size_t start, end; /* payload floats it covers */
  int first, n;      /* its tensors: ids[first .. first + n - 1] */
} Batch;

typedef struct Writer {
  const Graph *g;
  const int *ids; /* used tensors in payload order */
  int nids;
  const WfileSink *sink;
  WfileSum sum;
  bool ok;
  Batch batch[2];
  Batch *fill;  /* being drawn */
  Batch *drain; /* drawn, to be written by job 0; NULL if none */
  int *jobs;    /* the fill batch's tensor ids, biggest first */
  float **raw;  /* per thread: deferred tensors' values (tensor_values) */
  size_t *raw_cap;
} Writer;

/* Lays out the batch of tensors from ids[first] on: which tensors, the
 * payload range, zeroed gaps. Returns the index after its last tensor. */
static int batch_plan(Writer *w, Batch *b, int first) {
  const Graph *g = w->g;
  b->first = first;
  b->start = first == 0 ? 0 : g->tensors[w->ids[first - 1]].offset +
                                  g->tensors[w->ids[first - 1]].packed_floats;
  b->end = b->start;
  int i = first;
  do { /* at least one tensor */
    const Tensor *t = &g->tensors[w->ids[i]];
    size_t end;
    RSC_ASSERT(t->offset % 16 == 0 && t->offset >= b->end); /* no overlaps */
    RSC_ASSERT(size_add(t->offset, t->packed_floats, &end) && end <= g->weight_floats);
    b->end = end;
    i++;
  } while (i < w->nids && g->tensors[w->ids[i]].offset + g->tensors[w->ids[i]].packed_floats -
                                  b->start <= BATCH);
  if (i == w->nids)
    b->end = g->weight_floats; /* the tail after the last tensor */
  b->n = i - first;
  /* Biggest first, so that no thread starts a big tensor when the others are
   * almost done: a batch can hold one of 16 MB and many small ones. */
  memcpy(w->jobs, w->ids + first, (size_t)b->n * sizeof *w->jobs);
  sort_g = g;
  qsort(w->jobs, (size_t)b->n, sizeof *w->jobs, by_size_desc);
  if (b->end - b->start > b->cap) {
    free(b->buf);
    b->cap = b->end - b->start;
    b->buf = xmalloc(b->cap * sizeof(float));
  }
  size_t at = b->start; /* zero every float no tensor covers */
  for (int k = first; k < i; k++) {
    const Tensor *t = &g->tensors[w->ids[k]];
    memset(b->buf + (at - b->start), 0, (t->offset - at) * sizeof(float));
    at = t->offset + t->packed_floats;
  }
  memset(b->buf + (at - b->start), 0, (b->end - at) * sizeof(float));
  return i;
}

/* Checksums and writes a drawn batch, as little-endian bytes. */
static void batch_write(Writer *w, Batch *b) {
  size_t n = b->end - b->start;
  unsigned char *bytes = (unsigned char *)b->buf;
  if (!host_is_little_endian())
    for (size_t i = 0; i < n; i++) {
      uint32_t u;
      memcpy(&u, &b->buf[i], 4);
      put_le(bytes + 4 * i, u, 4);
    }
  wfile_sum_add(&w->sum, bytes, 4 * n);
  w->ok = w->ok && w->sink->write(w->sink->ctx, bytes, 4 * n);
}

/* Job 0: write the previous batch; job k > 0: draw tensor k - 1 of this one. */
static void batch_job(void *ctx, int job, int worker) {
  Writer *w = ctx;
  if (job == 0) {
    if (w->drain)
      batch_write(w, w->drain);
    return;
  }
  Batch *b = w->fill;
  const Tensor *t = &w->g->tensors[w->jobs[job - 1]];
  const float *raw =
      t->packed ? NULL : tensor_values(w->g, t, &w->raw[worker], &w->raw_cap[worker]);
  pack_tensor(t, raw, b->buf + (t->offset - b->start));
}

bool wfile_write(const Graph *g, uint64_t fingerprint, const WfileSink *sink) {
  size_t payload;
  RSC_ASSERT(size_mul(g->weight_floats, 4, &payload));
  unsigned char h[RSC_WFILE_HEADER];
  header(h, g->spec.precision, fingerprint, payload, 0); /* the checksum is patched in below */
  Writer w = {.g = g, .sink = sink, .ok = true};
  wfile_sum_init(&w.sum);
  w.ok = sink->write(sink->ctx, h, sizeof h);
  int *ids = payload_order(g, &w.nids);
  w.ids = ids;
  w.jobs = xmalloc((size_t)(w.nids ? w.nids : 1) * sizeof *w.jobs);
  int threads = rsc_threads();
  w.raw = xcalloc((size_t)threads, sizeof *w.raw);
  w.raw_cap = xcalloc((size_t)threads, sizeof *w.raw_cap);
  for (int next = 0, k = 0; next < w.nids && w.ok; k ^= 1) {
    w.fill = &w.batch[k];
    next = batch_plan(&w, w.fill, next);
    parallel_for(1 + w.fill->n, threads, batch_job, &w);
    w.drain = w.fill;
  }
  if (w.drain && w.ok)
    batch_write(&w, w.drain);
  else if (w.nids == 0 && w.ok && g->weight_floats > 0) { /* a payload of padding only */
    Batch *b = &w.batch[0];
    b->start = 0;
    b->end = b->cap = g->weight_floats;
    b->buf = xcalloc(b->cap, sizeof(float));
    batch_write(&w, b);
  }
  free(ids);
  free(w.jobs);
  free(w.batch[0].buf);
  free(w.batch[1].buf);
  for (int i = 0; i < threads; i++)
    free(w.raw[i]);
  free(w.raw);
  free(w.raw_cap);
  RSC_ASSERT(!w.ok || w.sum.n == payload);
  unsigned char sum[8];
  put_le(sum, wfile_sum_final(&w.sum), 8);
  return w.ok && sink->patch(sink->ctx, 32, sum, sizeof sum);
}

/* wfile_build's sink: the file starts at start in sb, patch offsets are
 * relative to that. */
typedef struct SbAt {
  StrBuf *sb;
  size_t start;
} SbAt;

static bool sb_at_write(void *ctx, const void *data, size_t n) {
  sb_putn(((SbAt *)ctx)->sb, data, n);
  return true;
}

static bool sb_at_patch(void *ctx, size_t offset, const void *data, size_t n) {
  SbAt *a = ctx;
  memcpy(a->sb->buf + a->start + offset, data, n);
  return true;
}

void wfile_build(const Graph *g, uint64_t fingerprint, StrBuf *out) {
  SbAt at = {out, out->len};
  WfileSink sink = {sb_at_write, sb_at_patch, &at};
  RSC_ASSERT(wfile_write(g, fingerprint, &sink));
}
