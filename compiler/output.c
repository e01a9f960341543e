/*
 * output.c - all-or-nothing output. Each file is first written completely to
 * "<final>.tmp.XXXXXX" in its own directory (so the final rename cannot cross
 * file systems), and only when every file of the run has been written does
 * outputs_commit() rename them into place. A failed or interrupted run
 * therefore never leaves a half-written .c or .weights, and never leaves a
 * temporary behind on the paths it controls: every failure removes what it
 * created, and outputs_abort() removes the rest.
 *
 * No fsync: rename(2) already makes each file appear whole or not at all to
 * every other process, which is what a build needs; gcc, as and ld do not
 * fsync their outputs either. Only a crash of the whole system before the
 * kernel writes the data back (seconds) can leave an output empty or torn;
 * a torn .weights is then refused by the generated loader (its header holds
 * the payload's size and checksum), not run, and rerunning rsc restores
 * everything. (ext4, by default, also writes a file renamed over another
 * out before the rename.) fsync would cost more than the rest of the run:
 * 0.4-0.8 s for RS-420's 900 MB (bench/NOTES.md, "Compile time of RS-420").
 *
 * Signals are main()'s business: with the default SIGXFSZ a file over the size
 * limit kills the process, ignoring it turns the same thing into EFBIG here.
 */
#include "rsc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_OUTPUTS = (int)(sizeof((Outputs *)0)->final / sizeof(char *)) };

/* mkstemp creates 0600; the final files get what open(..., 0666) would give. */
static mode_t file_mode(void) {
  mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

static bool write_all(int fd, const unsigned char *p, size_t len) {
  while (len > 0) {
    /* Chunks of 1 GB: some systems refuse single writes over 2 GB. */
    size_t chunk = len < ((size_t)1 << 30) ? len : (size_t)1 << 30;
    ssize_t n = write(fd, p, chunk);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if (n == 0) { /* should not happen for a regular file; do not spin */
      errno = EIO;
      return false;
    }
    p += n;
    len -= (size_t)n;
  }
  return true;
}

bool outputs_open(OutFile *f, const char *path, Diag *d) {
  f->path = xstrdup(path);
  f->temp = xstrfmt("%s.tmp.XXXXXX", path);
  f->err = 0;
  f->fd = mkstemp(f->temp);
  if (f->fd < 0) {
    diag(d, DIAG_ERROR, "cannot create '%s': %s", path, strerror(errno));
    free(f->path);
    free(f->temp);
    return false;
  }
  return true;
}

bool outputs_put(OutFile *f, const void *data, size_t len) {
  if (f->err == 0 && !write_all(f->fd, data, len))
    f->err = errno;
  return f->err == 0;
}

bool outputs_reserve(OutFile *f, size_t len) {
  if (f->err || len == 0)
    return f->err == 0;
  int err = posix_fallocate(f->fd, 0, (off_t)len);
  /* EINVAL, ENOTSUP, ENOSYS: this file system cannot; the writes still can. */
  if (err && err != EINVAL && err != ENOTSUP && err != ENOSYS)
    f->err = err;
  return f->err == 0;
}

bool outputs_put_at(OutFile *f, size_t offset, const void *data, size_t len) {
  const unsigned char *p = data;
  while (f->err == 0 && len > 0) {
    ssize_t n = pwrite(f->fd, p, len, (off_t)offset);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      f->err = n < 0 ? errno : EIO;
      break;
    }
    p += n, offset += (size_t)n, len -= (size_t)n;
  }
  return f->err == 0;
}

bool outputs_close(Outputs *o, OutFile *f, Diag *d) {
  RSC_ASSERT(o->n < MAX_OUTPUTS);
  bool ok = f->err == 0;
  int err = f->err;
  if (ok && fchmod(f->fd, file_mode()) != 0) {
    ok = false;
    err = errno;
  }
  /* close() can be the first to report a failed write (NFS): check it too. */
  if (close(f->fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok)
    diag(d, DIAG_ERROR, "cannot write '%s': %s", f->path, strerror(err));
  if (!ok) {
    unlink(f->temp);
    free(f->temp);
    free(f->path);
    return false;
  }
  o->final[o->n] = f->path;
  o->temp[o->n] = f->temp;
  o->n++;
  return true;
}

void outputs_discard(OutFile *f) {
  close(f->fd);
  unlink(f->temp);
  free(f->temp);
  free(f->path);
}

bool outputs_write(Outputs *o, const char *path, const void *data, size_t len, Diag *d) {
  OutFile f;
  if (!outputs_open(&f, path, d))
    return false;
  outputs_put(&f, data, len);
  return outputs_close(o, &f, d);
}

static void forget(Outputs *o) {
  for (int i = 0; i < o->n; i++) {
    free(o->final[i]);
    free(o->temp[i]);
    o->final[i] = o->temp[i] = NULL;
  }
  o->n = 0;
}

/* Renames every temporary onto its final name. If a rename fails, the files
 * already renamed stay (there is no atomic multi-file rename) and the
 * remaining temporaries are removed. */
bool outputs_commit(Outputs *o, Diag *d) {
  bool ok = true;
  for (int i = 0; i < o->n; i++) {
    if (ok && rename(o->temp[i], o->final[i]) != 0) {
      diag(d, DIAG_ERROR, "cannot rename '%s' to '%s': %s", o->temp[i], o->final[i],
           strerror(errno));
      ok = false;
    }
    if (!ok)
      unlink(o->temp[i]);
  }
  forget(o);
  return ok;
}

void outputs_abort(Outputs *o) {
  for (int i = 0; i < o->n; i++)
    unlink(o->temp[i]);
  forget(o);
}
