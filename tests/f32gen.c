/* f32gen - writes COUNT deterministic pseudo-random float32 values in [-1, 1)
 * (little-endian) to FILE: test inputs that do not depend on any library.
 * Usage: f32gen COUNT SEED FILE */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: f32gen COUNT SEED FILE\n");
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
    float v = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    fwrite(&v, sizeof v, 1, f);
  }
  return fclose(f) == 0 ? 0 : 1;
}
