/* Writing an el_graph back out: as a binary GraphDef (.pb), or as a TF.js
 * graph model (model.json + one weights shard). Together with the loaders
 * this is `edgelens convert`: pb -> json -> pb gives the same graph (names,
 * ops, inputs, devices, every attr, every Const bit for bit).
 *
 * Both writers only read the graph. Files are written next to their final
 * name and renamed into place, so a failure leaves no partial file and the
 * output may be the very file the graph was mapped from. */
#ifndef EL_FORMAT_GRAPHDEF_WRITE_H
#define EL_FORMAT_GRAPHDEF_WRITE_H

#include <stddef.h>

#include "edgelens/status.h"
#include "format/tfjs.h"
#include "graph/graph.h"

/* The graph as a binary GraphDef: nodes in graph order, attrs sorted by
 * name (TensorFlow's deterministic map order), Const tensors as
 * tensor_content (string tensors as string_val), repeated scalars packed.
 * On success *out is malloc'ed and owned by the caller (free). */
el_status el_graphdef_serialize(const el_graph *g, unsigned char **out, size_t *len);

/* el_graphdef_serialize into the file `path`. */
el_status el_graphdef_write(const el_graph *g, const char *path);

/* Name of the weights shard el_tfjs_write puts next to json_path:
 * "group1-shard1of1.bin" (the TF.js converter's name) for model.json, else
 * "<stem>.bin" so that several models can share a directory. */
const char *el_tfjs_shard_name(const char *json_path, char *buf, size_t cap);

/* The graph as a TF.js graph model: json_path and its shard (see
 * el_tfjs_shard_name). Every Const becomes an unquantized weight in
 * tfjs-core's dtypes, as the TF.js converter writes them: float32, int32,
 * bool, string; float16 Consts and float64 Consts whose values float32
 * holds exactly are stored as float32, int64 Consts that fit as int32, the
 * narrow ints as int32 (the loader converts them back to the Const's dtype).
 * A Const no TF.js dtype holds exactly (a float64 needing double precision,
 * an int64 beyond int32) keeps its value inline in the JSON as
 * tensorContent: edgelens reads it back exactly, TF.js itself would not.
 * `sig` (may be NULL) is written as the signature; when NULL, the
 * Placeholders are listed as inputs and nodes nothing consumes (other than
 * NoOp, Assert and Const) as outputs. */
el_status el_tfjs_write(const el_graph *g, const el_tfjs_signature *sig, const char *json_path);

#endif
