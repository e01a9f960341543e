/* fuzz_loader.c - libFuzzer target: the weights-file loader of generated code
 * (runtime/rsc_loader.h), through the model of fuzz/loader.spec that the
 * Makefile generates with rsc as fz.c/fz.h/fz.weights (prefix fz) into
 * $(B)/fuzz/loader/. Each input is opened twice:
 *   1. as is: fz_open must return OK or one of its error codes, never crash;
 *      on OK the model runs.
 *   2. as the payload of a well-formed file: the header of the generated
 *      fz.weights (magic, version, fingerprint, size) with the checksum of the
 *      input's bytes after offset 64, cut or zero-padded to FZ_WEIGHT_BYTES.
 *      fz_open must accept it (abort otherwise), and fz_run must succeed on
 *      any floats, NaN and Inf included; when the input's last byte is 0xff
 *      (1 input in 256: starting a thread team and its barriers cost more than
 *      the rest of an execution) it also runs on 2 threads and the outputs
 *      must be bit-identical.
 * With RSC_FUZZ_EXPECT_OPEN=1 in the environment, step 1 must succeed too
 * (tests/fuzz_replay.sh feeds the freshly generated fz.weights that way, so
 * the target provably gets past every check of the loader).
 *
 * No file is written: fz_open is given FUZZ_LOADER_NAME, and the link
 * (Makefile, FUZZ_LDFLAGS_loader) routes its fopen of that name to the wrapper
 * below, which opens the bytes of the current step in memory (fmemopen). The
 * loader reads through the same FILE calls as from a file. */
#include "fz.h"
#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_LOADER_WEIGHTS
#define FUZZ_LOADER_WEIGHTS "build/fuzz/loader/fz.weights"
#endif

enum { HEADER = 64 };

static unsigned char ref_header[HEADER]; /* of the generated, valid fz.weights */
/* A path that cannot exist: only the wrapper can open it. */
#define FUZZ_LOADER_NAME "/dev/null/fuzz.weights"

static const unsigned char *image; /* the current step's file */
static size_t image_len;
static bool expect_open;
static unsigned char *file2;            /* step 2's file: header + FZ_WEIGHT_BYTES */
static uint8_t input[FZ_BATCH * FZ_IN_SIZE];
static float out1[FZ_BATCH * FZ_OUT_SIZE], out2[FZ_BATCH * FZ_OUT_SIZE];

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

FILE *__wrap_fopen(const char *path, const char *mode) {
  static char empty[1];
  if (strcmp(path, FUZZ_LOADER_NAME) != 0)
    return __real_fopen(path, mode);
  return fmemopen(image_len ? (void *)(uintptr_t)image : empty, image_len, "r");
}

static void setup(void) {
  FILE *f = fopen(FUZZ_LOADER_WEIGHTS, "rb");
  if (!f || fread(ref_header, 1, HEADER, f) != HEADER) {
    fprintf(stderr, "fuzz_loader: cannot read %s (run from the rsc tree after make)\n",
            FUZZ_LOADER_WEIGHTS);
    exit(1);
  }
  fclose(f);
  const char *e = getenv("RSC_FUZZ_EXPECT_OPEN");
  expect_open = e && strcmp(e, "1") == 0;
  file2 = malloc(HEADER + (size_t)FZ_WEIGHT_BYTES);
  if (!file2)
    abort();
  for (size_t i = 0; i < sizeof input; i++) /* a fixed image: a gradient */
    input[i] = (uint8_t)(i * 7 % 251);
}

/* fz_open of the n bytes at p. */
static int open_and_run(const unsigned char *p, size_t n, bool must_open, bool threads) {
  image = p;
  image_len = n;
  fz_model *m = (fz_model *)(uintptr_t)1; /* open must set it to NULL on failure */
  int rc = fz_open(&m, FUZZ_LOADER_NAME);
  if (rc != FZ_OK) {
    if (m != NULL || !fz_strerror(rc) || strcmp(fz_strerror(rc), "unknown error code") == 0) {
      fprintf(stderr, "fuzz_loader: fz_open failed (%d) but left *model set or no message\n",
              rc);
      abort();
    }
    if (must_open) {
      fprintf(stderr, "fuzz_loader: fz_open refused a well-formed file: %s\n",
              fz_strerror(rc));
      abort();
    }
    return rc;
  }
  if (fz_run(m, input, out1) != FZ_OK) {
    fprintf(stderr, "fuzz_loader: fz_run failed on an opened model\n");
    abort();
  }
  if (threads) {
    if (fz_set_threads(m, 2) != FZ_OK || fz_run(m, input, out2) != FZ_OK) {
      fprintf(stderr, "fuzz_loader: 2 threads failed\n");
      abort();
    }
    if (memcmp(out1, out2, sizeof out1) != 0) {
      fprintf(stderr, "fuzz_loader: 2 threads gave other bits than 1\n");
      abort();
    }
  }
  fz_close(m);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!file2)
    setup();
  open_and_run(data, size, expect_open, false);

  /* Step 2: the same bytes as the payload of a well-formed file. */
  size_t have = size > HEADER ? size - HEADER : 0;
  if (have > (size_t)FZ_WEIGHT_BYTES)
    have = (size_t)FZ_WEIGHT_BYTES;
  memcpy(file2, ref_header, HEADER);
  memset(file2 + HEADER, 0, (size_t)FZ_WEIGHT_BYTES);
  if (have)
    memcpy(file2 + HEADER, data + HEADER, have);
  uint64_t sum = wfile_checksum(file2 + HEADER, (size_t)FZ_WEIGHT_BYTES);
  for (int i = 0; i < 8; i++)
    file2[32 + i] = (unsigned char)(sum >> (8 * i));
  open_and_run(file2, HEADER + (size_t)FZ_WEIGHT_BYTES, true,
               size > 0 && data[size - 1] == 0xff);
  return 0;
}
