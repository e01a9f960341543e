/*
 * jpeg_ycck.c - test helper for tests/classify.sh: writes a YCCK JPEG as
 * Photoshop saves CMYK photos (libjpeg's JCS_YCCK, which adds an Adobe APP14
 * marker with transform 2) from raw CMYK bytes in Adobe's inverted
 * convention (255 = no ink: what PIL's tobytes("raw", "CMYK;I") gives). PIL
 * can only write plain CMYK JPEGs (transform 0), so this one is made here.
 *
 * Usage: jpeg_ycck WIDTH HEIGHT IN.cmyk OUT.jpg
 */
#include <stdio.h> /* before jpeglib.h, which uses FILE and size_t */
#include <stdlib.h>

#include <jpeglib.h>

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: jpeg_ycck WIDTH HEIGHT IN.cmyk OUT.jpg\n");
    return 2;
  }
  const int w = atoi(argv[1]), h = atoi(argv[2]);
  const size_t n = (size_t)w * (size_t)h * 4;
  unsigned char *px = malloc(n ? n : 1);
  FILE *in = fopen(argv[3], "rb");
  if (w <= 0 || h <= 0 || !px || !in || fread(px, 1, n, in) != n) {
    fprintf(stderr, "jpeg_ycck: cannot read %d x %d CMYK pixels from %s\n", w, h, argv[3]);
    return 1;
  }
  fclose(in);
  FILE *out = fopen(argv[4], "wb");
  if (!out) {
    perror(argv[4]);
    return 1;
  }
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err); /* errors print and exit */
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, out);
  c.image_width = (JDIMENSION)w;
  c.image_height = (JDIMENSION)h;
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, JCS_YCCK);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = px + (size_t)c.next_scanline * (size_t)w * 4;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  free(px);
  if (fclose(out) != 0) {
    perror(argv[4]);
    return 1;
  }
  return 0;
}
