m4_dnl loader.c.m4 - opening and checking a .weights file (format: compiler/rsc.h,
m4_dnl wfile.c). Checks, in order: magic, version, header size, fingerprint,
m4_dnl payload size, file length, checksum; each failure has its own code.
static uint64_t RSC_PREFIX<||>_le64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

m4_include(<|checksum.c.m4|>)m4_dnl

static void *RSC_PREFIX<||>_alloc64(size_t bytes)
{
  /* aligned_alloc wants a multiple of the alignment. */
  return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
}

const char *RSC_PREFIX<||>_strerror(int code)
{
  switch (code) {
  case RSC_UPREFIX<||>_OK: return "success";
  case RSC_UPREFIX<||>_ERR_ARG: return "invalid argument (NULL)";
  case RSC_UPREFIX<||>_ERR_NOMEM: return "out of memory";
  case RSC_UPREFIX<||>_ERR_OPEN: return "cannot open the weights file";
  case RSC_UPREFIX<||>_ERR_READ: return "error reading the weights file";
  case RSC_UPREFIX<||>_ERR_MAGIC: return "not an rsc weights file (bad magic)";
  case RSC_UPREFIX<||>_ERR_VERSION: return "unsupported weights format version";
  case RSC_UPREFIX<||>_ERR_MODEL: return "weights file belongs to another model (fingerprint mismatch)";
  case RSC_UPREFIX<||>_ERR_TRUNCATED: return "weights file is truncated";
  case RSC_UPREFIX<||>_ERR_SIZE: return "weights file has the wrong size for this model";
  case RSC_UPREFIX<||>_ERR_CHECKSUM: return "weights file is corrupted (checksum mismatch)";
  default: return "unknown error code";
  }
}

void RSC_PREFIX<||>_close(RSC_PREFIX<||>_model *m)
{
  if (!m)
    return;
  free(m->weights);
  free(m->arena);
  free(m);
}

static int RSC_PREFIX<||>_read_weights(FILE *f, float *dst)
{
  unsigned char h[64];
  if (fread(h, 1, sizeof h, f) != sizeof h)
    return ferror(f) ? RSC_UPREFIX<||>_ERR_READ : RSC_UPREFIX<||>_ERR_MAGIC;
  if (memcmp(h, "RSCWGHT", 8) != 0)
    return RSC_UPREFIX<||>_ERR_MAGIC;
  if ((RSC_PREFIX<||>_le64(h + 8) & 0xffffffffu) != 1u || (RSC_PREFIX<||>_le64(h + 8) >> 32) != 64u)
    return RSC_UPREFIX<||>_ERR_VERSION;
  if (RSC_PREFIX<||>_le64(h + 16) != RSC_FINGERPRINT)
    return RSC_UPREFIX<||>_ERR_MODEL;
  if (RSC_PREFIX<||>_le64(h + 24) != (uint64_t)RSC_UPREFIX<||>_WEIGHT_BYTES)
    return RSC_UPREFIX<||>_ERR_SIZE;
  size_t got = fread(dst, 1, RSC_UPREFIX<||>_WEIGHT_BYTES, f);
  if (got != (size_t)RSC_UPREFIX<||>_WEIGHT_BYTES)
    return ferror(f) ? RSC_UPREFIX<||>_ERR_READ : RSC_UPREFIX<||>_ERR_TRUNCATED;
  if (fgetc(f) != EOF)
    return RSC_UPREFIX<||>_ERR_SIZE;
  if (RSC_PREFIX<||>_checksum((const unsigned char *)dst, RSC_UPREFIX<||>_WEIGHT_BYTES) != RSC_PREFIX<||>_le64(h + 32))
    return RSC_UPREFIX<||>_ERR_CHECKSUM;
  return RSC_UPREFIX<||>_OK;
}

int RSC_PREFIX<||>_open(RSC_PREFIX<||>_model **model, const char *weights_path)
{
  if (!model || !weights_path)
    return RSC_UPREFIX<||>_ERR_ARG;
  *model = NULL;
  RSC_PREFIX<||>_model *m = calloc(1, sizeof *m);
  if (!m)
    return RSC_UPREFIX<||>_ERR_NOMEM;
  m->weights = RSC_PREFIX<||>_alloc64(RSC_UPREFIX<||>_WEIGHT_BYTES);
  m->arena = RSC_PREFIX<||>_alloc64(RSC_UPREFIX<||>_ARENA_BYTES);
  if (!m->weights || !m->arena) {
    RSC_PREFIX<||>_close(m);
    return RSC_UPREFIX<||>_ERR_NOMEM;
  }
  FILE *f = fopen(weights_path, "rb");
  if (!f) {
    RSC_PREFIX<||>_close(m);
    return RSC_UPREFIX<||>_ERR_OPEN;
  }
  int rc = RSC_PREFIX<||>_read_weights(f, m->weights);
  fclose(f);
  if (rc != RSC_UPREFIX<||>_OK) {
    RSC_PREFIX<||>_close(m);
    return rc;
  }
  *model = m;
  return RSC_UPREFIX<||>_OK;
}
