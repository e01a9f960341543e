/*
 * classify.c - classifies PNG and JPEG images with a model rsc compiled, the
 * way timm evaluates ResNet-RS: decode to RGB bytes, resize the shorter side to
 * size / crop_pct (bicubic), center-crop to the model's input size, and hand
 * the bytes to the model, which applies the ImageNet normalisation itself
 * (compiled with --input-type u8 --preprocess imagenet). Prints the top-5
 * ImageNet classes of each image.
 *
 * Usage: classify -w model.weights [--crop-pct X] [--dump-input FILE] IMAGE...
 *   --crop-pct X       timm's crop_pct (default CLASSIFY_CROP_PCT, set by the
 *                      Makefile from the variant: see there)
 *   --dump-input FILE  also write the model input of the last image (RGB bytes,
 *                      [H][W][3]), to compare the decode and resize with Python
 *   -h, --help         print the usage on stdout and exit 0
 *
 * Build (examples/classify/Makefile does this): rsc SPEC --input-type u8
 * --preprocess imagenet --name model -o model.c, then
 * cc -std=c11 classify.c image.c model.c -lpng -ljpeg -lm.
 */
#include "image.h"
#include "imagenet_labels.h"
#include "model.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(MODEL_IN_U8 == 1 && MODEL_IN_NCHW == 0 && MODEL_IN_IMAGENET == 1,
               "compile the model with --input-type u8 --input-layout nhwc --preprocess imagenet");
_Static_assert(MODEL_BATCH == 1 && MODEL_IN_C == 3 && MODEL_IN_H == MODEL_IN_W,
               "classify feeds one square RGB image at a time");
_Static_assert(MODEL_OUT_SIZE == 1000, "the labels are ImageNet-1k's 1000 classes");

#ifndef CLASSIFY_CROP_PCT
#define CLASSIFY_CROP_PCT 0.875 /* timm's DEFAULT_CROP_PCT */
#endif

/* Prints the usage to f: stdout for --help (exit 0), stderr for a bad command line (exit 2). */
static int usage(FILE *f, int status) {
  fprintf(f,
          "usage: classify -w model.weights [--crop-pct X] [--dump-input FILE] IMAGE...\n"
          "  -w FILE            the model's weights (rsc's .weights file)\n"
          "  --crop-pct X       timm's crop_pct, in (0, 1] (default %g)\n"
          "  --dump-input FILE  also write the last image's model input (RGB bytes [H][W][3])\n"
          "  -h, --help         print this and exit\n"
          "Prints the top-5 ImageNet classes of each PNG or JPEG IMAGE.\n",
          CLASSIFY_CROP_PCT);
  return status;
}

/* Prints the 5 best classes with their softmax probabilities. */
static void print_top5(const float *logits) {
  double mx = logits[0], sum = 0.0;
  for (int i = 1; i < MODEL_OUT_SIZE; i++)
    mx = logits[i] > mx ? logits[i] : mx;
  for (int i = 0; i < MODEL_OUT_SIZE; i++)
    sum += exp(logits[i] - mx);
  int top[5];
  for (int r = 0; r < 5; r++) {
    int best = -1;
    for (int i = 0; i < MODEL_OUT_SIZE; i++) {
      bool taken = false;
      for (int q = 0; q < r; q++)
        taken = taken || top[q] == i;
      if (!taken && (best < 0 || logits[i] > logits[best]))
        best = i;
    }
    top[r] = best;
    printf("  %d. %6.2f%%  %s (class %d)\n", r + 1, 100.0 * exp(logits[best] - mx) / sum,
           imagenet_labels[best], best);
  }
}

int main(int argc, char **argv) {
  const char *weights = NULL, *dump = NULL;
  double crop_pct = CLASSIFY_CROP_PCT;
  int first_image = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      return usage(stdout, 0);
    } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
      weights = argv[++i];
    } else if (strcmp(argv[i], "--crop-pct") == 0 && i + 1 < argc) {
      char *end;
      crop_pct = strtod(argv[++i], &end);
      if (*end || !(crop_pct > 0.0 && crop_pct <= 1.0))
        return usage(stderr, 2);
    } else if (strcmp(argv[i], "--dump-input") == 0 && i + 1 < argc) {
      dump = argv[++i];
    } else if (argv[i][0] == '-') {
      return usage(stderr, 2);
    } else {
      first_image = i;
      break;
    }
  }
  if (!weights || !first_image)
    return usage(stderr, 2);

  model_model *m;
  int rc = model_open(&m, weights);
  if (rc) {
    fprintf(stderr, "classify: %s: %s\n", weights, model_strerror(rc));
    return 1;
  }
  int status = 0;
  for (int i = first_image; i < argc; i++) {
    Image im, crop;
    if (image_load(argv[i], &im)) {
      status = 1;
      continue;
    }
    if (image_timm_eval(&im, MODEL_IN_H, crop_pct, &crop)) {
      fprintf(stderr, "classify: %s: cannot resize a %dx%d image\n", argv[i], im.w, im.h);
      image_free(&im);
      status = 1;
      continue;
    }
    float logits[MODEL_OUT_SIZE];
    rc = model_run(m, crop.rgb, logits);
    if (rc) {
      fprintf(stderr, "classify: run: %s\n", model_strerror(rc));
      return 1;
    }
    printf("%s (%dx%d, resized and cropped to %dx%d, crop_pct %g):\n", argv[i], im.w, im.h, crop.w,
           crop.h, crop_pct);
    print_top5(logits);
    if (dump) {
      FILE *f = fopen(dump, "wb");
      size_t n = (size_t)crop.w * (size_t)crop.h * 3;
      if (!f || fwrite(crop.rgb, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "classify: cannot write %s\n", dump);
        status = 1;
      }
    }
    image_free(&im);
    image_free(&crop);
  }
  model_close(m);
  return status;
}
