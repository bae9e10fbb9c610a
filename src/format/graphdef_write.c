/* el_graph -> binary GraphDef, and el_graph -> TF.js graph model.
 *
 * The protobuf side is a minimal writer of the wire format: a message is
 * written after its length, and that length is found by running the same
 * writer in counting mode (no buffer), so nothing is copied twice and the
 * output buffer is allocated once at its exact size. Field numbers are
 * TensorFlow's (graph.proto, node_def.proto, attr_value.proto, tensor.proto,
 * tensor_shape.proto), the same ones graphdef.c reads. */
#include "format/graphdef_write.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/broadcast.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor_content and TF.js shards are little-endian; a big-endian host needs byte swapping here"
#endif

/* Wire types, and the fields written (see graphdef.c for the reader). */
enum { PW_VARINT = 0, PW_LEN = 2, PW_I32 = 5 };
enum { GD_NODE = 1 };
enum { ND_NAME = 1, ND_OP = 2, ND_INPUT = 3, ND_DEVICE = 4, ND_ATTR = 5 };
enum { ME_KEY = 1, ME_VALUE = 2 };
enum { AV_LIST = 1, AV_S = 2, AV_I = 3, AV_F = 4, AV_B = 5, AV_TYPE = 6, AV_SHAPE = 7, AV_TENSOR = 8,
       AV_PLACEHOLDER = 9, AV_FUNC = 10 };
enum { LV_S = 2, LV_I = 3, LV_F = 4, LV_B = 5, LV_TYPE = 6, LV_SHAPE = 7, LV_TENSOR = 8, LV_FUNC = 9 };
enum { NAL_NAME = 1 };
enum { TP_DTYPE = 1, TP_SHAPE = 2, TP_CONTENT = 4, TP_STRING = 8 };
enum { TS_DIM = 2, TS_UNKNOWN_RANK = 3 };
enum { DIM_SIZE = 1 };

/* ------------------------------------------------------------ protobuf */

typedef struct pw {
    unsigned char *buf; /* NULL: only count */
    size_t len;
} pw;

typedef void (*pw_fn)(pw *w, const void *ctx);

static void pw_raw(pw *w, const void *d, size_t n)
{
    if (w->buf && n) memcpy(w->buf + w->len, d, n);
    w->len += n;
}

static size_t pw_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7) n++;
    return n;
}

static void pw_varint(pw *w, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    pw_raw(w, b, n);
}

static void pw_key(pw *w, uint32_t field, int wire) { pw_varint(w, ((uint64_t)field << 3) | (uint64_t)wire); }

static void pw_uint(pw *w, uint32_t field, uint64_t v)
{
    pw_key(w, field, PW_VARINT);
    pw_varint(w, v);
}

static void pw_bytes(pw *w, uint32_t field, const void *d, size_t n)
{
    pw_key(w, field, PW_LEN);
    pw_varint(w, n);
    pw_raw(w, d, n);
}

static void pw_str(pw *w, uint32_t field, const char *s) { pw_bytes(w, field, s, strlen(s)); }

/* A sub-message: its size by a counting run, then its bytes. */
static void pw_msg(pw *w, uint32_t field, pw_fn fn, const void *ctx)
{
    pw c = {0};
    fn(&c, ctx);
    pw_key(w, field, PW_LEN);
    pw_varint(w, c.len);
    if (w->buf) fn(w, ctx);
    else w->len += c.len;
}

static void pw_dim(pw *w, const void *ctx)
{
    int64_t size = *(const int64_t *)ctx;
    if (size != 0) pw_uint(w, DIM_SIZE, (uint64_t)size); /* proto3 omits zeros */
}

static void pw_shape(pw *w, const void *ctx)
{
    const el_shape *s = ctx;
    if (s->rank < 0) {
        pw_uint(w, TS_UNKNOWN_RANK, 1);
        return;
    }
    for (int i = 0; i < s->rank; i++) pw_msg(w, TS_DIM, pw_dim, &s->dims[i]);
}

static void pw_tensor(pw *w, const void *ctx)
{
    const el_tensor *t = ctx;
    el_shape s = {.rank = t->ndim};
    for (int i = 0; i < t->ndim; i++) s.dims[i] = t->dims[i];
    if (t->dtype != EL_DT_INVALID) pw_uint(w, TP_DTYPE, (uint64_t)t->dtype);
    /* TensorFlow always sets the shape, a scalar's as an empty message. */
    pw_msg(w, TP_SHAPE, pw_shape, &s);
    int64_t n = el_tensor_numel(t);
    if (t->dtype == EL_DT_STRING) {
        for (int64_t i = 0; i < n; i++) {
            const el_string *e = (const el_string *)t->data + i;
            pw_bytes(w, TP_STRING, e->data, e->len);
        }
    } else if (n > 0) {
        pw_bytes(w, TP_CONTENT, t->data, el_tensor_nbytes(t));
    }
}

static void pw_func(pw *w, const void *ctx)
{
    const el_string *s = ctx;
    pw_bytes(w, NAL_NAME, s->data, s->len);
}

/* Packed repeated scalars (proto3's encoding for them). */
static void pw_packed_varints(pw *w, uint32_t field, const el_attr_list *l)
{
    size_t n = 0;
    for (int i = 0; i < l->n; i++) {
        uint64_t v = l->elem == EL_ATTR_I ? (uint64_t)l->v.i[i]
                     : l->elem == EL_ATTR_B ? (uint64_t)(l->v.b[i] ? 1 : 0)
                                            : (uint64_t)l->v.type[i];
        n += pw_varint_size(v);
    }
    pw_key(w, field, PW_LEN);
    pw_varint(w, n);
    for (int i = 0; i < l->n; i++) {
        uint64_t v = l->elem == EL_ATTR_I ? (uint64_t)l->v.i[i]
                     : l->elem == EL_ATTR_B ? (uint64_t)(l->v.b[i] ? 1 : 0)
                                            : (uint64_t)l->v.type[i];
        pw_varint(w, v);
    }
}

static void pw_list(pw *w, const void *ctx)
{
    const el_attr_list *l = ctx;
    if (l->n == 0) return;
    switch (l->elem) {
    case EL_ATTR_S:
        for (int i = 0; i < l->n; i++) pw_bytes(w, LV_S, l->v.s[i].data, l->v.s[i].len);
        break;
    case EL_ATTR_I: pw_packed_varints(w, LV_I, l); break;
    case EL_ATTR_B: pw_packed_varints(w, LV_B, l); break;
    case EL_ATTR_TYPE: pw_packed_varints(w, LV_TYPE, l); break;
    case EL_ATTR_F:
        pw_key(w, LV_F, PW_LEN);
        pw_varint(w, 4 * (size_t)l->n);
        pw_raw(w, l->v.f, 4 * (size_t)l->n);
        break;
    case EL_ATTR_SHAPE:
        for (int i = 0; i < l->n; i++) pw_msg(w, LV_SHAPE, pw_shape, &l->v.shape[i]);
        break;
    case EL_ATTR_TENSOR:
        for (int i = 0; i < l->n; i++) pw_msg(w, LV_TENSOR, pw_tensor, &l->v.tensor[i]);
        break;
    case EL_ATTR_FUNC:
        for (int i = 0; i < l->n; i++) pw_msg(w, LV_FUNC, pw_func, &l->v.s[i]);
        break;
    default: break;
    }
}

static void pw_attr_value(pw *w, const void *ctx)
{
    const el_attr *a = ctx;
    switch (a->type) {
    case EL_ATTR_S: pw_bytes(w, AV_S, a->v.s.data, a->v.s.len); break;
    case EL_ATTR_PLACEHOLDER: pw_bytes(w, AV_PLACEHOLDER, a->v.s.data, a->v.s.len); break;
    case EL_ATTR_I: pw_uint(w, AV_I, (uint64_t)a->v.i); break;
    case EL_ATTR_F:
        pw_key(w, AV_F, PW_I32);
        pw_raw(w, &a->v.f, 4);
        break;
    case EL_ATTR_B: pw_uint(w, AV_B, a->v.b ? 1 : 0); break;
    case EL_ATTR_TYPE: pw_uint(w, AV_TYPE, (uint64_t)a->v.type); break;
    case EL_ATTR_SHAPE: pw_msg(w, AV_SHAPE, pw_shape, &a->v.shape); break;
    case EL_ATTR_TENSOR: pw_msg(w, AV_TENSOR, pw_tensor, &a->v.tensor); break;
    case EL_ATTR_LIST: pw_msg(w, AV_LIST, pw_list, &a->v.list); break;
    case EL_ATTR_FUNC: pw_msg(w, AV_FUNC, pw_func, &a->v.s); break;
    default: break; /* a value never set: an empty AttrValue */
    }
}

static void pw_attr_entry(pw *w, const void *ctx)
{
    const el_attr *a = ctx;
    pw_str(w, ME_KEY, a->name);
    pw_msg(w, ME_VALUE, pw_attr_value, a);
}

static int gw_attr_ptr_cmp(const void *x, const void *y)
{
    return strcmp((*(const el_attr *const *)x)->name, (*(const el_attr *const *)y)->name);
}

typedef struct pw_node_ctx {
    const el_node *node;
    const el_attr **sorted; /* attrs by name */
} pw_node_ctx;

static void pw_node(pw *w, const void *ctx)
{
    const pw_node_ctx *c = ctx;
    const el_node *n = c->node;
    pw_str(w, ND_NAME, n->name);
    pw_str(w, ND_OP, n->op);
    for (int i = 0; i < n->ninputs; i++) pw_str(w, ND_INPUT, n->input_names[i]);
    if (n->device && n->device[0]) pw_str(w, ND_DEVICE, n->device);
    for (int i = 0; i < n->nattrs; i++) pw_msg(w, ND_ATTR, pw_attr_entry, c->sorted[i]);
}

/* Tensors the writer can encode: what the loaders produce. */
static el_status gw_check_tensor(const el_node *n, const el_attr *a, const el_tensor *t)
{
    if (t->dtype == EL_DT_STRING || (el_dtype_size(t->dtype) && t->dtype != EL_DT_RESOURCE && t->dtype != EL_DT_VARIANT))
        return EL_OK;
    return el_error(EL_ERR_UNSUPPORTED, "node '%s' (op %s): attr '%s' holds a %s tensor, which cannot be written",
                    n->name, n->op, a->name, el_dtype_name(t->dtype));
}

static el_status gw_check_node(const el_node *n)
{
    for (int k = 0; k < n->nattrs; k++) {
        const el_attr *a = &n->attrs[k];
        if (a->type == EL_ATTR_TENSOR) EL_TRY(gw_check_tensor(n, a, &a->v.tensor));
        if (a->type == EL_ATTR_LIST && a->v.list.elem == EL_ATTR_TENSOR)
            for (int i = 0; i < a->v.list.n; i++) EL_TRY(gw_check_tensor(n, a, &a->v.list.v.tensor[i]));
    }
    return EL_OK;
}

el_status el_graphdef_serialize(const el_graph *g, unsigned char **out, size_t *len)
{
    if (!g || !out || !len) return el_error(EL_ERR_INVALID_ARG, "el_graphdef_serialize: NULL argument");
    *out = NULL;
    *len = 0;
    int maxattrs = 0;
    for (int i = 0; i < g->nnodes; i++) {
        EL_TRY(gw_check_node(&g->nodes[i]));
        if (g->nodes[i].nattrs > maxattrs) maxattrs = g->nodes[i].nattrs;
    }
    const el_attr **sorted = malloc(sizeof *sorted * (size_t)(maxattrs ? maxattrs : 1));
    if (!sorted) return el_error(EL_ERR_NOMEM, "out of memory");
    /* Pass 0 counts, pass 1 writes into a buffer of exactly that size. */
    pw w = {0};
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            total = w.len;
            w = (pw){.buf = malloc(total ? total : 1)};
            if (!w.buf) {
                free(sorted);
                return el_error(EL_ERR_NOMEM, "no memory for a %zu-byte GraphDef", total);
            }
        }
        for (int i = 0; i < g->nnodes; i++) {
            const el_node *n = &g->nodes[i];
            for (int k = 0; k < n->nattrs; k++) sorted[k] = &n->attrs[k];
            /* Sorted keys: TensorFlow's deterministic serialization of a map. */
            qsort(sorted, (size_t)n->nattrs, sizeof *sorted, gw_attr_ptr_cmp);
            pw_node_ctx c = {n, sorted};
            pw_msg(&w, GD_NODE, pw_node, &c);
        }
    }
    free(sorted);
    if (w.len != total) {
        free(w.buf);
        return el_error(EL_ERR_RUNTIME, "GraphDef writer: counted %zu bytes, wrote %zu", total, w.len);
    }
    *out = w.buf;
    *len = w.len;
    return EL_OK;
}

/* ------------------------------------------------------------ files */

/* Writes the parts to a temporary file beside `path` and renames it into
 * place: no partial output on failure, and the input may be the output (a
 * .pb stays mapped from the old inode). */
static el_status gw_write_file(const char *path, const void *const *parts, const size_t *lens, int nparts)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
        return el_error(EL_ERR_INVALID_ARG, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return el_error(EL_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    el_status s = EL_OK;
    for (int i = 0; i < nparts && s == EL_OK; i++) {
        const unsigned char *p = parts[i];
        size_t left = lens[i];
        while (left) {
            ssize_t r = write(fd, p, left);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                s = el_error(EL_ERR_IO, "%s: write failed: %s", path, r < 0 ? strerror(errno) : "no progress");
                break;
            }
            p += r;
            left -= (size_t)r;
        }
    }
    if (fchmod(fd, 0644) != 0 && s == EL_OK) s = el_error(EL_ERR_IO, "%s: chmod: %s", path, strerror(errno));
    if (close(fd) != 0 && s == EL_OK) s = el_error(EL_ERR_IO, "%s: close: %s", path, strerror(errno));
    if (s == EL_OK && rename(tmp, path) != 0) s = el_error(EL_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (s != EL_OK) unlink(tmp);
    return s;
}

el_status el_graphdef_write(const el_graph *g, const char *path)
{
    if (!path) return el_error(EL_ERR_INVALID_ARG, "el_graphdef_write: NULL path");
    unsigned char *buf = NULL;
    size_t len = 0;
    EL_TRY(el_graphdef_serialize(g, &buf, &len));
    const void *parts[1] = {buf};
    el_status s = gw_write_file(path, parts, &len, 1);
    free(buf);
    return s;
}

/* ------------------------------------------------------------ TF.js */

const char *el_tfjs_shard_name(const char *json_path, char *buf, size_t cap)
{
    const char *base = strrchr(json_path, '/');
    base = base ? base + 1 : json_path;
    size_t n = strlen(base);
    if (n > 5 && el_tfjs_is_json_path(base)) n -= 5;
    if (!strcmp(base, "model.json") || n == 0) snprintf(buf, cap, "group1-shard1of1.bin");
    else snprintf(buf, cap, "%.*s.bin", (int)n, base);
    return buf;
}

typedef struct tw {
    bool oom;
    unsigned char *shard;
    size_t shard_len, shard_cap;
} tw;

static void tw_put(tw *t, cJSON *parent, const char *key, cJSON *item)
{
    if (!item) {
        t->oom = true;
        return;
    }
    cJSON_bool ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
    if (!ok) {
        cJSON_Delete(item);
        t->oom = true;
    }
}

static cJSON *tw_b64(tw *t, const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > (SIZE_MAX - 4) / 4 * 3) {
        t->oom = true;
        return NULL;
    }
    char *s = malloc((n + 2) / 3 * 4 + 1);
    if (!s) {
        t->oom = true;
        return NULL;
    }
    const unsigned char *p = data;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        s[o++] = tab[v >> 18];
        s[o++] = tab[(v >> 12) & 63];
        s[o++] = tab[(v >> 6) & 63];
        s[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        s[o++] = tab[v >> 18];
        s[o++] = tab[(v >> 12) & 63];
        s[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        s[o++] = '=';
    }
    s[o] = '\0';
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

static cJSON *tw_int64(int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return cJSON_CreateString(b);
}

/* Numbers as protobuf JSON writes them; -0 and the non-finite values as
 * strings (cJSON would print 0 and null). */
static cJSON *tw_float(double v)
{
    if (isnan(v)) return cJSON_CreateString("NaN");
    if (isinf(v)) return cJSON_CreateString(v > 0 ? "Infinity" : "-Infinity");
    if (v == 0 && signbit(v)) return cJSON_CreateString("-0");
    return cJSON_CreateNumber(v);
}

static cJSON *tw_dtype(el_dtype dt)
{
    const char *n = el_tfjs_dtype_name((int)dt);
    return n ? cJSON_CreateString(n) : cJSON_CreateNumber((double)dt);
}

static cJSON *tw_shape(tw *t, const el_shape *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (s->rank < 0) {
        tw_put(t, o, "unknownRank", cJSON_CreateTrue());
        return o;
    }
    if (s->rank == 0) return o;
    cJSON *dims = cJSON_CreateArray();
    tw_put(t, o, "dim", dims);
    for (int i = 0; i < s->rank; i++) {
        /* "size" even when 0: tfjs-converter's reader parses it unconditionally. */
        cJSON *d = cJSON_CreateObject();
        tw_put(t, dims, NULL, d);
        tw_put(t, d, "size", tw_int64(s->dims[i]));
    }
    return o;
}

/* TensorProto JSON; `stub` writes only dtype and shape (a TF.js Const whose
 * value is a weight). */
static cJSON *tw_tensor(tw *t, const el_tensor *x, bool stub)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    el_shape s = {.rank = x->ndim};
    for (int i = 0; i < x->ndim; i++) s.dims[i] = x->dims[i];
    tw_put(t, o, "dtype", tw_dtype(x->dtype));
    tw_put(t, o, "tensorShape", tw_shape(t, &s));
    if (stub) return o;
    int64_t n = el_tensor_numel(x);
    if (x->dtype == EL_DT_STRING) {
        cJSON *a = cJSON_CreateArray();
        tw_put(t, o, "stringVal", a);
        for (int64_t i = 0; i < n; i++) {
            const el_string *e = (const el_string *)x->data + i;
            tw_put(t, a, NULL, tw_b64(t, e->data, e->len));
        }
    } else if (n > 0) {
        tw_put(t, o, "tensorContent", tw_b64(t, x->data, el_tensor_nbytes(x)));
    }
    return o;
}

static cJSON *tw_list(tw *t, const el_attr_list *l)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || l->n == 0) return o;
    static const char *const keys[] = {
        [EL_ATTR_S] = "s", [EL_ATTR_I] = "i", [EL_ATTR_F] = "f", [EL_ATTR_B] = "b", [EL_ATTR_TYPE] = "type",
        [EL_ATTR_SHAPE] = "shape", [EL_ATTR_TENSOR] = "tensor", [EL_ATTR_FUNC] = "func",
    };
    if ((int)l->elem <= 0 || l->elem > EL_ATTR_FUNC || !keys[l->elem]) return o;
    cJSON *a = cJSON_CreateArray();
    tw_put(t, o, keys[l->elem], a);
    for (int i = 0; i < l->n; i++) {
        cJSON *e = NULL;
        switch (l->elem) {
        case EL_ATTR_S: e = tw_b64(t, l->v.s[i].data, l->v.s[i].len); break;
        case EL_ATTR_I: e = tw_int64(l->v.i[i]); break;
        case EL_ATTR_F: e = tw_float(l->v.f[i]); break;
        case EL_ATTR_B: e = cJSON_CreateBool(l->v.b[i]); break;
        case EL_ATTR_TYPE: e = tw_dtype(l->v.type[i]); break;
        case EL_ATTR_SHAPE: e = tw_shape(t, &l->v.shape[i]); break;
        case EL_ATTR_TENSOR: e = tw_tensor(t, &l->v.tensor[i], false); break;
        default: {
            e = cJSON_CreateObject();
            char *nm = strndup(l->v.s[i].data, l->v.s[i].len);
            if (e && nm) tw_put(t, e, "name", cJSON_CreateString(nm));
            else t->oom = true;
            free(nm);
            break;
        }
        }
        tw_put(t, a, NULL, e);
    }
    return o;
}

static cJSON *tw_attr(tw *t, const el_attr *a, bool stub)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    switch (a->type) {
    case EL_ATTR_S: tw_put(t, o, "s", tw_b64(t, a->v.s.data, a->v.s.len)); break;
    case EL_ATTR_PLACEHOLDER: {
        char *nm = strndup(a->v.s.data, a->v.s.len);
        tw_put(t, o, "placeholder", nm ? cJSON_CreateString(nm) : NULL);
        free(nm);
        break;
    }
    case EL_ATTR_I: tw_put(t, o, "i", tw_int64(a->v.i)); break;
    case EL_ATTR_F: tw_put(t, o, "f", tw_float(a->v.f)); break;
    case EL_ATTR_B: tw_put(t, o, "b", cJSON_CreateBool(a->v.b)); break;
    case EL_ATTR_TYPE: tw_put(t, o, "type", tw_dtype(a->v.type)); break;
    case EL_ATTR_SHAPE: tw_put(t, o, "shape", tw_shape(t, &a->v.shape)); break;
    case EL_ATTR_TENSOR: tw_put(t, o, "tensor", tw_tensor(t, &a->v.tensor, stub)); break;
    case EL_ATTR_LIST: tw_put(t, o, "list", tw_list(t, &a->v.list)); break;
    case EL_ATTR_FUNC: {
        cJSON *f = cJSON_CreateObject();
        char *nm = strndup(a->v.s.data, a->v.s.len);
        tw_put(t, o, "func", f);
        tw_put(t, f, "name", nm ? cJSON_CreateString(nm) : NULL);
        free(nm);
        break;
    }
    default: break;
    }
    return o;
}

static bool tw_reserve(tw *t, size_t n)
{
    if (n <= t->shard_cap - t->shard_len) return true;
    size_t cap = t->shard_cap ? t->shard_cap : 1 << 16;
    while (cap - t->shard_len < n) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    unsigned char *nb = realloc(t->shard, cap);
    if (!nb) return false;
    t->shard = nb;
    t->shard_cap = cap;
    return true;
}

/* How a Const's value is stored as a TF.js weight: the dtype name, or NULL
 * when no TF.js dtype holds it exactly (it then stays inline). */
static const char *tw_weight_dtype(const el_tensor *x)
{
    int64_t n = el_tensor_numel(x);
    switch (x->dtype) {
    case EL_DT_FLOAT:
    case EL_DT_HALF: return "float32";
    case EL_DT_INT32:
    case EL_DT_INT16:
    case EL_DT_INT8:
    case EL_DT_UINT8: return "int32";
    case EL_DT_BOOL: return "bool";
    case EL_DT_STRING: return "string";
    case EL_DT_DOUBLE:
        /* Exact in float32 only; NaN fails the test too (its payload would not survive). */
        for (int64_t i = 0; i < n; i++) {
            double v = ((const double *)x->data)[i];
            if ((double)(float)v != v) return NULL;
        }
        return "float32";
    case EL_DT_INT64:
        for (int64_t i = 0; i < n; i++) {
            int64_t v = ((const int64_t *)x->data)[i];
            if (v < INT32_MIN || v > INT32_MAX) return NULL;
        }
        return "int32";
    default: return NULL;
    }
}

/* Appends x to the shard in its weight dtype. */
static el_status tw_weight_bytes(tw *t, const el_tensor *x)
{
    int64_t n = el_tensor_numel(x);
    size_t need;
    if (x->dtype == EL_DT_STRING) {
        need = 0;
        for (int64_t i = 0; i < n; i++) {
            const el_string *e = (const el_string *)x->data + i;
            if (e->len > UINT32_MAX) return el_error(EL_ERR_UNSUPPORTED, "a string element is longer than 4 GiB");
            need += 4 + e->len;
        }
    } else {
        need = (size_t)n * (x->dtype == EL_DT_BOOL ? 1 : 4);
    }
    if (!tw_reserve(t, need)) return el_error(EL_ERR_NOMEM, "no memory for a %zu-byte weights shard", t->shard_len + need);
    unsigned char *p = t->shard + t->shard_len;
    switch (x->dtype) {
    case EL_DT_FLOAT:
    case EL_DT_INT32:
    case EL_DT_BOOL: memcpy(p, x->data, need); break;
    case EL_DT_STRING:
        for (int64_t i = 0; i < n; i++) {
            const el_string *e = (const el_string *)x->data + i;
            uint32_t l = (uint32_t)e->len;
            memcpy(p, &l, 4);
            if (l) memcpy(p + 4, e->data, l);
            p += 4 + l;
        }
        break;
    case EL_DT_DOUBLE:
        for (int64_t i = 0; i < n; i++) {
            float f = (float)((const double *)x->data)[i];
            memcpy(p + 4 * i, &f, 4);
        }
        break;
    case EL_DT_HALF:
    case EL_DT_INT64:
    case EL_DT_INT16:
    case EL_DT_INT8:
    case EL_DT_UINT8: {
        el_dtype to = x->dtype == EL_DT_HALF ? EL_DT_FLOAT : EL_DT_INT32;
        if (n) EL_TRY(el_cast_array(x->data, x->dtype, p, to, n, false));
        break;
    }
    default: return el_error(EL_ERR_UNSUPPORTED, "no TF.js weight dtype for %s", el_dtype_name(x->dtype));
    }
    t->shard_len += need;
    return EL_OK;
}

static cJSON *tw_sig_list(tw *t, const el_tfjs_tensor_info *l, int n)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        tw_put(t, o, l[i].key ? l[i].key : l[i].name, e);
        tw_put(t, e, "name", cJSON_CreateString(l[i].name));
        if (l[i].dtype != EL_DT_INVALID) tw_put(t, e, "dtype", tw_dtype(l[i].dtype));
        if (l[i].shape.rank >= 0) tw_put(t, e, "tensorShape", tw_shape(t, &l[i].shape));
    }
    return o;
}

/* Without a signature: Placeholders in, unconsumed nodes out. */
static el_status tw_derive_signature(const el_graph *g, el_tfjs_signature *sig)
{
    bool *used = calloc((size_t)g->nnodes + 1, sizeof(bool));
    int nin = 0, nout = 0;
    if (!used) return el_error(EL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i].ninputs; k++) used[g->nodes[i].inputs[k].node] = true;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            sig->inputs = calloc((size_t)nin + 1, sizeof *sig->inputs);
            sig->outputs = calloc((size_t)nout + 1, sizeof *sig->outputs);
            if (!sig->inputs || !sig->outputs) {
                free(used);
                return el_error(EL_ERR_NOMEM, "out of memory");
            }
        }
        for (int i = 0; i < g->nnodes; i++) {
            const el_node *n = &g->nodes[i];
            if (!strcmp(n->op, "Placeholder")) {
                if (pass == 1) {
                    el_tfjs_tensor_info *ti = &sig->inputs[sig->ninputs++];
                    ti->key = ti->name = n->name;
                    ti->shape.rank = -1;
                    const el_attr *a = el_node_attr(n, "dtype");
                    if (a && a->type == EL_ATTR_TYPE) ti->dtype = a->v.type;
                    a = el_node_attr(n, "shape");
                    if (a && a->type == EL_ATTR_SHAPE) ti->shape = a->v.shape;
                }
                nin++;
            } else if (!used[i] && strcmp(n->op, "NoOp") && strcmp(n->op, "Assert") && strcmp(n->op, "Const")) {
                if (pass == 1) {
                    el_tfjs_tensor_info *ti = &sig->outputs[sig->noutputs++];
                    ti->key = ti->name = n->name;
                    ti->shape.rank = -1;
                }
                nout++;
            }
        }
    }
    free(used);
    return EL_OK;
}

static el_status tw_build(tw *t, const el_graph *g, const el_tfjs_signature *sig, const char *shard, cJSON *root)
{
    tw_put(t, root, "format", cJSON_CreateString("graph-model"));
    tw_put(t, root, "generatedBy", cJSON_CreateString("edgelens"));
    tw_put(t, root, "convertedBy", cJSON_CreateString("edgelens convert"));
    cJSON *so = cJSON_CreateObject();
    tw_put(t, root, "signature", so);
    tw_put(t, so, "inputs", tw_sig_list(t, sig->inputs, sig->ninputs));
    tw_put(t, so, "outputs", tw_sig_list(t, sig->outputs, sig->noutputs));
    cJSON *topo = cJSON_CreateObject();
    tw_put(t, root, "modelTopology", topo);
    cJSON *nodes = cJSON_CreateArray();
    tw_put(t, topo, "node", nodes);
    tw_put(t, topo, "library", cJSON_CreateObject());
    tw_put(t, topo, "versions", cJSON_CreateObject());
    cJSON *manifest = cJSON_CreateArray();
    tw_put(t, root, "weightsManifest", manifest);
    cJSON *group = cJSON_CreateObject();
    tw_put(t, manifest, NULL, group);
    cJSON *paths = cJSON_CreateArray();
    tw_put(t, group, "paths", paths);
    tw_put(t, paths, NULL, cJSON_CreateString(shard));
    cJSON *weights = cJSON_CreateArray();
    tw_put(t, group, "weights", weights);

    for (int i = 0; i < g->nnodes && !t->oom; i++) {
        const el_node *n = &g->nodes[i];
        cJSON *jn = cJSON_CreateObject();
        tw_put(t, nodes, NULL, jn);
        tw_put(t, jn, "name", cJSON_CreateString(n->name));
        tw_put(t, jn, "op", cJSON_CreateString(n->op));
        if (n->ninputs) {
            cJSON *in = cJSON_CreateArray();
            tw_put(t, jn, "input", in);
            for (int k = 0; k < n->ninputs; k++) tw_put(t, in, NULL, cJSON_CreateString(n->input_names[k]));
        }
        if (n->device && n->device[0]) tw_put(t, jn, "device", cJSON_CreateString(n->device));
        const el_attr *value = NULL;
        const char *wdt = NULL;
        if (!strcmp(n->op, "Const") && (value = el_node_attr(n, "value")) && value->type == EL_ATTR_TENSOR)
            wdt = tw_weight_dtype(&value->v.tensor);
        if (n->nattrs) {
            cJSON *ja = cJSON_CreateObject();
            tw_put(t, jn, "attr", ja);
            for (int k = 0; k < n->nattrs; k++)
                tw_put(t, ja, n->attrs[k].name, tw_attr(t, &n->attrs[k], wdt && &n->attrs[k] == value));
        }
        if (!wdt) continue;
        const el_tensor *x = &value->v.tensor;
        cJSON *w = cJSON_CreateObject();
        tw_put(t, weights, NULL, w);
        tw_put(t, w, "name", cJSON_CreateString(n->name));
        cJSON *shape = cJSON_CreateArray();
        tw_put(t, w, "shape", shape);
        for (int d = 0; d < x->ndim; d++) tw_put(t, shape, NULL, cJSON_CreateNumber((double)x->dims[d]));
        tw_put(t, w, "dtype", cJSON_CreateString(wdt));
        el_status s = tw_weight_bytes(t, x);
        if (s != EL_OK) return el_error_prefix(s, "Const node '%s': ", n->name);
    }
    return t->oom ? el_error(EL_ERR_NOMEM, "out of memory building model.json") : EL_OK;
}

el_status el_tfjs_write(const el_graph *g, const el_tfjs_signature *sig, const char *json_path)
{
    if (!g || !json_path) return el_error(EL_ERR_INVALID_ARG, "el_tfjs_write: NULL argument");
    for (int i = 0; i < g->nnodes; i++) EL_TRY(gw_check_node(&g->nodes[i]));
    char shard[PATH_MAX], shard_path[PATH_MAX];
    el_tfjs_shard_name(json_path, shard, sizeof shard);
    const char *slash = strrchr(json_path, '/');
    if (snprintf(shard_path, sizeof shard_path, "%.*s%s", slash ? (int)(slash - json_path + 1) : 0, json_path,
                 shard) >= (int)sizeof shard_path)
        return el_error(EL_ERR_INVALID_ARG, "%s: path too long", json_path);

    el_tfjs_signature derived = {0};
    el_status s = EL_OK;
    if (!sig) {
        s = tw_derive_signature(g, &derived);
        sig = &derived;
    }
    tw t = {0};
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (s == EL_OK && !root) s = el_error(EL_ERR_NOMEM, "out of memory");
    if (s == EL_OK) s = tw_build(&t, g, sig, shard, root);
    if (s == EL_OK && !(text = cJSON_PrintUnformatted(root))) s = el_error(EL_ERR_NOMEM, "out of memory printing model.json");
    cJSON_Delete(root);
    free(derived.inputs);
    free(derived.outputs);
    if (s == EL_OK) {
        const void *parts[1] = {t.shard ? (const void *)t.shard : (const void *)""};
        size_t lens[1] = {t.shard_len};
        s = gw_write_file(shard_path, parts, lens, 1);
    }
    if (s == EL_OK) {
        const void *parts[2] = {text, "\n"};
        size_t lens[2] = {strlen(text), 1};
        s = gw_write_file(json_path, parts, lens, 2);
    }
    free(text);
    free(t.shard);
    if (s != EL_OK) return el_error_prefix(s, "%s: ", json_path);
    return EL_OK;
}
