/* Building small graphs in tests without a .pb file. */
#ifndef EL_TEST_GRAPH_BUILDER_H
#define EL_TEST_GRAPH_BUILDER_H

#include "graph/graph.h"

typedef struct el_gb {
    el_graph *g;
    int cap;
} el_gb;

void el_gb_init(el_gb *b);
/* Adds a node; `inputs` is NULL-terminated ("a", "a:1", "^a"). Returns its index. */
int el_gb_node(el_gb *b, const char *name, const char *op, const char *const *inputs);
void el_gb_attr_int(el_gb *b, int node, const char *name, int64_t v);
void el_gb_attr_bool(el_gb *b, int node, const char *name, bool v);
void el_gb_attr_type(el_gb *b, int node, const char *name, el_dtype v);
void el_gb_attr_str(el_gb *b, int node, const char *name, const char *v);
void el_gb_attr_ints(el_gb *b, int node, const char *name, int n, const int64_t *v);
void el_gb_attr_shape(el_gb *b, int node, const char *name, int rank, const int64_t *dims);
/* Const nodes with a value. */
int el_gb_const_i32(el_gb *b, const char *name, int n, const int32_t *vals, const char *const *ctrl);
int el_gb_scalar_i32(el_gb *b, const char *name, int32_t v, const char *const *ctrl);
int el_gb_scalar_f32(el_gb *b, const char *name, float v, const char *const *ctrl);
int el_gb_scalar_bool(el_gb *b, const char *name, bool v);
/* A float Const of shape dims whose elements are gen() * scale, in order
 * (a test's own seeded generator). */
int el_gb_const_f32_gen(el_gb *b, const char *name, int ndim, const int64_t *dims, float (*gen)(void), float scale);
/* el_gb_const_f32_gen with el_test_frand (testutil.h) scaled by 0.1: the
 * fusion tests' weights. */
int el_gb_const_f32_rand(el_gb *b, const char *name, int ndim, const int64_t *dims);
/* The fusion tests' image: a Placeholder "x" (uint8 when u8, else float),
 * through a Cast "tofloat" when uint8; returns the float tensor's name. */
const char *el_gb_image(el_gb *b, bool u8);
/* A Cast node `name` of x from SrcT `from` to DstT `to`; returns its index. */
int el_gb_cast(el_gb *b, const char *name, const char *x, el_dtype from, el_dtype to);
/* A convolution's attrs: strides [1, stride, stride, 1], padding SAME, T float. */
void el_gb_conv_attrs(el_gb *b, int node, int64_t stride);
/* y = Mul(Mul(x, m), Relu6(AddV2(x, a))), the hard swish as MobileNetV3's
 * graphs spell it, with scalar Consts m = 1/6 and a = 3; the nodes between
 * are named m, a, mul, add and r6. */
void el_gb_hard_swish(el_gb *b, const char *x, const char *y);
/* The CReLU-shaped concat of the concat and pool fusion tests: x (a float
 * Placeholder), a = Mul(x, 0.75), neg = Neg(a), cat = ConcatV2(a, neg, x;
 * axis), cat's T set when with_t. */
void el_gb_crelu_concat(el_gb *b, int axis, bool with_t);
/* An Enter of `in` into while-loop frame `frame`. */
void el_gb_enter(el_gb *b, const char *name, const char *in, const char *frame, bool constant);
/* The head of a TF1 while loop `while var0 < limit` in frame `frame`, its
 * nodes named p/...: per loop variable k (nvars of them, from init[k])
 * Enter_k -> Merge_k (its other input p/Next_k, which the caller adds) ->
 * Switch_k on LoopCond(Less(Merge_0, Limit)) -> Id_k (the body reads it)
 * and Exit_k; Limit is an is_constant Enter of `limit`. Switches and Ids
 * are added from the last variable to the first (of ready nodes the
 * newest runs first: variable 0, the counter, goes last). */
void el_gb_while(el_gb *b, const char *p, const char *frame, int nvars, const char *const *init, const char *limit);
/* Finishes (el_graph_index) and returns the graph; status of indexing. */
el_status el_gb_finish(el_gb *b, el_graph **out);

#define EL_IN(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EL_NOIN ((const char *const[]){NULL})

#endif
