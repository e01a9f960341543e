/* fuzz_safetensors.c - libFuzzer target: the safetensors reader
 * (weights_load_safetensors_mem, the file reader after the file is in memory),
 * loading the input as the weights of fuzz/safetensors.spec: a fixed small
 * network, so names and shapes can match and the reader gets past the header
 * checks, and a valid file is small. On success fold and entry run over the
 * loaded floats. In memory on one thread: no file per input.
 *
 * The graph is built once: each input loads into a copy of it (clone), since
 * building it again (names looked up linearly, each strcmp traced by
 * libFuzzer) took half of an execution. */
#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_SPEC
#define FUZZ_SPEC "fuzz/safetensors.spec"
#endif

static FILE *null_out;
static SrcFile spec_file; /* spec.loc points into it */
static Spec spec;
static Graph built; /* after shape inference, no weights */

static void setup(void) {
  null_out = fopen("/dev/null", "w");
  setenv("RSC_THREADS", "1", 0);
  spec_file.name = FUZZ_SPEC;
  spec_file.text = read_file(FUZZ_SPEC, &spec_file.len);
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&spec);
  if (!spec_file.text || !(spec_parse(&spec, &spec_file, &d) && spec_finish(&spec, &d))) {
    fprintf(stderr, "fuzz_safetensors: cannot read %s (run from the rsc tree)\n", FUZZ_SPEC);
    exit(1);
  }
  graph_init(&built, &spec);
  built.target = TARGET_GENERIC;
  if (!(build_graph(&built, &d) && infer_shapes(&built, &d)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!null_out)
    setup();
  Diag d;
  diag_init(&d, null_out);
  Graph g;
  fuzz_clone(&g, &built);
  if (weights_load_safetensors_mem(&g, "fuzz.safetensors", data, size, &d))
    (void)(fold_bn(&g, &d) && lower_entry(&g, &d)); /* touch the loaded floats */
  graph_free(&g);
  return 0;
}
