#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/npy.h"

static char el_dir[64];

static const char *tmp_path(const char *name)
{
    static char buf[160];
    snprintf(buf, sizeof buf, "%s/%s", el_dir, name);
    return buf;
}

/* Reads a whole file (malloc'd). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A .npy image in memory: version, header dict text (padded as numpy does
 * for version 1), then `dlen` data bytes. */
static unsigned char *make_npy(int major, const char *dict, const void *data, size_t dlen, size_t *len)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t hl = strlen(dict) + 1;
    hl += (64 - (pre + hl) % 64) % 64;
    unsigned char *b = calloc(1, pre + hl + dlen + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8);
    if (major != 1) {
        b[10] = (unsigned char)(hl >> 16);
        b[11] = (unsigned char)(hl >> 24);
    }
    memset(b + pre, ' ', hl);
    memcpy(b + pre, dict, strlen(dict));
    b[pre + hl - 1] = '\n';
    if (dlen) memcpy(b + pre + hl, data, dlen);
    *len = pre + hl + dlen;
    return b;
}

static void load_fails(const void *data, size_t len, el_status code, const char *want)
{
    el_tensor t;
    memset(&t, 0x5a, sizeof t);
    el_status s = el_npy_load(data, len, "x.npy", &t);
    if (s != code) fail_msg("expected status %d, got %d (%s)", (int)code, (int)s, el_last_error());
    assert_null(t.buf);
    assert_null(t.data);
    if (want && !strstr(el_last_error(), want)) fail_msg("message '%s' lacks '%s'", el_last_error(), want);
}

static void dict_fails(const char *dict, const void *data, size_t dlen, el_status code, const char *want)
{
    size_t len;
    unsigned char *b = make_npy(1, dict, data, dlen, &len);
    load_fails(b, len, code, want);
    free(b);
}

static void test_numpy_layout(void **state)
{
    (void)state;
    /* Byte for byte what np.save(np.arange(6, dtype='<f4').reshape(2, 3)) writes. */
    float v[6] = {0, 1, 2, 3, 4, 5};
    int64_t dims[2] = {2, 3};
    el_tensor t = el_test_f32(2, dims, v);
    const char *path = tmp_path("layout.npy");
    assert_int_equal(el_npy_write(path, &t), EL_OK);
    size_t len;
    unsigned char *got = slurp(path, &len);
    size_t wlen;
    unsigned char *want = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v, &wlen);
    assert_int_equal(len, 128 + sizeof v);
    assert_int_equal(wlen, len);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    el_tensor_release(&t);
    remove(path);
}

static void roundtrip(el_dtype dt, int ndim, const int64_t *dims, const char *descr)
{
    el_tensor t, r;
    assert_int_equal(el_tensor_alloc(&t, dt, ndim, dims), EL_OK);
    unsigned char *p = t.data;
    for (size_t i = 0; i < el_tensor_nbytes(&t); i++) p[i] = (unsigned char)(i * 37 + 11);
    if (dt == EL_DT_BOOL)
        for (size_t i = 0; i < el_tensor_nbytes(&t); i++) p[i] &= 1;
    const char *path = tmp_path("rt.npy");
    assert_int_equal(el_npy_write(path, &t), EL_OK);

    size_t len;
    unsigned char *raw = slurp(path, &len);
    size_t hl = (size_t)raw[8] | (size_t)raw[9] << 8;
    assert_int_equal((10 + hl) % 64, 0);
    assert_int_equal(raw[10 + hl - 1], '\n');
    assert_int_equal(len, 10 + hl + el_tensor_nbytes(&t));
    char want[32];
    snprintf(want, sizeof want, "'descr': '%s'", descr);
    raw[10 + hl - 1] = '\0';
    if (!strstr((char *)raw + 10, want)) fail_msg("header %s lacks %s", (char *)raw + 10, want);
    free(raw);

    assert_int_equal(el_npy_read(path, &r), EL_OK);
    assert_int_equal(r.dtype, dt);
    el_test_assert_shape(&r, ndim, dims);
    assert_int_equal(el_tensor_nbytes(&r), el_tensor_nbytes(&t));
    if (el_tensor_nbytes(&t)) assert_memory_equal(r.data, t.data, el_tensor_nbytes(&t));
    assert_int_equal((uintptr_t)r.data % 64, 0);
    el_tensor_release(&r);

    /* The in-memory loader agrees. */
    raw = slurp(path, &len);
    assert_int_equal(el_npy_load(raw, len, "mem", &r), EL_OK);
    assert_int_equal(r.dtype, dt);
    el_test_assert_shape(&r, ndim, dims);
    if (el_tensor_nbytes(&t)) assert_memory_equal(r.data, t.data, el_tensor_nbytes(&t));
    el_tensor_release(&r);
    free(raw);
    el_tensor_release(&t);
    remove(path);
}

static void test_roundtrip_dtypes(void **state)
{
    (void)state;
    int64_t d23[2] = {2, 3}, d5[1] = {5}, d0[2] = {0, 3}, d8[8] = {1, 2, 1, 2, 1, 2, 1, 3};
    roundtrip(EL_DT_FLOAT, 2, d23, "<f4");
    roundtrip(EL_DT_DOUBLE, 2, d23, "<f8");
    roundtrip(EL_DT_INT32, 1, d5, "<i4");
    roundtrip(EL_DT_INT64, 1, d5, "<i8");
    roundtrip(EL_DT_UINT8, 2, d23, "|u1");
    roundtrip(EL_DT_BOOL, 1, d5, "|b1");
    roundtrip(EL_DT_INT16, 2, d23, "<i2");
    roundtrip(EL_DT_INT8, 1, d5, "|i1");
    roundtrip(EL_DT_HALF, 1, d5, "<f2");
    roundtrip(EL_DT_FLOAT, 0, NULL, "<f4");
    roundtrip(EL_DT_INT64, 0, NULL, "<i8");
    roundtrip(EL_DT_FLOAT, 2, d0, "<f4");
    roundtrip(EL_DT_UINT8, 8, d8, "|u1");
}

static void test_shapes_written(void **state)
{
    (void)state;
    const char *path = tmp_path("shape.npy");
    struct {
        int ndim;
        int64_t dims[3];
        const char *want;
    } cases[] = {
        {0, {0}, "'shape': (), }"},
        {1, {3}, "'shape': (3,), }"},
        {3, {1, 0, 4}, "'shape': (1, 0, 4), }"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        el_tensor t;
        assert_int_equal(el_tensor_zeros(&t, EL_DT_FLOAT, cases[k].ndim, cases[k].dims), EL_OK);
        assert_int_equal(el_npy_write(path, &t), EL_OK);
        size_t len;
        unsigned char *raw = slurp(path, &len);
        raw[len - el_tensor_nbytes(&t) - 1] = '\0';
        if (!strstr((char *)raw + 10, cases[k].want)) fail_msg("header %s lacks %s", (char *)raw + 10, cases[k].want);
        free(raw);
        el_tensor_release(&t);
    }
    remove(path);
}

static void test_header_variants(void **state)
{
    (void)state;
    float v[3] = {1.5f, -2, 3};
    size_t len;
    el_tensor t;
    int64_t d3[1] = {3};
    /* Versions 2.0 and 3.0, other key order and quotes, no trailing comma,
     * Python 2 longs, extra spaces, 16-byte alignment of old numpy. */
    const char *dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
        "{\"shape\": (3,), \"descr\": \"<f4\", \"fortran_order\": False}",
        "{'shape':(3L,),'fortran_order':False,'descr':'<f4'}",
        "  { 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 3 , ) , }  ",
    };
    for (int major = 1; major <= 3; major++) {
        for (size_t k = 0; k < sizeof dicts / sizeof dicts[0]; k++) {
            unsigned char *b = make_npy(major, dicts[k], v, sizeof v, &len);
            if (el_npy_load(b, len, "v.npy", &t) != EL_OK) fail_msg("v%d %s: %s", major, dicts[k], el_last_error());
            el_test_assert_shape(&t, 1, d3);
            el_test_assert_f32(&t, v, 3, 0);
            el_tensor_release(&t);
            free(b);
        }
    }
    /* Unpadded header (allowed: alignment is a convenience, not a rule). */
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,)}\n";
    unsigned char raw[128] = "\x93NUMPY\x01\x00";
    raw[8] = (unsigned char)strlen(dict);
    memcpy(raw + 10, dict, strlen(dict));
    raw[10 + strlen(dict)] = 7;
    raw[11 + strlen(dict)] = 9;
    assert_int_equal(el_npy_load(raw, 12 + strlen(dict), "u.npy", &t), EL_OK);
    assert_int_equal(t.dtype, EL_DT_UINT8);
    assert_int_equal(((uint8_t *)t.data)[1], 9);
    el_tensor_release(&t);
}

static void test_widen_and_normalize(void **state)
{
    (void)state;
    size_t len;
    el_tensor t;
    uint8_t u2[6] = {0, 0, 0xff, 0xff, 0x34, 0x12};
    unsigned char *b = make_npy(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }", u2, sizeof u2, &len);
    assert_int_equal(el_npy_load(b, len, "u2", &t), EL_OK);
    assert_int_equal(t.dtype, EL_DT_INT32);
    const int32_t *w = t.data;
    assert_int_equal(w[0], 0);
    assert_int_equal(w[1], 65535);
    assert_int_equal(w[2], 0x1234);
    el_tensor_release(&t);
    const char *path = tmp_path("u2.npy");
    assert_int_equal(el_test_write_file(path, b, len), 0);
    assert_int_equal(el_npy_read(path, &t), EL_OK);
    assert_int_equal(((int32_t *)t.data)[1], 65535);
    el_tensor_release(&t);
    free(b);

    uint8_t bl[4] = {0, 1, 2, 255};
    b = make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }", bl, sizeof bl, &len);
    assert_int_equal(el_npy_load(b, len, "b1", &t), EL_OK);
    assert_int_equal(t.dtype, EL_DT_BOOL);
    const uint8_t want[4] = {0, 1, 1, 1};
    assert_memory_equal(t.data, want, 4);
    el_tensor_release(&t);
    assert_int_equal(el_test_write_file(path, b, len), 0);
    assert_int_equal(el_npy_read(path, &t), EL_OK);
    assert_memory_equal(t.data, want, 4);
    el_tensor_release(&t);
    free(b);
    remove(path);
}

static void test_refused_headers(void **state)
{
    (void)state;
    float v[4] = {0};
    dict_fails("{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }", v, 16, EL_ERR_UNSUPPORTED, "Fortran");
    dict_fails("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", v, 16, EL_ERR_UNSUPPORTED, "big-endian");
    dict_fails("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", v, 16, EL_ERR_UNSUPPORTED, "'<c8' is not supported");
    dict_fails("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", v, 12, EL_ERR_UNSUPPORTED, "not supported");
    dict_fails("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", v, 16, EL_ERR_UNSUPPORTED, "structured");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 4), }", v, 16,
               EL_ERR_UNSUPPORTED, "more than 8 dimensions");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", v, 16, EL_ERR_FORMAT, "one-element");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", v, 16, EL_ERR_FORMAT, "non-negative");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4.0,), }", v, 16, EL_ERR_FORMAT, "',' or ')'");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': [4], }", v, 16, EL_ERR_FORMAT, "'('");
    dict_fails("{'descr': '<f4', 'fortran_order': false, 'shape': (4,), }", v, 16, EL_ERR_FORMAT, "True or False");
    dict_fails("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (4,), }", v, 16, EL_ERR_FORMAT, "True or False");
    dict_fails("{'descr': '<f4', 'shape': (4,), }", v, 16, EL_ERR_FORMAT, "lacks 'fortran_order'");
    dict_fails("{'fortran_order': False, 'shape': (4,), }", v, 16, EL_ERR_FORMAT, "lacks 'descr'");
    dict_fails("{'descr': '<f4', 'fortran_order': False}", v, 16, EL_ERR_FORMAT, "lacks 'shape'");
    dict_fails("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", v, 16, EL_ERR_FORMAT, "twice");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", v, 16, EL_ERR_FORMAT, "unexpected key 'x'");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x", v, 16, EL_ERR_FORMAT, "only padding");
    dict_fails("{'descr': '<f4' 'fortran_order': False, 'shape': (4,)}", v, 16, EL_ERR_FORMAT, "',' or '}'");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)", v, 16, EL_ERR_FORMAT, "',' or '}'");
    dict_fails("{'descr: '<f4', 'fortran_order': False, 'shape': (4,)}", v, 16, EL_ERR_FORMAT, "':'");
    dict_fails("{'de\\scr': '<f4'}", v, 16, EL_ERR_FORMAT, "quoted key");
    dict_fails("['descr', '<f4']", v, 16, EL_ERR_FORMAT, "'{'");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\x01", v, 16, EL_ERR_FORMAT, "printable ASCII");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\xc3\xa9", v, 16, EL_ERR_FORMAT, "printable ASCII");
    dict_fails("", v, 16, EL_ERR_FORMAT, "'{'");
}

static void test_sizes_checked(void **state)
{
    (void)state;
    float v[4] = {0};
    /* Data length must match the shape exactly, both ways. */
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", v, 12, EL_ERR_FORMAT, "needs 16 data bytes, the file has 12");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, 16, EL_ERR_FORMAT, "needs 12 data bytes, the file has 16");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", v, 0, EL_ERR_FORMAT, "needs 4 data bytes");
    /* Shapes whose byte count overflows must not reach an allocation. */
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", v, 16,
               EL_ERR_FORMAT, "overflows");
    dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", v, 16, EL_ERR_FORMAT, "overflows");
    dict_fails("{'descr': '|u1', 'fortran_order': False, 'shape': (9223372036854775808,), }", v, 16, EL_ERR_FORMAT, "below 2^63");
    dict_fails("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999999,), }", v, 16, EL_ERR_FORMAT, "below 2^63");
    dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", v, 16, EL_ERR_FORMAT, "needs");
    /* A zero dimension makes the others irrelevant, as in numpy. */
    size_t len;
    el_tensor t;
    unsigned char *b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904), }", NULL, 0, &len);
    assert_int_equal(el_npy_load(b, len, "z", &t), EL_OK);
    assert_int_equal(el_tensor_numel(&t), 0);
    el_tensor_release(&t);
    free(b);
}

static void test_truncated_and_magic(void **state)
{
    (void)state;
    float v[3] = {1, 2, 3};
    size_t len;
    unsigned char *b = make_npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, sizeof v, &len);
    const char *path = tmp_path("trunc.npy");
    /* Every prefix fails, in memory and from a file. */
    for (size_t n = 0; n < len; n++) {
        el_tensor t;
        assert_int_not_equal(el_npy_load(b, n, "p", &t), EL_OK);
        assert_null(t.buf);
        if (n % 7 == 0 || n < 14) {
            assert_int_equal(el_test_write_file(path, b, n), 0);
            assert_int_not_equal(el_npy_read(path, &t), EL_OK);
            assert_null(t.buf);
            assert_non_null(strstr(el_last_error(), path));
        }
    }
    load_fails(b, 5, EL_ERR_FORMAT, "not a .npy file");
    load_fails(b, 9, EL_ERR_FORMAT, "truncated .npy file");
    load_fails(b, 11, EL_ERR_FORMAT, "truncated .npy file");
    load_fails(b, 40, EL_ERR_FORMAT, "truncated .npy header");
    load_fails(b, len - 1, EL_ERR_FORMAT, "needs 12 data bytes, the file has 11");
    load_fails(NULL, 0, EL_ERR_FORMAT, "not a .npy file");

    b[1] = 'M';
    load_fails(b, len, EL_ERR_FORMAT, "not a .npy file");
    b[1] = 'N';
    b[6] = 4;
    load_fails(b, len, EL_ERR_UNSUPPORTED, "version 4.0");
    b[6] = 1;
    b[7] = 1;
    load_fails(b, len, EL_ERR_UNSUPPORTED, "version 1.1");
    b[6] = 0;
    b[7] = 0;
    load_fails(b, len, EL_ERR_UNSUPPORTED, "version 0.0");
    free(b);
    remove(path);
}

static void test_header_too_long(void **state)
{
    (void)state;
    /* A 2.0 header declaring 100000 bytes, and really having them: refused
     * by the bound, not read. */
    size_t hl = 100000;
    unsigned char *b = calloc(1, 12 + hl + 4);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x02\x00", 8);
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8 & 0xff);
    b[10] = (unsigned char)(hl >> 16 & 0xff);
    memset(b + 12, ' ', hl);
    memcpy(b + 12, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 55);
    b[12 + hl - 1] = '\n';
    load_fails(b, 12 + hl + 4, EL_ERR_LIMIT, "header of 100000 bytes exceeds");
    const char *path = tmp_path("long.npy");
    assert_int_equal(el_test_write_file(path, b, 12 + hl + 4), 0);
    el_tensor t;
    assert_int_equal(el_npy_read(path, &t), EL_ERR_LIMIT);
    /* Declared 4 GiB - 1 in 3.0, file short. */
    memcpy(b, "\x93NUMPY\x03\x00\xff\xff\xff\xff", 12);
    load_fails(b, 64, EL_ERR_LIMIT, "exceeds");
    /* 1.0 with 60000. */
    memcpy(b, "\x93NUMPY\x01\x00\x60\xea", 10);
    load_fails(b, 64, EL_ERR_LIMIT, "exceeds");
    free(b);
    remove(path);
}

static uint64_t el_rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    el_rng ^= el_rng >> 12;
    el_rng ^= el_rng << 25;
    el_rng ^= el_rng >> 27;
    return el_rng * 0x9E3779B97F4A7C15ull;
}

static void test_random_mutations(void **state)
{
    (void)state;
    int64_t vals[6] = {1, 2, 3, 4, 5, 6};
    size_t len;
    unsigned char *good = make_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", vals, sizeof vals, &len);
    unsigned char *b = calloc(1, len + 64);
    assert_non_null(b);
    static const char alphabet[] = "{}()[]:,' \"\n0123456789L<>|fiub-TrueFalse";
    int ok = 0;
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(b, good, len);
        int muts = 1 + (int)(rnd() % 3);
        for (int m = 0; m < muts; m++) {
            size_t at = (size_t)(rnd() % 128); /* mostly the prefix and header */
            b[at] = iter % 2 ? (unsigned char)rnd() : (unsigned char)alphabet[rnd() % (sizeof alphabet - 1)];
        }
        size_t n = len - (size_t)(rnd() % 3) * 8 + (size_t)(rnd() % 2) * 8;
        el_tensor t;
        if (el_npy_load(b, n, "fuzz", &t) == EL_OK) {
            ok++;
            assert_true(el_tensor_nbytes(&t) <= n);
            el_tensor_release(&t);
        } else {
            assert_null(t.buf);
            assert_true(strncmp(el_last_error(), "fuzz", 4) == 0);
        }
    }
    assert_true(ok > 0); /* padding mutations keep some files valid */
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t)(rnd() % 200);
        for (size_t i = 0; i < n; i++) b[i] = (unsigned char)rnd();
        if (n > 8 && iter % 2) memcpy(b, "\x93NUMPY\x01\x00", 8);
        el_tensor t;
        if (el_npy_load(b, n, "fuzz", &t) == EL_OK) el_tensor_release(&t);
        else assert_null(t.buf);
    }
    free(b);
    free(good);
}

static void test_files_and_write_errors(void **state)
{
    (void)state;
    el_tensor t;
    assert_int_equal(el_npy_read(tmp_path("absent.npy"), &t), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), "absent.npy"));
    assert_int_equal(el_npy_read(el_dir, &t), EL_ERR_IO);

    el_string s[1] = {{"a", 1}};
    int64_t d1[1] = {1};
    el_tensor st;
    assert_int_equal(el_tensor_wrap(&st, EL_DT_STRING, 1, d1, s), EL_OK);
    assert_int_equal(el_npy_write(tmp_path("s.npy"), &st), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "string"));
    el_tensor_release(&st);

    float v = 1;
    el_tensor f = el_test_f32(1, d1, &v);
    assert_int_equal(el_npy_write(tmp_path("no/such/dir.npy"), &f), EL_ERR_IO);
    el_tensor_release(&f);
    struct stat sb;
    assert_int_not_equal(stat(tmp_path("s.npy"), &sb), 0);
}

static int setup(void **state)
{
    (void)state;
    return el_test_tmpdir(el_dir, sizeof el_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return remove(el_dir) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_layout),
        cmocka_unit_test(test_roundtrip_dtypes),
        cmocka_unit_test(test_shapes_written),
        cmocka_unit_test(test_header_variants),
        cmocka_unit_test(test_widen_and_normalize),
        cmocka_unit_test(test_refused_headers),
        cmocka_unit_test(test_sizes_checked),
        cmocka_unit_test(test_truncated_and_magic),
        cmocka_unit_test(test_header_too_long),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_files_and_write_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
