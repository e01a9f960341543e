m4_dnl loader.c.m4 - opening and checking a .weights file (format: compiler/rsc.h,
m4_dnl wfile.c). Checks, in order: magic, version, header size, precision, fingerprint,
m4_dnl payload size, file length, checksum; each failure has its own code.
m4_dnl With RSC_EMBED 1 (rsc --embed-weights) the assembler also puts the file
m4_dnl RSC_WEIGHTS_FILE into the object, and open(&m, NULL) checks and uses it in place.
m4_dnl The checksum and rsc_le64 are runtime/rsc_checksum.h, pasted with the runtime.

/* The instruction set this file was compiled for (the compiler's flags decide
 * which kernel variant of runtime/rsc_vec.h is in the binary), and whether the CPU
 * running it has it: open fails cleanly instead of dying on an illegal
 * instruction in the first run. */
m4_ifelse(RSC_PRECISION, 1, <|#if defined(__x86_64__) && defined(__GNUC__)
/* --precision bf16: the convs are AVX512-BF16 code whatever the flags (RSC_BF16_FN) */
#define RSC_UPREFIX<||>_ISA "avx512-bf16"
#elif defined(__AVX512F__)|>, <|#if defined(__AVX512F__)|>)
#define RSC_UPREFIX<||>_ISA "avx512f"
#elif defined(__AVX2__) && defined(__FMA__)
#define RSC_UPREFIX<||>_ISA "avx2+fma"
#else
#define RSC_UPREFIX<||>_ISA "generic"
#endif

static int RSC_PREFIX<||>_cpu_ok(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
m4_ifelse(RSC_PRECISION, 1, <|#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#elif defined(__AVX512F__)|>, <|#if defined(__AVX512F__)|>)
  return __builtin_cpu_supports("avx512f") != 0;
#elif defined(__AVX2__) && defined(__FMA__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#endif
  return 1;
}

m4_ifelse(RSC_EMBED, 1, <|/* ---- the weights inside the object file (rsc --embed-weights) ----
 * The assembler's .incbin reads RSC_UPREFIX<||>_WEIGHTS_FILE when this file is compiled:
 * by default the .weights path exactly as rsc was told to write it, so relative
 * to the directory rsc ran in. Compile from that directory (the usual Makefile
 * case), give rsc an absolute -o, or define it: -D'RSC_UPREFIX<||>_WEIGHTS_FILE="dir/x.weights"'.
 * The bytes are checked at open exactly like a file's (fingerprint, size, checksum). */
#ifndef RSC_UPREFIX<||>_WEIGHTS_FILE
#define RSC_UPREFIX<||>_WEIGHTS_FILE RSC_WEIGHTS_FILE
#endif
#if defined(__ELF__)
#define RSC_UPREFIX<||>_ASM_SECTION ".pushsection .rodata.RSC_PREFIX<||>_weights,\"a\"\n"
#define RSC_UPREFIX<||>_ASM_LOCAL(sym) ".globl " sym "\n.hidden " sym "\n"
#elif defined(__APPLE__)
#define RSC_UPREFIX<||>_ASM_SECTION ".pushsection __DATA,__const\n"
#define RSC_UPREFIX<||>_ASM_LOCAL(sym) ".globl " sym "\n.private_extern " sym "\n"
#else
#error "--embed-weights needs an ELF or Mach-O assembler; generate the model without it"
#endif
__asm__(RSC_UPREFIX<||>_ASM_SECTION
        RSC_UPREFIX<||>_ASM_LOCAL("RSC_PREFIX<||>_wblob_")
        RSC_UPREFIX<||>_ASM_LOCAL("RSC_PREFIX<||>_wsize_")
        ".balign 64\n"
        "RSC_PREFIX<||>_wblob_:\n"
        ".incbin \"" RSC_UPREFIX<||>_WEIGHTS_FILE "\"\n"
        "RSC_PREFIX<||>_wend_:\n"
        ".balign 8\n"
        "RSC_PREFIX<||>_wsize_:\n"
        ".quad RSC_PREFIX<||>_wend_ - RSC_PREFIX<||>_wblob_\n"
        ".popsection\n");
/* The whole .weights file (64-byte aligned, so the payload after the header is
 * too) and its length, named by the assembler labels above. */
extern const unsigned char RSC_PREFIX<||>_wblob_[] __asm__("RSC_PREFIX<||>_wblob_");
extern const uint64_t RSC_PREFIX<||>_wsize_ __asm__("RSC_PREFIX<||>_wsize_");

|>)m4_dnl
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
  case RSC_UPREFIX<||>_ERR_THREADS: return "cannot run on that many threads (built without threads, or creating one failed)";
  case RSC_UPREFIX<||>_ERR_PRECISION: return "weights file is of another precision than this model (RSC_PRECISION_NAME)";
  case RSC_UPREFIX<||>_ERR_CPU: return "this CPU lacks the instruction set the model was compiled for (" RSC_UPREFIX<||>_ISA ")";
  default: return "unknown error code";
  }
}

void RSC_PREFIX<||>_close(RSC_PREFIX<||>_model *m)
{
  if (!m)
    return;
#ifdef RSC_UPREFIX<||>_PROFILE
  RSC_PREFIX<||>_prof_print();
#endif
  RSC_PREFIX<||>_stop_team(m);
m4_ifelse(RSC_EMBED, 1, <|  if ((const void *)m->weights != (const void *)(RSC_PREFIX<||>_wblob_ + 64))
    free(m->weights);|>, <|  free(m->weights);|>)
  free(m->arena);
  free(m);
}

/* The 64-byte header against this model; OK or the first mismatch. */
static int RSC_PREFIX<||>_check_header(const unsigned char *h)
{
  if (memcmp(h, "RSCWGHT", 8) != 0)
    return RSC_UPREFIX<||>_ERR_MAGIC;
  if ((rsc_le64(h + 8) & 0xffffffffu) != 1u || (rsc_le64(h + 8) >> 32) != 64u)
    return RSC_UPREFIX<||>_ERR_VERSION;
  if ((rsc_le64(h + 40) & 0xffffffffu) != RSC_PRECISION<||>u) /* 0 fp32, 1 bf16 */
    return RSC_UPREFIX<||>_ERR_PRECISION;
  if (rsc_le64(h + 16) != RSC_FINGERPRINT)
    return RSC_UPREFIX<||>_ERR_MODEL;
  if (rsc_le64(h + 24) != (uint64_t)RSC_UPREFIX<||>_WEIGHT_BYTES)
    return RSC_UPREFIX<||>_ERR_SIZE;
  return RSC_UPREFIX<||>_OK;
}

static int RSC_PREFIX<||>_read_weights(FILE *f, float *dst)
{
  unsigned char h[64];
  size_t n = fread(h, 1, sizeof h, f);
  if (n != sizeof h) {
    if (ferror(f))
      return RSC_UPREFIX<||>_ERR_READ;
    /* A short file that starts like one of ours was cut, not something else. */
    return n > 0 && memcmp(h, "RSCWGHT", n < 8 ? n : 8) == 0 ? RSC_UPREFIX<||>_ERR_TRUNCATED
                                                            : RSC_UPREFIX<||>_ERR_MAGIC;
  }
  int hrc = RSC_PREFIX<||>_check_header(h);
  if (hrc != RSC_UPREFIX<||>_OK)
    return hrc;
  size_t got = fread(dst, 1, RSC_UPREFIX<||>_WEIGHT_BYTES, f);
  if (got != (size_t)RSC_UPREFIX<||>_WEIGHT_BYTES)
    return ferror(f) ? RSC_UPREFIX<||>_ERR_READ : RSC_UPREFIX<||>_ERR_TRUNCATED;
  if (fgetc(f) != EOF)
    return RSC_UPREFIX<||>_ERR_SIZE;
  if (rsc_checksum((const unsigned char *)dst, RSC_UPREFIX<||>_WEIGHT_BYTES) != rsc_le64(h + 32))
    return RSC_UPREFIX<||>_ERR_CHECKSUM;
  return RSC_UPREFIX<||>_OK;
}

m4_ifelse(RSC_EMBED, 1, <|static int RSC_PREFIX<||>_check_embedded(void)
{
  if (RSC_PREFIX<||>_wsize_ < 64)
    return RSC_PREFIX<||>_wsize_ > 0 && memcmp(RSC_PREFIX<||>_wblob_, "RSCWGHT", RSC_PREFIX<||>_wsize_ < 8 ? (size_t)RSC_PREFIX<||>_wsize_ : 8) == 0
               ? RSC_UPREFIX<||>_ERR_TRUNCATED : RSC_UPREFIX<||>_ERR_MAGIC;
  int rc = RSC_PREFIX<||>_check_header(RSC_PREFIX<||>_wblob_);
  if (rc != RSC_UPREFIX<||>_OK)
    return rc;
  if (RSC_PREFIX<||>_wsize_ != 64 + (uint64_t)RSC_UPREFIX<||>_WEIGHT_BYTES)
    return RSC_PREFIX<||>_wsize_ < 64 + (uint64_t)RSC_UPREFIX<||>_WEIGHT_BYTES ? RSC_UPREFIX<||>_ERR_TRUNCATED : RSC_UPREFIX<||>_ERR_SIZE;
  if (rsc_checksum(RSC_PREFIX<||>_wblob_ + 64, RSC_UPREFIX<||>_WEIGHT_BYTES) != rsc_le64(RSC_PREFIX<||>_wblob_ + 32))
    return RSC_UPREFIX<||>_ERR_CHECKSUM;
  return RSC_UPREFIX<||>_OK;
}

|>)m4_dnl
int RSC_PREFIX<||>_open(RSC_PREFIX<||>_model **model, const char *weights_path)
{
  if (!model<||>m4_ifelse(RSC_EMBED, 1, , <| || !weights_path|>))
    return RSC_UPREFIX<||>_ERR_ARG;
  *model = NULL;
  if (!RSC_PREFIX<||>_cpu_ok())
    return RSC_UPREFIX<||>_ERR_CPU;
  RSC_PREFIX<||>_model *m = calloc(1, sizeof *m);
  if (!m)
    return RSC_UPREFIX<||>_ERR_NOMEM;
  m->threads = 1;
m4_ifelse(RSC_EMBED, 1, <|  if (!weights_path) { /* the embedded copy, used in place */
    int rc = RSC_PREFIX<||>_check_embedded();
    m->arena = RSC_PREFIX<||>_alloc64(RSC_UPREFIX<||>_ARENA_BYTES);
    if (rc == RSC_UPREFIX<||>_OK && !m->arena)
      rc = RSC_UPREFIX<||>_ERR_NOMEM;
    m->weights = (float *)(uintptr_t)(RSC_PREFIX<||>_wblob_ + 64);
    if (rc != RSC_UPREFIX<||>_OK) {
      RSC_PREFIX<||>_close(m);
      return rc;
    }
    *model = m;
    return RSC_UPREFIX<||>_OK;
  }
|>)m4_dnl
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
