/*
 * names.c - the words of the named enums, each expanded from its one X-macro
 * table in rsc.h (OP_LIST, ACT_LIST, LAYOUT_LIST, TARGET_LIST): what --dump,
 * kernel names, the manifest and --target say. A leaf: it uses nothing of the
 * other stages, so that every stage may name things without an import circle.
 */
#include "rsc.h"

static const char *const op_names[] = {
#define X(id, name) name,
    OP_LIST(X)
#undef X
};

const char *op_name(Op op) {
  RSC_ASSERT(op >= 0 && op < OP_COUNT);
  return op_names[op];
}

static const char *const act_names[] = {
#define X(id, name) name,
    ACT_LIST(X)
#undef X
};

const char *act_name(ActKind a) {
  RSC_ASSERT(a >= 0 && (size_t)a < sizeof act_names / sizeof *act_names);
  return act_names[a];
}

static const char *const layout_names[] = {
#define X(id, name) name,
    LAYOUT_LIST(X)
#undef X
};

const char *layout_name(Layout l) {
  RSC_ASSERT(l >= 0 && (size_t)l < sizeof layout_names / sizeof *layout_names);
  return layout_names[l];
}

static const char *const target_names[] = {
#define X(id, name) name,
    TARGET_LIST(X)
#undef X
};

const char *target_name(Target t) {
  RSC_ASSERT((int)t >= 0 && (int)t < TARGET_COUNT);
  return target_names[t];
}
