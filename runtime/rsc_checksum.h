/*
 * rsc_checksum.h - the .weights file format, shared by rsc (compiler/wfile.c
 * writes it) and every generated loader (rsc_loader.h reads it): the header
 * below and the payload checksum, the one implementation of it. Change
 * either only with RSC_WFILE_VERSION. Needs <stdint.h>, <stddef.h> and
 * <string.h>.
 *
 * The file: a 64-byte little-endian header, then the payload.
 *   0  char[8]  magic "RSCWGHT\0" (RSC_WFILE_MAGIC)
 *   8  u32      format version (RSC_WFILE_VERSION)
 *  12  u32      header size (RSC_WFILE_HEADER, 64)
 *  16  u64      model fingerprint (same constant in the generated code)
 *  24  u64      payload size in bytes
 *  32  u64      payload checksum (rsc_checksum)
 *  40  u32      precision (0 fp32, 1 bf16; the loader refuses another)
 *  44  20 bytes zero
 *
 * The checksum:
 *
 * 64-bit, four independent lanes so a loader runs them in parallel at memory
 * speed. With P = 0x100000001b3 (the FNV-1a 64-bit prime), mod 2^64:
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
 * rsc_sum_* take the data in pieces of any sizes (rsc streams the payload as
 * it packs it); rsc_checksum takes it whole.
 */
#ifndef RSC_CHECKSUM_H
#define RSC_CHECKSUM_H

#define RSC_WFILE_MAGIC "RSCWGHT"
#define RSC_WFILE_VERSION 1u
#define RSC_WFILE_HEADER 64u

#define RSC_CK_PRIME UINT64_C(0x100000001b3)

/* Written out, not as a loop: compilers turn this form into one 8-byte load
 * (and a byte swap on big-endian hosts), the loop form they do not. */
static inline uint64_t rsc_le64(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
         (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
         (uint64_t)p[7] << 56;
}

typedef struct rsc_sum {
  uint64_t lane[4];
  uint64_t n;            /* bytes added so far */
  unsigned char tail[8]; /* the n % 8 bytes of an unfinished word */
} rsc_sum;

static inline void rsc_sum_init(rsc_sum *s) {
  for (int k = 0; k < 4; k++)
    s->lane[k] = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)k;
  s->n = 0;
}

/* Word i of the data goes to lane i % 4; s->n / 8 words came before p. The
 * main loop keeps the four chains in registers, so the multiplies overlap. */
static inline void rsc_sum_add(rsc_sum *s, const void *data, size_t n) {
  const unsigned char *p = (const unsigned char *)data;
  size_t have = (size_t)(s->n % 8);
  s->n += n;
  if (have) { /* finish the word an earlier piece began */
    size_t take = n < 8 - have ? n : 8 - have;
    memcpy(s->tail + have, p, take);
    p += take, n -= take;
    if (have + take < 8)
      return;
    uint64_t *l = &s->lane[(s->n - n - 8) / 8 % 4];
    *l = (*l ^ rsc_le64(s->tail)) * RSC_CK_PRIME;
  }
  size_t nw = n / 8, i = 0;
  unsigned k = (unsigned)((s->n - n) / 8 % 4); /* lane of p's first word */
  for (; i < nw && k % 4; i++, k++) /* up to the next lane-0 word */
    s->lane[k % 4] = (s->lane[k % 4] ^ rsc_le64(p + 8 * i)) * RSC_CK_PRIME;
  uint64_t l0 = s->lane[0], l1 = s->lane[1], l2 = s->lane[2], l3 = s->lane[3];
  for (; i + 4 <= nw; i += 4) { /* four independent chains */
    l0 = (l0 ^ rsc_le64(p + 8 * i)) * RSC_CK_PRIME;
    l1 = (l1 ^ rsc_le64(p + 8 * i + 8)) * RSC_CK_PRIME;
    l2 = (l2 ^ rsc_le64(p + 8 * i + 16)) * RSC_CK_PRIME;
    l3 = (l3 ^ rsc_le64(p + 8 * i + 24)) * RSC_CK_PRIME;
  }
  s->lane[0] = l0, s->lane[1] = l1, s->lane[2] = l2, s->lane[3] = l3;
  for (k = 0; i < nw && k < 4; i++, k++) /* the last words, fewer than four */
    s->lane[k] = (s->lane[k] ^ rsc_le64(p + 8 * i)) * RSC_CK_PRIME;
  memcpy(s->tail, p + 8 * nw, n % 8);
}

static inline uint64_t rsc_sum_final(const rsc_sum *s) {
  uint64_t lane[4] = {s->lane[0], s->lane[1], s->lane[2], s->lane[3]};
  if (s->n % 8) { /* the tail, zero-extended */
    unsigned char tail[8] = {0};
    memcpy(tail, s->tail, (size_t)(s->n % 8));
    lane[s->n / 8 % 4] = (lane[s->n / 8 % 4] ^ rsc_le64(tail)) * RSC_CK_PRIME;
  }
  uint64_t h = s->n;
  for (int k = 0; k < 4; k++)
    h = (h ^ lane[k]) * RSC_CK_PRIME;
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return h;
}

static inline uint64_t rsc_checksum(const void *data, size_t n) {
  rsc_sum s;
  rsc_sum_init(&s);
  rsc_sum_add(&s, data, n);
  return rsc_sum_final(&s);
}

#endif /* RSC_CHECKSUM_H */
