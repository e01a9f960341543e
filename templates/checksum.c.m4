m4_dnl checksum.c.m4 - the payload checksum of a .weights file; the same
m4_dnl algorithm as wfile_checksum() in compiler/wfile.c (see its comment).
static uint64_t RSC_PREFIX<||>_checksum(const unsigned char *p, size_t n)
{
  const uint64_t prime = UINT64_C(0x100000001b3);
  uint64_t lane[4];
  for (int k = 0; k < 4; k++)
    lane[k] = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)k;
  /* One loop over the words; lane (i % 4) keeps the four chains
     independent so the multiplies overlap.  (A separately unrolled main
     loop plus a remainder loop makes gcc -O2 warn spuriously about the
     remainder when n is a constant.) */
  size_t nw = n / 8;
  for (size_t i = 0; i < nw; i++)
    lane[i % 4] = (lane[i % 4] ^ RSC_PREFIX<||>_le64(p + 8 * i)) * prime;
  if (n % 8) {
    unsigned char tail[8] = {0};
    memcpy(tail, p + 8 * nw, n % 8);
    lane[nw % 4] = (lane[nw % 4] ^ RSC_PREFIX<||>_le64(tail)) * prime;
  }
  uint64_t h = (uint64_t)n;
  for (int k = 0; k < 4; k++)
    h = (h ^ lane[k]) * prime;
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return h;
}
