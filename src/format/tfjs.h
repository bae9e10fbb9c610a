/* TensorFlow.js graph models: model.json (the GraphDef as protobuf JSON, the
 * signature, the weights manifest) and its binary weight shards, loaded into
 * the same el_graph a frozen .pb gives.
 *
 * TF.js keeps every Const's value out of the JSON: a Const node carries only
 * its dtype and shape, and the weights manifest lists the values, in order,
 * as bytes of the concatenated shards of each group. Weights may be
 * quantized (uint8/uint16 with min and scale, or float16); they are
 * dequantized on load exactly as tfjs-core's decodeWeights does, so a
 * loaded graph holds the same float32/int32 values TF.js computes with. */
#ifndef EL_FORMAT_TFJS_H
#define EL_FORMAT_TFJS_H

#include <stdbool.h>
#include <stddef.h>

#include "edgelens/engine.h"
#include "edgelens/status.h"
#include "graph/graph.h"

/* Bounds on outside data: model.json size (cJSON bounds the nesting at
 * CJSON_NESTING_LIMIT), and the bytes of one weight group's shards. */
#define EL_TFJS_MAX_JSON ((size_t)64 << 20)
#define EL_TFJS_MAX_GROUP_BYTES ((size_t)2 << 30)

/* One tensor of a model's signature. */
typedef struct el_tfjs_tensor_info {
    const char *key;  /* the signature's map key, e.g. "input_tensor:0" */
    const char *name; /* tensor name "node" or "node:k" (the "name" field; the key when absent) */
    el_dtype dtype;   /* EL_DT_INVALID when not given */
    el_shape shape;   /* rank -1 when not given; a dim of -1 is unknown */
} el_tfjs_tensor_info;

/* The "signature" of model.json: inputs and outputs in file order. Either
 * list may be empty (faceboxes gives only outputs; a model without a
 * signature gives neither). */
typedef struct el_tfjs_signature {
    int ninputs;
    el_tfjs_tensor_info *inputs;
    int noutputs;
    el_tfjs_tensor_info *outputs;
} el_tfjs_signature;

/* Loads model.json and its shards. On success the caller owns *out
 * (el_graph_free); on failure *out is NULL and the message names the file
 * (model.json or the shard), the node or weight, and what was wrong. Paths
 * in the manifest are relative to model.json's directory; absolute paths
 * and ".." components are refused. */
el_status el_tfjs_load(const char *model_json_path, el_graph **out);

/* Same, also returning the signature (sig may be NULL). On success the
 * caller owns *sig (el_tfjs_signature_free); on failure both are NULL. */
el_status el_tfjs_open(const char *model_json_path, el_graph **graph, el_tfjs_signature **sig);

/* Only the signature: parses model.json, reads no shard. */
el_status el_tfjs_read_signature(const char *model_json_path, el_tfjs_signature **out);

/* The signature of a model path as el_model_open takes it (a model.json, or
 * a directory holding one): *out is NULL, with EL_OK, when the path is not
 * a TF.js model (a .pb, a package, a directory without model.json). */
el_status el_tfjs_model_signature(const char *model_path, el_tfjs_signature **out);

void el_tfjs_signature_free(el_tfjs_signature *sig);

/* Tensor info by tensor name ("x" and "x:0" are the same tensor); NULL when
 * absent. */
const el_tfjs_tensor_info *el_tfjs_signature_find(const el_tfjs_tensor_info *list, int n, const char *name);

/* The TF.js graph model of a directory: model.json, else the directory's
 * only *.json file holding a "modelTopology". *found is false (EL_OK) when
 * there is none; several candidates are an error naming them. out gets the
 * full path. */
el_status el_tfjs_find_in_dir(const char *dir, char *out, size_t cap, bool *found);

/* True when path names a .json file (by its extension). */
bool el_tfjs_is_json_path(const char *path);

/* DataType <-> protobuf JSON enum names ("DT_FLOAT", "DT_INT32_REF", ...).
 * el_tfjs_dtype_name returns NULL for a value without a name. */
const char *el_tfjs_dtype_name(int dt);
bool el_tfjs_dtype_from_name(const char *s, int *out);

#endif
