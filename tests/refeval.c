/*
 * refeval.c - the command line of the reference evaluator (compiler/reference.c):
 * the independent oracle that rsc's generated code is compared against.
 *
 * It builds the UNFUSED graph from a spec (parse, build, shapes), fills it with RAW
 * timm-layout weights (conv OIHW, dense [out][in], BN as four vectors), and runs it
 * node by node in g->nodes order with the most obvious loops: double accumulators,
 * double activations, one malloc'd buffer per node (freed after its last reader).
 * None of rsc's fold/fuse/plan/select/pack passes or runtime kernels is used, so a
 * mistake there cannot hide in both sides of the comparison.
 *
 * The input is read as the spec's input_type / input_layout say and preprocessed
 * literally, in double, before the first node (Keras' include_preprocessing:
 * x/255, then (x - mean)/std per RGB channel, padding zeros in that space), with
 * constants written here, not taken from the compiler.
 *
 * Usage: refeval SPEC (--seed N | --weights FILE.safetensors) IN OUT.f32
 *   IN       exactly the spec's input: float32 little-endian or bytes (input_type),
 *            NHWC [N][H][W][C] or NCHW [N][C][H][W] (input_layout)
 *   OUT.f32  float32 [N][...] of the output node (NHWC for a feature map)
 *   --dump NODE FILE  also write node NODE's output (timm name of the unfused
 *            graph, e.g. layer1.2.act3) as float32 NHWC; repeatable
 * Exit status: 0 ok, 1 error, 2 usage.
 */
#include "rsc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool write_output(const char *path, const double *v, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "refeval: cannot write '%s': %s\n", path, strerror(errno));
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    float x = (float)v[i];
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    unsigned char p[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                          (unsigned char)(u >> 24)};
    fwrite(p, 1, 4, f);
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "refeval: error writing '%s'\n", path);
    return false;
  }
  return true;
}

enum { MAX_DUMPS = 16 };

/* --dump requests, written by the evaluator's tap as the nodes are computed. */
typedef struct Dumps {
  int n;
  const char *node[MAX_DUMPS], *path[MAX_DUMPS];
  int id[MAX_DUMPS];
  bool ok;
} Dumps;

static void dump_tap(void *ctx, int node, const double *v, size_t n) {
  Dumps *d = ctx;
  for (int i = 0; i < d->n; i++)
    if (d->id[i] == node && !write_output(d->path[i], v, n))
      d->ok = false;
}

/* Reads the input file, which must hold exactly the spec's input, and runs the
 * reference evaluator (compiler/reference.c) on it. */
static double *evaluate(const Graph *g, const char *in_path, Dumps *dumps) {
  size_t len;
  char *raw = read_file(in_path, &len);
  if (!raw) {
    fprintf(stderr, "refeval: cannot read '%s': %s\n", in_path, strerror(errno));
    return NULL;
  }
  Shape s = g->nodes[g->input].out;
  if (len != reference_input_bytes(g)) {
    fprintf(stderr, "refeval: '%s' holds %zu bytes; the input [%d,%d,%d,%d] needs %zu\n", in_path,
            len, s.n, s.h, s.w, s.c, reference_input_bytes(g));
    free(raw);
    return NULL;
  }
  double *in = reference_input(g, raw);
  free(raw);
  double *res = reference_eval(g, in, dumps->n ? dump_tap : NULL, dumps);
  free(in);
  return res;
}

static int usage(void) {
  fprintf(stderr, "usage: refeval SPEC (--seed N | --weights FILE.safetensors) [--dump NODE FILE]...\n"
                  "               IN.f32 OUT.f32\n");
  return 2;
}

int main(int argc, char **argv) {
  Dumps dumps = {.ok = true};
  const char *spec_path = NULL, *weights = NULL, *in_path = NULL, *out_path = NULL;
  uint64_t seed = 1;
  bool have_seed = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      char *end;
      errno = 0;
      seed = strtoull(argv[++i], &end, 10);
      if (*end || errno || argv[i][0] == '-' || !argv[i][0])
        return usage();
      have_seed = true;
    } else if (strcmp(argv[i], "--dump") == 0 && i + 2 < argc && dumps.n < MAX_DUMPS) {
      dumps.node[dumps.n] = argv[++i];
      dumps.path[dumps.n++] = argv[++i];
    } else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) {
      weights = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return usage();
    } else if (!spec_path) {
      spec_path = argv[i];
    } else if (!in_path) {
      in_path = argv[i];
    } else if (!out_path) {
      out_path = argv[i];
    } else {
      return usage();
    }
  }
  if (!out_path || have_seed == (weights != NULL))
    return usage();

  Diag d;
  diag_init(&d, stderr);
  size_t len;
  char *text = read_file(spec_path, &len);
  if (!text) {
    fprintf(stderr, "refeval: cannot read spec '%s': %s\n", spec_path, strerror(errno));
    return 1;
  }
  SrcFile file = {.name = spec_path, .text = text, .len = len};
  Spec spec;
  spec_defaults(&spec);
  if (!spec_parse(&spec, &file, &d) || !spec_finish(&spec, &d)) {
    free(text);
    return 1;
  }
  Graph g;
  graph_init(&g, &spec);
  PassCtx pc = {.d = &d, .weights = weights, .seed = seed, .draw_now = true};
  bool ok = compile_to(&g, &pc, PASS_WEIGHTS);
  double *res = NULL;
  if (ok) {
    for (int i = 0; i < g.ntensors; i++)
      RSC_ASSERT(g.tensors[i].data);
    for (int k = 0; k < dumps.n && ok; k++) {
      dumps.id[k] = -1;
      for (int j = 0; j < g.nnodes; j++)
        if (strcmp(g.nodes[j].name, dumps.node[k]) == 0)
          dumps.id[k] = j;
      if (dumps.id[k] < 0) {
        fprintf(stderr, "refeval: --dump: no node '%s' in the unfused graph\n", dumps.node[k]);
        ok = false;
      }
    }
    res = ok ? evaluate(&g, in_path, &dumps) : NULL;
    ok = res && dumps.ok && write_output(out_path, res, shape_elems(g.nodes[g.output].out));
  }
  free(res);
  graph_free(&g);
  free(text);
  return ok && d.errors == 0 ? 0 : 1;
}
