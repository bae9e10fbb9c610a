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

/* Adds `while (i < limit) i += 1;` over prefix p, i starting from node
 * `init`, limit from node `limit`; result at p/Exit_0. */
static void counting_loop(el_gb *b, const char *p, const char *init, const char *limit, const char *frame)
{
    char id[96], one[96], ctrl[100], add[96], next[96];
    el_gb_while(b, p, frame, 1, EL_IN(init), limit);
    snprintf(id, sizeof id, "%s/Id_0", p);
    snprintf(one, sizeof one, "%s/one", p);
    snprintf(ctrl, sizeof ctrl, "^%s", id);
    snprintf(add, sizeof add, "%s/add", p);
    snprintf(next, sizeof next, "%s/Next_0", p);
    el_gb_scalar_i32(b, one, 1, EL_IN(ctrl));
    el_gb_node(b, add, "Add", EL_IN(id, one));
    el_gb_node(b, next, "NextIteration", EL_IN(add));
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
    assert_int_equal(run_i32(g, "w/Exit_0"), 5);
    /* The loop also runs zero times. */
    el_graph_free(g);
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "zero", 7, NULL);
    el_gb_scalar_i32(&b, "five", 5, NULL);
    counting_loop(&b, "w", "zero", "five", "w_frame");
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "w/Exit_0"), 7);
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
    /* outer loop carries i (0) and total (1) */
    el_gb_while(&b, "o", "outer", 2, EL_IN("zero", "zero"), "three");
    el_gb_enter(&b, "o/Four", "four", "outer", true);
    el_gb_scalar_i32(&b, "o/one", 1, EL_IN("^o/Id_0"));
    el_gb_scalar_i32(&b, "o/zero", 0, EL_IN("^o/Id_0"));
    counting_loop(&b, "o/inner", "o/zero", "o/Four", "inner");
    el_gb_node(&b, "o/add_i", "Add", EL_IN("o/Id_0", "o/one"));
    el_gb_node(&b, "o/add_t", "Add", EL_IN("o/Id_1", "o/inner/Exit_0"));
    el_gb_node(&b, "o/Next_0", "NextIteration", EL_IN("o/add_i"));
    el_gb_node(&b, "o/Next_1", "NextIteration", EL_IN("o/add_t"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "o/Exit_1"), 12);
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
    /* i (0) and a (1); the counter's Switch last: of the ready nodes, the newest runs first. */
    el_gb_while(&b, "w", "w", 2, EL_IN("zero", "zero"), "four");
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_0"));
    el_gb_node(&b, "w/add_i", "Add", EL_IN("w/Id_0", "w/one"));
    el_gb_node(&b, "w/neg1", "Neg", EL_IN("w/Id_1"));
    el_gb_node(&b, "w/neg2", "Neg", EL_IN("w/neg1"));
    el_gb_node(&b, "w/add_a", "Add", EL_IN("w/neg2", "w/one"));
    el_gb_node(&b, "w/Next_0", "NextIteration", EL_IN("w/add_i"));
    el_gb_node(&b, "w/Next_1", "NextIteration", EL_IN("w/add_a"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);

    el_order order = {.n = 0};
    el_session *s;
    el_session_opts o = {.node_hook = el_order_hook, .node_hook_user = &order, .no_optimize = 1};
    const char *f[1] = {"w/Exit_1"};
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
    el_gb_node(&b, "merge", "Merge", EL_IN("f_id", "w/Exit_0"));
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
    el_gb_while(&b, "o", "outer", 2, EL_IN("zero", "zero"), "five"); /* i (0), total (1) */
    el_gb_enter(&b, "o/Three", "three", "outer", true);
    el_gb_enter(&b, "o/Seven", "seven", "outer", true);
    el_gb_scalar_i32(&b, "o/one", 1, EL_IN("^o/Id_0"));
    el_gb_scalar_i32(&b, "o/hundred", 100, EL_IN("^o/Id_0"));
    el_gb_node(&b, "o/small", "Less", EL_IN("o/Id_0", "o/Three"));
    el_gb_node(&b, "o/sw", "Switch", EL_IN("o/Id_0", "o/small"));
    el_gb_node(&b, "o/t_id", "Identity", EL_IN("o/sw:1"));
    el_gb_node(&b, "o/f_id", "Identity", EL_IN("o/sw:0"));
    el_gb_node(&b, "o/t_val", "Add", EL_IN("o/t_id", "o/hundred"));
    counting_loop(&b, "o/inner", "o/f_id", "o/Seven", "inner");
    el_gb_node(&b, "o/merge", "Merge", EL_IN("o/t_val", "o/inner/Exit_0", "^o/t_id"));
    el_gb_node(&b, "o/add_i", "Add", EL_IN("o/Id_0", "o/one"));
    el_gb_node(&b, "o/add_t", "Add", EL_IN("o/Id_1", "o/merge"));
    el_gb_node(&b, "o/Next_0", "NextIteration", EL_IN("o/add_i"));
    el_gb_node(&b, "o/Next_1", "NextIteration", EL_IN("o/add_t"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(run_i32(g, "o/Exit_1"), 100 + 101 + 102 + 7 + 7);
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
    assert_int_equal(run1(g, "w/Exit_0", &t, 100), EL_ERR_LIMIT);
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
    el_gb_while(&b, "w", "map", 2, EL_IN("zero", "ta_out:1"), "n"); /* i (0), the output's flow (1) */
    el_gb_enter(&b, "w/TaIn", "ta_in", "map", true);
    el_gb_enter(&b, "w/TaInFlow", "scatter", "map", true);
    el_gb_enter(&b, "w/TaOut", "ta_out", "map", true);
    int rd = el_gb_node(&b, "w/read", "TensorArrayReadV3", EL_IN("w/TaIn", "w/Id_0", "w/TaInFlow"));
    el_gb_attr_type(&b, rd, "dtype", EL_DT_INT32);
    el_gb_node(&b, "w/double", "Add", EL_IN("w/read", "w/read"));
    el_gb_node(&b, "w/write", "TensorArrayWriteV3", EL_IN("w/TaOut", "w/Id_0", "w/double", "w/Id_1"));
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_0"));
    el_gb_node(&b, "w/add", "Add", EL_IN("w/Id_0", "w/one"));
    el_gb_node(&b, "w/Next_0", "NextIteration", EL_IN("w/add"));
    el_gb_node(&b, "w/Next_1", "NextIteration", EL_IN("w/write"));
    el_gb_node(&b, "size", "TensorArraySizeV3", EL_IN("ta_out", "w/Exit_1"));
    el_gb_node(&b, "gather", "TensorArrayGatherV3", EL_IN("ta_out", "idx", "w/Exit_1"));
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
