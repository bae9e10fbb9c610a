/* The executor on two threads (exec/run.c): independent chains of nodes run
 * on the session's second thread too, and the results are the same bits as
 * at one thread, run after run, whatever thread ran what; inside a while
 * loop with a TensorArray (which stays on the first thread) too; a node
 * failing on either thread fails the run with its own message. */
#include <stdio.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph_builder.h"
#include "testutil.h"

#define CHAINS 48
#define LEN 2048

static uint32_t el_seed = 12345;
static float el_rand(void)
{
    el_seed = el_seed * 1664525u + 1013904223u;
    return (float)(el_seed >> 8) / 16777216.0f - 0.5f;
}

static void enter(el_gb *b, const char *name, const char *in, const char *frame, bool constant)
{
    int n = el_gb_node(b, name, "Enter", EL_IN(in));
    el_gb_attr_str(b, n, "frame_name", frame);
    el_gb_attr_bool(b, n, "is_constant", constant);
}

/* CHAINS independent chains over x (prefix p): Mul, Add, Maximum, Minimum
 * (elementwise: any thread), Sum (a reduction: the first thread), Mul by
 * that sum; summed by one AddN into `out`. Inside a loop (`frame`, with
 * `pivot` a node of the frame), the constants come in as TF's loops take
 * them: the vectors through Enter, the scalars with a control input. */
static void chains(el_gb *b, const char *p, const char *x, const char *out, const char *frame, const char *pivot)
{
    char ctl[80];
    snprintf(ctl, sizeof ctl, "^%s", pivot ? pivot : "");
    const char *const *ctrl = pivot ? EL_IN(ctl) : NULL;
    static char names[CHAINS][64];
    const char *addn[CHAINS + 1];
    char n[8][64];
    int64_t d[1] = {LEN};
    snprintf(n[0], sizeof n[0], "%s/zero", p);
    el_gb_scalar_f32(b, n[0], 0.0f, ctrl);
    snprintf(n[1], sizeof n[1], "%s/six", p);
    el_gb_scalar_f32(b, n[1], 6.0f, ctrl);
    snprintf(n[2], sizeof n[2], "%s/axis", p);
    el_gb_scalar_i32(b, n[2], 0, ctrl);
    for (int c = 0; c < CHAINS; c++) {
#define N(i, fmt) (snprintf(n[i], sizeof n[i], "%s/c%d/" fmt, p, c), n[i])
        char zero[64], six[64], axis[64];
        snprintf(zero, sizeof zero, "%s/zero", p);
        snprintf(six, sizeof six, "%s/six", p);
        snprintf(axis, sizeof axis, "%s/axis", p);
        el_gb_const_f32_gen(b, N(3, "k"), 1, d, el_rand, 4.0f);
        el_gb_const_f32_gen(b, N(4, "j"), 1, d, el_rand, 2.0f);
        if (frame) {
            char in[64];
            snprintf(in, sizeof in, "%s", n[3]);
            enter(b, N(3, "k_in"), in, frame, true);
            snprintf(in, sizeof in, "%s", n[4]);
            enter(b, N(4, "j_in"), in, frame, true);
        }
        el_gb_node(b, N(5, "mul"), "Mul", EL_IN(x, n[3]));
        el_gb_node(b, N(6, "add"), "Add", EL_IN(n[5], n[4]));
        el_gb_node(b, N(7, "max"), "Maximum", EL_IN(n[6], zero));
        el_gb_node(b, N(3, "min"), "Minimum", EL_IN(n[7], six));
        el_gb_node(b, N(4, "sum"), "Sum", EL_IN(n[3], axis));
        el_gb_node(b, N(5, "scaled"), "Mul", EL_IN(n[3], n[4]));
        snprintf(names[c], sizeof names[c], "%s", n[5]);
        addn[c] = names[c];
#undef N
    }
    addn[CHAINS] = NULL;
    int s = el_gb_node(b, out, "AddN", addn);
    el_gb_attr_int(b, s, "N", CHAINS);
}

/* Fed x (float [LEN]): "flat" = chains(x); and a loop of 3 iterations whose
 * body runs the chains on x * i and writes each result to a TensorArray,
 * gathered into "stacked" [3, LEN]. */
static el_graph *el_chains_graph(void)
{
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_seed = 12345;
    int ph = el_gb_node(&b, "x", "Placeholder", EL_NOIN);
    el_gb_attr_type(&b, ph, "dtype", EL_DT_FLOAT);
    chains(&b, "flat", "x", "flat", NULL, NULL);
    int32_t idx[3] = {0, 1, 2};
    el_gb_const_i32(&b, "idx", 3, idx, NULL);
    el_gb_scalar_i32(&b, "n", 3, NULL);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    int ta = el_gb_node(&b, "ta", "TensorArrayV3", EL_IN("n"));
    el_gb_attr_type(&b, ta, "dtype", EL_DT_FLOAT);
    enter(&b, "w/Enter_i", "zero", "loop", false);
    enter(&b, "w/Enter_flow", "ta:1", "loop", false);
    enter(&b, "w/N", "n", "loop", true);
    enter(&b, "w/X", "x", "loop", true);
    enter(&b, "w/Ta", "ta", "loop", true);
    el_gb_node(&b, "w/Merge_i", "Merge", EL_IN("w/Enter_i", "w/Next_i"));
    el_gb_node(&b, "w/Merge_f", "Merge", EL_IN("w/Enter_flow", "w/Next_f"));
    el_gb_node(&b, "w/Less", "Less", EL_IN("w/Merge_i", "w/N"));
    el_gb_node(&b, "w/LoopCond", "LoopCond", EL_IN("w/Less"));
    el_gb_node(&b, "w/Switch_i", "Switch", EL_IN("w/Merge_i", "w/LoopCond"));
    el_gb_node(&b, "w/Switch_f", "Switch", EL_IN("w/Merge_f", "w/LoopCond"));
    el_gb_node(&b, "w/Id_i", "Identity", EL_IN("w/Switch_i:1"));
    el_gb_node(&b, "w/Id_f", "Identity", EL_IN("w/Switch_f:1"));
    int cast = el_gb_node(&b, "w/fi", "Cast", EL_IN("w/Id_i"));
    el_gb_attr_type(&b, cast, "SrcT", EL_DT_INT32);
    el_gb_attr_type(&b, cast, "DstT", EL_DT_FLOAT);
    el_gb_node(&b, "w/xi", "Mul", EL_IN("w/X", "w/fi"));
    chains(&b, "w/body", "w/xi", "w/res", "loop", "w/Id_i");
    el_gb_node(&b, "w/write", "TensorArrayWriteV3", EL_IN("w/Ta", "w/Id_i", "w/res", "w/Id_f"));
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_i"));
    el_gb_node(&b, "w/add", "Add", EL_IN("w/Id_i", "w/one"));
    el_gb_node(&b, "w/Next_i", "NextIteration", EL_IN("w/add"));
    el_gb_node(&b, "w/Next_f", "NextIteration", EL_IN("w/write"));
    el_gb_node(&b, "w/Exit_f", "Exit", EL_IN("w/Switch_f"));
    int ga = el_gb_node(&b, "stacked", "TensorArrayGatherV3", EL_IN("ta", "idx", "w/Exit_f"));
    el_gb_attr_type(&b, ga, "dtype", EL_DT_FLOAT);
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_session *el_open(const el_graph *g, int threads)
{
    const char *feeds[1] = {"x"}, *fetches[2] = {"flat", "stacked"};
    el_session_opts o = {.threads = threads};
    el_session *s;
    if (el_session_create(g, 1, feeds, 2, fetches, &o, &s) != EL_OK) fail_msg("session: %s", el_last_error());
    return s;
}

static void test_same_bits_as_one_thread(void **state)
{
    (void)state;
    el_graph *g = el_chains_graph();
    el_tensor x;
    int64_t d[1] = {LEN};
    assert_int_equal(el_tensor_alloc(&x, EL_DT_FLOAT, 1, d), EL_OK);
    for (int i = 0; i < LEN; i++) ((float *)x.data)[i] = (float)(i % 97) / 13.0f - 2.0f;
    el_session *one = el_open(g, 1), *two = el_open(g, 2);
    el_tensor ref[2];
    if (el_session_run(one, &x, ref) != EL_OK) fail_msg("1 thread: %s", el_last_error());
    int64_t ds[2] = {3, LEN};
    el_test_assert_shape(&ref[0], 1, d);
    el_test_assert_shape(&ref[1], 2, ds);
    /* Each iteration wrote its own row (x * i differs). */
    const float *rows = ref[1].data;
    assert_true(memcmp(rows, rows + LEN, LEN * sizeof *rows) != 0);
    assert_true(memcmp(rows + LEN, rows + 2 * LEN, LEN * sizeof *rows) != 0);
    for (int run = 0; run < 200; run++) {
        el_tensor out[2];
        if (el_session_run(two, &x, out) != EL_OK) fail_msg("2 threads, run %d: %s", run, el_last_error());
        for (int k = 0; k < 2; k++) {
            assert_int_equal(out[k].ndim, ref[k].ndim);
            assert_int_equal(el_tensor_nbytes(&out[k]), el_tensor_nbytes(&ref[k]));
            if (memcmp(out[k].data, ref[k].data, el_tensor_nbytes(&ref[k])))
                fail_msg("run %d: output %d differs from the 1-thread run", run, k);
            el_tensor_release(&out[k]);
        }
    }
    el_tensor_release(&ref[0]);
    el_tensor_release(&ref[1]);
    el_session_free(one);
    el_session_free(two);
    el_tensor_release(&x);
    el_graph_free(g);
}

/* Every chain's Add fails (x of another length than the constants): the
 * run fails with a chain node's message whichever thread ran it, the
 * helper's tasks are wound up, and the session still runs a good input. */
static void test_failure_on_either_thread(void **state)
{
    (void)state;
    el_graph *g = el_chains_graph();
    el_session *s = el_open(g, 2);
    el_tensor bad, good;
    int64_t db[1] = {LEN - 1}, dg[1] = {LEN};
    assert_int_equal(el_tensor_alloc(&bad, EL_DT_FLOAT, 1, db), EL_OK);
    assert_int_equal(el_tensor_alloc(&good, EL_DT_FLOAT, 1, dg), EL_OK);
    memset(bad.data, 0, el_tensor_nbytes(&bad));
    memset(good.data, 0, el_tensor_nbytes(&good));
    for (int run = 0; run < 50; run++) {
        el_tensor out[2];
        el_error_clear();
        assert_int_not_equal(el_session_run(s, &bad, out), EL_OK);
        const char *msg = el_last_error();
        if (!strstr(msg, "/c") || !strstr(msg, "(op Mul)"))
            fail_msg("run %d: the message should name a chain's Mul: '%s'", run, msg);
        assert_int_equal(el_session_run(s, &good, out), EL_OK);
        el_tensor_release(&out[0]);
        el_tensor_release(&out[1]);
    }
    el_tensor_release(&bad);
    el_tensor_release(&good);
    el_session_free(s);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bits_as_one_thread),
        cmocka_unit_test(test_failure_on_either_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
