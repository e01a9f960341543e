/* driver.c - replays files through a fuzz target without libFuzzer, so the seed
 * corpus runs under gcc in `make test`: `driver FILE...` or `driver DIR...`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int runs;

static void run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  size_t cap = 4096, n = 0, got;
  uint8_t *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
    if ((n += got) == cap)
      buf = realloc(buf, cap *= 2);
  fclose(f);
  if (!buf)
    exit(1);
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  runs++;
}

static void run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    exit(1);
  }
  if (!S_ISDIR(st.st_mode)) {
    run_file(path);
    return;
  }
  DIR *dir = opendir(path);
  struct dirent *e;
  while (dir && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    size_t len = strlen(path) + strlen(e->d_name) + 2;
    char *child = malloc(len);
    snprintf(child, len, "%s/%s", path, e->d_name);
    run_path(child);
    free(child);
  }
  if (dir)
    closedir(dir);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    run_path(argv[i]);
  printf("replayed %d inputs\n", runs);
  return 0;
}
