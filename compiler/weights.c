/*
 * weights.c - fills the graph's declared tensors with values: either from a
 * safetensors file (timm names, PyTorch layouts) or from a seeded generator.
 *
 * safetensors: an u64 little-endian header length N, N bytes of JSON
 *   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {...}}
 * and then the data, offsets relative to its start. Everything in the file is
 * untrusted: every length and offset is checked with overflow-checked arithmetic
 * before it is used, and all problems (up to MAX_PROBLEMS) are reported before
 * the import fails. The file is mapped read-only, so a 770 MB RS-420 checkpoint
 * is read once, straight into the float arrays of the graph; a pipe is read
 * into memory, never past what a file of the network's tensors can hold. A
 * tensor too large for the memory left is an error naming it, not an abort. Values are decoded
 * byte by byte as little-endian, which makes the importer independent of the
 * host's byte order; it assumes IEEE-754 floats, as everything else in rsc does.
 *
 * Random weights (weights_random): every tensor gets its own generator
 * (xoshiro256**, seeded through splitmix64 from the seed and the FNV-1a hash of
 * the tensor's name), so its values do not depend on declaration order, and
 * a tensor can be drawn at any time: rsc itself draws the conv and dense
 * weights only as it writes them (weights_random_deferred, tensor_values). Normals
 * come from Box-Muller computed in double with our own log/sin/cos built from
 * + - * / and sqrt only: those are correctly rounded by IEEE-754, so the values
 * are bit-identical on every platform and libm. The rules, by name and shape:
 *   conv weight, 4-D "*.weight" (SE fc1/fc2 included)  N(0, sqrt(2 / (O*KH*KW)))
 *       (He normal, fan-out, untruncated: Keras VarianceScaling(2.0, "fan_out"))
 *   SE bias "*.se.fc1.bias", "*.se.fc2.bias"           N(0, 0.1)
 *   dense weight, 2-D "*.weight" [out,in]              N(0, 1/sqrt(in))
 *   dense bias "fc.bias"                               N(0, 0.01)
 *   BN (a 1-D tensor whose module also has a running_var):
 *     weight (gamma)                                   U(0.5, 1.5)
 *       but in ".bn3." (last BN of a residual branch)  U(0.1, 0.3): random BN
 *       statistics do not normalise, so each block adds to the residual stream.
 *       The smaller gamma keeps a 100+ block network well conditioned: with
 *       U(0.2, 0.6), RS-350@320's float32 logits (PyTorch's and rsc's alike)
 *       were 33 % off float64 ones, a chaotic network no float32 test can check;
 *       with U(0.1, 0.3) RS-420@320's are within 1.3e-6 (max |logit| 4.6)
 *     bias (beta), running_mean                        N(0, 0.1)
 *     running_var                                      U(0.5, 1.5)
 *   any other tensor                                   N(0, 0.1)
 */
#include "rsc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Clang contracts a*b+c into an FMA on targets that have one; the random
 * generator must compute exactly the same doubles everywhere. (GCC does not
 * contract in ISO C mode, and warns about this pragma.) */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

enum {
  MAX_PROBLEMS = 20,
  MAX_FILE_DIMS = 8, /* more is certainly not one of our tensors */
};

/* The safetensors reference implementation refuses headers over 100 MB. */
#define MAX_HEADER_BYTES ((uint64_t)100 << 20)

/* JSON numbers are doubles: integers are exact up to 2^53. */
#define MAX_JSON_INT 9007199254740992.0

/* ---------------------------------------------------------------- import */

typedef enum Dtype {
  DT_F32,   /* IEEE binary32, taken as is */
  DT_F16,   /* IEEE binary16 */
  DT_BF16,  /* bfloat16: the top half of a binary32 */
  DT_F64,   /* IEEE binary64, rounded to nearest */
  DT_OTHER, /* anything else: an error unless the tensor is ignored */
} Dtype;

typedef struct Entry {
  const char *name;   /* points into the cJSON tree */
  const char *dtype_name;
  Dtype dtype;
  int ndim;
  size_t dims[MAX_FILE_DIMS];
  size_t begin, end;  /* byte offsets into the data section */
  int tensor;         /* graph tensor id, -1 if none */
  bool ok;            /* structurally valid: offsets checked and usable */
} Entry;

typedef struct Import {
  Graph *g;
  const char *path;
  Diag *d;
  int problems;
} Import;

static void problem(Import *im, const char *fmt, ...) RSC_PRINTF(2, 3);

/* Reports one problem, prefixed with the file name; beyond MAX_PROBLEMS they
 * are only counted (see import_finish). */
static void problem(Import *im, const char *fmt, ...) {
  if (++im->problems > MAX_PROBLEMS)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  RSC_ASSERT(n >= 0);
  char *msg = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  va_end(ap);
  diag(im->d, DIAG_ERROR, "%s: %s", im->path, msg);
  free(msg);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static size_t dtype_size(Dtype t) {
  switch (t) {
  case DT_F32:
    return 4;
  case DT_F16:
  case DT_BF16:
    return 2;
  case DT_F64:
    return 8;
  case DT_OTHER:
    break;
  }
  return 0;
}

static Dtype parse_dtype(const char *s) {
  if (strcmp(s, "F32") == 0)
    return DT_F32;
  if (strcmp(s, "F16") == 0)
    return DT_F16;
  if (strcmp(s, "BF16") == 0)
    return DT_BF16;
  if (strcmp(s, "F64") == 0)
    return DT_F64;
  return DT_OTHER;
}

/* A JSON number that is an exact non-negative integer (doubles are exact to 2^53). */
static bool json_size(const cJSON *j, size_t *out) {
  if (!cJSON_IsNumber(j))
    return false;
  double v = j->valuedouble;
  if (!(v >= 0 && v <= MAX_JSON_INT) || v != floor(v) || (uint64_t)v > SIZE_MAX)
    return false;
  *out = (size_t)v;
  return true;
}

static void dims_text(char *buf, size_t cap, const size_t *dims, int ndim) {
  size_t len = 0;
  buf[len++] = '[';
  for (int i = 0; i < ndim && len + 24 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%zu", i ? "," : "", dims[i]);
  snprintf(buf + len, cap - len, "]");
}

static void tensor_dims_text(char *buf, size_t cap, const Tensor *t) {
  size_t dims[4];
  for (int i = 0; i < t->ndim; i++)
    dims[i] = (size_t)t->dims[i];
  dims_text(buf, cap, dims, t->ndim);
}

/* Checks one header entry and fills e. Returns false (after reporting) if the
 * entry cannot be used at all. data_len is the size of the data section. */
static bool parse_entry(Import *im, const cJSON *j, size_t data_len, Entry *e) {
  e->name = j->string;
  e->tensor = -1;
  e->ok = false;
  if (!cJSON_IsObject(j)) {
    problem(im, "entry '%s' is not a JSON object", e->name);
    return false;
  }
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
  if (!cJSON_IsString(dt) || !dt->valuestring) {
    problem(im, "tensor '%s': \"dtype\" missing or not a string", e->name);
    return false;
  }
  e->dtype_name = dt->valuestring;
  e->dtype = parse_dtype(dt->valuestring);

  if (!cJSON_IsArray(sh)) {
    problem(im, "tensor '%s': \"shape\" missing or not an array", e->name);
    return false;
  }
  int nd = cJSON_GetArraySize(sh);
  if (nd > MAX_FILE_DIMS) {
    problem(im, "tensor '%s': %d dimensions (at most %d supported)", e->name, nd, MAX_FILE_DIMS);
    return false;
  }
  e->ndim = 0;
  size_t elems = 1;
  const cJSON *x;
  cJSON_ArrayForEach(x, sh) {
    size_t v;
    if (!json_size(x, &v)) {
      problem(im, "tensor '%s': \"shape\" holds something other than a non-negative integer",
              e->name);
      return false;
    }
    e->dims[e->ndim++] = v;
    if (!size_mul(elems, v, &elems)) {
      problem(im, "tensor '%s': shape too large", e->name);
      return false;
    }
  }

  size_t b, en;
  if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
      !json_size(cJSON_GetArrayItem(off, 0), &b) || !json_size(cJSON_GetArrayItem(off, 1), &en)) {
    problem(im, "tensor '%s': \"data_offsets\" is not an array of two non-negative integers",
            e->name);
    return false;
  }
  if (b > en) {
    problem(im, "tensor '%s': data_offsets [%zu,%zu] begin after end", e->name, b, en);
    return false;
  }
  if (en > data_len) {
    problem(im, "tensor '%s': data_offsets [%zu,%zu] outside the data section (%zu bytes)",
            e->name, b, en, data_len);
    return false;
  }
  e->begin = b;
  e->end = en;

  /* The size can only be checked for a dtype we know; ignored tensors (and
   * bad dtypes, reported later by name) are only required to be in bounds. */
  size_t bytes;
  if (e->dtype != DT_OTHER) {
    if (!size_mul(elems, dtype_size(e->dtype), &bytes)) {
      problem(im, "tensor '%s': shape too large", e->name);
      return false;
    }
    if (en - b != bytes) {
      problem(im, "tensor '%s': data_offsets [%zu,%zu] hold %zu bytes, the shape in %s needs %zu",
              e->name, b, en, en - b, e->dtype_name, bytes);
      return false;
    }
  }
  e->ok = true;
  return true;
}

static int cmp_begin(const void *a, const void *b) {
  const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* No two tensors may share bytes: a crafted file could otherwise alias them. */
static void check_overlaps(Import *im, Entry *es, int n) {
  Entry **by = xmalloc((size_t)(n ? n : 1) * sizeof *by);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (es[i].ok && es[i].end > es[i].begin) /* empty ranges share no bytes */
      by[m++] = &es[i];
  qsort(by, (size_t)m, sizeof *by, cmp_begin);
  Entry *last = NULL; /* the range reaching furthest so far */
  for (int i = 0; i < m; i++) {
    if (last && by[i]->begin < last->end) {
      problem(im, "tensors '%s' [%zu,%zu] and '%s' [%zu,%zu] overlap", last->name, last->begin,
              last->end, by[i]->name, by[i]->begin, by[i]->end);
      by[i]->ok = false;
      last->ok = false;
    }
    if (!last || by[i]->end > last->end)
      last = by[i];
  }
  free(by);
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) {
  return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* IEEE binary16 -> binary32, exact for every input: zeros and subnormals
 * (mant * 2^-24), normals (rebias the exponent), infinities and NaNs (payload kept). */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    float v = ldexpf((float)mant, -24);
    return sign ? -v : v;
  }
  if (exp == 31)
    return bits_to_float(sign | 0x7f800000u | mant << 13);
  return bits_to_float(sign | (exp - 15 + 127) << 23 | mant << 13);
}

/* Converts one tensor's bytes into floats, one loop per dtype so the common
 * F32 case is a plain copy. Returns false at the first value that is not
 * finite. NaN/Inf in a weight is an error, not a warning: BN folding and every
 * later layer would spread it to all outputs, and a model that computes NaN is
 * better refused at compile time than shipped. */
static bool convert(Import *im, const Entry *e, const unsigned char *src, float *dst,
                    size_t n) {
  switch (e->dtype) {
  case DT_F32:
    for (size_t i = 0; i < n; i++)
      dst[i] = bits_to_float(le32(src + 4 * i));
    break;
  case DT_F16:
    for (size_t i = 0; i < n; i++)
      dst[i] = half_to_float(le16(src + 2 * i));
    break;
  case DT_BF16:
    for (size_t i = 0; i < n; i++)
      dst[i] = bits_to_float((uint32_t)le16(src + 2 * i) << 16);
    break;
  case DT_F64:
    for (size_t i = 0; i < n; i++) {
      uint64_t u = le64(src + 8 * i);
      double x;
      memcpy(&x, &u, sizeof x);
      dst[i] = (float)x;
      if (isfinite(x) && !isfinite(dst[i])) {
        problem(im, "tensor '%s': value %g at index %zu does not fit a float", e->name, x, i);
        return false;
      }
    }
    break;
  case DT_OTHER:
    RSC_ASSERT(!"unconvertible dtype");
  }
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(dst[i])) {
      problem(im, "tensor '%s': %s at index %zu", e->name, isnan(dst[i]) ? "NaN" : "Inf", i);
      return false;
    }
  }
  return true;
}

/* The file's bytes: a regular file mapped (read if it cannot be), a pipe
 * read to its end but never past stream_max bytes (a FIFO fed forever fails
 * there). A directory, device or socket is refused before it is opened. */
typedef struct Mapping {
  const unsigned char *p;
  size_t len;
  bool mapped;
} Mapping;

static bool map_file(const char *path, size_t stream_max, Mapping *m, char why[128]) {
  m->p = NULL;
  m->len = 0;
  m->mapped = false;
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(why, 128, "%s", strerror(errno));
    return false;
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
      snprintf(why, 128, "%s", strerror(errno));
      if (fd >= 0)
        close(fd);
      return false;
    }
    void *p = S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX
                  ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
    close(fd); /* the mapping stays valid */
    if (p != MAP_FAILED) {
      posix_madvise(p, (size_t)st.st_size, POSIX_MADV_SEQUENTIAL);
      m->p = p;
      m->len = (size_t)st.st_size;
      m->mapped = true;
      return true;
    }
  }
  bool reg = S_ISREG(st.st_mode);
  size_t len, max = reg && (uintmax_t)st.st_size < stream_max ? (size_t)st.st_size : stream_max;
  char *buf = read_input(path, max, &len, why);
  if (!buf) {
    if (!reg && strncmp(why, "more than", 9) == 0)
      snprintf(why, 128, "a pipe of more than %zu bytes (no safetensors file of this network "
               "is larger)", stream_max);
    return false;
  }
  m->p = (const unsigned char *)buf;
  m->len = len;
  return true;
}

/* The most a safetensors file of g's tensors can hold that rsc reads: the
 * header limit, every tensor as F64 (the widest dtype), 1 MiB for the
 * ignored counters (num_batches_tracked, 8 bytes each). */
static size_t stream_limit(const Graph *g) {
  size_t lim = 8 + (size_t)MAX_HEADER_BYTES + ((size_t)1 << 20), bytes;
  for (int t = 0; t < g->ntensors; t++)
    if (!size_mul(tensor_elems(&g->tensors[t]), 8, &bytes) || !size_add(lim, bytes, &lim))
      return SIZE_MAX - 1;
  return lim;
}

static void unmap_file(Mapping *m) {
  if (m->mapped)
    munmap((void *)m->p, m->len);
  else
    free((void *)m->p);
}

/* Reports the tail of the problem count and turns it into the result. */
static bool import_finish(Import *im) {
  if (im->problems > MAX_PROBLEMS)
    diag(im->d, DIAG_ERROR, "%s: %d more problems not shown", im->path,
         im->problems - MAX_PROBLEMS);
  return im->problems == 0;
}

/* Everything after the file is in memory: header, entries, mapping, data. */
static bool import(Import *im, const unsigned char *p, size_t len) {
  Graph *g = im->g;
  if (len < 8) {
    problem(im, "file too short for a safetensors header (%zu bytes)", len);
    return false;
  }
  uint64_t hlen = le64(p);
  if (hlen > len - 8) {
    problem(im, "header length %llu exceeds the file size (%zu bytes)", (unsigned long long)hlen,
            len);
    return false;
  }
  if (hlen > MAX_HEADER_BYTES) {
    problem(im, "header length %llu is over the 100 MB limit", (unsigned long long)hlen);
    return false;
  }
  const unsigned char *data = p + 8 + hlen;
  size_t data_len = len - 8 - (size_t)hlen;

  /* A NUL-terminated copy (the header is small): cJSON then never has to be
   * trusted about reading past a length. A NUL inside the JSON is an error. */
  char *text = xmalloc((size_t)hlen + 1);
  memcpy(text, p + 8, (size_t)hlen);
  text[hlen] = '\0';
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, false);
  if (root && end) {
    /* Writers pad the header with spaces; anything else after the JSON is garbage. */
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
      end++;
    if (end != text + hlen) {
      cJSON_Delete(root);
      root = NULL;
    }
  }
  if (!root || !cJSON_IsObject(root)) {
    problem(im, "header is not a valid JSON object");
    cJSON_Delete(root);
    free(text);
    return false;
  }

  int n = cJSON_GetArraySize(root);
  Entry *es = xcalloc((size_t)(n ? n : 1), sizeof *es);
  int ne = 0;
  const cJSON *j;
  cJSON_ArrayForEach(j, root) {
    if (strcmp(j->string, "__metadata__") == 0) {
      if (!cJSON_IsObject(j))
        problem(im, "\"__metadata__\" is not a JSON object");
      continue;
    }
    parse_entry(im, j, data_len, &es[ne++]);
  }
  check_overlaps(im, es, ne);

  /* Map names onto the graph. */
  char *seen = xcalloc((size_t)(g->ntensors ? g->ntensors : 1), 1);
  for (int i = 0; i < ne; i++) {
    Entry *e = &es[i];
    if (ends_with(e->name, ".num_batches_tracked"))
      continue; /* a training counter: not a weight, ignored whatever its dtype */
    int t = graph_find_tensor(g, e->name);
    if (t < 0) {
      problem(im, "unexpected tensor '%s' (not in the network)", e->name);
      continue;
    }
    if (seen[t]) {
      problem(im, "tensor '%s' appears twice in the header", e->name);
      continue;
    }
    seen[t] = 1;
    if (!e->ok)
      continue; /* already reported */
    const Tensor *tt = &g->tensors[t];
    bool same = e->ndim == tt->ndim;
    for (int k = 0; same && k < e->ndim; k++)
      same = e->dims[k] == (size_t)tt->dims[k];
    if (!same) {
      char want[128], have[256];
      tensor_dims_text(want, sizeof want, tt);
      dims_text(have, sizeof have, e->dims, e->ndim);
      problem(im, "tensor '%s': expected %s, file has %s", e->name, want, have);
      continue;
    }
    if (e->dtype == DT_OTHER) {
      problem(im, "tensor '%s': unsupported dtype '%s' (F32, F16, BF16 or F64 expected)",
              e->name, e->dtype_name);
      continue;
    }
    e->tensor = t;
  }
  for (int t = 0; t < g->ntensors; t++) {
    if (!seen[t]) {
      char want[128];
      tensor_dims_text(want, sizeof want, &g->tensors[t]);
      problem(im, "missing tensor '%s' %s", g->tensors[t].name, want);
    }
  }

  /* Convert only a file whose header is wholly right, so a broken file costs
   * no time reading 770 MB. A tensor whose values are refused keeps its data. */
  if (im->problems == 0) {
    for (int i = 0; i < ne; i++) {
      Entry *e = &es[i];
      if (e->tensor < 0)
        continue;
      Tensor *t = &g->tensors[e->tensor];
      size_t elems = tensor_elems(t);
      float *buf = malloc(elems * sizeof(float)); /* size checked against the file */
      if (!buf) {
        problem(im, "tensor '%s': out of memory (%zu bytes)", e->name, elems * sizeof(float));
        break;
      }
      if (!convert(im, e, data + e->begin, buf, elems)) {
        free(buf);
        continue;
      }
      free(t->data);
      t->data = buf;
    }
  }
  free(seen);
  free(es);
  cJSON_Delete(root);
  free(text);
  return im->problems == 0;
}

bool weights_load_safetensors(Graph *g, const char *path, Diag *d) {
  Import im = {g, path, d, 0};
  Mapping m;
  char why[128];
  /* cJSON out of memory would be "not valid JSON": make it the error it is. */
  cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = xmalloc, .free_fn = free});
  if (!map_file(path, stream_limit(g), &m, why)) {
    diag(d, DIAG_ERROR, "%s: cannot read: %s", path, why);
    return false;
  }
  import(&im, m.p, m.len);
  unmap_file(&m);
  return import_finish(&im);
}

bool weights_load_safetensors_mem(Graph *g, const char *name, const void *data, size_t len,
                                  Diag *d) {
  Import im = {g, name, d, 0};
  import(&im, data, len);
  return import_finish(&im);
}

/* ---------------------------------------------------------------- random */

typedef struct Rng {
  uint64_t s[4];
  bool have_spare; /* Box-Muller makes normals in pairs */
  double spare;
} Rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman and Vigna). */
static uint64_t rng_next(Rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

static void rng_seed(Rng *r, uint64_t seed, const char *name) {
  uint64_t mix = seed;
  uint64_t x = fnv1a64(FNV64_INIT, name, strlen(name)) ^ splitmix64(&mix);
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x); /* splitmix64 output is never all zero four times */
  r->have_spare = false;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

/* Series coefficients of det_log (1/(2k+1)), and of cos and sin (+-1/k!).
 * The factorials are exact in double up to 22!, so each is one correctly
 * rounded quotient. */
static const double log_c[] = {1.0,      1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11,
                               1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};
static const double cos_c[] = {1.0,
                               -1.0 / 2,
                               1.0 / 24,
                               -1.0 / 720,
                               1.0 / 40320,
                               -1.0 / 3628800,
                               1.0 / 479001600,
                               -1.0 / 87178291200.0,
                               1.0 / 20922789888000.0,
                               -1.0 / 6402373705728000.0};
static const double sin_c[] = {1.0,
                               -1.0 / 6,
                               1.0 / 120,
                               -1.0 / 5040,
                               1.0 / 362880,
                               -1.0 / 39916800,
                               1.0 / 6227020800.0,
                               -1.0 / 1307674368000.0,
                               1.0 / 355687428096000.0,
                               -1.0 / 121645100408832000.0};

/* A polynomial sum c[i] x^i (i < n) as two interleaved Horner chains in x^2,
 * even and odd coefficients, which halves the dependency chain. The order of
 * operations is fixed, so the result is too. */
static double poly(const double *c, int n, double x) {
  double x2 = x * x, even = 0, odd = 0;
  int top = n - 1;
  for (int i = top - (top % 2); i >= 0; i -= 2)
    even = even * x2 + c[i];
  for (int i = top - !(top % 2); i >= 1; i -= 2)
    odd = odd * x2 + c[i];
  return even + x * odd;
}

/* log(x) for x > 0 from exact frexp and a series in f = (m-1)/(m+1):
 * log(m) = 2 atanh(f) = 2 f (1 + f^2/3 + f^4/5 + ...); |f| <= 0.1716, so 12
 * terms reach double precision. Only + - * / on constants that are themselves
 * correctly rounded quotients: identical everywhere, and within 1e-15 of libm. */
static double det_log(double x) {
  RSC_ASSERT(x >= 0x1p-1022); /* normal, positive */
  /* frexp by hand for normal x (all this file passes): x = m 2^e, m in
   * [0.5, 1); exact either way, but this form is cheaper and inlines. */
  uint64_t bits;
  memcpy(&bits, &x, 8);
  int e = (int)((bits >> 52) & 0x7ff) - 1022;
  bits = (bits & 0x800fffffffffffffull) | 0x3fe0000000000000ull;
  double m;
  memcpy(&m, &bits, 8);
  /* m < sqrt(1/2): use 2m, 2^(e-1). Branch-free (m * 1 and m * 2 are exact):
   * the test is a coin toss for random input, so a branch mispredicts often. */
  int below = m < 0.70710678118654752440;
  m *= 1.0 + below;
  e -= below;
  double f = (m - 1) / (m + 1);
  return 2 * f * poly(log_c, 12, f * f) + e * 0.69314718055994530942;
}

/* cos and sin of 2 pi t for t in [0, 1). 4t splits exactly into a quadrant and
 * a remainder in [-0.5, 0.5], so the Taylor series (to a^18 and a^19) run on
 * |a| <= pi/4, where they are good to double precision. */
static void det_cossin_2pi(double t, double *c, double *s) {
  double q4 = 4 * t;
  /* floor(q4 + 0.5) for q4 + 0.5 in [0.5, 4.5): truncation, exact, and no libm
   * call where floor is not an instruction (x86-64 before SSE4.1). */
  int q = (int)(q4 + 0.5);
  double a = (q4 - q) * 1.57079632679489661923;
  double a2 = a * a;
  double cs = poly(cos_c, 10, a2), sn = a * poly(sin_c, 10, a2);
  /* Quadrant q: (c, s) = (cs, sn), (-sn, cs), (-cs, -sn), (sn, -cs). Picked by
   * index and sign tables instead of a switch, which would mispredict 3 times
   * in 4 on random t; negation by * -1.0 is exact, zeros' signs included. */
  static const double sign_c[4] = {1, -1, -1, 1}, sign_s[4] = {1, 1, -1, -1};
  const double v[2] = {cs, sn};
  int odd = q & 1;
  *c = v[odd] * sign_c[q & 3];
  *s = v[!odd] * sign_s[q & 3];
}

#if defined(__GNUC__) || defined(__clang__)
/* det_log and det_cossin_2pi on LANES values at once, in GCC/Clang vector
 * types: the same IEEE operations in the same order, so each lane is
 * bit-identical to the scalar functions. The compiler splits the vectors
 * into what the target has (SSE2: 2 lanes, AVX-512: 8), see fill_normal.
 * Vectors go by pointer: by value they would change the ABI with the ISA
 * (-Wpsabi), and these are always inlined anyway. */
#define RSC_VEC 1
enum { LANES = 8, BLOCK = 64 /* pairs of normals per batch in fill_normal */ };
typedef double Vd __attribute__((vector_size(8 * LANES)));
typedef long long Vi __attribute__((vector_size(8 * LANES)));
#define VINLINE __attribute__((always_inline)) static inline

VINLINE void vpoly(const double *c, int n, const Vd *xp, Vd *out) {
  Vd x = *xp, x2 = x * x, even = {0}, odd = {0};
  int top = n - 1;
  for (int i = top - (top % 2); i >= 0; i -= 2)
    even = even * x2 + c[i];
  for (int i = top - !(top % 2); i >= 1; i -= 2)
    odd = odd * x2 + c[i];
  *out = even + x * odd;
}

VINLINE void vlog(const Vd *xp, Vd *out) {
  Vi bits;
  memcpy(&bits, xp, sizeof bits);
  Vi e = ((bits >> 52) & 0x7ff) - 1022;
  bits = (bits & (long long)0x800fffffffffffffull) | 0x3fe0000000000000ll;
  Vd m;
  memcpy(&m, &bits, sizeof m);
  Vi below = m < 0.70710678118654752440; /* -1 where true */
  m *= 1.0 - __builtin_convertvector(below, Vd);
  e += below;
  Vd f = (m - 1) / (m + 1), f2 = f * f, p;
  vpoly(log_c, 12, &f2, &p);
  *out = 2 * f * p + __builtin_convertvector(e, Vd) * 0.69314718055994530942;
}

VINLINE void vcossin_2pi(const Vd *t, Vd *c, Vd *s) {
  Vd q4 = 4 * *t;
  Vi q = __builtin_convertvector(q4 + 0.5, Vi);
  Vd a = (q4 - __builtin_convertvector(q, Vd)) * 1.57079632679489661923;
  Vd a2 = a * a, cs, sn;
  vpoly(cos_c, 10, &a2, &cs);
  vpoly(sin_c, 10, &a2, &sn);
  sn = a * sn;
  /* Odd quadrants swap cos and sin (a bitwise select), then the signs:
   * cos < 0 in quadrants 1, 2, sin < 0 in 2, 3. */
  Vi odd = -(q & 1), csb, snb;
  memcpy(&csb, &cs, sizeof csb);
  memcpy(&snb, &sn, sizeof snb);
  Vi cb = (snb & odd) | (csb & ~odd), sb = (csb & odd) | (snb & ~odd);
  Vd cv, sv;
  memcpy(&cv, &cb, sizeof cv);
  memcpy(&sv, &sb, sizeof sv);
  *c = cv * (1.0 - __builtin_convertvector((q + 1) & 2, Vd));
  *s = sv * (1.0 - __builtin_convertvector(q & 2, Vd));
}
#endif

/* fill_normal is compiled twice where GCC can dispatch on the CPU (ifunc):
 * for x86-64-v4 (AVX-512: one instruction per 8 lanes, int64 conversions
 * included; AVX2 lacks those and is slower than SSE2 here) and the baseline.
 * Both give the same bits: IEEE operations, no contraction into FMA. */
#if defined(RSC_VEC) && defined(__x86_64__) && defined(__ELF__) && !defined(__clang__) &&         \
    __GNUC__ >= 12
#define FILL_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define FILL_CLONES
#endif

/* Standard normal, Box-Muller. */
static double rng_normal(Rng *r) {
  if (r->have_spare) {
    r->have_spare = false;
    return r->spare;
  }
  double u1 = 1.0 - rng_unit(r); /* (0, 1]: log is finite */
  double u2 = rng_unit(r);
  double rad = sqrt(-2 * det_log(u1)), c, s;
  det_cossin_2pi(u2, &c, &s);
  r->spare = rad * s;
  r->have_spare = true;
  return rad * c;
}

/* Same sequence as n calls of rng_normal, a pair per Box-Muller step without
 * the spare bookkeeping (this loop makes most of the random weights). */
FILL_CLONES static void fill_normal(Rng *r, float *p, size_t n, double std) {
  size_t i = 0;
  if (r->have_spare && n > 0) {
    p[i++] = (float)(rng_normal(r) * std);
  }
#ifdef RSC_VEC
  /* Up to BLOCK pairs at a time: first all their uniforms (the serial
   * xoshiro chain), into arrays, then the vector math LANES pairs at a time
   * from those arrays. Building each vector from the scalar draws as they
   * come stalled on every vector load (a store-forwarding failure), and kept
   * the divisions and square roots of successive steps from overlapping. The
   * square roots are a loop over the lanes: GCC vectorises it (weights.o is
   * built with -fno-math-errno; the argument is never negative anyway, so
   * the results are the same IEEE square roots either way). */
  while (i + 2 * LANES <= n) {
    size_t pairs = (n - i) / (2 * LANES) * LANES;
    if (pairs > BLOCK)
      pairs = BLOCK;
    double u1s[BLOCK], u2s[BLOCK];
    for (size_t k = 0; k < pairs; k++) {
      u1s[k] = 1.0 - rng_unit(r);
      u2s[k] = rng_unit(r);
    }
    for (size_t k0 = 0; k0 < pairs; k0 += LANES, i += 2 * LANES) {
      Vd u1, u2, lg, c, s, rad;
      memcpy(&u1, u1s + k0, sizeof u1);
      memcpy(&u2, u2s + k0, sizeof u2);
      vlog(&u1, &lg);
      vcossin_2pi(&u2, &c, &s);
      Vd arg = -2 * lg;
      for (int k = 0; k < LANES; k++)
        rad[k] = sqrt(arg[k]);
      Vd pc = rad * c * std, ps = rad * s * std;
      for (int k = 0; k < LANES; k++) {
        p[i + 2 * k] = (float)pc[k];
        p[i + 2 * k + 1] = (float)ps[k];
      }
    }
  }
#endif
  for (; i + 2 <= n; i += 2) {
    double u1 = 1.0 - rng_unit(r), u2 = rng_unit(r);
    double rad = sqrt(-2 * det_log(u1)), c, s;
    det_cossin_2pi(u2, &c, &s);
    p[i] = (float)(rad * c * std);
    p[i + 1] = (float)(rad * s * std);
  }
  if (i < n)
    p[i] = (float)(rng_normal(r) * std);
}

static void fill_uniform(Rng *r, float *p, size_t n, double lo, double hi) {
  for (size_t i = 0; i < n; i++)
    p[i] = (float)(lo + (hi - lo) * rng_unit(r));
}

/* Is name "<module>.<field>" a BN parameter, i.e. does <module>.running_var exist? */
static bool is_bn_param(const Graph *g, const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot)
    return false;
  char *sib = xstrfmt("%.*s.running_var", (int)(dot - name), name);
  bool yes = graph_find_tensor(g, sib) >= 0;
  free(sib);
  return yes;
}

static void random_tensor(const Graph *g, Tensor *t, Rng *r) {
  size_t n = tensor_elems(t);
  const char *name = t->name;
  if (t->ndim == 4 && ends_with(name, ".weight")) { /* conv, SE fc1/fc2 included */
    double fan_out = (double)t->dims[0] * t->dims[2] * t->dims[3];
    fill_normal(r, t->data, n, sqrt(2.0 / fan_out));
  } else if (t->ndim == 2 && ends_with(name, ".weight")) { /* dense [out,in] */
    fill_normal(r, t->data, n, 1.0 / sqrt((double)t->dims[1]));
  } else if (strcmp(name, "fc.bias") == 0) {
    fill_normal(r, t->data, n, 0.01);
  } else if (t->ndim == 1 && is_bn_param(g, name)) {
    if (ends_with(name, ".running_var"))
      fill_uniform(r, t->data, n, 0.5, 1.5);
    else if (ends_with(name, ".weight") && strstr(name, ".bn3."))
      fill_uniform(r, t->data, n, 0.1, 0.3);
    else if (ends_with(name, ".weight"))
      fill_uniform(r, t->data, n, 0.5, 1.5);
    else /* bias (beta), running_mean */
      fill_normal(r, t->data, n, 0.1);
  } else { /* SE biases and anything else */
    fill_normal(r, t->data, n, 0.1);
  }
}

/* weights_random runs on rsc_threads() threads (RS-420's 770 MB of normals
 * take seconds on one core). Each tensor has its own generator seeded by its
 * name, so which thread fills it, and in which order, changes nothing. */
typedef struct Work {
  Graph *g;
  uint64_t seed;
  const int *order; /* tensor ids, biggest first: the last ones to go are small */
} Work;

static void fill_tensor(void *ctx, int i, int worker) {
  (void)worker;
  Work *w = ctx;
  Tensor *t = &w->g->tensors[w->order[i]];
  free(t->data);
  t->data = xmalloc(tensor_elems(t) * sizeof(float));
  Rng r;
  rng_seed(&r, w->seed, t->name);
  random_tensor(w->g, t, &r);
}

static const Graph *sort_graph; /* for by_size_desc; qsort has no context */

static int by_size_desc(const void *a, const void *b) {
  size_t na = tensor_elems(&sort_graph->tensors[*(const int *)a]);
  size_t nb = tensor_elems(&sort_graph->tensors[*(const int *)b]);
  if (na != nb)
    return na > nb ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

/* Fills the tensors of the graph, biggest first, or with only_small just the
 * 1-D ones (the others are marked deferred). */
static void fill_all(Graph *g, uint64_t seed, bool only_small) {
  int *order = xmalloc((size_t)(g->ntensors ? g->ntensors : 1) * sizeof *order);
  int n = 0;
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = &g->tensors[i];
    t->deferred = only_small && t->ndim > 1;
    if (!t->deferred) {
      order[n++] = i;
    } else { /* no stale values beside the deferred ones */
      free(t->data);
      t->data = NULL;
    }
  }
  sort_graph = g;
  qsort(order, (size_t)n, sizeof *order, by_size_desc);
  Work w = {.g = g, .seed = seed, .order = order};
  parallel_for(n, rsc_threads(), fill_tensor, &w);
  free(order);
  g->seed = seed;
}

void weights_random(Graph *g, uint64_t seed) { fill_all(g, seed, false); }

void weights_random_deferred(Graph *g, uint64_t seed) { fill_all(g, seed, true); }

void weights_draw(const Graph *g, const Tensor *t, float *out) {
  Tensor tmp = *t; /* random_tensor fills t->data */
  tmp.data = out;
  Rng r;
  rng_seed(&r, g->seed, t->name);
  random_tensor(g, &tmp, &r);
}
