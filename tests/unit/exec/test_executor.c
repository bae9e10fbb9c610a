/* Executor: TF1 control flow (frames, dead tensors), pruning, validation. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph_builder.h"
#include "testutil.h"

/* Runs a graph with no feeds and one fetch; returns the status. */
static el_status run1(el_graph *g, const char *fetch, el_tensor *out, int max_iter)
{
    el_session *s;
    el_session_opts o = {.max_iterations = max_iter};
    const char *f[1] = {fetch};
    el_status st = el_session_create(g, 0, NULL, 1, f, &o, &s);
    if (st != EL_OK) return st;
    st = el_session_run(s, NULL, out);
    el_session_free(s);
    return st;
}

static int32_t run_i32(el_graph *g, const char *fetch)
{
    el_tensor t;
    el_status st = run1(g, fetch, &t, 0);
    if (st != EL_OK) fail_msg("run failed: %s", el_last_error());
    assert_int_equal(t.dtype, EL_DT_INT32);
    int32_t v = *(int32_t *)t.data;
    el_tensor_release(&t);
    return v;
}

static void enter(el_gb *b, const char *name, const char *in, const char *frame, bool constant)
{
    int n = el_gb_node(b, name, "Enter", EL_IN(in));
    el_gb_attr_str(b, n, "frame_name", frame);
    el_gb_attr_bool(b, n, "is_constant", constant);
}

/* Adds `while (i < limit) i += step;` over prefix p, i starting from node
 * `init`, limit from node `limit`; result at p/Exit. `outer_pivot` is a
 * control input for the loop's constants (unused here). */
static void counting_loop(el_gb *b, const char *p, const char *init, const char *limit, const char *frame)
{
    char n[16][96];
#define N(i, fmt) (snprintf(n[i], sizeof n[i], "%s/" fmt, p), n[i])
    enter(b, N(0, "Enter"), init, frame, false);
    enter(b, N(1, "Limit"), limit, frame, true);
    el_gb_node(b, N(2, "Merge"), "Merge", EL_IN(n[0], N(3, "NextIteration")));
    el_gb_node(b, N(4, "Less"), "Less", EL_IN(n[2], n[1]));
    el_gb_node(b, N(5, "LoopCond"), "LoopCond", EL_IN(n[4]));
    el_gb_node(b, N(6, "Switch"), "Switch", EL_IN(n[2], n[5]));
    char sw1[100];
    snprintf(sw1, sizeof sw1, "%s:1", n[6]);
    el_gb_node(b, N(7, "Identity"), "Identity", EL_IN(sw1));
    char ctrl[100];
    snprintf(ctrl, sizeof ctrl, "^%s", n[7]);
    el_gb_scalar_i32(b, N(8, "one"), 1, EL_IN(ctrl));
    el_gb_node(b, N(9, "add"), "Add", EL_IN(n[7], n[8]));
    el_gb_node(b, n[3], "NextIteration", EL_IN(n[9]));
    el_gb_node(b, N(10, "Exit"), "Exit", EL_IN(n[6]));
#undef N
}

static void test_while_loop(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "five", 5, NULL);
    counting_loop(&b, "w", "zero", "five", "w_frame");
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "w/Exit"), 5);
    /* The loop also runs zero times. */
    el_graph_free(g);
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 7, NULL);
    el_gb_scalar_i32(&b, "five", 5, NULL);
    counting_loop(&b, "w", "zero", "five", "w_frame");
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "w/Exit"), 7);
    el_graph_free(g);
}

/* for i in 0..3: { j = 0; while j < 4: j += 1; total += j } */
static void test_nested_loops(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "three", 3, NULL);
    el_gb_scalar_i32(&b, "four", 4, NULL);
    /* outer loop carries i and total */
    enter(&b, "o/Enter_i", "zero", "outer", false);
    enter(&b, "o/Enter_t", "zero", "outer", false);
    enter(&b, "o/Limit", "three", "outer", true);
    enter(&b, "o/Four", "four", "outer", true);
    el_gb_node(&b, "o/Merge_i", "Merge", EL_IN("o/Enter_i", "o/Next_i"));
    el_gb_node(&b, "o/Merge_t", "Merge", EL_IN("o/Enter_t", "o/Next_t"));
    el_gb_node(&b, "o/Less", "Less", EL_IN("o/Merge_i", "o/Limit"));
    el_gb_node(&b, "o/LoopCond", "LoopCond", EL_IN("o/Less"));
    el_gb_node(&b, "o/Switch_i", "Switch", EL_IN("o/Merge_i", "o/LoopCond"));
    el_gb_node(&b, "o/Switch_t", "Switch", EL_IN("o/Merge_t", "o/LoopCond"));
    el_gb_node(&b, "o/Id_i", "Identity", EL_IN("o/Switch_i:1"));
    el_gb_node(&b, "o/Id_t", "Identity", EL_IN("o/Switch_t:1"));
    el_gb_scalar_i32(&b, "o/one", 1, EL_IN("^o/Id_i"));
    el_gb_scalar_i32(&b, "o/zero", 0, EL_IN("^o/Id_i"));
    counting_loop(&b, "o/inner", "o/zero", "o/Four", "inner");
    el_gb_node(&b, "o/add_i", "Add", EL_IN("o/Id_i", "o/one"));
    el_gb_node(&b, "o/add_t", "Add", EL_IN("o/Id_t", "o/inner/Exit"));
    el_gb_node(&b, "o/Next_i", "NextIteration", EL_IN("o/add_i"));
    el_gb_node(&b, "o/Next_t", "NextIteration", EL_IN("o/add_t"));
    el_gb_node(&b, "o/Exit_t", "Exit", EL_IN("o/Switch_t"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "o/Exit_t"), 12);
    el_graph_free(g);
}

/* Kernel nodes in the order they ran. */
typedef struct el_order {
    char names[64][32];
    int n;
} el_order;

static void el_order_hook(void *user, const el_node_event *ev)
{
    el_order *o = user;
    if (o->n < 64) snprintf(o->names[o->n++], sizeof o->names[0], "%s", ev->node);
}

/* Ready nodes run depth first, loops included (an iteration's chains finish
 * while their tensors are in cache), but a loop never starts an iteration
 * before the older one's work is done: `while i < 4: i += 1; a = -(-a) + 1`
 * with a short counter and a longer chain on a. */
static void test_loop_iterations_in_order(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "four", 4, NULL);
    enter(&b, "w/Enter_i", "zero", "w", false);
    enter(&b, "w/Enter_a", "zero", "w", false);
    enter(&b, "w/Limit", "four", "w", true);
    el_gb_node(&b, "w/Merge_i", "Merge", EL_IN("w/Enter_i", "w/Next_i"));
    el_gb_node(&b, "w/Merge_a", "Merge", EL_IN("w/Enter_a", "w/Next_a"));
    el_gb_node(&b, "w/Less", "Less", EL_IN("w/Merge_i", "w/Limit"));
    el_gb_node(&b, "w/LoopCond", "LoopCond", EL_IN("w/Less"));
    /* The counter's Switch last: of the ready nodes, the newest runs first. */
    el_gb_node(&b, "w/Switch_a", "Switch", EL_IN("w/Merge_a", "w/LoopCond"));
    el_gb_node(&b, "w/Switch_i", "Switch", EL_IN("w/Merge_i", "w/LoopCond"));
    el_gb_node(&b, "w/Id_a", "Identity", EL_IN("w/Switch_a:1"));
    el_gb_node(&b, "w/Id_i", "Identity", EL_IN("w/Switch_i:1"));
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_i"));
    el_gb_node(&b, "w/add_i", "Add", EL_IN("w/Id_i", "w/one"));
    el_gb_node(&b, "w/neg1", "Neg", EL_IN("w/Id_a"));
    el_gb_node(&b, "w/neg2", "Neg", EL_IN("w/neg1"));
    el_gb_node(&b, "w/add_a", "Add", EL_IN("w/neg2", "w/one"));
    el_gb_node(&b, "w/Next_i", "NextIteration", EL_IN("w/add_i"));
    el_gb_node(&b, "w/Next_a", "NextIteration", EL_IN("w/add_a"));
    el_gb_node(&b, "w/Exit_a", "Exit", EL_IN("w/Switch_a"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);

    el_order order = {.n = 0};
    el_session *s;
    el_session_opts o = {.node_hook = el_order_hook, .node_hook_user = &order, .no_optimize = 1};
    const char *f[1] = {"w/Exit_a"};
    assert_int_equal(el_session_create(g, 0, NULL, 1, f, &o, &s), EL_OK);
    for (int run = 0; run < 2; run++) { /* a second run reuses the executor's state */
        order.n = 0;
        el_tensor t;
        assert_int_equal(el_session_run(s, NULL, &t), EL_OK);
        assert_int_equal(*(int32_t *)t.data, 4);
        el_tensor_release(&t);
        /* Each iteration: Less, then its counter and its chain, all before
         * the next iteration's Less. */
        int less = 0, chain_done = 0;
        for (int k = 0; k < order.n; k++) {
            const char *n = order.names[k];
            if (!strcmp(n, "w/Less")) {
                if (less > 0) assert_int_equal(chain_done, less);
                less++;
            } else if (!strcmp(n, "w/add_a")) {
                chain_done++;
            }
        }
        assert_int_equal(less, 5);
        assert_int_equal(chain_done, 4);
    }
    el_session_free(s);
    el_graph_free(g);
}

/* cond(pred, lambda: x + 10, lambda: x + 20) with a node on each branch. */
static el_graph *cond_graph(bool pred)
{
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "x", 1, NULL);
    el_gb_scalar_bool(&b, "pred", pred);
    el_gb_node(&b, "sw", "Switch", EL_IN("x", "pred"));
    el_gb_node(&b, "t_id", "Identity", EL_IN("sw:1"));
    el_gb_node(&b, "f_id", "Identity", EL_IN("sw:0"));
    el_gb_scalar_i32(&b, "ten", 10, EL_IN("^t_id"));
    el_gb_scalar_i32(&b, "twenty", 20, EL_IN("^f_id"));
    el_gb_node(&b, "t_add", "Add", EL_IN("t_id", "ten"));
    el_gb_node(&b, "f_add", "Add", EL_IN("f_id", "twenty"));
    /* An Assert that would fail, only on the false branch: dead when pred. */
    el_gb_scalar_bool(&b, "no", false);
    el_gb_node(&b, "f_assert", "Assert", EL_IN("no", "f_id"));
    el_gb_node(&b, "f_out", "Identity", EL_IN("f_add", "^f_assert"));
    el_gb_node(&b, "merge", "Merge", EL_IN("f_out", "t_add"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_cond_dead_branches(void **state)
{
    (void)state;
    el_graph *g = cond_graph(true);
    assert_int_equal(run_i32(g, "merge"), 11);
    assert_int_equal(run_i32(g, "merge:1"), 1);
    el_tensor t;
    assert_int_equal(run1(g, "f_add", &t, 0), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "dead"));
    el_graph_free(g);
    g = cond_graph(false);
    /* The false branch runs its Assert, which fails: TF semantics. */
    assert_int_equal(run1(g, "merge", &t, 0), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "assertion failed"));
    el_graph_free(g);
}

/* A loop inside the untaken branch of a cond: its Exit must come out dead so
 * the Merge after the cond still fires with the other branch. */
static void test_loop_in_dead_branch(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "x", 2, NULL);
    el_gb_scalar_i32(&b, "lim", 9, NULL);
    el_gb_scalar_bool(&b, "pred", false);
    el_gb_node(&b, "sw", "Switch", EL_IN("x", "pred"));
    el_gb_node(&b, "t_id", "Identity", EL_IN("sw:1"));
    el_gb_node(&b, "f_id", "Identity", EL_IN("sw:0"));
    counting_loop(&b, "w", "t_id", "lim", "dead_loop");
    el_gb_node(&b, "merge", "Merge", EL_IN("f_id", "w/Exit"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "merge"), 2);
    el_graph_free(g);
}

/* A cond inside a loop body, with a loop in one branch: for i in 0..4:
 * total += i < 3 ? i + 100 : (a loop counting from i up to 7). The cond's
 * Merge gets all its data inputs in every iteration (it once fired dead on
 * the first one from iteration 1 on); it also waits for a control input
 * from the true branch, dead when i >= 3 (a Merge counts a dead control
 * input as arrived), and the nested loop is entered dead when i < 3 (its
 * frame counts its Enters, dead or not). */
static void test_dead_inside_loop(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "five", 5, NULL);
    el_gb_scalar_i32(&b, "three", 3, NULL);
    el_gb_scalar_i32(&b, "seven", 7, NULL);
    enter(&b, "o/Enter_i", "zero", "outer", false);
    enter(&b, "o/Enter_t", "zero", "outer", false);
    enter(&b, "o/Limit", "five", "outer", true);
    enter(&b, "o/Three", "three", "outer", true);
    enter(&b, "o/Seven", "seven", "outer", true);
    el_gb_node(&b, "o/Merge_i", "Merge", EL_IN("o/Enter_i", "o/Next_i"));
    el_gb_node(&b, "o/Merge_t", "Merge", EL_IN("o/Enter_t", "o/Next_t"));
    el_gb_node(&b, "o/Less", "Less", EL_IN("o/Merge_i", "o/Limit"));
    el_gb_node(&b, "o/LoopCond", "LoopCond", EL_IN("o/Less"));
    el_gb_node(&b, "o/Switch_i", "Switch", EL_IN("o/Merge_i", "o/LoopCond"));
    el_gb_node(&b, "o/Switch_t", "Switch", EL_IN("o/Merge_t", "o/LoopCond"));
    el_gb_node(&b, "o/Id_i", "Identity", EL_IN("o/Switch_i:1"));
    el_gb_node(&b, "o/Id_t", "Identity", EL_IN("o/Switch_t:1"));
    el_gb_scalar_i32(&b, "o/one", 1, EL_IN("^o/Id_i"));
    el_gb_scalar_i32(&b, "o/hundred", 100, EL_IN("^o/Id_i"));
    el_gb_node(&b, "o/small", "Less", EL_IN("o/Id_i", "o/Three"));
    el_gb_node(&b, "o/sw", "Switch", EL_IN("o/Id_i", "o/small"));
    el_gb_node(&b, "o/t_id", "Identity", EL_IN("o/sw:1"));
    el_gb_node(&b, "o/f_id", "Identity", EL_IN("o/sw:0"));
    el_gb_node(&b, "o/t_val", "Add", EL_IN("o/t_id", "o/hundred"));
    counting_loop(&b, "o/inner", "o/f_id", "o/Seven", "inner");
    el_gb_node(&b, "o/merge", "Merge", EL_IN("o/t_val", "o/inner/Exit", "^o/t_id"));
    el_gb_node(&b, "o/add_i", "Add", EL_IN("o/Id_i", "o/one"));
    el_gb_node(&b, "o/add_t", "Add", EL_IN("o/Id_t", "o/merge"));
    el_gb_node(&b, "o/Next_i", "NextIteration", EL_IN("o/add_i"));
    el_gb_node(&b, "o/Next_t", "NextIteration", EL_IN("o/add_t"));
    el_gb_node(&b, "o/Exit_t", "Exit", EL_IN("o/Switch_t"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "o/Exit_t"), 100 + 101 + 102 + 7 + 7);
    el_graph_free(g);
}

static void test_iteration_bound(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    el_gb_scalar_i32(&b, "big", 1 << 30, NULL);
    counting_loop(&b, "w", "zero", "big", "w_frame");
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_tensor t;
    assert_int_equal(run1(g, "w/Exit", &t, 100), EL_ERR_LIMIT);
    assert_non_null(strstr(el_last_error(), "exceeded 100 iterations"));
    el_graph_free(g);
}

/* map_fn-style: TensorArray scattered from a vector, each element doubled in
 * a loop, written to a second TensorArray, gathered back. */
static void test_tensor_array_loop(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int32_t vals[4] = {1, 2, 3, 4};
    el_gb_const_i32(&b, "vals", 4, vals, NULL);
    int32_t idx[4] = {0, 1, 2, 3};
    el_gb_const_i32(&b, "idx", 4, idx, NULL);
    el_gb_scalar_i32(&b, "n", 4, NULL);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    int ta = el_gb_node(&b, "ta_in", "TensorArrayV3", EL_IN("n"));
    el_gb_attr_type(&b, ta, "dtype", EL_DT_INT32);
    int ta2 = el_gb_node(&b, "ta_out", "TensorArrayV3", EL_IN("n"));
    el_gb_attr_type(&b, ta2, "dtype", EL_DT_INT32);
    el_gb_node(&b, "scatter", "TensorArrayScatterV3", EL_IN("ta_in", "idx", "vals", "ta_in:1"));
    enter(&b, "w/Enter_i", "zero", "map", false);
    enter(&b, "w/Enter_flow", "ta_out:1", "map", false);
    enter(&b, "w/N", "n", "map", true);
    enter(&b, "w/TaIn", "ta_in", "map", true);
    enter(&b, "w/TaInFlow", "scatter", "map", true);
    enter(&b, "w/TaOut", "ta_out", "map", true);
    el_gb_node(&b, "w/Merge_i", "Merge", EL_IN("w/Enter_i", "w/Next_i"));
    el_gb_node(&b, "w/Merge_f", "Merge", EL_IN("w/Enter_flow", "w/Next_f"));
    el_gb_node(&b, "w/Less", "Less", EL_IN("w/Merge_i", "w/N"));
    el_gb_node(&b, "w/LoopCond", "LoopCond", EL_IN("w/Less"));
    el_gb_node(&b, "w/Switch_i", "Switch", EL_IN("w/Merge_i", "w/LoopCond"));
    el_gb_node(&b, "w/Switch_f", "Switch", EL_IN("w/Merge_f", "w/LoopCond"));
    el_gb_node(&b, "w/Id_i", "Identity", EL_IN("w/Switch_i:1"));
    el_gb_node(&b, "w/Id_f", "Identity", EL_IN("w/Switch_f:1"));
    int rd = el_gb_node(&b, "w/read", "TensorArrayReadV3", EL_IN("w/TaIn", "w/Id_i", "w/TaInFlow"));
    el_gb_attr_type(&b, rd, "dtype", EL_DT_INT32);
    el_gb_node(&b, "w/double", "Add", EL_IN("w/read", "w/read"));
    el_gb_node(&b, "w/write", "TensorArrayWriteV3", EL_IN("w/TaOut", "w/Id_i", "w/double", "w/Id_f"));
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_i"));
    el_gb_node(&b, "w/add", "Add", EL_IN("w/Id_i", "w/one"));
    el_gb_node(&b, "w/Next_i", "NextIteration", EL_IN("w/add"));
    el_gb_node(&b, "w/Next_f", "NextIteration", EL_IN("w/write"));
    el_gb_node(&b, "w/Exit_f", "Exit", EL_IN("w/Switch_f"));
    el_gb_node(&b, "size", "TensorArraySizeV3", EL_IN("ta_out", "w/Exit_f"));
    el_gb_node(&b, "gather", "TensorArrayGatherV3", EL_IN("ta_out", "idx", "w/Exit_f"));
    el_gb_attr_type(&b, b.g->nnodes - 1, "dtype", EL_DT_INT32);
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_tensor t;
    assert_int_equal(run1(g, "gather", &t, 0), EL_OK);
    int64_t d[1] = {4};
    el_test_assert_shape(&t, 1, d);
    for (int i = 0; i < 4; i++) assert_int_equal(((int32_t *)t.data)[i], 2 * vals[i]);
    el_tensor_release(&t);
    assert_int_equal(run_i32(g, "size"), 4);
    el_graph_free(g);
}

static void test_feeds_fetches_and_pruning(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int ph = el_gb_node(&b, "in", "Placeholder", EL_NOIN);
    el_gb_attr_type(&b, ph, "dtype", EL_DT_INT32);
    el_gb_scalar_i32(&b, "c", 5, NULL);
    el_gb_node(&b, "sum", "Add", EL_IN("in", "c"));
    el_gb_node(&b, "unsupported", "NoSuchOp", EL_IN("in"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    /* Pruning: the unsupported node is not needed for "sum". */
    el_session *s;
    const char *feeds[1] = {"in"}, *fetches[2] = {"sum", "c:0"};
    assert_int_equal(el_session_create(g, 1, feeds, 2, fetches, NULL, &s), EL_OK);
    int32_t v = 4;
    el_tensor in, out[2];
    assert_int_equal(el_tensor_wrap(&in, EL_DT_INT32, 0, NULL, &v), EL_OK);
    assert_int_equal(el_session_run(s, &in, out), EL_OK);
    assert_int_equal(*(int32_t *)out[0].data, 9);
    assert_int_equal(*(int32_t *)out[1].data, 5);
    el_tensor_release(&out[0]);
    el_tensor_release(&out[1]);
    /* Runs again with the same session. */
    v = 10;
    assert_int_equal(el_session_run(s, &in, out), EL_OK);
    assert_int_equal(*(int32_t *)out[0].data, 15);
    el_tensor_release(&out[0]);
    el_tensor_release(&out[1]);
    el_tensor_release(&in);
    el_session_free(s);
    /* Errors: unknown fetch, unfed placeholder, unsupported op. */
    const char *bad[1] = {"nope:0"};
    assert_int_equal(el_session_create(g, 0, NULL, 1, bad, NULL, &s), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), "nope"));
    const char *sum[1] = {"sum"};
    assert_int_equal(el_session_create(g, 0, NULL, 1, sum, NULL, &s), EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "not fed"));
    const char *uns[1] = {"unsupported"};
    assert_int_equal(el_session_create(g, 1, feeds, 1, uns, NULL, &s), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "NoSuchOp"));
    const char *slot[1] = {"sum:3"};
    assert_int_equal(el_session_create(g, 1, feeds, 1, slot, NULL, &s), EL_ERR_INVALID_ARG);
    el_graph_free(g);
}

/* Root Consts are read in place by their consumers (not delivered): data
 * and control inputs from them, a node whose inputs are all Consts, a Merge
 * fed by one (still delivered), the same Const twice in one node; every run
 * of a session gives the same values (the ASan build checks the Consts'
 * references). */
static void test_root_consts_in_place(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int ph = el_gb_node(&b, "in", "Placeholder", EL_NOIN);
    el_gb_attr_type(&b, ph, "dtype", EL_DT_INT32);
    el_gb_scalar_i32(&b, "a", 3, NULL);
    el_gb_scalar_i32(&b, "b", 4, NULL);
    el_gb_node(&b, "twice", "Add", EL_IN("a", "a"));           /* 6, only Consts */
    el_gb_node(&b, "ctl", "Identity", EL_IN("twice", "^b"));   /* control from a Const */
    el_gb_node(&b, "fed", "Mul", EL_IN("in", "b"));            /* a feed and a Const */
    el_gb_node(&b, "m", "Merge", EL_IN("b"));
    el_gb_node(&b, "sum", "AddN", EL_IN("ctl", "fed", "m"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_session *s;
    const char *feeds[1] = {"in"}, *fetches[3] = {"sum", "a", "m:1"};
    assert_int_equal(el_session_create(g, 1, feeds, 3, fetches, NULL, &s), EL_OK);
    for (int32_t v = 0; v < 3; v++) {
        el_tensor in, out[3];
        assert_int_equal(el_tensor_wrap(&in, EL_DT_INT32, 0, NULL, &v), EL_OK);
        assert_int_equal(el_session_run(s, &in, out), EL_OK);
        assert_int_equal(*(int32_t *)out[0].data, 6 + 4 * v + 4);
        assert_int_equal(*(int32_t *)out[1].data, 3);
        assert_int_equal(*(int32_t *)out[2].data, 0);
        for (int i = 0; i < 3; i++) el_tensor_release(&out[i]);
        el_tensor_release(&in);
    }
    el_session_free(s);
    el_graph_free(g);
}

static void test_cycle_outside_loop(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "c", 1, NULL);
    el_gb_node(&b, "a", "Add", EL_IN("c", "b"));
    el_gb_node(&b, "b", "Identity", EL_IN("a"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_tensor t;
    assert_int_equal(run1(g, "b", &t, 0), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "cycle"));
    el_graph_free(g);
    /* Missing input node is caught when indexing. */
    el_gb_init(&b);
    el_gb_node(&b, "x", "Identity", EL_IN("ghost"));
    assert_int_equal(el_gb_finish(&b, &g), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "ghost"));
    el_graph_free(g);
}

/* Sessions on different threads share one graph: each creates its session
 * (the optimizer takes references to the graph's constants) and runs it
 * while the other does, fetching a Const (the caller gets a reference to
 * the graph's own buffer). A lost reference count update frees a constant
 * that is still in use, which the ASan build reports. */
typedef struct {
    el_graph *g;
    int failures;
} el_share_arg;

static void *el_share_run(void *arg)
{
    el_share_arg *a = arg;
    el_session *s;
    const char *feeds[1] = {"in"}, *fetches[2] = {"sum", "a"};
    if (el_session_create(a->g, 1, feeds, 2, fetches, NULL, &s) != EL_OK) {
        a->failures++;
        return NULL;
    }
    for (int32_t v = 0; v < 4000; v++) {
        el_tensor in, out[2];
        if (el_tensor_wrap(&in, EL_DT_INT32, 0, NULL, &v) != EL_OK || el_session_run(s, &in, out) != EL_OK) {
            a->failures++;
            break;
        }
        if (*(int32_t *)out[0].data != 4 * v + 3 || *(int32_t *)out[1].data != 3) a->failures++;
        el_tensor_release(&out[0]);
        el_tensor_release(&out[1]);
        el_tensor_release(&in);
    }
    el_session_free(s);
    return NULL;
}

static void test_sessions_share_graph(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int ph = el_gb_node(&b, "in", "Placeholder", EL_NOIN);
    el_gb_attr_type(&b, ph, "dtype", EL_DT_INT32);
    el_gb_scalar_i32(&b, "a", 3, NULL);
    el_gb_scalar_i32(&b, "b", 4, NULL);
    el_gb_node(&b, "fed", "Mul", EL_IN("in", "b"));
    el_gb_node(&b, "sum", "Add", EL_IN("fed", "a"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_share_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (el_share_arg){.g = g};
        assert_int_equal(pthread_create(&th[i], NULL, el_share_run, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_while_loop),
        cmocka_unit_test(test_nested_loops),
        cmocka_unit_test(test_cond_dead_branches),
        cmocka_unit_test(test_loop_in_dead_branch),
        cmocka_unit_test(test_dead_inside_loop),
        cmocka_unit_test(test_iteration_bound),
        cmocka_unit_test(test_tensor_array_loop),
        cmocka_unit_test(test_feeds_fetches_and_pruning),
        cmocka_unit_test(test_root_consts_in_place),
        cmocka_unit_test(test_cycle_outside_loop),
        cmocka_unit_test(test_sessions_share_graph),
        cmocka_unit_test(test_loop_iterations_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
