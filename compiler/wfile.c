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

static uint64_t load_le64(const unsigned char *p) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; i--)
    w = w << 8 | p[i];
  return w;
}

uint64_t wfile_checksum(const void *data, size_t n) {
  const unsigned char *p = data;
  uint64_t lane[4];
  for (int k = 0; k < 4; k++)
    lane[k] = FNV64_INIT ^ (uint64_t)k;
  size_t nw = n / 8, i = 0;
  for (; i + 4 <= nw; i += 4) {
    lane[0] = (lane[0] ^ load_le64(p + 8 * i)) * CK_PRIME;
    lane[1] = (lane[1] ^ load_le64(p + 8 * i + 8)) * CK_PRIME;
    lane[2] = (lane[2] ^ load_le64(p + 8 * i + 16)) * CK_PRIME;
    lane[3] = (lane[3] ^ load_le64(p + 8 * i + 24)) * CK_PRIME;
  }
  for (; i < nw; i++)
    lane[i % 4] = (lane[i % 4] ^ load_le64(p + 8 * i)) * CK_PRIME;
  if (n % 8) {
    unsigned char tail[8] = {0};
    memcpy(tail, p + 8 * nw, n % 8);
    lane[nw % 4] = (lane[nw % 4] ^ load_le64(tail)) * CK_PRIME;
  }
  uint64_t h = (uint64_t)n;
  for (int k = 0; k < 4; k++)
    h = (h ^ lane[k]) * CK_PRIME;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
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

/* Appends n zero bytes to sb in one allocation (the payload can be 770 MB, so
 * no doubling) and returns where they start. An empty sb gets calloc'd
 * memory: large blocks come straight from the kernel already zero, so the
 * pages are not written twice (once by memset, once by the packing). */
static unsigned char *sb_zeros(StrBuf *sb, size_t n) {
  size_t len, need;
  RSC_ASSERT(size_add(sb->len, n, &len) && size_add(len, 1, &need));
  if (!sb->buf) {
    sb->buf = xcalloc(need, 1);
    sb->cap = need;
    sb->len = len;
    return (unsigned char *)sb->buf;
  }
  if (need > sb->cap) {
    sb->buf = xrealloc(sb->buf, need);
    sb->cap = need;
  }
  unsigned char *p = (unsigned char *)sb->buf + sb->len;
  memset(p, 0, n);
  sb->len = len;
  sb->buf[len] = '\0';
  return p;
}

static bool host_is_little_endian(void) {
  const uint32_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

void wfile_build(const Graph *g, uint64_t fingerprint, StrBuf *out) {
  size_t payload, total;
  RSC_ASSERT(size_mul(g->weight_floats, 4, &payload));
  RSC_ASSERT(size_add(payload, RSC_WFILE_HEADER, &total));
  size_t start = out->len;
  /* Header and payload in one go: gaps stay zero. */
  unsigned char *p = sb_zeros(out, total) + RSC_WFILE_HEADER;
  bool native = host_is_little_endian();
  for (int i = 0; i < g->ntensors; i++) {
    const Tensor *t = &g->tensors[i];
    if (!t->used)
      continue;
    size_t end;
    RSC_ASSERT(t->offset % 16 == 0);
    RSC_ASSERT(size_add(t->offset, t->packed_floats, &end) && end <= g->weight_floats);
    RSC_ASSERT(t->packed || t->packed_floats == 0);
    unsigned char *dst = p + 4 * t->offset;
    if (native) { /* the file's byte order already: one copy */
      if (t->packed_floats)
        memcpy(dst, t->packed, 4 * t->packed_floats);
      continue;
    }
    for (size_t k = 0; k < t->packed_floats; k++) {
      uint32_t u;
      memcpy(&u, &t->packed[k], 4);
      put_le(dst + 4 * k, u, 4);
    }
  }
  unsigned char *h = (unsigned char *)out->buf + start; /* after the last realloc */
  memcpy(h, RSC_WFILE_MAGIC, sizeof RSC_WFILE_MAGIC); /* 7 chars and the NUL */
  put_le(h + 8, RSC_WFILE_VERSION, 4);
  put_le(h + 12, RSC_WFILE_HEADER, 4);
  put_le(h + 16, fingerprint, 8);
  put_le(h + 24, (uint64_t)payload, 8);
  put_le(h + 32, wfile_checksum(h + RSC_WFILE_HEADER, payload), 8);
}
