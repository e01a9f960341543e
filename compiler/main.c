/*
 * main.c - the rsc command line: options into a PassCtx for the pipeline
 * (pipeline.c's compile_to, whose passes can have their IR dumped with
 * --dump=PASS), then emission, --summary, --emit=dot and --verify.
 *
 * Spec keys come from an optional spec file and from flags (--depth 152 ...);
 * the flags are turned into a second spec text, "<command line>", parsed after
 * the file, so they override it and get the same diagnostics. Only this file
 * exits; every stage reports through a Diag and returns false.
 */
#include "rsc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Options {
  const char *spec_path;
  const char *out_c;
  const char *name;
  const char *weights;
  const char *manifest;
  const char *dump; /* comma-separated pass names, or "all" */
  uint64_t seed;
  bool with_main;
  bool stats;
  int target; /* Target, or -1: the host's */
  int machine; /* Machine (--cpu), or -1: the host's */
  const char *tune;         /* --tune: time candidate schedules, write this tuning file */
  const char *tune_timings; /* --tune-timings: the timings of this tuning file instead */
  const char *tuning;       /* --tuning: the schedules of this tuning file */
  bool no_wino; /* --no-winograd */
  const char *summary; /* --summary: NULL, "text" or "json" */
  Summary *summary_data; /* filled by compile() when summary is set */
  const char *dot;            /* --emit=dot: NULL, "built" or "fused" */
  bool verify;                /* --verify */
  const char *verify_weights; /* --verify-weights: run on this .weights instead */
  StrBuf cmdline_spec; /* spec text made of the spec flags */
  const char *export_weights; /* --export-weights: safetensors of the raw weights */
  bool embed_weights;         /* --embed-weights: .incbin the .weights into OUT.c's object */
  bool time_passes;           /* --time-passes: wall time of each stage to stderr */
} Options;

static const char usage_text[] =
    "Usage: rsc [SPEC] [OPTIONS] -o OUT.c\n"
    "Compile a ResNet-RS network into one straight-line C file.\n"
    "\n"
    "rsc reads the architecture from the spec file SPEC (see docs/spec.md) and/or\n"
    "from spec flags, which override the file, and writes OUT.c (the model),\n"
    "OUT.h (its API) and OUT.weights (folded, prepacked weights).\n"
    "\n"
    "Output options:\n"
    "  -o, --output FILE.c   the C file to write; .h and .weights go beside it\n"
    "      --name ID         C identifier prefix (default: FILE's base name)\n"
    "      --main            also emit main() (unless OUT_NO_MAIN is defined):\n"
    "                        prog -w OUT.weights [-r N] [-t THREADS] [-p] [-g MS]\n"
    "                        IN OUT.f32 (-r: N timed runs; -t: threads; -p: pin\n"
    "                        them to CPUs; -g: MS pause before each run)\n"
    "      --manifest FILE   write a text manifest of the weights layout\n"
    "      --dump=PASSES     print the IR after each named pass (comma list or\n";
/* Here print_usage writes "'all'): " and the passes of PASS_LIST. */
static const char usage_text_rest[] =
    "      --stats           print layer, kernel, arena and weight statistics\n"
    "      --time-passes     print the wall time of each pass and of emission\n"
    "                        to stderr\n"
    "      --summary[=json]  print a table of the layers (timm names), the fused op\n"
    "                        each became, shapes, params and MACs, then totals;\n"
    "                        works without -o\n"
    "      --emit=dot[:built|:fused]  print the network as a Graphviz graph:\n"
    "                        unfused ops by block, or (default) by the fused\n"
    "                        kernel each became; edges carry shapes; no -o needed\n"
    "      --verify          compile the generated code with $CC (default cc;\n"
    "                        flags $CFLAGS, default -O2 -march=native), run it on\n"
    "                        a random input (--seed) and compare every layer with\n"
    "                        the reference evaluator; exit 1 on a mismatch.\n"
    "                        Without -o the code goes to a temporary directory\n"
    "      --verify-weights FILE  with --verify: load FILE instead of the .weights\n"
    "                        rsc wrote (checks a deployed weights file)\n"
    "      --target ISA      tune kernels for avx512, avx2, generic or\n"
    "                        avx512-bf16 (default: the host's); the code runs on\n"
    "                        any CPU its C compiler's flags allow, and open\n"
    "                        checks the CPU. --precision bf16 needs avx512-bf16\n"
    "                        (amx is reserved: no AMX kernels yet)\n"
    "      --cpu KIND        the tile model's machine: zen4, zen5, spr or generic\n"
    "                        (default: the host's, from CPUID)\n"
    "      --tune FILE       time candidate schedules of each distinct conv shape\n"
    "                        on this host and write the fastest to FILE\n"
    "      --tune-timings T  with --tune: take the timings recorded in tuning\n"
    "                        file T instead of measuring\n"
    "      --tuning FILE     use the schedules of a tuning file (from --tune)\n"
    "      --no-winograd     every conv direct: no Winograd F(2x2,3x3) for the\n"
    "                        3x3 stride-1 convs where the cost model prefers it\n"
    "\n";

/* Split in two: ISO C compilers need only take 4095-character strings. */
static const char usage_text2[] =
    "Weights:\n"
    "      --weights FILE    timm state_dict in safetensors format, or Keras\n"
    "                        save_weights HDF5 (.h5; either Keras naming scheme,\n"
    "                        with or without the top)\n"
    "      --export-weights FILE  write the weights as imported (timm names,\n"
    "                        PyTorch layouts, F32, before folding) as safetensors;\n"
    "                        works without -o\n"
    "      --embed-weights   the object file of OUT.c carries OUT.weights (an\n"
    "                        assembler .incbin of the path given to -o, read when\n"
    "                        OUT.c is compiled: from rsc's directory, or define\n"
    "                        OUT_WEIGHTS_FILE); OUT_open(&m, NULL) then uses it\n"

    "      --seed N          seed of the random weights used without --weights (1)\n"
    "\n"
    "Spec flags (each sets the spec key of the same name; lists take commas):\n"
    "      --depth N               50 101 152 200 270 350 420\n"
    "      --blocks A,B,C,D        explicit blocks per stage instead of --depth\n"
    "      --width N, --height N   input size in pixels (height defaults to width)\n"
    "      --channels N, --batch N\n"
    "      --widths A,B,C,D        bottleneck widths per stage (64,128,256,512)\n"
    "      --width-multiplier X    scales widths and stem widths\n"
    "      --stem-widths A,B,C     deep stem widths (32,32,64); one value with\n"
    "                              --stem classic (64)\n"
    "      --se-ratio X            squeeze-excitation ratio, 0 removes SE (0.25)\n"
    "      --se-rounding keras|timm  SE reduce width: int(C*X), or timm's\n"
    "                              make_divisible(C*X, 8) (keras)\n"
    "      --stem deep|classic     three 3x3 convs, or one 7x7 conv\n"
    "      --stem-downsample conv|maxpool\n"
    "      --shortcut avgpool|strided\n"
    "      --stride-on 3x3|1x1\n"
    "      --bn-eps X              (1e-5)\n"
    "      --activation relu|swish (silu is a synonym of swish)\n"
    "      --classes N             (1000)\n"
    "      --head dense|avg|max|none\n"
    "      --classifier-activation none|softmax\n"
    "      --input-type f32|u8     element type of the input P_run reads (f32)\n"
    "      --input-layout nhwc|nchw\n"
    "      --preprocess none|imagenet  x/255 then ImageNet mean/std, compiled in\n"
    "      --outputs LIST          what P_run_outputs writes, each to its own\n"
    "                              buffer: any of c2,c3,c4,c5 (stage outputs) and\n"
    "                              head (default: head only)\n"
    "      --precision fp32|bf16   bf16: convs on bf16 weights and inputs with\n"
    "                              float32 sums (AVX512-BF16; docs/precision.md)\n"
    "\n"
    "Other:\n"
    "  -h, --help            this text\n"
    "      --version         print the version\n"
    "\n"
    "Environment: RSC_DATADIR overrides where templates/ and runtime/ are found;\n"
    "RSC_M4 names the m4 program; RSC_THREADS, how many threads draw, fold and\n"
    "pack the weights (default: one per CPU; no output byte depends on it).\n"
    "Exit status: 0 on success, 1 on any error (no output file is then written).\n"
    "\n"
    "Example: rsc --depth 152 --width 256 -o rs152.c\n"
    "         cc -O2 -march=native -c rs152.c   (plain -O2: portable, slower)\n";

/* The help text, the names of the passes filled in from PASS_LIST, wrapped
 * at 80 columns under the option's description. */
static void print_usage(FILE *out) {
  fputs(usage_text, out);
  static const char indent[] = "                        ";
  int col = fprintf(out, "%s'all'):", indent);
  for (int p = 0; p < PASS_COUNT; p++) {
    const char *name = pass_name((Pass)p);
    if (col + 1 + (int)strlen(name) > 80)
      col = fprintf(out, "\n%s", indent) - 2;
    else
      col += fprintf(out, " ");
    col += fprintf(out, "%s", name);
  }
  fputc('\n', out);
  fputs(usage_text_rest, out);
  fputs(usage_text2, out);
}

/* "--se-ratio" -> KEY_SE_RATIO, or -1. */
static int spec_flag(const char *flag) {
  if (strncmp(flag, "--", 2) != 0)
    return -1;
  for (int k = 0; k < SPEC_KEY_COUNT; k++) {
    const char *key = spec_key_name((SpecKey)k), *f = flag + 2;
    size_t i = 0;
    for (; key[i] && f[i]; i++)
      if (f[i] != (key[i] == '_' ? '-' : key[i]))
        break;
    if (!key[i] && (!f[i] || f[i] == '='))
      return k;
  }
  return -1;
}

/* The option nearest to the unknown flag a[0..n) ("--widht" -> "--width"):
 * every "--name" in the help text and every spec flag, within edit distance 2;
 * NULL if none is near. The result points into a static buffer. */
static const char *nearest_option(const char *a, size_t n) {
  static char best[48];
  int best_d = 3;
  const char *const texts[] = {usage_text, usage_text_rest, usage_text2};
  for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
    for (const char *p = texts[t]; (p = strstr(p, "--")) != NULL; p += 2) {
      if (p > texts[t] && (isalnum((unsigned char)p[-1]) || p[-1] == '-'))
        continue;
      size_t len = 2;
      while (len < sizeof best - 1 && (islower((unsigned char)p[len]) ||
                                       isdigit((unsigned char)p[len]) || p[len] == '-'))
        len++;
      char cand[sizeof best];
      memcpy(cand, p, len);
      cand[len] = '\0';
      int dist = edit_distance(a, (int)n, cand);
      if (len > 3 && dist < best_d) {
        best_d = dist;
        memcpy(best, cand, len + 1);
      }
    }
  for (int k = 0; k < SPEC_KEY_COUNT; k++) {
    char cand[sizeof best];
    snprintf(cand, sizeof cand, "--%s", spec_key_name((SpecKey)k));
    for (char *c = cand; *c; c++)
      *c = *c == '_' ? '-' : *c;
    int dist = edit_distance(a, (int)n, cand);
    if (dist < best_d) {
      best_d = dist;
      memcpy(best, cand, strlen(cand) + 1);
    }
  }
  return best_d < 3 && n > 3 ? best : NULL;
}

/* The argument after argv[*i], the value of option flag, consumed; or NULL
 * (reported) if there is none or it is another option: "--width -o m.c" must
 * not read "-o" as the width and m.c as the spec. Negative numbers pass. */
static const char *next_value(int argc, char **argv, int *i, const char *flag, Diag *d) {
  if (*i + 1 >= argc) {
    diag(d, DIAG_ERROR, "option '%s' needs a value", flag);
    return NULL;
  }
  const char *v = argv[*i + 1];
  if (v[0] == '-' && v[1] && !isdigit((unsigned char)v[1]) && v[1] != '.') {
    diag(d, DIAG_ERROR,
         "option '%s' needs a value, but '%s' is an option (for a value that starts with "
         "'-', write %s=VALUE)",
         flag, v, flag);
    return NULL;
  }
  return argv[++*i];
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || errno || *s == '-')
    return false;
  *out = v;
  return true;
}

/* Returns 0 to go on, or an exit status + 1. */
static int parse_args(int argc, char **argv, Options *o, Diag *d) {
  o->seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *eq = strchr(a, '=');
    /* Value of a flag: "--x=v" or the next argument. */
#define VALUE() (eq ? eq + 1 : next_value(argc, argv, &i, a, d))
    size_t flen = eq ? (size_t)(eq - a) : strlen(a);
#define IS(name) (strlen(name) == flen && strncmp(a, name, flen) == 0)
    int key;
    if (IS("-h") || IS("--help")) {
      print_usage(stdout);
      return 1;
    } else if (IS("--version")) {
      printf("rsc %s\n", RSC_VERSION);
      return 1;
    } else if (IS("-o") || IS("--output")) {
      if (!(o->out_c = VALUE()))
        return 2;
    } else if (IS("--name")) {
      if (!(o->name = VALUE()))
        return 2;
    } else if (IS("--weights")) {
      if (!(o->weights = VALUE()))
        return 2;
    } else if (IS("--export-weights")) {
      if (!(o->export_weights = VALUE()))
        return 2;
    } else if (IS("--embed-weights")) {
      o->embed_weights = true;
    } else if (IS("--manifest")) {
      if (!(o->manifest = VALUE()))
        return 2;
    } else if (IS("--dump")) {
      if (!(o->dump = VALUE()))
        return 2;
    } else if (IS("--seed")) {
      const char *v = VALUE();
      if (!v)
        return 2;
      if (!parse_u64(v, &o->seed)) {
        diag(d, DIAG_ERROR, "--seed needs a non-negative integer, not '%s'", v);
        return 2;
      }
    } else if (IS("--main")) {
      o->with_main = true;
    } else if (IS("--stats")) {
      o->stats = true;
    } else if (IS("--time-passes")) {
      o->time_passes = true;
    } else if (IS("--emit")) {
      const char *v = VALUE();
      if (!v)
        return 2;
      if (strcmp(v, "dot") == 0 || strcmp(v, "dot:fused") == 0)
        o->dot = "fused";
      else if (strcmp(v, "dot:built") == 0)
        o->dot = "built";
      else {
        diag(d, DIAG_ERROR, "--emit takes dot, dot:built or dot:fused, not '%s'", v);
        return 2;
      }
    } else if (IS("--verify")) {
      o->verify = true;
    } else if (IS("--verify-weights")) {
      if (!(o->verify_weights = VALUE()))
        return 2;
    } else if (IS("--summary")) {
      o->summary = eq ? eq + 1 : "text";
      if (strcmp(o->summary, "text") != 0 && strcmp(o->summary, "json") != 0) {
        diag(d, DIAG_ERROR, "--summary takes 'text' or 'json', not '%s'", o->summary);
        return 2;
      }
    } else if (IS("--no-winograd")) {
      o->no_wino = true;
    } else if (IS("--target")) {
      const char *v = VALUE();
      if (!v)
        return 2;
      o->target = -1;
      for (int t = 0; t < TARGET_COUNT; t++)
        if (strcmp(v, target_name((Target)t)) == 0)
          o->target = t;
      if (o->target < 0) {
        diag(d, DIAG_ERROR, "--target must be avx512, avx2, generic or avx512-bf16, not '%s'",
             v);
        return 2;
      }
      if (o->target == TARGET_AMX) {
        diag(d, DIAG_ERROR, "--target amx: rsc has no AMX kernels yet (use avx512-bf16)");
        return 2;
      }
    } else if (IS("--cpu")) {
      const char *v = VALUE();
      if (!v)
        return 2;
      o->machine = -1;
      for (int m = 0; m < MACHINE_COUNT; m++)
        if (strcmp(v, machine_name((Machine)m)) == 0)
          o->machine = m;
      if (o->machine < 0) {
        diag(d, DIAG_ERROR, "--cpu must be zen4, zen5, spr or generic, not '%s'", v);
        return 2;
      }
    } else if (IS("--tune")) {
      if (!(o->tune = VALUE()))
        return 2;
    } else if (IS("--tune-timings")) {
      if (!(o->tune_timings = VALUE()))
        return 2;
    } else if (IS("--tuning")) {
      if (!(o->tuning = VALUE()))
        return 2;
    } else if ((key = spec_flag(a)) >= 0) {
      const char *v = VALUE();
      if (!v)
        return 2;
      if (strpbrk(v, "\n\r#")) {
        diag(d, DIAG_ERROR, "value of '%.*s' must be a single line without '#'", (int)flen, a);
        return 2;
      }
      sb_printf(&o->cmdline_spec, "%s %s\n", spec_key_name((SpecKey)key), v);
    } else if (a[0] == '-' && a[1]) {
      const char *near = nearest_option(a, flen);
      if (near)
        diag(d, DIAG_ERROR, "unknown option '%s'; did you mean '%s'? (see rsc --help)", a, near);
      else
        diag(d, DIAG_ERROR, "unknown option '%s' (see rsc --help)", a);
      return 2;
    } else if (!o->spec_path) {
      o->spec_path = a;
    } else {
      diag(d, DIAG_ERROR, "more than one spec file: '%s' and '%s'", o->spec_path, a);
      return 2;
    }
#undef IS
#undef VALUE
  }
  return 0;
}

/* Where templates/ and runtime/ are: $RSC_DATADIR, the source tree the binary
 * was built in (build/rsc -> ..), or the install tree (bin/rsc -> ../share/rsc). */
static char *find_datadir(void) {
  const char *env = getenv("RSC_DATADIR");
  if (env && *env)
    return xstrdup(env);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return xstrdup(".");
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash)
    *slash = '\0';
  static const char *const candidates[] = {"%s/..", "%s/../share/rsc"};
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
    char *dir = xstrfmt(candidates[i], exe);
    char *probe = xstrfmt("%s/templates/model.c.m4", dir);
    bool found = access(probe, R_OK) == 0;
    free(probe);
    if (found)
      return dir;
    free(dir);
  }
  return xstrdup(".");
}

/* Prefix from --name, or the output's base name made a C identifier. */
static char *model_prefix(const Options *o, Diag *d) {
  if (o->name) {
    bool ok = (isalpha((unsigned char)o->name[0]) || o->name[0] == '_');
    for (const char *p = o->name; *p; p++)
      ok = ok && (isalnum((unsigned char)*p) || *p == '_');
    if (!ok || strlen(o->name) > 64) {
      diag(d, DIAG_ERROR, "--name '%s' is not a C identifier of at most 64 characters", o->name);
      return NULL;
    }
    return xstrdup(o->name);
  }
  const char *base = strrchr(o->out_c, '/');
  base = base ? base + 1 : o->out_c;
  size_t n = strlen(base);
  if (n > 2 && strcmp(base + n - 2, ".c") == 0)
    n -= 2;
  if (n == 0 || n > 64) {
    diag(d, DIAG_ERROR, "cannot make a C identifier of output name '%s'; use --name", base);
    return NULL;
  }
  char *id = xstrfmt("%s%.*s", isdigit((unsigned char)base[0]) ? "m_" : "", (int)n, base);
  for (char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p))
      *p = '_';
  return id;
}

/* Every path of the run, checked before anything is written: outputs only
 * onto regular files or new names, no two paths naming one file. OUT.h and
 * OUT.weights are named after OUT.c, which must end in ".c" (else "-o m.h"
 * would write C into m.h and the API into m.h.h). */
static bool check_paths(const Options *o, Diag *d) {
  size_t n = o->out_c ? strlen(o->out_c) : 0;
  if (o->out_c && (n < 2 || strcmp(o->out_c + n - 2, ".c") != 0)) {
    diag(d, DIAG_ERROR, "-o '%s' must name a .c file (OUT.h and OUT.weights are written beside "
         "it)", o->out_c);
    return false;
  }
  char *h = o->out_c ? xstrfmt("%.*s.h", (int)(n - 2), o->out_c) : NULL;
  char *w = o->out_c ? xstrfmt("%.*s.weights", (int)(n - 2), o->out_c) : NULL;
  const RunPath paths[] = {
      {"the spec", o->spec_path, false, false},
      {"--weights", o->weights, false, o->verify}, /* --verify reads it again */
      {"--verify-weights", o->verify_weights, false, true},
      {"-o", o->out_c, true, false},
      {"-o's header", h, true, false},
      {"-o's weights", w, true, false},
      {"--manifest", o->manifest, true, false},
      {"--export-weights", o->export_weights, true, false},
      {"--tune", o->tune, true, false},
      {"--tune-timings", o->tune_timings, false, false},
      {"--tuning", o->tuning, false, false},
  };
  bool ok = outputs_check_paths(paths, (int)(sizeof paths / sizeof *paths), d);
  free(h);
  free(w);
  return ok;
}

static Outputs export_out; /* --export-weights' temporary until the end */

/* --dump's comma list as PASS_BITs; false (reported) for an unknown name. */
static bool dump_passes(const char *list, unsigned *bits, Diag *d) {
  *bits = 0;
  if (!list)
    return true;
  if (strcmp(list, "all") == 0) {
    *bits = PASS_BIT(PASS_COUNT) - 1;
    return true;
  }
  for (const char *p = list; p; p = strchr(p, ','), p = p ? p + 1 : NULL) {
    const char *end = strchr(p, ',');
    int pass = pass_find(p, end ? (size_t)(end - p) : strlen(p));
    if (pass < 0) {
      StrBuf names = {0};
      for (int k = 0; k < PASS_COUNT; k++)
        sb_printf(&names, "%s%s", k ? " " : "", pass_name((Pass)k));
      diag(d, DIAG_ERROR, "--dump: unknown pass in '%s' (passes: %s)", list, names.buf);
      sb_free(&names);
      return false;
    }
    *bits |= PASS_BIT(pass);
  }
  return true;
}

/* The pipeline (pipeline.c's PASS_LIST), with --dump=NAME printing the IR
 * after NAME. --export-weights alone needs nothing after the import. */
static bool compile(Graph *g, const Options *o, Diag *d) {
  PassCtx c = {.d = d,
               .weights = o->weights,
               .seed = o->seed,
               .export_weights = o->export_weights,
               .export_out = &export_out,
               .dump_out = stdout,
               .times = o->time_passes ? stderr : NULL,
               .summary = o->summary_data};
  if (!dump_passes(o->dump, &c.dump, d))
    return false;
  bool export_only = !o->out_c && !o->dump && !o->summary && !o->dot && !o->tune;
  return compile_to(g, &c, export_only ? PASS_WEIGHTS : PASS_PACK);
}

static void print_stats(const Graph *g, const char *out_c) {
  int layers = 0, kernels = 0;
  NameMap seen = {0}; /* kernel names */
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op == OP_INPUT)
      continue;
    layers++;
    kernels += namemap_put(&seen, n->sched->kernel, i) < 0;
  }
  namemap_free(&seen);
  double arena = g->arena_floats * 4.0, bound = g->arena_lower_bound * 4.0;
  printf("%s: %d layers, %d kernels, weights %.1f MiB, arena %.2f MiB (lower bound %.2f MiB, "
         "+%.1f%%)\n",
         out_c ? out_c : "rsc", layers, kernels, g->weight_floats * 4.0 / 1048576, arena / 1048576,
         bound / 1048576, bound > 0 ? (arena / bound - 1) * 100 : 0.0);
}

/* The target --target defaults to: what the CPU running rsc has; under
 * --precision bf16 that is avx512-bf16 where the CPU has it. */
static Target host_target(Precision p) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  if (p == PRECISION_BF16 && __builtin_cpu_supports("avx512bf16"))
    return TARGET_AVX512_BF16;
  if (__builtin_cpu_supports("avx512f"))
    return TARGET_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return TARGET_AVX2;
#endif
  (void)p;
  return TARGET_GENERIC;
}

int main(int argc, char **argv) {
  /* A file over the size limit (ulimit -f) must be a reported write error
   * (EFBIG) with temporaries removed, not a kill by SIGXFSZ mid-write. */
  signal(SIGXFSZ, SIG_IGN);
  Diag d;
  diag_init(&d, stderr);
  Options o = {0};
  o.target = -1;
  o.machine = -1;
  double start = now_seconds();
  int rc = parse_args(argc, argv, &o, &d);
  if (rc)
    return rc == 1 ? 0 : 1;
  if (o.verify_weights && !o.verify) {
    diag(&d, DIAG_ERROR, "--verify-weights needs --verify");
    return 1;
  }
  char *verify_dir = NULL, *verify_c = NULL;
  if (o.verify && (!(verify_dir = verify_workdir(&d))))
    return 1;
  if (o.verify && !o.out_c)
    o.out_c = verify_c = xstrfmt("%s/model.c", verify_dir);
  if (o.tune && o.tuning) {
    diag(&d, DIAG_ERROR, "--tune times the cost model's candidates: it takes no --tuning");
    return 1;
  }
  if (o.tune_timings && !o.tune) {
    diag(&d, DIAG_ERROR, "--tune-timings needs --tune");
    return 1;
  }
  if (!o.out_c && !o.dump && !o.summary && !o.dot && !o.export_weights && !o.tune) {
    diag(&d, DIAG_ERROR, "no output file: give -o OUT.c (or --dump=PASS, --summary, --emit=dot, "
         "--export-weights FILE, --tune FILE); see rsc --help");
    return 1;
  }
  if (!check_paths(&o, &d)) {
    if (verify_dir)
      rmdir(verify_dir); /* still empty */
    free(verify_dir);
    free(verify_c);
    return 1;
  }
  Spec spec;
  spec_defaults(&spec);
  SrcFile file = {0}, flags = {.name = "<command line>"};
  char *file_text = NULL;
  size_t len = 0;
  bool ok = true;
  if (o.spec_path) {
    char why[128];
    file_text = read_input(o.spec_path, SPEC_MAX_BYTES, &len, why);
    if (!file_text) {
      diag(&d, DIAG_ERROR, "cannot read spec '%s': %s", o.spec_path, why);
      return 1;
    }
    file = (SrcFile){.name = o.spec_path, .text = file_text, .len = len};
    ok = spec_parse(&spec, &file, &d);
  }
  flags.text = o.cmdline_spec.buf ? o.cmdline_spec.buf : "";
  flags.len = o.cmdline_spec.len;
  ok = ok && spec_parse(&spec, &flags, &d) && spec_finish(&spec, &d);
  char *prefix = NULL, *datadir = NULL, *weights_note = NULL;
  Graph g;
  graph_init(&g, &spec);
  g.target = o.target >= 0 ? (Target)o.target : host_target(spec.precision);
  g.machine = o.machine >= 0 ? (Machine)o.machine : machine_host();
  if (ok && spec.precision == PRECISION_BF16 && g.target != TARGET_AVX512_BF16) {
    /* The bf16 kernels are AVX512-BF16 code; anything else would run
     * their scalar fallback, many times slower than float32. */
    diag_loc(&d, DIAG_ERROR, &spec.loc[KEY_PRECISION],
             "'precision bf16' needs --target avx512-bf16 (%s)",
             o.target >= 0 ? "not the one given" : "this CPU lacks AVX512-BF16; give the target "
                                                   "to compile for another CPU");
    ok = false;
  }
  g.no_wino = o.no_wino;
  Tuning tuning = {0};
  if (ok && o.tuning) {
    ok = tuning_read(&tuning, o.tuning, &d);
    if (ok && (tuning.machine != g.machine || tuning.target != g.target)) {
      diag_at(&d, DIAG_ERROR, &tuning.file, tuning.machine_line, 1, 7,
              "tuned for --cpu %s --target %s, not this compile's --cpu %s --target %s "
              "(give those, or tune on this machine)",
              machine_name(tuning.machine), target_name(tuning.target), machine_name(g.machine),
              target_name(g.target));
      ok = false;
    }
    g.tuning = &tuning;
  }
  /* The tuner times the float32 kernels' schedules; bf16 convs have their own. */
  if (ok && (o.tune || o.tuning) && spec.precision != PRECISION_FP32) {
    diag(&d, DIAG_ERROR, "--tune and --tuning schedule float32 convs, not 'precision %s'",
         precision_name(spec.precision));
    ok = false;
  }
  /* Timings are of this host's kernels: they say nothing of another kind. */
  if (ok && o.tune && !o.tune_timings &&
      (g.machine != machine_host() || g.target != host_target(spec.precision))) {
    diag(&d, DIAG_ERROR, "--tune times this host (--cpu %s --target %s), not --cpu %s --target %s",
         machine_name(machine_host()), target_name(host_target(spec.precision)), machine_name(g.machine),
         target_name(g.target));
    ok = false;
  }
  Summary summary = {0};
  if (o.summary || o.verify || o.dot)
    o.summary_data = &summary;
  if (ok)
    ok = compile(&g, &o, &d);
  if (ok && o.tune) {
    datadir = find_datadir();
    TuneOptions to = {.out = o.tune, .timings = o.tune_timings, .datadir = datadir};
    ok = tune_run(&g, &to, &d);
  }
  if (ok && o.out_c) {
    prefix = model_prefix(&o, &d);
    free(datadir);
    datadir = find_datadir();
    weights_note = !o.weights             ? xstrfmt("random, seed %llu", (unsigned long long)o.seed)
                   : weights_is_h5(o.weights) ? xstrdup("imported from Keras HDF5 weights")
                                              : xstrdup("imported from a timm safetensors state_dict");
    EmitOptions eo = {.out_c = o.out_c,
                      .prefix = prefix,
                      .datadir = datadir,
                      .manifest = o.manifest,
                      .with_main = o.with_main,
                      .embed_weights = o.embed_weights,
                      .cmdline = weights_note};
    double t0 = now_seconds();
    ok = prefix && emit_model(&g, &eo, &d);
    if (o.time_passes)
      pass_time_line(stderr, "emit", now_seconds() - t0);
  }
  if (ok && o.stats)
    print_stats(&g, o.out_c);
  if (ok && (o.summary || o.verify || o.dot))
    summary_attach(&summary, &g);
  if (ok && o.dot)
    dot_write(&g, &summary, strcmp(o.dot, "fused") == 0, stdout);
  if (ok && o.summary) {
    const char *model = prefix ? prefix : o.name ? o.name : o.spec_path ? o.spec_path : "rsc";
    if (strcmp(o.summary, "json") == 0)
      summary_print_json(&summary, &g, model, stdout);
    else
      summary_print(&summary, &g, model, stdout);
  }
  if (ok && o.verify) {
    char *wfile = xstrfmt("%.*s.weights", (int)(strlen(o.out_c) - 2), o.out_c);
    VerifyOptions vo = {.workdir = verify_dir,
                        .out_c = o.out_c,
                        .prefix = prefix,
                        .weights_file = o.verify_weights ? o.verify_weights : wfile,
                        .safetensors = o.weights,
                        .seed = o.seed,
                        .input_seed = o.seed};
    ok = verify_model(&g, &summary, &vo, &d);
    free(wfile);
  }
  if (verify_c) { /* the model was only written to be verified */
    char *base = xstrfmt("%s/model", verify_dir);
    static const char *const ext[] = {".c", ".h", ".weights"};
    for (int i = 0; i < 3; i++) {
      char *f = xstrfmt("%s%s", base, ext[i]);
      remove(f);
      free(f);
    }
    free(base);
    free(verify_c);
  }
  if (verify_dir) {
    rmdir(verify_dir);
    free(verify_dir);
  }
  if (o.export_weights) {
    if (ok && d.errors == 0)
      ok = outputs_commit(&export_out, &d);
    else
      outputs_abort(&export_out);
  }
  if (o.time_passes)
    pass_time_line(stderr, "total", now_seconds() - start);
  summary_free(&summary);
  graph_free(&g);
  tuning_free(&tuning);
  free(prefix);
  free(datadir);
  free(weights_note);
  free(file_text);
  sb_free(&o.cmdline_spec);
  return ok && d.errors == 0 ? 0 : 1;
}
