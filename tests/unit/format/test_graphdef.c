/* GraphDef (.pb) loader and the protobuf wire reader under it. GraphDefs are
 * built by a small encoder here; the real models are checked when present. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/pb.h"
#include "graph/graph.h"

/* ---- a tiny protobuf encoder ---- */

typedef struct enc {
    uint8_t *p;
    size_t n, cap;
} enc;

static void e_raw(enc *e, const void *d, size_t n)
{
    if (e->n + n > e->cap) {
        size_t cap = e->cap ? e->cap : 64;
        while (cap < e->n + n) cap *= 2;
        e->p = realloc(e->p, cap);
        assert_non_null(e->p);
        e->cap = cap;
    }
    if (n) memcpy(e->p + e->n, d, n);
    e->n += n;
}

static void e_free(enc *e)
{
    free(e->p);
    memset(e, 0, sizeof *e);
}

static void e_varint(enc *e, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    e_raw(e, b, (size_t)n);
}

static void e_key(enc *e, uint32_t f, int w) { e_varint(e, (uint64_t)f << 3 | (uint64_t)w); }
static void e_uint(enc *e, uint32_t f, uint64_t v) { e_key(e, f, EL_PB_VARINT); e_varint(e, v); }
static void e_bytes(enc *e, uint32_t f, const void *d, size_t n)
{
    e_key(e, f, EL_PB_LEN);
    e_varint(e, n);
    e_raw(e, d, n);
}
static void e_str(enc *e, uint32_t f, const char *s) { e_bytes(e, f, s, strlen(s)); }
/* Appends `sub` as a length-delimited field and frees it. */
static void e_sub(enc *e, uint32_t f, enc *sub)
{
    e_bytes(e, f, sub->p, sub->n);
    e_free(sub);
}
static void e_fixed32(enc *e, uint32_t f, uint32_t v)
{
    e_key(e, f, EL_PB_I32);
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    e_raw(e, b, 4);
}
static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* TensorShapeProto; rank -1 is unknown_rank. */
static enc shape_enc(int rank, const int64_t *dims)
{
    enc s = {0};
    if (rank < 0) e_uint(&s, 3, 1);
    for (int i = 0; i < rank; i++) {
        enc d = {0};
        e_uint(&d, 1, (uint64_t)dims[i]);
        e_sub(&s, 2, &d);
    }
    return s;
}

/* TensorProto header: dtype and shape (rank -2: no shape field). */
static enc tensor_begin(el_dtype dt, int rank, const int64_t *dims)
{
    enc t = {0};
    e_uint(&t, 1, (uint64_t)dt);
    if (rank >= -1) {
        enc s = shape_enc(rank, dims);
        e_sub(&t, 2, &s);
    }
    return t;
}

static void t_packed_floats(enc *t, int n, const float *v)
{
    enc p = {0};
    for (int i = 0; i < n; i++) {
        uint32_t u = f32_bits(v[i]);
        e_raw(&p, &u, 4);
    }
    e_sub(t, 5, &p);
}

static void t_packed_varints(enc *t, uint32_t f, int n, const int64_t *v)
{
    enc p = {0};
    for (int i = 0; i < n; i++) e_varint(&p, (uint64_t)v[i]);
    e_sub(t, f, &p);
}

/* AttrValue builders. */
static enc av_type(el_dtype dt) { enc a = {0}; e_uint(&a, 6, (uint64_t)dt); return a; }
static enc av_i(int64_t v) { enc a = {0}; e_uint(&a, 3, (uint64_t)v); return a; }
static enc av_f(float v) { enc a = {0}; e_fixed32(&a, 4, f32_bits(v)); return a; }
static enc av_b(bool v) { enc a = {0}; e_uint(&a, 5, v); return a; }
static enc av_s(const char *s) { enc a = {0}; e_str(&a, 2, s); return a; }
static enc av_shape(int rank, const int64_t *dims)
{
    enc a = {0}, s = shape_enc(rank, dims);
    e_sub(&a, 7, &s);
    return a;
}
static enc av_tensor(enc *t)
{
    enc a = {0};
    e_sub(&a, 8, t);
    return a;
}
static enc av_list(enc *l)
{
    enc a = {0};
    e_sub(&a, 1, l);
    return a;
}

static enc node_begin(const char *name, const char *op)
{
    enc n = {0};
    if (name) e_str(&n, 1, name);
    if (op) e_str(&n, 2, op);
    return n;
}
static void node_input(enc *n, const char *in) { e_str(n, 3, in); }
static void node_attr(enc *n, const char *key, enc value)
{
    enc ent = {0};
    e_str(&ent, 1, key);
    e_sub(&ent, 2, &value);
    e_sub(n, 5, &ent);
}
static void graph_node(enc *g, enc n) { e_sub(g, 1, &n); }

/* A Const node holding tensor `t` (consumed). */
static void graph_const(enc *g, const char *name, el_dtype dt, enc t)
{
    enc n = node_begin(name, "Const");
    node_attr(&n, "dtype", av_type(dt));
    node_attr(&n, "value", av_tensor(&t));
    graph_node(g, n);
}

static el_graph *parse_ok(const enc *g)
{
    el_graph *gr = NULL;
    el_status s = el_graph_parse(g->p, g->n, "t.pb", &gr);
    if (s != EL_OK) fail_msg("parse failed: %s", el_last_error());
    assert_non_null(gr);
    return gr;
}

/* Parses, expects failure `code` whose message contains `want`. */
static void parse_err(const enc *g, el_status code, const char *want)
{
    el_graph *gr = (el_graph *)1;
    el_status s = el_graph_parse(g->p, g->n, "t.pb", &gr);
    if (s == EL_OK) fail_msg("parse succeeded, expected an error containing \"%s\"", want);
    assert_null(gr);
    if (!strstr(el_last_error(), want)) fail_msg("error \"%s\" lacks \"%s\"", el_last_error(), want);
    if (s != code) fail_msg("status %s, expected %s (%s)", el_status_str(s), el_status_str(code), el_last_error());
}

static const el_tensor *const_tensor(const el_graph *g, const char *name)
{
    int i = el_graph_find(g, name);
    assert_true(i >= 0);
    const el_tensor *t;
    if (el_attr_tensor(&g->nodes[i], "value", &t) != EL_OK) fail_msg("%s", el_last_error());
    return t;
}

/* ---- the wire reader ---- */

static void test_pb_varints(void **state)
{
    (void)state;
    el_pb r;
    uint64_t v;
    const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    el_pb_init(&r, max, sizeof max);
    assert_int_equal(el_pb_varint(&r, &v), EL_OK);
    assert_true(v == UINT64_MAX);
    assert_true(el_pb_done(&r));

    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    el_pb_init(&r, over, sizeof over);
    assert_int_equal(el_pb_varint(&r, &v), EL_ERR_FORMAT);
    assert_string_equal(el_last_error(), "offset 0: varint overflows 64 bits");

    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    el_pb_init(&r, eleven, sizeof eleven);
    assert_int_equal(el_pb_varint(&r, &v), EL_ERR_FORMAT);

    const uint8_t trunc[] = {0x08, 0x96};
    el_pb_init(&r, trunc, sizeof trunc);
    uint32_t f;
    int w;
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_OK);
    assert_int_equal(f, 1);
    assert_int_equal(w, EL_PB_VARINT);
    assert_int_equal(el_pb_varint(&r, &v), EL_ERR_FORMAT);
    assert_string_equal(el_last_error(), "offset 1: truncated varint");

    const uint8_t zero_field[] = {0x00};
    el_pb_init(&r, zero_field, 1);
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_ERR_FORMAT);
    const uint8_t wire7[] = {0x0f};
    el_pb_init(&r, wire7, 1);
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "invalid wire type 7"));
}

static void test_pb_repeated(void **state)
{
    (void)state;
    /* packed varints 1, 300, -1 (10 bytes) */
    enc e = {0};
    enc p = {0};
    e_varint(&p, 1);
    e_varint(&p, 300);
    e_varint(&p, UINT64_MAX);
    e_sub(&e, 3, &p);
    el_pb r;
    el_pb_init(&r, e.p, e.n);
    uint32_t f;
    int w;
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_OK);
    el_pb_rep rep;
    assert_int_equal(el_pb_rep_begin(&r, f, w, EL_PB_S_VARINT, "i", &rep), EL_OK);
    size_t n;
    assert_int_equal(el_pb_rep_count(&rep, &n), EL_OK);
    assert_int_equal(n, 3);
    uint64_t v[3];
    for (int i = 0; i < 3; i++) assert_int_equal(el_pb_rep_next(&rep, &v[i]), EL_OK);
    assert_true(el_pb_done(&rep.r));
    assert_true(v[0] == 1 && v[1] == 300 && v[2] == UINT64_MAX);
    e_free(&e);

    /* a packed run whose last varint is cut */
    const uint8_t cut[] = {0x1a, 0x02, 0x01, 0x80};
    el_pb_init(&r, cut, sizeof cut);
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_OK);
    assert_int_equal(el_pb_rep_begin(&r, f, w, EL_PB_S_VARINT, "i", &rep), EL_OK);
    assert_int_equal(el_pb_rep_count(&rep, &n), EL_ERR_FORMAT);

    /* packed fixed32 not a multiple of 4 */
    const uint8_t odd[] = {0x22, 0x03, 0, 0, 0};
    el_pb_init(&r, odd, sizeof odd);
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_OK);
    assert_int_equal(el_pb_rep_begin(&r, f, w, EL_PB_S_FIXED32, "f", &rep), EL_OK);
    assert_int_equal(el_pb_rep_count(&rep, &n), EL_ERR_FORMAT);

    /* unpacked with the wrong wire type */
    const uint8_t wrong[] = {0x25, 0, 0, 0, 0};
    el_pb_init(&r, wrong, sizeof wrong);
    assert_int_equal(el_pb_tag(&r, &f, &w), EL_OK);
    assert_int_equal(el_pb_rep_begin(&r, f, w, EL_PB_S_VARINT, "i", &rep), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "field 'i' (4) is 32-bit, expected varint"));
}

/* ---- graphs ---- */

static void test_basic_graph(void **state)
{
    (void)state;
    enc g = {0};
    int64_t xshape[2] = {-1, 3};
    enc n = node_begin("x", "Placeholder");
    node_attr(&n, "dtype", av_type(EL_DT_FLOAT));
    node_attr(&n, "shape", av_shape(2, xshape));
    e_str(&n, 4, "/device:CPU:0");
    graph_node(&g, n);

    int64_t cdims[2] = {2, 3};
    float cv[6] = {1, 2, 3, 4, 5, 6};
    enc t = tensor_begin(EL_DT_FLOAT, 2, cdims);
    e_bytes(&t, 4, cv, sizeof cv);
    graph_const(&g, "c", EL_DT_FLOAT, t);

    n = node_begin("y", "AddV2");
    node_input(&n, "x");
    node_input(&n, "c:0");
    node_input(&n, "^x");
    node_attr(&n, "T", av_type(EL_DT_FLOAT));
    graph_node(&g, n);
    n = node_begin("out", "Identity");
    node_input(&n, "y");
    graph_node(&g, n);
    e_uint(&g, 3, 21); /* GraphDef.version: not needed, skipped */

    el_graph *gr = parse_ok(&g);
    e_free(&g); /* el_graph_parse copied what it needs */
    assert_int_equal(gr->nnodes, 4);
    assert_string_equal(gr->source, "t.pb");
    int x = el_graph_find(gr, "x"), c = el_graph_find(gr, "c"), y = el_graph_find(gr, "y");
    assert_int_equal(x, 0);
    assert_int_equal(c, 1);
    assert_int_equal(y, 2);
    assert_string_equal(gr->nodes[x].device, "/device:CPU:0");
    assert_string_equal(gr->nodes[y].op, "AddV2");
    assert_int_equal(gr->nodes[y].ninputs, 3);
    assert_int_equal(gr->nodes[y].ndata, 2);
    assert_int_equal(gr->nodes[y].inputs[1].node, c);
    assert_int_equal(gr->nodes[y].inputs[1].slot, 0);
    assert_int_equal(gr->nodes[y].inputs[2].node, x);
    assert_int_equal(gr->nodes[y].inputs[2].slot, -1);
    assert_string_equal(gr->nodes[y].input_names[1], "c:0");

    el_dtype dt;
    assert_int_equal(el_attr_dtype(&gr->nodes[x], "dtype", EL_DT_INVALID, &dt), EL_OK);
    assert_int_equal(dt, EL_DT_FLOAT);
    el_shape sh;
    bool present;
    assert_int_equal(el_attr_shape(&gr->nodes[x], "shape", &sh, &present), EL_OK);
    assert_true(present);
    assert_int_equal(sh.rank, 2);
    assert_int_equal(sh.dims[0], -1);
    assert_int_equal(sh.dims[1], 3);

    const el_tensor *ct = const_tensor(gr, "c");
    el_test_assert_shape(ct, 2, cdims);
    el_test_assert_f32(ct, cv, 6, 0);
    /* (the caller's buffer is freed: ASan would catch a Const pointing into it) */
    el_graph_free(gr);
}

static void test_typed_values(void **state)
{
    (void)state;
    enc g = {0}, t;
    int64_t d5[1] = {5}, d3[1] = {3}, d4[1] = {4}, d22[2] = {2, 2};

    float f2[2] = {1.5f, -2};
    t = tensor_begin(EL_DT_FLOAT, 1, d5);
    t_packed_floats(&t, 2, f2); /* fewer values: the last repeats */
    graph_const(&g, "fill", EL_DT_FLOAT, t);

    t = tensor_begin(EL_DT_FLOAT, 1, d3); /* no values: zeros */
    graph_const(&g, "zeros", EL_DT_FLOAT, t);

    t = tensor_begin(EL_DT_FLOAT, -2, NULL); /* no shape: a scalar */
    e_fixed32(&t, 5, f32_bits(7.25f));
    graph_const(&g, "scalar", EL_DT_FLOAT, t);

    /* float_val unpacked then packed: both occurrences count */
    t = tensor_begin(EL_DT_FLOAT, 1, d4);
    e_fixed32(&t, 5, f32_bits(1));
    e_fixed32(&t, 5, f32_bits(2));
    float f34[2] = {3, 4};
    t_packed_floats(&t, 2, f34);
    graph_const(&g, "mixed", EL_DT_FLOAT, t);

    int64_t u8v[2] = {300, 7}; /* int_val carries uint8 as a truncated int32 */
    t = tensor_begin(EL_DT_UINT8, 1, d3);
    t_packed_varints(&t, 7, 2, u8v);
    graph_const(&g, "u8", EL_DT_UINT8, t);

    t = tensor_begin(EL_DT_INT8, 1, d3);
    e_uint(&t, 7, (uint64_t)(int64_t)-1); /* unpacked, a 10-byte negative */
    graph_const(&g, "i8", EL_DT_INT8, t);

    int64_t i16v[2] = {-2, 1000};
    t = tensor_begin(EL_DT_INT16, 1, d3);
    t_packed_varints(&t, 7, 2, i16v);
    graph_const(&g, "i16", EL_DT_INT16, t);

    int64_t i32v[4] = {-7, 0, 2147483647, -2147483647 - 1};
    t = tensor_begin(EL_DT_INT32, 2, d22);
    t_packed_varints(&t, 7, 4, i32v);
    graph_const(&g, "i32", EL_DT_INT32, t);

    int64_t i64v[2] = {-5, (int64_t)1 << 40};
    t = tensor_begin(EL_DT_INT64, 1, d3);
    t_packed_varints(&t, 10, 2, i64v);
    graph_const(&g, "i64", EL_DT_INT64, t);

    int64_t bv[2] = {0, 5};
    t = tensor_begin(EL_DT_BOOL, 1, d4);
    t_packed_varints(&t, 11, 2, bv);
    graph_const(&g, "b", EL_DT_BOOL, t);

    int64_t hv[1] = {0x3c00};
    t = tensor_begin(EL_DT_HALF, 1, d3);
    t_packed_varints(&t, 13, 1, hv);
    graph_const(&g, "h", EL_DT_HALF, t);

    t = tensor_begin(EL_DT_DOUBLE, 1, d3);
    {
        enc p = {0};
        double dv[2] = {0.25, -1e300};
        e_raw(&p, dv, sizeof dv);
        e_sub(&t, 6, &p);
    }
    graph_const(&g, "d", EL_DT_DOUBLE, t);

    t = tensor_begin(EL_DT_STRING, 1, d3);
    e_str(&t, 8, "ab");
    e_bytes(&t, 8, "c\0d", 3);
    graph_const(&g, "s", EL_DT_STRING, t);

    t = tensor_begin(EL_DT_STRING, 1, d3);
    graph_const(&g, "s_empty", EL_DT_STRING, t);

    /* A field of another dtype is ignored, as TensorFlow does. */
    t = tensor_begin(EL_DT_FLOAT, 1, d3);
    e_uint(&t, 7, 9);
    graph_const(&g, "other_field", EL_DT_FLOAT, t);

    int64_t d0[2] = {0, 4};
    t = tensor_begin(EL_DT_FLOAT, 2, d0);
    graph_const(&g, "empty", EL_DT_FLOAT, t);

    el_graph *gr = parse_ok(&g);
    e_free(&g);

    const el_tensor *x = const_tensor(gr, "fill");
    float want_fill[5] = {1.5f, -2, -2, -2, -2};
    el_test_assert_f32(x, want_fill, 5, 0);
    float z[3] = {0, 0, 0};
    el_test_assert_f32(const_tensor(gr, "zeros"), z, 3, 0);
    x = const_tensor(gr, "scalar");
    assert_int_equal(x->ndim, 0);
    float sc = 7.25f;
    el_test_assert_f32(x, &sc, 1, 0);
    float want_mixed[4] = {1, 2, 3, 4};
    el_test_assert_f32(const_tensor(gr, "mixed"), want_mixed, 4, 0);
    el_test_assert_f32(const_tensor(gr, "other_field"), z, 3, 0);

    x = const_tensor(gr, "u8");
    assert_int_equal(x->dtype, EL_DT_UINT8);
    const uint8_t *u8 = x->data;
    assert_int_equal(u8[0], 44);
    assert_int_equal(u8[1], 7);
    assert_int_equal(u8[2], 7);
    const int8_t *i8 = const_tensor(gr, "i8")->data;
    assert_int_equal(i8[0], -1);
    assert_int_equal(i8[2], -1);
    const int16_t *i16 = const_tensor(gr, "i16")->data;
    assert_int_equal(i16[0], -2);
    assert_int_equal(i16[1], 1000);
    assert_int_equal(i16[2], 1000);
    x = const_tensor(gr, "i32");
    el_test_assert_shape(x, 2, d22);
    const int32_t *i32 = x->data;
    for (int i = 0; i < 4; i++) assert_int_equal(i32[i], i32v[i]);
    const int64_t *i64 = const_tensor(gr, "i64")->data;
    assert_true(i64[0] == -5 && i64[1] == (int64_t)1 << 40 && i64[2] == (int64_t)1 << 40);
    x = const_tensor(gr, "b");
    assert_int_equal(x->dtype, EL_DT_BOOL);
    const uint8_t *b = x->data;
    assert_true(b[0] == 0 && b[1] == 1 && b[2] == 1 && b[3] == 1);
    x = const_tensor(gr, "h");
    assert_int_equal(x->dtype, EL_DT_HALF);
    const uint16_t *h = x->data;
    assert_true(h[0] == 0x3c00 && h[2] == 0x3c00);
    const double *dd = const_tensor(gr, "d")->data;
    assert_true(dd[0] == 0.25 && dd[1] == -1e300 && dd[2] == -1e300);
    const el_string *s = const_tensor(gr, "s")->data;
    assert_int_equal(s[0].len, 2);
    assert_memory_equal(s[0].data, "ab", 2);
    assert_int_equal(s[1].len, 3);
    assert_memory_equal(s[1].data, "c\0d", 3);
    assert_int_equal(s[2].len, 3);
    assert_ptr_equal(s[2].data, s[1].data);
    s = const_tensor(gr, "s_empty")->data;
    for (int i = 0; i < 3; i++) {
        assert_non_null(s[i].data);
        assert_int_equal(s[i].len, 0);
    }
    x = const_tensor(gr, "empty");
    assert_int_equal(el_tensor_numel(x), 0);
    assert_int_equal(x->ndim, 2);
    el_graph_free(gr);
}

/* A graph with one float Const whose tensor_content lands at a file offset
 * with the given remainder mod 4 (padding the node name). */
static enc graph_content_at(int rem, size_t *offset, const float *vals, int n)
{
    for (int pad = 0; pad < 8; pad++) {
        char name[16] = "w";
        for (int i = 0; i < pad; i++) strcat(name, "_");
        enc g = {0};
        int64_t dims[1] = {n};
        enc t = tensor_begin(EL_DT_FLOAT, 1, dims);
        e_bytes(&t, 4, vals, sizeof(float) * (size_t)n);
        graph_const(&g, name, EL_DT_FLOAT, t);
        size_t len = sizeof(float) * (size_t)n, at = 0;
        while (at + len <= g.n && memcmp(g.p + at, vals, len) != 0) at++;
        assert_true(at + len <= g.n);
        *offset = at;
        if ((int)(*offset % 4) == rem) return g;
        e_free(&g);
    }
    fail_msg("could not place tensor_content");
    return (enc){0};
}

static void test_content_zero_copy(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/w.pb", dir);
    float vals[5] = {1, -2, 3.5f, 1e-30f, 42};
    for (int rem = 0; rem < 4; rem++) {
        size_t off;
        enc g = graph_content_at(rem, &off, vals, 5);
        assert_int_equal(el_test_write_file(path, g.p, g.n), 0);
        for (int via_file = 0; via_file < 2; via_file++) {
            el_graph *gr = NULL;
            if (via_file) {
                if (el_graph_load(path, &gr) != EL_OK) fail_msg("%s", el_last_error());
            } else {
                gr = parse_ok(&g);
            }
            const el_tensor *t = const_tensor(gr, gr->nodes[0].name);
            el_test_assert_f32(t, vals, 5, 0);
            /* mapping is page aligned: an aligned offset is wrapped in place */
            bool in_place = (char *)t->data == (char *)gr->mapping + off;
            assert_int_equal(in_place, rem == 0);
            assert_int_equal((uintptr_t)t->data % 4, 0);
            el_graph_free(gr);
        }
        e_free(&g);
    }
    unlink(path);
    rmdir(dir);
}

/* Big tensor_content at every remainder mod 4 in one file: aligned ones
 * are used in place, the others copied into the graph's realigned region
 * (64-byte aligned); the file pages nothing points into are handed back
 * after the walk, which must not change a value or a name. */
static void test_content_realigned(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/big.pb", dir);
    enum { N = 3000, K = 6 };
    static float vals[K][N];
    for (int k = 0; k < K; k++)
        for (int i = 0; i < N; i++) vals[k][i] = (float)(k * 100000 + i) * 0.5f;
    enc g = {0};
    char names[K][16];
    for (int k = 0; k < K; k++) {
        /* Names of growing length move the next content by one byte. */
        snprintf(names[k], sizeof names[k], "w%.*s", k, "______");
        int64_t dims[1] = {N};
        enc t = tensor_begin(EL_DT_FLOAT, 1, dims);
        e_bytes(&t, 4, vals[k], sizeof vals[k]);
        graph_const(&g, names[k], EL_DT_FLOAT, t);
    }
    assert_int_equal(el_test_write_file(path, g.p, g.n), 0);
    int rems[4] = {0};
    for (int via_file = 0; via_file < 2; via_file++) {
        el_graph *gr = NULL;
        if (via_file) {
            if (el_graph_load(path, &gr) != EL_OK) fail_msg("%s", el_last_error());
        } else {
            gr = parse_ok(&g);
        }
        for (int k = 0; k < K; k++) {
            const el_tensor *t = const_tensor(gr, names[k]);
            el_test_assert_f32(t, vals[k], N, 0);
            size_t at = 0;
            while (memcmp(g.p + at, vals[k], sizeof vals[k]) != 0) at++;
            rems[at % 4]++;
            const char *d = t->data, *m = gr->mapping, *r = gr->realigned;
            if (at % 4 == 0) {
                assert_ptr_equal(d, m + at);
            } else {
                assert_non_null(r);
                assert_true(d >= r && d + sizeof vals[k] <= r + gr->realigned_size);
                assert_int_equal((uintptr_t)d % 64, 0);
            }
        }
        el_graph_free(gr);
    }
    for (int r = 0; r < 4; r++) assert_true(rems[r] > 0);
    e_free(&g);
    unlink(path);
    rmdir(dir);
}

static void test_bool_content_normalised(void **state)
{
    (void)state;
    enc g = {0};
    int64_t d[1] = {3};
    enc t = tensor_begin(EL_DT_BOOL, 1, d);
    e_bytes(&t, 4, "\x00\x01\x07", 3);
    graph_const(&g, "b", EL_DT_BOOL, t);
    el_graph *gr = parse_ok(&g);
    const uint8_t *b = const_tensor(gr, "b")->data;
    assert_true(b[0] == 0 && b[1] == 1 && b[2] == 1);
    el_graph_free(gr);
    e_free(&g);
}

static void one_const_err(el_dtype dt, enc t, el_status code, const char *want)
{
    enc g = {0};
    graph_const(&g, "k", dt, t);
    parse_err(&g, code, want);
    e_free(&g);
}

static void test_tensor_errors(void **state)
{
    (void)state;
    int64_t d3[1] = {3};
    float v2[2] = {1, 2};
    enc t = tensor_begin(EL_DT_FLOAT, 1, d3);
    e_bytes(&t, 4, v2, sizeof v2);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT,
                  "t.pb: node 'k' (op Const): attr 'value': tensor_content has 8 bytes, but shape [3] of float32 needs 12");

    float v4[4] = {1, 2, 3, 4};
    t = tensor_begin(EL_DT_FLOAT, 1, d3);
    t_packed_floats(&t, 4, v4);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT, "attr 'value': 4 values in float_val for shape [3], which has 3 elements");

    /* 2^60 floats: refused from the shape alone */
    int64_t huge[3] = {1 << 20, 1 << 20, 1 << 20};
    t = tensor_begin(EL_DT_FLOAT, 3, huge);
    e_fixed32(&t, 5, 0);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_NOMEM, "tensor of shape [1048576,1048576,1048576] (float32) is larger than");

    int64_t big[1] = {INT64_MAX};
    t = tensor_begin(EL_DT_INT64, 1, big);
    one_const_err(EL_DT_INT64, t, EL_ERR_NOMEM, "is larger than the 4294967296-byte limit");

    /* within 4 GiB, but a splat of that size from one value is refused */
    int64_t splat[1] = {(int64_t)1 << 28};
    t = tensor_begin(EL_DT_FLOAT, 1, splat);
    e_fixed32(&t, 5, f32_bits(1));
    one_const_err(EL_DT_FLOAT, t, EL_ERR_LIMIT, "would expand constants beyond");

    int64_t unk[2] = {2, -1};
    t = tensor_begin(EL_DT_FLOAT, 2, unk);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT, "dimension 1 is unknown (-1) in a tensor's shape");

    int64_t neg[1] = {-3};
    t = tensor_begin(EL_DT_FLOAT, 1, neg);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT, "dimension 0 is -3, expected >= -1");

    t = tensor_begin(EL_DT_FLOAT, -1, NULL);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT, "a tensor's shape has unknown rank");

    int64_t r9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    t = tensor_begin(EL_DT_FLOAT, 9, r9);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_UNSUPPORTED, "shape has more than 8 dimensions");

    t = tensor_begin((el_dtype)8 /* DT_COMPLEX64 */, 1, d3);
    one_const_err((el_dtype)8, t, EL_ERR_UNSUPPORTED, "tensors of dtype invalid (DataType 8) are not supported");

    t = tensor_begin(EL_DT_STRING, 1, d3);
    e_bytes(&t, 4, "abc", 3);
    one_const_err(EL_DT_STRING, t, EL_ERR_UNSUPPORTED, "string tensors in tensor_content");

    t = tensor_begin(EL_DT_FLOAT, 1, d3);
    e_uint(&t, 5, 1); /* float_val as a varint */
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT, "field 'float_val' (5) is varint, expected 32-bit");

    t = (enc){0};
    e_uint(&t, 1, (uint64_t)-1);
    one_const_err(EL_DT_FLOAT, t, EL_ERR_FORMAT, "invalid DataType");
}

static void test_attr_kinds(void **state)
{
    (void)state;
    enc g = {0};
    enc n = node_begin("n", "Foo");
    node_attr(&n, "padding", av_s("SAME"));
    node_attr(&n, "axis", av_i(-2));
    node_attr(&n, "alpha", av_f(0.5f));
    node_attr(&n, "flag", av_b(true));
    node_attr(&n, "any_shape", av_shape(-1, NULL));
    enc a = {0};
    enc fn = {0};
    e_str(&fn, 1, "my_func");
    enc fattr = {0};
    e_str(&fattr, 1, "T");
    enc tv = av_type(EL_DT_FLOAT);
    e_sub(&fattr, 2, &tv);
    e_sub(&fn, 2, &fattr);
    e_sub(&a, 10, &fn);
    node_attr(&n, "f", a);
    a = (enc){0};
    e_str(&a, 9, "outer_attr");
    node_attr(&n, "ph", a);
    a = av_i(3);
    e_fixed32(&a, 4, f32_bits(2.0f)); /* a oneof: the last member set wins */
    node_attr(&n, "last_wins", a);
    {
        enc ent = {0};
        e_str(&ent, 1, "novalue");
        e_sub(&n, 5, &ent);
    }
    e_uint(&n, 99, 1); /* unknown NodeDef field */
    graph_node(&g, n);
    el_graph *gr = parse_ok(&g);
    e_free(&g);
    const el_node *nd = &gr->nodes[0];
    assert_int_equal(nd->nattrs, 9);
    for (int i = 1; i < nd->nattrs; i++) assert_true(strcmp(nd->attrs[i - 1].name, nd->attrs[i].name) < 0);
    bool eq, b;
    int64_t i;
    float f;
    assert_int_equal(el_attr_str_eq(nd, "padding", NULL, "SAME", &eq), EL_OK);
    assert_true(eq);
    assert_int_equal(el_attr_int(nd, "axis", 0, &i), EL_OK);
    assert_int_equal(i, -2);
    assert_int_equal(el_attr_float(nd, "alpha", 0, &f), EL_OK);
    assert_true(f == 0.5f);
    assert_int_equal(el_attr_bool(nd, "flag", false, &b), EL_OK);
    assert_true(b);
    el_shape sh;
    bool present;
    assert_int_equal(el_attr_shape(nd, "any_shape", &sh, &present), EL_OK);
    assert_int_equal(sh.rank, -1);
    const el_attr *at = el_node_attr(nd, "f");
    assert_int_equal(at->type, EL_ATTR_FUNC);
    assert_string_equal(at->v.s.data, "my_func");
    at = el_node_attr(nd, "ph");
    assert_int_equal(at->type, EL_ATTR_PLACEHOLDER);
    assert_string_equal(at->v.s.data, "outer_attr");
    assert_int_equal(el_attr_float(nd, "last_wins", 0, &f), EL_OK);
    assert_true(f == 2.0f);
    assert_int_equal(el_node_attr(nd, "novalue")->type, EL_ATTR_NONE);
    /* getters name node, op and attr when the kind is wrong */
    assert_int_equal(el_attr_int(nd, "padding", 0, &i), EL_ERR_FORMAT);
    el_graph_free(gr);
}

static void test_lists(void **state)
{
    (void)state;
    enc g = {0}, l;
    enc n = node_begin("n", "Foo");

    int64_t iv[3] = {1, -2, 3};
    l = (enc){0};
    t_packed_varints(&l, 3, 3, iv);
    node_attr(&n, "strides", av_list(&l));
    l = (enc){0};
    for (int i = 0; i < 3; i++) e_uint(&l, 3, (uint64_t)iv[i]); /* unpacked */
    node_attr(&n, "ksize", av_list(&l));
    l = (enc){0};
    e_fixed32(&l, 4, f32_bits(0.5f));
    e_fixed32(&l, 4, f32_bits(-1));
    node_attr(&n, "fl", av_list(&l));
    l = (enc){0};
    int64_t bv[2] = {1, 0};
    t_packed_varints(&l, 5, 2, bv);
    node_attr(&n, "bl", av_list(&l));
    l = (enc){0};
    int64_t tv[2] = {EL_DT_FLOAT, EL_DT_INT32};
    t_packed_varints(&l, 6, 2, tv);
    node_attr(&n, "Tout", av_list(&l));
    l = (enc){0};
    e_str(&l, 2, "loc:@a");
    e_str(&l, 2, "loc:@b");
    node_attr(&n, "_class", av_list(&l));
    l = (enc){0};
    int64_t s1[2] = {-1, 4};
    enc s = shape_enc(2, s1);
    e_sub(&l, 7, &s);
    s = shape_enc(-1, NULL);
    e_sub(&l, 7, &s);
    node_attr(&n, "shapes", av_list(&l));
    l = (enc){0};
    int64_t d2[1] = {2};
    float tv1[2] = {1, 2};
    enc t = tensor_begin(EL_DT_FLOAT, 1, d2);
    e_bytes(&t, 4, tv1, sizeof tv1);
    e_sub(&l, 8, &t);
    t = tensor_begin(EL_DT_INT32, -2, NULL);
    e_uint(&t, 7, 9);
    e_sub(&l, 8, &t);
    node_attr(&n, "tensors", av_list(&l));
    l = (enc){0};
    node_attr(&n, "empty", av_list(&l));
    l = (enc){0};
    enc fn = {0};
    e_str(&fn, 1, "body");
    e_sub(&l, 9, &fn);
    node_attr(&n, "funcs", av_list(&l));
    graph_node(&g, n);

    el_graph *gr = parse_ok(&g);
    e_free(&g);
    const el_node *nd = &gr->nodes[0];
    const int64_t *ints;
    int ni;
    assert_int_equal(el_attr_ints(nd, "strides", &ints, &ni), EL_OK);
    assert_int_equal(ni, 3);
    assert_true(ints[0] == 1 && ints[1] == -2 && ints[2] == 3);
    assert_int_equal(el_attr_ints(nd, "ksize", &ints, &ni), EL_OK);
    assert_int_equal(ni, 3);
    assert_true(ints[1] == -2);
    const el_attr *a = el_node_attr(nd, "fl");
    assert_int_equal(a->v.list.elem, EL_ATTR_F);
    assert_true(a->v.list.n == 2 && a->v.list.v.f[0] == 0.5f && a->v.list.v.f[1] == -1);
    a = el_node_attr(nd, "bl");
    assert_true(a->v.list.elem == EL_ATTR_B && a->v.list.n == 2 && a->v.list.v.b[0] && !a->v.list.v.b[1]);
    a = el_node_attr(nd, "Tout");
    assert_true(a->v.list.elem == EL_ATTR_TYPE && a->v.list.v.type[1] == EL_DT_INT32);
    a = el_node_attr(nd, "_class");
    assert_true(a->v.list.elem == EL_ATTR_S && a->v.list.n == 2);
    assert_string_equal(a->v.list.v.s[1].data, "loc:@b");
    a = el_node_attr(nd, "shapes");
    assert_true(a->v.list.elem == EL_ATTR_SHAPE && a->v.list.n == 2);
    assert_true(a->v.list.v.shape[0].rank == 2 && a->v.list.v.shape[0].dims[0] == -1);
    assert_int_equal(a->v.list.v.shape[1].rank, -1);
    a = el_node_attr(nd, "tensors");
    assert_true(a->v.list.elem == EL_ATTR_TENSOR && a->v.list.n == 2);
    el_test_assert_f32(&a->v.list.v.tensor[0], tv1, 2, 0);
    assert_int_equal(a->v.list.v.tensor[1].dtype, EL_DT_INT32);
    assert_int_equal(*(int32_t *)a->v.list.v.tensor[1].data, 9);
    a = el_node_attr(nd, "empty");
    assert_true(a->type == EL_ATTR_LIST && a->v.list.elem == EL_ATTR_NONE && a->v.list.n == 0);
    assert_int_equal(el_attr_ints(nd, "empty", &ints, &ni), EL_OK);
    assert_int_equal(ni, 0);
    a = el_node_attr(nd, "funcs");
    assert_true(a->v.list.elem == EL_ATTR_FUNC && a->v.list.n == 1);
    assert_string_equal(a->v.list.v.s[0].data, "body");
    el_graph_free(gr);

    /* mixed kinds; a bad tensor after a good one (released, no leak) */
    g = (enc){0};
    n = node_begin("n", "Foo");
    l = (enc){0};
    e_uint(&l, 3, 1);
    e_str(&l, 2, "x");
    node_attr(&n, "mix", av_list(&l));
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node 'n' (op Foo): attr 'mix': list holds values of two kinds (s and i)");
    e_free(&g);

    g = (enc){0};
    n = node_begin("n", "Foo");
    l = (enc){0};
    t = tensor_begin(EL_DT_FLOAT, 1, d2);
    e_bytes(&t, 4, tv1, sizeof tv1);
    e_sub(&l, 8, &t);
    t = tensor_begin(EL_DT_FLOAT, 1, d2);
    e_bytes(&t, 4, tv1, 4);
    e_sub(&l, 8, &t);
    node_attr(&n, "tensors", av_list(&l));
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "attr 'tensors': list element 1: tensor_content has 4 bytes");
    e_free(&g);
}

/* A file speaks TensorFlow only (el_graph_drop_private): an edgelens op is
 * an error, edgelens' private attrs are dropped with their tensors. */
static void test_private_names(void **state)
{
    (void)state;
    enc g = {0};
    enc n = node_begin("p", "_ElPeakTopK");
    graph_node(&g, n);
    parse_err(&g, EL_ERR_UNSUPPORTED, "t.pb: node 'p': op '_ElPeakTopK' is internal to edgelens");
    e_free(&g);

    g = (enc){0};
    n = node_begin("c", "ConcatV2");
    node_attr(&n, "_el_relu", av_b(true));
    node_attr(&n, "N", av_i(2));
    int64_t dims[1] = {3};
    const float v[3] = {1, 2, 3};
    enc t = tensor_begin(EL_DT_FLOAT, 1, dims);
    e_bytes(&t, 4, v, sizeof v);
    node_attr(&n, "_el_mean", av_tensor(&t));
    node_attr(&n, "_class", av_s("kept")); /* TensorFlow's own "_" attrs stay */
    graph_node(&g, n);
    el_graph *gr = parse_ok(&g);
    e_free(&g);
    const el_node *c = &gr->nodes[el_graph_find(gr, "c")];
    assert_int_equal(c->nattrs, 2);
    assert_null(el_node_attr(c, "_el_relu"));
    assert_null(el_node_attr(c, "_el_mean"));
    int64_t nv = 0;
    assert_int_equal(el_attr_int(c, "N", 0, &nv), EL_OK);
    assert_int_equal(nv, 2);
    assert_non_null(el_node_attr(c, "_class"));
    el_graph_free(gr);
}

static void test_graph_errors(void **state)
{
    (void)state;
    enc g = {0}, n;

    /* node name as a varint */
    n = (enc){0};
    e_uint(&n, 1, 5);
    e_str(&n, 2, "Const");
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node #0: offset 3: field 'name' (1) is varint, expected length-delimited");
    e_free(&g);

    g = (enc){0};
    n = node_begin("k", NULL);
    e_uint(&n, 2, 5);
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node 'k': offset 6: field 'op' (2) is varint, expected length-delimited");
    e_free(&g);

    /* node as a varint at the top */
    e_uint(&g, 1, 5);
    parse_err(&g, EL_ERR_FORMAT, "field 'node' (1) is varint, expected length-delimited");
    e_free(&g);

    /* truncated */
    const uint8_t trunc[] = {0x0a, 0x80};
    el_graph *gr = (el_graph *)1;
    assert_int_equal(el_graph_parse(trunc, sizeof trunc, "t.pb", &gr), EL_ERR_FORMAT);
    assert_null(gr);
    assert_string_equal(el_last_error(), "t.pb: offset 1: truncated varint");

    const uint8_t huge_len[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00};
    assert_int_equal(el_graph_parse(huge_len, sizeof huge_len, "t.pb", &gr), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "t.pb: offset 1: length 9223372036854775807 exceeds the 1 bytes left"));

    /* deep group nesting in an unknown field */
    g = (enc){0};
    n = node_begin("a", "NoOp");
    for (int i = 0; i < 1000; i++) e_key(&n, 7, EL_PB_SGROUP);
    for (int i = 0; i < 1000; i++) e_key(&n, 7, EL_PB_EGROUP);
    graph_node(&g, n);
    parse_err(&g, EL_ERR_LIMIT, "groups nested deeper than 64");
    e_free(&g);

    /* a group that is closed is skipped */
    g = (enc){0};
    n = node_begin("a", "NoOp");
    for (int i = 0; i < 10; i++) e_key(&n, 7, EL_PB_SGROUP);
    e_uint(&n, 3, 1);
    for (int i = 0; i < 10; i++) e_key(&n, 7, EL_PB_EGROUP);
    graph_node(&g, n);
    gr = parse_ok(&g);
    el_graph_free(gr);
    e_free(&g);

    g = (enc){0};
    n = node_begin("a", "NoOp");
    e_key(&n, 7, EL_PB_SGROUP);
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "group of field 7 is not closed");
    e_free(&g);

    g = (enc){0};
    n = node_begin("a", "NoOp");
    e_key(&n, 7, EL_PB_EGROUP);
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "end-group of field 7 without a matching start");
    e_free(&g);

    /* missing input, duplicate names, control before data */
    g = (enc){0};
    n = node_begin("a", "Identity");
    node_input(&n, "nowhere:1");
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node 'a' (op Identity): input 'nowhere:1' refers to a node that does not exist");
    e_free(&g);

    g = (enc){0};
    graph_node(&g, node_begin("a", "NoOp"));
    graph_node(&g, node_begin("a", "NoOp"));
    parse_err(&g, EL_ERR_FORMAT, "t.pb: two nodes are named 'a'");
    e_free(&g);

    g = (enc){0};
    graph_node(&g, node_begin("a", "NoOp"));
    n = node_begin("b", "Identity");
    node_input(&n, "^a");
    node_input(&n, "a");
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "data input 'a' follows a control input");
    e_free(&g);

    g = (enc){0};
    n = node_begin("a", "NoOp");
    node_attr(&n, "T", av_type(EL_DT_FLOAT));
    node_attr(&n, "T", av_type(EL_DT_INT32));
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node 'a' (op NoOp): attr 'T' is given twice");
    e_free(&g);

    g = (enc){0};
    n = (enc){0};
    e_bytes(&n, 1, "a\0b", 3);
    e_str(&n, 2, "NoOp");
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "node name contains a NUL byte");
    e_free(&g);

    g = (enc){0};
    graph_node(&g, node_begin(NULL, "NoOp"));
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node #0 has no name");
    e_free(&g);

    g = (enc){0};
    graph_node(&g, node_begin("a", NULL));
    parse_err(&g, EL_ERR_FORMAT, "t.pb: node 'a' has no op");
    e_free(&g);

    g = (enc){0};
    e_uint(&g, 3, 21); /* only `version`: no nodes */
    parse_err(&g, EL_ERR_FORMAT, "t.pb: no nodes");
    e_free(&g);

    g = (enc){0};
    n = node_begin("a", "NoOp");
    node_attr(&n, "T", av_type((el_dtype)100000));
    graph_node(&g, n);
    parse_err(&g, EL_ERR_FORMAT, "attr 'T': offset");
    e_free(&g);

    assert_int_equal(el_graph_parse("", 0, "t.pb", &gr), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "empty"));
}

static void test_load_errors(void **state)
{
    (void)state;
    el_graph *g = (el_graph *)1;
    assert_int_equal(el_graph_load("/nonexistent/x.pb", &g), EL_ERR_IO);
    assert_null(g);
    assert_non_null(strstr(el_last_error(), "/nonexistent/x.pb: cannot open"));
    char dir[64], path[128];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    assert_int_equal(el_graph_load(dir, &g), EL_ERR_IO);
    snprintf(path, sizeof path, "%s/empty.pb", dir);
    assert_int_equal(el_test_write_file(path, "", 0), 0);
    assert_int_equal(el_graph_load(path, &g), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "empty file"));
    /* a bad file fails with the path in front */
    assert_int_equal(el_test_write_file(path, "\x0a\x05\x0a\x01", 4), 0);
    assert_int_equal(el_graph_load(path, &g), EL_ERR_FORMAT);
    assert_true(strncmp(el_last_error(), path, strlen(path)) == 0);
    unlink(path);
    rmdir(dir);
}

/* ---- hostile bytes ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    /* xorshift64*: deterministic across runs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static bool try_parse(const uint8_t *d, size_t n)
{
    el_graph *g = NULL;
    el_error_clear();
    el_status s = el_graph_parse(d, n, "fuzz.pb", &g);
    if (s == EL_OK) {
        assert_non_null(g);
        el_graph_free(g);
        return true;
    }
    assert_null(g);
    assert_true(el_last_error()[0] != '\0');
    return false;
}

static enc sample_graph(void)
{
    enc g = {0};
    int64_t shape[4] = {1, -1, -1, 3};
    enc n = node_begin("image_tensor", "Placeholder");
    node_attr(&n, "dtype", av_type(EL_DT_UINT8));
    node_attr(&n, "shape", av_shape(4, shape));
    graph_node(&g, n);
    int64_t wd[4] = {1, 1, 3, 2};
    float w[6] = {1, 2, 3, 4, 5, 6};
    enc t = tensor_begin(EL_DT_FLOAT, 4, wd);
    e_bytes(&t, 4, w, sizeof w);
    graph_const(&g, "w", EL_DT_FLOAT, t);
    int64_t d3[1] = {3};
    t = tensor_begin(EL_DT_INT32, 1, d3);
    int64_t iv[2] = {4, -1};
    t_packed_varints(&t, 7, 2, iv);
    graph_const(&g, "i", EL_DT_INT32, t);
    t = tensor_begin(EL_DT_STRING, 1, d3);
    e_str(&t, 8, "xy");
    graph_const(&g, "s", EL_DT_STRING, t);
    n = node_begin("cast", "Cast");
    node_input(&n, "image_tensor");
    node_attr(&n, "SrcT", av_type(EL_DT_UINT8));
    node_attr(&n, "DstT", av_type(EL_DT_FLOAT));
    graph_node(&g, n);
    n = node_begin("conv", "Conv2D");
    node_input(&n, "cast:0");
    node_input(&n, "w");
    node_input(&n, "^i");
    enc l = {0};
    int64_t st[4] = {1, 2, 2, 1};
    t_packed_varints(&l, 3, 4, st);
    node_attr(&n, "strides", av_list(&l));
    node_attr(&n, "padding", av_s("SAME"));
    node_attr(&n, "use_cudnn_on_gpu", av_b(true));
    l = (enc){0};
    t = tensor_begin(EL_DT_FLOAT, 1, d3);
    e_fixed32(&t, 5, f32_bits(0.5f));
    e_sub(&l, 8, &t);
    enc sh = shape_enc(-1, NULL);
    enc l2 = {0};
    e_sub(&l2, 7, &sh);
    node_attr(&n, "tensors", av_list(&l));
    node_attr(&n, "shapes", av_list(&l2));
    graph_node(&g, n);
    return g;
}

static void test_fuzz(void **state)
{
    (void)state;
    uint8_t buf[512];
    for (int it = 0; it < 2000; it++) {
        size_t n = rng() % sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rng();
        /* half of them start like a GraphDef node so the parse goes deeper */
        if (it % 2 && n > 4) {
            buf[0] = 0x0a;
            buf[1] = (uint8_t)((n - 2) & 0x7f);
        }
        try_parse(buf, n);
    }

    enc g = sample_graph();
    el_graph *ok = parse_ok(&g);
    assert_int_equal(ok->nnodes, 6);
    el_graph_free(ok);
    uint8_t *m = malloc(g.n + 64);
    assert_non_null(m);
    int accepted = 0;
    for (int it = 0; it < 2000; it++) {
        memcpy(m, g.p, g.n);
        size_t n = g.n;
        switch (rng() % 4) {
        case 0: /* truncate */
            n = rng() % g.n;
            break;
        case 1: { /* flip a few bytes */
            int k = 1 + (int)(rng() % 4);
            for (int j = 0; j < k; j++) m[rng() % n] = (uint8_t)rng();
            break;
        }
        case 2: { /* set a byte to a varint-significant value */
            static const uint8_t vals[] = {0x00, 0x7f, 0x80, 0xff, 0x01, 0x0a, 0x12, 0x1a, 0x22, 0x2a};
            m[rng() % n] = vals[rng() % sizeof vals];
            break;
        }
        default: { /* insert random bytes */
            size_t at = rng() % n, k = 1 + rng() % 8;
            memmove(m + at + k, m + at, n - at);
            for (size_t j = 0; j < k; j++) m[at + j] = (uint8_t)rng();
            n += k;
            break;
        }
        }
        accepted += try_parse(m, n);
    }
    /* some mutations stay valid (a changed value): the parse went deep */
    fprintf(stderr, "fuzz: %d of 2000 mutations still parse\n", accepted);
    assert_true(accepted > 0 && accepted < 2000);
    free(m);
    e_free(&g);
}

/* ---- the real models ---- */

static int count_ops(const el_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++) {
        int j = 0;
        while (j < i && strcmp(g->nodes[j].op, g->nodes[i].op) != 0) j++;
        n += j == i;
    }
    return n;
}

static void check_model(const char *rel, int nnodes, int nops, const int64_t *input_shape)
{
    char path[512];
    if (!el_test_shared(rel, path, sizeof path)) {
        skip();
        return;
    }
    el_graph *g;
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (el_graph_load(path, &g) != EL_OK) fail_msg("%s", el_last_error());
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms < best) best = ms;
        if (rep < 2) el_graph_free(g);
    }
    fprintf(stderr, "%s: %d nodes loaded in %.2f ms\n", rel, g->nnodes, best);
    /* generous: this build may carry sanitizers; release loads take a few ms */
    assert_true(best < 500);
    assert_int_equal(g->nnodes, nnodes);
    assert_int_equal(count_ops(g), nops);

    int i = el_graph_find(g, "image_tensor");
    assert_true(i >= 0);
    const el_node *n = &g->nodes[i];
    assert_string_equal(n->op, "Placeholder");
    el_dtype dt;
    assert_int_equal(el_attr_dtype(n, "dtype", EL_DT_INVALID, &dt), EL_OK);
    assert_int_equal(dt, EL_DT_UINT8);
    el_shape sh;
    bool present;
    assert_int_equal(el_attr_shape(n, "shape", &sh, &present), EL_OK);
    assert_true(present);
    assert_int_equal(sh.rank, 4);
    for (int k = 0; k < 4; k++) assert_int_equal(sh.dims[k], input_shape[k]);

    const el_tensor *w = const_tensor(g, "FeatureExtractor/MobilenetV1/Conv2d_0/weights");
    int64_t wd[4] = {3, 3, 3, 16}; /* HWIO: 3x3 kernel, RGB in, 16 filters */
    assert_int_equal(w->dtype, EL_DT_FLOAT);
    el_test_assert_shape(w, 4, wd);
    float sum = 0;
    for (int64_t k = 0; k < el_tensor_numel(w); k++) sum += ((const float *)w->data)[k] * ((const float *)w->data)[k];
    assert_true(sum > 0 && sum < 1e6);

    /* every Const holds a tensor of its declared dtype */
    int consts = 0;
    for (int k = 0; k < g->nnodes; k++) {
        if (strcmp(g->nodes[k].op, "Const") != 0) continue;
        const el_tensor *t = const_tensor(g, g->nodes[k].name);
        assert_int_equal(el_attr_dtype(&g->nodes[k], "dtype", EL_DT_INVALID, &dt), EL_OK);
        assert_int_equal(t->dtype, dt);
        consts++;
    }
    assert_true(consts > 100);
    assert_string_equal(g->nodes[g->nnodes - 1].name, "num_detections");
    el_graph_free(g);
}

static void test_model_aiy(void **state)
{
    (void)state;
    int64_t shape[4] = {1, 256, 256, 3};
    check_model("models/ssd_mobilenet_v1_aiy_person_cat_dog/frozen_inference_graph.pb", 2012, 57, shape);
}

static void test_model_voc(void **state)
{
    (void)state;
    /* the export leaves the batch unknown too */
    int64_t shape[4] = {-1, -1, -1, 3};
    check_model("models/ssd_mobilenet_v1_voc/frozen_inference_graph.pb", 3185, 58, shape);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_varints),
        cmocka_unit_test(test_pb_repeated),
        cmocka_unit_test(test_basic_graph),
        cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_content_zero_copy),
        cmocka_unit_test(test_content_realigned),
        cmocka_unit_test(test_bool_content_normalised),
        cmocka_unit_test(test_tensor_errors),
        cmocka_unit_test(test_attr_kinds),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_private_names),
        cmocka_unit_test(test_graph_errors),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_model_aiy),
        cmocka_unit_test(test_model_voc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
