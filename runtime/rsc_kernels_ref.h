/*
 * rsc_kernels_ref.h - every kernel's plain scalar twin (the test oracle).
 *
 * Each twin has the signature of its kernel's whole layer plus the suffix
 * _ref, reads the SAME packed layouts, and is written as the most obvious
 * nested loops with one output element at a time, so that a reader can check
 * it against the layout comments of its family's header by eye. Speed is no
 * concern here. May be included with or without rsc_kernels.h; all static
 * inline, so a program may use any subset without unused-function warnings.
 * Needs <math.h>, <stddef.h> and <stdlib.h>.
 */
#ifndef RSC_KERNELS_REF_H
#define RSC_KERNELS_REF_H

#include "rsc_vec_ref.h"
#include "rsc_conv_ref.h"
#include "rsc_conv_bf16_ref.h"
#include "rsc_wino_ref.h"
#include "rsc_pool_ref.h"
#include "rsc_dense_ref.h"
#include "rsc_entry_ref.h"

#endif /* RSC_KERNELS_REF_H */
