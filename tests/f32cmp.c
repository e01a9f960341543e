/*
 * f32cmp - compares two raw little-endian float32 files, A (under test) against
 * B (the reference), with a tolerance relative to the reference's scale:
 *
 *   pass  iff  max_i |A[i] - B[i]| <= TOL * max_i |B[i]|   (TOL default 1e-4)
 *
 * A scale-relative bound, not a per-element one, because the outputs are logits
 * or feature maps whose small elements carry the absolute error of the big ones.
 * Any NaN or infinity in either file fails. Prints one line:
 *   max|A-B| 1.2e-06  max|B| 3.4  ratio 3.5e-07  worst [17] A=.. B=..  n 1000
 * Usage: f32cmp A.f32 B.f32 [TOL]. Exit: 0 pass, 1 fail, 2 usage or I/O error.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file of float32s; NULL and a message on error. */
static float *load(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "f32cmp: cannot open '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  unsigned char *raw = malloc(cap);
  size_t got;
  while (raw && (got = fread(raw + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      unsigned char *bigger = realloc(raw, cap *= 2);
      if (!bigger)
        free(raw);
      raw = bigger;
    }
  }
  int err = !raw || ferror(f);
  fclose(f);
  if (err) {
    fprintf(stderr, "f32cmp: cannot read '%s'\n", path);
    free(raw);
    return NULL;
  }
  if (len % 4) {
    fprintf(stderr, "f32cmp: '%s' is %zu bytes, not a whole number of float32s\n", path, len);
    free(raw);
    return NULL;
  }
  *n = len / 4;
  float *v = malloc((*n ? *n : 1) * sizeof *v);
  for (size_t i = 0; v && i < *n; i++) {
    const unsigned char *p = raw + 4 * i;
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    memcpy(&v[i], &u, sizeof u);
  }
  free(raw);
  return v;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: f32cmp A.f32 B.f32 [TOL]\n");
    return 2;
  }
  double tol = 1e-4;
  if (argc == 4) {
    char *end;
    tol = strtod(argv[3], &end);
    if (*end || end == argv[3] || !(tol >= 0)) {
      fprintf(stderr, "f32cmp: bad tolerance '%s'\n", argv[3]);
      return 2;
    }
  }
  size_t na, nb;
  float *a = load(argv[1], &na);
  float *b = a ? load(argv[2], &nb) : NULL;
  if (!a || !b) {
    free(a);
    return 2;
  }
  if (na != nb) {
    fprintf(stderr, "f32cmp: sizes differ: '%s' has %zu floats, '%s' has %zu\n", argv[1], na,
            argv[2], nb);
    free(a);
    free(b);
    return 2;
  }
  double maxdiff = 0, maxref = 0;
  size_t worst = 0, bad = 0, nonfinite = na;
  for (size_t i = 0; i < na; i++) {
    if (!isfinite(a[i]) || !isfinite(b[i])) {
      if (nonfinite == na)
        nonfinite = i;
      bad++;
      continue;
    }
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > maxdiff) {
      maxdiff = d;
      worst = i;
    }
    if (fabs((double)b[i]) > maxref)
      maxref = fabs((double)b[i]);
  }
  double ratio = maxref > 0 ? maxdiff / maxref : (maxdiff > 0 ? INFINITY : 0);
  printf("max|A-B| %.3g  max|B| %.4g  ratio %.3g  worst [%zu]", maxdiff, maxref, ratio, worst);
  if (na > 0)
    printf(" A=%.9g B=%.9g", (double)a[worst], (double)b[worst]);
  printf("  n %zu", na);
  if (bad)
    printf("  NON-FINITE %zu (first [%zu] A=%g B=%g)", bad, nonfinite, (double)a[nonfinite],
           (double)b[nonfinite]);
  printf("\n");
  int pass = !bad && maxdiff <= tol * maxref;
  free(a);
  free(b);
  return pass ? 0 : 1;
}
