/*
 * weights_h5.c - imports Keras weights through libhdf5, in the two layouts
 * Keras writes:
 *
 * Keras 2 (and Keras 3's legacy .h5): Model.save_weights("x.h5"), or the
 * /model_weights group of a whole-model Model.save("x.h5") (keras
 * saving/legacy/hdf5_format.py save_weights_to_hdf5_group). The group has the
 * attribute layer_names, the strings of model.layers' names, split by Keras
 * into layer_names0, layer_names1, ... when it would pass HDF5's 64 KiB object
 * header limit (save_attributes_to_hdf5_group). Each layer is a group of that
 * name whose attribute weight_names (split the same way) lists its datasets,
 * which sit at <layer>/<weight name>, e.g. stem_1_stem_conv_1/kernel:0
 * (Keras 3: stem_1_stem_conv_1/kernel). A layer without weights (input,
 * activation, pooling...) has an empty weight_names, which h5py stores as an
 * empty float64 array: an empty attribute of any type lists no weights, a
 * non-empty one must hold strings (fixed or variable length).
 *
 * Keras 3: Model.save_weights("x.weights.h5") (keras/src/saving/saving_lib.py
 * _save_state, H5IOStore). No layer_names; every layer that can hold
 * variables has a group <path>/vars, where the path is made of attribute names
 * and class names, not layer names: layers/conv2d_3/vars, and for a model
 * inside a model layers/functional/layers/conv2d_3/vars. The variables are the
 * datasets "0", "1", ... in the layer's order (Conv2D and Dense: kernel, bias;
 * BatchNormalization: gamma, beta, moving_mean, moving_variance). Keras 3.6
 * and later give each vars group the attribute name, the layer's name, which is
 * what is matched here: every vars group under /layers is read, at any depth;
 * the rest of the file (the model's own /vars, an /optimizer) is not weights.
 *
 * Mapping is by layer name, not by order: the expected Keras name of each
 * conv, BN and dense of the built graph is derived from its timm name
 * (keras_names), in both schemes of docs/resnet-rs.md:
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
  char *holder;                  /* the file layer that matched (for messages), or NULL */
} Expect;

typedef struct H5Import {
  Graph *g;
  const char *path;
  Diag *d;
  int problems;
  Expect *ex;
  int nex;
  NameMap by_keras; /* either Keras name of ex[i] -> i (the first i that has it) */
  char **src;   /* per graph tensor: dataset path under the weights root, or NULL */
  int weighted; /* layers of the file that hold weights */
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
    if (n->op == OP_BN) {
      const BnAttr *bn = &n->attr.bn;
      e->field[0] = "gamma", e->tensor[0] = bn->gamma;
      e->field[1] = "beta", e->tensor[1] = bn->beta;
      e->field[2] = "moving_mean", e->tensor[2] = bn->mean;
      e->field[3] = "moving_variance", e->tensor[3] = bn->var;
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
  /* One lookup per file layer, not a scan of every module (a deep network's
   * file has thousands of layers). */
  for (int i = 0; i < im->nex; i++)
    for (int k = 0; k < 2; k++)
      if (namemap_get(&im->by_keras, im->ex[i].keras[k]) < 0)
        namemap_put(&im->by_keras, im->ex[i].keras[k], i);
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

/* Appends the strings of attribute `name` of obj (fixed or variable length);
 * an attribute without elements, whatever its type, appends none. */
static bool read_string_attr(hid_t obj, const char *name, Strings *out) {
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0)
    return false;
  hid_t ft = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
  bool ok = false;
  hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  if (ft >= 0 && n == 0) { /* h5py writes an empty list as float64 [0] */
    ok = true;
    goto done;
  }
  if (ft < 0 || n < 0 || n > 10000000 || H5Tget_class(ft) != H5T_STRING)
    goto done;
  out->s = xrealloc(out->s, ((size_t)out->n + (size_t)n + 1) * sizeof *out->s);
  if (H5Tis_variable_str(ft) > 0) {
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(ft)); /* libhdf5 converts no charset: h5py's str is UTF-8 */
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
    H5Tset_cset(mt, H5Tget_cset(ft));
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

/* Checks dataset dpath (under root; taken) against tensor t and records it.
 * `who` names the weight in messages: "layer 'x': weight 'x/kernel:0'";
 * `absent` says what it is when it cannot be opened as a dataset. */
static void check_dataset(H5Import *im, hid_t root, char *dpath, const char *who,
                          const char *absent, int t) {
  const Tensor *tt = &im->g->tensors[t];
  hid_t ds = H5Dopen2(root, dpath, H5P_DEFAULT);
  if (ds < 0) {
    problem(im, "%s %s", who, absent);
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
    problem(im, "%s is not floating point", who);
  } else if (!same) {
    char w[128], h[256] = "?", tdims[128];
    hdims_text(w, sizeof w, want, wn);
    if (nd >= 0 && nd <= H5S_MAX_RANK)
      hdims_text(h, sizeof h, have, nd);
    hsize_t td[4];
    for (int k = 0; k < tt->ndim; k++)
      td[k] = (hsize_t)tt->dims[k];
    hdims_text(tdims, sizeof tdims, td, tt->ndim);
    problem(im, "%s: expected %s (%s %s), file has %s", who, w, tt->name, tdims, h);
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

/* "kernel, bias" */
static void fields_text(const Expect *e, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int j = 0; j < e->nfields && len < cap; j++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", j ? ", " : "", e->field[j]);
}

/* The expected module for the file layer of Keras name `name` (`label` in
 * messages, holding nweights weights), now held by it; NULL with a problem if
 * there is none or another layer holds it. */
static Expect *claim(H5Import *im, const char *name, const char *label, int nweights) {
  char *norm = normalise(name);
  int i = namemap_get(&im->by_keras, norm);
  Expect *e = i >= 0 ? &im->ex[i] : NULL;
  free(norm);
  if (!e) {
    problem(im, "layer %s (%d weights) matches no layer of the network", label, nweights);
    return NULL;
  }
  if (e->holder) {
    problem(im, "layers %s and %s both hold the weights of '%s'", e->holder, label,
            e->node->name);
    return NULL;
  }
  e->holder = xstrdup(label);
  return e;
}

/* Keras 2: layer `layer` of layer_names, its weight_names and their datasets. */
static void match_layer(H5Import *im, hid_t root, const char *layer) {
  hid_t grp = H5Oopen(root, layer, H5P_DEFAULT);
  if (grp < 0) {
    problem(im, "layer '%s' is in layer_names but has no group", layer);
    return;
  }
  Strings wn = {0};
  bool present;
  bool ok = read_keras_list(grp, "weight_names", &wn, &present);
  H5Oclose(grp);
  if (!ok) {
    problem(im, "layer '%s': weight_names is neither empty nor a list of strings", layer);
    strings_free(&wn);
    return;
  }
  if (wn.n == 0) { /* input, activation, pooling, dropout, preprocessing... */
    strings_free(&wn);
    return;
  }
  im->weighted++;
  char *label = xstrfmt("'%s'", layer);
  Expect *e = claim(im, layer, label, wn.n);
  free(label);
  if (!e) {
    strings_free(&wn);
    return;
  }
  bool seen[MAX_FIELDS] = {false};
  for (int k = 0; k < wn.n; k++) {
    char field[64], expected[128];
    field_of(wn.s[k], field, sizeof field);
    int f = -1;
    for (int j = 0; j < e->nfields; j++)
      if (strcmp(field, e->field[j]) == 0)
        f = j;
    if (f < 0 || seen[f]) {
      fields_text(e, expected, sizeof expected);
      problem(im, "layer '%s': unexpected%s weight '%s' (expected %s for %s '%s')", layer,
              f >= 0 ? " second" : "", wn.s[k], expected, op_name(e->node->op), e->node->name);
      continue;
    }
    seen[f] = true;
    char *who = xstrfmt("layer '%s': weight '%s'", layer, wn.s[k]);
    check_dataset(im, root, xstrfmt("%s/%s", layer, wn.s[k]), who,
                  "is listed but there is no such dataset", e->tensor[f]);
    free(who);
  }
  for (int j = 0; j < e->nfields; j++)
    if (!seen[j])
      problem(im, "layer '%s': no '%s' weight (%s)", layer, e->field[j],
              im->g->tensors[e->tensor[j]].name);
  strings_free(&wn);
}

/* ---------------------------------------------------------------- Keras 3 */

static herr_t add_link_name(hid_t grp, const char *name, const H5L_info_t *info, void *data) {
  (void)grp;
  (void)info;
  Strings *l = data;
  l->s = xrealloc(l->s, ((size_t)l->n + 1) * sizeof *l->s);
  l->s[l->n++] = xstrdup(name);
  return 0;
}

/* H5Lvisit callback: every hard link named "vars" below /layers, as a path from the root. */
static herr_t add_vars_path(hid_t grp, const char *name, const H5L_info_t *info, void *data) {
  const char *last = strrchr(name, '/');
  if (info->type == H5L_TYPE_HARD && strcmp(last ? last + 1 : name, "vars") == 0) {
    char *path = xstrfmt("layers/%s", name);
    add_link_name(grp, path, info, data);
    free(path);
  }
  return 0;
}

/* "0".."9999" -> its value; -1 for anything else ("00", "1a", ""). */
static int var_index(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 4 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
    return -1;
  return atoi(s);
}

/* Keras 3: the vars group at vpath, its name attribute and its datasets "0", "1", ... */
static void match_vars(H5Import *im, hid_t root, const char *vpath) {
  hid_t grp = H5Oopen(root, vpath, H5P_DEFAULT);
  if (grp < 0 || H5Iget_type(grp) != H5I_GROUP) {
    problem(im, "'%s' is not a group (Keras 3 keeps a layer's variables in a group 'vars')",
            vpath);
    if (grp >= 0)
      H5Oclose(grp);
    return;
  }
  Strings vars = {0}, name = {0};
  bool named = false;
  if (H5Literate(grp, H5_INDEX_NAME, H5_ITER_INC, NULL, add_link_name, &vars) < 0)
    problem(im, "'%s': cannot list its variables", vpath);
  else if (vars.n > 0) /* a layer without variables needs no name */
    named = H5Aexists(grp, "name") > 0 && read_string_attr(grp, "name", &name) && name.n == 1;
  H5Oclose(grp);
  if (vars.n == 0) {
    strings_free(&vars);
    strings_free(&name);
    return;
  }
  im->weighted++;
  if (!named) {
    problem(im, "'%s' holds %d variable%s but no 'name' attribute (a string): rsc matches "
                "layers by name, which Keras records there since 3.6 (load the weights in Keras "
                "3.6 or later and save them again)", vpath, vars.n, vars.n == 1 ? "" : "s");
    strings_free(&vars);
    strings_free(&name);
    return;
  }
  char *label = xstrfmt("'%s' (%s)", name.s[0], vpath);
  Expect *e = claim(im, name.s[0], label, vars.n);
  bool seen[MAX_FIELDS] = {false};
  for (int k = 0; e && k < vars.n; k++) {
    int f = var_index(vars.s[k]);
    if (f < 0 || f >= e->nfields) {
      char expected[128];
      fields_text(e, expected, sizeof expected);
      problem(im, "layer %s: unexpected variable '%s' (expected 0..%d: %s for %s '%s')", label,
              vars.s[k], e->nfields - 1, expected, op_name(e->node->op), e->node->name);
      continue;
    }
    seen[f] = true;
    char *who = xstrfmt("layer %s: variable %s (%s)", label, vars.s[k], e->field[f]);
    check_dataset(im, root, xstrfmt("%s/%s", vpath, vars.s[k]), who, "is not a dataset",
                  e->tensor[f]);
    free(who);
  }
  for (int j = 0; e && j < e->nfields; j++)
    if (!seen[j])
      problem(im, "layer %s: no variable %d (%s, %s)", label, j, e->field[j],
              im->g->tensors[e->tensor[j]].name);
  free(label);
  strings_free(&vars);
  strings_free(&name);
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

/* ---------------------------------------------------------------- import */

/* Reports the expected layers no file layer held, and the note when anything
 * is wrong; otherwise reads the data. */
static void finish(H5Import *im, hid_t root) {
  int missing = 0;
  for (int i = 0; i < im->nex; i++) {
    const Expect *e = &im->ex[i];
    if (e->holder)
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
    diag(im->d, DIAG_NOTE, "the network expects %d layers with weights (%d missing); the file "
         "has %d: check the spec (depth, se_ratio, head, widths) against the file", im->nex,
         missing, im->weighted);
    return;
  }
  for (int t = 0; t < im->g->ntensors && !im->problems; t++)
    if (im->src[t])
      read_tensor(im, root, im->src[t], &im->g->tensors[t]);
}

/* Keras 2: root is the group holding layer_names. */
static void import_keras2(H5Import *im, hid_t root) {
  Strings layers = {0};
  bool present;
  if (!read_keras_list(root, "layer_names", &layers, &present) || !present) {
    problem(im, "no readable layer_names attribute: not a Keras weights file");
    strings_free(&layers);
    return;
  }
  build_expect(im);
  if (!im->problems) {
    for (int i = 0; i < layers.n; i++)
      match_layer(im, root, layers.s[i]);
    finish(im, root);
  }
  strings_free(&layers);
}

/* Keras 3: every vars group below /layers. */
static void import_keras3(H5Import *im, hid_t file) {
  build_expect(im);
  if (im->problems)
    return;
  Strings vars = {0};
  hid_t layers = H5Oopen(file, "layers", H5P_DEFAULT);
  if (layers < 0 || H5Iget_type(layers) != H5I_GROUP ||
      H5Lvisit(layers, H5_INDEX_NAME, H5_ITER_INC, add_vars_path, &vars) < 0) {
    problem(im, "/layers is not a group that can be read");
  } else {
    for (int i = 0; i < vars.n; i++)
      match_vars(im, file, vars.s[i]);
    finish(im, file);
  }
  if (layers >= 0)
    H5Oclose(layers);
  strings_free(&vars);
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
  /* Keras 2: layer_names at the root (save_weights) or in /model_weights (save);
   * Keras 3: a /layers group. */
  bool keras3 = false;
  hid_t root = -1;
  if (H5Aexists(file, "layer_names") > 0 || H5Aexists(file, "layer_names0") > 0)
    root = H5Oopen(file, "/", H5P_DEFAULT);
  else if (H5Lexists(file, "model_weights", H5P_DEFAULT) > 0)
    root = H5Oopen(file, "model_weights", H5P_DEFAULT);
  else if ((keras3 = H5Lexists(file, "layers", H5P_DEFAULT) > 0))
    root = H5Oopen(file, "/", H5P_DEFAULT);
  if (root < 0) {
    problem(&im, "no layer_names attribute at the root or in /model_weights (Keras 2), nor a "
                 "/layers group (Keras 3): not a Keras weights file");
  } else {
    im.src = xcalloc((size_t)g->ntensors + 1, sizeof *im.src);
    if (keras3)
      import_keras3(&im, root);
    else
      import_keras2(&im, root);
    H5Oclose(root);
  }
  H5Fclose(file);
  if (im.problems > MAX_PROBLEMS)
    diag(d, DIAG_ERROR, "%s: %d more problems not shown", path, im.problems - MAX_PROBLEMS);
  for (int i = 0; i < im.nex; i++) {
    free(im.ex[i].keras[0]);
    free(im.ex[i].keras[1]);
    free(im.ex[i].holder);
  }
  namemap_free(&im.by_keras);
  free(im.ex);
  for (int t = 0; im.src && t < g->ntensors; t++)
    free(im.src[t]);
  free(im.src);
  return im.problems == 0;
}

bool weights_load_file(Graph *g, const char *path, Diag *d) {
  return weights_is_h5(path) ? weights_load_h5(g, path, d) : weights_load_safetensors(g, path, d);
}
