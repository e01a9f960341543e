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
 * An output is only ever a regular file, or a name that does not exist yet:
 * a device, FIFO, socket or directory under an output's name is refused (the
 * rename would replace /dev/null with a regular file). A symbolic link is
 * written through: its target is replaced, beside which the temporary is
 * made, and the link stays; a link to a missing file is refused.
 * outputs_check_paths() makes these checks for all the paths of a run before
 * anything is written, and refuses two paths that name the same file.
 *
 * Signals are main()'s business: with the default SIGXFSZ a file over the size
 * limit kills the process, ignoring it turns the same thing into EFBIG here.
 */
#define _XOPEN_SOURCE 700 /* realpath */

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

/* The file an output path names: the path, or a symbolic link's target.
 * NULL (reported) if that exists and is not a regular file. */
static char *output_target(const char *path, Diag *d) {
  struct stat st;
  if (!path[0]) { /* mkstemp would make ".tmp.XXXXXX" in ., the rename would fail */
    diag(d, DIAG_ERROR, "cannot write '': an empty path names no file");
    return NULL;
  }
  if (lstat(path, &st) != 0)
    return xstrdup(path); /* a new name; if it cannot be created, mkstemp says why */
  char *target = NULL;
  if (S_ISLNK(st.st_mode)) {
    char *real = realpath(path, NULL);
    if (!real || stat(real, &st) != 0) {
      diag(d, DIAG_ERROR, "cannot write '%s': a symbolic link to a missing file (%s); rsc "
           "writes through links but does not create their targets", path, strerror(errno));
      free(real);
      return NULL;
    }
    target = xstrdup(real); /* realpath's memory is malloc's: keep to x-functions */
    free(real);
  } else {
    target = xstrdup(path);
  }
  const char *why = S_ISFIFO(st.st_mode) ? "is a FIFO" : file_type_refused(st.st_mode);
  if (why) {
    diag(d, DIAG_ERROR, "cannot write '%s': it %s; outputs can only be regular files", path,
         why);
    free(target);
    return NULL;
  }
  return target;
}

bool outputs_open(OutFile *f, const char *path, Diag *d) {
  if (!(f->path = output_target(path, d)))
    return false;
  f->temp = xstrfmt("%s.tmp.XXXXXX", f->path);
  f->err = 0;
  f->fd = mkstemp(f->temp);
  if (f->fd < 0) {
    diag(d, DIAG_ERROR, "cannot create '%s': %s", path, strerror(errno));
    free(f->path);
    free(f->temp);
    return false;
  }
  temp_track(f->temp);
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
    temp_untrack(f->temp);
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
  temp_untrack(f->temp);
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
    temp_untrack(o->temp[i]);
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

/* A file's identity: device and inode of the file, or for a name that does
 * not exist yet, of its directory plus the last component. */
typedef struct FileId {
  bool known;
  dev_t dev;
  ino_t ino;
  char *base; /* NULL for an existing file; malloc'd */
} FileId;

static FileId file_id(const char *path) {
  FileId id = {0};
  struct stat st;
  if (stat(path, &st) == 0)
    return (FileId){true, st.st_dev, st.st_ino, NULL};
  /* A dangling link names the file its target would be: an output of the run
   * may create it (--verify-weights v -> m.weights with -o m.c). */
  char *own = xstrdup(path);
  for (int hops = 0; hops < 40 && lstat(own, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
    char *to = xcalloc((size_t)st.st_size + 2, 1);
    ssize_t n = readlink(own, to, (size_t)st.st_size + 1);
    const char *cut = strrchr(own, '/');
    char *next = n <= 0 || n > st.st_size ? NULL
                 : to[0] == '/' || !cut ? xstrdup(to)
                                        : xstrfmt("%.*s/%s", (int)(cut - own), own, to);
    free(to);
    if (!next)
      break;
    free(own);
    own = next;
  }
  path = own;
  const char *slash = strrchr(path, '/');
  char *dir = slash ? xstrfmt("%.*s", slash == path ? 1 : (int)(slash - path), path) : xstrdup(".");
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
    id = (FileId){true, st.st_dev, st.st_ino, xstrdup(slash ? slash + 1 : path)};
  free(dir);
  free(own);
  return id; /* unknown: the read or the create fails later, and says why */
}

static bool same_file(const FileId *a, const FileId *b) {
  return a->known && b->known && a->dev == b->dev && a->ino == b->ino &&
         (a->base && b->base ? strcmp(a->base, b->base) == 0 : !a->base && !b->base);
}

bool outputs_check_paths(const RunPath *p, int n, Diag *d) {
  int errors = d->errors;
  FileId *ids = xcalloc((size_t)(n ? n : 1), sizeof *ids);
  for (int i = 0; i < n; i++) {
    if (!p[i].path)
      continue;
    struct stat st;
    if (p[i].output) {
      free(output_target(p[i].path, d)); /* reports a device, FIFO, ... */
    } else if (p[i].regular && stat(p[i].path, &st) == 0 && !S_ISREG(st.st_mode)) {
      diag(d, DIAG_ERROR, "%s '%s' must be a regular file: it %s", p[i].what, p[i].path,
           S_ISFIFO(st.st_mode) ? "is a FIFO" : file_type_refused(st.st_mode));
    }
    ids[i] = file_id(p[i].path);
    for (int j = 0; j < i; j++)
      if (p[j].path && same_file(&ids[j], &ids[i])) {
        diag(d, DIAG_ERROR, "%s '%s' and %s '%s' are the same file", p[j].what, p[j].path,
             p[i].what, p[i].path);
        break;
      }
  }
  for (int i = 0; i < n; i++)
    free(ids[i].base);
  free(ids);
  return d->errors == errors;
}
