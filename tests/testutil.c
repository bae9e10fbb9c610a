#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <math.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

static const char *el_test_path(const char *env, const char *rel, char *buf, size_t cap)
{
    const char *root = getenv(env);
    struct stat st;
    if (!root || !*root) return NULL;
    snprintf(buf, cap, "%s/%s", root, rel);
    return stat(buf, &st) == 0 ? buf : NULL;
}

const char *el_test_shared(const char *rel, char *buf, size_t cap)
{
    return el_test_path("EL_SHARED_DIR", rel, buf, cap);
}

const char *el_test_data(const char *rel, char *buf, size_t cap)
{
    return el_test_path("EL_DATA_DIR", rel, buf, cap);
}

const char *el_test_tmpdir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/el-test-XXXXXX");
    return mkdtemp(buf);
}

int el_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static el_tensor el_test_make(el_dtype dt, int ndim, const int64_t *dims, const void *vals)
{
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, dt, ndim, dims), EL_OK);
    if (vals) memcpy(t.data, vals, el_tensor_nbytes(&t));
    return t;
}

el_tensor el_test_f32(int ndim, const int64_t *dims, const float *vals) { return el_test_make(EL_DT_FLOAT, ndim, dims, vals); }
el_tensor el_test_i32(int ndim, const int64_t *dims, const int32_t *vals) { return el_test_make(EL_DT_INT32, ndim, dims, vals); }
el_tensor el_test_i64(int ndim, const int64_t *dims, const int64_t *vals) { return el_test_make(EL_DT_INT64, ndim, dims, vals); }
el_tensor el_test_u8(int ndim, const int64_t *dims, const uint8_t *vals) { return el_test_make(EL_DT_UINT8, ndim, dims, vals); }
el_tensor el_test_bool(int ndim, const int64_t *dims, const uint8_t *vals) { return el_test_make(EL_DT_BOOL, ndim, dims, vals); }

void el_test_assert_shape(const el_tensor *t, int ndim, const int64_t *dims)
{
    assert_int_equal(t->ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(t->dims[i], dims[i]);
}

void el_test_assert_f32(const el_tensor *t, const float *want, int64_t n, float tol)
{
    assert_int_equal(t->dtype, EL_DT_FLOAT);
    assert_int_equal(el_tensor_numel(t), n);
    const float *got = t->data;
    for (int64_t i = 0; i < n; i++) {
        float d = got[i] - want[i];
        if (d < 0) d = -d;
        if (!(d <= tol)) fail_msg("element %lld: got %.9g, want %.9g", (long long)i, got[i], want[i]);
    }
}

void el_test_assert_close_rel(const el_tensor *got, const el_tensor *ref, float tol, const char *what)
{
    el_test_assert_shape(got, ref->ndim, ref->dims);
    const float *r = ref->data, *f = got->data;
    for (int64_t i = 0; i < el_tensor_numel(ref); i++) {
        if (isnan(r[i]) || isnan(f[i])) {
            if (isnan(r[i]) != isnan(f[i]))
                fail_msg("%s: element %lld is %g, reference %g", what, (long long)i, (double)f[i], (double)r[i]);
            continue;
        }
        if (fabsf(r[i] - f[i]) > tol * (1.0f + fabsf(r[i])))
            fail_msg("%s: element %lld is %.7g, reference %.7g", what, (long long)i, (double)f[i], (double)r[i]);
    }
}

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "ops/conv_fast.h"
#include "ops/kernel.h"

void el_test_node_init(el_test_node *tn, const char *op)
{
    memset(tn, 0, sizeof *tn);
    tn->node.name = "test_node";
    tn->node.op = op;
    tn->node.attrs = tn->attrs;
}

static el_attr *el_test_attr_add(el_test_node *tn, const char *name, el_attr_type type)
{
    assert_true(tn->node.nattrs < 16);
    el_attr *a = &tn->attrs[tn->node.nattrs++];
    a->name = name;
    a->type = type;
    return a;
}

void el_test_attr_int(el_test_node *tn, const char *name, int64_t v) { el_test_attr_add(tn, name, EL_ATTR_I)->v.i = v; }
void el_test_attr_float(el_test_node *tn, const char *name, float v) { el_test_attr_add(tn, name, EL_ATTR_F)->v.f = v; }
void el_test_attr_bool(el_test_node *tn, const char *name, bool v) { el_test_attr_add(tn, name, EL_ATTR_B)->v.b = v; }
void el_test_attr_type(el_test_node *tn, const char *name, el_dtype v) { el_test_attr_add(tn, name, EL_ATTR_TYPE)->v.type = v; }

void el_test_attr_str(el_test_node *tn, const char *name, const char *v)
{
    el_attr *a = el_test_attr_add(tn, name, EL_ATTR_S);
    a->v.s.data = v;
    a->v.s.len = strlen(v);
}

void el_test_attr_ints(el_test_node *tn, const char *name, int n, const int64_t *v)
{
    assert_true(n <= EL_MAX_DIMS);
    int slot = tn->node.nattrs;
    el_attr *a = el_test_attr_add(tn, name, EL_ATTR_LIST);
    if (n) memcpy(tn->ints[slot], v, sizeof(int64_t) * (size_t)n);
    a->v.list.elem = n ? EL_ATTR_I : EL_ATTR_NONE;
    a->v.list.n = n;
    a->v.list.v.i = tn->ints[slot];
}

void el_test_attr_strs(el_test_node *tn, const char *name, int n, const char *const *v)
{
    assert_true(n <= EL_MAX_DIMS);
    int slot = tn->node.nattrs;
    el_attr *a = el_test_attr_add(tn, name, EL_ATTR_LIST);
    for (int i = 0; i < n; i++) tn->strs[slot][i] = (el_string){v[i], strlen(v[i])};
    a->v.list.elem = n ? EL_ATTR_S : EL_ATTR_NONE;
    a->v.list.n = n;
    a->v.list.v.s = tn->strs[slot];
}

el_status el_test_run(el_test_node *tn, int nin, const el_tensor *in, int nout, el_tensor *out)
{
    const el_op *op = el_op_find(tn->node.op);
    if (!op) fail_msg("op %s is not registered", tn->node.op);
    tn->node.ninputs = nin;
    tn->node.ndata = nin;
    memset(out, 0, sizeof(el_tensor) * (size_t)nout);
    el_kctx ctx = {.node = &tn->node, .ninputs = nin, .inputs = in, .noutputs = nout, .outputs = out};
    el_status st = op->run(&ctx);
    el_kctx_end(&ctx);
    return st;
}

void el_test_release_all(int n, el_tensor *t)
{
    for (int i = 0; i < n; i++) el_tensor_release(&t[i]);
}

void el_test_sha256_hex(const void *data, size_t len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_true(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL));
    for (unsigned i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int el_test_sh(char **out, bool merge_stderr, const char *fmt, ...)
{
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s %s", cmd, merge_stderr ? "2>&1" : "2>/dev/null");
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 1024) {
            buf = realloc(buf, cap *= 2);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

cJSON *el_test_load_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    assert_non_null(j);
    return j;
}

float el_test_iou(const float *a, const float *b)
{
    float ya = fmaxf(a[0], b[0]), xa = fmaxf(a[1], b[1]), yb = fminf(a[2], b[2]), xb = fminf(a[3], b[3]);
    float inter = fmaxf(0, yb - ya) * fmaxf(0, xb - xa);
    float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : (inter == 0 && ua == 0 ? 1.0f : 0.0f);
}

const el_node *el_test_find_node(const el_graph *g, const char *name)
{
    int i = el_graph_find(g, name);
    return i < 0 ? NULL : &g->nodes[i];
}

const el_node *el_test_node_op(const el_graph *g, const char *name, const char *op)
{
    const el_node *n = el_test_find_node(g, name);
    if (!n) fail_msg("no node %s", name);
    assert_string_equal(n->op, op);
    return n;
}

void el_test_assert_optimized_same_bits(const el_graph *g, const char *feed, const el_tensor *in, const char *fetch)
{
    const char *feeds[1] = {feed}, *fetches[1] = {fetch};
    el_tensor a, b;
    el_session *s1, *s2;
    el_session_opts off = {.no_optimize = 1};
    if (el_session_create(g, 1, feeds, 1, fetches, NULL, &s1) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &off, &s2), EL_OK);
    if (el_session_run(s1, in, &a) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(el_session_run(s2, in, &b), EL_OK);
    el_test_assert_shape(&a, b.ndim, b.dims);
    assert_memory_equal(a.data, b.data, el_tensor_nbytes(&b));
    el_tensor_release(&a);
    el_tensor_release(&b);
    el_session_free(s1);
    el_session_free(s2);
}

el_tensor el_test_run_xy(const el_graph *g, const el_tensor *x, bool also_z, const el_session_opts *so)
{
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    el_tensor out[2];
    el_session *s;
    if (el_session_create(g, 1, feeds, also_z ? 2 : 1, fetches, so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, x, out) != EL_OK) fail_msg("%s", el_last_error());
    if (also_z) el_tensor_release(&out[1]);
    el_session_free(s);
    return out[0];
}

void el_test_xy_same_bits(const el_graph *g, const el_graph *g2, const el_tensor *x, const char *what)
{
    static const int isas[] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if (isas[i] > (int)el_isa_available()) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            const el_session_opts so = {.threads = threads, .precision = EL_PRECISION_FP32};
            el_tensor a = el_test_run_xy(g, x, false, &so), b = el_test_run_xy(g2, x, true, &so);
            el_test_assert_shape(&a, b.ndim, b.dims);
            if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
                fail_msg("%s isa %d threads %d: fused and separate differ", what, isas[i], threads);
            el_tensor_release(&a);
            el_tensor_release(&b);
        }
    }
    el_conv_force_isa(-1);
}

static uint32_t el_test_rng = 99;
uint32_t el_test_next(el_test_lcg *r)
{
    r->s = r->s * 1664525u + 1013904223u;
    return r->s >> 8;
}

int64_t el_test_pick(el_test_lcg *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(el_test_next(r) % (uint32_t)(hi - lo + 1));
}

float el_test_unit(el_test_lcg *r) { return (float)(el_test_next(r) % 20001) / 10000.0f - 1.0f; }

el_tensor el_test_rand_tensor(el_test_lcg *r, int ndim, const int64_t *dims)
{
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, ndim, dims), EL_OK);
    float *p = t.data;
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = el_test_unit(r);
    return t;
}

void el_test_rand_seed(uint32_t seed) { el_test_rng = seed; }
float el_test_frand(void)
{
    el_test_rng = el_test_rng * 1664525u + 1013904223u;
    return (float)((el_test_rng >> 8) % 20001) / 2000.0f - 5.0f;
}

el_tensor el_test_run_xy_random(const el_graph *g, int ndim, const int64_t *dims, bool also_z, const el_session_opts *so)
{
    el_tensor in;
    assert_int_equal(el_tensor_alloc(&in, EL_DT_FLOAT, ndim, dims), EL_OK);
    el_test_rand_seed(7);
    float *v = in.data;
    for (int64_t i = 0; i < el_tensor_numel(&in); i++) v[i] = el_test_frand();
    if (el_tensor_numel(&in) > 5) v[5] = NAN;
    el_tensor y = el_test_run_xy(g, &in, also_z, so);
    el_tensor_release(&in);
    return y;
}

void el_test_optimize_xy(const el_graph *g, bool also_z, el_optimize_stats *st, el_graph **og)
{
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    el_graph *o = NULL;
    assert_int_equal(el_graph_optimize(g, 1, feeds, also_z ? 2 : 1, fetches, st, &o), EL_OK);
    if (og) *og = o;
    else el_graph_free(o);
}
