/* Gather, GatherV2 (axis, batch_dims, missing attr), Where against
 * TensorFlow's CPU rules: out-of-range indices are errors naming the index. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V64(...) ((const int64_t[]){__VA_ARGS__})
#define V32(...) ((const int32_t[]){__VA_ARGS__})

static void assert_err(el_status s, el_tensor *out, const char *needle)
{
    assert_int_not_equal(s, EL_OK);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
    el_tensor_release(out);
}

static el_tensor iota_i32(int ndim, const int64_t *dims)
{
    el_tensor t = el_test_i32(ndim, dims, NULL);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((int32_t *)t.data)[i] = (int32_t)i;
    return t;
}

static void assert_i32(const el_tensor *t, int ndim, const int64_t *dims, const int32_t *want)
{
    el_test_assert_shape(t, ndim, dims);
    assert_int_equal(t->dtype, EL_DT_INT32);
    const int32_t *got = t->data;
    for (int64_t i = 0; i < el_tensor_numel(t); i++)
        if (got[i] != want[i]) fail_msg("element %lld: got %d, want %d", (long long)i, got[i], want[i]);
}

static void assert_i64(const el_tensor *t, int ndim, const int64_t *dims, const int64_t *want)
{
    el_test_assert_shape(t, ndim, dims);
    assert_int_equal(t->dtype, EL_DT_INT64);
    if (el_tensor_numel(t)) assert_memory_equal(t->data, want, el_tensor_nbytes(t));
}

/* Gather (2 inputs) or GatherV2 (axis given); batch_dims < -100: no attr. */
static el_status gather(el_tensor params, el_tensor indices, const int32_t *axis, int64_t batch_dims, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, axis ? "GatherV2" : "Gather");
    if (batch_dims > -100) el_test_attr_int(&tn, "batch_dims", batch_dims);
    el_tensor in[3] = {params, indices, axis ? el_test_i32(0, NULL, axis) : (el_tensor){0}};
    el_status s = el_test_run(&tn, axis ? 3 : 2, in, 1, out);
    el_test_release_all(3, in);
    return s;
}

static void test_gather_v1(void **state)
{
    (void)state;
    el_tensor out;
    el_test_node tn;
    el_test_node_init(&tn, "Gather");
    el_test_attr_bool(&tn, "validate_indices", true);
    el_tensor in[2] = {iota_i32(2, V64(4, 2)), el_test_i32(1, V64(3), V32(3, 0, 3))};
    assert_int_equal(el_test_run(&tn, 2, in, 1, &out), EL_OK);
    assert_i32(&out, 2, V64(3, 2), V32(6, 7, 0, 1, 6, 7));
    el_tensor_release(&out);
    el_test_release_all(2, in);
    /* a scalar index drops the axis; int64 indices */
    assert_int_equal(gather(iota_i32(2, V64(4, 2)), el_test_i64(0, NULL, V64(2)), NULL, -1000, &out), EL_OK);
    assert_i32(&out, 1, V64(2), V32(4, 5));
    el_tensor_release(&out);
    /* 2-D indices */
    assert_int_equal(gather(iota_i32(1, V64(5)), el_test_i32(2, V64(2, 2), V32(4, 3, 0, 0)), NULL, -1000, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(4, 3, 0, 0));
    el_tensor_release(&out);
}

static void test_gather_errors(void **state)
{
    (void)state;
    el_tensor out;
    assert_err(gather(iota_i32(2, V64(4, 2)), el_test_i32(1, V64(2), V32(1, 4)), NULL, -1000, &out), &out,
               "indices[1] = 4 is not in [0, 4)");
    assert_err(gather(iota_i32(2, V64(4, 2)), el_test_i32(1, V64(2), V32(-1, 0)), NULL, -1000, &out), &out,
               "indices[0] = -1 is not in [0, 4)");
    assert_err(gather(iota_i32(1, V64(3)), el_test_i32(2, V64(2, 2), V32(0, 1, 2, 3)), V32(0), -1000, &out), &out,
               "indices[1,1] = 3 is not in [0, 3)");
    assert_err(gather(iota_i32(1, V64(3)), el_test_i32(0, NULL, V32(7)), NULL, -1000, &out), &out,
               "indices = 7 is not in [0, 3)");
    assert_err(gather(iota_i32(0, NULL), el_test_i32(0, NULL, V32(0)), NULL, -1000, &out), &out,
               "params must be at least 1 dimensional");
    assert_err(gather(iota_i32(2, V64(2, 2)), el_test_i32(0, NULL, V32(0)), V32(2), -1000, &out), &out,
               "Shape must be at least rank 3 but is rank 2");
    assert_err(gather(iota_i32(2, V64(2, 2)), el_test_i32(0, NULL, V32(0)), V32(-3), -1000, &out), &out,
               "Shape must be at least rank 3 but is rank 2");
    /* nothing to copy: TF does not look at the indices */
    assert_int_equal(gather(iota_i32(2, V64(0, 3)), el_test_i32(1, V64(2), V32(5, 5)), V32(1), -1000, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 2));
    el_tensor_release(&out);
}

static void test_gather_v2_axis(void **state)
{
    (void)state;
    el_tensor out;
    /* axis 1 of [2,3,2]; no batch_dims attr (old exports) */
    assert_int_equal(gather(iota_i32(3, V64(2, 3, 2)), el_test_i32(1, V64(2), V32(2, 0)), V32(1), -1000, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(4, 5, 0, 1, 10, 11, 6, 7));
    el_tensor_release(&out);
    /* axis -1 with 2-D indices */
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(1, 2), V32(2, 1)), V32(-1), 0, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 1, 2), V32(2, 1, 5, 4));
    el_tensor_release(&out);
    /* empty indices */
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(1, V64(0), NULL), V32(0), 0, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 3));
    el_tensor_release(&out);
}

static void test_gather_batch_dims(void **state)
{
    (void)state;
    el_tensor out;
    /* out[b,i] = params[b, idx[b,i]] */
    const int32_t *idx = V32(2, 0, 1, 1);
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(1), 1, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(2, 0, 4, 4));
    el_tensor_release(&out);
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(1), -1, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(2, 0, 4, 4));
    el_tensor_release(&out);
    /* axis past batch_dims: params [2,2,3], axis 2, batch_dims 1 -> [2,2,2]
     * out[b,o,i] = params[b,o,idx[b,i]] */
    assert_int_equal(gather(iota_i32(3, V64(2, 2, 3)), el_test_i32(2, V64(2, 2), idx), V32(2), 1, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(2, 0, 5, 3, 7, 7, 10, 10));
    el_tensor_release(&out);
    /* batch_dims with inner dims: params [2,3,2], axis 1 -> [2,2,2] */
    assert_int_equal(gather(iota_i32(3, V64(2, 3, 2)), el_test_i32(2, V64(2, 2), idx), V32(1), 1, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(4, 5, 0, 1, 8, 9, 8, 9));
    el_tensor_release(&out);

    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(3, 1), V32(0, 0, 0)), V32(1), 1, &out), &out,
               "params.shape[0]: 2 should be equal to indices.shape[0]: 3");
    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(0), 1, &out), &out,
               "batch_dims (1) must be less than or equal to axis (0).");
    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(1), 3, &out), &out,
               "Expected batch_dims in the range [-2, 2], but got 3");
    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), V32(0, 0, 0, 3)), V32(1), 1, &out), &out,
               "indices[1,1] = 3 is not in [0, 3)");
}

static void test_gather_strings(void **state)
{
    (void)state;
    el_tensor p, out;
    assert_int_equal(el_tensor_alloc(&p, EL_DT_STRING, 1, V64(2)), EL_OK);
    ((el_string *)p.data)[0] = (el_string){"cat", 3};
    ((el_string *)p.data)[1] = (el_string){"dog", 3};
    assert_int_equal(gather(p, el_test_i32(1, V64(3), V32(1, 1, 0)), V32(0), 0, &out), EL_OK);
    const el_string *s = out.data;
    assert_memory_equal(s[0].data, "dog", 3);
    assert_memory_equal(s[2].data, "cat", 3);
    el_tensor_release(&out);
}

static el_status where(el_tensor cond, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Where");
    el_status s = el_test_run(&tn, 1, &cond, 1, out);
    el_tensor_release(&cond);
    return s;
}

static void test_where(void **state)
{
    (void)state;
    el_tensor out;
    assert_int_equal(where(el_test_bool(2, V64(2, 3), (const uint8_t[]){1, 0, 1, 0, 0, 1}), &out), EL_OK);
    assert_i64(&out, 2, V64(3, 2), V64(0, 0, 0, 2, 1, 2));
    el_tensor_release(&out);
    /* floats: -0 is zero, NaN is not */
    assert_int_equal(where(el_test_f32(1, V64(4), (const float[]){0.0f, -0.0f, NAN, 2.5f}), &out), EL_OK);
    assert_i64(&out, 2, V64(2, 1), V64(2, 3));
    el_tensor_release(&out);
    assert_int_equal(where(el_test_i32(3, V64(2, 1, 2), V32(0, 7, -1, 0)), &out), EL_OK);
    assert_i64(&out, 2, V64(2, 3), V64(0, 0, 1, 1, 0, 0));
    el_tensor_release(&out);
    /* all false, empty, scalar */
    assert_int_equal(where(el_test_bool(2, V64(2, 2), (const uint8_t[]){0, 0, 0, 0}), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 2));
    el_tensor_release(&out);
    assert_int_equal(where(el_test_bool(3, V64(2, 0, 3), NULL), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 3));
    assert_int_equal(out.dtype, EL_DT_INT64);
    el_tensor_release(&out);
    assert_int_equal(where(el_test_bool(0, NULL, (const uint8_t[]){1}), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(1, 0));
    el_tensor_release(&out);
}

static uint32_t el_rnd_state = 99;
static uint32_t el_rnd(void)
{
    el_rnd_state = el_rnd_state * 1664525u + 1013904223u;
    return el_rnd_state >> 8;
}

/* GatherV2 on random shapes, element sizes 1..8 (slices of 1 to 40
 * bytes), int32 and int64 indices, batch_dims 0 and 1, against the
 * definition out[b, o, j, i] = params[b, o, indices[b, j], i] computed
 * element by element. */
/* Indices 0..n-1 over the whole gather axis (with nothing before it) give
 * params back: shared, not copied. Anything else is copied as before. */
static void test_gather_all_in_order(void **state)
{
    (void)state;
    enum { N = 700 }; /* past one 256-index check block */
    int32_t ix32[N];
    int64_t ix64[N];
    for (int i = 0; i < N; i++) ix32[i] = i, ix64[i] = i;
    for (int c = 0; c < 6; c++) {
        /* c: 0 int32, 1 int64, 2 axis 1 after a dim of 1, 3 last index off,
         * 4 axis 1 after a dim of 2 (copied), 5 2-D indices (copied) */
        const int64_t *pd = c == 2 ? V64(1, N, 3) : c == 4 ? V64(2, N) : V64(N, 4);
        const int pr = c == 2 ? 3 : 2;
        const int32_t axis = c == 2 || c == 4 ? 1 : 0;
        el_tensor p = iota_i32(pr, pd), keep = p, ix, out;
        el_tensor_retain(&keep);
        if (c == 1) ix = el_test_i64(1, V64(N), ix64);
        else if (c == 5) ix = el_test_i32(2, V64(2, N / 2), ix32);
        else ix = el_test_i32(1, V64(N), ix32);
        if (c == 3) ((int32_t *)ix.data)[N - 1] = N - 2;
        assert_int_equal(gather(p, ix, &axis, -1000, &out), EL_OK);
        const bool shared = c <= 2;
        if (shared) {
            assert_ptr_equal(out.data, keep.data);
            el_test_assert_shape(&out, pr, pd);
        } else {
            assert_ptr_not_equal(out.data, keep.data);
        }
        const int64_t inner = c == 2 ? 3 : c == 4 ? 1 : 4, outer = c == 4 ? 2 : 1;
        const int32_t *got = out.data, *src = keep.data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < N; j++)
                for (int64_t q = 0; q < inner; q++) {
                    const int64_t v = c == 3 && j == N - 1 ? N - 2 : j;
                    assert_int_equal(got[(o * N + j) * inner + q], src[(o * N + v) * inner + q]);
                }
        el_tensor_release(&out);
        el_tensor_release(&keep);
    }
}

static void test_gather_random_vs_reference(void **state)
{
    (void)state;
    static const el_dtype dts[4] = {EL_DT_UINT8, EL_DT_INT16, EL_DT_FLOAT, EL_DT_INT64};
    for (int it = 0; it < 300; it++) {
        const el_dtype dt = dts[it % 4];
        const size_t es = el_dtype_size(dt);
        int64_t pd[4];
        const int pr = 1 + (int)(el_rnd() % 3);
        for (int i = 0; i < pr; i++) pd[i] = 1 + el_rnd() % 5;
        if (el_rnd() % 3 == 0) pd[pr - 1] = 1 + el_rnd() % 300; /* long gather axis or inner run */
        const int bd = pr >= 2 && el_rnd() % 3 == 0 ? 1 : 0;
        const int axis = bd + (int)(el_rnd() % (uint32_t)(pr - bd));
        int64_t idims[3];
        int ir = bd + (int)(el_rnd() % 2);
        if (bd) idims[0] = pd[0];
        for (int i = bd; i < ir; i++) idims[i] = el_rnd() % 600;
        el_tensor p, ix;
        assert_int_equal(el_tensor_alloc(&p, dt, pr, pd), EL_OK);
        for (size_t k = 0; k < el_tensor_nbytes(&p); k++) ((uint8_t *)p.data)[k] = (uint8_t)el_rnd();
        const bool i64 = el_rnd() % 2;
        assert_int_equal(el_tensor_alloc(&ix, i64 ? EL_DT_INT64 : EL_DT_INT32, ir, idims), EL_OK);
        const int64_t n = el_tensor_numel(&ix), gdim = pd[axis];
        for (int64_t k = 0; k < n; k++) {
            int64_t v = (int64_t)(el_rnd() % (uint32_t)gdim);
            if (i64) ((int64_t *)ix.data)[k] = v;
            else ((int32_t *)ix.data)[k] = (int32_t)v;
        }
        int64_t batch = 1, outer = 1, inner = 1;
        for (int i = 0; i < bd; i++) batch *= pd[i];
        for (int i = bd; i < axis; i++) outer *= pd[i];
        for (int i = axis + 1; i < pr; i++) inner *= pd[i];
        const int64_t per = n / batch;
        el_tensor keep = p, keepi = ix, out;
        el_tensor_retain(&keep);
        el_tensor_retain(&keepi);
        int32_t ax = axis;
        assert_int_equal(gather(p, ix, &ax, bd, &out), EL_OK);
        assert_int_equal((int64_t)el_tensor_numel(&out), batch * outer * per * inner);
        for (int64_t b = 0; b < batch; b++)
            for (int64_t o = 0; o < outer; o++)
                for (int64_t j = 0; j < per; j++) {
                    int64_t v = i64 ? ((int64_t *)keepi.data)[b * per + j] : ((int32_t *)keepi.data)[b * per + j];
                    for (int64_t q = 0; q < inner; q++) {
                        const uint8_t *src = (uint8_t *)keep.data + (((b * outer + o) * gdim + v) * inner + q) * es;
                        const uint8_t *dst = (uint8_t *)out.data + (((b * outer + o) * per + j) * inner + q) * es;
                        if (memcmp(src, dst, es)) fail_msg("case %d: element (%lld,%lld,%lld,%lld) differs", it,
                                                           (long long)b, (long long)o, (long long)j, (long long)q);
                    }
                }
        el_tensor_release(&out);
        /* one index out of range, anywhere (also past the first scan block) */
        if (n > 0) {
            const int64_t k = el_rnd() % (uint32_t)n;
            const int64_t badv = el_rnd() % 2 ? -1 - (int64_t)(el_rnd() % 5) : gdim + (int64_t)(el_rnd() % 5);
            if (i64) ((int64_t *)keepi.data)[k] = badv;
            else ((int32_t *)keepi.data)[k] = (int32_t)badv;
            char want[64];
            snprintf(want, sizeof want, "= %lld is not in [0, %lld)", (long long)badv, (long long)gdim);
            el_tensor_retain(&keep);
            el_tensor_retain(&keepi);
            assert_err(gather(keep, keepi, &ax, bd, &out), &out, want);
            assert_non_null(strstr(el_last_error(), "node 'test_node' (op GatherV2)"));
        }
        el_tensor_release(&keep);
        el_tensor_release(&keepi);
    }
}

/* Where on random masks of every condition dtype and rank 0..4 against
 * the coordinates of the nonzero elements in row-major order. */
static void test_where_random_vs_reference(void **state)
{
    (void)state;
    static const el_dtype dts[9] = {EL_DT_BOOL, EL_DT_UINT8, EL_DT_INT8, EL_DT_INT16, EL_DT_HALF,
                                    EL_DT_INT32, EL_DT_INT64, EL_DT_FLOAT, EL_DT_DOUBLE};
    for (int it = 0; it < 400; it++) {
        const el_dtype dt = dts[it % 9];
        const int nd = (int)(el_rnd() % 5);
        int64_t dims[4];
        for (int i = 0; i < nd; i++) dims[i] = el_rnd() % 7;
        if (nd && el_rnd() % 4 == 0) dims[nd - 1] = 1 + el_rnd() % 700;
        el_tensor c;
        assert_int_equal(el_tensor_alloc(&c, dt, nd, dims), EL_OK);
        const int64_t n = el_tensor_numel(&c);
        const uint32_t density = el_rnd() % 5; /* 0: all zero .. 4: all nonzero */
        uint8_t *truth = malloc((size_t)n + 1);
        for (int64_t i = 0; i < n; i++) {
            const bool nz = density == 0 ? false : density == 4 ? true : el_rnd() % 4 < density;
            const uint32_t form = el_rnd() % 3; /* how a value is zero or not */
            truth[i] = nz;
            switch (dt) {
            case EL_DT_BOOL: ((uint8_t *)c.data)[i] = nz; break;
            case EL_DT_UINT8: case EL_DT_INT8: ((uint8_t *)c.data)[i] = nz ? (uint8_t)(1 + form * 100) : 0; break;
            case EL_DT_INT16: ((int16_t *)c.data)[i] = nz ? (int16_t)(form == 0 ? -1 : 256) : 0; break;
            case EL_DT_HALF: ((uint16_t *)c.data)[i] = nz ? (form == 0 ? 0x7e00 : form == 1 ? 0x0001 : 0x8400) : (form ? 0x8000 : 0); break;
            case EL_DT_INT32: ((int32_t *)c.data)[i] = nz ? (form == 0 ? INT32_MIN : (int32_t)form) : 0; break;
            case EL_DT_INT64: ((int64_t *)c.data)[i] = nz ? (form == 0 ? (int64_t)1 << 40 : -(int64_t)form) : 0; break;
            case EL_DT_FLOAT: ((float *)c.data)[i] = nz ? (form == 0 ? NAN : form == 1 ? 1e-45f : -3.0f) : (form ? -0.0f : 0.0f); break;
            default: ((double *)c.data)[i] = nz ? (form == 0 ? NAN : form == 1 ? 5e-324 : -2.0) : (form ? -0.0 : 0.0); break;
            }
        }
        el_tensor out;
        assert_int_equal(where(c, &out), EL_OK);
        int64_t count = 0;
        for (int64_t i = 0; i < n; i++) count += truth[i];
        el_test_assert_shape(&out, 2, V64(count, nd));
        assert_int_equal(out.dtype, EL_DT_INT64);
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!truth[i]) continue;
            int64_t f = i;
            for (int d = nd - 1; d >= 0; d--) {
                const int64_t want = f % dims[d];
                f /= dims[d];
                if (((int64_t *)out.data)[k * nd + d] != want)
                    fail_msg("case %d (%s): row %lld dim %d: got %lld, want %lld", it, el_dtype_name(dt),
                             (long long)k, d, (long long)((int64_t *)out.data)[k * nd + d], (long long)want);
            }
            k++;
        }
        free(truth);
        el_tensor_release(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_v1),         cmocka_unit_test(test_gather_errors),
        cmocka_unit_test(test_gather_v2_axis),    cmocka_unit_test(test_gather_batch_dims),
        cmocka_unit_test(test_gather_strings),    cmocka_unit_test(test_where),
        cmocka_unit_test(test_gather_random_vs_reference),
        cmocka_unit_test(test_gather_all_in_order),
        cmocka_unit_test(test_where_random_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
