/*
 * export.c - rsc --export-weights: writes the weights as imported (timm
 * state_dict names, PyTorch layouts, float32), before BN folding, the entry's
 * preprocessing or packing touch them. That is the form every importer
 * converts to, so a Keras .h5 converted once can be diffed against a timm
 * checkpoint, loaded by PyTorch, or given back to rsc --weights, which then
 * produces the identical .weights blob.
 *
 * safetensors: u64 little-endian header length N, N bytes of JSON (padded
 * with spaces to a multiple of 8, so the data is aligned), then the data.
 * Tensors appear in graph declaration order, header and data alike, so the
 * file is byte-identical for identical weights.
 */
#include "rsc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void weights_export_safetensors(const Graph *g, StrBuf *out) {
  cJSON *root = cJSON_CreateObject();
  cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
  cJSON_AddStringToObject(meta, "format", "pt");
  cJSON_AddStringToObject(meta, "producer", "rsc " RSC_VERSION);
  size_t off = 0;
  for (int i = 0; i < g->ntensors; i++) {
    const Tensor *t = &g->tensors[i];
    RSC_ASSERT(t->data);
    cJSON *e = cJSON_AddObjectToObject(root, t->name);
    cJSON_AddStringToObject(e, "dtype", "F32");
    cJSON *shape = cJSON_AddArrayToObject(e, "shape");
    for (int k = 0; k < t->ndim; k++)
      cJSON_AddItemToArray(shape, cJSON_CreateNumber(t->dims[k]));
    size_t bytes = tensor_elems(t) * 4;
    cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
    off += bytes;
  }
  char *json = cJSON_PrintUnformatted(root);
  RSC_ASSERT(json);
  size_t n = strlen(json), padded = (n + 7) / 8 * 8;
  unsigned char len[8];
  for (int k = 0; k < 8; k++)
    len[k] = (unsigned char)((uint64_t)padded >> (8 * k));
  sb_putn(out, (const char *)len, 8);
  sb_putn(out, json, n);
  for (size_t k = n; k < padded; k++)
    sb_putn(out, " ", 1);
  /* One allocation for the data (770 MB for RS-420), then little-endian floats. */
  size_t need;
  RSC_ASSERT(size_add(out->len, off, &need) && size_add(need, 1, &need));
  if (need > out->cap) {
    out->buf = xrealloc(out->buf, need);
    out->cap = need;
  }
  unsigned char *p = (unsigned char *)out->buf + out->len;
  for (int i = 0; i < g->ntensors; i++) {
    const Tensor *t = &g->tensors[i];
    size_t m = tensor_elems(t);
    for (size_t k = 0; k < m; k++, p += 4) {
      uint32_t u;
      memcpy(&u, &t->data[k], 4);
      p[0] = (unsigned char)u;
      p[1] = (unsigned char)(u >> 8);
      p[2] = (unsigned char)(u >> 16);
      p[3] = (unsigned char)(u >> 24);
    }
  }
  out->len += off;
  out->buf[out->len] = '\0';
  free(json);
  cJSON_Delete(root);
}
