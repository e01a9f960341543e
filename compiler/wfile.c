/*
 * wfile.c - the .weights file beside the generated C: a 64-byte header (see
 * rsc.h) and the packed weights of every used tensor at its offset. Also the
 * model fingerprint that ties a .weights file to the code generated with it.
 *
 * Everything is written byte by byte as little-endian, so the file is the same
 * whichever host compiled the model. The generated loader
 * (templates/loader.c.m4) recomputes wfile_checksum, so its algorithm below is
 * part of the file format: change both together, and bump RSC_WFILE_VERSION.
 */
#include "rsc.h"

#include <stdlib.h>
#include <string.h>

/*
 * wfile_checksum(data, n) - 64-bit, four independent lanes so a loader can
 * run them in parallel at memory speed. With P = 0x100000001b3 (the FNV-1a
 * 64-bit prime), all arithmetic mod 2^64:
 *
 *   lane[k] = 0xcbf29ce484222325 ^ k                 for k = 0..3
 *   for i = 0 .. n/8 - 1:
 *     w = the 8 bytes data[8i .. 8i+7] read as a little-endian u64
 *     lane[i % 4] = (lane[i % 4] ^ w) * P
 *   if n % 8 != 0:                                   the tail
 *     w = the last n % 8 bytes, little-endian, zero-extended to a u64
 *     i = n / 8
 *     lane[i % 4] = (lane[i % 4] ^ w) * P
 *   h = n                                            (the length, as a u64)
 *   for k = 0..3: h = (h ^ lane[k]) * P
 *   h ^= h >> 33; h *= 0xff51afd7ed558ccd;           (MurmurHash3 fmix64)
 *   h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53;
 *   h ^= h >> 33
 *   return h
 *
 * Each step is a bijection of the lane for a fixed word and of the word for a
 * fixed lane, so any change confined to one 8-byte word is always detected;
 * mixing in n separates a tail from the same tail plus zero bytes.
 */
#define CK_PRIME 0x100000001b3ull

/* Written out, not as a loop: compilers turn this form into one 8-byte load
 * (and a byte swap on big-endian hosts), the loop form they do not. */
static uint64_t load_le64(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
         (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
         (uint64_t)p[7] << 56;
}

void wfile_sum_init(WfileSum *s) {
  for (int k = 0; k < 4; k++)
    s->lane[k] = FNV64_INIT ^ (uint64_t)k;
  s->n = 0;
}

/* Word i of the data goes to lane i % 4; s->n / 8 words came before p. */
void wfile_sum_add(WfileSum *s, const void *data, size_t n) {
  const unsigned char *p = data;
  size_t have = (size_t)(s->n % 8);
  s->n += n;
  if (have) { /* finish the word an earlier piece began */
    size_t take = n < 8 - have ? n : 8 - have;
    memcpy(s->tail + have, p, take);
    p += take, n -= take;
    if (have + take < 8)
      return;
    uint64_t *l = &s->lane[(s->n - n - 8) / 8 % 4];
    *l = (*l ^ load_le64(s->tail)) * CK_PRIME;
  }
  size_t nw = n / 8, i = 0;
  unsigned k = (unsigned)((s->n - n) / 8 % 4); /* lane of p's first word */
  for (; i < nw && k % 4; i++, k++) /* up to the next lane-0 word */
    s->lane[k % 4] = (s->lane[k % 4] ^ load_le64(p + 8 * i)) * CK_PRIME;
  uint64_t l0 = s->lane[0], l1 = s->lane[1], l2 = s->lane[2], l3 = s->lane[3];
  for (; i + 4 <= nw; i += 4) { /* four independent chains */
    l0 = (l0 ^ load_le64(p + 8 * i)) * CK_PRIME;
    l1 = (l1 ^ load_le64(p + 8 * i + 8)) * CK_PRIME;
    l2 = (l2 ^ load_le64(p + 8 * i + 16)) * CK_PRIME;
    l3 = (l3 ^ load_le64(p + 8 * i + 24)) * CK_PRIME;
  }
  s->lane[0] = l0, s->lane[1] = l1, s->lane[2] = l2, s->lane[3] = l3;
  for (k = 0; i < nw; i++, k++)
    s->lane[k] = (s->lane[k] ^ load_le64(p + 8 * i)) * CK_PRIME;
  memcpy(s->tail, p + 8 * nw, n % 8);
}

uint64_t wfile_sum_final(const WfileSum *s) {
  uint64_t lane[4] = {s->lane[0], s->lane[1], s->lane[2], s->lane[3]};
  if (s->n % 8) { /* the tail, zero-extended */
    unsigned char tail[8] = {0};
    memcpy(tail, s->tail, (size_t)(s->n % 8));
    lane[s->n / 8 % 4] = (lane[s->n / 8 % 4] ^ load_le64(tail)) * CK_PRIME;
  }
  uint64_t h = s->n;
  for (int k = 0; k < 4; k++)
    h = (h ^ lane[k]) * CK_PRIME;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint64_t wfile_checksum(const void *data, size_t n) {
  WfileSum s;
  wfile_sum_init(&s);
  wfile_sum_add(&s, data, n);
  return wfile_sum_final(&s);
}

static const char *layout_name(Layout l) {
  switch (l) {
  case LAYOUT_RAW:
    return "raw";
  case LAYOUT_CONV_BLOCK:
    return "conv_block";
  case LAYOUT_DENSE_IO:
    return "dense_io";
  case LAYOUT_VECTOR:
    return "vector";
  case LAYOUT_WINO_BLOCK:
    return "wino_block";
  }
  return "?";
}

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

/* The payload goes out through a staging buffer of STAGE bytes: small enough
 * to stay in cache while it is checksummed and written, big enough that the
 * writes are few. It also turns floats into little-endian bytes on any host. */
enum { STAGE = 1 << 20 };

typedef struct Stream {
  const WfileSink *sink;
  WfileSum sum;
  unsigned char *buf;
  size_t len; /* bytes staged */
  bool native; /* host floats are already little-endian */
  bool ok;
} Stream;

static void flush(Stream *s) {
  wfile_sum_add(&s->sum, s->buf, s->len);
  s->ok = s->ok && s->sink->write(s->sink->ctx, s->buf, s->len);
  s->len = 0;
}

/* n floats of p, or zeros if p is NULL. */
static void put_floats(Stream *s, const float *p, size_t n) {
  while (n > 0 && s->ok) {
    size_t room = (STAGE - s->len) / 4, k = n < room ? n : room;
    unsigned char *dst = s->buf + s->len;
    if (!p)
      memset(dst, 0, 4 * k);
    else if (s->native)
      memcpy(dst, p, 4 * k);
    else
      for (size_t i = 0; i < k; i++) {
        uint32_t u;
        memcpy(&u, &p[i], 4);
        put_le(dst + 4 * i, u, 4);
      }
    s->len += 4 * k;
    n -= k;
    p = p ? p + k : NULL;
    if (s->len + 4 > STAGE)
      flush(s);
  }
}

static const Graph *sort_g; /* for by_offset; qsort has no context */

static int by_offset(const void *a, const void *b) {
  const Tensor *ta = &sort_g->tensors[*(const int *)a], *tb = &sort_g->tensors[*(const int *)b];
  if (ta->offset != tb->offset)
    return ta->offset < tb->offset ? -1 : 1;
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

static void header(unsigned char h[RSC_WFILE_HEADER], uint64_t fingerprint, uint64_t payload,
                   uint64_t checksum) {
  memset(h, 0, RSC_WFILE_HEADER);
  memcpy(h, RSC_WFILE_MAGIC, sizeof RSC_WFILE_MAGIC); /* 7 chars and the NUL */
  put_le(h + 8, RSC_WFILE_VERSION, 4);
  put_le(h + 12, RSC_WFILE_HEADER, 4);
  put_le(h + 16, fingerprint, 8);
  put_le(h + 24, payload, 8);
  put_le(h + 32, checksum, 8);
}

bool wfile_write(const Graph *g, uint64_t fingerprint, const WfileSink *sink) {
  size_t payload;
  RSC_ASSERT(size_mul(g->weight_floats, 4, &payload));
  unsigned char h[RSC_WFILE_HEADER];
  header(h, fingerprint, payload, 0); /* the checksum is patched in below */
  Stream s = {.sink = sink, .buf = xmalloc(STAGE), .native = host_is_little_endian(), .ok = true};
  wfile_sum_init(&s.sum);
  s.ok = sink->write(sink->ctx, h, sizeof h);
  int n;
  int *ids = payload_order(g, &n);
  size_t at = 0; /* floats of payload staged so far */
  for (int i = 0; i < n; i++) {
    const Tensor *t = &g->tensors[ids[i]];
    size_t end;
    RSC_ASSERT(t->offset % 16 == 0 && t->offset >= at); /* no overlaps */
    RSC_ASSERT(size_add(t->offset, t->packed_floats, &end) && end <= g->weight_floats);
    RSC_ASSERT(t->packed || t->packed_floats == 0);
    put_floats(&s, NULL, t->offset - at); /* alignment gap */
    put_floats(&s, t->packed, t->packed_floats);
    at = end;
  }
  put_floats(&s, NULL, g->weight_floats - at);
  if (s.len)
    flush(&s);
  free(ids);
  free(s.buf);
  RSC_ASSERT(!s.ok || s.sum.n == payload);
  unsigned char sum[8];
  put_le(sum, wfile_sum_final(&s.sum), 8);
  return s.ok && sink->patch(sink->ctx, 32, sum, sizeof sum);
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
