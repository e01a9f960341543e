/*
 * rsc_loader.h - reading and checking a .weights file (format: rsc_checksum.h)
 * for a model, given its fingerprint and payload size; the generated open()
 * calls it. Checks, in order: magic, version, header size, precision, fingerprint,
 * payload size, file length, checksum; each failure has its own code
 * (rsc_limits.h), which the generated API returns as it is. An embedded
 * copy of the file (rsc --embed-weights) gets the same checks
 * (rsc_check_blob). Also here: the instruction set the file was compiled for
 * and whether the CPU has it, the 64-byte aligned allocation and the
 * messages of the return codes.
 *
 * Needs rsc_limits.h, rsc_vec.h and rsc_checksum.h before it, and <stdint.h>,
 * <stdio.h>, <stdlib.h> and <string.h>.
 */
#ifndef RSC_LOADER_H
#define RSC_LOADER_H

/* The model's precision (rsc --precision: 0 fp32, 1 bf16, the .weights
 * header's byte 40) and its name; the generated model defines both before
 * the runtime. */
#ifndef RSC_MODEL_PRECISION
#define RSC_MODEL_PRECISION 0
#define RSC_MODEL_PRECISION_NAME "fp32"
#endif

/* The instruction set this file was compiled for (the compiler's flags decide
 * which kernel variant of rsc_vec.h is in the binary; a bf16 model's convs are
 * AVX512-BF16 code whatever the flags, RSC_BF16_FN). */
#if RSC_MODEL_PRECISION == 1 && defined(__x86_64__) && defined(__GNUC__)
#define RSC_ISA "avx512-bf16"
#elif defined(__AVX512F__)
#define RSC_ISA "avx512f"
#elif defined(__AVX2__) && defined(__FMA__)
#define RSC_ISA "avx2+fma"
#else
#define RSC_ISA "generic"
#endif

/* Whether the CPU running this has RSC_ISA: open fails cleanly instead of
 * dying on an illegal instruction in the first run. */
RSC_STATIC int rsc_cpu_ok(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
#if RSC_MODEL_PRECISION == 1 && defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#elif defined(__AVX512F__)
  return __builtin_cpu_supports("avx512f") != 0;
#elif defined(__AVX2__) && defined(__FMA__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#endif
  return 1;
}

/* bytes (and a little more), 64-byte aligned; free() releases it. */
RSC_STATIC void *rsc_alloc64(size_t bytes) {
  /* aligned_alloc wants a multiple of the alignment. */
  return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
}

RSC_STATIC const char *rsc_strerror(int code) {
  switch (code) {
  case RSC_OK: return "success";
  case RSC_ERR_ARG: return "invalid argument (NULL)";
  case RSC_ERR_NOMEM: return "out of memory";
  case RSC_ERR_OPEN: return "cannot open the weights file";
  case RSC_ERR_READ: return "error reading the weights file";
  case RSC_ERR_MAGIC: return "not an rsc weights file (bad magic)";
  case RSC_ERR_VERSION: return "unsupported weights format version";
  case RSC_ERR_MODEL: return "weights file belongs to another model (fingerprint mismatch)";
  case RSC_ERR_TRUNCATED: return "weights file is truncated";
  case RSC_ERR_SIZE: return "weights file has the wrong size for this model";
  case RSC_ERR_CHECKSUM: return "weights file is corrupted (checksum mismatch)";
  case RSC_ERR_THREADS: return "cannot run on that many threads (built without threads, or creating one failed)";
  case RSC_ERR_PRECISION: return "weights file is of another precision than this model (" RSC_MODEL_PRECISION_NAME ")";
  case RSC_ERR_CPU: return "this CPU lacks the instruction set the model was compiled for (" RSC_ISA ")";
  default: return "unknown error code";
  }
}

/* The first n < RSC_WFILE_HEADER bytes of a file, too short for a header: a
 * file that starts like one of ours was cut, anything else is not ours. */
RSC_STATIC int rsc_short_header(const unsigned char *h, size_t n) {
  return n > 0 && memcmp(h, RSC_WFILE_MAGIC, n < 8 ? n : 8) == 0 ? RSC_ERR_TRUNCATED
                                                                 : RSC_ERR_MAGIC;
}

/* A header against the model of that fingerprint and payload size: RSC_OK or
 * the first mismatch. */
RSC_STATIC int rsc_check_header(const unsigned char h[RSC_WFILE_HEADER], uint64_t fingerprint,
                                uint64_t payload_bytes) {
  if (memcmp(h, RSC_WFILE_MAGIC, 8) != 0)
    return RSC_ERR_MAGIC;
  if ((rsc_le64(h + 8) & 0xffffffffu) != RSC_WFILE_VERSION ||
      (rsc_le64(h + 8) >> 32) != RSC_WFILE_HEADER)
    return RSC_ERR_VERSION;
  if ((rsc_le64(h + 40) & 0xffffffffu) != RSC_MODEL_PRECISION)
    return RSC_ERR_PRECISION;
  if (rsc_le64(h + 16) != fingerprint)
    return RSC_ERR_MODEL;
  if (rsc_le64(h + 24) != payload_bytes)
    return RSC_ERR_SIZE;
  return RSC_OK;
}

/* Reads the file f (header and payload) into dst, payload_bytes long, and
 * checks it: RSC_OK or the first failure. */
RSC_STATIC int rsc_read_weights(FILE *f, void *dst, uint64_t fingerprint, size_t payload_bytes) {
  unsigned char h[RSC_WFILE_HEADER];
  size_t n = fread(h, 1, sizeof h, f);
  if (n != sizeof h)
    return ferror(f) ? RSC_ERR_READ : rsc_short_header(h, n);
  int rc = rsc_check_header(h, fingerprint, (uint64_t)payload_bytes);
  if (rc != RSC_OK)
    return rc;
  if (fread(dst, 1, payload_bytes, f) != payload_bytes)
    return ferror(f) ? RSC_ERR_READ : RSC_ERR_TRUNCATED;
  if (fgetc(f) != EOF)
    return RSC_ERR_SIZE;
  if (rsc_checksum(dst, payload_bytes) != rsc_le64(h + 32))
    return RSC_ERR_CHECKSUM;
  return RSC_OK;
}

/* rsc_read_weights on the file at path: RSC_ERR_OPEN when it cannot be opened. */
RSC_STATIC int rsc_load_weights(const char *path, void *dst, uint64_t fingerprint,
                                size_t payload_bytes) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return RSC_ERR_OPEN;
  int rc = rsc_read_weights(f, dst, fingerprint, payload_bytes);
  fclose(f);
  return rc;
}

/* The same checks on a whole .weights file of size bytes already in memory
 * (the copy rsc --embed-weights puts in the object); its payload, used in
 * place, starts at blob + RSC_WFILE_HEADER. */
RSC_STATIC int rsc_check_blob(const unsigned char *blob, uint64_t size, uint64_t fingerprint,
                              size_t payload_bytes) {
  if (size < RSC_WFILE_HEADER)
    return rsc_short_header(blob, (size_t)size);
  int rc = rsc_check_header(blob, fingerprint, (uint64_t)payload_bytes);
  if (rc != RSC_OK)
    return rc;
  const uint64_t whole = RSC_WFILE_HEADER + (uint64_t)payload_bytes;
  if (size != whole)
    return size < whole ? RSC_ERR_TRUNCATED : RSC_ERR_SIZE;
  if (rsc_checksum(blob + RSC_WFILE_HEADER, payload_bytes) != rsc_le64(blob + 32))
    return RSC_ERR_CHECKSUM;
  return RSC_OK;
}

#endif /* RSC_LOADER_H */
