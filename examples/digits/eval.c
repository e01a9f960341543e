/*
 * eval.c - classifies the held-out digits through the C that rsc generated from
 * digits.spec and digits.safetensors, and compares with PyTorch.
 *
 * Usage: eval -w digits.weights [-r REPEAT] [-l LOGITS.f32 [-t TOL]] heldout.u8 heldout.txt
 *   heldout.u8   the images, DIGITS_IN_SIZE bytes each (RGB NHWC, as the model
 *                takes them: rsc compiled the preprocessing in)
 *   heldout.txt  one line per image, "label torch_prediction" ('#' comments)
 *   LOGITS.f32   optional: PyTorch's logits, float32 [images][10]; then every
 *                C logit must also be within TOL * max|logit| of PyTorch's
 *                (TOL default 1e-4, float32; a bf16 model, rsc --precision
 *                bf16, rounds every conv's operands to 8 significant bits)
 * Prints the accuracy of the generated C next to PyTorch's on the same images,
 * every image where the two predict differently, and the time per image
 * (median over REPEAT passes over the whole set, default 5). Exit status 0 when
 * the predictions (and logits) agree image for image, 1 when not or on any
 * error, 2 on usage.
 *
 * Build: rsc examples/digits/digits.spec --weights examples/digits/digits.safetensors
 *          --name digits -o DIR/digits.c
 *        cc -std=c11 -O2 -IDIR -o eval examples/digits/eval.c DIR/digits.c -lm
 */
#include "digits.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(DIGITS_IN_U8 == 1 && DIGITS_IN_NCHW == 0 && DIGITS_IN_IMAGENET == 1,
               "eval.c feeds RGB bytes, NHWC, and relies on the compiled-in preprocessing");
_Static_assert(DIGITS_BATCH == 1 && DIGITS_OUT_SIZE == 10, "one image in, ten logits out");

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static int argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

/* Reads "label prediction" lines into two arrays of up to cap entries; returns
 * the count, or -1 on a malformed line. */
static long read_truth(FILE *f, int *label, int *pred, long cap) {
  char line[256];
  long n = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n')
      continue;
    if (n == cap || sscanf(line, "%d %d", &label[n], &pred[n]) != 2 || label[n] < 0 ||
        label[n] > 9 || pred[n] < 0 || pred[n] > 9)
      return -1;
    n++;
  }
  return n;
}

static int usage(void) {
  fprintf(stderr, "usage: eval -w digits.weights [-r REPEAT] [-l LOGITS.f32 [-t TOL]] heldout.u8 "
                  "heldout.txt\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *weights = NULL, *img_path = NULL, *txt_path = NULL, *logits_path = NULL;
  long repeat = 5;
  double tol = 1e-4;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
      weights = argv[++i];
    } else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
      logits_path = argv[++i];
    } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
      char *end;
      tol = strtod(argv[++i], &end);
      if (*end || !(tol > 0 && tol < 1))
        return usage();
    } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
      char *end;
      repeat = strtol(argv[++i], &end, 10);
      if (*end || repeat < 1 || repeat > 10000)
        return usage();
    } else if (!img_path) {
      img_path = argv[i];
    } else if (!txt_path) {
      txt_path = argv[i];
    } else {
      return usage();
    }
  }
  if (!weights || !txt_path)
    return usage();

  /* The images: a whole number of DIGITS_IN_SIZE-byte images. */
  FILE *f = fopen(img_path, "rb");
  if (!f || fseek(f, 0, SEEK_END) != 0) {
    fprintf(stderr, "eval: cannot read %s\n", img_path);
    return 1;
  }
  long bytes = ftell(f);
  rewind(f);
  if (bytes <= 0 || bytes % DIGITS_IN_SIZE != 0) {
    fprintf(stderr, "eval: %s: %ld bytes is not a whole number of %d-byte images\n", img_path,
            bytes, DIGITS_IN_SIZE);
    return 1;
  }
  long n = bytes / DIGITS_IN_SIZE;
  DIGITS_IN_TYPE *img = malloc((size_t)bytes);
  int *label = malloc((size_t)n * sizeof *label), *torch_pred = malloc((size_t)n * sizeof *label);
  int *c_pred = malloc((size_t)n * sizeof *c_pred);
  float *c_logits = malloc((size_t)n * DIGITS_OUT_SIZE * sizeof *c_logits);
  float *torch_logits = malloc((size_t)n * DIGITS_OUT_SIZE * sizeof *torch_logits);
  double *ms = malloc((size_t)repeat * sizeof *ms);
  if (!img || !label || !torch_pred || !c_pred || !c_logits || !torch_logits || !ms) {
    fprintf(stderr, "eval: out of memory\n");
    return 1;
  }
  if (fread(img, 1, (size_t)bytes, f) != (size_t)bytes) {
    fprintf(stderr, "eval: cannot read %s\n", img_path);
    return 1;
  }
  fclose(f);
  f = fopen(txt_path, "r");
  long nt = f ? read_truth(f, label, torch_pred, n) : -1;
  if (f)
    fclose(f);
  if (nt != n) {
    fprintf(stderr, "eval: %s: expected %ld lines \"label torch_prediction\" (one per image)\n",
            txt_path, n);
    return 1;
  }

  if (logits_path) {
    /* Little-endian float32, as train.py writes them (and as x86 and ARM read them). */
    f = fopen(logits_path, "rb");
    size_t want = (size_t)n * DIGITS_OUT_SIZE;
    if (!f || fread(torch_logits, sizeof *torch_logits, want, f) != want || fgetc(f) != EOF) {
      fprintf(stderr, "eval: %s: expected exactly %zu float32 logits\n", logits_path, want);
      return 1;
    }
    fclose(f);
  }

  digits_model *m;
  int rc = digits_open(&m, weights);
  if (rc) {
    fprintf(stderr, "eval: %s: %s\n", weights, digits_strerror(rc));
    return 1;
  }
  long c_ok = 0, torch_ok = 0, agree = 0;
  for (long r = 0; r < repeat; r++) {
    double t0 = now_ms();
    for (long i = 0; i < n; i++) {
      float *logits = c_logits + i * DIGITS_OUT_SIZE;
      rc = digits_run(m, img + i * DIGITS_IN_SIZE, logits);
      if (rc) {
        fprintf(stderr, "eval: run: %s\n", digits_strerror(rc));
        return 1;
      }
      c_pred[i] = argmax(logits, DIGITS_OUT_SIZE);
    }
    ms[r] = (now_ms() - t0) / (double)n;
  }
  digits_close(m);
  for (long i = 0; i < n; i++) {
    c_ok += c_pred[i] == label[i];
    torch_ok += torch_pred[i] == label[i];
    agree += c_pred[i] == torch_pred[i];
    if (c_pred[i] != torch_pred[i])
      printf("  image %ld (a %d): generated C says %d, PyTorch %d\n", i, label[i], c_pred[i],
             torch_pred[i]);
  }
  bool logits_ok = true;
  double max_diff = 0, max_ref = 0;
  if (logits_path) {
    for (long i = 0; i < n * DIGITS_OUT_SIZE; i++) {
      double diff = fabs((double)c_logits[i] - torch_logits[i]);
      max_diff = diff > max_diff ? diff : max_diff;
      max_ref = fabs(torch_logits[i]) > max_ref ? fabs(torch_logits[i]) : max_ref;
    }
    logits_ok = max_diff <= tol * max_ref;
  }
  qsort(ms, (size_t)repeat, sizeof *ms, cmp_double);
  printf("held-out images:     %ld\n", n);
  printf("accuracy, rsc C:     %.2f%% (%ld/%ld)\n", 100.0 * (double)c_ok / (double)n, c_ok, n);
  printf("accuracy, PyTorch:   %.2f%% (%ld/%ld)\n", 100.0 * (double)torch_ok / (double)n, torch_ok,
         n);
  printf("same prediction:     %ld/%ld images%s\n", agree, n, agree == n ? "" : "  <-- MISMATCH");
  if (logits_path)
    printf("logits vs PyTorch:   max|C - PyTorch| %.3g, %.3g of max|logit| %.3g%s\n", max_diff,
           max_diff / max_ref, max_ref, logits_ok ? "" : "  <-- over the tolerance");
  printf("time per image:      %.4f ms (median of %ld passes over the set; min %.4f ms)\n",
         ms[repeat / 2], repeat, ms[0]);
  free(img);
  free(label);
  free(torch_pred);
  free(c_pred);
  free(c_logits);
  free(torch_logits);
  free(ms);
  return agree == n && logits_ok ? 0 : 1;
}
