/*
 * verify.c - `rsc --verify`: the generated model checked layer by layer against
 * the reference evaluator (reference.c) on a seeded random input.
 *
 *   1. A harness (harness.c in a temporary directory) #includes the generated .c
 *      with -D<PREFIX>_TRACE=verify_trace, so each layer's output is written to
 *      a trace file right after the layer; normal builds have no such code.
 *   2. The harness is compiled with the system compiler ($CC, default "cc";
 *      flags $CFLAGS, default "-O2 -march=native" so the kernels the code was
 *      tuned for are the ones run) and run on the .weights file.
 *   3. The reference evaluator runs the unfused network on the same input with
 *      the raw weights (the same --weights file or --seed) and each fused layer
 *      is compared with the unfused node whose output it computes (the last one
 *      of its group, e.g. layer1.0.act1 for the conv+relu layer1.0.conv1).
 *
 * A layer passes iff max|gen - ref| <= tol * max|ref| (tests/f32cmp's bound,
 * tol 1e-4; under --precision bf16 2^-5, 16 times bf16's rounding error 2^-9:
 * each conv rounds its operands to 8 significant bits, and the error of the
 * whole network up to a layer shows there; measured at most 9.4e-3 on the
 * digits model and RS-50, docs/precision.md) and the output has no NaN or
 * infinity. Every layer is reported; the
 * first failing one is where the generated code went wrong.
 */
#include "rsc.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define VERIFY_TOL 1e-4
#define VERIFY_TOL_BF16 0x1p-5

char *verify_workdir(Diag *d) {
  const char *tmp = getenv("TMPDIR");
  char *dir = xstrfmt("%s/rsc-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    diag(d, DIAG_ERROR, "--verify: cannot create a temporary directory '%s': %s", dir,
         strerror(errno));
    free(dir);
    return NULL;
  }
  return dir;
}

/* splitmix64: the input generator, reproducible from the seed alone. */
static uint64_t next_random(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The spec's input: bytes, or floats in [0,255) for preprocessed input
 * (raw pixels), else in [-1,1). */
static unsigned char *random_input(const Graph *g, uint64_t seed, size_t *len) {
  *len = reference_input_bytes(g);
  unsigned char *raw = xmalloc(*len ? *len : 1);
  uint64_t s = seed;
  if (g->spec.input_type == INPUT_U8) {
    for (size_t i = 0; i < *len; i++)
      raw[i] = (unsigned char)(next_random(&s) >> 56);
    return raw;
  }
  for (size_t i = 0; i < *len / 4; i++) {
    double u = (double)(next_random(&s) >> 11) / 9007199254740992.0; /* [0,1) */
    float f = (float)(g->spec.preprocess == PREPROCESS_IMAGENET ? 255.0 * u : 2.0 * u - 1.0);
    memcpy(raw + 4 * i, &f, 4);
  }
  return raw;
}

static bool write_all(const char *path, const void *data, size_t len, Diag *d) {
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(data, 1, len, f) == len;
  if (f && fclose(f) != 0)
    ok = false;
  if (!ok)
    diag(d, DIAG_ERROR, "--verify: cannot write '%s': %s", path, strerror(errno));
  return ok;
}

/* Runs argv; true iff it exited 0. Its output goes to rsc's stderr. */
static bool run(char **argv, Diag *d) {
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (rc != 0) {
    diag(d, DIAG_ERROR, "--verify: cannot run '%s': %s", argv[0], strerror(rc));
    return false;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      diag(d, DIAG_ERROR, "--verify: waiting for '%s': %s", argv[0], strerror(errno));
      return false;
    }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag(d, DIAG_ERROR, "--verify: '%s' failed (%s %d)", argv[0],
         WIFEXITED(status) ? "exit status" : "signal",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return false;
  }
  return true;
}

/* Splits s at spaces onto argv (the strings are s's, modified). */
static void split_words(char *s, char **argv, int *argc, int max) {
  for (char *p = strtok(s, " \t"); p && *argc < max; p = strtok(NULL, " \t"))
    argv[(*argc)++] = p;
}

static bool compile_harness(const char *dir, const char *out_c, const char *prefix, Diag *d) {
  char *up = xstrdup(prefix);
  for (char *p = up; *p; p++)
    *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
  /* The harness lives elsewhere: include the model by absolute path. */
  char cwd[4096];
  if (out_c[0] != '/' && !getcwd(cwd, sizeof cwd)) {
    diag(d, DIAG_ERROR, "--verify: cannot get the current directory: %s", strerror(errno));
    free(up);
    return false;
  }
  char *abs_c = out_c[0] == '/' ? xstrdup(out_c) : xstrfmt("%s/%s", cwd, out_c);
  StrBuf h = {0};
  sb_printf(&h,
            "/* rsc --verify harness: runs the model once, tracing every layer. */\n"
            "#include <stdio.h>\n#include <stdlib.h>\n#include <stddef.h>\n"
            "static FILE *verify_trace_file;\n"
            "static void verify_trace(const char *name, const float *out, size_t n)\n{\n"
            "  fprintf(verify_trace_file, \"%%s %%zu\\n\", name, n);\n"
            "  fwrite(out, sizeof *out, n, verify_trace_file);\n}\n"
            "#define %s_TRACE verify_trace\n#define %s_NO_MAIN 1\n#include \"%s\"\n"
            "int main(int argc, char **argv)\n{\n"
            "  static %s_IN_TYPE in[%s_IN_SIZE];\n  static float out[%s_OUT_SIZE];\n"
            "  %s_model *m;\n  int rc;\n"
            "  if (argc != 4)\n    return 2;\n"
            "  FILE *f = fopen(argv[2], \"rb\");\n"
            "  if (!f || fread(in, sizeof in, 1, f) != 1)\n    return 3;\n  fclose(f);\n"
            "  if ((rc = %s_open(&m, argv[1])) != 0) {\n"
            "    fprintf(stderr, \"harness: %%s\\n\", %s_strerror(rc));\n    return 1;\n  }\n"
            "  if (!(verify_trace_file = fopen(argv[3], \"wb\")))\n    return 3;\n"
            "  rc = %s_run(m, in, out);\n  %s_close(m);\n"
            "  return fclose(verify_trace_file) != 0 || rc != 0;\n}\n",
            up, up, abs_c, up, up, up, prefix, prefix, prefix, prefix, prefix);
  char *src = xstrfmt("%s/harness.c", dir), *exe = xstrfmt("%s/harness", dir);
  bool ok = write_all(src, h.buf, h.len, d);
  if (ok) {
    const char *cc_env = getenv("CC"), *fl_env = getenv("CFLAGS");
    char *cc = xstrdup(cc_env && *cc_env ? cc_env : "cc");
    char *flags = xstrdup(fl_env && *fl_env ? fl_env : "-O2 -march=native");
    char *argv[64];
    int argc = 0;
    split_words(cc, argv, &argc, 8);
    argv[argc++] = "-std=c11";
    split_words(flags, argv, &argc, 50);
    char *nothreads = xstrfmt("-D%s_NO_THREADS", up);
    argv[argc++] = nothreads;
    argv[argc++] = "-o";
    argv[argc++] = exe;
    argv[argc++] = src;
    argv[argc++] = "-lm";
    argv[argc] = NULL;
    fprintf(stderr, "rsc: --verify: compiling the generated code with '%s'\n", argv[0]);
    ok = run(argv, d);
    free(nothreads);
    free(cc);
    free(flags);
  }
  free(src);
  free(exe);
  free(abs_c);
  free(up);
  sb_free(&h);
  return ok;
}

/* One traced layer of the generated code, and how it compared. */
typedef struct Layer {
  char *name;
  const float *v;
  size_t n;
  int ref;      /* reference node id, -1 if none */
  bool checked; /* the reference produced it */
  double max_abs, max_ref;
  bool finite;
} Layer;

typedef struct Check {
  Layer *layers;
  int nlayers;
  int *layer_of; /* reference node id -> layer index, or -1 */
} Check;

static void compare(void *ctx, int node, const double *ref, size_t n) {
  Check *c = ctx;
  int li = c->layer_of[node];
  if (li < 0)
    return;
  Layer *l = &c->layers[li];
  l->checked = true;
  l->finite = l->n == n;
  if (l->n != n)
    return;
  for (size_t i = 0; i < n; i++) {
    double a = l->v[i], e = fabs(a - ref[i]);
    if (!isfinite(a) || !isfinite(ref[i]))
      l->finite = false;
    l->max_abs = e > l->max_abs ? e : l->max_abs;
    l->max_ref = fabs(ref[i]) > l->max_ref ? fabs(ref[i]) : l->max_ref;
  }
}

/* Parses the harness' trace: records "name n\n" + n floats. */
static bool parse_trace(char *t, size_t len, Check *c, Diag *d) {
  size_t pos = 0;
  int cap = 0;
  while (pos < len) {
    char *nl = memchr(t + pos, '\n', len - pos);
    char *sp = nl ? memchr(t + pos, ' ', (size_t)(nl - (t + pos))) : NULL;
    if (!sp) {
      diag(d, DIAG_ERROR, "--verify: malformed trace at byte %zu", pos);
      return false;
    }
    *sp = '\0';
    size_t n = strtoull(sp + 1, NULL, 10), start = (size_t)(nl + 1 - t);
    if (n > (len - start) / 4) {
      diag(d, DIAG_ERROR, "--verify: truncated trace of layer '%s'", t + pos);
      return false;
    }
    if (c->nlayers == cap)
      c->layers = xrealloc(c->layers, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *c->layers);
    /* The file is read into malloc'd memory; records are not float-aligned. */
    float *v = xmalloc((n ? n : 1) * sizeof *v);
    memcpy(v, t + start, n * 4);
    c->layers[c->nlayers++] = (Layer){.name = xstrdup(t + pos), .v = v, .n = n, .ref = -1};
    pos = start + n * 4;
  }
  return true;
}

bool verify_model(const Graph *g, const Summary *s, const VerifyOptions *vo, Diag *d) {
  RSC_ASSERT(s->attached);
  bool ok = false;
  Check c = {0};
  char *in_path = xstrfmt("%s/input.bin", vo->workdir);
  char *trace_path = xstrfmt("%s/trace.bin", vo->workdir);
  char *exe = xstrfmt("%s/harness", vo->workdir);
  char *trace = NULL;
  double *in = NULL, *res = NULL;
  Graph rg;
  graph_init(&rg, &g->spec);

  /* The reference graph: rsc's pipeline up to the weights, so built and
   * shaped like the summary's rows, with the raw weights all drawn. */
  PassCtx pc = {.d = d, .weights = vo->safetensors, .seed = vo->seed, .draw_now = true};
  if (!compile_to(&rg, &pc, PASS_WEIGHTS))
    goto out;
  RSC_ASSERT(rg.nnodes == s->nrows);
  size_t len;
  unsigned char *raw = random_input(&rg, vo->input_seed, &len);
  bool wrote = write_all(in_path, raw, len, d);
  in = wrote ? reference_input(&rg, raw) : NULL;
  free(raw);
  if (!wrote || !compile_harness(vo->workdir, vo->out_c, vo->prefix, d))
    goto out;
  char *argv[] = {exe, (char *)vo->weights_file, in_path, trace_path, NULL};
  if (!run(argv, d))
    goto out;
  size_t tlen;
  if (!(trace = read_file(trace_path, &tlen))) {
    diag(d, DIAG_ERROR, "--verify: cannot read the trace '%s': %s", trace_path, strerror(errno));
    goto out;
  }
  if (!parse_trace(trace, tlen, &c, d))
    goto out;

  /* Each traced layer is the final node of that name; its output is that of the
   * last built node fused into it. */
  c.layer_of = xmalloc((size_t)rg.nnodes * sizeof *c.layer_of);
  for (int i = 0; i < rg.nnodes; i++)
    c.layer_of[i] = -1;
  NameMap live = {0}; /* live final node by name (the first, as names are unique) */
  for (int j = g->nnodes - 1; j >= 0; j--)
    if (!g->nodes[j].dead)
      namemap_put(&live, g->nodes[j].name, j);
  int *last_row = xmalloc((size_t)(g->nnodes ? g->nnodes : 1) * sizeof *last_row);
  for (int j = 0; j < g->nnodes; j++)
    last_row[j] = -1;
  for (int i = 0; i < s->nrows; i++)
    if (s->rows[i].fused >= 0)
      last_row[s->rows[i].fused] = i;
  for (int li = 0; li < c.nlayers; li++) {
    int f = namemap_get(&live, c.layers[li].name);
    if (f >= 0)
      c.layers[li].ref = last_row[f];
    if (c.layers[li].ref >= 0 && s->rows[c.layers[li].ref].op != OP_INPUT)
      c.layer_of[c.layers[li].ref] = li;
  }
  namemap_free(&live);
  free(last_row);
  res = reference_eval(&rg, in, compare, &c);

  int failed = 0, checked = 0;
  const char *first_bad = NULL;
  const double tol = g->spec.precision == PRECISION_BF16 ? VERIFY_TOL_BF16 : VERIFY_TOL;
  printf("%-24s %-24s %12s %12s %10s\n", "layer", "reference node", "max-abs", "max|ref|",
         "relative");
  for (int li = 0; li < c.nlayers; li++) {
    const Layer *l = &c.layers[li];
    if (!l->checked) {
      printf("%-24s %-24s %12s %12s %10s  (input conversion: no reference tensor)\n", l->name,
             "-", "-", "-", "-");
      continue;
    }
    double rel = l->max_ref > 0 ? l->max_abs / l->max_ref : l->max_abs;
    bool pass = l->finite && l->max_abs <= tol * l->max_ref;
    checked++;
    if (!pass) {
      failed++;
      first_bad = first_bad ? first_bad : l->name;
    }
    printf("%-24s %-24s %12.3e %12.3e %10.3e  %s\n", l->name, rg.nodes[l->ref].name, l->max_abs,
           l->max_ref, rel, pass ? "ok" : (l->finite ? "FAIL" : "FAIL (NaN/inf or size)"));
  }
  if (failed)
    printf("verify: FAIL: %d of %d layers over the tolerance %g x max|ref|; first: %s\n", failed,
           checked, tol, first_bad);
  else
    printf("verify: PASS: %d layers within %g x max|ref| (seeded input %llu)\n", checked,
           tol, (unsigned long long)vo->input_seed);
  ok = failed == 0 && checked > 0;
out:
  for (int li = 0; li < c.nlayers; li++) {
    free(c.layers[li].name);
    free((void *)c.layers[li].v);
  }
  free(c.layers);
  free(c.layer_of);
  free(res);
  free(in);
  free(trace);
  graph_free(&rg);
  remove(in_path);
  remove(trace_path);
  remove(exe);
  char *src = xstrfmt("%s/harness.c", vo->workdir);
  remove(src);
  free(src);
  free(in_path);
  free(trace_path);
  free(exe);
  return ok;
}
