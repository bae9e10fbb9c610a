/* Shared test helpers: fixture paths and skipping. */
#ifndef EL_TESTUTIL_H
#define EL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "edgelens/tensor.h"

/* $EL_SHARED_DIR/<rel> or NULL when that file does not exist. */
const char *el_test_shared(const char *rel, char *buf, size_t cap);
/* $EL_DATA_DIR/<rel> (fetched by scripts/setup) or NULL when absent. */
const char *el_test_data(const char *rel, char *buf, size_t cap);
/* A fresh temporary directory (removed at exit is not attempted). */
const char *el_test_tmpdir(char *buf, size_t cap);
/* Write bytes to a file; returns 0 on success. */
int el_test_write_file(const char *path, const void *data, size_t len);

/* Runs a shell command (printf-style); its stdout, and stderr too when
 * merge_stderr, goes to *out (malloc'd, NUL-terminated). Returns the exit
 * status, -1 when it did not exit normally. */
int el_test_sh(char **out, bool merge_stderr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A JSON file parsed with cJSON (fails the test when unreadable). */
struct cJSON *el_test_load_json(const char *path);
/* Intersection over union of two (ymin, xmin, ymax, xmax) boxes. */
float el_test_iou(const float *a, const float *b);

/* SHA-256 of bytes as 64 lowercase hex chars (out has room for 65). */
void el_test_sha256_hex(const void *data, size_t len, char *out);

/* Exit 77 (CTest: skipped) when a whole test program lacks its fixtures. */
#define EL_TEST_SKIP_ALL(why)                                                \
    do {                                                                     \
        fprintf(stderr, "SKIPPED: %s\n", why);                               \
        return 77;                                                           \
    } while (0)

/* Tensor builders for op tests (abort the test on failure). */
el_tensor el_test_f32(int ndim, const int64_t *dims, const float *vals);
el_tensor el_test_i32(int ndim, const int64_t *dims, const int32_t *vals);
el_tensor el_test_i64(int ndim, const int64_t *dims, const int64_t *vals);
el_tensor el_test_u8(int ndim, const int64_t *dims, const uint8_t *vals);
el_tensor el_test_bool(int ndim, const int64_t *dims, const uint8_t *vals);
void el_test_assert_shape(const el_tensor *t, int ndim, const int64_t *dims);
void el_test_assert_f32(const el_tensor *t, const float *want, int64_t n, float tol);
/* got matches the reference ref within tol * (1 + |ref|) per element, NaN
 * where ref has NaN; a failure names `what` (the case) and the element. */
void el_test_assert_close_rel(const el_tensor *got, const el_tensor *ref, float tol, const char *what);

#endif

/* Running one kernel in isolation (op tests). */
#include "graph/graph.h"
typedef struct el_test_node {
    el_node node;
    el_attr attrs[16];
    int64_t ints[16][EL_MAX_DIMS];
    el_string strs[16][EL_MAX_DIMS];
} el_test_node;
void el_test_node_init(el_test_node *tn, const char *op);
void el_test_attr_int(el_test_node *tn, const char *name, int64_t v);
void el_test_attr_float(el_test_node *tn, const char *name, float v);
void el_test_attr_bool(el_test_node *tn, const char *name, bool v);
void el_test_attr_type(el_test_node *tn, const char *name, el_dtype v);
void el_test_attr_str(el_test_node *tn, const char *name, const char *v);
void el_test_attr_ints(el_test_node *tn, const char *name, int n, const int64_t *v);
/* A list of strings (e.g. a fused node's fused_ops), up to EL_MAX_DIMS. */
void el_test_attr_strs(el_test_node *tn, const char *name, int n, const char *const *v);
/* Runs the node's kernel; outputs (nout of them) must be released by the caller
 * (also after a failure). Returns the kernel's status. */
el_status el_test_run(el_test_node *tn, int nin, const el_tensor *in, int nout, el_tensor *out);
void el_test_release_all(int n, el_tensor *t);

/* The node of g named `name`, or NULL. */
const el_node *el_test_find_node(const el_graph *g, const char *name);
/* The node of g named `name`, which must exist and run `op` (fails the
 * test otherwise). */
const el_node *el_test_node_op(const el_graph *g, const char *name, const char *op);

/* Graph passes that promise the same bits: runs `fetch` of `g` with `in`
 * fed to `feed`, once optimized and once with no_optimize, and asserts the
 * two outputs agree bit for bit (shape and bytes). */
void el_test_assert_optimized_same_bits(const el_graph *g, const char *feed, const el_tensor *in, const char *fetch);

/* Fusion tests over graphs fed "x" that fetch "y", where a second reader
 * "z" of the fused-away tensor keeps the nodes apart. el_test_run_xy runs
 * g with x (fetching z too when also_z, released) and returns y;
 * el_test_optimize_xy runs el_graph_optimize the same way and returns its
 * statistics, the optimized graph in *og (freed when og is NULL). */
struct el_session_opts;
struct el_optimize_stats;
el_tensor el_test_run_xy(const el_graph *g, const el_tensor *x, bool also_z, const struct el_session_opts *so);
/* The kernel tests' generator (the 32-bit LCG below, 24-bit outputs), one
 * state per test file so each keeps its own seeded sequence: next() the
 * raw output, pick() an integer in [lo, hi], unit() a float in [-1, 1] in
 * steps of 1e-4, tensor() a float tensor of unit() values. */
typedef struct el_test_lcg {
    uint32_t s;
} el_test_lcg;
uint32_t el_test_next(el_test_lcg *r);
int64_t el_test_pick(el_test_lcg *r, int64_t lo, int64_t hi);
float el_test_unit(el_test_lcg *r);
el_tensor el_test_rand_tensor(el_test_lcg *r, int ndim, const int64_t *dims);

/* The fusion tests' generator (a 32-bit LCG): values in [-5, 5];
 * el_test_rand_seed restarts it (it starts at 99). */
void el_test_rand_seed(uint32_t seed);
float el_test_frand(void);

/* el_test_run_xy on a float input of shape dims: values in [-5, 5] from the
 * fusion tests' generator (seed 7) and a NaN at element 5 (when there is
 * one), so a fused and a separate graph see the same input. */
el_tensor el_test_run_xy_random(const el_graph *g, int ndim, const int64_t *dims, bool also_z,
                                const struct el_session_opts *so);
void el_test_optimize_xy(const el_graph *g, bool also_z, struct el_optimize_stats *st, el_graph **og);
/* el_test_run_xy of g (fused) and of g2 (kept apart, fetching z) on x, fp32,
 * at 1 and 2 threads on every ISA the CPU has (el_conv_force_isa, reset
 * after): fails with "WHAT isa I threads T: fused and separate differ"
 * unless the two give the same shape and bytes. */
void el_test_xy_same_bits(const el_graph *g, const el_graph *g2, const el_tensor *x, const char *what);
