/* A hard swish after a convolution (graph/optimize.c's el_opt_conv_tail):
 * the _ElHardSwish becomes the last fused op of the _FusedConv2D, applied by
 * the packed and narrow kernels to each tile as they store it and after the
 * others; the output has the same bits as the convolution and a separate
 * _ElHardSwish (the same graph with a second reader of the convolution,
 * which keeps them apart), for the kernels each shape takes: the packed
 * GEMM, the narrow kernel (<= 8 outputs), the indirect GEMM (K past the
 * packed kernel's bound), and bf16 where the CPU has it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "testutil.h"

/* y = hard swish of BiasAdd(Conv2D(x, w), b); z = Relu(conv) when `split`. */
static el_graph *el_graph_of(int64_t ic, int64_t oc, int64_t k, bool split)
{
    el_test_rand_seed(99);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    int64_t wd[4] = {k, k, ic, oc}, bd[1] = {oc};
    el_gb_const_f32_rand(&b, "w", 4, wd);
    el_gb_const_f32_rand(&b, "b", 1, bd);
    el_gb_conv_attrs(&b, el_gb_node(&b, "conv", "Conv2D", EL_IN("x", "w")), 1);
    el_gb_node(&b, "bias", "BiasAdd", EL_IN("conv", "b"));
    el_gb_hard_swish(&b, "bias", "y");
    if (split) el_gb_node(&b, "z", "Relu", EL_IN("bias"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_run(const el_graph *g, bool split, int64_t ic, el_precision prec)
{
    int64_t xd[4] = {1, 7, 9, ic};
    el_tensor in;
    assert_int_equal(el_tensor_alloc(&in, EL_DT_FLOAT, 4, xd), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&in); i++) ((float *)in.data)[i] = el_test_frand();
    ((float *)in.data)[5] = NAN;
    el_session_opts so = {.threads = 2, .precision = prec};
    el_tensor y = el_test_run_xy(g, &in, split, &so);
    el_tensor_release(&in);
    return y;
}

static void el_check(int64_t ic, int64_t oc, int64_t k, el_precision prec)
{
    el_graph *g = el_graph_of(ic, oc, k, false), *g2 = el_graph_of(ic, oc, k, true);
    el_optimize_stats st;
    el_graph *og;
    el_test_optimize_xy(g, false, &st, &og);
    assert_non_null(og);
    assert_int_equal(st.hswish_conv_fused, 1);
    const el_node *y = &og->nodes[el_graph_find(og, "y")];
    assert_string_equal(y->op, "_FusedConv2D");
    assert_int_equal(y->ndata, 5);
    el_graph_free(og);
    el_test_rand_seed(7);
    el_tensor a = el_run(g, false, ic, prec);
    el_test_rand_seed(7);
    el_tensor b = el_run(g2, true, ic, prec);
    el_test_assert_shape(&a, b.ndim, b.dims);
    if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
        fail_msg("ic %lld oc %lld k %lld %s: fused and separate hard swish differ", (long long)ic, (long long)oc,
                 (long long)k, el_precision_name(prec));
    el_tensor_release(&a);
    el_tensor_release(&b);
    el_graph_free(g);
    el_graph_free(g2);
}

static void test_kernels(void **state)
{
    (void)state;
    el_check(16, 24, 3, EL_PRECISION_FP32);   /* packed GEMM */
    el_check(40, 100, 1, EL_PRECISION_FP32);  /* packed, several panels */
    el_check(32, 4, 3, EL_PRECISION_FP32);    /* narrow */
    el_check(1900, 9, 3, EL_PRECISION_FP32);  /* K = 17100: the indirect GEMM */
    el_check(3, 16, 3, EL_PRECISION_FP32);    /* CenterNet's first layer */
    if (el_precision_check(EL_PRECISION_BF16) == EL_OK) el_check(16, 24, 3, EL_PRECISION_BF16);
}

/* A second reader of the convolution keeps the hard swish separate. */
static void test_not_fused(void **state)
{
    (void)state;
    el_graph *g = el_graph_of(16, 24, 3, true);
    el_optimize_stats st;
    el_test_optimize_xy(g, true, &st, NULL);
    assert_int_equal(st.hswish_fused, 1);
    assert_int_equal(st.hswish_conv_fused, 0);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
