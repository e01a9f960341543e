m4_dnl main.c.m4 - the optional command-line driver (rsc --main), compiled unless
m4_dnl the build defines RSC_UPREFIX<||>_NO_MAIN.

#ifndef RSC_UPREFIX<||>_NO_MAIN
/* Usage: prog -w WEIGHTS [-r REPEAT] [-t THREADS] [-p] [-g MS] INPUT OUTPUT.f32
 * Reads the raw input (RSC_UPREFIX<||>_IN_TYPE elements: float32 little-endian, or bytes)
 * and writes raw float32 output; with -r N
 * runs N times and prints the median and minimum latency to stderr; -t N runs
 * on N threads (RSC_PREFIX<||>_set_threads; the output is the same for any N); -p
 * binds the worker threads to CPUs (RSC_PREFIX<||>_pin_threads); -g MS pauses MS
 * milliseconds before each run, as a server between requests (threads only).m4_ifelse(RSC_MULTI, 1, <|
 * The other endpoints of the spec's outputs go beside OUTPUT: OUT.f32 ->
 * OUT.c2.f32 etc. (float32 NHWC, the header's RSC_UPREFIX<||>_OUT_<NAME>_* sizes).|>) */
m4_ifelse(RSC_MULTI, 1, <|m4_define(<|RSC_OUTPUT|>, <|  {"m4_translit(<|$1|>, <|A-Z|>, <|a-z|>)", RSC_UPREFIX<||>_OUT_$1_SIZE},
|>)m4_dnl
/* The endpoints in outputs[] order: name, floats per image. */
static const struct {
  const char *name;
  size_t size;
} RSC_PREFIX<||>_endpoints[RSC_UPREFIX<||>_NUM_OUTPUTS] = {
RSC_OUTPUT_LIST<||>};

/* Writes the endpoints but the last (that is OUTPUT) beside out_path. */
static int RSC_PREFIX<||>_write_endpoints(const char *prog, const char *out_path, float *const outs[])
{
  size_t stem = strlen(out_path);
  if (stem > 4 && strcmp(out_path + stem - 4, ".f32") == 0)
    stem -= 4;
  for (int k = 0; k + 1 < RSC_UPREFIX<||>_NUM_OUTPUTS; k++) {
    char *path = malloc(stem + 16);
    if (!path)
      return 1;
    snprintf(path, stem + 16, "%.*s.%s.f32", (int)stem, out_path, RSC_PREFIX<||>_endpoints[k].name);
    size_t n = (size_t)RSC_UPREFIX<||>_BATCH * RSC_PREFIX<||>_endpoints[k].size;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(outs[k], sizeof *outs[k], n, f) != n || fclose(f) != 0) {
      fprintf(stderr, "%s: cannot write %s\n", prog, path);
      return 1;
    }
    free(path);
  }
  return 0;
}
|>)m4_dnl
static double RSC_PREFIX<||>_now_ms(void)
{
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int RSC_PREFIX<||>_cmp_double(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static int RSC_PREFIX<||>_usage(const char *prog)
{
  fprintf(stderr, "usage: %s -w WEIGHTS [-r REPEAT] [-t THREADS] [-p] [-g MS] INPUT OUTPUT.f32\n", prog);
  return 2;
}

int main(int argc, char **argv)
{
  const char *weights = NULL, *in_path = NULL, *out_path = NULL;
  long repeat = 1, threads = 1, gap_ms = 0;
  int pin = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
      weights = argv[++i];
    else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
      char *end;
      threads = strtol(argv[++i], &end, 10);
      if (*end || threads < 1 || threads > RSC_UPREFIX<||>_MAX_THREADS)
        return RSC_PREFIX<||>_usage(argv[0]);
    } else if (strcmp(argv[i], "-p") == 0)
      pin = 1;
    else if (strcmp(argv[i], "-g") == 0 && i + 1 < argc) {
      char *end;
      gap_ms = strtol(argv[++i], &end, 10);
      if (*end || gap_ms < 0 || gap_ms > 60000)
        return RSC_PREFIX<||>_usage(argv[0]);
      if (gap_ms && !RSC_HAVE_THREADS) {
        fprintf(stderr, "%s: -g: pausing needs a build with threads (thrd_sleep)\n", argv[0]);
        return 2;
      }
    } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
      char *end;
      repeat = strtol(argv[++i], &end, 10);
      if (*end || repeat < 1 || repeat > 1000000)
        return RSC_PREFIX<||>_usage(argv[0]);
    } else if (!in_path)
      in_path = argv[i];
    else if (!out_path)
      out_path = argv[i];
    else
      return RSC_PREFIX<||>_usage(argv[0]);
  }
  if (m4_ifelse(RSC_EMBED, 1, , <|!weights || |>)!in_path || !out_path)
    return RSC_PREFIX<||>_usage(argv[0]);
  const size_t n_in = (size_t)RSC_UPREFIX<||>_BATCH * RSC_UPREFIX<||>_IN_H * RSC_UPREFIX<||>_IN_W * RSC_UPREFIX<||>_IN_C;
  const size_t n_out = (size_t)RSC_UPREFIX<||>_BATCH * RSC_UPREFIX<||>_OUT_SIZE;
  RSC_UPREFIX<||>_IN_TYPE *in = malloc(n_in * sizeof *in);
  float *out = malloc(n_out * sizeof *out);
  double *ms = malloc((size_t)repeat * sizeof *ms);
  if (!in || !out || !ms) {
    fprintf(stderr, "%s: out of memory\n", argv[0]);
    return 1;
  }
m4_ifelse(RSC_MULTI, 1, <|  float *outs[RSC_UPREFIX<||>_NUM_OUTPUTS];
  for (int k = 0; k < RSC_UPREFIX<||>_NUM_OUTPUTS; k++) {
    outs[k] = k + 1 < RSC_UPREFIX<||>_NUM_OUTPUTS ? malloc((size_t)RSC_UPREFIX<||>_BATCH * RSC_PREFIX<||>_endpoints[k].size * sizeof *outs[k]) : out;
    if (!outs[k]) {
      fprintf(stderr, "%s: out of memory\n", argv[0]);
      return 1;
    }
  }
|>)m4_dnl
  FILE *f = fopen(in_path, "rb");
  if (!f || fread(in, sizeof *in, n_in, f) != n_in || fgetc(f) != EOF) {
    fprintf(stderr, "%s: %s: expected exactly %zu values of RSC_IN_CTYPE\n", argv[0], in_path, n_in);
    return 1;
  }
  fclose(f);
  RSC_PREFIX<||>_model *m;
  int rc = RSC_PREFIX<||>_open(&m, weights);
  if (rc) {
    fprintf(stderr, "%s: %s: %s\n", argv[0], weights ? weights : "embedded weights", RSC_PREFIX<||>_strerror(rc));
    return 1;
  }
  rc = RSC_PREFIX<||>_set_threads(m, (int)threads);
  if (rc) {
    fprintf(stderr, "%s: -t %ld: %s\n", argv[0], threads, RSC_PREFIX<||>_strerror(rc));
    return 1;
  }
  rc = RSC_PREFIX<||>_pin_threads(m, pin);
  if (rc) {
    fprintf(stderr, "%s: -p: pinning threads needs Linux, a build with threads and the affinity API "
                    "(RSC_PREFIX<||>_pin_threads in RSC_HEADER)\n", argv[0]);
    return 1;
  }
  for (long r = 0; r < repeat; r++) {
#if RSC_HAVE_THREADS
    if (gap_ms)
      thrd_sleep(&(struct timespec){.tv_sec = gap_ms / 1000, .tv_nsec = gap_ms % 1000 * 1000000L}, NULL);
#endif
    double t0 = RSC_PREFIX<||>_now_ms();
    rc = m4_ifelse(RSC_MULTI, 1, <|RSC_PREFIX<||>_run_outputs(m, in, outs)|>, <|RSC_PREFIX<||>_run(m, in, out)|>);
    ms[r] = RSC_PREFIX<||>_now_ms() - t0;
    if (rc) {
      fprintf(stderr, "%s: run: %s\n", argv[0], RSC_PREFIX<||>_strerror(rc));
      return 1;
    }
  }
  if (repeat > 1) {
    qsort(ms, (size_t)repeat, sizeof *ms, RSC_PREFIX<||>_cmp_double);
    fprintf(stderr, "RSC_PREFIX: %ld runs: median %.3f ms, min %.3f ms\n", repeat, ms[repeat / 2], ms[0]);
  }
  f = fopen(out_path, "wb");
  if (!f || fwrite(out, sizeof *out, n_out, f) != n_out || fclose(f) != 0) {
    fprintf(stderr, "%s: cannot write %s\n", argv[0], out_path);
    return 1;
  }
m4_ifelse(RSC_MULTI, 1, <|  if (RSC_PREFIX<||>_write_endpoints(argv[0], out_path, outs))
    return 1;
  for (int k = 0; k + 1 < RSC_UPREFIX<||>_NUM_OUTPUTS; k++)
    free(outs[k]);
|>)m4_dnl
  RSC_PREFIX<||>_close(m);
  free(in);
  free(out);
  free(ms);
  return 0;
}
#endif
