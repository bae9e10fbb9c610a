/* Binary GraphDef (.pb) loader: a frozen TensorFlow graph into an el_graph.
 *
 * Field numbers are TensorFlow's (tensorflow/core/framework/graph.proto,
 * node_def.proto, attr_value.proto, tensor.proto, tensor_shape.proto).
 *
 * The whole file is one mapping owned by the graph; every parse is a walk
 * over it with the bounded reader of pb.h. Messages whose arrays we size up
 * front (GraphDef, NodeDef, ListValue, TensorProto) are walked twice: once to
 * count, once to fill, so nothing grows and nothing is allocated per byte.
 * Names live in the graph's arena; Const weights (tensor_content) point into
 * the mapping when aligned for their dtype, else are copied once, big ones
 * into one region of huge pages (g->realigned), small ones into the arena.
 *
 * Loading cost is mostly page faults (several microseconds each here), so
 * a mapped file is populated in one call before the walk, and after it the
 * pages no tensor points into (the protobuf framing, names, the sources of
 * realigned copies) are handed back: they are clean file pages, read again
 * if anything ever touches them. */
#include "format/pb.h"
#include "graph/graph.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor_content is stored little-endian; a big-endian host needs byte swapping here"
#endif

/* GraphDef */
enum { GD_NODE = 1 };
/* NodeDef */
enum { ND_NAME = 1, ND_OP = 2, ND_INPUT = 3, ND_DEVICE = 4, ND_ATTR = 5 };
/* map<string, AttrValue> entries */
enum { ME_KEY = 1, ME_VALUE = 2 };
/* AttrValue (a oneof) */
enum {
    AV_LIST = 1, AV_S = 2, AV_I = 3, AV_F = 4, AV_B = 5, AV_TYPE = 6,
    AV_SHAPE = 7, AV_TENSOR = 8, AV_PLACEHOLDER = 9, AV_FUNC = 10
};
/* AttrValue.ListValue */
enum { LV_S = 2, LV_I = 3, LV_F = 4, LV_B = 5, LV_TYPE = 6, LV_SHAPE = 7, LV_TENSOR = 8, LV_FUNC = 9, LV_MAX = 10 };
/* NameAttrList */
enum { NAL_NAME = 1 };
/* TensorProto */
enum {
    TP_DTYPE = 1, TP_SHAPE = 2, TP_CONTENT = 4, TP_FLOAT = 5, TP_DOUBLE = 6, TP_INT = 7,
    TP_STRING = 8, TP_INT64 = 10, TP_BOOL = 11, TP_HALF = 13, TP_MAX = 18
};
/* TensorShapeProto and its Dim */
enum { TS_DIM = 2, TS_UNKNOWN_RANK = 3 };
enum { DIM_SIZE = 1 };

/* Bounds on what a hostile file can make us allocate. A Const given by a few
 * repeated values is expanded to its full shape (TensorFlow's fill rule), so
 * a 20-byte TensorProto can ask for gigabytes: the expanded part of all
 * Consts of one graph is capped. Real exports keep big weights in
 * tensor_content, which costs nothing here. */
#define EL_GD_MAX_FILL_BYTES ((size_t)256 << 20)
#define EL_GD_MAX_NODES (1 << 24)
#define EL_GD_MAX_COUNT (1 << 26) /* inputs/attrs per node, list elements */
/* DataType values are below 30; 101.. are the _REF variants. */
#define EL_GD_MAX_DTYPE 200

typedef struct el_gd {
    el_graph *g;
    size_t fill_bytes; /* expanded from repeated values so far */
    uint8_t *realign;  /* next free byte in g->realigned */
    size_t realign_left;
} el_gd;

/* Copies at least this big go to the realigned region (smaller ones to the
 * arena); copies in it are aligned for any SIMD load. */
#define EL_GD_REALIGN_MIN 4096
#define EL_GD_REALIGN_ALIGN 64
#define EL_GD_HUGE ((size_t)2 << 20)

/* Memory for an aligned copy of `bytes` of tensor_content. The region is
 * reserved on first use with room for every tensor the file can hold (its
 * size), untouched pages costing nothing, and asks for transparent huge
 * pages: one fault per 2 MB instead of one per 4 KB. */
static el_status gd_realign_alloc(el_gd *gd, size_t bytes, void **out)
{
    el_graph *g = gd->g;
    if (bytes >= EL_GD_REALIGN_MIN && !g->realigned && g->mapping_size >= bytes) {
        size_t size = g->mapping_size + EL_GD_HUGE + EL_GD_REALIGN_ALIGN;
        void *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r != MAP_FAILED) {
            g->realigned = r;
            g->realigned_size = size;
            uintptr_t a = ((uintptr_t)r + EL_GD_HUGE - 1) & ~(uintptr_t)(EL_GD_HUGE - 1);
            gd->realign = (uint8_t *)a;
            gd->realign_left = size - (a - (uintptr_t)r);
#if defined(MADV_HUGEPAGE)
            (void)madvise(gd->realign, gd->realign_left, MADV_HUGEPAGE); /* a hint */
#endif
        }
    }
    size_t rounded = (bytes + EL_GD_REALIGN_ALIGN - 1) & ~(size_t)(EL_GD_REALIGN_ALIGN - 1);
    if (bytes >= EL_GD_REALIGN_MIN && gd->realign && rounded <= gd->realign_left) {
        *out = gd->realign;
        gd->realign += rounded;
        gd->realign_left -= rounded;
        return EL_OK;
    }
    return el_graph_alloc(g, bytes, out);
}

/* After the walk: the unused tail of the realigned region goes back (from
 * the huge page after the last copy on). */
static void gd_realign_trim(el_gd *gd)
{
    el_graph *g = gd->g;
    if (!g->realigned) return;
    uintptr_t base = (uintptr_t)g->realigned, end = base + g->realigned_size;
    uintptr_t keep = ((uintptr_t)gd->realign + EL_GD_HUGE - 1) & ~(uintptr_t)(EL_GD_HUGE - 1);
    if (keep < end && munmap((void *)keep, end - keep) == 0) g->realigned_size = keep - base;
}

static const char el_gd_empty[1] = "";

static el_status gd_expect(const el_pb *m, const char *name, uint32_t f, int wire, int want)
{
    return wire == want ? EL_OK : el_pb_wire_error(m, name, f, wire, want);
}

/* A name (node, op, input, attr key): NUL-terminated copy in the arena. An
 * embedded NUL would silently shorten it, so it is refused. */
static el_status gd_name(el_gd *gd, const uint8_t *d, size_t n, const el_pb *m, const char *what, const char **out)
{
    if (n && memchr(d, 0, n))
        return el_error(EL_ERR_FORMAT, "offset %zu: %s contains a NUL byte", (size_t)(d - m->base), what);
    return el_graph_strdup(gd->g, (const char *)d, n, out);
}

static el_status gd_dtype(const el_pb *m, uint64_t v, el_dtype *out)
{
    if (v > EL_GD_MAX_DTYPE)
        return el_error(EL_ERR_FORMAT, "offset %zu: invalid DataType %lld", el_pb_offset(m), (long long)v);
    *out = (el_dtype)v;
    return EL_OK;
}

/* TensorShapeProto. Attrs may leave dims (-1) or the rank unknown; a
 * TensorProto's shape must be fully known. */
static el_status gd_shape(el_pb *m, bool allow_unknown, el_shape *out)
{
    int rank = 0;
    bool unknown_rank = false;
    memset(out, 0, sizeof *out);
    while (!el_pb_done(m)) {
        uint32_t f = 0;
        int w = 0;
        uint64_t v = 0;
        EL_TRY(el_pb_tag(m, &f, &w));
        if (f == TS_DIM) {
            EL_TRY(gd_expect(m, "dim", f, w, EL_PB_LEN));
            size_t at = el_pb_offset(m);
            el_pb dm = {0};
            EL_TRY(el_pb_message(m, &dm));
            int64_t size = 0;
            while (!el_pb_done(&dm)) {
                EL_TRY(el_pb_tag(&dm, &f, &w));
                if (f == DIM_SIZE) {
                    EL_TRY(gd_expect(&dm, "size", f, w, EL_PB_VARINT));
                    EL_TRY(el_pb_varint(&dm, &v));
                    size = (int64_t)v;
                } else {
                    EL_TRY(el_pb_skip(&dm, f, w));
                }
            }
            if (rank == EL_MAX_DIMS)
                return el_error(EL_ERR_UNSUPPORTED, "offset %zu: shape has more than %d dimensions", at,
                                EL_MAX_DIMS);
            if (size < -1)
                return el_error(EL_ERR_FORMAT, "offset %zu: dimension %d is %lld, expected >= -1", at, rank,
                                (long long)size);
            if (size == -1 && !allow_unknown)
                return el_error(EL_ERR_FORMAT, "offset %zu: dimension %d is unknown (-1) in a tensor's shape", at,
                                rank);
            out->dims[rank++] = size;
        } else if (f == TS_UNKNOWN_RANK) {
            EL_TRY(gd_expect(m, "unknown_rank", f, w, EL_PB_VARINT));
            EL_TRY(el_pb_varint(m, &v));
            unknown_rank = v != 0;
        } else {
            EL_TRY(el_pb_skip(m, f, w));
        }
    }
    if (unknown_rank) {
        if (rank)
            return el_error(EL_ERR_FORMAT, "shape has unknown_rank set and %d dimensions", rank);
        if (!allow_unknown) return el_error(EL_ERR_FORMAT, "a tensor's shape has unknown rank");
        rank = -1;
    }
    out->rank = rank;
    return EL_OK;
}

/* The repeated field that carries values of a dtype (TensorProto comments):
 * int_val also holds uint8/int8/int16, half_val holds float16 bits. */
static uint32_t gd_value_field(el_dtype dt)
{
    switch (dt) {
    case EL_DT_FLOAT: return TP_FLOAT;
    case EL_DT_DOUBLE: return TP_DOUBLE;
    case EL_DT_INT32:
    case EL_DT_UINT8:
    case EL_DT_INT16:
    case EL_DT_INT8: return TP_INT;
    case EL_DT_INT64: return TP_INT64;
    case EL_DT_BOOL: return TP_BOOL;
    case EL_DT_HALF: return TP_HALF;
    case EL_DT_STRING: return TP_STRING;
    default: return 0;
    }
}

static const char *gd_value_name(uint32_t f, el_pb_scalar *kind)
{
    *kind = EL_PB_S_VARINT;
    switch (f) {
    case TP_FLOAT: *kind = EL_PB_S_FIXED32; return "float_val";
    case TP_DOUBLE: *kind = EL_PB_S_FIXED64; return "double_val";
    case TP_INT: return "int_val";
    case TP_INT64: return "int64_val";
    case TP_BOOL: return "bool_val";
    case TP_HALF: return "half_val";
    case TP_STRING: return "string_val";
    default: return NULL;
    }
}

/* Element i from a repeated-field value, converted as TensorFlow's
 * ProtoHelper does (a static_cast of the int32 for the narrow ints). */
static void gd_store(el_dtype dt, void *data, size_t i, uint64_t v)
{
    unsigned char *p = data;
    switch (dt) {
    case EL_DT_FLOAT: {
        uint32_t u = (uint32_t)v;
        memcpy(p + 4 * i, &u, 4);
        break;
    }
    case EL_DT_DOUBLE:
    case EL_DT_INT64: memcpy(p + 8 * i, &v, 8); break;
    case EL_DT_INT32: {
        uint32_t u = (uint32_t)v;
        memcpy(p + 4 * i, &u, 4);
        break;
    }
    case EL_DT_INT16:
    case EL_DT_HALF: {
        uint16_t u = (uint16_t)v;
        memcpy(p + 2 * i, &u, 2);
        break;
    }
    case EL_DT_UINT8:
    case EL_DT_INT8: p[i] = (unsigned char)v; break;
    case EL_DT_BOOL: p[i] = v != 0; break;
    default: break;
    }
}

/* TensorProto -> tensor. On failure *out is empty. */
static el_status gd_tensor(el_gd *gd, el_pb *m, el_tensor *out)
{
    memset(out, 0, sizeof *out);
    el_pb scan = *m;
    uint64_t dtv = 0;
    el_pb shape_msg = {0};
    bool has_shape = false;
    const uint8_t *content = NULL;
    size_t content_len = 0;
    size_t counts[TP_MAX] = {0};
    while (!el_pb_done(&scan)) {
        uint32_t f = 0;
        int w = 0;
        el_pb_scalar kind;
        EL_TRY(el_pb_tag(&scan, &f, &w));
        switch (f) {
        case TP_DTYPE:
            EL_TRY(gd_expect(&scan, "dtype", f, w, EL_PB_VARINT));
            EL_TRY(el_pb_varint(&scan, &dtv));
            EL_TRY(gd_dtype(&scan, dtv, &(el_dtype){0}));
            break;
        case TP_SHAPE:
            EL_TRY(gd_expect(&scan, "tensor_shape", f, w, EL_PB_LEN));
            EL_TRY(el_pb_message(&scan, &shape_msg));
            has_shape = true;
            break;
        case TP_CONTENT:
            EL_TRY(gd_expect(&scan, "tensor_content", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &content, &content_len));
            break;
        case TP_STRING: {
            const uint8_t *d = NULL;
            size_t n = 0;
            EL_TRY(gd_expect(&scan, "string_val", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &d, &n));
            counts[f]++;
            break;
        }
        case TP_FLOAT:
        case TP_DOUBLE:
        case TP_INT:
        case TP_INT64:
        case TP_BOOL:
        case TP_HALF: {
            const char *name = gd_value_name(f, &kind);
            el_pb_rep rep = {0};
            size_t n = 0;
            EL_TRY(el_pb_rep_begin(&scan, f, w, kind, name, &rep));
            EL_TRY(el_pb_rep_count(&rep, &n));
            counts[f] += n;
            break;
        }
        default: EL_TRY(el_pb_skip(&scan, f, w)); break;
        }
    }

    el_dtype dt = (el_dtype)dtv;
    uint32_t vfield = gd_value_field(dt);
    if (!vfield)
        return el_error(EL_ERR_UNSUPPORTED, "tensors of dtype %s (DataType %d) are not supported",
                        el_dtype_name(dt), (int)dt);
    size_t esize = el_dtype_size(dt);
    el_shape shape = {0};
    if (has_shape) EL_TRY(gd_shape(&shape_msg, false, &shape));

    /* Size first, with overflow checks, so an absurd declared shape is an
     * error and never an allocation attempt. */
    char sbuf[160];
    uint64_t numel = 1;
    bool zero = false;
    for (int i = 0; i < shape.rank; i++) zero |= shape.dims[i] == 0;
    if (zero) {
        numel = 0;
    } else {
        for (int i = 0; i < shape.rank; i++) {
            uint64_t d = (uint64_t)shape.dims[i];
            if (numel > (EL_TENSOR_MAX_BYTES / esize) / d)
                return el_error(EL_ERR_NOMEM, "tensor of shape %s (%s) is larger than the %zu-byte limit",
                                el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf), el_dtype_name(dt),
                                (size_t)EL_TENSOR_MAX_BYTES);
            numel *= d;
        }
    }
    size_t bytes = (size_t)numel * esize;
    void *data;

    if (content_len) {
        /* TensorFlow reads tensor_content whenever it is non-empty and then
         * ignores the typed fields. */
        if (dt == EL_DT_STRING)
            return el_error(EL_ERR_UNSUPPORTED, "string tensors in tensor_content are not supported");
        if (content_len != bytes)
            return el_error(EL_ERR_FORMAT, "tensor_content has %zu bytes, but shape %s of %s needs %zu",
                            content_len, el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf),
                            el_dtype_name(dt), bytes);
        /* A bool byte other than 0/1 is not a valid C bool: normalise a copy. */
        bool bad_bool = false;
        if (dt == EL_DT_BOOL)
            for (size_t i = 0; i < content_len && !bad_bool; i++) bad_bool = content[i] > 1;
        if ((uintptr_t)content % esize == 0 && !bad_bool) {
            data = (void *)(uintptr_t)content; /* the mapping is private and writable */
        } else {
            EL_TRY(gd_realign_alloc(gd, bytes, &data));
            memcpy(data, content, bytes);
            if (bad_bool)
                for (size_t i = 0; i < bytes; i++) ((unsigned char *)data)[i] = ((unsigned char *)data)[i] != 0;
        }
        return el_tensor_wrap(out, dt, shape.rank, shape.dims, data);
    }

    /* TensorFlow's rule for the typed fields: no values means zeros, fewer
     * values than elements repeat the last one. More is malformed. */
    size_t nvals = counts[vfield];
    el_pb_scalar kind;
    const char *vname = gd_value_name(vfield, &kind);
    if (nvals > numel)
        return el_error(EL_ERR_FORMAT, "%zu values in %s for shape %s, which has %llu elements", nvals, vname,
                        el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf), (unsigned long long)numel);
    if (nvals < numel) {
        size_t fill = ((size_t)numel - nvals) * esize;
        if (fill > EL_GD_MAX_FILL_BYTES - gd->fill_bytes)
            return el_error(EL_ERR_LIMIT,
                            "shape %s (%s) from %zu values would expand constants beyond %zu bytes",
                            el_shape_str(shape.rank, shape.dims, sbuf, sizeof sbuf), el_dtype_name(dt), nvals,
                            (size_t)EL_GD_MAX_FILL_BYTES);
        gd->fill_bytes += fill;
    }
    EL_TRY(el_graph_alloc(gd->g, bytes, &data));

    size_t i = 0;
    scan = *m;
    while (!el_pb_done(&scan) && i < nvals) {
        uint32_t f = 0;
        int w = 0;
        EL_TRY(el_pb_tag(&scan, &f, &w));
        if (f != vfield) {
            EL_TRY(el_pb_skip(&scan, f, w));
        } else if (f == TP_STRING) {
            const uint8_t *d = NULL;
            size_t n = 0;
            EL_TRY(el_pb_bytes(&scan, &d, &n));
            ((el_string *)data)[i++] = (el_string){(const char *)d, n};
        } else {
            el_pb_rep rep = {0};
            EL_TRY(el_pb_rep_begin(&scan, f, w, kind, vname, &rep));
            while (!el_pb_done(&rep.r) && i < nvals) {
                uint64_t v = 0;
                EL_TRY(el_pb_rep_next(&rep, &v));
                gd_store(dt, data, i++, v);
            }
        }
    }
    if (dt == EL_DT_STRING && nvals == 0) {
        for (size_t k = 0; k < numel; k++) ((el_string *)data)[k] = (el_string){el_gd_empty, 0};
    } else if (nvals && nvals < numel) {
        /* [run, filled) all hold the last value: doubling copies never overlap. */
        unsigned char *p = data;
        size_t run = nvals - 1, filled = nvals;
        while (filled < numel) {
            size_t c = filled - run;
            if (c > numel - filled) c = numel - filled;
            memcpy(p + filled * esize, p + run * esize, c * esize);
            filled += c;
        }
    }
    return el_tensor_wrap(out, dt, shape.rank, shape.dims, data);
}

static void gd_attr_release(el_attr *a)
{
    if (a->type == EL_ATTR_TENSOR) el_tensor_release(&a->v.tensor);
    if (a->type == EL_ATTR_LIST && a->v.list.elem == EL_ATTR_TENSOR)
        for (int i = 0; i < a->v.list.n; i++) el_tensor_release(&a->v.list.v.tensor[i]);
    a->type = EL_ATTR_NONE;
    memset(&a->v, 0, sizeof a->v);
}

/* NameAttrList: only the function's name is kept. */
static el_status gd_func_name(el_gd *gd, el_pb *m, el_string *out)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    while (!el_pb_done(m)) {
        uint32_t f = 0;
        int w = 0;
        EL_TRY(el_pb_tag(m, &f, &w));
        if (f == NAL_NAME) {
            EL_TRY(gd_expect(m, "name", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(m, &d, &n));
        } else {
            EL_TRY(el_pb_skip(m, f, w));
        }
    }
    const char *s;
    EL_TRY(gd_name(gd, d, n, m, "function name", &s));
    *out = (el_string){s, n};
    return EL_OK;
}

static const char *const gd_list_names[LV_MAX] = {
    [LV_S] = "s", [LV_I] = "i", [LV_F] = "f", [LV_B] = "b", [LV_TYPE] = "type",
    [LV_SHAPE] = "shape", [LV_TENSOR] = "tensor", [LV_FUNC] = "func",
};

/* ListValue. On failure out->n counts the tensors that need releasing. */
static el_status gd_list(el_gd *gd, el_pb *m, el_attr_list *out)
{
    memset(out, 0, sizeof *out);
    size_t cnt[LV_MAX] = {0};
    el_pb scan = *m;
    while (!el_pb_done(&scan)) {
        uint32_t f = 0;
        int w = 0;
        EL_TRY(el_pb_tag(&scan, &f, &w));
        el_pb_scalar kind = f == LV_F ? EL_PB_S_FIXED32 : EL_PB_S_VARINT;
        switch (f) {
        case LV_S:
        case LV_SHAPE:
        case LV_TENSOR:
        case LV_FUNC: {
            const uint8_t *d = NULL;
            size_t n = 0;
            EL_TRY(gd_expect(&scan, gd_list_names[f], f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &d, &n));
            cnt[f]++;
            break;
        }
        case LV_I:
        case LV_F:
        case LV_B:
        case LV_TYPE: {
            el_pb_rep rep = {0};
            size_t n = 0;
            EL_TRY(el_pb_rep_begin(&scan, f, w, kind, gd_list_names[f], &rep));
            EL_TRY(el_pb_rep_count(&rep, &n));
            cnt[f] += n;
            break;
        }
        default: EL_TRY(el_pb_skip(&scan, f, w)); break;
        }
    }
    uint32_t which = 0;
    size_t n = 0;
    for (uint32_t f = LV_S; f < LV_MAX; f++) {
        if (!cnt[f]) continue;
        if (which)
            return el_error(EL_ERR_FORMAT, "list holds values of two kinds (%s and %s)", gd_list_names[which],
                            gd_list_names[f]);
        which = f;
        n = cnt[f];
    }
    if (!which) return EL_OK; /* an empty list: elem NONE */
    if (n > EL_GD_MAX_COUNT)
        return el_error(EL_ERR_LIMIT, "list of %zu values exceeds the limit of %d", n, EL_GD_MAX_COUNT);

    size_t esz = 0;
    switch (which) {
    case LV_S:
    case LV_FUNC: esz = sizeof(el_string); out->elem = which == LV_S ? EL_ATTR_S : EL_ATTR_FUNC; break;
    case LV_I: esz = sizeof(int64_t); out->elem = EL_ATTR_I; break;
    case LV_F: esz = sizeof(float); out->elem = EL_ATTR_F; break;
    case LV_B: esz = sizeof(bool); out->elem = EL_ATTR_B; break;
    case LV_TYPE: esz = sizeof(el_dtype); out->elem = EL_ATTR_TYPE; break;
    case LV_SHAPE: esz = sizeof(el_shape); out->elem = EL_ATTR_SHAPE; break;
    default: esz = sizeof(el_tensor); out->elem = EL_ATTR_TENSOR; break;
    }
    void *arr;
    EL_TRY(el_graph_alloc(gd->g, n * esz, &arr));
    out->v.i = arr; /* every member of the union is a pointer to the array */

    size_t i = 0;
    scan = *m;
    while (!el_pb_done(&scan) && i < n) {
        uint32_t f = 0;
        int w = 0;
        EL_TRY(el_pb_tag(&scan, &f, &w));
        if (f != which) {
            EL_TRY(el_pb_skip(&scan, f, w));
            continue;
        }
        if (which == LV_I || which == LV_F || which == LV_B || which == LV_TYPE) {
            el_pb_rep rep = {0};
            EL_TRY(el_pb_rep_begin(&scan, f, w, which == LV_F ? EL_PB_S_FIXED32 : EL_PB_S_VARINT,
                                   gd_list_names[f], &rep));
            while (!el_pb_done(&rep.r) && i < n) {
                uint64_t v = 0;
                EL_TRY(el_pb_rep_next(&rep, &v));
                switch (which) {
                case LV_I: ((int64_t *)arr)[i] = (int64_t)v; break;
                case LV_F: {
                    uint32_t u = (uint32_t)v;
                    memcpy((float *)arr + i, &u, 4);
                    break;
                }
                case LV_B: ((bool *)arr)[i] = v != 0; break;
                default: EL_TRY(gd_dtype(&rep.r, v, (el_dtype *)arr + i)); break;
                }
                i++;
            }
            continue;
        }
        if (which == LV_S) {
            const uint8_t *d = NULL;
            size_t len = 0;
            const char *s;
            EL_TRY(el_pb_bytes(&scan, &d, &len));
            EL_TRY(el_graph_strdup(gd->g, (const char *)d, len, &s));
            ((el_string *)arr)[i++] = (el_string){s, len};
            continue;
        }
        el_pb sub = {0};
        EL_TRY(el_pb_message(&scan, &sub));
        el_status s = EL_OK;
        if (which == LV_SHAPE) {
            s = gd_shape(&sub, true, (el_shape *)arr + i);
        } else if (which == LV_FUNC) {
            s = gd_func_name(gd, &sub, (el_string *)arr + i);
        } else {
            s = gd_tensor(gd, &sub, (el_tensor *)arr + i);
            if (s == EL_OK) out->n = (int)i + 1;
        }
        if (s != EL_OK) return el_error_prefix(s, "list element %zu: ", i);
        i++;
    }
    out->n = (int)n;
    return EL_OK;
}

/* AttrValue. A oneof: when a writer set several members the last wins
 * (protobuf rule). On failure *a is released and NONE. */
static el_status gd_attr_value(el_gd *gd, el_pb *m, el_attr *a)
{
    el_status s = EL_OK;
    while (s == EL_OK && !el_pb_done(m)) {
        uint32_t f = 0;
        int w = 0;
        uint64_t v = 0;
        uint32_t u = 0;
        const uint8_t *d = NULL;
        size_t n = 0;
        el_pb sub = {0};
        if ((s = el_pb_tag(m, &f, &w)) != EL_OK) break;
        switch (f) {
        case AV_LIST:
            if ((s = gd_expect(m, "list", f, w, EL_PB_LEN)) || (s = el_pb_message(m, &sub))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_LIST;
            s = gd_list(gd, &sub, &a->v.list);
            break;
        case AV_S:
        case AV_PLACEHOLDER: {
            const char *str;
            if ((s = gd_expect(m, f == AV_S ? "s" : "placeholder", f, w, EL_PB_LEN)) ||
                (s = el_pb_bytes(m, &d, &n)) || (s = el_graph_strdup(gd->g, (const char *)d, n, &str)))
                break;
            gd_attr_release(a);
            a->type = f == AV_S ? EL_ATTR_S : EL_ATTR_PLACEHOLDER;
            a->v.s = (el_string){str, n};
            break;
        }
        case AV_I:
            if ((s = gd_expect(m, "i", f, w, EL_PB_VARINT)) || (s = el_pb_varint(m, &v))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_I;
            a->v.i = (int64_t)v;
            break;
        case AV_F:
            if ((s = gd_expect(m, "f", f, w, EL_PB_I32)) || (s = el_pb_fixed32(m, &u))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_F;
            memcpy(&a->v.f, &u, 4);
            break;
        case AV_B:
            if ((s = gd_expect(m, "b", f, w, EL_PB_VARINT)) || (s = el_pb_varint(m, &v))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_B;
            a->v.b = v != 0;
            break;
        case AV_TYPE: {
            el_dtype dt = 0;
            if ((s = gd_expect(m, "type", f, w, EL_PB_VARINT)) || (s = el_pb_varint(m, &v)) ||
                (s = gd_dtype(m, v, &dt)))
                break;
            gd_attr_release(a);
            a->type = EL_ATTR_TYPE;
            a->v.type = dt;
            break;
        }
        case AV_SHAPE:
            if ((s = gd_expect(m, "shape", f, w, EL_PB_LEN)) || (s = el_pb_message(m, &sub))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_SHAPE;
            s = gd_shape(&sub, true, &a->v.shape);
            break;
        case AV_TENSOR:
            if ((s = gd_expect(m, "tensor", f, w, EL_PB_LEN)) || (s = el_pb_message(m, &sub))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_TENSOR;
            s = gd_tensor(gd, &sub, &a->v.tensor);
            break;
        case AV_FUNC:
            if ((s = gd_expect(m, "func", f, w, EL_PB_LEN)) || (s = el_pb_message(m, &sub))) break;
            gd_attr_release(a);
            a->type = EL_ATTR_FUNC;
            s = gd_func_name(gd, &sub, &a->v.s);
            break;
        default: s = el_pb_skip(m, f, w); break;
        }
    }
    if (s != EL_OK) gd_attr_release(a);
    return s;
}

/* One map<string, AttrValue> entry. The key is found first so that errors
 * in the value can name the attr. */
static el_status gd_attr_entry(el_gd *gd, el_pb *m, int k, el_attr *a)
{
    el_pb scan = *m, val;
    const uint8_t *key = NULL;
    size_t klen = 0;
    bool has_val = false;
    el_status s = EL_OK;
    memset(a, 0, sizeof *a);
    while (s == EL_OK && !el_pb_done(&scan)) {
        uint32_t f = 0;
        int w = 0;
        if ((s = el_pb_tag(&scan, &f, &w)) != EL_OK) break;
        if (f == ME_KEY) {
            if ((s = gd_expect(&scan, "key", f, w, EL_PB_LEN)) == EL_OK) s = el_pb_bytes(&scan, &key, &klen);
        } else if (f == ME_VALUE) {
            if ((s = gd_expect(&scan, "value", f, w, EL_PB_LEN)) == EL_OK) s = el_pb_message(&scan, &val);
            has_val = true;
        } else {
            s = el_pb_skip(&scan, f, w);
        }
    }
    if (s == EL_OK && klen == 0) s = el_error(EL_ERR_FORMAT, "offset %zu: attr has an empty name", el_pb_offset(m));
    if (s == EL_OK) s = gd_name(gd, key, klen, m, "attr name", &a->name);
    if (s != EL_OK) return el_error_prefix(s, "attr #%d: ", k);
    if (has_val && (s = gd_attr_value(gd, &val, a)) != EL_OK)
        return el_error_prefix(s, "attr '%s': ", a->name);
    return EL_OK;
}

static int gd_attr_cmp(const void *x, const void *y)
{
    return strcmp(((const el_attr *)x)->name, ((const el_attr *)y)->name);
}

/* Pass 1 over a NodeDef: the name and op (for messages) and the array sizes.
 * name_out/nl_out get the name as soon as it is seen, for the caller's message. */
static el_status gd_node_fields(el_gd *gd, el_pb *m, el_node *node, const uint8_t **name_out, size_t *nl_out)
{
    el_pb scan = *m;
    const uint8_t *name = NULL, *op = NULL, *dev = NULL;
    size_t nl = 0, ol = 0, dl = 0, nin = 0, nat = 0;
    while (!el_pb_done(&scan)) {
        uint32_t f = 0;
        int w = 0;
        const uint8_t *d = NULL;
        size_t n = 0;
        EL_TRY(el_pb_tag(&scan, &f, &w));
        switch (f) {
        case ND_NAME:
            EL_TRY(gd_expect(&scan, "name", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &name, &nl));
            *name_out = name;
            *nl_out = nl;
            break;
        case ND_OP:
            EL_TRY(gd_expect(&scan, "op", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &op, &ol));
            break;
        case ND_DEVICE:
            EL_TRY(gd_expect(&scan, "device", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &dev, &dl));
            break;
        case ND_INPUT:
        case ND_ATTR:
            EL_TRY(gd_expect(&scan, f == ND_INPUT ? "input" : "attr", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &d, &n));
            if (f == ND_INPUT) nin++;
            else nat++;
            break;
        default: EL_TRY(el_pb_skip(&scan, f, w)); break;
        }
    }
    EL_TRY(gd_name(gd, name, nl, m, "node name", &node->name));
    EL_TRY(gd_name(gd, op, ol, m, "op name", &node->op));
    EL_TRY(gd_name(gd, dev, dl, m, "device", &node->device));
    if (nin > EL_GD_MAX_COUNT || nat > EL_GD_MAX_COUNT)
        return el_error(EL_ERR_LIMIT, "%zu inputs and %zu attrs exceed the limit of %d", nin, nat, EL_GD_MAX_COUNT);
    if (nin) EL_TRY(el_graph_alloc(gd->g, nin * sizeof(const char *), &node->input_names));
    if (nat) EL_TRY(el_graph_alloc(gd->g, nat * sizeof(el_attr), &node->attrs));
    return EL_OK;
}

static el_status gd_node(el_gd *gd, el_pb *m, int idx, el_node *node)
{
    const uint8_t *name = NULL;
    size_t nl = 0;
    el_status s = gd_node_fields(gd, m, node, &name, &nl);
    if (s != EL_OK) {
        if (nl) return el_error_prefix(s, "node '%.*s': ", (int)(nl < 200 ? nl : 200), (const char *)name);
        return el_error_prefix(s, "node #%d: ", idx);
    }
    /* Pass 2: inputs and attrs. node->nattrs counts the finished attrs, which
     * el_graph_free releases should a later one fail. */
    int nin = 0;
    while (s == EL_OK && !el_pb_done(m)) {
        uint32_t f = 0;
        int w = 0;
        const uint8_t *d = NULL;
        size_t n = 0;
        el_pb sub = {0};
        if ((s = el_pb_tag(m, &f, &w)) != EL_OK) break;
        if (f == ND_INPUT) {
            if ((s = el_pb_bytes(m, &d, &n)) == EL_OK) {
                s = gd_name(gd, d, n, m, "input", &node->input_names[nin]);
                if (s == EL_OK && n == 0) s = el_error(EL_ERR_FORMAT, "input #%d is empty", nin);
                nin++;
            }
        } else if (f == ND_ATTR) {
            if ((s = el_pb_message(m, &sub)) == EL_OK &&
                (s = gd_attr_entry(gd, &sub, node->nattrs, &node->attrs[node->nattrs])) == EL_OK)
                node->nattrs++;
        } else {
            s = el_pb_skip(m, f, w);
        }
    }
    node->ninputs = nin;
    if (s == EL_OK && node->nattrs > 1) {
        /* A map has unique keys; attrs are kept sorted by name. */
        qsort(node->attrs, (size_t)node->nattrs, sizeof(el_attr), gd_attr_cmp);
        for (int k = 1; k < node->nattrs && s == EL_OK; k++)
            if (strcmp(node->attrs[k - 1].name, node->attrs[k].name) == 0)
                s = el_error(EL_ERR_FORMAT, "attr '%s' is given twice", node->attrs[k].name);
    }
    if (s != EL_OK) {
        if (node->name[0]) return el_error_prefix(s, "node '%s' (op %s): ", node->name, node->op);
        return el_error_prefix(s, "node #%d (op %s): ", idx, node->op);
    }
    return EL_OK;
}

static el_status gd_nodes(el_gd *gd, const uint8_t *data, size_t size)
{
    el_graph *g = gd->g;
    el_pb r, scan;
    el_pb_init(&r, data, size);
    scan = r;
    size_t count = 0;
    while (!el_pb_done(&scan)) {
        uint32_t f = 0;
        int w = 0;
        const uint8_t *d = NULL;
        size_t n = 0;
        EL_TRY(el_pb_tag(&scan, &f, &w));
        if (f == GD_NODE) {
            EL_TRY(gd_expect(&scan, "node", f, w, EL_PB_LEN));
            EL_TRY(el_pb_bytes(&scan, &d, &n));
            count++;
        } else {
            /* library (2), version (3), versions (4): not needed to run. */
            EL_TRY(el_pb_skip(&scan, f, w));
        }
    }
    if (count == 0) return el_error(EL_ERR_FORMAT, "no nodes (is this a GraphDef?)");
    if (count > EL_GD_MAX_NODES)
        return el_error(EL_ERR_LIMIT, "%zu nodes exceed the limit of %d", count, EL_GD_MAX_NODES);
    EL_TRY(el_graph_alloc(g, count * sizeof(el_node), &g->nodes));
    g->nnodes = (int)count;
    int idx = 0;
    while (!el_pb_done(&r)) {
        uint32_t f = 0;
        int w = 0;
        el_pb sub = {0};
        EL_TRY(el_pb_tag(&r, &f, &w));
        if (f != GD_NODE) {
            EL_TRY(el_pb_skip(&r, f, w));
            continue;
        }
        EL_TRY(el_pb_message(&r, &sub));
        EL_TRY(gd_node(gd, &sub, idx, &g->nodes[idx]));
        idx++;
    }
    return EL_OK;
}

static int gd_range_cmp(const void *a, const void *b)
{
    const uintptr_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void gd_range_add(const el_graph *g, const el_tensor *t, uintptr_t *r, size_t *n)
{
    uintptr_t m = (uintptr_t)g->mapping, d = (uintptr_t)t->data;
    if (!t->data || d < m || d >= m + g->mapping_size) return;
    r[2 * *n] = d;
    r[2 * *n + 1] = d + el_tensor_nbytes(t);
    ++*n;
}

/* Hands back the pages of a file mapping that no tensor points into:
 * clean file pages, so anything that touches them later reads the same
 * bytes again. Best effort: without memory for the list, nothing changes. */
static void gd_release_unreferenced(el_graph *g)
{
#if defined(MADV_DONTNEED)
    size_t cap = 0, n = 0;
    for (int i = 0; i < g->nnodes; i++)
        for (int a = 0; a < g->nodes[i].nattrs; a++) {
            const el_attr *at = &g->nodes[i].attrs[a];
            if (at->type == EL_ATTR_TENSOR) cap++;
            if (at->type == EL_ATTR_LIST && at->v.list.elem == EL_ATTR_TENSOR) cap += (size_t)at->v.list.n;
        }
    uintptr_t *r = malloc(sizeof *r * 2 * (cap + 1));
    if (!r) return;
    for (int i = 0; i < g->nnodes; i++)
        for (int a = 0; a < g->nodes[i].nattrs; a++) {
            const el_attr *at = &g->nodes[i].attrs[a];
            if (at->type == EL_ATTR_TENSOR) gd_range_add(g, &at->v.tensor, r, &n);
            if (at->type == EL_ATTR_LIST && at->v.list.elem == EL_ATTR_TENSOR)
                for (int k = 0; k < at->v.list.n; k++) gd_range_add(g, &at->v.list.v.tensor[k], r, &n);
        }
    qsort(r, n, sizeof *r * 2, gd_range_cmp);
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t pm = pg > 0 ? (uintptr_t)pg - 1 : 4095;
    uintptr_t from = (uintptr_t)g->mapping, end = from + g->mapping_size;
    for (size_t i = 0; i <= n; i++) {
        uintptr_t to = i < n ? r[2 * i] : end; /* the gap [from, to) */
        uintptr_t a = (from + pm) & ~pm, z = i < n ? to & ~pm : (to + pm) & ~pm;
        if (z > a) (void)madvise((void *)a, z - a, MADV_DONTNEED);
        if (i < n && r[2 * i + 1] > from) from = r[2 * i + 1];
    }
    free(r);
#else
    (void)g;
#endif
}

/* Parses g->mapping into g; on failure the caller frees g. */
static el_status gd_parse(el_graph *g, bool file_backed)
{
    el_gd gd = {.g = g};
    el_status s = gd_nodes(&gd, g->mapping, g->mapping_size);
    gd_realign_trim(&gd);
    if (s != EL_OK) return el_error_prefix(s, "%s: ", g->source);
    EL_TRY(el_graph_drop_private(g));
    EL_TRY(el_graph_index(g)); /* its messages already name the file */
    if (file_backed) gd_release_unreferenced(g);
    return EL_OK;
}

/* Parses a GraphDef held in `map` (a private mapping the graph takes over,
 * also on failure). */
static el_status gd_parse_mapping(void *map, size_t size, const char *source, bool file_backed, el_graph **out)
{
    el_graph *g;
    el_status s = el_graph_new(source, &g);
    if (s != EL_OK) {
        munmap(map, size);
        return s;
    }
    g->mapping = map;
    g->mapping_size = size;
    if ((s = gd_parse(g, file_backed)) != EL_OK) {
        el_graph_free(g);
        return s;
    }
    *out = g;
    return EL_OK;
}

el_status el_graph_load(const char *path, el_graph **out)
{
    if (!out || !path) return el_error(EL_ERR_INVALID_ARG, "el_graph_load: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return el_error(EL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return el_error(EL_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return el_error(EL_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return el_error(EL_ERR_FORMAT, "%s: empty file, not a GraphDef", path);
    }
    size_t size = (size_t)st.st_size;
    /* Private and writable: a pass that rewrites a Const in place gets its
     * own copy of the page instead of a fault. */
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return el_error(EL_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(e));
#if defined(MADV_POPULATE_READ)
    /* Every page is read by the walk or by the passes after it: map them
     * all in one call (a hint; older kernels refuse it). */
    (void)madvise(map, size, MADV_POPULATE_READ);
#endif
    return gd_parse_mapping(map, size, path, true, out);
}

el_status el_graph_parse(const void *data, size_t size, const char *source, el_graph **out)
{
    if (!out || (!data && size)) return el_error(EL_ERR_INVALID_ARG, "el_graph_parse: NULL argument");
    *out = NULL;
    if (!source) source = "<memory>";
    if (size == 0) return el_error(EL_ERR_FORMAT, "%s: empty buffer, not a GraphDef", source);
    /* One private copy that the graph owns, so the caller may free `data`
     * and Consts can point into it exactly as into a mapped file. */
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return el_error(EL_ERR_NOMEM, "%s: cannot allocate %zu bytes: %s", source, size, strerror(errno));
    memcpy(map, data, size);
    return gd_parse_mapping(map, size, source, false, out);
}
