/*
 * entry.c - the network's entry: the input the caller has (input_type u8|f32,
 * input_layout nhwc|nchw, preprocess imagenet|none) lowered onto the float32
 * NHWC tensor the graph was built for.
 *
 * Preprocessing (Keras ResNet-RS, include_preprocessing=True) is, per RGB
 * channel c, y = (x/255 - mean_c)/std_c = a_c * (x - m_c) with a_c = 1/(255 std_c)
 * and m_c = 255 mean_c. The first conv zero-pads y: a padded tap is 0 in
 * normalised space. So:
 *   - the scale a_c is folded into the first conv's weights at compile time
 *     (w[o][c][kh][kw] *= a_c, in double, rounded once), and
 *   - the shift m_c is subtracted by the entry op, in the input's own units,
 *     before the conv. The conv then zero-pads x - m_c, whose 0 is exactly
 *     normalised 0, so border outputs are exact.
 * Folding the shift into the conv's bias instead would be wrong at the borders
 * (the padded taps would contribute -a_c * m_c * w where the network has 0),
 * and fixing that needs a position-dependent bias inside the conv kernel.
 *
 * The entry op (OP_ENTRY, one small kernel) also reads u8 and NCHW inputs, so a
 * model has at most one conversion pass over its input, and none at all when the
 * input is f32 NHWC without preprocessing. It is a node of its own so that a
 * conv kernel able to load the caller's format directly can absorb it later.
 */
#include "rsc.h"

const double imagenet_mean[3] = {0.485, 0.456, 0.406};
const double imagenet_std[3] = {0.229, 0.224, 0.225};

/* w[o][c][kh][kw] *= 1/(255 std_c): the scale half of the preprocessing,
 * recorded on the weight (tensor.c applies it, now or when it draws it). */
static void fold_scale(Graph *g, const Node *conv) {
  Tensor *w = &g->tensors[conv->w];
  RSC_ASSERT(w->dims[1] == 3);
  double *a = xmalloc(3 * sizeof *a);
  for (int c = 0; c < 3; c++)
    a[c] = 1.0 / (255.0 * imagenet_std[c]);
  tensor_scale(w, 1, a);
}

bool lower_entry(Graph *g, Diag *d) {
  (void)d;
  const Spec *s = &g->spec;
  if (s->input_type == INPUT_F32 && s->input_layout == INPUT_NHWC &&
      s->preprocess == PREPROCESS_NONE)
    return true;
  if (s->preprocess == PREPROCESS_IMAGENET)
    for (int i = 0; i < g->nnodes; i++) {
      const Node *n = &g->nodes[i];
      if (n->dead || n->nin == 0 || n->in[0] != g->input)
        continue;
      /* Every network build.c makes starts with a conv (the stem). */
      RSC_ASSERT(n->op == OP_CONV && n->nin == 1);
      fold_scale(g, n);
    }
  int e = graph_insert_node(g, g->input + 1, OP_ENTRY, "entry");
  Uses u;
  uses_build(&u, g);
  uses_replace(&u, g, g->input, e);
  uses_free(&u);
  Node *n = &g->nodes[e];
  n->in[0] = g->input;
  n->nin = 1;
  n->out = g->nodes[g->input].out;
  if (s->preprocess == PREPROCESS_IMAGENET) {
    RSC_ASSERT(n->out.c == 3);
    n->attr.entry.shifted = true;
    for (int c = 0; c < 3; c++)
      n->attr.entry.shift[c] = 255.0 * imagenet_mean[c];
  }
  graph_check(g);
  return true;
}
