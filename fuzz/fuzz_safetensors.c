/* fuzz_safetensors.c - libFuzzer target: the safetensors reader, loading the
 * input as the weights of examples/digits/digits.spec (a fixed small network, so
 * names and shapes can match and the reader gets past the header checks). */
#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_SPEC
#define FUZZ_SPEC "examples/digits/digits.spec"
#endif

static FILE *null_out;
static char *spec_text;
static size_t spec_len;
static char path[64];

static void setup(void) {
  null_out = fopen("/dev/null", "w");
  spec_text = read_file(FUZZ_SPEC, &spec_len);
  if (!spec_text) {
    fprintf(stderr, "fuzz_safetensors: cannot read %s (run from the rsc tree)\n", FUZZ_SPEC);
    exit(1);
  }
  snprintf(path, sizeof path, "/tmp/rsc-fuzz-st-%ld.safetensors", (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!null_out)
    setup();
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
    abort();
  Diag d;
  diag_init(&d, null_out);
  Spec spec;
  spec_defaults(&spec);
  SrcFile sf = {.name = FUZZ_SPEC, .text = spec_text, .len = spec_len};
  if (!(spec_parse(&spec, &sf, &d) && spec_finish(&spec, &d)))
    abort();
  Graph g;
  graph_init(&g, &spec);
  g.target = TARGET_GENERIC;
  if (!(build_graph(&g, &d) && infer_shapes(&g, &d)))
    abort();
  if (weights_load_safetensors(&g, path, &d))
    (void)(fold_bn(&g, &d) && lower_entry(&g, &d)); /* touch the loaded floats */
  graph_free(&g);
  unlink(path);
  return 0;
}
