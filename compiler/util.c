/*
 * util.c - allocation that cannot fail silently, a growable string buffer,
 * overflow-checked size arithmetic, hashing, file reading, and the one thread
 * pool the data-parallel passes (weights, fold, pack) share.
 */
#include "rsc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

void rsc_assert_fail(const char *cond, const char *file, int line) {
  fprintf(stderr, "rsc: internal error: %s:%d: assertion '%s' failed\n", file, line, cond);
  abort();
}

static void *check_alloc(void *p) {
  if (!p) {
    fputs("rsc: fatal: out of memory\n", stderr);
    abort();
  }
  return p;
}

void *xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return check_alloc(calloc(n ? n : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1)); }

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

char *xstrfmt(const char *fmt, ...) {
  StrBuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  RSC_ASSERT(n >= 0);
  sb.buf = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(sb.buf, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return sb.buf;
}

static void sb_reserve(StrBuf *sb, size_t extra) {
  size_t need;
  RSC_ASSERT(size_add(sb->len, extra + 1, &need));
  if (need <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < need)
    cap *= 2;
  sb->buf = xrealloc(sb->buf, cap);
  sb->cap = cap;
}

void sb_putn(StrBuf *sb, const char *s, size_t n) {
  sb_reserve(sb, n);
  memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}

void sb_puts(StrBuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }

void sb_printf(StrBuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  RSC_ASSERT(n >= 0);
  sb_reserve(sb, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

void sb_free(StrBuf *sb) {
  free(sb->buf);
  sb->buf = NULL;
  sb->len = sb->cap = 0;
}

bool size_mul(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a)
    return false;
  *out = a * b;
  return true;
}

bool size_add(size_t a, size_t b, size_t *out) {
  if (b > SIZE_MAX - a)
    return false;
  *out = a + b;
  return true;
}

uint64_t fnv1a64(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  StrBuf sb = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    sb_putn(&sb, chunk, n);
  int err = ferror(f);
  fclose(f);
  if (err) {
    sb_free(&sb);
    errno = EIO;
    return NULL;
  }
  if (!sb.buf)
    sb_putn(&sb, "", 0);
  *len = sb.len;
  return sb.buf;
}

void format_double(char buf[32], double v) {
  /* The shortest %.*g that reads back to the same double. */
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, 32, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* At most this many threads: RS-420's largest pass has ~1,300 tensors, and
 * past a few threads memory bandwidth, not compute, is the limit. */
enum { MAX_THREADS = 16 };

int rsc_threads(void) {
  const char *env = getenv("RSC_THREADS");
  long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

typedef struct ParallelJob {
  void (*fn)(void *ctx, int i, int worker);
  void *ctx;
  int n;
  atomic_int next; /* the next index to hand out */
} ParallelJob;

typedef struct Worker {
  ParallelJob *job;
  int id;
} Worker;

static int parallel_worker(void *arg) {
  Worker *w = arg;
  for (int i; (i = atomic_fetch_add(&w->job->next, 1)) < w->job->n;)
    w->job->fn(w->job->ctx, i, w->id);
  return 0;
}

void parallel_for(int n, int threads, void (*fn)(void *ctx, int i, int worker), void *ctx) {
  ParallelJob job = {.fn = fn, .ctx = ctx, .n = n};
  atomic_init(&job.next, 0);
  thrd_t th[MAX_THREADS];
  Worker w[MAX_THREADS];
  int started = 0, want = threads < n ? threads : n;
  if (want > MAX_THREADS)
    want = MAX_THREADS;
  /* The calling thread is worker 0; if a thread cannot start, the others (at
   * least this one) do its share. */
  for (int k = 0; k < MAX_THREADS; k++)
    w[k] = (Worker){&job, k};
  while (started + 1 < want && thrd_create(&th[started], parallel_worker, &w[started + 1]) ==
                                   thrd_success)
    started++;
  parallel_worker(&w[0]);
  for (int i = 0; i < started; i++)
    thrd_join(th[i], NULL);
}
