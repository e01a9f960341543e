/*
 * image.c - image decoding (libpng's simplified API, libjpeg) and timm's eval
 * transform for examples/classify.
 *
 * The resampler reproduces what timm's eval pipeline does to a PIL image:
 * torchvision's Resize calls PIL's Image.resize(size, BICUBIC), which filters
 * separably with the cubic convolution kernel (a = -0.5), widening its support
 * by the scale factor when shrinking (antialiasing), normalising each output's
 * weights to sum 1 and applying them in 22-bit fixed point with 8-bit rounding
 * after each pass, horizontal first. Doing the same arithmetic here makes the
 * crop the network sees match Python's to the byte in practice (the test
 * compares them: tests/classify.sh).
 */
#include "image.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE and size_t */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

void image_free(Image *im) {
  free(im->rgb);
  im->rgb = NULL;
  im->w = im->h = 0;
}

static int load_png(const char *path, Image *out) {
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&im, path)) {
    fprintf(stderr, "%s: %s\n", path, im.message);
    return -1;
  }
  /* 8-bit RGBA output is not premultiplied, so dropping alpha leaves the
   * colours as stored; 16-bit files without gAMA/sRGB are taken as sRGB. */
  im.format = PNG_FORMAT_RGBA;
  im.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  size_t n = PNG_IMAGE_SIZE(im);
  uint8_t *rgba = malloc(n);
  if (!rgba) {
    png_image_free(&im);
    fprintf(stderr, "%s: out of memory\n", path);
    return -1;
  }
  if (!png_image_finish_read(&im, NULL, rgba, 0, NULL)) {
    fprintf(stderr, "%s: %s\n", path, im.message);
    free(rgba);
    return -1;
  }
  out->w = (int)im.width;
  out->h = (int)im.height;
  out->rgb = malloc((size_t)out->w * (size_t)out->h * 3);
  if (!out->rgb) {
    free(rgba);
    fprintf(stderr, "%s: out of memory\n", path);
    return -1;
  }
  for (size_t i = 0; i < (size_t)out->w * (size_t)out->h; i++)
    memcpy(out->rgb + 3 * i, rgba + 4 * i, 3);
  free(rgba);
  return 0;
}

/* libjpeg reports errors through a callback that must not return. */
typedef struct JpegErr {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
} JpegErr;

static void jpeg_fail(j_common_ptr cinfo) {
  (*cinfo->err->output_message)(cinfo);
  longjmp(((JpegErr *)cinfo->err)->jump, 1);
}

static int load_jpeg(const char *path, Image *out) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  struct jpeg_decompress_struct cinfo;
  JpegErr err;
  /* volatile: modified between setjmp and a possible longjmp. */
  uint8_t *volatile rgb = NULL;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    free(rgb);
    fprintf(stderr, "%s: cannot decode this JPEG\n", path);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB; /* libjpeg's defaults otherwise: what PIL decodes with */
  jpeg_start_decompress(&cinfo);
  const size_t stride = (size_t)cinfo.output_width * 3;
  rgb = malloc(stride * cinfo.output_height);
  if (!rgb) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    fprintf(stderr, "%s: out of memory\n", path);
    return -1;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = rgb + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  out->w = (int)cinfo.output_width;
  out->h = (int)cinfo.output_height;
  out->rgb = rgb;
  jpeg_destroy_decompress(&cinfo);
  fclose(f);
  return 0;
}

int image_load(const char *path, Image *out) {
  unsigned char magic[8] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t n = fread(magic, 1, sizeof magic, f);
  fclose(f);
  memset(out, 0, sizeof *out);
  if (n == 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0)
    return load_png(path, out);
  if (n >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff)
    return load_jpeg(path, out);
  fprintf(stderr, "%s: neither a PNG nor a JPEG file\n", path);
  return -1;
}

/* ---------------------------------------------------------------- resampling */

enum { PRECISION_BITS = 22 }; /* 32 - 8 - 2: 8-bit samples times the weights fit */

/* Cubic convolution kernel with a = -0.5 (Keys), support [-2, 2]. */
static double cubic(double x) {
  const double a = -0.5;
  x = fabs(x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* Fixed-point weights of one axis: output i reads inputs first[i] ..
 * first[i] + count[i] - 1 with weights k[i * ksize + j]. */
typedef struct Axis {
  int ksize;
  int *first, *count;
  int32_t *k;
} Axis;

static int axis_init(Axis *a, int in_size, int out_size) {
  const double scale = (double)in_size / out_size;
  const double fscale = scale < 1.0 ? 1.0 : scale; /* widen only when shrinking */
  const double support = 2.0 * fscale, ss = 1.0 / fscale;
  a->ksize = (int)ceil(support) * 2 + 1;
  a->first = malloc((size_t)out_size * sizeof *a->first);
  a->count = malloc((size_t)out_size * sizeof *a->count);
  a->k = calloc((size_t)out_size * (size_t)a->ksize, sizeof *a->k);
  double *w = malloc((size_t)a->ksize * sizeof *w);
  if (!a->first || !a->count || !a->k || !w) {
    free(w);
    return -1;
  }
  for (int i = 0; i < out_size; i++) {
    const double center = (i + 0.5) * scale;
    int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
    if (lo < 0)
      lo = 0;
    if (hi > in_size)
      hi = in_size;
    double sum = 0.0;
    for (int j = 0; j < hi - lo; j++) {
      w[j] = cubic((j + lo - center + 0.5) * ss);
      sum += w[j];
    }
    for (int j = 0; j < hi - lo; j++) {
      double v = sum != 0.0 ? w[j] / sum : w[j];
      a->k[(size_t)i * (size_t)a->ksize + (size_t)j] =
          (int32_t)(v * (1 << PRECISION_BITS) + (v < 0.0 ? -0.5 : 0.5));
    }
    a->first[i] = lo;
    a->count[i] = hi - lo;
  }
  free(w);
  return 0;
}

static void axis_free(Axis *a) {
  free(a->first);
  free(a->count);
  free(a->k);
}

/* Rounds a fixed-point sum (which started at one half) to a byte. */
static uint8_t clip8(int64_t v) {
  if (v <= 0)
    return 0;
  v >>= PRECISION_BITS;
  return v > 255 ? 255 : (uint8_t)v;
}

int image_resize_bicubic(const Image *src, int w, int h, Image *out) {
  Axis ax = {0}, ay = {0};
  uint8_t *tmp = malloc((size_t)w * (size_t)src->h * 3);
  out->w = w;
  out->h = h;
  out->rgb = malloc((size_t)w * (size_t)h * 3);
  if (!tmp || !out->rgb || axis_init(&ax, src->w, w) || axis_init(&ay, src->h, h)) {
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    image_free(out);
    return -1;
  }
  /* Horizontal: src->w -> w on every row. */
  for (int y = 0; y < src->h; y++)
    for (int x = 0; x < w; x++) {
      const int32_t *k = ax.k + (size_t)x * (size_t)ax.ksize;
      const uint8_t *p = src->rgb + ((size_t)y * (size_t)src->w + (size_t)ax.first[x]) * 3;
      for (int c = 0; c < 3; c++) {
        int64_t s = (int64_t)1 << (PRECISION_BITS - 1);
        for (int j = 0; j < ax.count[x]; j++)
          s += (int64_t)p[3 * j + c] * k[j];
        tmp[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = clip8(s);
      }
    }
  /* Vertical: src->h -> h on every column. */
  for (int y = 0; y < h; y++) {
    const int32_t *k = ay.k + (size_t)y * (size_t)ay.ksize;
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        const uint8_t *col = tmp + ((size_t)ay.first[y] * (size_t)w + (size_t)x) * 3 + (size_t)c;
        int64_t s = (int64_t)1 << (PRECISION_BITS - 1);
        for (int j = 0; j < ay.count[y]; j++)
          s += (int64_t)col[(size_t)j * (size_t)w * 3] * k[j];
        out->rgb[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = clip8(s);
      }
  }
  free(tmp);
  axis_free(&ax);
  axis_free(&ay);
  return 0;
}

/* Python's round(d / 2) for an integer d >= 0: halves go to the even neighbour. */
static int half_round_even(int d) {
  int q = d / 2;
  return (d % 2 && q % 2) ? q + 1 : q;
}

int image_timm_eval(const Image *src, int size, double crop_pct, Image *out) {
  const int scale = (int)floor(size / crop_pct);
  const int short_side = src->w < src->h ? src->w : src->h;
  const int long_side = src->w < src->h ? src->h : src->w;
  const int long_new = (int)((double)scale * long_side / short_side);
  const int rw = src->w <= src->h ? scale : long_new, rh = src->w <= src->h ? long_new : scale;
  if (scale < size || long_new < size)
    return -1;
  Image r;
  if (image_resize_bicubic(src, rw, rh, &r))
    return -1;
  const int top = half_round_even(rh - size), left = half_round_even(rw - size);
  out->w = out->h = size;
  out->rgb = malloc((size_t)size * (size_t)size * 3);
  if (!out->rgb) {
    image_free(&r);
    return -1;
  }
  for (int y = 0; y < size; y++)
    memcpy(out->rgb + (size_t)y * (size_t)size * 3,
           r.rgb + (((size_t)top + (size_t)y) * (size_t)rw + (size_t)left) * 3, (size_t)size * 3);
  image_free(&r);
  return 0;
}
