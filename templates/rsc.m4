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

m4_dnl RSC_TRACE(timm name, output expression, floats): hands the layer's output
m4_dnl to the trace hook; the macro it expands to is empty unless <PREFIX>_TRACE is
m4_dnl defined (model.c.m4).
m4_define(<|RSC_TRACE|>, <|RSC_ARITY(<|RSC_TRACE|>, 3, $#)m4_divert(4)  RSC_UPREFIX<||>_TRACE_LAYER("$1", $2, $3);
m4_divert(-1)|>)

m4_dnl RSC_PROFILE(timm name, MACs): one row of the -D<PREFIX>_PROFILE layer table
m4_dnl (diversion 5, pasted inside an #ifdef by model.c.m4), in layer order.
m4_define(<|RSC_PROFILE|>, <|RSC_ARITY(<|RSC_PROFILE|>, 2, $#)m4_divert(5)  {"$1", $2},
m4_divert(-1)|>)

m4_dnl ---- a layer's arguments: the buffers it reads and writes, by name ----
m4_dnl RSC_BUF_INPUT, RSC_BUF_OUTPUT: the run's input and output. RSC_BUF_ARENA(ident):
m4_dnl an activation's slot (arena table row A_ident). RSC_BUF_WEIGHT(ident): a packed
m4_dnl tensor (weights table row W_ident). RSC_BUF_SCRATCH(offset): the SE scratch,
m4_dnl offset floats in (empty: its start). RSC_BUF_ENDPOINT(NAME): the caller's buffer
m4_dnl for endpoint NAME in this run (NULL: not asked for). RSC_TEAM_SYNC: the team's
m4_dnl barrier as the SE kernel takes it, callback and context.
m4_define(<|RSC_BUF_INPUT|>, <|input|>)
m4_define(<|RSC_BUF_OUTPUT|>, <|output|>)
m4_define(<|RSC_BUF_ARENA|>, <|RSC_ARITY(<|RSC_BUF_ARENA|>, 1, $#)a + A_$1|>)
m4_define(<|RSC_BUF_WEIGHT|>, <|RSC_ARITY(<|RSC_BUF_WEIGHT|>, 1, $#)w + W_$1|>)
m4_define(<|RSC_BUF_SCRATCH|>, <|RSC_ARITY(<|RSC_BUF_SCRATCH|>, 1, $#)a + A_SCRATCH<||>m4_ifelse(<|$1|>, , , <| + $1|>)|>)
m4_define(<|RSC_BUF_ENDPOINT|>, <|RSC_ARITY(<|RSC_BUF_ENDPOINT|>, 1, $#)m->out[RSC_UPREFIX<||>_OUT_$1]|>)
m4_define(<|RSC_TEAM_SYNC|>, <|rsc_team_sync, &m->team|>)

m4_dnl RSC_LAYER(provenance, kernel, args): one step of the body: this thread's
m4_dnl part of the layer, then the team's barrier (none for a lone thread).
m4_define(<|RSC_LAYER|>, <|RSC_ARITY(<|RSC_LAYER|>, 3, $#)m4_divert(4)  /* $1 */
  k_$2($3, part, parts);
  if (parts > 1)
    rsc_team_sync(&m->team);
m4_divert(-1)|>)

m4_dnl ---- kernels: one macro per kernel family, one call per layer shape ----
m4_dnl Each states the shape-specialised kernel k_<name> (emit.c names it and
m4_dnl gives the provenance text), whose body calls the runtime with nothing but
m4_dnl constants besides the pointers and part / parts; the arguments are the
m4_dnl runtime parameters of the same names (runtime/rsc_<family>.h), written
m4_dnl with their names beside them. A kernel that does not split its work runs
m4_dnl on part 0 while the others go on to the layer's barrier (RSC_KPART0).

m4_dnl RSC_KDEF_(name, description, params, body[, attributes]): the function, in
m4_dnl diversion 3.
m4_define(<|RSC_KDEF_|>, <|m4_divert(3)
/* $2 */
$5<||>static void k_$1($3, int part, int parts)
{
$4
}
m4_divert(-1)|>)
m4_define(<|RSC_KPART0|>, <|  (void)parts;
  if (part != 0)
    return;
|>)
m4_define(<|RSC_KP_UNARY|>, <|const float *restrict in, float *restrict out|>)
m4_define(<|RSC_KP_WB|>, <|const float *restrict in, const float *restrict w, const float *restrict b, float *restrict out|>)

m4_dnl RSC_K_CONV(name, description, pooled, PC, N, H, W, C, OH, OW, K, KH, KW, SH, SW,
m4_dnl          PT, PL, KB, NP, KG, NX, XP, TG, TC, act): rsc_conv2d_part; pooled 1:
m4_dnl the kernel also writes its SE's pool (parameter `pool`).
m4_define(<|RSC_K_CONV|>, <|RSC_ARITY(<|RSC_K_CONV|>, 25, $#)RSC_KDEF_(<|$1|>, <|$2|>,
  <|RSC_KP_WB<||>m4_ifelse($3, 1, <|, float *restrict pool|>)|>,
<|  rsc_conv2d_part(in, w, b, out, m4_ifelse($3, 1, <|pool|>, <|NULL|>), /* PC */ $4,
                  /* N, H, W, C */ $5, $6, $7, $8, /* OH, OW, K */ $9, $10, $11,
                  /* KH, KW, SH, SW, PT, PL */ $12, $13, $14, $15, $16, $17,
                  /* KB, NP, KG, NX, XP, TG, TC */ $18, $19, $20, $21, $22, $23, $24,
                  $25, part, parts);|>)|>)

m4_dnl RSC_K_CONV_BF16(name, description, pooled, PC, N, H, W, C, OH, OW, K, KH, KW,
m4_dnl          SH, SW, PT, PL, KB, NP, KG, act): rsc_conv2d_bf16_part (LAYOUT_CONV_BF16
m4_dnl weights), in a wrapper compiled for AVX512-BF16 (RSC_BF16_FN).
m4_define(<|RSC_K_CONV_BF16|>, <|RSC_ARITY(<|RSC_K_CONV_BF16|>, 21, $#)RSC_KDEF_(<|$1|>, <|$2|>,
  <|RSC_KP_WB<||>m4_ifelse($3, 1, <|, float *restrict pool|>)|>,
<|  rsc_conv2d_bf16_part(in, w, b, out, m4_ifelse($3, 1, <|pool|>, <|NULL|>), /* PC */ $4,
                       /* N, H, W, C */ $5, $6, $7, $8, /* OH, OW, K */ $9, $10, $11,
                       /* KH, KW, SH, SW, PT, PL */ $12, $13, $14, $15, $16, $17,
                       /* KB, NP, KG */ $18, $19, $20, $21, part, parts);|>, <|RSC_BF16_FN |>)|>)

m4_dnl RSC_K_WINO(name, description, N, H, W, C, K, KB, NT, act): rsc_wino_part.
m4_define(<|RSC_K_WINO|>, <|RSC_ARITY(<|RSC_K_WINO|>, 10, $#)RSC_KDEF_(<|$1|>, <|$2|>, <|RSC_KP_WB|>,
<|  rsc_wino_part(in, w, b, out, /* N, H, W, C */ $3, $4, $5, $6, /* K, KB, NT */ $7, $8, $9,
                $10, part, parts);|>)|>)

m4_dnl RSC_K_POOL(name, description, kind, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL):
m4_dnl rsc_<kind>_part, kind maxpool or avgpool.
m4_define(<|RSC_K_POOL|>, <|RSC_ARITY(<|RSC_K_POOL|>, 15, $#)RSC_KDEF_(<|$1|>, <|$2|>, <|RSC_KP_UNARY|>,
<|  rsc_$3_part(in, out, /* N, H, W, C */ $4, $5, $6, $7, /* OH, OW */ $8, $9,
                   /* KH, KW, SH, SW, PT, PL */ $10, $11, $12, $13, $14, $15, part, parts);|>)|>)

m4_dnl RSC_K_GLOBAL_POOL(name, description, kind, N, HW, C): rsc_<kind>, kind
m4_dnl global_avgpool or global_maxpool, on part 0.
m4_define(<|RSC_K_GLOBAL_POOL|>, <|RSC_ARITY(<|RSC_K_GLOBAL_POOL|>, 6, $#)RSC_KDEF_(<|$1|>, <|$2|>, <|RSC_KP_UNARY|>,
<|RSC_KPART0<||>  rsc_$3(in, out, /* N, HW, C */ $4, $5, $6);|>)|>)

m4_dnl RSC_K_DENSE(name, description, N, CIN, K, KB, act): rsc_dense_part.
m4_define(<|RSC_K_DENSE|>, <|RSC_ARITY(<|RSC_K_DENSE|>, 7, $#)RSC_KDEF_(<|$1|>, <|$2|>, <|RSC_KP_WB|>,
<|  rsc_dense_part(in, w, b, out, /* N, CIN, K, KB */ $3, $4, $5, $6, $7, part, parts);|>)|>)

m4_dnl RSC_K_ADD(name, description, n, act): rsc_add_act_part over n floats.
m4_define(<|RSC_K_ADD|>, <|RSC_ARITY(<|RSC_K_ADD|>, 4, $#)RSC_KDEF_(<|$1|>, <|$2|>,
  <|const float *restrict x, const float *restrict y, float *restrict out|>,
<|  rsc_add_act_part(x, y, out, /* n */ $3, $4, part, parts);|>)|>)

m4_dnl RSC_K_SE_ADD(name, description, pool offset (empty: pool x here), PC, N, HW, C,
m4_dnl            M, KB, act): rsc_se_add_part; out may share a buffer with x or sc
m4_dnl (plan.c's in place), hence no restrict on them.
m4_define(<|RSC_K_SE_ADD|>, <|RSC_ARITY(<|RSC_K_SE_ADD|>, 10, $#)RSC_KDEF_(<|$1|>, <|$2|>,
  <|const float *x, const float *sc, const float *restrict w1, const float *restrict b1, const float *restrict w2, const float *restrict b2, float *out, float *restrict scratch, void (*sync)(void *), void *ctx|>,
<|  rsc_se_add_part(x, sc, w1, b1, w2, b2, out, scratch, m4_ifelse(<|$3|>, , <|NULL|>, <|scratch + $3|>),
                  /* PC, N, HW, C, M, KB */ $4, $5, $6, $7, $8, $9, $10, part, parts, sync, ctx);|>)|>)

m4_dnl RSC_K_SOFTMAX(name, description, n, N, K): a copy of the n = N * K floats,
m4_dnl then rsc_softmax in place.
m4_define(<|RSC_K_SOFTMAX|>, <|RSC_ARITY(<|RSC_K_SOFTMAX|>, 5, $#)RSC_KDEF_(<|$1|>, <|$2|>, <|RSC_KP_UNARY|>,
<|RSC_KPART0<||>  memcpy(out, in, $3 * sizeof *out);
  rsc_softmax(out, /* N, K */ $4, $5);|>)|>)

m4_dnl RSC_K_ENTRY(name, description, type, N, H, W, C, nchw, shift): rsc_entry_<type>
m4_dnl (u8 or f32); shift: the per-channel shift's C float literals, or empty.
m4_define(<|RSC_K_ENTRY|>, <|RSC_ARITY(<|RSC_K_ENTRY|>, 9, $#)RSC_KDEF_(<|$1|>, <|$2|>,
  <|m4_ifelse($3, u8, <|const uint8_t *restrict in, float *restrict out|>, <|RSC_KP_UNARY|>)|>,
<|RSC_KPART0<||>m4_ifelse(<|$9|>, , , <|  static const float shift[$7] = {$9};
|>)  rsc_entry_$3(in, out, /* N, H, W, C */ $4, $5, $6, $7, /* nchw */ $8, m4_ifelse(<|$9|>, , <|NULL|>, <|shift|>));|>)|>)

m4_dnl RSC_K_COPY(n): k_copy_<n>, a copy of n floats to a caller's buffer (an
m4_dnl endpoint of P_run_outputs), split over the parts; none when out is NULL.
m4_define(<|RSC_K_COPY|>, <|RSC_ARITY(<|RSC_K_COPY|>, 1, $#)RSC_KDEF_(<|copy_$1|>, <|copy of $1 floats to a caller's buffer|>,
  <|RSC_KP_UNARY|>,
<|  if (!out)
    return; /* not asked for */
  const size_t lo = (size_t)$1 * (size_t)part / (size_t)parts, hi = (size_t)$1 * (size_t)(part + 1) / (size_t)parts;
  memcpy(out + lo, in + lo, (hi - lo) * sizeof *out);|>)|>)
