/* fuzz_h5.c - libFuzzer target: the Keras .h5 mapping (compiler/weights_h5.c)
 * onto the network of fuzz/h5.spec.
 *
 * libhdf5's own parser is not rsc's code, so the target is structure-aware: the
 * input describes a Keras weights file, which the target writes with libhdf5
 * and hands to weights_load_h5. The description starts from the file Keras
 * would write for the network (every conv, BN and dense layer under its Keras
 * name, derived here independently of weights_h5.c, as tests/keras_h5.py does)
 * and the input's bytes choose the options and mutations:
 *   byte 0  flags: 1 converted-checkpoint names (else tf.keras.applications),
 *           2 under /model_weights, 4 layer_names as variable-length strings,
 *           8 weight_names variable-length, 16 layer_names split into
 *           layer_names0..K-1, 32 weightless layers in between (input, act),
 *           64 layer_names of integer type, 128 no layer_names at all
 *   byte 1  the stem counter of applications names (stem_N_), K, and (128)
 *           the latest HDF5 file format instead of the most compatible one
 *   then    4-byte mutations {op, layer, a, b}: see enum Mutation.
 * An input with no mutation and flags below 64 describes a good file: the
 * import must succeed and give exactly the values written, in PyTorch layout
 * (the target aborts otherwise). Any other input must only fail cleanly.
 * An input that starts with the HDF5 signature is written as it is instead
 * (raw bytes: the seed corpus holds small real files), unless the environment
 * has RSC_FUZZ_H5_RAW=0, as `make fuzz` sets: mutated raw files mostly find
 * libhdf5's own bugs (1.10.8 leaks object headers it fails to decode, inside
 * H5Oopen), which would stop the run before it reaches rsc's code.
 *
 * No file is written: the target builds the file in memory (the core driver
 * without a backing store) and takes its image; weights_load_h5 then opens
 * FUZZ_H5_NAME, and the link (Makefile, FUZZ_LDFLAGS_h5) routes its fopen,
 * H5Fis_hdf5 and H5Fopen of that name to the wrappers below, which serve the
 * image (the core driver with a file image). Every other name goes to the real
 * functions, so the importer runs unchanged. The network's graph is built once
 * and copied per input (clone.h). */
#include "rsc.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_H5_SPEC
#define FUZZ_H5_SPEC "fuzz/h5.spec"
#endif

enum { MAX_LAYERS = 128, MAX_W = 6, NAME_CAP = 320, MAX_ELEMS = 1 << 16 };

typedef enum Mutation {
  M_DROP_LAYER,    /* neither listed nor written */
  M_DUP_LISTED,    /* listed twice in layer_names */
  M_RENAME,        /* a: how (one char, cut, append, another layer's, other scheme, special) */
  M_LISTED_ONLY,   /* listed, no group */
  M_GROUP_ONLY,    /* group, not listed */
  M_SHAPE,         /* weight a: a dimension +-1, one more or one fewer */
  M_DTYPE,         /* weight a: f64, big-endian f32, int32, uint8, strings */
  M_VALUE,         /* weight a: NaN, Inf, -Inf, 1e300, a denormal at some index */
  M_DROP_WEIGHT,   /* weight a: not listed, not written */
  M_EXTRA_WEIGHT,  /* one more listed weight: a duplicate, unknown, ... */
  M_NO_DATASET,    /* weight a: listed, not written */
  M_WEIGHT_NAMES,  /* weight_names: integer, missing, split, empty */
  M_AS_DATASET,    /* the layer is a dataset, not a group */
  M_WNAME_FORM,    /* weight a listed as "kernel:0", "kernel", "<layer>/kernel:x" */
  M_DATASPACE,     /* weight a: scalar, null, a zero dimension */
  M_STORAGE,       /* weight a: chunked+deflate+shuffle, compact, fletcher32 */
  NOPS
} Mutation;

typedef struct W {
  char field[32]; /* "kernel", "gamma", ... */
  int nd;
  hsize_t dims[5];
  int tensor; /* graph tensor, -1 for an extra weight */
  int dtype, value, value_at, form, space, storage;
  bool listed, written;
} W;

typedef struct L {
  char name[NAME_CAP];
  char other[NAME_CAP]; /* the name in the other scheme */
  int nw;
  W w[MAX_W];
  bool listed, dup, group, as_dataset, weightless;
  int wn_kind;
} L;

static FILE *null_out;
static char *spec_text;
static size_t spec_len;
static Spec spec;   /* of h5.spec; spec.loc points into spec_text */
static Graph built; /* after shape inference, no weights: copied per input */
/* The name weights_load_h5 is given: a path that cannot exist (so the core
 * driver, which refuses to shadow a file on disk, never finds one). */
#define FUZZ_H5_NAME "/dev/null/fuzz.h5"

static bool raw_off;
static const void *image; /* the current input's file */
static size_t image_len;
static void *written;     /* the image write_file took from libhdf5 */
static hid_t dxpl;        /* writes: a 64 KB conversion buffer, not libhdf5's 1 MB */

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);
htri_t __real_H5Fis_hdf5(const char *name);
htri_t __wrap_H5Fis_hdf5(const char *name);
hid_t __real_H5Fopen(const char *name, unsigned flags, hid_t fapl);
hid_t __wrap_H5Fopen(const char *name, unsigned flags, hid_t fapl);

FILE *__wrap_fopen(const char *path, const char *mode) {
  static char empty[1];
  if (strcmp(path, FUZZ_H5_NAME) != 0)
    return __real_fopen(path, mode);
  return fmemopen(image_len ? (void *)(uintptr_t)image : empty, image_len, "r");
}

/* As libhdf5 looks for the signature: at 0, 512, 1024, 2048, ... */
htri_t __wrap_H5Fis_hdf5(const char *name) {
  static const uint8_t magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (strcmp(name, FUZZ_H5_NAME) != 0)
    return __real_H5Fis_hdf5(name);
  for (size_t at = 0; at + sizeof magic <= image_len; at = at ? 2 * at : 512)
    if (memcmp((const uint8_t *)image + at, magic, sizeof magic) == 0)
      return 1;
  return 0;
}

hid_t __wrap_H5Fopen(const char *name, unsigned flags, hid_t fapl) {
  if (strcmp(name, FUZZ_H5_NAME) != 0)
    return __real_H5Fopen(name, flags, fapl);
  hid_t mem = H5Pcreate(H5P_FILE_ACCESS);
  hid_t file = -1;
  if (H5Pset_fapl_core(mem, 1 << 16, 0) >= 0 &&
      H5Pset_file_image(mem, (void *)(uintptr_t)image, image_len) >= 0)
    file = __real_H5Fopen(name, flags, mem);
  H5Pclose(mem);
  return file;
}
static L layers[MAX_LAYERS];
static int nlayers;

typedef struct Rd {
  const uint8_t *p;
  size_t n;
} Rd;

static unsigned byte(Rd *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

/* The value written at Keras index k of weight f of layer li: exact in float;
 * variances positive. */
static double value_of(int li, int f, size_t k, bool positive) {
  double v = (double)((k * 31 + (size_t)li * 7 + (size_t)f * 3) % 97) / 64.0 - 0.75;
  return positive ? fabs(v) + 0.5 : v;
}

/* ------------------------------------------------ the network's Keras names */

static const char *const block_part[][3] = {
    /* timm part, applications suffix, converted suffix */
    {"conv1", "_conv_1", "conv_1"},
    {"bn1", "batch_norm_1", "batch_norm_1"},
    {"conv2", "_conv_2", "conv_2"},
    {"bn2", "_batch_norm_2", "batch_norm_2"},
    {"conv3", "_conv_3", "conv_3"},
    {"bn3", "_batch_norm_3", "batch_norm_3"},
    {"se.fc1", "_se_se_reduce", "se_reduce"},
    {"se.fc2", "_se_se_expand", "se_expand"},
    {"downsample.1", "_projection_conv", "projection_conv"},
    {"downsample.2", "_projection_batch_norm", "projection_batch_norm"},
};

/* apps/converted names of a timm module; false if it has none. */
static bool keras_name(const char *timm, int counter, char *apps, char *conv) {
  static const char *const stem[][3] = {
      {"conv1.0", "conv", "1"}, {"conv1.1", "batch_norm", "1"}, {"conv1.3", "conv", "2"},
      {"conv1.4", "batch_norm", "2"}, {"conv1.6", "conv", "3"}, {"bn1", "batch_norm", "3"},
      {"maxpool.0", "conv", "4"}, {"maxpool.1", "batch_norm", "4"},
  };
  for (size_t i = 0; i < sizeof stem / sizeof *stem; i++)
    if (strcmp(timm, stem[i][0]) == 0) {
      snprintf(apps, NAME_CAP, "stem_%d_stem_%s_%s", counter, stem[i][1], stem[i][2]);
      snprintf(conv, NAME_CAP, "stem_%s_%s", stem[i][1], stem[i][2]);
      return true;
    }
  if (strcmp(timm, "fc") == 0) {
    snprintf(apps, NAME_CAP, "predictions");
    snprintf(conv, NAME_CAP, "predictions");
    return true;
  }
  int s, b, used = 0;
  if (sscanf(timm, "layer%d.%d.%n", &s, &b, &used) != 2 || !used)
    return false;
  for (size_t i = 0; i < sizeof block_part / sizeof *block_part; i++)
    if (strcmp(timm + used, block_part[i][0]) == 0) {
      snprintf(apps, NAME_CAP, "BlockGroup%d__block_%d_%s", s + 1, b, block_part[i][1]);
      snprintf(conv, NAME_CAP, "c%d_block_%d_%s", s + 1, b, block_part[i][2]);
      return true;
    }
  return false;
}

static void add_weight(L *l, const char *field, const Tensor *t, int tensor) {
  W *w = &l->w[l->nw++];
  memset(w, 0, sizeof *w);
  snprintf(w->field, sizeof w->field, "%s", field);
  w->tensor = tensor;
  w->listed = w->written = true;
  w->value_at = -1;
  w->nd = t->ndim;
  if (t->ndim == 4) { /* OIHW -> HWIO */
    const int perm[4] = {2, 3, 1, 0};
    for (int k = 0; k < 4; k++)
      w->dims[k] = (hsize_t)t->dims[perm[k]];
  } else if (t->ndim == 2) { /* [out,in] -> [in,out] */
    w->dims[0] = (hsize_t)t->dims[1];
    w->dims[1] = (hsize_t)t->dims[0];
  } else {
    for (int k = 0; k < t->ndim; k++)
      w->dims[k] = (hsize_t)t->dims[k];
  }
}

/* The good file's layers for graph g (no weights loaded yet). */
static void describe(const Graph *g, bool converted, int counter, bool weightless) {
  nlayers = 0;
  for (int i = 0; i < g->nnodes && nlayers < MAX_LAYERS - 1; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || (n->op != OP_CONV && n->op != OP_BN && n->op != OP_DENSE))
      continue;
    L *l = &layers[nlayers];
    memset(l, 0, sizeof *l);
    char apps[NAME_CAP], conv[NAME_CAP];
    if (!keras_name(n->name, counter, apps, conv)) {
      fprintf(stderr, "fuzz_h5: no Keras name for '%s'\n", n->name);
      abort();
    }
    snprintf(l->name, NAME_CAP, "%s", converted ? conv : apps);
    snprintf(l->other, NAME_CAP, "%s", converted ? apps : conv);
    l->listed = l->group = true;
    if (n->op == OP_BN) {
      const BnAttr *bn = &n->attr.bn;
      add_weight(l, "gamma", &g->tensors[bn->gamma], bn->gamma);
      add_weight(l, "beta", &g->tensors[bn->beta], bn->beta);
      add_weight(l, "moving_mean", &g->tensors[bn->mean], bn->mean);
      add_weight(l, "moving_variance", &g->tensors[bn->var], bn->var);
    } else {
      add_weight(l, "kernel", &g->tensors[n->w], n->w);
      if (n->b >= 0)
        add_weight(l, "bias", &g->tensors[n->b], n->b);
    }
    nlayers++;
    if (weightless && n->op == OP_BN && nlayers < MAX_LAYERS) { /* the activation after it */
      L *a = &layers[nlayers++];
      memset(a, 0, sizeof *a);
      snprintf(a->name, NAME_CAP, "%s_act%d", converted ? "act" : "activation", nlayers);
      a->listed = a->group = a->weightless = true;
    }
  }
}

/* ------------------------------------------------------------- mutations */

static void mutate(Rd *r) {
  Mutation op = (Mutation)(byte(r) % NOPS);
  L *l = &layers[byte(r) % (unsigned)nlayers];
  unsigned a = byte(r), b = byte(r);
  W *w = l->nw ? &l->w[a % (unsigned)l->nw] : NULL;
  size_t len = strlen(l->name);
  switch (op) {
  case M_DROP_LAYER:
    l->listed = l->group = false;
    break;
  case M_DUP_LISTED:
    l->dup = true;
    break;
  case M_RENAME:
    switch (a % 6) {
    case 0:
      if (len)
        l->name[b % len] = (char)(' ' + (a / 6 + b) % 95);
      break;
    case 1:
      l->name[len ? b % len : 0] = '\0';
      break;
    case 2:
      if (len + 2 < NAME_CAP) {
        l->name[len] = (char)(' ' + b % 95);
        l->name[len + 1] = '\0';
      }
      break;
    case 3:
      memmove(l->name, layers[b % (unsigned)nlayers].name, NAME_CAP); /* maybe itself */
      break;
    case 4:
      memcpy(l->name, l->other, NAME_CAP);
      break;
    default: {
      static const char *const special[] = {
          "", "a/b", ".", "stem_99999999999999999999_stem_conv_1", "stem__stem_conv_1",
          "stem_1_stem_", "layer_names", "BlockGroup0__block_-1__conv_1", "c9_block_9_conv_9",
          "predictions/predictions"};
      const size_t nspecial = sizeof special / sizeof *special;
      if (b % (nspecial + 1) == nspecial) {
        memset(l->name, 'A', NAME_CAP - 1);
        l->name[NAME_CAP - 1] = '\0';
      } else {
        snprintf(l->name, NAME_CAP, "%s", special[b % (nspecial + 1)]);
      }
    }
    }
    break;
  case M_LISTED_ONLY:
    l->group = false;
    break;
  case M_GROUP_ONLY:
    l->listed = false;
    break;
  case M_SHAPE:
    if (!w)
      break;
    switch (b % 4) {
    case 0:
      w->dims[(b / 4) % (unsigned)w->nd]++;
      break;
    case 1:
      if (w->dims[(b / 4) % (unsigned)w->nd])
        w->dims[(b / 4) % (unsigned)w->nd]--;
      break;
    case 2:
      if (w->nd < 5)
        w->dims[w->nd++] = 1 + (b / 4) % 2;
      break;
    default:
      if (w->nd > 1)
        w->nd--;
    }
    break;
  case M_DTYPE:
    if (w)
      w->dtype = 1 + (int)(b % 5);
    break;
  case M_VALUE:
    if (w) {
      w->value = 1 + (int)(b % 5);
      w->value_at = (int)(a / 4 + b / 8);
    }
    break;
  case M_DROP_WEIGHT:
    if (w)
      w->listed = w->written = false;
    break;
  case M_EXTRA_WEIGHT:
    if (l->nw < MAX_W) {
      static const char *const extra[] = {"kernel", "bias", "gamma", "moving_variance",
                                          "foo", "kernel:0/x", ""};
      W *e = &l->w[l->nw++];
      memset(e, 0, sizeof *e);
      snprintf(e->field, sizeof e->field, "%s", extra[b % (sizeof extra / sizeof *extra)]);
      e->tensor = -1;
      e->nd = 1;
      e->dims[0] = 1 + a % 4;
      e->value_at = -1;
      e->listed = e->written = true;
    }
    break;
  case M_NO_DATASET:
    if (w)
      w->written = false;
    break;
  case M_WEIGHT_NAMES:
    l->wn_kind = 1 + (int)(b % 4);
    break;
  case M_AS_DATASET:
    l->as_dataset = true;
    break;
  case M_WNAME_FORM:
    if (w)
      w->form = 1 + (int)(b % 3);
    break;
  case M_DATASPACE:
    if (w)
      w->space = 1 + (int)(b % 3);
    break;
  case M_STORAGE:
    if (w)
      w->storage = 1 + (int)(b % 3);
    break;
  case NOPS:
    break;
  }
}

/* ------------------------------------------------------------ the file */

static void write_strings(hid_t obj, const char *name, char **v, int n, bool vlen) {
  hsize_t dim = (hsize_t)n;
  hid_t sp = H5Screate_simple(1, &dim, NULL), ty = H5Tcopy(H5T_C_S1);
  if (vlen) {
    H5Tset_size(ty, H5T_VARIABLE);
    hid_t at = H5Acreate2(obj, name, ty, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (at >= 0) {
      H5Awrite(at, ty, v);
      H5Aclose(at);
    }
  } else { /* numpy 'S': null-padded, no terminator when full */
    size_t size = 1;
    for (int i = 0; i < n; i++)
      if (strlen(v[i]) > size)
        size = strlen(v[i]);
    char *buf = xcalloc((size_t)n * size + 1, 1);
    for (int i = 0; i < n; i++)
      memcpy(buf + (size_t)i * size, v[i], strlen(v[i]));
    H5Tset_size(ty, size);
    H5Tset_strpad(ty, H5T_STR_NULLPAD);
    hid_t at = H5Acreate2(obj, name, ty, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (at >= 0) {
      H5Awrite(at, ty, buf);
      H5Aclose(at);
    }
    free(buf);
  }
  H5Tclose(ty);
  H5Sclose(sp);
}

static void write_int_attr(hid_t obj, const char *name, int n) {
  hsize_t dim = (hsize_t)(n > 0 ? n : 1);
  int *v = xcalloc((size_t)dim, sizeof *v);
  hid_t sp = H5Screate_simple(1, &dim, NULL);
  hid_t at = H5Acreate2(obj, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (at >= 0) {
    H5Awrite(at, H5T_NATIVE_INT, v);
    H5Aclose(at);
  }
  H5Sclose(sp);
  free(v);
}

/* A Keras list attribute: `name`, or name0..name{k-1} when split. */
static void write_list(hid_t obj, const char *name, char **v, int n, bool vlen, int split) {
  if (split < 2 || n < 2) {
    write_strings(obj, name, v, n, vlen);
    return;
  }
  for (int c = 0, at = 0; c < split; c++) {
    int end = n * (c + 1) / split;
    char part[64];
    snprintf(part, sizeof part, "%s%d", name, c);
    write_strings(obj, part, v + at, end - at, vlen);
    at = end;
  }
}

static void write_dataset(hid_t grp, hid_t lcpl, int li, int wi, const W *w, const char *dpath) {
  hsize_t dims[5];
  size_t n = 1;
  for (int k = 0; k < w->nd; k++) {
    dims[k] = w->dims[k];
    n *= (size_t)w->dims[k];
  }
  if (n > MAX_ELEMS)
    return;
  hid_t sp = w->space == 1   ? H5Screate(H5S_SCALAR)
             : w->space == 2 ? H5Screate(H5S_NULL)
                             : -1;
  if (w->space == 3)
    dims[0] = 0;
  if (sp < 0)
    sp = H5Screate_simple(w->nd, dims, NULL);
  hid_t base = w->dtype == 1   ? H5T_IEEE_F64LE
               : w->dtype == 2 ? H5T_IEEE_F32BE
               : w->dtype == 3 ? H5T_STD_I32LE
               : w->dtype == 4 ? H5T_STD_U8LE
               : w->dtype == 5 ? H5T_C_S1
                               : H5T_IEEE_F32LE;
  hid_t ty = H5Tcopy(base);
  if (w->dtype == 5)
    H5Tset_size(ty, 4);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (w->storage == 1 || w->storage == 3) {
    hsize_t chunk[5];
    for (int k = 0; k < w->nd; k++)
      chunk[k] = dims[k] ? dims[k] : 1;
    H5Pset_chunk(dcpl, w->nd, chunk);
    if (w->storage == 1) {
      H5Pset_shuffle(dcpl);
      H5Pset_deflate(dcpl, 1);
    } else {
      H5Pset_fletcher32(dcpl);
    }
  } else if (w->storage == 2) {
    H5Pset_layout(dcpl, H5D_COMPACT);
  }
  hid_t ds = H5Dcreate2(grp, dpath, ty, sp, lcpl, dcpl, H5P_DEFAULT);
  if (ds >= 0 && w->space == 0) {
    if (w->dtype == 5) {
      char *s = xcalloc(n * 4 + 1, 1);
      for (size_t i = 0; i < n * 4; i++)
        s[i] = (char)('0' + i % 10);
      H5Dwrite(ds, ty, H5S_ALL, H5S_ALL, dxpl, s);
      free(s);
    } else {
      double *v = xmalloc((n ? n : 1) * sizeof *v);
      bool positive = strcmp(w->field, "moving_variance") == 0;
      for (size_t i = 0; i < n; i++)
        v[i] = value_of(li, wi, i, positive);
      if (w->value && n) {
        static const double special[] = {0, NAN, INFINITY, -INFINITY, 1e300, 1e-40};
        v[(size_t)w->value_at % n] = special[w->value];
      }
      H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, dxpl, v);
      free(v);
    }
  }
  if (ds >= 0)
    H5Dclose(ds);
  H5Pclose(dcpl);
  H5Tclose(ty);
  H5Sclose(sp);
}

static void wname_of(const L *l, const W *w, char *buf, size_t cap) {
  switch (w->form) {
  case 1:
    snprintf(buf, cap, "%s:0", w->field);
    break;
  case 2:
    snprintf(buf, cap, "%s", w->field);
    break;
  case 3:
    snprintf(buf, cap, "%s/%s:x", l->name, w->field);
    break;
  default:
    snprintf(buf, cap, "%s/%s:0", l->name, w->field);
  }
}

static void write_layer(hid_t root, hid_t lcpl, int li, bool vlen) {
  L *l = &layers[li];
  hid_t obj;
  if (l->as_dataset) {
    hsize_t one = 1;
    hid_t sp = H5Screate_simple(1, &one, NULL);
    obj = H5Dcreate2(root, l->name, H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(sp);
  } else {
    obj = H5Gcreate2(root, l->name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (obj < 0) /* a name used twice: the group exists */
      obj = H5Oopen(root, l->name, H5P_DEFAULT);
  }
  if (obj < 0)
    return;
  char *names[MAX_W];
  int n = 0;
  for (int k = 0; k < l->nw; k++)
    if (l->w[k].listed) {
      char buf[NAME_CAP + 64];
      wname_of(l, &l->w[k], buf, sizeof buf);
      names[n++] = xstrdup(buf);
    }
  if (H5Aexists(obj, "weight_names") <= 0) {
    switch (l->wn_kind) {
    case 1:
      write_int_attr(obj, "weight_names", n);
      break;
    case 2:
      break;
    case 3:
      write_list(obj, "weight_names", names, n, vlen, 2);
      break;
    case 4:
      write_strings(obj, "weight_names", names, 0, vlen);
      break;
    default:
      write_strings(obj, "weight_names", names, n, vlen);
    }
  }
  for (int k = 0; k < n; k++)
    free(names[k]);
  if (!l->as_dataset)
    for (int k = 0; k < l->nw; k++)
      if (l->w[k].written) {
        char buf[NAME_CAP + 64];
        wname_of(l, &l->w[k], buf, sizeof buf);
        write_dataset(obj, lcpl, li, k, &l->w[k], buf);
      }
  H5Oclose(obj);
}

/* The core driver's memory, through file image callbacks so the buffer can be
 * kept when the file closes: the image as closed, with the superblock's
 * "open for write" flag cleared (the latest format refuses to open otherwise). */
static void *image_malloc(size_t size, H5FD_file_image_op_t op, void *udata) {
  (void)op, (void)udata;
  return malloc(size);
}

static void *image_memcpy(void *dst, const void *src, size_t size, H5FD_file_image_op_t op,
                          void *udata) {
  (void)op, (void)udata;
  return memcpy(dst, src, size);
}

static void *image_realloc(void *p, size_t size, H5FD_file_image_op_t op, void *udata) {
  (void)op, (void)udata;
  return realloc(p, size);
}

static herr_t image_free(void *p, H5FD_file_image_op_t op, void *udata) {
  (void)udata;
  if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && !written)
    written = p; /* write_file's: kept */
  else
    free(p);
  return 0;
}

/* Builds the file in memory; on success image/image_len is its bytes. */
static bool write_file(unsigned flags, int split, bool latest) {
  static const H5FD_file_image_callbacks_t keep = {
      image_malloc, image_memcpy, image_realloc, image_free, NULL, NULL, NULL};
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0); /* in memory, no backing store */
  H5Pset_file_image_callbacks(fapl, (H5FD_file_image_callbacks_t *)&keep);
  if (latest)
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  hid_t file = H5Fcreate(FUZZ_H5_NAME, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (file < 0)
    return false;
  hid_t root = flags & 2 ? H5Gcreate2(file, "model_weights", H5P_DEFAULT, H5P_DEFAULT,
                                      H5P_DEFAULT)
                         : H5Oopen(file, "/", H5P_DEFAULT);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  char *attrs[2] = {"tensorflow", "2.11.0"};
  write_strings(root, "backend", attrs, 1, false);
  write_strings(root, "keras_version", attrs + 1, 1, false);
  char **names = xcalloc(2 * MAX_LAYERS + 1, sizeof *names);
  int n = 0;
  if (flags & 32)
    names[n++] = "input_1";
  for (int i = 0; i < nlayers; i++) {
    if (layers[i].listed)
      names[n++] = layers[i].name;
    if (layers[i].listed && layers[i].dup)
      names[n++] = layers[i].name;
  }
  if (flags & 64)
    write_int_attr(root, "layer_names", n);
  else if (!(flags & 128))
    write_list(root, "layer_names", names, n, flags & 4, flags & 16 ? split : 0);
  free(names);
  if (flags & 32) {
    hid_t g = H5Gcreate2(root, "input_1", lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0) {
      write_strings(g, "weight_names", NULL, 0, false);
      H5Gclose(g);
    }
  }
  for (int i = 0; i < nlayers; i++)
    if (layers[i].group)
      write_layer(root, lcpl, i, flags & 8);
  H5Pclose(lcpl);
  H5Oclose(root);
  bool ok = H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0;
  ssize_t len = ok ? H5Fget_file_image(file, NULL, 0) : -1; /* the used size */
  ok = H5Fclose(file) >= 0 && ok && len > 0 && written;
  image = written;
  image_len = ok ? (size_t)len : 0;
  return ok;
}

/* A good file imported: every tensor holds the values written, in PyTorch layout. */
static void check_values(const Graph *g) {
  for (int li = 0; li < nlayers; li++)
    for (int wi = 0; wi < layers[li].nw; wi++) {
      const W *w = &layers[li].w[wi];
      const Tensor *t = &g->tensors[w->tensor];
      bool positive = strcmp(w->field, "moving_variance") == 0;
      size_t n = tensor_elems(t);
      for (size_t k = 0; k < n; k++) { /* k: Keras (row-major over w->dims) index */
        size_t dst = k;
        if (t->ndim == 4) { /* HWIO -> OIHW */
          size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KH = (size_t)t->dims[2],
                 KW = (size_t)t->dims[3];
          size_t o = k % O, i = k / O % I, x = k / (O * I) % KW, y = k / (O * I * KW);
          dst = ((o * I + i) * KH + y) * KW + x;
        } else if (t->ndim == 2) { /* [in,out] -> [out,in] */
          size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1];
          dst = k % O * I + k / O;
        }
        if (t->data[dst] != (float)value_of(li, wi, k, positive)) {
          fprintf(stderr, "fuzz_h5: %s[%zu] is %g, the file has %g\n", t->name, dst,
                  (double)t->data[dst], value_of(li, wi, k, positive));
          abort();
        }
      }
    }
}

static void setup(void) {
  null_out = fopen("/dev/null", "w");
  spec_text = read_file(FUZZ_H5_SPEC, &spec_len);
  if (!spec_text) {
    fprintf(stderr, "fuzz_h5: cannot read %s (run from the rsc tree)\n", FUZZ_H5_SPEC);
    exit(1);
  }
  setenv("RSC_THREADS", "1", 0);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the mutations make libhdf5 calls fail */
  dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_buffer(dxpl, 1 << 16, NULL, NULL);
  const char *e = getenv("RSC_FUZZ_H5_RAW");
  raw_off = e && strcmp(e, "0") == 0;
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&spec);
  static SrcFile sf; /* spec.loc points into it */
  sf = (SrcFile){.name = FUZZ_H5_SPEC, .text = spec_text, .len = spec_len};
  if (!(spec_parse(&spec, &sf, &d) && spec_finish(&spec, &d)))
    abort();
  graph_init(&built, &spec);
  built.target = TARGET_GENERIC;
  if (!(build_graph(&built, &d) && infer_shapes(&built, &d)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (!null_out)
    setup();
  bool raw = size >= sizeof magic && memcmp(data, magic, sizeof magic) == 0;
  if (raw && raw_off)
    return 0;
  Diag d;
  diag_init(&d, null_out);
  Graph g;
  fuzz_clone(&g, &built);
  bool good = false;
  if (raw) {
    image = data;
    image_len = size;
  } else {
    Rd r = {data, size};
    unsigned flags = byte(&r), c = byte(&r);
    describe(&g, flags & 1, 1 + (int)(c % 20), flags & 32);
    good = r.n == 0 && flags < 64;
    while (r.n)
      mutate(&r);
    if (!write_file(flags, 2 + (int)(c % 3), c & 128)) {
      if (good) {
        fprintf(stderr, "fuzz_h5: libhdf5 could not write a good file\n");
        abort();
      }
      graph_free(&g);
      free(written);
      written = NULL;
      H5garbage_collect();
      return 0;
    }
  }
  bool ok = weights_load_h5(&g, FUZZ_H5_NAME, &d);
  if (good && !ok) {
    Diag loud;
    diag_init(&loud, stderr);
    Graph g2;
    graph_init(&g2, &spec);
    if (build_graph(&g2, &loud) && infer_shapes(&g2, &loud))
      weights_load_h5(&g2, FUZZ_H5_NAME, &loud);
    graph_free(&g2);
    fprintf(stderr, "fuzz_h5: the import refused a good file (above)\n");
    abort();
  }
  if (good)
    check_values(&g);
  if (ok)
    (void)(fold_bn(&g, &d) && lower_entry(&g, &d)); /* touch the loaded floats */
  graph_free(&g);
  free(written);
  written = NULL;
  image = NULL;
  image_len = 0;
  /* libhdf5's free lists back to malloc: an input's mallocs and frees then
   * balance, else libFuzzer reruns it for a leak check, and after 1,000 such
   * inputs stops checking for leaks. (Without free lists at all the target
   * is 3 times slower under ASan; free list limits instead of collecting,
   * 256 KB in all and 32 KB a list, were no faster: 31 against 33 executions
   * per CPU second.) */
  H5garbage_collect();
  return 0;
}
