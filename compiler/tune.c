/*
 * tune.c - tuning files: rsc --tune measures, rsc --tuning applies.
 *
 * The cost model of select.c estimates; --tune measures instead. For each
 * distinct conv shape of the model (layers of the same shape are timed once)
 * select.c's conv_candidates gives the model's schedule and a few others
 * worth trying (the next tiles by the estimate, each prefetch switched,
 * Winograd or direct). rsc writes a timing program in a temporary directory:
 * one function per candidate calling the runtime's kernel with literal
 * arguments, as the generated code does, in two files compiled side by side
 * ($CC, default cc, -O2 -march=native: the kernels this host runs). It runs
 * every candidate of a shape in turn, one thread, weights cold and input
 * warm as in a network at batch 1 (the method of bench/tiletime.c), and
 * prints each one's median. The tuning file records every median ("time"
 * lines) and, per shape, the fastest ("use"; ties go to the earlier
 * candidate, the model's first). The "use" lines are a function of the
 * "time" lines alone: --tune-timings takes them from an earlier file instead
 * of measuring, which gives the same bytes (the tests rely on it).
 *
 * rsc --tuning FILE gives a conv whose shape FILE names FILE's schedule
 * (select.c). The file must be for the machine kind and target of the
 * compile (its "machine" line), since tiles measured on one machine say
 * nothing of another; lines for shapes the model lacks are ignored with a
 * warning. A schedule changes no sum unless it switches between Winograd
 * and direct (docs/kernels.md), so a tuned model's output is the untuned
 * one's bit for bit but there.
 */
#include "rsc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { TUNING_MAX_BYTES = 4 << 20, TUNE_RUNS = 7 };

/* ------------------------------------------------------------------ parsing */

typedef struct Cursor {
  const SrcFile *f;
  const char *p, *line_start;
  int line;
  Diag *d;
} Cursor;

static void skip_blanks(Cursor *c) {
  while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')
    c->p++;
}

/* The next word of the line (up to a blank, '#' or the end), or an empty
 * word at the line's end. */
static const char *word(Cursor *c, int *len) {
  skip_blanks(c);
  const char *w = c->p;
  while (*c->p && *c->p != '\n' && *c->p != ' ' && *c->p != '\t' && *c->p != '\r' &&
         *c->p != '#')
    c->p++;
  *len = (int)(c->p - w);
  return w;
}

static int col_of(const Cursor *c, const char *w) { return (int)(w - c->line_start) + 1; }

static bool fail_at(Cursor *c, const char *w, int len, const char *fmt, const char *arg) {
  char msg[256];
  snprintf(msg, sizeof msg, fmt, arg);
  diag_at(c->d, DIAG_ERROR, c->f, c->line, col_of(c, w), len > 0 ? len : 1, "%s", msg);
  return false;
}

/* A word "PREFIXdigits" with a value in lo..hi. */
static bool field(Cursor *c, const char *prefix, int lo, int hi, int *v) {
  int len;
  const char *w = word(c, &len);
  size_t pl = strlen(prefix);
  if (len == 0)
    return fail_at(c, w, 1, "missing '%s' field of the schedule", prefix);
  if ((size_t)len <= pl || strncmp(w, prefix, pl) != 0)
    return fail_at(c, w, len, "expected the schedule's '%sN' here", prefix);
  long x = 0;
  for (const char *q = w + pl; q < w + len; q++) {
    if (!isdigit((unsigned char)*q))
      return fail_at(c, w, len, "'%sN' needs a decimal number", prefix);
    if ((x = x * 10 + (*q - '0')) > hi)
      break;
  }
  if (x < lo || x > hi) {
    char msg[96];
    snprintf(msg, sizeof msg, "'%s' is out of range %d..%d", prefix, lo, hi);
    return fail_at(c, w, len, "%s", msg);
  }
  *v = (int)x;
  return true;
}

static bool parse_schedule(Cursor *c, ConvSched *s) {
  int len, v;
  const char *w = word(c, &len);
  *s = (ConvSched){0};
  if (len == 6 && strncmp(w, "direct", 6) == 0) {
    if (!field(c, "kb", 1, 4096, &s->kb) || !field(c, "np", 1, 4096, &s->np) ||
        !field(c, "kg", 1, 4096, &s->kg) || !field(c, "nx", 0, 1, &v))
      return false;
    s->nx = v;
    if (!field(c, "xp", 0, 1, &v))
      return false;
    s->xp = v;
    return field(c, "tg", 1, 4096, &s->tg) && field(c, "tc", 0, 65536, &s->tc);
  }
  if (len == 4 && strncmp(w, "wino", 4) == 0) {
    s->wino = true;
    s->kg = s->tg = 1;
    return field(c, "kb", 1, 4096, &s->kb) && field(c, "nt", 1, 4096, &s->np);
  }
  return fail_at(c, w, len, "expected the schedule, 'direct' or 'wino'%s", "");
}

/* A conv shape key as conv_shape_key writes it. */
static bool parse_key(Cursor *c, char **key, int *col) {
  int len;
  const char *w = word(c, &len);
  *col = col_of(c, w);
  char *k = xstrfmt("%.*s", len, w);
  int v[13], n = 0, run = 0, longest = 0;
  for (const char *q = k; *q; q++) /* sscanf's %d must not overflow */
    longest = (run = isdigit((unsigned char)*q) ? run + 1 : 0) > longest ? run : longest;
  if (len > 0 && len < 200 && longest <= 6 &&
      sscanf(k, "conv%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%dx%d%n", &v[0], &v[1], &v[2], &v[3], &v[4],
             &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &n) == 13 &&
      n == len) {
    /* Canonical: the numbers as conv_shape_key prints them, no signs or zeros. */
    char *again = xstrfmt("conv%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%dx%d", v[0], v[1], v[2], v[3],
                          v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]);
    bool same = strcmp(again, k) == 0;
    free(again);
    if (same) {
      *key = k;
      return true;
    }
  }
  free(k);
  return fail_at(c, w, len,
                 "expected a conv shape such as conv3x3s1x1p1x1_n1_40x40x64_40x40x64%s", "");
}

static bool line_end(Cursor *c) {
  int len;
  const char *w = word(c, &len);
  if (!len)
    return true;
  char *x = xstrfmt("%.*s", len > 64 ? 64 : len, w);
  fail_at(c, w, len, "unexpected '%s' at the end of the line", x);
  free(x);
  return false;
}

bool tuning_parse(Tuning *t, const SrcFile *f, Diag *d) {
  *t = (Tuning){.file = *f};
  Cursor c = {.f = f, .p = f->text, .d = d};
  bool ok = true;
  for (c.line = 1; ok && *c.p; c.line++) {
    c.line_start = c.p;
    int len;
    const char *w = word(&c, &len);
    if (len == 0) {
      /* blank or comment */
    } else if (len == 7 && strncmp(w, "machine", 7) == 0) {
      if (t->machine_line) {
        ok = fail_at(&c, w, len, "a second 'machine' line%s", "");
        break;
      }
      const char *m = word(&c, &len);
      int kind = -1, target = -1;
      for (int k = 0; k < MACHINE_COUNT; k++)
        if ((size_t)len == strlen(machine_name((Machine)k)) &&
            strncmp(m, machine_name((Machine)k), (size_t)len) == 0)
          kind = k;
      if (kind < 0) {
        ok = fail_at(&c, m, len, "unknown machine kind%s (zen4, zen5, spr, generic)", "");
        break;
      }
      const char *tw = word(&c, &len);
      for (int k = 0; k < TARGET_COUNT; k++)
        if ((size_t)len == strlen(target_name((Target)k)) &&
            strncmp(tw, target_name((Target)k), (size_t)len) == 0)
          target = k;
      if (target < 0) {
        ok = fail_at(&c, tw, len, "unknown target%s (avx512, avx2, generic)", "");
        break;
      }
      t->machine = (Machine)kind;
      t->target = (Target)target;
      t->machine_line = c.line;
      ok = line_end(&c);
    } else if ((len == 3 && strncmp(w, "use", 3) == 0) ||
               (len == 4 && strncmp(w, "time", 4) == 0)) {
      bool use = len == 3;
      if (!t->machine_line) {
        ok = fail_at(&c, w, len, "'%s' before the 'machine' line", use ? "use" : "time");
        break;
      }
      char *key;
      int col;
      ConvSched s;
      if (!(ok = parse_key(&c, &key, &col)))
        break;
      if (!(ok = parse_schedule(&c, &s))) {
        free(key);
        break;
      }
      if (use) {
        int prev = namemap_get(&t->index, key);
        if (prev >= 0) {
          char msg[64];
          snprintf(msg, sizeof msg, "%d", t->uses[prev].line);
          diag_at(d, DIAG_ERROR, f, c.line, col, (int)strlen(key),
                  "a second 'use' line for '%s' (the first is line %s)", key, msg);
          free(key);
          ok = false;
          break;
        }
        t->uses = xrealloc(t->uses, (size_t)(t->nuses + 1) * sizeof *t->uses);
        t->uses[t->nuses] = (TuneUse){.key = key, .s = s, .line = c.line, .col = col};
        namemap_put(&t->index, key, t->nuses++);
      } else {
        const char *mw = word(&c, &len);
        char *end = NULL, *num = xstrfmt("%.*s", len, mw);
        errno = 0;
        double ms = len ? strtod(num, &end) : 0;
        bool good = len && end == num + len && errno == 0 && isfinite(ms) && ms > 0;
        free(num);
        if (!good) {
          free(key);
          ok = fail_at(&c, mw, len, "expected the time in ms, a positive number%s", "");
          break;
        }
        t->times = xrealloc(t->times, (size_t)(t->ntimes + 1) * sizeof *t->times);
        t->times[t->ntimes++] = (TuneTime){.key = key, .s = s, .ms = ms};
      }
      ok = line_end(&c);
    } else {
      ok = fail_at(&c, w, len, "unknown directive%s (machine, use, time)", "");
      break;
    }
    while (*c.p && *c.p != '\n')
      c.p++; /* the rest is a comment */
    if (*c.p)
      c.p++;
  }
  if (ok && !t->machine_line) {
    diag(d, DIAG_ERROR, "%s: no 'machine' line: not a tuning file", f->name);
    ok = false;
  }
  return ok;
}

bool tuning_read(Tuning *t, const char *path, Diag *d) {
  char why[128];
  size_t len;
  char *text = read_input(path, TUNING_MAX_BYTES, &len, why);
  if (!text) {
    *t = (Tuning){0};
    diag(d, DIAG_ERROR, "cannot read tuning file '%s': %s", path, why);
    return false;
  }
  if (strlen(text) != len) {
    *t = (Tuning){0};
    free(text);
    diag(d, DIAG_ERROR, "tuning file '%s' has a NUL byte: not a text file", path);
    return false;
  }
  SrcFile f = {.name = path, .text = text, .len = len};
  bool ok = tuning_parse(t, &f, d);
  t->text = text;
  return ok;
}

void tuning_free(Tuning *t) {
  for (int i = 0; i < t->nuses; i++)
    free(t->uses[i].key);
  for (int i = 0; i < t->ntimes; i++)
    free(t->times[i].key);
  free(t->uses);
  free(t->times);
  namemap_free(&t->index);
  free(t->text);
  *t = (Tuning){0};
}

/* ------------------------------------------------------------------- timing */

/* One distinct conv shape of the model and the schedules to time. */
typedef struct TuneShape {
  char *key;
  const Node *n; /* its first conv */
  Shape in;
  ConvSched cand[SCHEDULES_MAX];
  int ncand;
  double ms[SCHEDULES_MAX]; /* measured or recorded; 0: none */
} TuneShape;

/* Spawns argv with stdout to out_path (if not NULL); its pid, or -1 (reported). */
static pid_t start(char **argv, const char *out_path, Diag *d) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out_path)
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    diag(d, DIAG_ERROR, "--tune: cannot run '%s': %s", argv[0], strerror(rc));
    return -1;
  }
  return pid;
}

static bool finish(pid_t pid, const char *what, Diag *d) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      diag(d, DIAG_ERROR, "--tune: waiting for %s: %s", what, strerror(errno));
      return false;
    }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag(d, DIAG_ERROR, "--tune: %s failed (%s %d)", what,
         WIFEXITED(status) ? "exit status" : "signal",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return false;
  }
  return true;
}

static size_t weight_floats(const TuneShape *sh, const ConvSched *s) {
  const Node *n = sh->n;
  size_t blocks = (size_t)(n->out.c + s->kb - 1) / (size_t)s->kb;
  return blocks * (size_t)s->kb * (size_t)sh->in.c * (size_t)(s->wino ? 16 : n->kh * n->kw);
}

/* The candidates of shapes i = part, part + 2, ...: one function each. */
static void write_part(StrBuf *o, const TuneShape *shapes, int nshapes, int part,
                       const char *datadir) {
  sb_printf(o, "/* rsc --tune: candidate schedules, compiled for this host. */\n");
  sb_printf(o, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n"
               "#include <stdlib.h>\n#include <string.h>\n");
  sb_printf(o, "#include \"%s/runtime/rsc_kernels.h\"\n", datadir);
  for (int i = part; i < nshapes; i += 2) {
    const TuneShape *sh = &shapes[i];
    const Node *n = sh->n;
    Shape in = sh->in;
    for (int j = 0; j < sh->ncand; j++) {
      const ConvSched *s = &sh->cand[j];
      sb_printf(o, "void t%d_%d(const float *in, const float *w, const float *b, float *out);\n",
                i, j);
      sb_printf(o, "void t%d_%d(const float *in, const float *w, const float *b, float *out) {\n",
                i, j);
      if (s->wino)
        sb_printf(o, "  rsc_wino_part(in, w, b, out, %d, %d, %d, %d, %d, %d, %d, RSC_ACT_NONE, 0, 1);\n",
                  in.n, in.h, in.w, in.c, n->out.c, s->kb, s->np);
      else
        sb_printf(o,
                  "  rsc_conv2d_part(in, w, b, out, NULL, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
                  "%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, RSC_ACT_NONE, 0, 1);\n",
                  SE_POOL_CHUNK, in.n, in.h, in.w, in.c, n->out.h, n->out.w, n->out.c, n->kh,
                  n->kw, n->sh, n->sw, n->pad_t, n->pad_l, s->kb, s->np, s->kg, s->nx, s->xp,
                  s->tg, s->tc);
      sb_printf(o, "}\n");
    }
  }
}

/* main(): every shape's candidates in turn, TUNE_RUNS times after a warm-up,
 * each run with the input read just before and its weights cold: each run
 * takes the next weights of a pool of twice the L3, so none were read within
 * the last L3's worth of weights (cheaper than flushing the caches). Prints
 * "SHAPE CANDIDATE MEDIAN_MS". */
static void write_main(StrBuf *o, const TuneShape *shapes, int nshapes) {
  size_t in_max = 1, out_max = 1, w_max = 1;
  sb_printf(o, "/* rsc --tune: the timing loop. */\n#define _GNU_SOURCE\n#include <stdio.h>\n"
               "#include <stdlib.h>\n#include <time.h>\n#include <unistd.h>\n"
               "typedef void (*conv_fn)(const float *, const float *, const float *, float *);\n");
  for (int i = 0; i < nshapes; i++)
    for (int j = 0; j < shapes[i].ncand; j++)
      sb_printf(o, "void t%d_%d(const float *in, const float *w, const float *b, float *out);\n", i,
                j);
  sb_printf(o, "static const struct { int shape, cand; conv_fn fn; size_t in, w; } cands[] = {\n");
  for (int i = 0; i < nshapes; i++) {
    const TuneShape *sh = &shapes[i];
    size_t in = (size_t)sh->in.n * sh->in.h * sh->in.w * sh->in.c;
    size_t out = (size_t)sh->n->out.n * sh->n->out.h * sh->n->out.w * sh->n->out.c;
    in_max = in > in_max ? in : in_max;
    out_max = out > out_max ? out : out_max;
    for (int j = 0; j < sh->ncand; j++) {
      size_t w = weight_floats(sh, &sh->cand[j]);
      w_max = w > w_max ? w : w_max;
      sb_printf(o, "  {%d, %d, t%d_%d, %zu, %zu},\n", i, j, i, j, in, w);
    }
  }
  sb_printf(o, "};\n#define NCANDS ((int)(sizeof cands / sizeof *cands))\n#define RUNS %d\n",
            TUNE_RUNS);
  sb_printf(o, "#define IN_MAX ((size_t)%zu)\n#define OUT_MAX ((size_t)%zu)\n"
               "#define W_MAX ((size_t)%zu)\n", in_max, out_max, w_max);
  sb_printf(o, "%s",
            "static double now_ms(void) {\n"
            "  struct timespec ts;\n  clock_gettime(CLOCK_MONOTONIC, &ts);\n"
            "  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;\n}\n"
            "static float *floats(size_t n) {\n"
            "  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);\n"
            "  if (!p)\n    exit(3);\n"
            "  for (size_t i = 0; i < n; i++)\n"
            "    p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;\n  return p;\n}\n"
            "static int by_value(const void *a, const void *b) {\n"
            "  double x = *(const double *)a, y = *(const double *)b;\n"
            "  return x < y ? -1 : x > y;\n}\n"
            "int main(void) {\n"
            "  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);\n"
            "  size_t pool = (size_t)(l3 > 0 ? 2 * l3 : 64L << 20) / sizeof(float) + W_MAX;\n"
            "  float *in = floats(IN_MAX), *w = floats(pool), *b = floats(16384);\n"
            "  float *out = floats(OUT_MAX);\n"
            "  static double t[NCANDS][RUNS];\n  volatile float sink = 0;\n  size_t at = 0;\n"
            "  for (int first = 0; first < NCANDS;) {\n"
            "    int last = first;\n"
            "    while (last < NCANDS && cands[last].shape == cands[first].shape)\n      last++;\n"
            "    for (int r = -1; r < RUNS; r++)\n"
            "      for (int i = first; i < last; i++) {\n"
            "        /* Weights cold: each run's sit past the last 2 x L3 of the pool read. */\n"
            "        if (at + cands[i].w > pool)\n          at = 0;\n"
            "        float s = 0;\n"
            "        for (size_t j = 0; j < cands[i].in; j += 16)\n          s += in[j];\n"
            "        sink += s;\n"
            "        double t0 = now_ms();\n        cands[i].fn(in, w + at, b, out);\n"
            "        double ms = now_ms() - t0;\n        sink += out[0];\n"
            "        at += (cands[i].w + 15) / 16 * 16;\n"
            "        if (r >= 0)\n          t[i][r] = ms;\n      }\n"
            "    for (int i = first; i < last; i++) {\n"
            "      qsort(t[i], RUNS, sizeof t[i][0], by_value);\n"
            "      printf(\"%d %d %.6f\\n\", cands[i].shape, cands[i].cand, t[i][RUNS / 2]);\n"
            "    }\n    first = last;\n  }\n"
            "  return sink == 12345.0f;\n}\n");
}

static bool write_text(const char *path, const StrBuf *sb, Diag *d) {
  FILE *f = fopen(path, "w");
  bool ok = f && fwrite(sb->buf, 1, sb->len, f) == sb->len;
  if (f && fclose(f) != 0)
    ok = false;
  if (!ok)
    diag(d, DIAG_ERROR, "--tune: cannot write '%s': %s", path, strerror(errno));
  return ok;
}

/* Builds and runs the timing program in dir; fills every shape's ms[]. */
static bool measure(TuneShape *shapes, int nshapes, const char *dir, const char *datadir,
                    Diag *d) {
  const char *cc = getenv("CC");
  cc = cc && *cc ? cc : "cc";
  char *src[3], *obj[2], *exe = xstrfmt("%s/tune", dir), *res = xstrfmt("%s/times.txt", dir);
  bool ok = true;
  for (int p = 0; p < 3; p++) {
    StrBuf sb = {0};
    if (p < 2)
      write_part(&sb, shapes, nshapes, p, datadir);
    else
      write_main(&sb, shapes, nshapes);
    src[p] = xstrfmt("%s/%s.c", dir, p < 2 ? (p ? "part1" : "part0") : "main");
    ok = ok && write_text(src[p], &sb, d);
    sb_free(&sb);
  }
  for (int p = 0; p < 2; p++)
    obj[p] = xstrfmt("%s/part%d.o", dir, p);
  /* The two halves compile side by side: the kernels unroll fully, and that
   * is most of --tune's time. */
  pid_t pid[2] = {-1, -1};
  for (int p = 0; ok && p < 2; p++) {
    char *argv[] = {(char *)cc, "-O2", "-march=native", "-std=c11", "-c", src[p], "-o", obj[p], NULL};
    ok = (pid[p] = start(argv, NULL, d)) > 0;
  }
  for (int p = 0; p < 2; p++)
    if (pid[p] > 0)
      ok = finish(pid[p], "compiling the timing program", d) && ok;
  if (ok) {
    char *argv[] = {(char *)cc, "-O2", "-std=c11", src[2], obj[0], obj[1], "-o", exe, "-lm", NULL};
    pid_t l = start(argv, NULL, d);
    ok = l > 0 && finish(l, "linking the timing program", d);
  }
  if (ok) {
    char *argv[] = {exe, NULL};
    pid_t r = start(argv, res, d);
    ok = r > 0 && finish(r, "the timing program", d);
  }
  FILE *f = ok ? fopen(res, "r") : NULL;
  if (ok && !f) {
    diag(d, DIAG_ERROR, "--tune: cannot read '%s': %s", res, strerror(errno));
    ok = false;
  }
  int s, c;
  double ms;
  while (f && fscanf(f, "%d %d %lf", &s, &c, &ms) == 3)
    if (s >= 0 && s < nshapes && c >= 0 && c < shapes[s].ncand && ms >= 0)
      shapes[s].ms[c] = ms > 0 ? ms : 1e-4; /* below the clock: the file wants > 0 */
  if (f)
    fclose(f);
  for (int p = 0; p < 3; p++) {
    remove(src[p]);
    free(src[p]);
  }
  for (int p = 0; p < 2; p++) {
    remove(obj[p]);
    free(obj[p]);
  }
  remove(exe);
  remove(res);
  free(exe);
  free(res);
  for (int i = 0; ok && i < nshapes; i++)
    for (int j = 0; j < shapes[i].ncand; j++)
      if (!(shapes[i].ms[j] > 0)) {
        diag(d, DIAG_ERROR, "--tune: the timing program gave no time for '%s'", shapes[i].key);
        ok = false;
        break;
      }
  return ok;
}

/* The timings of a tuning file instead: each shape's candidates become the
 * schedules the file timed for it, in the file's order (the valid ones). */
static bool recorded(TuneShape *shapes, int nshapes, const Graph *g, const char *path, Diag *d) {
  Tuning t;
  bool ok = tuning_read(&t, path, d);
  if (ok && (t.machine != g->machine || t.target != g->target)) {
    diag_at(d, DIAG_ERROR, &t.file, t.machine_line, 1, 7,
            "timings for --cpu %s --target %s, not this compile's --cpu %s --target %s",
            machine_name(t.machine), target_name(t.target), machine_name(g->machine),
            target_name(g->target));
    ok = false;
  }
  CostModel cm = cost_model(g->machine, g->target);
  NameMap idx = {0};
  for (int i = 0; i < nshapes; i++) {
    namemap_put(&idx, shapes[i].key, i);
    shapes[i].ncand = 0;
  }
  for (int k = 0; ok && k < t.ntimes; k++) {
    int i = namemap_get(&idx, t.times[k].key);
    char why[160];
    if (i < 0 || shapes[i].ncand >= SCHEDULES_MAX ||
        !schedule_valid(shapes[i].n, shapes[i].in, &cm, !g->no_wino, &t.times[k].s, why))
      continue; /* another model's shape, or not a schedule for this one */
    shapes[i].cand[shapes[i].ncand] = t.times[k].s;
    shapes[i].ms[shapes[i].ncand++] = t.times[k].ms;
  }
  namemap_free(&idx);
  tuning_free(&t);
  return ok;
}

bool tune_run(const Graph *g, const TuneOptions *o, Diag *d) {
  CostModel cm = cost_model(g->machine, g->target);
  TuneShape *shapes = NULL;
  int nshapes = 0;
  NameMap seen = {0};
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_CONV)
      continue;
    Shape in = g->nodes[n->in[0]].out;
    char *key = conv_shape_key(n, in);
    if (namemap_get(&seen, key) >= 0) {
      free(key);
      continue;
    }
    shapes = xrealloc(shapes, (size_t)(nshapes + 1) * sizeof *shapes);
    TuneShape *sh = &shapes[nshapes];
    *sh = (TuneShape){.key = key, .n = n, .in = in};
    sh->ncand = conv_candidates(n, in, &cm, !g->no_wino, sh->cand);
    namemap_put(&seen, key, nshapes++);
  }
  namemap_free(&seen);
  bool ok;
  if (o->timings) {
    ok = recorded(shapes, nshapes, g, o->timings, d);
  } else {
    char *dir = verify_workdir(d);
    ok = dir && measure(shapes, nshapes, dir, o->datadir, d);
    if (dir)
      rmdir(dir);
    free(dir);
  }
  StrBuf sb = {0};
  if (ok) {
    sb_printf(&sb, "# rsc tuning file: written by rsc --tune, read by rsc --tuning FILE.\n"
                   "# 'use': the schedule of each conv shape, the fastest of its 'time' lines\n"
                   "# (median ms of %d runs, one thread, weights cold; ties to the first).\n",
              TUNE_RUNS);
    sb_printf(&sb, "machine %s %s\n", machine_name(g->machine), target_name(g->target));
    for (int i = 0; i < nshapes; i++) {
      const TuneShape *sh = &shapes[i];
      if (sh->ncand == 0)
        continue;
      int best = 0;
      for (int j = 1; j < sh->ncand; j++)
        if (sh->ms[j] < sh->ms[best])
          best = j;
      sb_printf(&sb, "\nuse %s ", sh->key);
      schedule_format(&sh->cand[best], &sb);
      sb_printf(&sb, "\n");
      for (int j = 0; j < sh->ncand; j++) {
        sb_printf(&sb, "time %s ", sh->key);
        schedule_format(&sh->cand[j], &sb);
        sb_printf(&sb, " %.6f\n", sh->ms[j]);
      }
    }
    Outputs out = {0};
    ok = outputs_write(&out, o->out, sb.buf, sb.len, d) && outputs_commit(&out, d);
  }
  sb_free(&sb);
  for (int i = 0; i < nshapes; i++)
    free(shapes[i].key);
  free(shapes);
  return ok;
}
