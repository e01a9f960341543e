/*
 * image.h - what examples/classify needs to turn an image file into a
 * network input: decode PNG or JPEG to RGB bytes, and timm's eval transform
 * (resize the shorter side with bicubic filtering, then center-crop).
 */
#ifndef CLASSIFY_IMAGE_H
#define CLASSIFY_IMAGE_H

#include <stdint.h>

/* An 8-bit RGB image, rows top to bottom, pixels [y][x][3]. */
typedef struct Image {
  int w, h;
  uint8_t *rgb;
} Image;

/* Decodes a PNG (libpng) or JPEG (libjpeg) file, chosen by its first bytes.
 * Grey, palette and alpha images become RGB (alpha dropped, as PIL's
 * convert("RGB") does), and so do CMYK and YCCK JPEGs (inks inverted if the
 * file has Adobe's marker). A truncated or corrupt file, or one declaring more
 * pixels than PIL opens, is refused. Returns 0, or -1 after printing why
 * (and the path) to stderr. */
int image_load(const char *path, Image *out);

/* The cw x ch window at (left, top) of src resampled to rw x rh with PIL's
 * antialiased bicubic filter (Image.resize with Image.BICUBIC, then crop):
 * separable, horizontal pass first, the cubic's support widened by the
 * downscaling factor, 8-bit results rounded between passes. Only the pixels in
 * the window are computed, so the memory is the window's, whatever rw x rh is. */
int image_resize_crop_bicubic(const Image *src, int64_t rw, int64_t rh, int64_t left, int64_t top,
                              int cw, int ch, Image *out);

/* timm's eval transform for a square crop of `size` (transforms_imagenet_eval):
 * shorter side to floor(size / crop_pct) (torchvision Resize(int), the longer
 * side truncated), bicubic, then the centered size x size crop (torchvision
 * CenterCrop: offsets rounded half to even), computed crop first: the resized
 * image is never made. out->rgb is size*size*3 bytes. */
int image_timm_eval(const Image *src, int size, double crop_pct, Image *out);

void image_free(Image *im);

#endif
