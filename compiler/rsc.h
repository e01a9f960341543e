/*
 * rsc.h - the one internal header of the rsc compiler.
 *
 * rsc turns a textual ResNet-RS spec into one straight-line C file. The pipeline
 * (PASS_LIST below, run by compile_to in pipeline.c) is:
 *
 *   spec text --parse.c--> Spec --build.c--> Graph (unfused, timm names)
 *     --shape.c--> shapes --weights.c--> raw weights (safetensors or seeded random)
 *     --fold.c--> BN folded --fuse.c--> fused ops --plan.c--> arena offsets
 *     --select.c--> kernels and tiles --pack.c--> packed weights --emit.c--> .c .h .weights
 *
 * Sections below are named after the file that implements them. Stages report
 * errors through a Diag and return false; only main() exits.
 */
#ifndef RSC_H
#define RSC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>


/* Limits and activation codes shared with the runtime (one copy). */
#include "../runtime/rsc_limits.h"
/* The .weights checksum, shared with the generated loader (one copy). */
#include "../runtime/rsc_checksum.h"

#define RSC_VERSION "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define RSC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RSC_PRINTF(fmt, args)
#endif

/* Always-on internal invariant check: aborts with file:line. */
#define RSC_ASSERT(cond)                                                                           \
  ((cond) ? (void)0 : rsc_assert_fail(#cond, __FILE__, __LINE__))

/* ---------------------------------------------------------------- util.c */

_Noreturn void rsc_assert_fail(const char *cond, const char *file, int line);
/* These never return NULL: out of memory, they remove the run's temporaries
 * (temp_track), print "rsc: error: out of memory (allocating N bytes)" and
 * exit with status 1, like any other error. Allocations whose size comes from
 * an input (weights tensors, input buffers) use malloc and report by name. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* The temporaries (output temporaries, m4 drivers) an exit on out of memory
 * removes; path must stay valid until temp_untrack(path). */
void temp_track(const char *path);
void temp_untrack(const char *path);
char *xstrdup(const char *s);
char *xstrfmt(const char *fmt, ...) RSC_PRINTF(1, 2);
char *xvstrfmt(const char *fmt, va_list ap); /* xstrfmt of a va_list (ap is used up) */

/* Growable byte buffer; buf is always NUL-terminated. */
typedef struct StrBuf {
  char *buf;
  size_t len, cap;
} StrBuf;
void sb_putn(StrBuf *sb, const char *s, size_t n);
void sb_puts(StrBuf *sb, const char *s);
void sb_printf(StrBuf *sb, const char *fmt, ...) RSC_PRINTF(2, 3);
void sb_free(StrBuf *sb);

/* Overflow-checked size arithmetic: return false on overflow. */
bool size_mul(size_t a, size_t b, size_t *out);
bool size_add(size_t a, size_t b, size_t *out);

/* FNV-1a 64-bit, for fingerprints. */
#define FNV64_INIT 0xcbf29ce484222325ull
uint64_t fnv1a64(uint64_t h, const void *data, size_t n);

/* Reads a whole file; returns NULL (errno set) on failure. */
char *read_file(const char *path, size_t *len);
/* Why a file of this type cannot be read or written by rsc ("is a directory",
 * "is a character device", "is a block device", "is a socket"), or NULL for a
 * regular file or a FIFO (a pipe). */
const char *file_type_refused(unsigned mode);
/* Reads an input (spec, weights from a pipe) of at most max bytes, checking
 * the size as it reads: a file that never ends (a FIFO fed forever) stops at
 * max + 1 bytes. A directory, device or socket is refused before it is opened.
 * NULL on failure, with why saying what went wrong ("is a directory", "more
 * than N bytes", "out of memory (N bytes)", or strerror's text). */
char *read_input(const char *path, size_t max, size_t *len, char why[128]);
/* The largest spec file: keeps lines and columns well inside an int. */
enum { SPEC_MAX_BYTES = 1 << 24 };
/* Monotonic wall-clock seconds, for --time-passes. */
double now_seconds(void);

/* Shortest decimal text that round-trips a double ("%.17g" trimmed). */
void format_double(char buf[32], double v);

/* Threads of the data-parallel passes: $RSC_THREADS, else one per online CPU;
 * 1 to 16. */
int rsc_threads(void);
/* Calls fn(ctx, i, worker) once for each i in [0, n) on up to `threads`
 * threads (usually rsc_threads()), the caller's included; worker (< threads)
 * names the thread, for per-thread scratch. Indices are handed out in
 * increasing order, so putting the biggest items first balances the load.
 * fn must make the same result whichever thread runs it: nothing rsc writes
 * may depend on the thread count. */
void parallel_for(int n, int threads, void (*fn)(void *ctx, int i, int worker), void *ctx);

/* ---------------------------------------------------------------- diag.c */

/* A source text the diagnostics can quote from: a spec file or the command line. */
typedef struct SrcFile {
  const char *name; /* "specs/resnet-rs-50-i160.spec" or "<command line>" */
  const char *text; /* NUL-terminated */
  size_t len;
} SrcFile;

typedef enum DiagLevel {
  DIAG_ERROR,   /* "error": the stage fails */
  DIAG_WARNING, /* "warning" */
  DIAG_NOTE,    /* "note": attached to the previous error */
} DiagLevel;

typedef struct Diag {
  FILE *out; /* where messages go (stderr in rsc, a memstream in tests) */
  int errors;
  int warnings;
} Diag;

void diag_init(Diag *d, FILE *out);
/* GCC style: "file:line:col: error: msg", then the source line and a caret
 * (with ~ under the next len-1 columns). line and col are 1-based. */
void diag_at(Diag *d, DiagLevel lvl, const SrcFile *f, int line, int col, int len,
             const char *fmt, ...) RSC_PRINTF(7, 8);
/* Without a location: "rsc: error: msg". */
void diag(Diag *d, DiagLevel lvl, const char *fmt, ...) RSC_PRINTF(3, 4);

/* ---------------------------------------------------------------- parse.c */

enum { RSC_STAGES = 4, RSC_STEM_CONVS = 3 };

/* The activations: one table for the enum, act_name() (the spec's and the
 * dump's word) and the runtime's code (RSC_ACT_<id>, emit.c). */
#define ACT_LIST(X)                                                                                \
  X(NONE, "none")       /* identity */                                                            \
  X(RELU, "relu")       /* max(x, 0) */                                                           \
  X(SWISH, "swish")     /* x * sigmoid(x), a.k.a. silu */                                         \
  X(SIGMOID, "sigmoid") /* 1 / (1 + exp(-x)); only inside SE */                                   \
  X(SOFTMAX, "softmax") /* over the channel axis; only as classifier activation */

typedef enum ActKind {
#define X(id, name) ACT_##id,
  ACT_LIST(X)
#undef X
} ActKind;
/* The kernels take the runtime's codes (runtime/rsc_limits.h) as they are. */
_Static_assert(ACT_NONE == RSC_ACT_NONE && ACT_RELU == RSC_ACT_RELU && ACT_SWISH == RSC_ACT_SWISH &&
                   ACT_SIGMOID == RSC_ACT_SIGMOID,
               "ActKind and RSC_ACT_* disagree");

typedef enum StemKind {
  STEM_DEEP,    /* three 3x3 convs (stem_widths), the first one stride 2 (ResNet-D) */
  STEM_CLASSIC, /* one 7x7 stride-2 conv (torchvision ResNet-50) */
} StemKind;

typedef enum StemDown {
  STEM_DOWN_CONV,    /* 3x3 stride-2 conv + BN + act (ResNet-RS) */
  STEM_DOWN_MAXPOOL, /* 3x3 stride-2 max pool, pad 1 (classic, ResNet-D) */
} StemDown;

typedef enum ShortcutKind {
  SHORTCUT_AVGPOOL, /* 2x2/2 avg pool (ceil, in-bounds count) then 1x1 conv + BN (ResNet-D) */
  SHORTCUT_STRIDED, /* strided 1x1 conv + BN (classic) */
} ShortcutKind;

typedef enum StrideOn {
  STRIDE_ON_3X3, /* v1.5 / ResNet-D / ResNet-RS */
  STRIDE_ON_1X1, /* v1.0: the first 1x1 conv of the block strides */
} StrideOn;

/* How the SE reduce width is rounded from channels C and se_ratio r. */
typedef enum SeRounding {
  SE_ROUND_KERAS, /* max(1, int(C * r)): Keras applications, the TF checkpoints */
  SE_ROUND_TIMM,  /* timm make_divisible(C * r, 8, round_limit=0): max(8, int(C*r + 4) // 8 * 8) */
} SeRounding;

/* What the caller passes to P_run (docs/spec.md, input_type / input_layout / preprocess). */
typedef enum InputType {
  INPUT_F32, /* float */
  INPUT_U8,  /* uint8_t, e.g. RGB bytes from an image decoder */
} InputType;

typedef enum InputLayout {
  INPUT_NHWC, /* [N][H][W][C] (TensorFlow, Keras, image decoders) */
  INPUT_NCHW, /* [N][C][H][W] (PyTorch) */
} InputLayout;

typedef enum Preprocess {
  PREPROCESS_NONE,     /* the input is what the first conv sees */
  PREPROCESS_IMAGENET, /* Keras include_preprocessing: x/255, then (x - mean)/std per RGB channel */
} Preprocess;

typedef enum HeadKind {
  HEAD_DENSE, /* global avg pool + dense classifier: output [N, classes] */
  HEAD_AVG,   /* global avg pooled features: [N, C] */
  HEAD_MAX,   /* global max pooled features: [N, C] */
  HEAD_NONE,  /* the raw final feature map: [N, H, W, C] */
} HeadKind;

/* The network outputs the `outputs` key can select (docs/spec.md): the outputs
 * of stages 1..4 (timm layer1..layer4, the detection literature's C2..C5) and
 * the head's. The generated code orders the selected ones this way too. */
typedef enum Endpoint {
  ENDPOINT_C2,
  ENDPOINT_C3,
  ENDPOINT_C4,
  ENDPOINT_C5,
  ENDPOINT_HEAD,
  RSC_ENDPOINTS
} Endpoint;
#define ENDPOINT_BIT(e) (1u << (e))
#define ENDPOINTS_DEFAULT ENDPOINT_BIT(ENDPOINT_HEAD)

/* Every spec key, in the order docs/spec.md lists them. Each also has a CLI flag:
 * "--" + key with '_' written as '-'. */
#define SPEC_KEYS(X)                                                                               \
  X(DEPTH, "depth")                                                                                \
  X(BLOCKS, "blocks")                                                                              \
  X(HEIGHT, "height")                                                                              \
  X(WIDTH, "width")                                                                                \
  X(CHANNELS, "channels")                                                                          \
  X(BATCH, "batch")                                                                                \
  X(WIDTHS, "widths")                                                                              \
  X(WIDTH_MULTIPLIER, "width_multiplier")                                                          \
  X(STEM_WIDTHS, "stem_widths")                                                                    \
  X(SE_RATIO, "se_ratio")                                                                          \
  X(SE_ROUNDING, "se_rounding")                                                                    \
  X(STEM, "stem")                                                                                  \
  X(STEM_DOWNSAMPLE, "stem_downsample")                                                            \
  X(SHORTCUT, "shortcut")                                                                          \
  X(STRIDE_ON, "stride_on")                                                                        \
  X(BN_EPS, "bn_eps")                                                                              \
  X(ACTIVATION, "activation")                                                                      \
  X(CLASSES, "classes")                                                                            \
  X(HEAD, "head")                                                                                  \
  X(CLASSIFIER_ACTIVATION, "classifier_activation")                                                \
  X(INPUT_TYPE, "input_type")                                                                      \
  X(INPUT_LAYOUT, "input_layout")                                                                  \
  X(PREPROCESS, "preprocess")                                                                      \
  X(OUTPUTS, "outputs")                                                                            \
  X(PRECISION, "precision")

typedef enum SpecKey {
#define X(id, name) KEY_##id,
  SPEC_KEYS(X)
#undef X
  SPEC_KEY_COUNT
} SpecKey;

const char *spec_key_name(SpecKey k);
const char *endpoint_name(Endpoint e); /* "c2" .. "c5", "head" */
/* The word of value for a key of words (stem, shortcut, input_type, ...):
 * what the spec says and spec_canonical() prints. */
const char *spec_word(SpecKey k, int value);

/* Where a key was set: file NULL means "never set" (default). */
typedef struct SpecLoc {
  const SrcFile *file;
  int line, col, len; /* of the key word */
} SpecLoc;

/* diag_at() at the key word l records (diag.c); plain diag() if l is unset. */
void diag_loc(Diag *d, DiagLevel lvl, const SpecLoc *l, const char *fmt, ...) RSC_PRINTF(4, 5);

/* A parsed and resolved spec. All fields valid after spec_finish(). */
/* The number format the generated code computes in (`precision`, docs/precision.md):
 * compiled in, recorded in the .weights header, checked by P_open. The value is
 * the header's code, so fp32 stays 0 (the zeros of files older than the field). */
#define PRECISION_LIST(X)                                                                          \
  X(FP32, "fp32") /* float32 everywhere */                                                        \
  X(BF16, "bf16") /* convs on bf16 weights and inputs, float32 sums (AVX512-BF16) */

typedef enum Precision {
#define X(id, name) PRECISION_##id,
  PRECISION_LIST(X)
#undef X
  PRECISION_COUNT
} Precision;

const char *precision_name(Precision p); /* the spec's word */

typedef struct Spec {
  int depth;                   /* preset (50..420) or 0 when blocks were given */
  int blocks[RSC_STAGES];      /* blocks per stage */
  int height, width, channels; /* input image */
  int batch;
  int widths[RSC_STAGES];         /* bottleneck widths ("planes") before the multiplier */
  double width_multiplier;        /* scales widths and stem widths */
  int nstem_widths;               /* 3 for a deep stem, 1 for a classic stem */
  int stem_widths[RSC_STEM_CONVS];/* before the multiplier */
  double se_ratio;                /* 0 removes SE */
  SeRounding se_rounding;         /* the SE reduce width's rounding */
  StemKind stem;
  StemDown stem_down;
  ShortcutKind shortcut;
  StrideOn stride_on;
  double bn_eps;
  ActKind act;     /* ACT_RELU or ACT_SWISH */
  int classes;
  HeadKind head;
  ActKind classifier_act; /* ACT_NONE (logits) or ACT_SOFTMAX */
  InputType input_type;
  InputLayout input_layout;
  Preprocess preprocess;
  unsigned outputs; /* ENDPOINT_BITs of the selected outputs; ENDPOINTS_DEFAULT: the head */
  Precision precision;
  SpecLoc loc[SPEC_KEY_COUNT];

  /* Derived by spec_finish(): */
  int planes[RSC_STAGES];       /* widths after the multiplier */
  int stem_out[RSC_STEM_CONVS]; /* stem widths after the multiplier */
} Spec;

void spec_defaults(Spec *s);
/* Parses "key value..." lines of f into s. A key given twice in the same file is
 * an error; a key from a later file (the command line) overrides an earlier one. */
bool spec_parse(Spec *s, const SrcFile *f, Diag *d);
/* Resolves depth presets and the multiplier, checks consistency and limits. */
bool spec_finish(Spec *s, Diag *d);
/* Levenshtein distance between a[0..na) and the string b; INT_MAX when either
 * is over 64 bytes. Used for "did you mean" hints (keys, options). */
int edit_distance(const char *a, int na, const char *b);
/* The canonical text of a resolved spec: every key, one per line, stable order.
 * Used for the banner of generated code and the model fingerprint. */
void spec_canonical(const Spec *s, StrBuf *out);

/* ---------------------------------------------------------------- ir.c */

/* The ops of the graph IR. Before fold/fuse the graph holds only the plain ops;
 * the passes rewrite CONV+BN, CONV+ACT, and the SE tail into fused forms. */
#define OP_LIST(X)                                                                                 \
  X(INPUT, "input")             /* the network input [N,H,W,C] */                                  \
  X(CONV, "conv")               /* 2-D conv, w OIHW, optional bias b, fused act */                 \
  X(BN, "batchnorm")            /* inference BN: gamma, beta, mean, var, eps */                    \
  X(ACT, "act")                 /* elementwise activation `act` */                                 \
  X(POOL, "pool")               /* max or mean over a window or all of H,W (attr.pool) */          \
  X(DENSE, "dense")             /* [N,1,1,Cin] x w[out][in] + b -> [N,1,1,out] */                  \
  X(SCALE, "scale")             /* in0 [N,H,W,C] * in1 [N,1,1,C] per channel */                    \
  X(ADD, "add")                 /* in0 + in1, then fused act */                                    \
  X(SOFTMAX, "softmax")         /* over C of [N,1,1,C] */                                          \
  X(SE_ADD, "se_add")           /* fused: act(in0 * sigmoid(fc2(relu(fc1(mean in0)))) + in1) */  \
  X(ENTRY, "entry")             /* the caller's input (spec type, layout) -> f32 NHWC - shift */

typedef enum Op {
#define X(id, name) OP_##id,
  OP_LIST(X)
#undef X
  OP_COUNT
} Op;

/* OP_POOL's reduction. */
typedef enum PoolKind {
  POOL_MAX, /* window: pads ignored (-inf) */
  POOL_AVG  /* window: ceil mode, divides by the in-bounds count */
} PoolKind;

/* names.c: */
const char *op_name(Op op);
const char *act_name(ActKind a);

typedef struct Shape {
  int n, h, w, c; /* NHWC; vectors are [N,1,1,C] */
} Shape;

size_t shape_elems(Shape s); /* n*h*w*c; shapes are checked small enough in shape.c */

/* Outputs per block of LAYOUT_DENSE_BLOCK: two AVX-512 vectors, two cache
 * lines; rsc_dense_blocks keeps a block's sums in registers for up to 8
 * images (AVX2: 2, portable vectors: 1), and threads split whole blocks.
 * The same for every target: the layout must not depend on the vector
 * width the generated file is later compiled for. */
enum { DENSE_KB = 32 };

/* Pixels per chunk of an SE's pool (the kernels' PC): each image's mean is
 * summed chunk by chunk from its own first pixel, in an order that depends
 * on nothing but the map's size, so an image's result is the same alone or
 * in any batch; the threads split a pooling conv's work only where a chunk
 * starts. The partial sums, one per chunk, are a few % of the map. */
enum { SE_POOL_CHUNK = 32 };

/* Weight layouts the kernels read (pack.c draws each); layout_name() is the
 * word of the manifest and the fingerprint. */
#define LAYOUT_LIST(X)                                                                             \
  X(RAW, "raw")                 /* as imported: conv OIHW, dense [out][in], vectors [C] */        \
  X(CONV_BLOCK, "conv_block")   /* conv [ceil(O/kb)][KH][KW][I][kb], O zero-padded to kb */       \
  X(DENSE_BLOCK, "dense_block") /* dense and SE fc [ceil(O/kb)][I][kb], kb DENSE_KB */            \
  X(VECTOR, "vector")           /* bias [O] zero-padded to a multiple of kb */                    \
  X(WINO_BLOCK, "wino_block")   /* 3x3 conv as Winograd F(2x2,3x3) U = G g G^T: [O/kb][16][I][kb] */ \
  X(CONV_BF16, "conv_bf16")     /* conv, bf16 pairs of inputs: [O/kb][KH][KW][ceil(I/2)][kb] words */

typedef enum Layout {
#define X(id, name) LAYOUT_##id,
  LAYOUT_LIST(X)
#undef X
} Layout;

const char *layout_name(Layout l);

/* A scale recorded on a tensor (tensor.c): along axis 0 (output channel,
 * fold's BN scale) or 1 (input channel, entry's preprocessing scale), s[i]
 * per channel; the tensor owns s. */
typedef struct TensorScale {
  int axis;
  double *s;
} TensorScale;
enum { TENSOR_MAX_SCALES = 2 }; /* fold's, then entry's */

typedef struct Tensor {
  char *name; /* timm state_dict name; folded biases get "<conv>.bias" */
  int ndim;
  int dims[4];
  float *data; /* dims product floats once loaded; NULL before weights.c runs,
                  and after pack.c for the tensors no live node uses */
  bool deferred; /* random values not drawn yet (weights_random_deferred):
                    tensor_values draws them, with the scales applied, when needed */
  TensorScale scales[TENSOR_MAX_SCALES]; /* tensor_scale: a deferred tensor's pending */
  int nscales;                           /* scales, in the order recorded */
  bool used;   /* referenced by a live node (set by pack.c) */
  /* pack.c: */
  Layout layout;
  int kb;               /* output-channel block of the blocked layouts / LAYOUT_VECTOR */
  float *packed;        /* NULL: pack_tensor draws the packed values from data
                           when the .weights is written; tests set it by hand */
  size_t packed_floats;
  size_t offset; /* in floats from the start of the weights payload; multiple of 16 */
} Tensor;

size_t tensor_elems(const Tensor *t);

/* Per-op attributes: the member of Node's attr that its op names (the tag).
 * Fields every op that has them reads the same way (geometry, w and b, act)
 * stay in Node itself. Tensor ids are -1 if absent. */
typedef struct BnAttr { /* OP_BN: y = gamma * (x - mean) / sqrt(var + eps) + beta */
  int gamma, beta, mean, var; /* tensors [C] */
  double eps;
} BnAttr;
typedef struct SeAttr { /* OP_SE_ADD: gate = sigmoid(fc2(relu(fc1(mean x)))) */
  int fc1_w, fc1_b;       /* [mid][C], [mid] */
  int fc2_w, fc2_b;       /* [C][mid], [C] */
  int mid;                /* the reduced width */
} SeAttr;
typedef struct PoolAttr { /* OP_POOL */
  PoolKind kind;
  bool global; /* over all of H,W -> [N,1,1,C]; else the window kh x kw / sh of Node */
} PoolAttr;
typedef struct EntryAttr { /* OP_ENTRY (entry.c) */
  /* The value subtracted from input channel c, in the input's units (255 *
   * ImageNet mean under preprocess imagenet, whose input has 3 channels);
   * shifted false: nothing is subtracted. */
  bool shifted;
  double shift[3];
} EntryAttr;

/* select.c's decisions for one conv: the kernel family and its tiles. The
 * runtime's conv and Winograd kernels take these as their parameters. */
typedef struct ConvSched {
  bool wino;    /* Winograd F(2x2,3x3) instead of the direct kernel */
  int kb;       /* output-channel block */
  int np;       /* output pixels (Winograd: 2x2 tiles) per register tile */
  int kg;       /* direct: output-channel blocks per group (rsc_conv2d_part) */
  bool nx;      /* direct: prefetch the next block during a block's tiles */
  bool xp;      /* direct: prefetch the next tile's input during a tile */
  int tg, tc;   /* direct: groups of tg tiles take turns on chunks of tc channels,
                   the weights streamed once per group (rsc_conv2d_part's TG, TC); tg 1: none */
  bool bf16;    /* direct: bf16 weights and input, float32 sums (rsc_conv2d_bf16_part) */
  bool se_pool; /* direct: writes its SE_ADD's pool, a sum per chunk (SE_POOL_CHUNK) */
} ConvSched;

/* What select.c decided for one node, attached by select (Node.sched): all
 * that later passes (plan, pack, emit) read of the choice. */
typedef struct Sched {
  char *kernel;   /* name of the specialised kernel function */
  ConvSched conv; /* CONV */
  bool pooled;    /* SE_ADD: its producer (a conv with conv.se_pool) wrote the pool's chunk sums */
} Sched;

typedef struct Node {
  Op op;       /* the tag of attr */
  char *name;  /* timm module name, e.g. "layer1.0.conv2"; unique */
  int in[2];   /* producer node ids, -1 if unused */
  int nin;
  Shape out;
  /* CONV and window POOL geometry: */
  int kh, kw, sh, sw;
  int pad_t, pad_l, pad_b, pad_r;
  ActKind act; /* ACT: the op; CONV, DENSE, ADD, SE_ADD: fused output activation;
                  SE_ADD's reduce is always ReLU and its gate sigmoid */
  int w, b;    /* CONV: w OIHW, b [O]; DENSE: w [out][in], b [out]; tensor ids, -1 if absent */
  union {
    BnAttr bn;       /* OP_BN */
    SeAttr se;       /* OP_SE_ADD */
    PoolAttr pool;   /* OP_POOL */
    EntryAttr entry; /* OP_ENTRY */
  } attr;
  /* Links set by fuse.c, asserted by graph_check, -1 if none: the SE_ADD that
   * reads this node as its x (pools, gates and adds it), and the ADD or
   * SE_ADD whose residual sum this node is an input of (its x or shortcut). */
  int se, residual;
  bool dead;  /* removed by a pass; skipped by everything after */
  /* plan.c: */
  bool in_arena; /* false for the input (caller's buffer) and the output node */
  int over;      /* SE_ADD: the input whose buffer its output takes (in place), or -1 */
  size_t offset; /* in floats from the arena start; multiple of 16 */
  int first, last; /* live range in node order: defined at first, last read at last */
  Sched *sched; /* select.c's decisions; NULL before select and on INPUT and dead nodes */
} Node;

/* The tensors a node reads, each with its role ("w", "b", "gamma", ...,
 * "fc2_b"): for the passes that treat every tensor alike (the dump, the
 * checker). Returns the count; absent (-1) tensors are left out. */
enum { NODE_MAX_TENSORS = 4 };
typedef struct TensorRef {
  const char *role;
  int id;
} TensorRef;
int node_tensors(const Node *n, TensorRef out[NODE_MAX_TENSORS]);
/* names.c: the op's word with its kind, as --dump, kernel names and the
 * generated comments say it: op_name, but a pool is "maxpool", "avgpool",
 * "global_maxpool" or "global_avgpool". */
const char *node_op_name(const Node *n);
/* Frees n's Sched (select's record) and sets it NULL. */
void sched_free(Node *n);

/* A string -> int hash map: the graph's index of tensor names, the passes'
 * sets of names. Keys are not copied: each must outlive the map (they are
 * strings the graph or the caller owns). Zero-initialised is empty. */
typedef struct NameMap {
  const char **keys; /* NULL: a free slot */
  uint64_t *hashes;
  int *vals;
  size_t cap; /* slots, a power of two (0 when empty); at most half are used */
  size_t n;
} NameMap;
int namemap_get(const NameMap *m, const char *key); /* -1 if absent */
/* Sets key to val (>= 0); returns key's previous value, -1 if it is new. */
int namemap_put(NameMap *m, const char *key, int val);
void namemap_free(NameMap *m);

/* The instruction set generated code is tuned and checked for (--target). */
#define TARGET_LIST(X)                                                                             \
  X(GENERIC, "generic") /* portable vectors */                                                    \
  X(AVX2, "avx2")       /* AVX2 + FMA */                                                          \
  X(AVX512, "avx512")   /* AVX-512F */                                                            \
  X(AVX512_BF16, "avx512-bf16") /* AVX-512F + AVX512-BF16 (vdpbf16ps): --precision bf16 */        \
  X(AMX, "amx")         /* reserved: AMX-BF16 tiles; no kernels yet, rejected by main.c */

typedef enum Target {
#define X(id, name) TARGET_##id,
  TARGET_LIST(X)
#undef X
} Target;
enum {
#define X(id, name) +1
  TARGET_COUNT = 0 TARGET_LIST(X)
#undef X
};

const char *target_name(Target t); /* --target's word */

/* ---------------------------------------------------------------- cpu.c */

/* The microarchitecture whose constants the tile model uses (--cpu; the
 * default is the host's, from CPUID). */
#define MACHINE_LIST(X)                                                                            \
  X(GENERIC, "generic") /* any other CPU: the target's typical figures */                         \
  X(ZEN4, "zen4")       /* AMD family 25, Zen 4: 512-bit FMAs at one a cycle */                   \
  X(ZEN5, "zen5")       /* AMD family 26, Zen 5: two 512-bit FMAs a cycle */                      \
  X(SPR, "spr")         /* Intel Sapphire/Emerald Rapids: two 512-bit FMA ports */

typedef enum Machine {
#define X(id, name) MACHINE_##id,
  MACHINE_LIST(X)
#undef X
} Machine;
enum {
#define X(id, name) +1
  MACHINE_COUNT = 0 MACHINE_LIST(X)
#undef X
};

const char *machine_name(Machine m); /* --cpu's word */
Machine machine_host(void);          /* the CPU running rsc (generic without AVX-512F) */
/* The kind of a CPU by CPUID's vendor string, family and model (with the
 * extended fields added). */
Machine machine_of(const char *vendor, int family, int model);

/* What the tile model knows about a machine kind compiled for a target. */
typedef struct CostModel {
  int vl;         /* floats per vector register */
  int regs;       /* vector registers */
  double fmas;    /* vector FMAs per cycle */
  double loads;   /* loads (vector or broadcast) per cycle */
  double lat;     /* FMA latency in cycles: the fewest cycles per channel step */
  double l1;      /* bytes of L1 data cache per core */
  double l2;      /* bytes of L2 per core */
  double l2_bw;   /* bytes per cycle from L2 */
  double l3_bw;   /* bytes per cycle from L3 */
  double dram_bw; /* bytes per cycle from DRAM, one core */
} CostModel;
CostModel cost_model(Machine m, Target t);

typedef struct Graph {
  Spec spec;
  Target target; /* main.c: --target, default the host's */
  Machine machine; /* main.c: --cpu, default the host's */
  struct Tuning *tuning; /* main.c: --tuning FILE's schedules, or NULL */
  bool no_wino;  /* main.c: --no-winograd, every conv direct */
  Node *nodes; /* in topological (execution) order */
  int nnodes, cap_nodes;
  Tensor *tensors;
  int ntensors, cap_tensors;
  NameMap tensor_index; /* tensor name -> id (graph_add_tensor keeps it) */
  int input;  /* node id of OP_INPUT */
  int output; /* node id producing the network output */
  int stage_out[RSC_STAGES]; /* node id producing each stage's output (endpoints c2..c5) */
  /* plan.c: */
  size_t arena_floats;      /* arena size chosen by the plan */
  size_t arena_lower_bound; /* max over time of the live floats: no plan can do better */
  size_t scratch_offset;    /* SE_ADD's C+M floats of scratch, at the arena's end */
  uint64_t seed; /* weights.c: seed of the deferred random tensors */
  int passes_done; /* pipeline.c: the passes run so far are those before this Pass */
  bool linked;     /* fuse.c has set the nodes' se and residual links */
  /* pack.c: */
  size_t weight_floats; /* payload size in floats */
} Graph;

void graph_init(Graph *g, const Spec *s);
void graph_free(Graph *g);
int graph_add_node(Graph *g, Op op, const char *name); /* returns id; fields zero/-1 */
int graph_add_tensor(Graph *g, const char *name, int ndim, const int *dims);
int graph_find_tensor(const Graph *g, const char *name); /* -1 if absent; O(1) */
/* Inserts a node at execution position pos (nodes from pos on move one up and
 * every reference to them is renumbered); returns pos. O(nodes): for a pass
 * that inserts one node, not one per node. */
int graph_insert_node(Graph *g, int pos, Op op, const char *name);

/* The live readers of every node (use lists), for the passes that rewrite
 * the graph: uses_build makes them in O(nodes), after which a use count costs
 * O(1) and a replacement the readers of one node, not a walk over the graph.
 * They stay true while the pass changes edges and kills nodes only through
 * the uses_ functions below and adds no node; uses_check verifies that. */
typedef struct Uses {
  int *head;        /* per node: the first edge reading it, -1 if none */
  int *next, *prev; /* per edge 2 * reader + slot (reader's in[slot]): the
                       other edges reading the same node, -1 at the ends */
  int *count;       /* per node: the edges of live nodes reading it */
  int nnodes;
} Uses;
void uses_build(Uses *u, const Graph *g);
void uses_free(Uses *u);
/* Live reads of node id (a node reading it twice counts twice). */
int uses_count(const Uses *u, int id);
/* Makes every live reader of node old_id (and g->output, g->stage_out) read new_id. */
void uses_replace(Uses *u, Graph *g, int old_id, int new_id);
/* Node id (live) reads src in input slot. */
void uses_set_input(Uses *u, Graph *g, int id, int slot, int src);
/* Marks node id dead: its producers lose it as a reader. */
void uses_kill(Uses *u, Graph *g, int id);
/* Aborts (RSC_ASSERT) unless u matches g's live edges. O(nodes). */
void uses_check(const Uses *u, const Graph *g);

/* Work counted by the graph's indexes and the passes' inner loops (name map
 * probes, use list steps, the plan's interval visits): a deterministic
 * measure that tests/unit/test_scaling.c checks grows linearly with the
 * network, where a timing would be noise. Thread-safe. */
void rsc_count_steps(unsigned long long n);
unsigned long long rsc_steps(void);
/* Stable text form of the graph (for --dump and the pass tests). */
void graph_dump(const Graph *g, FILE *out);
/* Internal invariant checker: aborts (RSC_ASSERT) on a malformed graph. */
void graph_check(const Graph *g);

/* ---------------------------------------------------------------- build.c */

/* Builds the unfused network from a resolved spec, declaring every weight tensor
 * with its timm name and PyTorch shape (data still NULL). */
bool build_graph(Graph *g, Diag *d);

/* ---------------------------------------------------------------- shape.c */

/* Computes every node's output shape; rejects inputs too small for the network
 * and sizes over the documented limits. */
bool infer_shapes(Graph *g, Diag *d);

/* ---------------------------------------------------------------- weights.c */

/* Fills every declared tensor from a safetensors file (timm names, PyTorch layouts).
 * Missing, extra, wrongly shaped or typed tensors are errors naming the tensor. */
bool weights_load_safetensors(Graph *g, const char *path, Diag *d);
/* The same from len bytes in memory; name stands for the path in messages
 * (fuzz/fuzz_safetensors.c: no file per input). */
bool weights_load_safetensors_mem(Graph *g, const char *name, const void *data, size_t len,
                                  Diag *d);
/* Deterministic random weights: He-normal fan-out convs, random BN statistics. */
void weights_random(Graph *g, uint64_t seed);
/* The same values, but only the 1-D tensors (BN statistics, biases: what
 * fold reads) are drawn now; the conv and dense weights, all but a few MB,
 * are marked deferred and drawn one at a time as the .weights file is
 * written (tensor_values), so they never all exist in memory at once. */
void weights_random_deferred(Graph *g, uint64_t seed);
/* A deferred tensor's random values, as weights_random draws them, into
 * out (tensor_elems(t) floats), without its scales: see tensor_values. */
void weights_draw(const Graph *g, const Tensor *t, float *out);

/* ---------------------------------------------------------------- tensor.c */

/* Multiplies t's values along axis (0: per output channel, 1: per input
 * channel) by s[i] in double, rounded to float once; t takes s. On a
 * deferred tensor the scale is recorded, and applied by tensor_values. */
void tensor_scale(Tensor *t, int axis, double *s);
/* t's values: t->data, or for a deferred tensor drawn into *scratch (grown
 * to *cap floats as needed; caller frees) with its scales applied in the
 * order recorded: exactly what drawing at once and scaling would give. */
const float *tensor_values(const Graph *g, const Tensor *t, float **scratch, size_t *cap);

/* ---------------------------------------------------------------- weights_h5.c */

/* Is path a Keras HDF5 file (.h5 / .hdf5 name, or the HDF5 signature)? */
bool weights_is_h5(const char *path);
/* Fills every declared tensor from Keras save_weights HDF5 (either naming scheme
 * of docs/resnet-rs.md), converting HWIO / [in,out] to the graph's layouts. */
bool weights_load_h5(Graph *g, const char *path, Diag *d);
/* --weights: the Keras importer for HDF5 files, else the safetensors one. */
bool weights_load_file(Graph *g, const char *path, Diag *d);

/* ---------------------------------------------------------------- export.c */

/* The graph's raw tensors (timm names, PyTorch layouts, F32; as imported,
 * before any folding) as a safetensors file, appended to out. */
void weights_export_safetensors(const Graph *g, StrBuf *out);

/* ---------------------------------------------------------------- fold.c */

/* CONV followed by BN -> CONV with folded weight and bias (computed in double);
 * the weight's scale is recorded with tensor_scale. */
bool fold_bn(Graph *g, Diag *d);

/* ---------------------------------------------------------------- entry.c */

/* Keras ResNet-RS preprocessing (include_preprocessing=True), per RGB channel. */
extern const double imagenet_mean[3], imagenet_std[3];
/* Lowers the spec's input format: an OP_ENTRY node right after the input
 * converts u8 / NCHW to f32 NHWC and subtracts its entry.shift (255 * mean
 * under preprocess imagenet, in the input's units); the preprocessing
 * scale 1/(255 std) is folded into the weights of the convs reading the input.
 * No node when the input is f32 NHWC without preprocessing. */
bool lower_entry(Graph *g, Diag *d);

/* ---------------------------------------------------------------- fuse.c */

/* ACT into its producing CONV/ADD; GAP->fc1->fc2->SCALE->ADD->ACT into SE_ADD. */
bool fuse_ops(Graph *g, Diag *d);

/* ---------------------------------------------------------------- endpoints.c */

/* The node an endpoint reads; for a model without its head, g->output is the
 * deepest selected stage's output (see select_outputs). */
int endpoint_node(const Graph *g, Endpoint e);
/* The `outputs` key: without the head among them, the network ends at the
 * deepest selected stage: g->output moves there and the rest is dead. */
bool select_outputs(Graph *g, Diag *d);

/* ---------------------------------------------------------------- plan.c */

/* Gives every arena tensor an offset by liveness (greedy best fit, biggest first). */
bool plan_memory(Graph *g, Diag *d);
/* An SE_ADD's scratch: its floats in all, and where in it the partial sums
 * of its producer's pool start (after the pooled means, reduced vector and
 * gate of every image). */
size_t se_scratch_floats(const Node *se);
size_t se_pool_offset(const Node *se);

/* ---------------------------------------------------------------- pack.c */

/* Chooses every live tensor's kernel layout (layout, kb, packed_floats) and
 * assigns payload offsets; frees the raw values of the tensors not used. */
bool pack_weights(Graph *g, Diag *d);
/* Draws tensor t (placed by pack_weights) into its layout: t->packed_floats
 * floats at dst, padding zeroed. From t->packed if set, else from raw, t's
 * values (tensor_values). */
void pack_tensor(const Tensor *t, const float *raw, float *dst);

/* u = G g G^T: one 3x3 filter g (row-major) as its 4x4 Winograd F(2x2,3x3)
 * transform u (row-major), computed in double and rounded once. */
void wino_filter_transform(const float g[9], float u[16]);

/* ---------------------------------------------------------------- select.c */

/* Attaches a Sched to each live node: its kernel, a conv's tile (ConvSched; a
 * conv whose shape g->tuning names takes the tuning file's schedule), names the function. */
bool select_kernels(Graph *g, Diag *d);

enum { SCHEDULES_MAX = 8 }; /* candidates per shape conv_candidates gives at most */

/* The shape part of a conv's kernel name, the key of a tuning file's line:
 * "conv3x3s1x1p1x1_n1_40x40x64_40x40x64". */
char *conv_shape_key(const Node *n, Shape in);
/* The schedule the cost model chooses, then up to SCHEDULES_MAX - 1 others
 * worth timing (the next tiles by the estimate, the prefetches, block group
 * and tile groups switched, Winograd or direct): what rsc --tune times.
 * Returns the count. */
int conv_candidates(const Node *n, Shape in, const CostModel *cm, bool allow_wino, ConvSched *out);
/* Whether s is a schedule the runtime runs for n's shape and the target's
 * registers; why it is not, if not. */
bool schedule_valid(const Node *n, Shape in, const CostModel *cm, bool allow_wino,
                    const ConvSched *s, char why[160]);
/* "direct kb64 np5 kg1 nx0 xp0 tg1 tc0" or "wino kb64 nt6" (a tuning file's words). */
void schedule_format(const ConvSched *s, StrBuf *out);

/* ---------------------------------------------------------------- tune.c */

/* A tuning file (rsc --tune writes it, rsc --tuning reads it), one directive a
 * line, '#' to the end of a line a comment:
 *   machine KIND TARGET          first: what the schedules were timed on
 *   use KEY SCHEDULE             the schedule select.c gives convs of shape KEY
 *   time KEY SCHEDULE MS         a measurement: --tune's "use" lines follow from these
 * KEY is conv_shape_key's, SCHEDULE schedule_format's. */
typedef struct TuneUse {
  char *key;
  ConvSched s;
  int line, col; /* of the key, for diagnostics */
  bool used;     /* select.c: a conv of the model has this shape */
} TuneUse;
typedef struct TuneTime {
  char *key;
  ConvSched s;
  double ms;
} TuneTime;
typedef struct Tuning {
  SrcFile file; /* its name and text: the diagnostics' quotes */
  char *text;   /* owned: file.text */
  Machine machine;
  Target target;
  int machine_line;
  TuneUse *uses;
  int nuses;
  TuneTime *times;
  int ntimes;
  NameMap index; /* key -> uses[] index */
} Tuning;
/* Parses f (whose text must outlive t); false, reported at file:line:col, on
 * any malformed line. */
bool tuning_parse(Tuning *t, const SrcFile *f, Diag *d);
bool tuning_read(Tuning *t, const char *path, Diag *d);
void tuning_free(Tuning *t);

typedef struct TuneOptions {
  const char *out;     /* the tuning file to write */
  const char *timings; /* a tuning file whose "time" lines to use instead of measuring, or NULL */
  const char *datadir; /* where runtime/ is, for the timing program */
} TuneOptions;
/* rsc --tune: times the candidate schedules (conv_candidates) of each
 * distinct conv shape of g (selected) on this host, or takes o->timings',
 * and writes the tuning file: the fastest of each shape. */
bool tune_run(const Graph *g, const TuneOptions *o, Diag *d);

/* ---------------------------------------------------------------- pipeline.c */

/* The pipeline: every pass in the order it runs, its --dump / --time-passes
 * name, the function pipeline.c runs it with, and what it does. The usage
 * text, --dump, --time-passes, their errors and the tests all read this. */
#define PASS_LIST(X)                                                                               \
  X(BUILD, "build", pass_build, "spec -> unfused graph, timm names")                              \
  X(SHAPE, "shape", pass_shape, "NHWC shapes, size checks")                                       \
  X(WEIGHTS, "weights", pass_weights, "safetensors, Keras HDF5 or seeded random")                 \
  X(FOLD, "fold", pass_fold, "BN into conv weight and bias")                                      \
  X(ENTRY, "entry", pass_entry, "input type, layout, preprocessing")                              \
  X(FUSE, "fuse", pass_fuse, "activations, SE + residual + act")                                  \
  X(OUTPUTS, "outputs", pass_outputs, "endpoints; without the head, cut it off")                  \
  X(SELECT, "select", pass_select, "kernel and tile per node")                                    \
  X(PLAN, "plan", pass_plan, "arena offsets by liveness")                                         \
  X(PACK, "pack", pass_pack, "weights into kernel layouts")

typedef enum Pass {
#define X(id, name, fn, what) PASS_##id,
  PASS_LIST(X)
#undef X
} Pass;
enum {
#define X(id, name, fn, what) +1
  PASS_COUNT = 0 PASS_LIST(X)
#undef X
};
#define PASS_BIT(p) (1u << (p))

const char *pass_name(Pass p); /* "fuse" */
const char *pass_what(Pass p); /* the table's description */
int pass_find(const char *name, size_t len); /* the Pass named name[0..len), or -1 */
/* --time-passes' line: "rsc: time: NAME  SECONDS s". */
void pass_time_line(FILE *out, const char *name, double seconds);

typedef struct Outputs Outputs;
typedef struct Summary Summary;

/* What the passes of one run need besides the graph, and what the run wants
 * to see between them. Zero-initialised: nothing observed, random weights of
 * seed 0, deferred. */
typedef struct PassCtx {
  Diag *d;
  /* The weights pass: */
  const char *weights;        /* safetensors or Keras HDF5 file; NULL: random from seed */
  uint64_t seed;
  bool draw_now;              /* random values drawn at once, not deferred to the writer */
  const char *export_weights; /* --export-weights: safetensors of the values as imported */
  Outputs *export_out;        /* where that file waits to be committed */
  /* Observers: */
  unsigned dump;   /* PASS_BITs: print the IR after these passes to dump_out */
  FILE *dump_out;
  FILE *times;     /* --time-passes: a pass_time_line per pass run, or NULL */
  Summary *summary; /* if set: summary_collect'ed right after shape */
} PassCtx;

/* Runs the pipeline's passes from where g is (g->passes_done) up to and
 * including last, graph_check after each; false (reported) when a pass fails. */
bool compile_to(Graph *g, PassCtx *c, Pass last);

/* ---------------------------------------------------------------- emit.c */

typedef struct EmitOptions {
  const char *out_c;     /* "dir/rs152.c"; .h, .weights beside it */
  const char *prefix;    /* C identifier prefix, e.g. "rs152" */
  const char *datadir;   /* where templates/ and runtime/ are */
  const char *manifest;  /* optional path of a text manifest of the weights layout */
  bool with_main;        /* emit a main() behind P_NO_MAIN */
  bool embed_weights;    /* .incbin the .weights (path as in out_c) into the object file */
  const char *cmdline;   /* normalised command line for the banner (no paths) */
} EmitOptions;

bool emit_model(Graph *g, const EmitOptions *o, Diag *d);

/* ---------------------------------------------------------------- wfile.c */

/* The .weights file: its header and checksum are runtime/rsc_checksum.h's,
 * shared with the generated loader (runtime/rsc_loader.h). */

uint64_t wfile_checksum(const void *data, size_t n);
/* The same checksum over data given in pieces of any sizes: init, add each
 * piece in order, then final. */
typedef rsc_sum WfileSum; /* runtime/rsc_checksum.h, shared with the loader */
void wfile_sum_init(WfileSum *s);
void wfile_sum_add(WfileSum *s, const void *data, size_t n);
uint64_t wfile_sum_final(const WfileSum *s);
/* Model fingerprint: the canonical spec plus the weight layout (names, layouts,
 * shapes, offsets), not the values. */
uint64_t graph_fingerprint(const Graph *g);
/* Where wfile_write puts the file: write appends n bytes, patch overwrites n
 * bytes at offset of what was written already. Both return false on failure. */
typedef struct WfileSink {
  bool (*write)(void *ctx, const void *data, size_t n);
  bool (*patch)(void *ctx, size_t offset, const void *data, size_t n);
  void *ctx;
} WfileSink;
/* Streams the .weights file to sink in one pass: the header (its checksum
 * patched in at the end), then the packed tensors in offset order, drawn by
 * pack_tensor on rsc_threads() threads a batch at a time into a buffer that
 * is checksummed and written while the next batch is drawn: no copy of the
 * whole payload is ever made. */
bool wfile_write(const Graph *g, uint64_t fingerprint, const WfileSink *sink);
/* Appends the whole .weights file to out (wfile_write into memory). */
void wfile_build(const Graph *g, uint64_t fingerprint, StrBuf *out);

/* ---------------------------------------------------------------- output.c */

/* All-or-nothing output: each file is written to a temporary in its directory;
 * outputs_commit() renames all of them, outputs_abort() removes them. */
struct Outputs {
  int n;
  char *final[8];
  char *temp[8];
};

bool outputs_write(Outputs *o, const char *path, const void *data, size_t len, Diag *d);

/* The same for a file written piece by piece: outputs_open creates the
 * temporary, outputs_put appends, outputs_put_at overwrites bytes already
 * written, outputs_close closes the file and adds it to o as outputs_write
 * would. A failed put is reported by outputs_close (the first error wins),
 * which then removes the temporary; outputs_discard removes it unreported
 * (the caller has reported why). */
typedef struct OutFile {
  char *path, *temp;
  int fd;
  int err; /* errno of the first failed put, 0 if none */
} OutFile;
bool outputs_open(OutFile *f, const char *path, Diag *d);
bool outputs_put(OutFile *f, const void *data, size_t len);
/* Allocates the file's first len bytes on disk before they are written
 * (posix_fallocate): a full disk fails here, not after hundreds of MB, and
 * ext4 then has no delayed allocation to write out synchronously when the
 * file is renamed over an older one (0.6-0.9 s for RS-420's 900 MB). A
 * failure is kept like a failed put's. */
bool outputs_reserve(OutFile *f, size_t len);
bool outputs_put_at(OutFile *f, size_t offset, const void *data, size_t len);
bool outputs_close(Outputs *o, OutFile *f, Diag *d);
void outputs_discard(OutFile *f);
bool outputs_commit(Outputs *o, Diag *d);
void outputs_abort(Outputs *o);

/* One path a run reads or writes, for outputs_check_paths. */
typedef struct RunPath {
  const char *what; /* how the user named it: "-o", "--weights", "the spec", ... */
  const char *path; /* NULL: not given in this run */
  bool output;      /* written (through a symbolic link, if it is one) */
  bool regular;     /* an input that must be a regular file if it exists */
} RunPath;
/* Checks all the paths of a run before anything is written: each output is
 * a regular file, a link to one, or a new name (not a device, FIFO, socket or
 * directory), and no two paths name the same file (same device and inode, or
 * for names not yet created, same directory and last component, a dangling
 * link's by those of its target). Reports
 * every problem, naming both paths of a pair; false if there was one. */
bool outputs_check_paths(const RunPath *p, int n, Diag *d);

/* ---------------------------------------------------------------- m4.c */

/* A running `m4 -P -E` (no shell, syscmd/esyscmd undefined, -I datadir/templates). */
typedef struct M4Run {
  long pid;         /* -1 when not running */
  const char *prog; /* $RSC_M4 or "m4" */
  char *driver;     /* the input, as a temporary file */
  char *incdir;
} M4Run;
/* Starts m4 on input with its output going to out_fd; returns at once. */
bool m4_start(M4Run *r, const char *datadir, const char *input, size_t len, int out_fd, Diag *d);
/* Waits for m4 to end; false (reported) if it failed. Removes the driver. */
bool m4_finish(M4Run *r, Diag *d);

/* ---------------------------------------------------------------- reference.c */

/* The reference evaluator runs the built, shaped graph with raw (unfolded)
 * weights loaded, in double, with naive loops: the oracle of --verify and tests. */
typedef void (*ReferenceTap)(void *ctx, int node, const double *values, size_t n);
/* Bytes of the network input as the spec's input_type and layout say. */
size_t reference_input_bytes(const Graph *g);
/* That input as NHWC doubles, preprocessed (caller frees). */
double *reference_input(const Graph *g, const void *raw);
/* Runs every node; tap (if not NULL) sees each node's output right after it is
 * computed. Returns the output node's values (caller frees). */
double *reference_eval(const Graph *g, const double *input, ReferenceTap tap, void *ctx);

/* ---------------------------------------------------------------- summary.c */

/* One layer of the built (unfused) graph, for --summary. */
typedef struct SummaryRow {
  char *name; /* timm name */
  Op op;
  const char *word; /* node_op_name: the op with its kind ("maxpool") */
  ActKind act;
  Shape out;
  int in0, in1, consumer; /* built node ids: inputs, first reader; -1 if none */
  uint64_t trainable;  /* conv/dense weights and biases, BN gamma and beta */
  uint64_t statistics; /* BN running mean and variance */
  uint64_t macs;       /* multiply-adds (convs and dense only) */
  int fused;           /* final node it became part of, -1 if none (summary_attach) */
} SummaryRow;

typedef struct Summary {
  SummaryRow *rows; /* one per built node, in built order */
  int nrows;
  uint64_t trainable, statistics, macs;
  uint64_t weight_bytes, arena_bytes, arena_bound_bytes; /* summary_attach */
  bool attached;
} Summary;

/* Counts params and MACs of the graph as built and shaped (before weights/fold). */
void summary_collect(Summary *s, const Graph *g);
/* After the whole pipeline: maps each row to the fused node it became; packed
 * weight and arena sizes. */
void summary_attach(Summary *s, const Graph *g);
void summary_print(const Summary *s, const Graph *g, const char *model, FILE *out);
void summary_print_json(const Summary *s, const Graph *g, const char *model, FILE *out);
void summary_free(Summary *s);

/* ---------------------------------------------------------------- dot.c */

/* Graphviz text of the network (--emit=dot[:built|:fused]). built: the unfused
 * ops, clustered by block, edges labelled with the tensor shape. fused: the same
 * ops clustered by the fused node (kernel) each became; only edges between
 * clusters are tensors in memory (solid, with shapes), those inside are not
 * (dashed). s must be attached (summary_attach). */
void dot_write(const Graph *g, const Summary *s, bool fused, FILE *out);

/* ---------------------------------------------------------------- verify.c */

typedef struct VerifyOptions {
  const char *workdir;      /* from verify_workdir(); its temporaries are removed */
  const char *out_c;        /* the generated model to check */
  const char *prefix;       /* its C prefix */
  const char *weights_file; /* the .weights the generated code loads */
  const char *safetensors;  /* the reference's weights: this file, or seed */
  uint64_t seed;
  uint64_t input_seed;      /* of the random input */
} VerifyOptions;

/* A fresh temporary directory (caller frees the name and removes it). */
char *verify_workdir(Diag *d);
/* Compiles and runs the generated code with its trace hook, runs the reference
 * evaluator on the same input, prints per-layer errors and a PASS/FAIL line.
 * g is the compiled graph, s its attached summary. */
bool verify_model(const Graph *g, const Summary *s, const VerifyOptions *vo, Diag *d);

#endif /* RSC_H */
