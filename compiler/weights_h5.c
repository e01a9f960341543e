/*
 * weights_h5.c - imports Keras weights (.h5 written by Model.save_weights, or
 * the "model_weights" group of a whole-model .h5) through libhdf5.
 *
 * The file: the root (or /model_weights) has the attribute layer_names, an
 * array of strings, split by Keras into layer_names0, layer_names1, ... when it
 * would pass HDF5's 64 KiB object header limit. Each layer is a group of that
 * name whose attribute weight_names (split the same way) lists its datasets,
 * which sit at <layer>/<weight name>, e.g. stem_1_stem_conv_1/kernel:0.
 *
 * Mapping is by layer name, not by order: the expected Keras name of each
 * conv, BN and dense of the built graph is derived from its timm name
 * (keras_names), in both schemes of ../shared/docs/resnet-rs.md:
 *   timm                  tf.keras.applications              converted checkpoints
 *   conv1.0 / conv1.1     stem_1_stem_conv_1 / _batch_norm_1 stem_conv_1 / stem_batch_norm_1
 *   conv1.3 / conv1.4     ..._2                               ..._2
 *   conv1.6 / bn1         ..._3                               ..._3
 *   maxpool.0 / .1        ..._4                               ..._4
 *   layerS.I.conv1 / bn1  BlockGroup{S+1}__block_I__conv_1 /  c{S+1}_block_I_conv_1 /
 *                         BlockGroup{S+1}__block_I_batch_norm_1 c{S+1}_block_I_batch_norm_1
 *   .conv2 .bn2 .conv3 .bn3  __conv_2 _batch_norm_2 ...       conv_2 batch_norm_2 ...
 *   .se.fc1 / .se.fc2     __se_se_reduce / __se_se_expand     se_reduce / se_expand
 *   .downsample conv / BN __projection_conv / _batch_norm     projection_conv / _batch_norm
 *   fc                    predictions                         predictions
 * The stem counter stem_N_ may be any N (a second model built in a session).
 * Layers without weights (input, activations, pooling, preprocessing) are
 * skipped whatever their names.
 *
 * Keras layouts become the graph's PyTorch layouts here, so everything after
 * the weights pass is the same for every importer: conv kernels HWIO
 * [kh,kw,in,out] -> OIHW, dense [in,out] -> [out,in]; BN gamma, beta,
 * moving_mean, moving_variance -> weight, bias, running_mean, running_var.
 * HDF5 converts any float type to float on read; values must be finite.
 * As for safetensors, the whole structure is checked first and the data read
 * only when it is right; up to MAX_PROBLEMS problems are reported.
 */
#include "rsc.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_PROBLEMS = 20, MAX_FIELDS = 4 };

/* One conv, BN or dense module of the graph and the Keras layer it expects. */
typedef struct Expect {
  const Node *node;
  char *keras[2]; /* [0] tf.keras.applications name (counter stem_1_), [1] converted name */
  int nfields;
  const char *field[MAX_FIELDS]; /* Keras variable names: "kernel", "gamma", ... */
  int tensor[MAX_FIELDS];        /* graph tensor id of each */
  int layer;                     /* index of the file layer that matched, -1 if none */
} Expect;

typedef struct H5Import {
  Graph *g;
  const char *path;
  Diag *d;
  int problems;
  Expect *ex;
  int nex;
  char **src; /* per graph tensor: dataset path under the weights root, or NULL */
} H5Import;

static void problem(H5Import *im, const char *fmt, ...) RSC_PRINTF(2, 3);

static void problem(H5Import *im, const char *fmt, ...) {
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

/* ---------------------------------------------------------------- names */

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The block-level part of a timm module name: "se.fc1" for "layer2.3.se.fc1". */
typedef struct BlockPart {
  const char *timm; /* after "layerS.I." */
  const char *apps; /* tf.keras.applications suffix after "BlockGroupN__block_I_" */
  const char *conv; /* converted-checkpoint suffix after "cN_block_I_" */
} BlockPart;

static const BlockPart block_parts[] = {
    {"conv1", "_conv_1", "conv_1"},
    {"bn1", "batch_norm_1", "batch_norm_1"}, /* Keras has no '_' here */
    {"conv2", "_conv_2", "conv_2"},
    {"bn2", "_batch_norm_2", "batch_norm_2"},
    {"conv3", "_conv_3", "conv_3"},
    {"bn3", "_batch_norm_3", "batch_norm_3"},
    {"se.fc1", "_se_se_reduce", "se_reduce"},
    {"se.fc2", "_se_se_expand", "se_expand"},
};

/* Fills e->keras from the node's timm name; false if Keras has no such layer
 * (the classic 7x7 stem, for one). */
static bool keras_names(const Graph *g, const Node *n, Expect *e) {
  static const char *const stem_conv[] = {"conv1.0", "conv1.3", "conv1.6", "maxpool.0"};
  static const char *const stem_bn[] = {"conv1.1", "conv1.4", "bn1", "maxpool.1"};
  const char *name = n->name;
  if (g->spec.stem == STEM_DEEP) {
    for (int k = 0; k < 4; k++) {
      if (strcmp(name, stem_conv[k]) == 0 || strcmp(name, stem_bn[k]) == 0) {
        const char *what = n->op == OP_CONV ? "conv" : "batch_norm";
        e->keras[0] = xstrfmt("stem_1_stem_%s_%d", what, k + 1);
        e->keras[1] = xstrfmt("stem_%s_%d", what, k + 1);
        return true;
      }
    }
  }
  if (strcmp(name, "fc") == 0) {
    e->keras[0] = xstrdup("predictions");
    e->keras[1] = xstrdup("predictions");
    return true;
  }
  int stage, block, used = 0;
  if (sscanf(name, "layer%d.%d.%n", &stage, &block, &used) != 2 || used == 0)
    return false;
  const char *rest = name + used;
  const char *apps = NULL, *conv = NULL;
  if (starts_with(rest, "downsample.")) {
    apps = n->op == OP_CONV ? "_projection_conv" : "_projection_batch_norm";
    conv = n->op == OP_CONV ? "projection_conv" : "projection_batch_norm";
  }
  for (size_t i = 0; !apps && i < sizeof block_parts / sizeof *block_parts; i++)
    if (strcmp(rest, block_parts[i].timm) == 0) {
      apps = block_parts[i].apps;
      conv = block_parts[i].conv;
    }
  if (!apps)
    return false;
  e->keras[0] = xstrfmt("BlockGroup%d__block_%d_%s", stage + 1, block, apps);
  e->keras[1] = xstrfmt("c%d_block_%d_%s", stage + 1, block, conv);
  return true;
}

/* "stem_7_stem_conv_1" -> "stem_1_stem_conv_1": the counter is not part of the
 * name we match. Returns a new string. */
static char *normalise(const char *layer) {
  if (starts_with(layer, "stem_")) {
    const char *p = layer + 5;
    const char *q = p;
    while (*q >= '0' && *q <= '9')
      q++;
    if (q > p && starts_with(q, "_stem_"))
      return xstrfmt("stem_1%s", q);
  }
  return xstrdup(layer);
}

/* "stem_1_stem_conv_1/kernel:0" -> "kernel" (into buf). */
static void field_of(const char *weight_name, char *buf, size_t cap) {
  const char *s = strrchr(weight_name, '/');
  s = s ? s + 1 : weight_name;
  size_t n = strlen(s);
  const char *colon = strrchr(s, ':');
  if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
    n = (size_t)(colon - s);
  snprintf(buf, cap, "%.*s", (int)n, s);
}

static void build_expect(H5Import *im) {
  Graph *g = im->g;
  im->ex = xcalloc((size_t)g->nnodes + 1, sizeof *im->ex);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || (n->op != OP_CONV && n->op != OP_BN && n->op != OP_DENSE))
      continue;
    Expect *e = &im->ex[im->nex];
    e->node = n;
    e->layer = -1;
    if (n->op == OP_BN) {
      static const char *const bn[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
      for (int k = 0; k < 4; k++) {
        e->field[k] = bn[k];
        e->tensor[k] = n->p[k];
      }
      e->nfields = 4;
    } else {
      e->field[0] = "kernel";
      e->tensor[0] = n->w;
      e->nfields = 1;
      if (n->b >= 0) {
        e->field[1] = "bias";
        e->tensor[1] = n->b;
        e->nfields = 2;
      }
    }
    if (!keras_names(g, n, e)) {
      problem(im, "the network's layer '%s' has no Keras name (Keras weights fit ResNet-RS "
                  "networks: deep stem, stem_downsample conv)", n->name);
      continue;
    }
    im->nex++;
  }
}

/* ---------------------------------------------------------------- HDF5 */

typedef struct Strings {
  char **s;
  int n;
} Strings;

static void strings_free(Strings *l) {
  for (int i = 0; i < l->n; i++)
    free(l->s[i]);
  free(l->s);
  l->s = NULL;
  l->n = 0;
}

/* Appends the strings of attribute `name` of obj (fixed or variable length). */
static bool read_string_attr(hid_t obj, const char *name, Strings *out) {
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0)
    return false;
  hid_t ft = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
  bool ok = false;
  hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  if (ft < 0 || n < 0 || n > 10000000 || H5Tget_class(ft) != H5T_STRING)
    goto done;
  out->s = xrealloc(out->s, ((size_t)out->n + (size_t)n + 1) * sizeof *out->s);
  if (H5Tis_variable_str(ft) > 0) {
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    char **v = xcalloc((size_t)n + 1, sizeof *v);
    if (H5Aread(a, mt, v) >= 0) {
      for (hssize_t i = 0; i < n; i++)
        out->s[out->n++] = xstrdup(v[i] ? v[i] : "");
      H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
      ok = true;
    }
    free(v);
  } else {
    /* Keras writes numpy 'S' arrays: null-padded, no terminator when full, so
     * read into one more byte per string than the file's size. */
    size_t size = H5Tget_size(ft), stride = size + 1, total;
    if (size == 0 || !size_mul((size_t)n, stride, &total))
      goto done;
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, stride);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    char *buf = xcalloc(total + 1, 1);
    if (H5Aread(a, mt, buf) >= 0) {
      for (hssize_t i = 0; i < n; i++) {
        const char *s = buf + (size_t)i * stride;
        out->s[out->n++] = xstrfmt("%.*s", (int)strnlen(s, size), s);
      }
      ok = true;
    }
    free(buf);
  }
done:
  if (mt >= 0)
    H5Tclose(mt);
  if (ft >= 0)
    H5Tclose(ft);
  if (sp >= 0)
    H5Sclose(sp);
  H5Aclose(a);
  return ok;
}

/* Keras' load_attributes_from_hdf5_group: `name`, or name0, name1, ... when
 * the list was split. Returns false if neither exists or one is unreadable. */
static bool read_keras_list(hid_t obj, const char *name, Strings *out, bool *present) {
  *present = false;
  if (H5Aexists(obj, name) > 0) {
    *present = true;
    return read_string_attr(obj, name, out);
  }
  for (int chunk = 0;; chunk++) {
    char *part = xstrfmt("%s%d", name, chunk);
    bool exists = H5Aexists(obj, part) > 0;
    bool ok = exists && read_string_attr(obj, part, out);
    free(part);
    if (!exists)
      return true;
    *present = true;
    if (!ok)
      return false;
  }
}

/* "[3,3,3,32]" */
static void hdims_text(char *buf, size_t cap, const hsize_t *dims, int nd) {
  size_t len = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < nd && len + 24 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%llu", i ? "," : "",
                            (unsigned long long)dims[i]);
  snprintf(buf + len, cap - len, "]");
}

/* The Keras shape of graph tensor t: conv OIHW -> HWIO, dense [out,in] -> [in,out]. */
static int keras_shape(const Tensor *t, hsize_t *dims) {
  if (t->ndim == 4) {
    dims[0] = (hsize_t)t->dims[2];
    dims[1] = (hsize_t)t->dims[3];
    dims[2] = (hsize_t)t->dims[1];
    dims[3] = (hsize_t)t->dims[0];
  } else if (t->ndim == 2) {
    dims[0] = (hsize_t)t->dims[1];
    dims[1] = (hsize_t)t->dims[0];
  } else {
    for (int k = 0; k < t->ndim; k++)
      dims[k] = (hsize_t)t->dims[k];
  }
  return t->ndim;
}

/* Checks dataset `wname` of layer group `layer` against tensor t; records it. */
static void check_dataset(H5Import *im, hid_t root, const char *layer, const char *wname,
                          int t) {
  const Tensor *tt = &im->g->tensors[t];
  char *dpath = xstrfmt("%s/%s", layer, wname);
  hid_t ds = H5Dopen2(root, dpath, H5P_DEFAULT);
  if (ds < 0) {
    problem(im, "layer '%s': weight '%s' is listed but there is no such dataset", layer, wname);
    free(dpath);
    return;
  }
  hid_t ty = H5Dget_type(ds), sp = H5Dget_space(ds);
  int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  hsize_t have[H5S_MAX_RANK], want[4];
  int wn = keras_shape(tt, want);
  bool same = nd == wn && H5Sget_simple_extent_dims(sp, have, NULL) == nd;
  for (int k = 0; same && k < nd; k++)
    same = have[k] == want[k];
  if (ty < 0 || H5Tget_class(ty) != H5T_FLOAT) {
    problem(im, "layer '%s': weight '%s' is not floating point", layer, wname);
  } else if (!same) {
    char w[128], h[256] = "?", tdims[128];
    hdims_text(w, sizeof w, want, wn);
    if (nd >= 0 && nd <= H5S_MAX_RANK)
      hdims_text(h, sizeof h, have, nd);
    hsize_t td[4];
    for (int k = 0; k < tt->ndim; k++)
      td[k] = (hsize_t)tt->dims[k];
    hdims_text(tdims, sizeof tdims, td, tt->ndim);
    problem(im, "layer '%s': weight '%s': expected %s (%s %s), file has %s", layer, wname, w,
            tt->name, tdims, h);
  } else {
    im->src[t] = dpath;
    dpath = NULL;
  }
  free(dpath);
  if (ty >= 0)
    H5Tclose(ty);
  if (sp >= 0)
    H5Sclose(sp);
  H5Dclose(ds);
}

/* Matches one file layer with its expected module and checks its weights. */
static void match_layer(H5Import *im, hid_t root, const Strings *layers, int index) {
  const char *layer = layers->s[index];
  hid_t grp = H5Oopen(root, layer, H5P_DEFAULT);
  if (grp < 0) {
    problem(im, "layer '%s' is in layer_names but has no group", layer);
    return;
  }
  Strings wn = {0};
  bool present;
  if (!read_keras_list(grp, "weight_names", &wn, &present)) {
    problem(im, "layer '%s': cannot read its weight_names attribute", layer);
    strings_free(&wn);
    H5Oclose(grp);
    return;
  }
  H5Oclose(grp);
  if (wn.n == 0) { /* input, activation, pooling, dropout, preprocessing... */
    strings_free(&wn);
    return;
  }
  char *norm = normalise(layer);
  Expect *e = NULL;
  for (int i = 0; i < im->nex && !e; i++)
    if (strcmp(norm, im->ex[i].keras[0]) == 0 || strcmp(norm, im->ex[i].keras[1]) == 0)
      e = &im->ex[i];
  free(norm);
  if (!e) {
    problem(im, "layer '%s' (%d weights) matches no layer of the network", layer, wn.n);
    strings_free(&wn);
    return;
  }
  if (e->layer >= 0) {
    problem(im, "layers '%s' and '%s' both hold the weights of '%s'", layers->s[e->layer],
            layer, e->node->name);
    strings_free(&wn);
    return;
  }
  e->layer = index;
  bool seen[MAX_FIELDS] = {false};
  for (int k = 0; k < wn.n; k++) {
    char field[64];
    field_of(wn.s[k], field, sizeof field);
    int f = -1;
    for (int j = 0; j < e->nfields; j++)
      if (strcmp(field, e->field[j]) == 0)
        f = j;
    if (f < 0 || seen[f]) {
      problem(im, "layer '%s': unexpected%s weight '%s' (expected %s%s%s%s%s%s%s for %s '%s')",
              layer, f >= 0 ? " second" : "", wn.s[k], e->field[0], e->nfields > 1 ? ", " : "",
              e->nfields > 1 ? e->field[1] : "", e->nfields > 2 ? ", " : "",
              e->nfields > 2 ? e->field[2] : "", e->nfields > 3 ? ", " : "",
              e->nfields > 3 ? e->field[3] : "", op_name(e->node->op), e->node->name);
      continue;
    }
    seen[f] = true;
    check_dataset(im, root, layer, wn.s[k], e->tensor[f]);
  }
  for (int j = 0; j < e->nfields; j++)
    if (!seen[j])
      problem(im, "layer '%s': no '%s' weight (%s)", layer, e->field[j],
              im->g->tensors[e->tensor[j]].name);
  strings_free(&wn);
}

/* Reads dataset src into tensor t, Keras layout -> PyTorch layout. */
static bool read_tensor(H5Import *im, hid_t root, const char *src, Tensor *t) {
  size_t n = tensor_elems(t);
  float *k = xmalloc((n ? n : 1) * sizeof *k);
  hid_t ds = H5Dopen2(root, src, H5P_DEFAULT);
  bool ok = ds >= 0 && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, k) >= 0;
  if (ds >= 0)
    H5Dclose(ds);
  if (!ok) {
    problem(im, "cannot read dataset '%s'", src);
    free(k);
    return false;
  }
  for (size_t i = 0; i < n; i++)
    if (!isfinite(k[i])) {
      problem(im, "dataset '%s' (%s): %s at index %zu", src, t->name,
              isnan(k[i]) ? "NaN" : "Inf (or a double out of float range)", i);
      free(k);
      return false;
    }
  float *dst = xmalloc((n ? n : 1) * sizeof *dst);
  if (t->ndim == 4) { /* [kh][kw][in][out] -> [out][in][kh][kw] */
    size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1], KH = (size_t)t->dims[2],
           KW = (size_t)t->dims[3];
    for (size_t y = 0; y < KH; y++)
      for (size_t x = 0; x < KW; x++)
        for (size_t i = 0; i < I; i++)
          for (size_t o = 0; o < O; o++)
            dst[((o * I + i) * KH + y) * KW + x] = k[((y * KW + x) * I + i) * O + o];
  } else if (t->ndim == 2) { /* [in][out] -> [out][in] */
    size_t O = (size_t)t->dims[0], I = (size_t)t->dims[1];
    for (size_t i = 0; i < I; i++)
      for (size_t o = 0; o < O; o++)
        dst[o * I + i] = k[i * O + o];
  } else {
    memcpy(dst, k, n * sizeof *dst);
  }
  free(k);
  free(t->data);
  t->data = dst;
  return true;
}

/* The group holding layer_names: the root, or /model_weights of a whole-model file. */
static hid_t weights_root(hid_t file) {
  if (H5Aexists(file, "layer_names") > 0 || H5Aexists(file, "layer_names0") > 0)
    return H5Oopen(file, "/", H5P_DEFAULT);
  if (H5Lexists(file, "model_weights", H5P_DEFAULT) > 0)
    return H5Oopen(file, "model_weights", H5P_DEFAULT);
  return -1;
}

static void import_h5(H5Import *im, hid_t root) {
  Strings layers = {0};
  bool present;
  if (!read_keras_list(root, "layer_names", &layers, &present) || !present) {
    problem(im, "no readable layer_names attribute: not a Keras weights file");
    strings_free(&layers);
    return;
  }
  build_expect(im);
  if (im->problems)
    goto out;
  for (int i = 0; i < layers.n; i++)
    match_layer(im, root, &layers, i);
  int missing = 0;
  for (int i = 0; i < im->nex; i++) {
    const Expect *e = &im->ex[i];
    if (e->layer >= 0)
      continue;
    missing++;
    const Tensor *t = &im->g->tensors[e->tensor[0]];
    char dims[128];
    hsize_t td[4];
    for (int k = 0; k < t->ndim; k++)
      td[k] = (hsize_t)t->dims[k];
    hdims_text(dims, sizeof dims, td, t->ndim);
    problem(im, "missing layer '%s' (converted-checkpoint name '%s') for %s %s", e->keras[0],
            e->keras[1], t->name, dims);
  }
  if (im->problems) {
    int weighted = 0;
    for (int i = 0; i < layers.n; i++) {
      hid_t grp = H5Oopen(root, layers.s[i], H5P_DEFAULT);
      Strings wn = {0};
      bool p;
      if (grp >= 0 && read_keras_list(grp, "weight_names", &wn, &p) && wn.n > 0)
        weighted++;
      strings_free(&wn);
      if (grp >= 0)
        H5Oclose(grp);
    }
    diag(im->d, DIAG_NOTE, "the network expects %d layers with weights (%d missing); the file "
         "has %d: check the spec (depth, se_ratio, head, widths) against the file", im->nex,
         missing, weighted);
    goto out;
  }
  for (int t = 0; t < im->g->ntensors && !im->problems; t++)
    if (im->src[t])
      read_tensor(im, root, im->src[t], &im->g->tensors[t]);
out:
  strings_free(&layers);
}

bool weights_is_h5(const char *path) {
  static const unsigned char magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  size_t n = strlen(path);
  if ((n > 3 && strcmp(path + n - 3, ".h5") == 0) || (n > 5 && strcmp(path + n - 5, ".hdf5") == 0))
    return true;
  struct stat st; /* a pipe is read once, by the safetensors reader; a device never */
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return false;
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  unsigned char head[8];
  bool yes = fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, magic, 8) == 0;
  fclose(f);
  return yes;
}

bool weights_load_h5(Graph *g, const char *path, Diag *d) {
  struct stat st; /* libhdf5 seeks, and would read a device or a FIFO without end */
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    diag(d, DIAG_ERROR, "%s: cannot read: %s; HDF5 weights must be a regular file", path,
         S_ISFIFO(st.st_mode) ? "is a FIFO" : file_type_refused(st.st_mode));
    return false;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag(d, DIAG_ERROR, "%s: cannot read: %s", path, strerror(errno));
    return false;
  }
  fclose(f);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported here, not by libhdf5 */
  H5Import im = {.g = g, .path = path, .d = d};
  hid_t file = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
  if (file < 0) {
    problem(&im, "not an HDF5 file");
    return false;
  }
  hid_t root = weights_root(file);
  if (root < 0) {
    problem(&im, "no layer_names attribute at the root or in /model_weights: not a Keras "
                 "weights file");
  } else {
    im.src = xcalloc((size_t)g->ntensors + 1, sizeof *im.src);
    import_h5(&im, root);
    H5Oclose(root);
  }
  H5Fclose(file);
  if (im.problems > MAX_PROBLEMS)
    diag(d, DIAG_ERROR, "%s: %d more problems not shown", path, im.problems - MAX_PROBLEMS);
  for (int i = 0; i < im.nex; i++) {
    free(im.ex[i].keras[0]);
    free(im.ex[i].keras[1]);
  }
  free(im.ex);
  for (int t = 0; im.src && t < g->ntensors; t++)
    free(im.src[t]);
  free(im.src);
  return im.problems == 0;
}

bool weights_load_file(Graph *g, const char *path, Diag *d) {
  return weights_is_h5(path) ? weights_load_h5(g, path, d) : weights_load_safetensors(g, path, d);
}
