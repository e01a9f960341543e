/*
 * image.c - image decoding (libpng's simplified API, libjpeg) and timm's eval
 * transform for examples/classify. A file that is truncated or corrupt, or
 * declares more pixels than PIL would open, is refused (a message naming it
 * on stderr, -1), never classified as the part that decoded.
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

/* PIL's decompression-bomb limit (2 * Image.MAX_IMAGE_PIXELS): timm's pipeline
 * refuses a larger image too, and it bounds the decode buffers (RGBA for a PNG:
 * 716 MB at most) whatever size a header declares. */
static const uint64_t max_pixels = 178956970;

static int too_many_pixels(const char *path, uint64_t w, uint64_t h) {
  if (w * h <= max_pixels)
    return 0;
  fprintf(stderr,
          "%s: %llux%llu is %llu pixels, more than the %llu this program decodes (PIL's limit, "
          "2 * Image.MAX_IMAGE_PIXELS)\n",
          path, (unsigned long long)w, (unsigned long long)h, (unsigned long long)(w * h),
          (unsigned long long)max_pixels);
  return 1;
}

/* libpng's simplified API stops reading after the image data, so a file cut in
 * its trailing chunks, or without IEND, would decode without complaint. Walks
 * the chunk headers to IEND first: 0 if the file holds it whole. */
static int png_check_complete(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1, pos = 8;
  unsigned char h[8];
  for (;;) {
    if (size < 0 || size - pos < 12 || fseek(f, pos, SEEK_SET) || fread(h, 1, 8, f) != 8)
      break;
    const uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (len > 0x7fffffff || size - pos - 12 < (long)len)
      break;
    if (memcmp(h + 4, "IEND", 4) == 0) {
      fclose(f);
      return 0;
    }
    pos += 12 + (long)len;
  }
  fclose(f);
  fprintf(stderr, "%s: truncated PNG: the file ends before its IEND chunk\n", path);
  return -1;
}

static int load_png(const char *path, Image *out) {
  if (png_check_complete(path))
    return -1;
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&im, path)) {
    fprintf(stderr, "%s: %s\n", path, im.message);
    return -1;
  }
  if (too_many_pixels(path, im.width, im.height)) {
    png_image_free(&im);
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

static void jpeg_fail(j_common_ptr cinfo) { longjmp(((JpegErr *)cinfo->err)->jump, 1); }

/* Level -1 is libjpeg's warning: corrupt data, or a file that ends early (then
 * it pads the image with grey and goes on). Either way the image is not the
 * one in the file, so a warning fails the decode as an error does. */
static void jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0)
    jpeg_fail(cinfo);
}

/* One ink (c, m or y) and black to a colour byte as PIL's convert("RGB")
 * does (cmyk2rgb): (255 - k) - round((255 - k) * ink / 255), both inks as
 * amounts (0 = none). */
static uint8_t ink_to_rgb(int ink, int k) {
  const int nk = 255 - k, t = ink * nk + 128;
  return (uint8_t)(nk - (((t >> 8) + t) >> 8));
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
  uint8_t *volatile rgb = NULL, *volatile cmyk = NULL;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_message;
  if (setjmp(err.jump)) {
    char msg[JMSG_LENGTH_MAX];
    (*cinfo.err->format_message)((j_common_ptr)&cinfo, msg);
    fprintf(stderr, "%s: cannot decode this JPEG: %s\n", path, msg);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    free(rgb);
    free(cmyk);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  if (too_many_pixels(path, cinfo.image_width, cinfo.image_height)) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return -1;
  }
  /* Four channels: libjpeg gives CMYK (converting YCCK), converted here as PIL
   * converts. Adobe's files (an APP14 marker: Photoshop, PIL, libjpeg's own
   * writer) store the inks inverted (255 = none); others as amounts. PIL
   * assumes Adobe's convention for every file. Other colour spaces: RGB,
   * libjpeg's defaults otherwise, which is what PIL decodes with. */
  const int four = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const int inverted = four && cinfo.saw_Adobe_marker;
  cinfo.out_color_space = four ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t w = cinfo.output_width, stride = w * 3;
  rgb = malloc(stride * cinfo.output_height);
  cmyk = four ? malloc(w * 4) : NULL;
  if (!rgb || (four && !cmyk)) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    free(rgb);
    free(cmyk);
    fprintf(stderr, "%s: out of memory\n", path);
    return -1;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t *dst = rgb + stride * cinfo.output_scanline;
    JSAMPROW row = four ? cmyk : dst;
    jpeg_read_scanlines(&cinfo, &row, 1);
    for (size_t x = 0; four && x < w; x++) {
      const uint8_t *p = cmyk + 4 * x;
      const int k = inverted ? 255 - p[3] : p[3];
      for (int c = 0; c < 3; c++)
        dst[3 * x + (size_t)c] = ink_to_rgb(inverted ? 255 - p[c] : p[c], k);
    }
  }
  jpeg_finish_decompress(&cinfo);
  out->w = (int)cinfo.output_width;
  out->h = (int)cinfo.output_height;
  out->rgb = rgb;
  jpeg_destroy_decompress(&cinfo);
  fclose(f);
  free(cmyk);
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

/* Fixed-point weights of one axis, for the outputs first_out .. first_out + n - 1
 * of an in_size -> out_size resize: output first_out + i reads inputs first[i] ..
 * first[i] + count[i] - 1 with weights k[i * ksize + j]. first[] and
 * first[] + count[] never decrease with i (the windows slide along the input). */
typedef struct Axis {
  int ksize;
  int *first, *count;
  int32_t *k;
} Axis;

static int axis_init(Axis *a, int in_size, int64_t out_size, int64_t first_out, int n) {
  const double scale = (double)in_size / (double)out_size;
  const double fscale = scale < 1.0 ? 1.0 : scale; /* widen only when shrinking */
  const double support = 2.0 * fscale, ss = 1.0 / fscale;
  a->ksize = (int)ceil(support) * 2 + 1;
  a->first = malloc((size_t)n * sizeof *a->first);
  a->count = malloc((size_t)n * sizeof *a->count);
  a->k = calloc((size_t)n * (size_t)a->ksize, sizeof *a->k);
  double *w = malloc((size_t)a->ksize * sizeof *w);
  if (!a->first || !a->count || !a->k || !w) {
    free(w);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    const double center = ((double)(first_out + i) + 0.5) * scale;
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

/* Each source row that some output row reads is filtered horizontally once (into
 * `row`, rounded to bytes as PIL's first pass is) and added, with its weight, to
 * the vertical sums of the output rows whose windows hold it. The sums are
 * integers, so the order of the additions does not change them: the bytes are
 * PIL's, and the memory is the crop's (sums and weights), not the resized image's. */
int image_resize_crop_bicubic(const Image *src, int64_t rw, int64_t rh, int64_t left, int64_t top,
                              int cw, int ch, Image *out) {
  Axis ax = {0}, ay = {0};
  const size_t n = (size_t)cw * (size_t)ch * 3;
  uint8_t *row = malloc((size_t)cw * 3);  /* (cw, 3): one source row, resized horizontally */
  int64_t *acc = malloc(n * sizeof *acc); /* (ch, cw, 3): vertical sums */
  out->w = cw;
  out->h = ch;
  out->rgb = malloc(n);
  if (!row || !acc || !out->rgb || axis_init(&ax, src->w, rw, left, cw) ||
      axis_init(&ay, src->h, rh, top, ch)) {
    free(row);
    free(acc);
    axis_free(&ax);
    axis_free(&ay);
    image_free(out);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    acc[i] = (int64_t)1 << (PRECISION_BITS - 1);
  int y0 = 0; /* the first output row whose window has not ended above source row r */
  const int r_end = ay.first[ch - 1] + ay.count[ch - 1];
  for (int r = ay.first[0]; r < r_end; r++) {
    /* Horizontal: source row r -> columns left .. left + cw - 1 of the resized row. */
    for (int x = 0; x < cw; x++) {
      const int32_t *k = ax.k + (size_t)x * (size_t)ax.ksize;
      const uint8_t *p = src->rgb + ((size_t)r * (size_t)src->w + (size_t)ax.first[x]) * 3;
      for (int c = 0; c < 3; c++) {
        int64_t s = (int64_t)1 << (PRECISION_BITS - 1);
        for (int j = 0; j < ax.count[x]; j++)
          s += (int64_t)p[3 * j + c] * k[j];
        row[3 * x + c] = clip8(s);
      }
    }
    /* Vertical: row r's share of every output row whose window holds it. */
    while (y0 < ch && ay.first[y0] + ay.count[y0] <= r)
      y0++;
    for (int y = y0; y < ch && ay.first[y] <= r; y++) {
      const int64_t k = ay.k[(size_t)y * (size_t)ay.ksize + (size_t)(r - ay.first[y])];
      int64_t *a = acc + (size_t)y * (size_t)cw * 3;
      for (int i = 0; i < cw * 3; i++)
        a[i] += row[i] * k;
    }
  }
  for (size_t i = 0; i < n; i++)
    out->rgb[i] = clip8(acc[i]);
  free(row);
  free(acc);
  axis_free(&ax);
  axis_free(&ay);
  return 0;
}

/* Python's round(d / 2) for an integer d >= 0: halves go to the even neighbour. */
static int64_t half_round_even(int64_t d) {
  int64_t q = d / 2;
  return (d % 2 && q % 2) ? q + 1 : q;
}

int image_timm_eval(const Image *src, int size, double crop_pct, Image *out) {
  const int scale = (int)floor(size / crop_pct);
  const int short_side = src->w < src->h ? src->w : src->h;
  const int long_side = src->w < src->h ? src->h : src->w;
  /* Python's int(scale * long / short); below 2^53 every index below is an exact double. */
  const double long_d = floor((double)scale * long_side / short_side);
  if (scale < size || long_d < size || long_d > 9007199254740992.0)
    return -1;
  const int64_t long_new = (int64_t)long_d;
  const int64_t rw = src->w <= src->h ? scale : long_new, rh = src->w <= src->h ? long_new : scale;
  return image_resize_crop_bicubic(src, rw, rh, half_round_even(rw - size),
                                   half_round_even(rh - size), size, size, out);
}
