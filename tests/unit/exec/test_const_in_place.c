/* Consts with control inputs that run no task (exec/plan_const.c): which
 * ones the plan reads in place, and that the results, deadness included,
 * are TensorFlow's either way (loop bodies, conds, nested loops, 1 and 2
 * threads). */
#include <stdio.h>
#include <string.h>

#include "edgelens/engine.h"
#include "exec/exec.h"
#include "graph_builder.h"
#include "testutil.h"

/* Whether the plan for `fetch` reads Const `name` in place. */
static bool in_place(const el_graph *g, const char *fetch, const char *name)
{
    el_plan p;
    const char *f[1] = {fetch};
    el_status st = el_plan_build(&p, g, 0, NULL, 1, f, NULL);
    if (st != EL_OK) fail_msg("plan: %s", el_last_error());
    int n = el_graph_find(g, name);
    assert_true(n >= 0);
    assert_int_equal(p.nodes[n].kind, EL_KIND_CONST);
    bool r = p.nodes[n].in_place;
    el_plan_free(&p);
    return r;
}

/* Runs g as built (no graph passes: they would fold the Consts) at
 * `threads`, twice (the second run reuses the executor's state); returns
 * the status and, when live, the int32 fetched. */
static el_status run(const el_graph *g, const char *fetch, int threads, int32_t *v)
{
    el_session *s;
    el_session_opts o = {.no_optimize = 1, .threads = threads};
    const char *f[1] = {fetch};
    el_status st = el_session_create(g, 0, NULL, 1, f, &o, &s);
    if (st != EL_OK) return st;
    for (int r = 0; r < 2 && st == EL_OK; r++) {
        el_tensor t;
        st = el_session_run(s, NULL, &t);
        if (st != EL_OK) break;
        assert_int_equal(t.dtype, EL_DT_INT32);
        *v = *(int32_t *)t.data;
        el_tensor_release(&t);
    }
    el_session_free(s);
    return st;
}

static int32_t run_i32(const el_graph *g, const char *fetch, int threads)
{
    int32_t v = 0;
    if (run(g, fetch, threads, &v) != EL_OK) fail_msg("run failed: %s", el_last_error());
    return v;
}

static void expect_dead(const el_graph *g, const char *fetch, int threads)
{
    int32_t v;
    assert_int_equal(run(g, fetch, threads, &v), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "dead"));
}

/* while i < 4: i += one; a += two, where one and two wait for the body's
 * pivot (Id_0, the counter's Identity) as TensorFlow's loop bodies do. one's
 * consumer reads the pivot itself; two's reads the other loop variable,
 * whose Switch is on the same LoopCond, so it fires in the same iterations
 * and is dead in the same one (the last). */
static void test_loop_body(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "four", 4, NULL);
    el_gb_while(&b, "w", "w", 2, EL_IN("zero", "zero"), "four");
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_0"));
    el_gb_scalar_i32(&b, "w/two", 2, EL_IN("^w/Id_0"));
    el_gb_node(&b, "w/add_i", "Add", EL_IN("w/Id_0", "w/one"));
    el_gb_node(&b, "w/add_a", "Add", EL_IN("w/Id_1", "w/two"));
    el_gb_node(&b, "w/Next_0", "NextIteration", EL_IN("w/add_i"));
    el_gb_node(&b, "w/Next_1", "NextIteration", EL_IN("w/add_a"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_true(in_place(g, "w/Exit_1", "w/one"));
    assert_true(in_place(g, "w/Exit_1", "w/two"));
    for (int th = 1; th <= 2; th++) {
        assert_int_equal(run_i32(g, "w/Exit_0", th), 4);
        assert_int_equal(run_i32(g, "w/Exit_1", th), 8);
    }
    el_graph_free(g);
}

/* TensorFlow's cond: the pivots are Identities of Switch(pred, pred), each
 * branch reads x through a Switch on pred. t_c and f_c are read in place
 * (their consumers read their branch's output of sw_x); the hostile ones
 * are not:
 * - bad_root's consumer reads a root value that is live whatever pred is;
 * - bad_slot's reads output 0 of sw_x (the other branch), live exactly
 *   when bad_slot's pivot is dead;
 * - bad_merge's reads a Merge, live when either branch is.
 * Their consumers must stay dead on the branch not taken. */
static el_graph *cond_graph(bool pred)
{
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "x", 5, NULL);
    el_gb_scalar_i32(&b, "y", 7, NULL);
    el_gb_scalar_bool(&b, "p", pred);
    el_gb_node(&b, "pred", "Identity", EL_IN("p"));
    el_gb_node(&b, "sw_p", "Switch", EL_IN("pred", "pred"));
    el_gb_node(&b, "t", "Identity", EL_IN("sw_p:1"));
    el_gb_node(&b, "f", "Identity", EL_IN("sw_p:0"));
    el_gb_node(&b, "sw_x", "Switch", EL_IN("x", "pred"));
    el_gb_scalar_i32(&b, "t_c", 10, EL_IN("^t"));
    el_gb_scalar_i32(&b, "f_c", 20, EL_IN("^f"));
    el_gb_node(&b, "t_add", "Add", EL_IN("sw_x:1", "t_c"));
    el_gb_node(&b, "f_add", "Add", EL_IN("sw_x:0", "f_c"));
    el_gb_node(&b, "merge", "Merge", EL_IN("f_add", "t_add"));
    el_gb_scalar_i32(&b, "bad_root", 100, EL_IN("^t"));
    el_gb_node(&b, "root_add", "Add", EL_IN("y", "bad_root"));
    el_gb_scalar_i32(&b, "bad_slot", 200, EL_IN("^t"));
    el_gb_node(&b, "slot_add", "Add", EL_IN("sw_x:0", "bad_slot"));
    el_gb_scalar_i32(&b, "bad_merge", 300, EL_IN("^t"));
    el_gb_node(&b, "merge_add", "Add", EL_IN("merge", "bad_merge"));
    /* Two control inputs: each must be followed. t2 reads the branch
     * through two Identities (still the branch's pivot); y_id is live
     * whatever pred is, and nothing the consumer reads comes after it. */
    el_gb_node(&b, "t2", "Identity", EL_IN("t"));
    el_gb_node(&b, "y_id", "Identity", EL_IN("y"));
    el_gb_scalar_i32(&b, "two_ok", 30, EL_IN("^t", "^t2"));
    el_gb_node(&b, "two_ok_add", "Add", EL_IN("sw_x:1", "two_ok"));
    el_gb_scalar_i32(&b, "two_bad", 40, EL_IN("^t", "^y_id"));
    el_gb_node(&b, "two_bad_add", "Add", EL_IN("sw_x:1", "two_bad"));
    /* A Switch reads a Const in place too (and keeps a reference of its own). */
    el_gb_scalar_i32(&b, "t_k", 3, EL_IN("^t"));
    el_gb_node(&b, "sw_k", "Switch", EL_IN("t_k", "sw_p:1"));
    el_gb_node(&b, "k_out", "Identity", EL_IN("sw_k:1"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_cond(void **state)
{
    (void)state;
    for (int pred = 0; pred <= 1; pred++) {
        el_graph *g = cond_graph(pred);
        assert_true(in_place(g, "merge", "t_c"));
        assert_true(in_place(g, "merge", "f_c"));
        assert_false(in_place(g, "root_add", "bad_root"));
        assert_false(in_place(g, "slot_add", "bad_slot"));
        assert_false(in_place(g, "merge_add", "bad_merge"));
        assert_true(in_place(g, "k_out", "t_k"));
        assert_true(in_place(g, "two_ok_add", "two_ok"));
        assert_false(in_place(g, "two_bad_add", "two_bad"));
        for (int th = 1; th <= 2; th++) {
            assert_int_equal(run_i32(g, "merge", th), pred ? 15 : 25);
            expect_dead(g, pred ? "f_add" : "t_add", th);
            expect_dead(g, "slot_add", th); /* dead on both branches */
            if (pred) {
                assert_int_equal(run_i32(g, "k_out", th), 3);
                assert_int_equal(run_i32(g, "two_ok_add", th), 35);
                assert_int_equal(run_i32(g, "two_bad_add", th), 45);
                assert_int_equal(run_i32(g, "root_add", th), 107);
                assert_int_equal(run_i32(g, "merge_add", th), 315);
            } else {
                expect_dead(g, "k_out", th);
                expect_dead(g, "two_ok_add", th);
                expect_dead(g, "two_bad_add", th);
                expect_dead(g, "root_add", th);
                expect_dead(g, "merge_add", th);
            }
        }
        el_graph_free(g);
    }
}

/* Inside a loop body: for i in 0..5: total += i < 3 ? i + hundred : i + thousand,
 * the branch Consts on the cond's pivots (which depend on the loop's), a
 * Const whose consumer is a Merge (not read in place: a Merge fires on its
 * first live input, and counts its inputs), and the hostile one of test_cond (bad_slot, read by a
 * node that must never fire live, feeding the Merge's control input: a
 * Merge counts a dead control input as arrived, so it runs dead). */
static void test_cond_in_loop(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "five", 5, NULL);
    el_gb_scalar_i32(&b, "three", 3, NULL);
    el_gb_while(&b, "o", "outer", 2, EL_IN("zero", "zero"), "five"); /* i (0), total (1) */
    el_gb_enter(&b, "o/Three", "three", "outer", true);
    el_gb_scalar_i32(&b, "o/one", 1, EL_IN("^o/Id_0"));
    el_gb_node(&b, "o/small", "Less", EL_IN("o/Id_0", "o/Three"));
    el_gb_node(&b, "o/sw_p", "Switch", EL_IN("o/small", "o/small"));
    el_gb_node(&b, "o/t", "Identity", EL_IN("o/sw_p:1"));
    el_gb_node(&b, "o/f", "Identity", EL_IN("o/sw_p:0"));
    el_gb_node(&b, "o/sw_i", "Switch", EL_IN("o/Id_0", "o/small"));
    el_gb_scalar_i32(&b, "o/hundred", 100, EL_IN("^o/t"));
    el_gb_scalar_i32(&b, "o/thousand", 1000, EL_IN("^o/f"));
    el_gb_scalar_i32(&b, "o/to_merge", 0, EL_IN("^o/t"));
    el_gb_scalar_i32(&b, "o/bad_slot", 1, EL_IN("^o/t"));
    el_gb_node(&b, "o/t_val", "Add", EL_IN("o/sw_i:1", "o/hundred"));
    el_gb_node(&b, "o/f_val", "Add", EL_IN("o/sw_i:0", "o/thousand"));
    el_gb_node(&b, "o/slot_add", "Add", EL_IN("o/sw_i:0", "o/bad_slot"));
    el_gb_node(&b, "o/merge", "Merge", EL_IN("o/t_val", "o/f_val", "^o/slot_add"));
    el_gb_node(&b, "o/m2", "Merge", EL_IN("o/to_merge", "o/f_val"));
    el_gb_node(&b, "o/add_i", "Add", EL_IN("o/Id_0", "o/one"));
    el_gb_node(&b, "o/add_t", "AddN", EL_IN("o/Id_1", "o/merge", "o/m2"));
    el_gb_node(&b, "o/Next_0", "NextIteration", EL_IN("o/add_i"));
    el_gb_node(&b, "o/Next_1", "NextIteration", EL_IN("o/add_t"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_true(in_place(g, "o/Exit_1", "o/one"));
    assert_true(in_place(g, "o/Exit_1", "o/hundred"));
    assert_true(in_place(g, "o/Exit_1", "o/thousand"));
    assert_false(in_place(g, "o/Exit_1", "o/to_merge"));
    assert_false(in_place(g, "o/Exit_1", "o/bad_slot"));
    /* m2 is to_merge (0) when i < 3, f_val when not. */
    for (int th = 1; th <= 2; th++)
        assert_int_equal(run_i32(g, "o/Exit_1", th), 100 + 101 + 102 + 1003 + 1004 + 1003 + 1004);
    el_graph_free(g);
}

/* for i in 0..3: { j = 0; while j < 4: j += 1; total += j }: the outer
 * body's Const feeding the inner loop's Enter runs (an Enter counts its
 * arrivals), the inner body's and the outer body's others are read in
 * place, each in its own frame. */
static void test_nested_loops(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "three", 3, NULL);
    el_gb_scalar_i32(&b, "four", 4, NULL);
    el_gb_while(&b, "o", "outer", 2, EL_IN("zero", "zero"), "three");
    el_gb_enter(&b, "o/Four", "four", "outer", true);
    el_gb_scalar_i32(&b, "o/one", 1, EL_IN("^o/Id_0"));
    el_gb_scalar_i32(&b, "o/zero", 0, EL_IN("^o/Id_0"));
    el_gb_while(&b, "o/in", "inner", 1, EL_IN("o/zero"), "o/Four");
    el_gb_scalar_i32(&b, "o/in/one", 1, EL_IN("^o/in/Id_0"));
    el_gb_node(&b, "o/in/add", "Add", EL_IN("o/in/Id_0", "o/in/one"));
    el_gb_node(&b, "o/in/Next_0", "NextIteration", EL_IN("o/in/add"));
    el_gb_node(&b, "o/add_i", "Add", EL_IN("o/Id_0", "o/one"));
    el_gb_node(&b, "o/add_t", "Add", EL_IN("o/Id_1", "o/in/Exit_0"));
    el_gb_node(&b, "o/Next_0", "NextIteration", EL_IN("o/add_i"));
    el_gb_node(&b, "o/Next_1", "NextIteration", EL_IN("o/add_t"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_true(in_place(g, "o/Exit_1", "o/one"));
    assert_false(in_place(g, "o/Exit_1", "o/zero"));
    assert_true(in_place(g, "o/Exit_1", "o/in/one"));
    for (int th = 1; th <= 2; th++) assert_int_equal(run_i32(g, "o/Exit_1", th), 12);
    el_graph_free(g);
}

/* Consts whose consumers have nothing else to wait for (a Range of three
 * Consts in a cond branch) or that wait for another Const run as before. */
static void test_not_in_place(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_bool(&b, "p", false);
    el_gb_node(&b, "sw_p", "Switch", EL_IN("p", "p"));
    el_gb_node(&b, "t", "Identity", EL_IN("sw_p:1"));
    el_gb_scalar_i32(&b, "start", 0, EL_IN("^t"));
    el_gb_scalar_i32(&b, "limit", 3, EL_IN("^t"));
    el_gb_scalar_i32(&b, "delta", 1, EL_IN("^t"));
    el_gb_node(&b, "range", "Range", EL_IN("start", "limit", "delta"));
    el_gb_scalar_i32(&b, "c", 4, EL_IN("^limit"));
    el_gb_node(&b, "sum", "Add", EL_IN("t", "c"));
    el_gb_node(&b, "out", "Sum", EL_IN("range", "^sum"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_false(in_place(g, "out", "start"));
    assert_false(in_place(g, "out", "c"));
    expect_dead(g, "out", 1);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_body),
        cmocka_unit_test(test_cond),
        cmocka_unit_test(test_cond_in_loop),
        cmocka_unit_test(test_nested_loops),
        cmocka_unit_test(test_not_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
