/* _ElMultiClassNms's EL_MCNMS_TOP (ops/multiclass_nms.h) on the kernel
 * alone: with a top P the rows kept are the full output's rows in order
 * (a subsequence), at least P of them when there are (all when fewer),
 * and the P best by score then position are the full output's P best;
 * over short and long columns (the first round's sampled floor), one to 90
 * classes, plain, tied, NaN and "a few classes high everywhere" scores,
 * both ISAs. A top out of range fails with a message. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_fast.h"
#include "ops/multiclass_nms.h"

enum { EL_SC_PLAIN, EL_SC_TIES, EL_SC_NAN, EL_SC_STRONG, EL_SC_KINDS };

static el_test_lcg el_rng = {.s = 4242u};
static int el_mn_pruned, el_mn_cases; /* cases where rows were left out, cases run */

typedef struct el_mn_case {
    int64_t rows, classes, max_out, top;
    int kind;
} el_mn_case;

typedef struct el_mn_in {
    el_tensor t[4];
} el_mn_in;

static el_mn_in el_mn_input(const el_mn_case *c)
{
    el_mn_in in;
    const int64_t sd[2] = {c->rows, c->classes + 1}, bd[2] = {c->rows, 4}, wd[1] = {4};
    assert_int_equal(el_tensor_alloc(&in.t[0], EL_DT_FLOAT, 2, sd), EL_OK);
    assert_int_equal(el_tensor_alloc(&in.t[2], EL_DT_FLOAT, 2, bd), EL_OK);
    assert_int_equal(el_tensor_alloc(&in.t[3], EL_DT_FLOAT, 1, wd), EL_OK);
    const int32_t all = -1;
    in.t[1] = el_test_i32(0, NULL, &all);
    float *s = in.t[0].data, *b = in.t[2].data, *w = in.t[3].data;
    for (int64_t i = 0; i < c->rows; i++)
        for (int64_t k = 0; k <= c->classes; k++) {
            float v = 0.5f + 0.5f * el_test_unit(&el_rng);
            if (c->kind == EL_SC_TIES) v = (float)el_test_pick(&el_rng, 0, 4) * 0.25f;
            if (c->kind == EL_SC_NAN && el_test_pick(&el_rng, 0, 9) == 0) v = NAN;
            if (c->kind == EL_SC_STRONG) v = k % 7 == 1 ? 0.9f + 0.1f * el_test_unit(&el_rng) : 0.3f * v;
            s[i * (c->classes + 1) + k] = v;
        }
    for (int64_t i = 0; i < c->rows; i++) {
        float *x = b + 4 * i;
        x[0] = 0.9f * (0.5f + 0.5f * el_test_unit(&el_rng));
        x[1] = 0.9f * (0.5f + 0.5f * el_test_unit(&el_rng));
        x[2] = x[0] + 0.02f + 0.1f * fabsf(el_test_unit(&el_rng));
        x[3] = x[1] + 0.02f + 0.1f * fabsf(el_test_unit(&el_rng));
    }
    w[0] = w[1] = 0.0f, w[2] = w[3] = 1.0f;
    return in;
}

static el_status el_mn_run(const el_mn_case *c, const el_mn_in *in, int64_t top, el_tensor out[3])
{
    el_test_node tn;
    el_test_node_init(&tn, EL_MCNMS_OP);
    el_test_attr_int(&tn, EL_MCNMS_CLASSES, c->classes);
    el_test_attr_float(&tn, EL_MCNMS_SCORE, 0.1f);
    el_test_attr_float(&tn, EL_MCNMS_AREA, 0.0f);
    el_test_attr_float(&tn, EL_MCNMS_IOU, 0.5f);
    el_test_attr_float(&tn, EL_MCNMS_NMS_SCORE, -INFINITY);
    el_test_attr_int(&tn, EL_MCNMS_MAX, c->max_out);
    if (top) el_test_attr_int(&tn, EL_MCNMS_TOP, top);
    return el_test_run(&tn, 4, in->t, 3, out);
}

/* Row i of the outputs: box, score, class. */
static bool el_mn_same_row(const el_tensor *a, int64_t i, const el_tensor *b, int64_t j)
{
    return !memcmp((const float *)a[0].data + 4 * i, (const float *)b[0].data + 4 * j, 4 * sizeof(float)) &&
           !memcmp((const float *)a[1].data + i, (const float *)b[1].data + j, sizeof(float)) &&
           !memcmp((const float *)a[2].data + i, (const float *)b[2].data + j, sizeof(float));
}

/* Positions of the p best rows (greater score first, then lower position). */
static void el_mn_best(const el_tensor *o, int64_t p, int64_t *best)
{
    const int64_t n = o[1].dims[0];
    const float *s = o[1].data;
    bool *used = calloc((size_t)n + 1, 1);
    assert_non_null(used);
    for (int64_t k = 0; k < p; k++) {
        int64_t at = -1;
        for (int64_t i = 0; i < n; i++)
            if (!used[i] && (at < 0 || s[i] > s[at])) at = i;
        used[at] = true;
        best[k] = at;
    }
    free(used);
}

static void el_mn_check(const el_mn_case *c)
{
    el_mn_in in = el_mn_input(c);
    static const int isas[2] = {EL_ISA_AVX512, EL_ISA_REF};
    for (int v = 0; v < 2; v++) {
        if ((int)el_isa_available() < isas[v]) continue;
        el_conv_force_isa(isas[v]);
        el_tensor full[3], part[3];
        assert_int_equal(el_mn_run(c, &in, 0, full), EL_OK);
        assert_int_equal(el_mn_run(c, &in, c->top, part), EL_OK);
        el_conv_force_isa(-1);
        const int64_t t = full[1].dims[0], tp = part[1].dims[0];
        if (t < c->top) assert_int_equal(tp, t);
        else assert_true(tp >= c->top && tp <= t);
        el_mn_pruned += tp < t;
        el_mn_cases++;
        /* A subsequence of the full rows, in order. */
        int64_t j = 0;
        for (int64_t i = 0; i < tp; i++) {
            while (j < t && !el_mn_same_row(part, i, full, j)) j++;
            if (j == t) fail_msg("row %lld of %lld kept is not in the full output's order (case %lld rows, %lld classes, kind %d)",
                                 (long long)i, (long long)tp, (long long)c->rows, (long long)c->classes, c->kind);
            j++;
        }
        /* The same best rows. */
        const int64_t p = t < c->top ? t : c->top;
        int64_t *bf = malloc(sizeof(int64_t) * (size_t)(p + 1)), *bp = malloc(sizeof(int64_t) * (size_t)(p + 1));
        assert_true(bf && bp);
        el_mn_best(full, p, bf);
        el_mn_best(part, p, bp);
        for (int64_t k = 0; k < p; k++) assert_true(el_mn_same_row(part, bp[k], full, bf[k]));
        free(bf);
        free(bp);
        el_test_release_all(3, full);
        el_test_release_all(3, part);
    }
    for (int i = 0; i < 4; i++) el_tensor_release(&in.t[i]);
}

static void test_top_keeps_the_best(void **state)
{
    (void)state;
    static const int64_t rows[3] = {40, 600, 1917}, classes[4] = {1, 5, 20, 90}, tops[3] = {1, 7, 100};
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 4; k++)
            for (int p = 0; p < 3; p++)
                for (int kind = 0; kind < EL_SC_KINDS; kind++) {
                    if (rows[r] * classes[k] > 60000 && kind != EL_SC_STRONG) continue; /* keep it short */
                    const el_mn_case c = {rows[r], classes[k], kind == EL_SC_TIES ? 5 : 100, tops[p], kind};
                    el_mn_check(&c);
                }
    print_message("%d of %d runs left rows out\n", el_mn_pruned, el_mn_cases);
    assert_true(el_mn_pruned > el_mn_cases / 4);
}

static void test_top_out_of_range(void **state)
{
    (void)state;
    const el_mn_case c = {20, 3, 10, 5, EL_SC_PLAIN};
    el_mn_in in = el_mn_input(&c);
    el_tensor out[3];
    assert_int_equal(el_mn_run(&c, &in, -3, out), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), EL_MCNMS_TOP));
    el_test_release_all(3, out);
    for (int i = 0; i < 4; i++) el_tensor_release(&in.t[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_keeps_the_best),
        cmocka_unit_test(test_top_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
