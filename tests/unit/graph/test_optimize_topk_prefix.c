/* The OD API's SortByField shape, TopKV2(scores, Size(scores)) -> Gather
 * of boxes and scores by its indices -> Gather(..., Range(0, Minimum(lim,
 * Size), 1)), gets EL_TOPK_PREFIX_ATTR = lim (graph/topk_prefix.c) and
 * fetches the same bits as the graph run without the passes, for
 * descending runs (the per-class selections), ties, both zeros and a NaN;
 * graphs where a reader could look past the prefix stay as they are. */
#include <math.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/topk.h"
#include "testutil.h"

enum {
    EL_TP_MATCH,      /* SortByField as exported (GatherV2, Range limit Minimum(lim, Size)) */
    EL_TP_GATHER_V1,  /* Gather (no axis) and a constant Range limit */
    EL_TP_FETCH_IDX,  /* TopKV2:1 fetched too */
    EL_TP_EXTRA,      /* a Relu reads the gathered scores whole */
    EL_TP_OPEN_LIMIT, /* Range limit Size(...): no bound */
    EL_TP_NEG_START,  /* Range start -1 */
    EL_TP_VALUES,     /* TopKV2:0 read whole (Neg) */
};

static void el_tp_i32(el_gb *b, int node, const char *attr) { el_gb_attr_type(b, node, attr, EL_DT_INT32); }

static int el_tp_gather(el_gb *b, const char *name, const char *params, const char *idx, bool v1)
{
    int g = v1 ? el_gb_node(b, name, "Gather", EL_IN(params, idx)) : el_gb_node(b, name, "GatherV2", EL_IN(params, idx, "axis"));
    el_gb_attr_type(b, g, "Tparams", EL_DT_FLOAT);
    el_tp_i32(b, g, "Tindices");
    return g;
}

static el_graph *el_tp_graph(int mode, int32_t lim)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "boxes", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_tp_i32(&b, el_gb_node(&b, "k", "Size", EL_IN("x")), "out_type");
    int t = el_gb_node(&b, "topk", "TopKV2", EL_IN("x", "k"));
    el_gb_attr_type(&b, t, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, t, "sorted", true);
    el_gb_scalar_i32(&b, "axis", 0, NULL);
    const bool v1 = mode == EL_TP_GATHER_V1;
    el_tp_gather(&b, "gb", "boxes", "topk:1", v1);
    el_tp_gather(&b, "gs", "x", "topk:1", v1);
    el_tp_i32(&b, el_gb_node(&b, "dim", "Size", EL_IN("gs")), "out_type");
    el_gb_scalar_i32(&b, "lim", lim, NULL);
    el_tp_i32(&b, el_gb_node(&b, "m", "Minimum", EL_IN("lim", "dim")), "T");
    el_gb_scalar_i32(&b, "start", mode == EL_TP_NEG_START ? -1 : 0, NULL);
    el_gb_scalar_i32(&b, "delta", 1, NULL);
    const char *limit = mode == EL_TP_GATHER_V1 ? "lim" : mode == EL_TP_OPEN_LIMIT ? "dim" : "m";
    el_tp_i32(&b, el_gb_node(&b, "r", "Range", EL_IN("start", limit, "delta")), "Tidx");
    el_tp_gather(&b, "ob", "gb", "r", v1);
    el_tp_gather(&b, "os", "gs", "r", v1);
    if (mode == EL_TP_EXTRA) el_gb_attr_type(&b, el_gb_node(&b, "z", "Relu", EL_IN("gs")), "T", EL_DT_FLOAT);
    if (mode == EL_TP_VALUES) el_gb_attr_type(&b, el_gb_node(&b, "z", "Neg", EL_IN("topk")), "T", EL_DT_FLOAT);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static int el_tp_fetches(int mode, const char **f)
{
    int n = 0;
    f[n++] = "ob";
    f[n++] = "os";
    if (mode == EL_TP_FETCH_IDX) f[n++] = "topk:1";
    if (mode == EL_TP_EXTRA || mode == EL_TP_VALUES) f[n++] = "z";
    return n;
}

static void el_tp_run(const el_graph *g, int nf, const char **fetches, const el_tensor *in, bool optimize,
                      el_tensor *out)
{
    const char *feeds[2] = {"x", "boxes"};
    el_session_opts so = {.threads = 1, .no_optimize = !optimize};
    el_session *s;
    if (el_session_create(g, 2, feeds, nf, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, in, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
}

/* n scores: descending runs of `run` (restarting high), ties, both zeros,
 * a NaN when asked; boxes 4 distinct floats per row. */
static void el_tp_inputs(int64_t n, int run, bool nan, el_tensor in[2])
{
    const int64_t bd[2] = {n, 4};
    in[0] = el_test_f32(1, &n, NULL);
    in[1] = el_test_f32(2, bd, NULL);
    float *x = in[0].data, *b = in[1].data;
    el_test_rand_seed(11u + (uint32_t)run);
    float v = 0;
    for (int64_t i = 0; i < n; i++) {
        const float r = el_test_frand(); /* [-5, 5] */
        v = i % run == 0 ? 1.0f + fabsf(r) : v - floorf(fabsf(r)) * 0.0625f;
        x[i] = i % 11 == 5 ? 0.0f : i % 13 == 7 ? -0.0f : v;
    }
    if (nan) x[n / 2] = NAN;
    for (int64_t i = 0; i < 4 * n; i++) b[i] = (float)i * 0.5f;
}

static void el_tp_check(int mode, int64_t n, int32_t lim, int want_prefix)
{
    el_graph *g = el_tp_graph(mode, lim);
    const char *feeds[2] = {"x", "boxes"}, *fetches[4];
    const int nf = el_tp_fetches(mode, fetches);
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, nf, fetches, &st, &og), EL_OK);
    assert_int_equal(st.topk_prefix, want_prefix);
    if (og) {
        const el_node *t = el_test_node_op(og, "topk", "TopKV2");
        const el_attr *a = el_node_attr(t, EL_TOPK_PREFIX_ATTR);
        if (want_prefix) assert_true(a && a->type == EL_ATTR_I && a->v.i == lim);
        else assert_null(a);
        el_graph_free(og);
    }
    const int runs[3] = {100, 7, 1};
    for (int i = 0; i < 6; i++) {
        el_tensor in[2], want[4], got[4];
        el_tp_inputs(n, runs[i % 3], i >= 3, in);
        el_tp_run(g, nf, fetches, in, false, want);
        el_tp_run(g, nf, fetches, in, true, got);
        for (int f = 0; f < nf; f++) {
            el_test_assert_shape(&got[f], want[f].ndim, want[f].dims);
            if (memcmp(got[f].data, want[f].data, el_tensor_nbytes(&want[f])))
                fail_msg("mode %d n %lld lim %d input %d: fetch %s differs", mode, (long long)n, (int)lim, i, fetches[f]);
        }
        el_test_release_all(nf, want);
        el_test_release_all(nf, got);
        el_test_release_all(2, in);
    }
    el_graph_free(g);
}

static void test_sort_by_field(void **state)
{
    (void)state;
    el_tp_check(EL_TP_MATCH, 9000, 100, 1);
    el_tp_check(EL_TP_MATCH, 300, 7, 1);
    el_tp_check(EL_TP_MATCH, 50, 100, 1); /* fewer than lim: the whole sort */
    el_tp_check(EL_TP_GATHER_V1, 1000, 30, 1);
}

static void test_readers_past_the_prefix(void **state)
{
    (void)state;
    el_tp_check(EL_TP_FETCH_IDX, 500, 20, 0);
    el_tp_check(EL_TP_EXTRA, 500, 20, 0);
    el_tp_check(EL_TP_OPEN_LIMIT, 500, 20, 0);
    el_tp_check(EL_TP_VALUES, 500, 20, 0);
}

/* Range from -1: Gather rejects the index, with or without the passes. */
static void test_negative_start_not_matched(void **state)
{
    (void)state;
    el_graph *g = el_tp_graph(EL_TP_NEG_START, 20);
    const char *feeds[2] = {"x", "boxes"}, *fetches[2] = {"ob", "os"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.topk_prefix, 0);
    el_graph_free(og);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_by_field),
        cmocka_unit_test(test_readers_past_the_prefix),
        cmocka_unit_test(test_negative_start_not_matched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
