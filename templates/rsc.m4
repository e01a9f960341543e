m4_dnl rsc.m4 - the formatting macros of generated models. rsc (emit.c) decides
m4_dnl everything and writes a driver that calls these macros once per table row,
m4_dnl kernel and layer; this file only turns those calls into C text.
m4_dnl
m4_dnl Conventions: run as `m4 -P -E` with quotes changed to <| |> (C text never
m4_dnl contains them) and comments off, so C passes through untouched. Every
m4_dnl argument that is not a number or identifier arrives quoted. Each public
m4_dnl macro checks its arity. Output goes into numbered diversions that
m4_dnl model.c.m4 pastes in order:
m4_dnl   1 weight offset table   2 arena offset table   3 kernels   4 run body
m4_dnl   5 profile table
m4_divert(-1)

m4_dnl RSC_ARITY(macro, expected, $#): stop m4 (exit 1) on a wrong argument count.
m4_define(<|RSC_ARITY|>, <|m4_ifelse(<|$2|>, <|$3|>, ,
  <|m4_errprint(<|rsc.m4: $1 takes $2 arguments, got $3
|>)m4_m4exit(1)|>)|>)

m4_dnl RSC_WEIGHT(ident, offset_floats, description): one row of the weights table.
m4_define(<|RSC_WEIGHT|>, <|RSC_ARITY(<|RSC_WEIGHT|>, 3, $#)m4_divert(1)  W_$1 = $2, /* $3 */
m4_divert(-1)|>)

m4_dnl RSC_ARENA(ident, offset_floats, description): one row of the arena table.
m4_define(<|RSC_ARENA|>, <|RSC_ARITY(<|RSC_ARENA|>, 3, $#)m4_divert(2)  A_$1 = $2, /* $3 */
m4_divert(-1)|>)

m4_dnl RSC_KERNEL(name, description, params, runtime call): one shape-specialised
m4_dnl kernel; the runtime call has only constants besides the parameters.
m4_define(<|RSC_KERNEL|>, <|RSC_ARITY(<|RSC_KERNEL|>, 4, $#)m4_divert(3)
/* $2 */
static void k_$1($3)
{
  $4;
}
m4_divert(-1)|>)

m4_dnl RSC_TRACE(timm name, output expression, floats): hands the layer's output
m4_dnl to the trace hook; the macro it expands to is empty unless <PREFIX>_TRACE is
m4_dnl defined (model.c.m4).
m4_define(<|RSC_TRACE|>, <|RSC_ARITY(<|RSC_TRACE|>, 3, $#)m4_divert(4)  RSC_UPREFIX<||>_TRACE_LAYER("$1", $2, $3);
m4_divert(-1)|>)

m4_dnl RSC_PROFILE(timm name, MACs): one row of the -D<PREFIX>_PROFILE layer table
m4_dnl (diversion 5, pasted inside an #ifdef by model.c.m4), in layer order.
m4_define(<|RSC_PROFILE|>, <|RSC_ARITY(<|RSC_PROFILE|>, 2, $#)m4_divert(5)  {"$1", $2},
m4_divert(-1)|>)

m4_dnl RSC_LAYER(provenance, kernel, args): one step of the body: this thread's
m4_dnl part of the layer, then the team's barrier (none for a lone thread).
m4_define(<|RSC_LAYER|>, <|RSC_ARITY(<|RSC_LAYER|>, 3, $#)m4_divert(4)  /* $1 */
  k_$2($3, part, parts);
  if (parts > 1)
    RSC_PREFIX<||>_sync(m);
m4_divert(-1)|>)
