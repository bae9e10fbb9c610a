/* TF.js graph model loader: model.json + weight shards -> el_graph.
 *
 * model.json is {"format": "graph-model", "modelTopology": <GraphDef as
 * protobuf JSON>, "signature": {...}, "weightsManifest": [...]}. The
 * GraphDef JSON follows protobuf's JSON mapping (what the TF.js converter
 * writes with MessageToDict): camelCase field names (the proto names are
 * accepted too), int64 as decimal strings, bytes as base64, enums by name,
 * fields at their default value omitted (a dim without "size" is 0, a tensor
 * without "tensorShape" a scalar).
 *
 * Everything read is bounded: the JSON by EL_TFJS_MAX_JSON and cJSON's
 * nesting limit, a group's shards by EL_TFJS_MAX_GROUP_BYTES, every weight
 * by the bytes actually present in its group, Consts expanded from a few
 * values (TensorFlow's fill rule) by EL_TFJS_MAX_FILL_BYTES in total. */
#include "format/tfjs.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/broadcast.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "TF.js weight shards and tensorContent are little-endian; a big-endian host needs byte swapping here"
#endif

#define EL_TFJS_MAX_FILL_BYTES ((size_t)256 << 20)
#define EL_TFJS_MAX_NODES (1 << 24)
/* DataType values are below 30; 101.. are the _REF variants. */
#define EL_TFJS_MAX_DTYPE 200

typedef struct tj {
    el_graph *g;
    const char *path; /* model.json, for messages */
    char dir[PATH_MAX];
    size_t fill_bytes;
    bool *has_weight; /* per node: value came from the manifest */
} tj;

static const char tj_empty[1] = "";

/* ------------------------------------------------------------ dtypes */

static const char *const tj_dtype_names[] = {
    "DT_INVALID", "DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16", "DT_INT8", "DT_STRING",
    "DT_COMPLEX64", "DT_INT64", "DT_BOOL", "DT_QINT8", "DT_QUINT8", "DT_QINT32", "DT_BFLOAT16", "DT_QINT16",
    "DT_QUINT16", "DT_UINT16", "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT", "DT_UINT32", "DT_UINT64",
};
#define TJ_NDTYPES ((int)(sizeof tj_dtype_names / sizeof tj_dtype_names[0]))

const char *el_tfjs_dtype_name(int dt)
{
    static const char *const refs[] = {
        NULL, "DT_FLOAT_REF", "DT_DOUBLE_REF", "DT_INT32_REF", "DT_UINT8_REF", "DT_INT16_REF", "DT_INT8_REF",
        "DT_STRING_REF", "DT_COMPLEX64_REF", "DT_INT64_REF", "DT_BOOL_REF", "DT_QINT8_REF", "DT_QUINT8_REF",
        "DT_QINT32_REF", "DT_BFLOAT16_REF", "DT_QINT16_REF", "DT_QUINT16_REF", "DT_UINT16_REF",
        "DT_COMPLEX128_REF", "DT_HALF_REF", "DT_RESOURCE_REF", "DT_VARIANT_REF", "DT_UINT32_REF",
        "DT_UINT64_REF",
    };
    if (dt >= 0 && dt < TJ_NDTYPES) return tj_dtype_names[dt];
    if (dt > 100 && dt - 100 < TJ_NDTYPES) return refs[dt - 100];
    return NULL;
}

bool el_tfjs_dtype_from_name(const char *s, int *out)
{
    for (int i = 0; i < TJ_NDTYPES; i++) {
        size_t n = strlen(tj_dtype_names[i]);
        if (strncmp(s, tj_dtype_names[i], n) != 0) continue;
        if (s[n] == '\0') {
            *out = i;
            return true;
        }
        if (i > 0 && strcmp(s + n, "_REF") == 0) {
            *out = i + 100;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ helpers */

static const char *tj_kind(const cJSON *v)
{
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

static el_status tj_want(const cJSON *v, cJSON_bool ok, const char *what, const char *want)
{
    if (ok) return EL_OK;
    return el_error(EL_ERR_FORMAT, "'%s' should be %s, found %s", what, want, tj_kind(v));
}

#define TJ_WANT_OBJ(v, what) tj_want((v), cJSON_IsObject(v), (what), "an object")
#define TJ_WANT_ARR(v, what) tj_want((v), cJSON_IsArray(v), (what), "an array")
#define TJ_WANT_STR(v, what) tj_want((v), cJSON_IsString(v) && (v)->valuestring, (what), "a string")

/* A field by its protobuf JSON name, else by its proto name. */
static const cJSON *tj_field(const cJSON *o, const char *json_name, const char *proto_name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, json_name);
    if (!v && proto_name) v = cJSON_GetObjectItemCaseSensitive(o, proto_name);
    return v;
}

/* int64 as protobuf JSON writes it (a decimal string) or as a number that
 * is exactly an integer. */
static el_status tj_int64(const cJSON *v, const char *what, int64_t *out)
{
    if (cJSON_IsString(v) && v->valuestring) {
        const char *s = v->valuestring;
        bool neg = *s == '-';
        if (neg) s++;
        if (!*s) return el_error(EL_ERR_FORMAT, "'%s' is \"%s\", not an integer", what, v->valuestring);
        uint64_t acc = 0;
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return el_error(EL_ERR_FORMAT, "'%s' is \"%.40s\", not an integer", what, v->valuestring);
            if (acc > (UINT64_MAX - 9) / 10)
                return el_error(EL_ERR_FORMAT, "'%s' (\"%.40s\") does not fit 64 bits", what, v->valuestring);
            acc = acc * 10 + (uint64_t)(*s - '0');
        }
        if (acc > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
            return el_error(EL_ERR_FORMAT, "'%s' (\"%.40s\") does not fit 64 bits", what, v->valuestring);
        *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
        return EL_OK;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
            return el_error(EL_ERR_FORMAT, "'%s' is %g, not a 64-bit integer", what, d);
        *out = (int64_t)d;
        return EL_OK;
    }
    return el_error(EL_ERR_FORMAT, "'%s' should be an integer, found %s", what, tj_kind(v));
}

/* float/double: a number, or the strings protobuf JSON uses ("NaN",
 * "Infinity", "-Infinity", or a number in quotes). */
static el_status tj_double(const cJSON *v, const char *what, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return EL_OK;
    }
    if (cJSON_IsString(v) && v->valuestring) {
        const char *s = v->valuestring;
        if (!strcmp(s, "NaN")) *out = NAN;
        else if (!strcmp(s, "Infinity")) *out = INFINITY;
        else if (!strcmp(s, "-Infinity")) *out = -INFINITY;
        else {
            char *end = NULL;
            errno = 0;
            double d = strtod(s, &end);
            /* strtod also takes "inf", "nan", hex and spaces; JSON numbers are plain decimals. */
            bool plain = *s && strspn(s, "0123456789+-.eE") == strlen(s);
            if (!plain || !end || *end) return el_error(EL_ERR_FORMAT, "'%s' is \"%.40s\", not a number", what, s);
            *out = d;
        }
        return EL_OK;
    }
    return el_error(EL_ERR_FORMAT, "'%s' should be a number, found %s", what, tj_kind(v));
}

static el_status tj_bool(const cJSON *v, const char *what, bool *out)
{
    if (!cJSON_IsBool(v)) return el_error(EL_ERR_FORMAT, "'%s' should be true or false, found %s", what, tj_kind(v));
    *out = cJSON_IsTrue(v);
    return EL_OK;
}

/* A DataType: its enum name or its number. */
static el_status tj_dtype(const cJSON *v, const char *what, el_dtype *out)
{
    int dt = 0;
    if (cJSON_IsString(v) && v->valuestring) {
        if (!el_tfjs_dtype_from_name(v->valuestring, &dt))
            return el_error(EL_ERR_FORMAT, "'%s' is \"%.40s\", not a DataType", what, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        int64_t i = 0;
        EL_TRY(tj_int64(v, what, &i));
        if (i < 0 || i > EL_TFJS_MAX_DTYPE)
            return el_error(EL_ERR_FORMAT, "'%s' is %lld, not a DataType", what, (long long)i);
        dt = (int)i;
    } else {
        return el_error(EL_ERR_FORMAT, "'%s' should be a DataType name, found %s", what, tj_kind(v));
    }
    *out = (el_dtype)dt;
    return EL_OK;
}

static int tj_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62; /* standard and URL-safe alphabets */
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Base64 (protobuf JSON's bytes; padding optional, both alphabets) into the
 * graph's arena, NUL-terminated. */
static el_status tj_b64(tj *t, const cJSON *v, const char *what, const char **out, size_t *len)
{
    EL_TRY(TJ_WANT_STR(v, what));
    const char *s = v->valuestring;
    size_t n = strlen(s);
    while (n && s[n - 1] == '=') n--;
    if (strlen(s) - n > 2 || n % 4 == 1)
        return el_error(EL_ERR_FORMAT, "'%s' is not valid base64 (length %zu)", what, strlen(s));
    size_t cap = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    char *d = NULL;
    EL_TRY(el_graph_alloc(t->g, cap + 1, &d));
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int x = tj_b64_value((unsigned char)s[i]);
        if (x < 0)
            return el_error(EL_ERR_FORMAT, "'%s' is not valid base64: character %zu is 0x%02x", what, i,
                            (unsigned char)s[i]);
        acc = (acc << 6) | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[o++] = (char)((acc >> bits) & 0xffu);
        }
    }
    d[o] = '\0';
    *out = d;
    *len = o;
    return EL_OK;
}

/* A name (node, op, input, attr key): non-empty. */
static el_status tj_name(tj *t, const cJSON *v, const char *what, const char **out)
{
    EL_TRY(TJ_WANT_STR(v, what));
    size_t n = strlen(v->valuestring);
    if (n == 0) return el_error(EL_ERR_FORMAT, "'%s' is empty", what);
    return el_graph_strdup(t->g, v->valuestring, n, out);
}

/* ------------------------------------------------------------ shapes */

/* TensorShapeProto {"dim": [{"size": "3"}], "unknownRank": true}. Attrs may
 * leave dims (-1) or the rank unknown; a tensor's shape must be known. */
static el_status tj_shape(const cJSON *o, bool allow_unknown, el_shape *out)
{
    memset(out, 0, sizeof *out);
    EL_TRY(TJ_WANT_OBJ(o, "shape"));
    const cJSON *dims = tj_field(o, "dim", NULL);
    const cJSON *ur = tj_field(o, "unknownRank", "unknown_rank");
    bool unknown = false;
    if (ur) EL_TRY(tj_bool(ur, "unknownRank", &unknown));
    int rank = 0;
    if (dims) {
        EL_TRY(TJ_WANT_ARR(dims, "dim"));
        const cJSON *d;
        cJSON_ArrayForEach(d, dims)
        {
            EL_TRY(TJ_WANT_OBJ(d, "dim"));
            if (rank == EL_MAX_DIMS)
                return el_error(EL_ERR_UNSUPPORTED, "shape has more than %d dimensions", EL_MAX_DIMS);
            int64_t size = 0; /* proto3: an omitted size is 0 */
            const cJSON *sz = tj_field(d, "size", NULL);
            if (sz) EL_TRY(tj_int64(sz, "size", &size));
            if (size < -1)
                return el_error(EL_ERR_FORMAT, "dimension %d is %lld, expected >= -1", rank, (long long)size);
            if (size == -1 && !allow_unknown)
                return el_error(EL_ERR_FORMAT, "dimension %d is unknown (-1) in a tensor's shape", rank);
            out->dims[rank++] = size;
        }
    }
    if (unknown) {
        if (rank) return el_error(EL_ERR_FORMAT, "shape has unknownRank set and %d dimensions", rank);
        if (!allow_unknown) return el_error(EL_ERR_FORMAT, "a tensor's shape has unknown rank");
        rank = -1;
    }
    out->rank = rank;
    return EL_OK;
}

/* Elements of a fully known shape, bounded so that numel * esize fits
 * EL_TENSOR_MAX_BYTES. */
static el_status tj_numel(int rank, const int64_t *dims, el_dtype dt, size_t esize, uint64_t *out)
{
    char sbuf[160];
    uint64_t numel = 1;
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0) {
            *out = 0;
            return EL_OK;
        }
    for (int i = 0; i < rank; i++) {
        uint64_t d = (uint64_t)dims[i];
        if (numel > (EL_TENSOR_MAX_BYTES / esize) / d)
            return el_error(EL_ERR_NOMEM, "tensor of shape %s (%s) is larger than the %zu-byte limit",
                            el_shape_str(rank, dims, sbuf, sizeof sbuf), el_dtype_name(dt),
                            (size_t)EL_TENSOR_MAX_BYTES);
        numel *= d;
    }
    *out = numel;
    return EL_OK;
}

/* ------------------------------------------------------------ tensors */

/* The repeated field that carries values of a dtype (TensorProto). */
static const char *tj_value_field(el_dtype dt, const char **proto_name)
{
    switch (dt) {
    case EL_DT_FLOAT: *proto_name = "float_val"; return "floatVal";
    case EL_DT_DOUBLE: *proto_name = "double_val"; return "doubleVal";
    case EL_DT_INT32:
    case EL_DT_UINT8:
    case EL_DT_INT16:
    case EL_DT_INT8: *proto_name = "int_val"; return "intVal";
    case EL_DT_INT64: *proto_name = "int64_val"; return "int64Val";
    case EL_DT_BOOL: *proto_name = "bool_val"; return "boolVal";
    case EL_DT_HALF: *proto_name = "half_val"; return "halfVal";
    case EL_DT_STRING: *proto_name = "string_val"; return "stringVal";
    default: *proto_name = NULL; return NULL;
    }
}

/* One element of a typed value field, stored as TensorFlow's ProtoHelper
 * does (a static_cast of the int32 for the narrow ints, the bits of a half). */
static el_status tj_store(tj *t, el_dtype dt, void *data, size_t i, const cJSON *v, const char *what)
{
    unsigned char *p = data;
    switch (dt) {
    case EL_DT_FLOAT: {
        double d = 0;
        EL_TRY(tj_double(v, what, &d));
        float f = (float)d;
        memcpy(p + 4 * i, &f, 4);
        return EL_OK;
    }
    case EL_DT_DOUBLE: {
        double d = 0;
        EL_TRY(tj_double(v, what, &d));
        memcpy(p + 8 * i, &d, 8);
        return EL_OK;
    }
    case EL_DT_BOOL: {
        bool b = false;
        EL_TRY(tj_bool(v, what, &b));
        p[i] = b;
        return EL_OK;
    }
    case EL_DT_STRING: {
        const char *s = NULL;
        size_t n = 0;
        EL_TRY(tj_b64(t, v, what, &s, &n));
        ((el_string *)data)[i] = (el_string){s, n};
        return EL_OK;
    }
    default: break;
    }
    int64_t x = 0;
    EL_TRY(tj_int64(v, what, &x));
    if (dt == EL_DT_INT64) {
        memcpy(p + 8 * i, &x, 8);
        return EL_OK;
    }
    if (x < INT32_MIN || x > (dt == EL_DT_HALF ? 0xffff : INT32_MAX))
        return el_error(EL_ERR_FORMAT, "'%s' value %lld does not fit its 32-bit field", what, (long long)x);
    uint32_t u = (uint32_t)x;
    switch (dt) {
    case EL_DT_INT32: memcpy(p + 4 * i, &u, 4); break;
    case EL_DT_INT16:
    case EL_DT_HALF: {
        uint16_t h = (uint16_t)u;
        memcpy(p + 2 * i, &h, 2);
        break;
    }
    default: p[i] = (unsigned char)u; break; /* uint8, int8 */
    }
    return EL_OK;
}

/* TensorProto JSON -> tensor. With `defer_empty` a tensor that gives no
 * values at all (a TF.js Const, whose value is in the weights manifest) is
 * returned with its dtype and shape but no data (buf NULL) for the weight to
 * fill; otherwise TensorFlow's rule applies (no values: zeros; fewer than
 * the shape holds: the last one repeats). On failure *out is empty. */
static el_status tj_tensor(tj *t, const cJSON *o, bool defer_empty, el_tensor *out)
{
    memset(out, 0, sizeof *out);
    EL_TRY(TJ_WANT_OBJ(o, "tensor"));
    el_dtype dt = EL_DT_INVALID;
    const cJSON *v = tj_field(o, "dtype", NULL);
    if (v) EL_TRY(tj_dtype(v, "dtype", &dt));
    el_shape shape = {0};
    if ((v = tj_field(o, "tensorShape", "tensor_shape")) != NULL) {
        el_status s = tj_shape(v, false, &shape);
        if (s != EL_OK) return el_error_prefix(s, "tensorShape: ");
    }
    const char *pname = NULL;
    const char *vname = tj_value_field(dt, &pname);
    size_t esize = el_dtype_size(dt);
    if (!vname || !esize)
        return el_error(EL_ERR_UNSUPPORTED, "tensors of dtype %s (DataType %d) are not supported",
                        el_tfjs_dtype_name(dt) ? el_tfjs_dtype_name(dt) : "?", (int)dt);
    uint64_t numel = 0;
    EL_TRY(tj_numel(shape.rank, shape.dims, dt, esize, &numel));
    size_t bytes = (size_t)numel * esize;
    char sbuf[160];

    const cJSON *content = tj_field(o, "tensorContent", "tensor_content");
    const cJSON *vals = tj_field(o, vname, pname);
    if (vals) EL_TRY(TJ_WANT_ARR(vals, vname));
    size_t nvals = vals ? (size_t)cJSON_GetArraySize(vals) : 0;
    const char *craw = NULL;
    size_t clen = 0;
    if (content) EL_TRY(tj_b64(t, content, "tensorContent", &craw, &clen));

    if (!clen && !nvals && defer_empty) {
        out->dtype = dt;
        out->ndim = shape.rank;
        for (int i = 0; i < shape.rank; i++) out->dims[i] = shape.dims[i];
        return EL_OK;
    }
    void *data = NULL;
    if (clen) {
        /* TensorFlow reads tensor_content whenever it is non-empty and
         * ignores the typed fields. */
        if (dt == EL_DT_STRING)
            return el_error(EL_ERR_UNSUPPORTED, "string tensors in tensorContent are not supported");
        if (clen != bytes)
            return el_error(EL_ERR_FORMAT, "tensorContent has %zu bytes, but shape %s of %s needs %zu", clen,
                            el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf), el_dtype_name(dt), bytes);
        /* Decoded into a fresh 16-byte-aligned arena block: aligned for any dtype. */
        EL_TRY(el_graph_alloc(t->g, bytes, &data));
        memcpy(data, craw, bytes);
        if (dt == EL_DT_BOOL)
            for (size_t i = 0; i < bytes; i++) ((unsigned char *)data)[i] = ((unsigned char *)data)[i] != 0;
        return el_tensor_wrap(out, dt, shape.rank, shape.dims, data);
    }
    if (nvals > numel)
        return el_error(EL_ERR_FORMAT, "%zu values in %s for shape %s, which has %llu elements", nvals, vname,
                        el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf), (unsigned long long)numel);
    if (nvals < numel) {
        size_t fill = ((size_t)numel - nvals) * esize;
        if (fill > EL_TFJS_MAX_FILL_BYTES - t->fill_bytes)
            return el_error(EL_ERR_LIMIT, "shape %s (%s) from %zu values would expand constants beyond %zu bytes",
                            el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf), el_dtype_name(dt), nvals,
                            (size_t)EL_TFJS_MAX_FILL_BYTES);
        t->fill_bytes += fill;
    }
    EL_TRY(el_graph_alloc(t->g, bytes, &data));
    size_t i = 0;
    const cJSON *e;
    if (vals) {
        cJSON_ArrayForEach(e, vals)
        {
            el_status s = tj_store(t, dt, data, i, e, vname);
            if (s != EL_OK) return el_error_prefix(s, "element %zu: ", i);
            i++;
        }
    }
    if (dt == EL_DT_STRING && nvals == 0) {
        for (size_t k = 0; k < numel; k++) ((el_string *)data)[k] = (el_string){tj_empty, 0};
    } else if (nvals && nvals < numel) {
        unsigned char *p = data;
        for (size_t k = nvals; k < numel; k++) memcpy(p + k * esize, p + (nvals - 1) * esize, esize);
    }
    return el_tensor_wrap(out, dt, shape.rank, shape.dims, data);
}

/* ------------------------------------------------------------ attrs */

static void tj_attr_release(el_attr *a)
{
    if (a->type == EL_ATTR_TENSOR) el_tensor_release(&a->v.tensor);
    if (a->type == EL_ATTR_LIST && a->v.list.elem == EL_ATTR_TENSOR)
        for (int i = 0; i < a->v.list.n; i++) el_tensor_release(&a->v.list.v.tensor[i]);
    a->type = EL_ATTR_NONE;
    memset(&a->v, 0, sizeof a->v);
}

/* NameAttrList: only the function's name is kept. */
static el_status tj_func(tj *t, const cJSON *o, el_string *out)
{
    EL_TRY(TJ_WANT_OBJ(o, "func"));
    const cJSON *n = tj_field(o, "name", NULL);
    if (!n) {
        *out = (el_string){tj_empty, 0};
        return EL_OK;
    }
    EL_TRY(TJ_WANT_STR(n, "func.name"));
    const char *s;
    EL_TRY(el_graph_strdup(t->g, n->valuestring, strlen(n->valuestring), &s));
    *out = (el_string){s, strlen(s)};
    return EL_OK;
}

static const char *const tj_list_keys[] = {"s", "i", "f", "b", "type", "shape", "tensor", "func"};
static const el_attr_type tj_list_types[] = {EL_ATTR_S, EL_ATTR_I, EL_ATTR_F, EL_ATTR_B,
                                             EL_ATTR_TYPE, EL_ATTR_SHAPE, EL_ATTR_TENSOR, EL_ATTR_FUNC};

/* ListValue {"i": ["1", "2"]}: one kind of value (an empty list has none).
 * On failure out->n counts the tensors that need releasing. */
static el_status tj_list(tj *t, const cJSON *o, el_attr_list *out)
{
    memset(out, 0, sizeof *out);
    EL_TRY(TJ_WANT_OBJ(o, "list"));
    int which = -1;
    const cJSON *arr = NULL;
    for (int k = 0; k < (int)(sizeof tj_list_keys / sizeof tj_list_keys[0]); k++) {
        const cJSON *v = tj_field(o, tj_list_keys[k], NULL);
        if (!v) continue;
        EL_TRY(TJ_WANT_ARR(v, tj_list_keys[k]));
        if (cJSON_GetArraySize(v) == 0) continue;
        if (which >= 0)
            return el_error(EL_ERR_FORMAT, "list holds values of two kinds (%s and %s)", tj_list_keys[which],
                            tj_list_keys[k]);
        which = k;
        arr = v;
    }
    if (which < 0) return EL_OK;
    el_attr_type elem = tj_list_types[which];
    size_t n = (size_t)cJSON_GetArraySize(arr);
    size_t esz;
    switch (elem) {
    case EL_ATTR_S:
    case EL_ATTR_FUNC: esz = sizeof(el_string); break;
    case EL_ATTR_I: esz = sizeof(int64_t); break;
    case EL_ATTR_F: esz = sizeof(float); break;
    case EL_ATTR_B: esz = sizeof(bool); break;
    case EL_ATTR_TYPE: esz = sizeof(el_dtype); break;
    case EL_ATTR_SHAPE: esz = sizeof(el_shape); break;
    default: esz = sizeof(el_tensor); break;
    }
    void *a = NULL;
    EL_TRY(el_graph_alloc(t->g, n * esz, &a));
    out->elem = elem;
    out->v.i = a; /* every member of the union is a pointer to the array */
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        el_status s = EL_OK;
        const char *what = tj_list_keys[which];
        switch (elem) {
        case EL_ATTR_S: {
            const char *d = NULL;
            size_t len = 0;
            s = tj_b64(t, e, what, &d, &len);
            if (s == EL_OK) ((el_string *)a)[i] = (el_string){d, len};
            break;
        }
        case EL_ATTR_I: s = tj_int64(e, what, (int64_t *)a + i); break;
        case EL_ATTR_F: {
            double d = 0;
            s = tj_double(e, what, &d);
            ((float *)a)[i] = (float)d;
            break;
        }
        case EL_ATTR_B: s = tj_bool(e, what, (bool *)a + i); break;
        case EL_ATTR_TYPE: s = tj_dtype(e, what, (el_dtype *)a + i); break;
        case EL_ATTR_SHAPE: s = tj_shape(e, true, (el_shape *)a + i); break;
        case EL_ATTR_FUNC: s = tj_func(t, e, (el_string *)a + i); break;
        default:
            s = tj_tensor(t, e, false, (el_tensor *)a + i);
            if (s == EL_OK) out->n = (int)i + 1;
            break;
        }
        if (s != EL_OK) return el_error_prefix(s, "list element %zu: ", i);
        i++;
    }
    out->n = (int)n;
    return EL_OK;
}

/* AttrValue {"i": "3"}: a oneof, so at most one member. `defer_empty` is
 * passed to the tensor of a Const's "value". On failure *a is NONE. */
static el_status tj_attr_value(tj *t, const cJSON *o, bool defer_empty, el_attr *a)
{
    EL_TRY(TJ_WANT_OBJ(o, "attr value"));
    const cJSON *v = NULL;
    int members = 0;
    for (const cJSON *c = o->child; c; c = c->next) {
        members++;
        v = c;
    }
    if (members == 0) return EL_OK; /* a value that was never set */
    if (members > 1)
        return el_error(EL_ERR_FORMAT, "attr value has %d members (\"%s\", ...), a oneof holds one", members,
                        o->child->string);
    const char *k = v->string;
    el_status s = EL_OK;
    if (!strcmp(k, "s") || !strcmp(k, "placeholder")) {
        const char *d = NULL;
        size_t n = 0;
        if (k[0] == 's') {
            s = tj_b64(t, v, k, &d, &n);
        } else if ((s = TJ_WANT_STR(v, k)) == EL_OK) {
            n = strlen(v->valuestring);
            s = el_graph_strdup(t->g, v->valuestring, n, &d);
        }
        if (s == EL_OK) {
            a->type = k[0] == 's' ? EL_ATTR_S : EL_ATTR_PLACEHOLDER;
            a->v.s = (el_string){d, n};
        }
    } else if (!strcmp(k, "i")) {
        if ((s = tj_int64(v, k, &a->v.i)) == EL_OK) a->type = EL_ATTR_I;
    } else if (!strcmp(k, "f")) {
        double d = 0;
        if ((s = tj_double(v, k, &d)) == EL_OK) {
            a->type = EL_ATTR_F;
            a->v.f = (float)d;
        }
    } else if (!strcmp(k, "b")) {
        if ((s = tj_bool(v, k, &a->v.b)) == EL_OK) a->type = EL_ATTR_B;
    } else if (!strcmp(k, "type")) {
        if ((s = tj_dtype(v, k, &a->v.type)) == EL_OK) a->type = EL_ATTR_TYPE;
    } else if (!strcmp(k, "shape")) {
        if ((s = tj_shape(v, true, &a->v.shape)) == EL_OK) a->type = EL_ATTR_SHAPE;
    } else if (!strcmp(k, "tensor")) {
        if ((s = tj_tensor(t, v, defer_empty, &a->v.tensor)) == EL_OK) a->type = EL_ATTR_TENSOR;
    } else if (!strcmp(k, "func")) {
        if ((s = tj_func(t, v, &a->v.s)) == EL_OK) a->type = EL_ATTR_FUNC;
    } else if (!strcmp(k, "list")) {
        a->type = EL_ATTR_LIST;
        s = tj_list(t, v, &a->v.list);
    } else {
        return el_error(EL_ERR_FORMAT, "attr value has an unknown member \"%.40s\"", k);
    }
    if (s != EL_OK) tj_attr_release(a);
    return s;
}

static int tj_attr_cmp(const void *x, const void *y)
{
    return strcmp(((const el_attr *)x)->name, ((const el_attr *)y)->name);
}

/* ------------------------------------------------------------ nodes */

static el_status tj_node_body(tj *t, const cJSON *o, el_node *node)
{
    const cJSON *v;
    if ((v = tj_field(o, "device", NULL)) != NULL) {
        EL_TRY(TJ_WANT_STR(v, "device"));
        EL_TRY(el_graph_strdup(t->g, v->valuestring, strlen(v->valuestring), &node->device));
    } else {
        node->device = tj_empty;
    }
    if ((v = tj_field(o, "input", NULL)) != NULL) {
        EL_TRY(TJ_WANT_ARR(v, "input"));
        int n = cJSON_GetArraySize(v);
        if (n) EL_TRY(el_graph_alloc(t->g, (size_t)n * sizeof(const char *), &node->input_names));
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, v)
        {
            el_status s = tj_name(t, e, "input", &node->input_names[k]);
            if (s != EL_OK) return el_error_prefix(s, "input #%d: ", k);
            k++;
        }
        node->ninputs = n;
    }
    if ((v = tj_field(o, "attr", NULL)) == NULL) return EL_OK;
    EL_TRY(TJ_WANT_OBJ(v, "attr"));
    int n = cJSON_GetArraySize(v);
    if (!n) return EL_OK;
    EL_TRY(el_graph_alloc(t->g, (size_t)n * sizeof(el_attr), &node->attrs));
    bool is_const = strcmp(node->op, "Const") == 0;
    for (const cJSON *e = v->child; e; e = e->next) {
        el_attr a = {0};
        if (!e->string || !e->string[0]) return el_error(EL_ERR_FORMAT, "attr #%d has an empty name", node->nattrs);
        EL_TRY(el_graph_strdup(t->g, e->string, strlen(e->string), &a.name));
        el_status s = tj_attr_value(t, e, is_const && !strcmp(a.name, "value"), &a);
        if (s != EL_OK) return el_error_prefix(s, "attr '%s': ", a.name);
        /* node->nattrs counts finished attrs, which el_graph_free releases. */
        node->attrs[node->nattrs++] = a;
    }
    if (node->nattrs > 1) {
        /* A map has unique keys; attrs are kept sorted by name, as the .pb loader keeps them. */
        qsort(node->attrs, (size_t)node->nattrs, sizeof(el_attr), tj_attr_cmp);
        for (int k = 1; k < node->nattrs; k++)
            if (strcmp(node->attrs[k - 1].name, node->attrs[k].name) == 0)
                return el_error(EL_ERR_FORMAT, "attr '%s' is given twice", node->attrs[k].name);
    }
    return EL_OK;
}

static el_status tj_node(tj *t, const cJSON *o, int idx, el_node *node)
{
    el_status s;
    node->device = tj_empty;
    if ((s = TJ_WANT_OBJ(o, "node")) != EL_OK) return el_error_prefix(s, "node #%d: ", idx);
    if ((s = tj_name(t, tj_field(o, "name", NULL), "name", &node->name)) != EL_OK)
        return el_error_prefix(s, "node #%d: ", idx);
    if ((s = tj_name(t, tj_field(o, "op", NULL), "op", &node->op)) != EL_OK)
        return el_error_prefix(s, "node '%s': ", node->name);
    if ((s = tj_node_body(t, o, node)) != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", node->name, node->op);
    return EL_OK;
}

static el_status tj_nodes(tj *t, const cJSON *topo)
{
    EL_TRY(TJ_WANT_OBJ(topo, "modelTopology"));
    const cJSON *nodes = tj_field(topo, "node", NULL);
    if (!nodes) return el_error(EL_ERR_FORMAT, "modelTopology has no nodes");
    EL_TRY(TJ_WANT_ARR(nodes, "modelTopology.node"));
    int n = cJSON_GetArraySize(nodes);
    if (n == 0) return el_error(EL_ERR_FORMAT, "modelTopology has no nodes");
    if (n > EL_TFJS_MAX_NODES) return el_error(EL_ERR_LIMIT, "%d nodes exceed the limit of %d", n, EL_TFJS_MAX_NODES);
    /* A function library holds TF2 control flow as functions (While/If
     * bodies), which this graph IR cannot express: refuse rather than run a
     * graph that silently lacks them. */
    const cJSON *lib = tj_field(topo, "library", NULL);
    if (lib) {
        EL_TRY(TJ_WANT_OBJ(lib, "library"));
        const cJSON *fn = tj_field(lib, "function", NULL);
        if (cJSON_IsArray(fn) && cJSON_GetArraySize(fn) > 0)
            return el_error(EL_ERR_UNSUPPORTED,
                            "the graph's function library holds %d functions (TF2 control flow as functions), "
                            "which is not supported",
                            cJSON_GetArraySize(fn));
    }
    EL_TRY(el_graph_alloc(t->g, (size_t)n * sizeof(el_node), &t->g->nodes));
    t->g->nnodes = n;
    int idx = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, nodes)
    {
        EL_TRY(tj_node(t, e, idx, &t->g->nodes[idx]));
        idx++;
    }
    return EL_OK;
}

/* ------------------------------------------------------------ weights */

/* tfjs-core's dtypes: bytes per element of the stored form. */
typedef enum tj_wtype { TJ_W_FLOAT32, TJ_W_INT32, TJ_W_BOOL, TJ_W_STRING } tj_wtype;
typedef enum tj_qtype { TJ_Q_NONE, TJ_Q_UINT8, TJ_Q_UINT16, TJ_Q_FLOAT16 } tj_qtype;

typedef struct tj_group {
    int index;                /* 1-based, for messages */
    unsigned char *data;      /* the shards, concatenated */
    size_t len;
    char files[512];          /* shard names, for messages */
} tj_group;

/* A manifest path: relative, inside the model's directory. */
static el_status tj_check_path(const char *p)
{
    if (!*p) return el_error(EL_ERR_FORMAT, "empty shard path");
    if (p[0] == '/' || p[0] == '\\')
        return el_error(EL_ERR_FORMAT, "shard path \"%.200s\" is absolute; paths must be relative to model.json", p);
    if (strchr(p, '\\') || strstr(p, "://"))
        return el_error(EL_ERR_FORMAT, "shard path \"%.200s\" is not a plain relative path", p);
    for (const char *c = p; *c;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return el_error(EL_ERR_FORMAT, "shard path \"%.200s\" leaves the model's directory ('..')", p);
        c += n;
        if (*c) c++;
    }
    return EL_OK;
}

/* Reads a whole regular file of at most `max` bytes, appending to *buf. */
static el_status tj_append_file(const char *path, size_t max, unsigned char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return el_error(EL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return el_error(EL_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size > max - *len) {
        close(fd);
        return el_error(EL_ERR_LIMIT, "%s: %zu bytes would take the weights group beyond %zu bytes", path, size, max);
    }
    unsigned char *nb = realloc(*buf, *len + size + 1);
    if (!nb) {
        close(fd);
        return el_error(EL_ERR_NOMEM, "%s: no memory for %zu bytes", path, size);
    }
    *buf = nb;
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, nb + *len + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            return el_error(EL_ERR_IO, "%s: read %zu of %zu bytes: %s", path, got, size, r < 0 ? strerror(e) : "file shrank");
        }
        got += (size_t)r;
    }
    close(fd);
    *len += size;
    return EL_OK;
}

static el_status tj_read_group(tj *t, const cJSON *grp, tj_group *gr)
{
    EL_TRY(TJ_WANT_OBJ(grp, "weightsManifest group"));
    const cJSON *paths = tj_field(grp, "paths", NULL);
    if (!paths) return el_error(EL_ERR_FORMAT, "no 'paths'");
    EL_TRY(TJ_WANT_ARR(paths, "paths"));
    const cJSON *p;
    size_t off = 0;
    cJSON_ArrayForEach(p, paths)
    {
        EL_TRY(TJ_WANT_STR(p, "paths"));
        EL_TRY(tj_check_path(p->valuestring));
        char full[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", t->dir, p->valuestring) >= (int)sizeof full)
            return el_error(EL_ERR_INVALID_ARG, "shard path \"%.200s\" is too long", p->valuestring);
        EL_TRY(tj_append_file(full, EL_TFJS_MAX_GROUP_BYTES, &gr->data, &gr->len));
        if (off < sizeof gr->files)
            off += (size_t)snprintf(gr->files + off, sizeof gr->files - off, "%s%s", off ? ", " : "", p->valuestring);
    }
    return EL_OK;
}

/* JS Math.round: the nearest integer, halves toward +infinity. */
static double tj_js_round(double x)
{
    double r = floor(x);
    return x - r >= 0.5 ? r + 1 : r;
}

/* JS ToInt32 (storing into an Int32Array): modulo 2^32, NaN and infinities
 * to 0. */
static int32_t tj_js_int32(double x)
{
    if (!isfinite(x)) return 0;
    double m = fmod(trunc(x), 4294967296.0);
    if (m < 0) m += 4294967296.0;
    return (int32_t)(uint32_t)m;
}

/* The TF.js converter stores every weight as one of tfjs-core's dtypes:
 * float64 and float16 Consts become float32 weights, int64 and the narrow
 * ints become int32, while the Const's dtype attr keeps the original type.
 * Converting back to that type keeps the graph's ops type-correct (a
 * DT_DOUBLE Mul gets a double operand) with the value TF.js computes with. */
static bool tj_widens(el_dtype weight, el_dtype declared)
{
    if (weight == EL_DT_FLOAT) return declared == EL_DT_DOUBLE || declared == EL_DT_HALF;
    if (weight == EL_DT_INT32)
        return declared == EL_DT_INT64 || declared == EL_DT_INT16 || declared == EL_DT_INT8 ||
               declared == EL_DT_UINT8;
    return false;
}

/* Gives the Const node `ni` the tensor `val` (taken over) as its "value"
 * attr, checking it against what the node's JSON declared (converted to the
 * declared dtype where the converter narrowed it); adds the "value" and
 * "dtype" attrs when absent. */
static el_status tj_set_const(tj *t, int ni, el_tensor *val)
{
    el_node *node = &t->g->nodes[ni];
    el_attr *value = NULL, *dtype = NULL;
    for (int k = 0; k < node->nattrs; k++) {
        if (!strcmp(node->attrs[k].name, "value")) value = &node->attrs[k];
        if (!strcmp(node->attrs[k].name, "dtype")) dtype = &node->attrs[k];
    }
    char s1[160], s2[160];
    if (dtype && dtype->type != EL_ATTR_TYPE) return el_error(EL_ERR_FORMAT, "the Const's dtype attr is not a type");
    if (value && value->type != EL_ATTR_TENSOR) return el_error(EL_ERR_FORMAT, "the Const's value attr is not a tensor");
    el_dtype declared = dtype ? dtype->v.type : value ? value->v.tensor.dtype : EL_DT_INVALID;
    if (value && value->v.tensor.dtype != EL_DT_INVALID && value->v.tensor.dtype != declared)
        return el_error(EL_ERR_FORMAT, "the Const's dtype attr says %s but its value tensor says %s",
                        el_dtype_name(declared), el_dtype_name(value->v.tensor.dtype));
    if (declared != EL_DT_INVALID && declared != val->dtype) {
        if (!tj_widens(val->dtype, declared))
            return el_error(EL_ERR_FORMAT, "the weight is %s but the Const is declared %s", el_dtype_name(val->dtype),
                            el_dtype_name(declared));
        int64_t n = el_tensor_numel(val);
        void *wide = NULL;
        EL_TRY(el_graph_alloc(t->g, (size_t)n * el_dtype_size(declared), &wide));
        EL_TRY(el_cast_array(val->data, val->dtype, wide, declared, n, false));
        el_tensor w;
        EL_TRY(el_tensor_wrap(&w, declared, val->ndim, val->dims, wide));
        el_tensor_release(val);
        *val = w;
    }
    if (value) {
        const el_tensor *d = &value->v.tensor;
        bool same = d->ndim == val->ndim;
        for (int i = 0; same && i < d->ndim; i++) same = d->dims[i] == val->dims[i];
        if (!same)
            return el_error(EL_ERR_FORMAT, "the weight has shape %s but the Const's value tensor says %s",
                            el_shape_str(val->ndim, val->dims, s1, sizeof s1),
                            el_shape_str(d->ndim, d->dims, s2, sizeof s2));
        el_tensor_release(&value->v.tensor);
        value->v.tensor = *val;
        memset(val, 0, sizeof *val);
        if (dtype) return EL_OK;
    }
    /* Add the missing attrs: a new, larger array in the arena. */
    int add = (value ? 0 : 1) + (dtype ? 0 : 1);
    el_attr *na = NULL;
    EL_TRY(el_graph_alloc(t->g, (size_t)(node->nattrs + add) * sizeof(el_attr), &na));
    if (node->nattrs) memcpy(na, node->attrs, (size_t)node->nattrs * sizeof(el_attr));
    int n = node->nattrs;
    if (!dtype) na[n++] = (el_attr){.name = "dtype", .type = EL_ATTR_TYPE, .v.type = val->dtype};
    if (!value) {
        na[n] = (el_attr){.name = "value", .type = EL_ATTR_TENSOR};
        na[n++].v.tensor = *val;
        memset(val, 0, sizeof *val);
    }
    node->attrs = na;
    node->nattrs = n;
    qsort(node->attrs, (size_t)node->nattrs, sizeof(el_attr), tj_attr_cmp);
    return EL_OK;
}

/* One manifest entry: decodes bytes [*off, ...) of the group into the
 * Const of the same name. */
static el_status tj_weight(tj *t, const cJSON *w, tj_group *gr, size_t *off, const char **name_out)
{
    EL_TRY(TJ_WANT_OBJ(w, "weight"));
    const cJSON *v = tj_field(w, "name", NULL);
    EL_TRY(TJ_WANT_STR(v, "name"));
    const char *name = v->valuestring;
    *name_out = name;

    const cJSON *dtv = tj_field(w, "dtype", NULL);
    EL_TRY(TJ_WANT_STR(dtv, "dtype"));
    tj_wtype wt;
    el_dtype dt;
    if (!strcmp(dtv->valuestring, "float32")) wt = TJ_W_FLOAT32, dt = EL_DT_FLOAT;
    else if (!strcmp(dtv->valuestring, "int32")) wt = TJ_W_INT32, dt = EL_DT_INT32;
    else if (!strcmp(dtv->valuestring, "bool")) wt = TJ_W_BOOL, dt = EL_DT_BOOL;
    else if (!strcmp(dtv->valuestring, "string")) wt = TJ_W_STRING, dt = EL_DT_STRING;
    else
        return el_error(EL_ERR_UNSUPPORTED, "dtype \"%.40s\" is not supported (float32, int32, bool, string)",
                        dtv->valuestring);

    /* Shape: plain numbers in TF.js manifests. */
    const cJSON *sh = tj_field(w, "shape", NULL);
    if (!sh) return el_error(EL_ERR_FORMAT, "no 'shape'");
    EL_TRY(TJ_WANT_ARR(sh, "shape"));
    int rank = cJSON_GetArraySize(sh);
    if (rank > EL_MAX_DIMS) return el_error(EL_ERR_UNSUPPORTED, "shape has %d dimensions, at most %d", rank, EL_MAX_DIMS);
    int64_t dims[EL_MAX_DIMS] = {0};
    int r = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, sh)
    {
        EL_TRY(tj_int64(d, "shape", &dims[r]));
        if (dims[r] < 0) return el_error(EL_ERR_FORMAT, "dimension %d is %lld", r, (long long)dims[r]);
        r++;
    }

    tj_qtype qt = TJ_Q_NONE;
    double qmin = 0, qscale = 0;
    const cJSON *q = tj_field(w, "quantization", NULL);
    if (q) {
        EL_TRY(TJ_WANT_OBJ(q, "quantization"));
        const cJSON *qd = tj_field(q, "dtype", NULL);
        EL_TRY(TJ_WANT_STR(qd, "quantization.dtype"));
        if (!strcmp(qd->valuestring, "uint8")) qt = TJ_Q_UINT8;
        else if (!strcmp(qd->valuestring, "uint16")) qt = TJ_Q_UINT16;
        else if (!strcmp(qd->valuestring, "float16")) qt = TJ_Q_FLOAT16;
        else
            return el_error(EL_ERR_UNSUPPORTED, "quantization dtype \"%.40s\" is not supported (uint8, uint16, float16)",
                            qd->valuestring);
        /* decodeWeights' rules: float16 only for float32 weights,
         * uint8/uint16 (min/scale) for float32 and int32. */
        if (qt == TJ_Q_FLOAT16 && wt != TJ_W_FLOAT32)
            return el_error(EL_ERR_FORMAT, "float16 quantization of a %s weight (only float32 can be)", dtv->valuestring);
        if (qt != TJ_Q_FLOAT16) {
            if (wt != TJ_W_FLOAT32 && wt != TJ_W_INT32)
                return el_error(EL_ERR_FORMAT, "%s quantization of a %s weight (only float32 and int32 can be)",
                                qd->valuestring, dtv->valuestring);
            const cJSON *mn = tj_field(q, "min", NULL), *sc = tj_field(q, "scale", NULL);
            if (!mn || !sc) return el_error(EL_ERR_FORMAT, "%s quantization without min and scale", qd->valuestring);
            EL_TRY(tj_double(mn, "quantization.min", &qmin));
            EL_TRY(tj_double(sc, "quantization.scale", &qscale));
            if (!isfinite(qmin) || !isfinite(qscale))
                return el_error(EL_ERR_FORMAT, "quantization min %g / scale %g is not finite", qmin, qscale);
        }
    }

    size_t qsize = qt == TJ_Q_UINT8 ? 1 : qt == TJ_Q_NONE ? (wt == TJ_W_BOOL ? 1 : 4) : 2;
    uint64_t numel = 0;
    /* Bounded by 4 output bytes per element (a string element is at least
     * its 4-byte length, so the same bound holds). */
    EL_TRY(tj_numel(rank, dims, dt, wt == TJ_W_STRING ? 4 : el_dtype_size(dt), &numel));
    size_t avail = gr->len - *off;
    char sbuf[160];
    if (wt == TJ_W_STRING && numel > avail / 4)
        return el_error(EL_ERR_FORMAT, "needs at least %llu bytes (shape %s, string) at offset %zu, but the group's "
                        "shards (%s) hold only %zu",
                        (unsigned long long)numel * 4, el_shape_str(rank, dims, sbuf, sizeof sbuf), *off, gr->files,
                        gr->len);
    if (wt != TJ_W_STRING && numel > avail / qsize)
        return el_error(EL_ERR_FORMAT,
                        "needs %llu bytes (shape %s, %s%s) at offset %zu, but the group's shards (%s) hold only %zu",
                        (unsigned long long)numel * qsize, el_shape_str(rank, dims, sbuf, sizeof sbuf),
                        dtv->valuestring, qt == TJ_Q_NONE ? "" : " quantized", *off, gr->files, gr->len);

    int ni = el_graph_find(t->g, name);
    if (ni < 0) return el_error(EL_ERR_FORMAT, "no node of the graph is named like this weight");
    if (strcmp(t->g->nodes[ni].op, "Const") != 0)
        return el_error(EL_ERR_FORMAT, "the node of this name is a %s, not a Const", t->g->nodes[ni].op);
    if (t->has_weight[ni]) return el_error(EL_ERR_FORMAT, "the manifest gives this weight twice");

    const unsigned char *src = gr->data + *off;
    void *data = NULL;
    size_t esize = el_dtype_size(dt);
    EL_TRY(el_graph_alloc(t->g, (size_t)numel * esize, &data));
    size_t used = (size_t)numel * qsize;
    if (wt == TJ_W_STRING) {
        /* Each string: a uint32 byte length, then the bytes (io_utils). */
        size_t p = 0;
        for (uint64_t i = 0; i < numel; i++) {
            uint32_t n = 0;
            if (avail - p < 4)
                return el_error(EL_ERR_FORMAT, "string %llu's length runs past the end of the group's shards (%s)",
                                (unsigned long long)i, gr->files);
            memcpy(&n, src + p, 4);
            p += 4;
            if (n > avail - p)
                return el_error(EL_ERR_FORMAT, "string %llu (%u bytes) runs past the end of the group's shards (%s)",
                                (unsigned long long)i, n, gr->files);
            const char *s = NULL;
            EL_TRY(el_graph_strdup(t->g, (const char *)src + p, n, &s));
            ((el_string *)data)[i] = (el_string){s, n};
            p += n;
        }
        used = p;
    } else if (qt == TJ_Q_NONE) {
        memcpy(data, src, used);
        if (wt == TJ_W_BOOL)
            for (size_t i = 0; i < used; i++) ((unsigned char *)data)[i] = ((unsigned char *)data)[i] != 0;
    } else if (qt == TJ_Q_FLOAT16) {
        for (uint64_t i = 0; i < numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            ((float *)data)[i] = el_half_to_float(h);
        }
    } else {
        /* value = q * scale + min, computed in double as JavaScript does,
         * then stored: rounded to float32, or Math.round and ToInt32 for an
         * int32 weight. Bit for bit what TF.js loads. */
        for (uint64_t i = 0; i < numel; i++) {
            uint32_t qv;
            if (qt == TJ_Q_UINT8) {
                qv = src[i];
            } else {
                uint16_t u;
                memcpy(&u, src + 2 * i, 2);
                qv = u;
            }
            double x = (double)qv * qscale + qmin;
            if (wt == TJ_W_FLOAT32) ((float *)data)[i] = (float)x;
            else ((int32_t *)data)[i] = tj_js_int32(tj_js_round(x));
        }
    }
    el_tensor val;
    EL_TRY(el_tensor_wrap(&val, dt, rank, dims, data));
    el_status s = tj_set_const(t, ni, &val);
    el_tensor_release(&val); /* empty when taken over */
    if (s != EL_OK) return el_error_prefix(s, "Const node '%s': ", t->g->nodes[ni].name);
    t->has_weight[ni] = true;
    *off += used;
    return EL_OK;
}

static el_status tj_weights(tj *t, const cJSON *manifest)
{
    if (!manifest) return EL_OK;
    EL_TRY(TJ_WANT_ARR(manifest, "weightsManifest"));
    int gi = 0;
    const cJSON *grp;
    cJSON_ArrayForEach(grp, manifest)
    {
        tj_group gr = {.index = ++gi};
        el_status s = tj_read_group(t, grp, &gr);
        if (s != EL_OK) {
            free(gr.data);
            return el_error_prefix(s, "weightsManifest group %d: ", gi);
        }
        const cJSON *ws = tj_field(grp, "weights", NULL);
        if (!ws) s = el_error(EL_ERR_FORMAT, "weightsManifest group %d: no 'weights'", gi);
        else if ((s = TJ_WANT_ARR(ws, "weights")) != EL_OK) s = el_error_prefix(s, "weightsManifest group %d: ", gi);
        size_t off = 0;
        int wi = 0;
        const cJSON *w;
        if (s == EL_OK) {
            cJSON_ArrayForEach(w, ws)
            {
                const char *name = NULL;
                s = tj_weight(t, w, &gr, &off, &name);
                if (s != EL_OK) {
                    if (name) s = el_error_prefix(s, "weight '%.200s' (group %d): ", name, gi);
                    else s = el_error_prefix(s, "weight #%d of group %d: ", wi, gi);
                    break;
                }
                wi++;
            }
        }
        free(gr.data);
        if (s != EL_OK) return s;
    }
    return EL_OK;
}

/* Every Const needs a value: from the manifest, or given inline. */
static el_status tj_check_consts(tj *t)
{
    for (int i = 0; i < t->g->nnodes; i++) {
        el_node *n = &t->g->nodes[i];
        if (strcmp(n->op, "Const") != 0) continue;
        const el_attr *a = el_node_attr(n, "value");
        if (!a || a->type != EL_ATTR_TENSOR)
            return el_error(EL_ERR_FORMAT, "Const node '%s' has no value: no weight of this name in the manifest",
                            n->name);
        if (a->v.tensor.buf) continue;
        /* Declared dtype and shape but no values: its weight is missing.
         * Only an empty tensor needs no bytes. */
        const el_tensor *d = &a->v.tensor;
        uint64_t numel = 1;
        for (int k = 0; k < d->ndim; k++) numel *= (uint64_t)d->dims[k];
        if (numel)
            return el_error(EL_ERR_FORMAT, "Const node '%s' has no value: no weight of this name in the manifest",
                            n->name);
        el_attr *wa = (el_attr *)a;
        void *data = NULL;
        EL_TRY(el_graph_alloc(t->g, 1, &data));
        el_tensor e;
        EL_TRY(el_tensor_wrap(&e, d->dtype, d->ndim, d->dims, data));
        wa->v.tensor = e;
    }
    return EL_OK;
}

/* ------------------------------------------------------------ file */

static el_status tj_read_json(const char *path, cJSON **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return el_error(errno == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return el_error(EL_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > EL_TFJS_MAX_JSON) {
        close(fd);
        return el_error(EL_ERR_LIMIT, "%s: %lld bytes, more than the %zu allowed for a model.json", path,
                        (long long)st.st_size, (size_t)EL_TFJS_MAX_JSON);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return el_error(EL_ERR_NOMEM, "%s: no memory for %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    const char *end = NULL;
    cJSON *root = got ? cJSON_ParseWithLengthOpts(buf, got, &end, 0) : NULL;
    el_status s = EL_OK;
    if (!root) {
        size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
        if (at > got) at = got;
        int line = 1;
        for (size_t i = 0; i < at; i++) line += buf[i] == '\n';
        s = el_error(EL_ERR_FORMAT, "%s: not valid JSON (or nested deeper than %d) near byte %zu (line %d)", path,
                     CJSON_NESTING_LIMIT, at, line);
    } else {
        size_t at = (size_t)(end - buf);
        while (at < got && strchr(" \t\r\n", buf[at])) at++;
        if (at < got) s = el_error(EL_ERR_FORMAT, "%s: unexpected data after the JSON value at byte %zu", path, at);
        else if (!cJSON_IsObject(root)) s = el_error(EL_ERR_FORMAT, "%s: the JSON is %s, expected an object", path, tj_kind(root));
    }
    free(buf);
    if (s != EL_OK) {
        cJSON_Delete(root);
        return s;
    }
    *out = root;
    return EL_OK;
}

/* The parts of model.json every reader checks. */
static el_status tj_check_root(const cJSON *root)
{
    const cJSON *f = tj_field(root, "format", NULL);
    if (f) {
        EL_TRY(TJ_WANT_STR(f, "format"));
        if (strcmp(f->valuestring, "graph-model") != 0)
            return el_error(EL_ERR_UNSUPPORTED, "format \"%.40s\": only TF.js graph models (\"graph-model\") are supported",
                            f->valuestring);
    }
    const cJSON *topo = tj_field(root, "modelTopology", NULL);
    if (!topo) return el_error(EL_ERR_FORMAT, "no 'modelTopology' (is this a TF.js graph model?)");
    EL_TRY(TJ_WANT_OBJ(topo, "modelTopology"));
    const cJSON *init = tj_field(root, "modelInitializer", NULL);
    if (cJSON_IsObject(init)) {
        const cJSON *n = tj_field(init, "node", NULL);
        if (cJSON_IsArray(n) && cJSON_GetArraySize(n) > 0)
            return el_error(EL_ERR_UNSUPPORTED, "a modelInitializer graph (%d nodes, table initialisers) is not supported",
                            cJSON_GetArraySize(n));
    }
    return EL_OK;
}

/* ------------------------------------------------------------ signature */

void el_tfjs_signature_free(el_tfjs_signature *sig)
{
    if (!sig) return;
    for (int i = 0; i < sig->ninputs; i++) {
        free((char *)sig->inputs[i].key);
        free((char *)sig->inputs[i].name);
    }
    for (int i = 0; i < sig->noutputs; i++) {
        free((char *)sig->outputs[i].key);
        free((char *)sig->outputs[i].name);
    }
    free(sig->inputs);
    free(sig->outputs);
    free(sig);
}

static el_status tj_sig_list(const cJSON *o, const char *what, el_tfjs_tensor_info **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!o) return EL_OK;
    EL_TRY(TJ_WANT_OBJ(o, what));
    int n = cJSON_GetArraySize(o);
    if (!n) return EL_OK;
    el_tfjs_tensor_info *l = calloc((size_t)n, sizeof *l);
    if (!l) return el_error(EL_ERR_NOMEM, "out of memory");
    *out = l;
    for (const cJSON *e = o->child; e; e = e->next) {
        el_tfjs_tensor_info *ti = &l[*n_out];
        ti->shape.rank = -1;
        const char *key = e->string ? e->string : "";
        ti->key = strdup(key);
        if (!ti->key) return el_error(EL_ERR_NOMEM, "out of memory");
        (*n_out)++;
        el_status s = TJ_WANT_OBJ(e, key);
        const cJSON *v;
        const char *name = key;
        if (s == EL_OK && (v = tj_field(e, "name", NULL)) != NULL && (s = TJ_WANT_STR(v, "name")) == EL_OK)
            name = v->valuestring;
        if (s == EL_OK && !*name) s = el_error(EL_ERR_FORMAT, "empty tensor name");
        if (s == EL_OK && !(ti->name = strdup(name))) s = el_error(EL_ERR_NOMEM, "out of memory");
        if (s == EL_OK && (v = tj_field(e, "dtype", NULL)) != NULL) s = tj_dtype(v, "dtype", &ti->dtype);
        if (s == EL_OK && (v = tj_field(e, "tensorShape", "tensor_shape")) != NULL) s = tj_shape(v, true, &ti->shape);
        if (s != EL_OK) return el_error_prefix(s, "signature %s '%.200s': ", what, key);
    }
    return EL_OK;
}

static el_status tj_signature(const cJSON *root, el_tfjs_signature **out)
{
    *out = NULL;
    el_tfjs_signature *sig = calloc(1, sizeof *sig);
    if (!sig) return el_error(EL_ERR_NOMEM, "out of memory");
    const cJSON *so = tj_field(root, "signature", NULL);
    el_status s = EL_OK;
    if (so && !cJSON_IsNull(so)) {
        s = TJ_WANT_OBJ(so, "signature");
        if (s == EL_OK) s = tj_sig_list(tj_field(so, "inputs", NULL), "inputs", &sig->inputs, &sig->ninputs);
        if (s == EL_OK) s = tj_sig_list(tj_field(so, "outputs", NULL), "outputs", &sig->outputs, &sig->noutputs);
    }
    if (s != EL_OK) {
        el_tfjs_signature_free(sig);
        return s;
    }
    *out = sig;
    return EL_OK;
}

const el_tfjs_tensor_info *el_tfjs_signature_find(const el_tfjs_tensor_info *list, int n, const char *name)
{
    size_t nl = strlen(name);
    if (nl > 2 && !strcmp(name + nl - 2, ":0")) nl -= 2;
    for (int i = 0; i < n; i++) {
        const char *x = list[i].name;
        size_t xl = strlen(x);
        if (xl > 2 && !strcmp(x + xl - 2, ":0")) xl -= 2;
        if (xl == nl && !strncmp(x, name, nl)) return &list[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ entry */

static el_status tj_load(const char *path, const cJSON *root, el_graph **out)
{
    el_graph *g = NULL;
    EL_TRY(el_graph_new(path, &g));
    tj t = {.g = g, .path = path};
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(t.dir, sizeof t.dir, ".");
    else if (slash == path) snprintf(t.dir, sizeof t.dir, "/");
    else snprintf(t.dir, sizeof t.dir, "%.*s", (int)(slash - path), path);

    el_status s = tj_nodes(&t, tj_field(root, "modelTopology", NULL));
    if (s != EL_OK) s = el_error_prefix(s, "%s: ", path);
    if (s == EL_OK) s = el_graph_drop_private(g);
    if (s == EL_OK) s = el_graph_index(g); /* names the file itself */
    if (s == EL_OK && !(t.has_weight = calloc((size_t)g->nnodes, sizeof(bool))))
        s = el_error(EL_ERR_NOMEM, "%s: out of memory", path);
    if (s == EL_OK && (s = tj_weights(&t, tj_field(root, "weightsManifest", NULL))) != EL_OK)
        s = el_error_prefix(s, "%s: ", path);
    if (s == EL_OK && (s = tj_check_consts(&t)) != EL_OK) s = el_error_prefix(s, "%s: ", path);
    free(t.has_weight);
    if (s != EL_OK) {
        el_graph_free(g);
        return s;
    }
    *out = g;
    return EL_OK;
}

el_status el_tfjs_open(const char *model_json_path, el_graph **graph, el_tfjs_signature **sig)
{
    if (graph) *graph = NULL;
    if (sig) *sig = NULL;
    if (!model_json_path || !graph) return el_error(EL_ERR_INVALID_ARG, "el_tfjs_open: NULL argument");
    cJSON *root = NULL;
    EL_TRY(tj_read_json(model_json_path, &root));
    el_status s = tj_check_root(root);
    if (s != EL_OK) s = el_error_prefix(s, "%s: ", model_json_path);
    el_tfjs_signature *sg = NULL;
    if (s == EL_OK && sig && (s = tj_signature(root, &sg)) != EL_OK) s = el_error_prefix(s, "%s: ", model_json_path);
    el_graph *g = NULL;
    if (s == EL_OK) s = tj_load(model_json_path, root, &g);
    cJSON_Delete(root);
    if (s != EL_OK) {
        el_tfjs_signature_free(sg);
        return s;
    }
    *graph = g;
    if (sig) *sig = sg;
    return EL_OK;
}

el_status el_tfjs_load(const char *model_json_path, el_graph **out)
{
    return el_tfjs_open(model_json_path, out, NULL);
}

el_status el_tfjs_read_signature(const char *model_json_path, el_tfjs_signature **out)
{
    if (out) *out = NULL;
    if (!model_json_path || !out) return el_error(EL_ERR_INVALID_ARG, "el_tfjs_read_signature: NULL argument");
    cJSON *root = NULL;
    EL_TRY(tj_read_json(model_json_path, &root));
    el_status s = tj_check_root(root);
    if (s == EL_OK) s = tj_signature(root, out);
    cJSON_Delete(root);
    if (s != EL_OK) return el_error_prefix(s, "%s: ", model_json_path);
    return EL_OK;
}

bool el_tfjs_is_json_path(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcasecmp(path + n - 5, ".json") == 0;
}

/* Whether a file holds a "modelTopology" key: a bounded byte search, not a
 * parse, to pick the model among other .json files of a directory. */
static bool tj_has_topology(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    static const char key[] = "\"modelTopology\"";
    char buf[65536 + sizeof key];
    size_t keep = 0, total = 0;
    bool found = false;
    for (;;) {
        size_t r = fread(buf + keep, 1, 65536, f);
        if (r == 0) break;
        total += r;
        size_t n = keep + r;
        for (size_t i = 0; i + (sizeof key - 1) <= n && !found; i++)
            found = buf[i] == '"' && memcmp(buf + i, key, sizeof key - 1) == 0;
        if (found) break;
        if (total > EL_TFJS_MAX_JSON) break;
        keep = n < sizeof key - 1 ? n : sizeof key - 1;
        memmove(buf, buf + n - keep, keep);
    }
    fclose(f);
    return found;
}

el_status el_tfjs_find_in_dir(const char *dir, char *out, size_t cap, bool *found)
{
    *found = false;
    struct stat st;
    if (snprintf(out, cap, "%s/model.json", dir) >= (int)cap)
        return el_error(EL_ERR_INVALID_ARG, "%s: path too long", dir);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
        *found = true;
        return EL_OK;
    }
    DIR *d = opendir(dir);
    if (!d) return el_error(EL_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    char names[4][256];
    int n = 0, seen = 0;
    struct dirent *de;
    el_status s = EL_OK;
    while ((de = readdir(d)) != NULL) {
        if (++seen > 10000) {
            s = el_error(EL_ERR_LIMIT, "%s: more than %d directory entries", dir, 10000);
            break;
        }
        if (!el_tfjs_is_json_path(de->d_name) || !strncmp(de->d_name, "._", 2)) continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p) continue;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || !tj_has_topology(p)) continue;
        if (n < 4) snprintf(names[n], sizeof names[n], "%s", de->d_name);
        n++;
    }
    closedir(d);
    if (s != EL_OK) return s;
    if (n > 1) {
        if (strcmp(names[0], names[1]) > 0) {
            char tmp[256];
            memcpy(tmp, names[0], sizeof tmp);
            memcpy(names[0], names[1], sizeof tmp);
            memcpy(names[1], tmp, sizeof tmp);
        }
        return el_error(EL_ERR_INVALID_ARG, "%s: several TF.js graph models (%s, %s%s), name one explicitly", dir,
                        names[0], names[1], n > 2 ? ", ..." : "");
    }
    if (n == 1) {
        if (snprintf(out, cap, "%s/%s", dir, names[0]) >= (int)cap)
            return el_error(EL_ERR_INVALID_ARG, "%s: path too long", dir);
        *found = true;
    }
    return EL_OK;
}

el_status el_tfjs_model_signature(const char *model_path, el_tfjs_signature **out)
{
    if (out) *out = NULL;
    if (!model_path || !out) return el_error(EL_ERR_INVALID_ARG, "el_tfjs_model_signature: NULL argument");
    struct stat st;
    if (stat(model_path, &st) != 0)
        return el_error(errno == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: %s", model_path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        char p[PATH_MAX], pb[PATH_MAX];
        bool found = false;
        /* A directory with a frozen graph opens as that graph (el_model_open's order). */
        if (snprintf(pb, sizeof pb, "%s/frozen_inference_graph.pb", model_path) < (int)sizeof pb &&
            stat(pb, &st) == 0 && S_ISREG(st.st_mode))
            return EL_OK;
        EL_TRY(el_tfjs_find_in_dir(model_path, p, sizeof p, &found));
        return found ? el_tfjs_read_signature(p, out) : EL_OK;
    }
    if (S_ISREG(st.st_mode) && el_tfjs_is_json_path(model_path)) return el_tfjs_read_signature(model_path, out);
    return EL_OK;
}
