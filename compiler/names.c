/*
 * names.c - the words of the named enums, each expanded from its one X-macro
 * table in rsc.h (OP_LIST, ACT_LIST, LAYOUT_LIST, TARGET_LIST, MACHINE_LIST,
 * PRECISION_LIST): what --dump, kernel names, the manifest, --target, --cpu and
 * --precision say. A leaf: it uses nothing of the other stages, so that every
 * stage may name things without an import circle.
 */
#include "rsc.h"

/* NAME_TABLE(fn, Type, LIST): a table of LIST's words and fn(Type),
 * which returns one of them; an out-of-range value is an internal error. */
#define NAME_WORD(id, name) name,
#define NAME_TABLE(fn, Type, LIST)                                                                 \
  const char *fn(Type v) {                                                                         \
    static const char *const words[] = {LIST(NAME_WORD)};                                          \
    RSC_ASSERT((int)v >= 0 && (size_t)v < sizeof words / sizeof *words);                           \
    return words[v];                                                                               \
  }

NAME_TABLE(op_name, Op, OP_LIST)
NAME_TABLE(act_name, ActKind, ACT_LIST)
NAME_TABLE(layout_name, Layout, LAYOUT_LIST)
NAME_TABLE(target_name, Target, TARGET_LIST)
NAME_TABLE(precision_name, Precision, PRECISION_LIST)
NAME_TABLE(machine_name, Machine, MACHINE_LIST)

const char *node_op_name(const Node *n) {
  if (n->op != OP_POOL)
    return op_name(n->op);
  static const char *const words[2][2] = {{"maxpool", "global_maxpool"},
                                          {"avgpool", "global_avgpool"}};
  RSC_ASSERT(n->attr.pool.kind == POOL_MAX || n->attr.pool.kind == POOL_AVG);
  return words[n->attr.pool.kind][n->attr.pool.global];
}
