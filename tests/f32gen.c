/* f32gen - writes COUNT deterministic pseudo-random values (little-endian) to
 * FILE: test inputs that do not depend on any library. KIND says what:
 *   f32     float32 in [-1, 1) (the default)
 *   pixels  float32 in [0, 255): image values before preprocessing
 *   u8      bytes 0..255
 * Usage: f32gen COUNT SEED FILE [KIND] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *kind = argc == 5 ? argv[4] : "f32";
  if ((argc != 4 && argc != 5) ||
      (strcmp(kind, "f32") != 0 && strcmp(kind, "pixels") != 0 && strcmp(kind, "u8") != 0)) {
    fprintf(stderr, "usage: f32gen COUNT SEED FILE [f32|pixels|u8]\n");
    return 2;
  }
  unsigned long long n = strtoull(argv[1], NULL, 10);
  uint64_t s = strtoull(argv[2], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
  FILE *f = fopen(argv[3], "wb");
  if (!f) {
    perror(argv[3]);
    return 1;
  }
  for (unsigned long long i = 0; i < n; i++) {
    s ^= s << 13; /* xorshift64 */
    s ^= s >> 7;
    s ^= s << 17;
    double u = (double)(s >> 11) / 9007199254740992.0; /* [0, 1) */
    if (kind[0] == 'u') {
      unsigned char b = (unsigned char)(s >> 56);
      fwrite(&b, 1, 1, f);
    } else {
      float v = (float)(kind[0] == 'p' ? u * 255.0 : u * 2.0 - 1.0);
      fwrite(&v, sizeof v, 1, f);
    }
  }
  return fclose(f) == 0 ? 0 : 1;
}
