/*
 * util.c - allocation that cannot fail silently, a growable string buffer,
 * overflow-checked size arithmetic, hashing, file reading, and the one thread
 * pool the data-parallel passes (weights, fold, pack) share.
 */
#include "rsc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

void rsc_assert_fail(const char *cond, const char *file, int line) {
  fprintf(stderr, "rsc: internal error: %s:%d: assertion '%s' failed\n", file, line, cond);
  abort();
}

/* A run has at most 4 outputs and 2 m4 drivers at once; --verify adds none. */
enum { MAX_TEMPS = 32 };
static _Atomic(const char *) temps[MAX_TEMPS];

void temp_track(const char *path) {
  for (int i = 0; i < MAX_TEMPS; i++) {
    const char *none = NULL;
    if (atomic_compare_exchange_strong(&temps[i], &none, path))
      return;
  }
  RSC_ASSERT(!"more temporaries at once than MAX_TEMPS");
}

void temp_untrack(const char *path) {
  for (int i = 0; i < MAX_TEMPS; i++) {
    const char *p = path;
    if (atomic_compare_exchange_strong(&temps[i], &p, NULL))
      return;
  }
}

/* Out of memory is an error like any other (exit 1, nothing written), not a
 * crash: any thread can get here, so this exits at once, after unlink()ing
 * the temporaries (nothing here allocates). */
static void *check_alloc(void *p, size_t n) {
  if (!p) {
    for (int i = 0; i < MAX_TEMPS; i++) {
      const char *t = atomic_exchange(&temps[i], NULL);
      if (t)
        unlink(t);
    }
    fprintf(stderr, "rsc: error: out of memory (allocating %zu bytes)\n", n);
    _exit(1);
  }
  return p;
}

void *xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *xcalloc(size_t n, size_t size) {
  return check_alloc(calloc(n ? n : 1, size ? size : 1), n * size);
}
void *xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

char *xvstrfmt(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  RSC_ASSERT(n >= 0);
  char *s = xmalloc((size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *xstrfmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = xvstrfmt(fmt, ap);
  va_end(ap);
  return s;
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

const char *file_type_refused(unsigned mode) {
  mode_t m = (mode_t)mode;
  return S_ISDIR(m)    ? "is a directory"
         : S_ISCHR(m)  ? "is a character device"
         : S_ISBLK(m)  ? "is a block device"
         : S_ISSOCK(m) ? "is a socket"
         : S_ISREG(m) || S_ISFIFO(m) ? NULL
                                      : "is not a regular file";
}

char *read_input(const char *path, size_t max, size_t *len, char why[128]) {
  struct stat st;
  const char *refused;
  /* stat, not open: opening a device can act on it (a tape rewinds). */
  if (stat(path, &st) != 0) {
    snprintf(why, 128, "%s", strerror(errno));
    return NULL;
  }
  if ((refused = file_type_refused(st.st_mode))) {
    snprintf(why, 128, "%s", refused);
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC); /* a FIFO waits for its writer, as cat does */
  if (fd < 0 || fstat(fd, &st) != 0 || (refused = file_type_refused(st.st_mode))) {
    snprintf(why, 128, "%s", fd < 0 || !refused ? strerror(errno) : refused);
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
    snprintf(why, 128, "%jd bytes, more than the limit of %zu", (intmax_t)st.st_size, max);
    close(fd);
    return NULL;
  }
  /* A regular file's size is known; a pipe's buffer grows as it is read. */
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, n = 0;
  char *buf = malloc(cap);
  why[0] = '\0';
  for (;;) {
    if (!buf) {
      snprintf(why, 128, "out of memory (%zu bytes)", cap);
      break;
    }
    if (n == cap) {
      if (n > max) {
        snprintf(why, 128, "more than the limit of %zu bytes", max);
        break;
      }
      size_t want = cap > max / 2 ? max + 1 : cap * 2;
      char *grown = realloc(buf, want);
      if (!grown) {
        snprintf(why, 128, "out of memory (%zu bytes)", want);
        break;
      }
      buf = grown, cap = want;
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      snprintf(why, 128, "%s", strerror(errno));
      break;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  close(fd);
  if (!why[0] && n > max)
    snprintf(why, 128, "more than the limit of %zu bytes", max);
  if (why[0]) {
    free(buf);
    return NULL;
  }
  if (n == cap) { /* room for the NUL */
    char *grown = realloc(buf, n + 1);
    if (!grown) {
      free(buf);
      snprintf(why, 128, "out of memory (%zu bytes)", n + 1);
      return NULL;
    }
    buf = grown;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
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
