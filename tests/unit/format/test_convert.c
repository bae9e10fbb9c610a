/* Writers and `edgelens convert`: a graph written as a binary GraphDef or as
 * a TF.js model and loaded again is the same graph (nodes, inputs, devices,
 * every attr, every Const bit for bit), and runs to bit-identical outputs;
 * checked on a model.json with every attr form, on the shared aiy graph
 * (detections on dog.jpg) and on the three TF.js models. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "edgelens/engine.h"
#include "edgelens/image.h"
#include "format/graphdef_write.h"
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

static const char *tmp_path(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", tmp, name);
    return buf;
}

static const char *write_json(const char *name, const char *json, char *path, size_t cap)
{
    tmp_path(name, path, cap);
    size_t n = strlen(json);
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i <= n; i++) s[i] = json[i] == '\'' ? '"' : json[i];
    assert_int_equal(el_test_write_file(path, s, n), 0);
    free(s);
    return path;
}

/* ------------------------------------------------------------ equality */

static void same_float(float a, float b, const char *what)
{
    uint32_t x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    /* JSON keeps NaN but not its payload. */
    if (!(x == y || (isnan(a) && isnan(b)))) fail_msg("%s: %a != %a", what, a, b);
}

static void same_shape(const el_shape *a, const el_shape *b, const char *what)
{
    if (a->rank != b->rank) fail_msg("%s: rank %d != %d", what, a->rank, b->rank);
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) fail_msg("%s: dim %d differs", what, i);
}

static void same_str(el_string a, el_string b, const char *what)
{
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len))) fail_msg("%s: strings differ", what);
}

static void same_tensor(const el_tensor *a, const el_tensor *b, const char *what)
{
    if (a->dtype != b->dtype) fail_msg("%s: dtype %d != %d", what, a->dtype, b->dtype);
    if (a->ndim != b->ndim) fail_msg("%s: rank %d != %d", what, a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) fail_msg("%s: dim %d differs", what, i);
    int64_t n = el_tensor_numel(a);
    if (a->dtype == EL_DT_STRING) {
        for (int64_t i = 0; i < n; i++) same_str(((el_string *)a->data)[i], ((el_string *)b->data)[i], what);
    } else if (n && memcmp(a->data, b->data, el_tensor_nbytes(a))) {
        fail_msg("%s: values differ", what);
    }
}

static void same_attr(const el_attr *a, const el_attr *b, const char *node)
{
    char what[512];
    snprintf(what, sizeof what, "node '%s' attr '%s'", node, a->name);
    if (strcmp(a->name, b->name)) fail_msg("node '%s': attr '%s' vs '%s'", node, a->name, b->name);
    if (a->type != b->type) fail_msg("%s: kind %d != %d", what, a->type, b->type);
    switch (a->type) {
    case EL_ATTR_S:
    case EL_ATTR_FUNC:
    case EL_ATTR_PLACEHOLDER: same_str(a->v.s, b->v.s, what); break;
    case EL_ATTR_I:
        if (a->v.i != b->v.i) fail_msg("%s: %lld != %lld", what, (long long)a->v.i, (long long)b->v.i);
        break;
    case EL_ATTR_F: same_float(a->v.f, b->v.f, what); break;
    case EL_ATTR_B:
        if (a->v.b != b->v.b) fail_msg("%s differs", what);
        break;
    case EL_ATTR_TYPE:
        if (a->v.type != b->v.type) fail_msg("%s: %d != %d", what, a->v.type, b->v.type);
        break;
    case EL_ATTR_SHAPE: same_shape(&a->v.shape, &b->v.shape, what); break;
    case EL_ATTR_TENSOR: same_tensor(&a->v.tensor, &b->v.tensor, what); break;
    case EL_ATTR_LIST: {
        const el_attr_list *x = &a->v.list, *y = &b->v.list;
        if (x->n != y->n || (x->n && x->elem != y->elem)) fail_msg("%s: lists differ (%d vs %d)", what, x->n, y->n);
        for (int i = 0; i < x->n; i++) {
            switch (x->elem) {
            case EL_ATTR_S:
            case EL_ATTR_FUNC: same_str(x->v.s[i], y->v.s[i], what); break;
            case EL_ATTR_I:
                if (x->v.i[i] != y->v.i[i]) fail_msg("%s[%d] differs", what, i);
                break;
            case EL_ATTR_F: same_float(x->v.f[i], y->v.f[i], what); break;
            case EL_ATTR_B:
                if (x->v.b[i] != y->v.b[i]) fail_msg("%s[%d] differs", what, i);
                break;
            case EL_ATTR_TYPE:
                if (x->v.type[i] != y->v.type[i]) fail_msg("%s[%d] differs", what, i);
                break;
            case EL_ATTR_SHAPE: same_shape(&x->v.shape[i], &y->v.shape[i], what); break;
            case EL_ATTR_TENSOR: same_tensor(&x->v.tensor[i], &y->v.tensor[i], what); break;
            default: fail_msg("%s: list of kind %d", what, x->elem);
            }
        }
        break;
    }
    default: break;
    }
}

/* Same nodes in the same order, same inputs, devices and attrs. Attrs are
 * sorted by name by both loaders. */
static void same_graph(const el_graph *a, const el_graph *b)
{
    assert_int_equal(a->nnodes, b->nnodes);
    for (int i = 0; i < a->nnodes; i++) {
        const el_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (strcmp(x->name, y->name)) fail_msg("node %d: '%s' vs '%s'", i, x->name, y->name);
        if (strcmp(x->op, y->op)) fail_msg("node '%s': op %s vs %s", x->name, x->op, y->op);
        if (strcmp(x->device, y->device)) fail_msg("node '%s': device differs", x->name);
        if (x->ninputs != y->ninputs) fail_msg("node '%s': %d vs %d inputs", x->name, x->ninputs, y->ninputs);
        for (int k = 0; k < x->ninputs; k++)
            if (strcmp(x->input_names[k], y->input_names[k])) fail_msg("node '%s': input %d differs", x->name, k);
        if (x->nattrs != y->nattrs) fail_msg("node '%s': %d vs %d attrs", x->name, x->nattrs, y->nattrs);
        for (int k = 0; k < x->nattrs; k++) same_attr(&x->attrs[k], &y->attrs[k], x->name);
    }
}

/* g -> .pb -> graph and g -> .json -> graph, both equal to g; the two
 * serialisations of g and of what came back are the same bytes. */
static void round_trip(const el_graph *g, const char *stem)
{
    char pb[512], js[512], name[128];
    snprintf(name, sizeof name, "%s.pb", stem);
    tmp_path(name, pb, sizeof pb);
    snprintf(name, sizeof name, "%s.json", stem);
    tmp_path(name, js, sizeof js);

    if (el_graphdef_write(g, pb) != EL_OK) fail_msg("%s", el_last_error());
    el_graph *gp = NULL;
    if (el_graph_load(pb, &gp) != EL_OK) fail_msg("%s", el_last_error());
    same_graph(g, gp);

    if (el_tfjs_write(gp, NULL, js) != EL_OK) fail_msg("%s", el_last_error());
    el_graph *gj = NULL;
    if (el_tfjs_load(js, &gj) != EL_OK) fail_msg("%s", el_last_error());
    same_graph(g, gj);

    unsigned char *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    assert_int_equal(el_graphdef_serialize(g, &b1, &n1), EL_OK);
    assert_int_equal(el_graphdef_serialize(gj, &b2, &n2), EL_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    el_graph_free(gp);
    el_graph_free(gj);
}

/* ------------------------------------------------------------ small graphs */

static const char attrs_model[] =
    "{'format':'graph-model','modelTopology':{'node':["
    "  {'name':'x','op':'Placeholder','attr':{'dtype':{'type':'DT_FLOAT'},"
    "     'shape':{'shape':{'dim':[{'size':'1'},{'size':'-1'},{'size':'0'}]}}}},"
    "  {'name':'u','op':'Placeholder','attr':{'dtype':{'type':'DT_UINT8'},'shape':{'shape':{'unknownRank':true}}}},"
    "  {'name':'c_f','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{'dtype':'DT_FLOAT',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'tensorContent':'AACAPwAAAMA='}}}},"
    "  {'name':'c_d','op':'Const','attr':{'dtype':{'type':'DT_DOUBLE'},'value':{'tensor':{'dtype':'DT_DOUBLE',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'doubleVal':[0.5,0.1]}}}},"
    "  {'name':'c_d32','op':'Const','attr':{'dtype':{'type':'DT_DOUBLE'},'value':{'tensor':{'dtype':'DT_DOUBLE',"
    "     'tensorShape':{},'doubleVal':[0.25]}}}},"
    "  {'name':'c_i64','op':'Const','attr':{'dtype':{'type':'DT_INT64'},'value':{'tensor':{'dtype':'DT_INT64',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'int64Val':['-1','5000000000']}}}},"
    "  {'name':'c_i64s','op':'Const','attr':{'dtype':{'type':'DT_INT64'},'value':{'tensor':{'dtype':'DT_INT64',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'int64Val':['-1','7']}}}},"
    "  {'name':'c_h','op':'Const','attr':{'dtype':{'type':'DT_HALF'},'value':{'tensor':{'dtype':'DT_HALF',"
    "     'tensorShape':{'dim':[{'size':'3'}]},'halfVal':[15360,1,64512]}}}},"
    "  {'name':'c_u8','op':'Const','attr':{'dtype':{'type':'DT_UINT8'},'value':{'tensor':{'dtype':'DT_UINT8',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'intVal':[0,255]}}}},"
    "  {'name':'c_i8','op':'Const','attr':{'dtype':{'type':'DT_INT8'},'value':{'tensor':{'dtype':'DT_INT8',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'intVal':[-128,127]}}}},"
    "  {'name':'c_i16','op':'Const','attr':{'dtype':{'type':'DT_INT16'},'value':{'tensor':{'dtype':'DT_INT16',"
    "     'tensorShape':{'dim':[{'size':'1'}]},'intVal':[-300]}}}},"
    "  {'name':'c_b','op':'Const','attr':{'dtype':{'type':'DT_BOOL'},'value':{'tensor':{'dtype':'DT_BOOL',"
    "     'tensorShape':{'dim':[{'size':'2'}]},'boolVal':[true,false]}}}},"
    "  {'name':'c_s','op':'Const','attr':{'dtype':{'type':'DT_STRING'},'value':{'tensor':{'dtype':'DT_STRING',"
    "     'tensorShape':{'dim':[{'size':'3'}]},'stringVal':['aGk=','','AP8=']}}}},"
    "  {'name':'c_e','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'},'value':{'tensor':{'dtype':'DT_FLOAT',"
    "     'tensorShape':{'dim':[{'size':'0'},{'size':'3'}]}}}}},"
    "  {'name':'c_es','op':'Const','attr':{'dtype':{'type':'DT_STRING'},'value':{'tensor':{'dtype':'DT_STRING',"
    "     'tensorShape':{'dim':[{'size':'0'}]}}}}},"
    "  {'name':'y','op':'Attrs','input':['x','c_f:0','^u'],'device':'/device:CPU:0','attr':{"
    "     'i':{'i':'-3'},'big':{'i':'9223372036854775807'},'small':{'i':'-9223372036854775808'},"
    "     'f':{'f':0.1},'fnan':{'f':'NaN'},'finf':{'f':'-Infinity'},'fneg0':{'f':'-0'},'ftiny':{'f':1e-45},"
    "     'b':{'b':true},'bf':{'b':false},'s':{'s':'U0FNRQ=='},'s_empty':{'s':''},'s_bin':{'s':'AAEC/w=='},"
    "     't':{'type':'DT_INT64'},'tref':{'type':'DT_FLOAT_REF'},'tweird':{'type':150},"
    "     'sh':{'shape':{'dim':[{'size':'3'},{'size':'0'},{'size':'-1'}]}},'shs':{'shape':{}},"
    "     'shu':{'shape':{'unknownRank':true}},"
    "     'li':{'list':{'i':['1','-2','9223372036854775807']}},'ls':{'list':{'s':['YQ==','']}},"
    "     'lt':{'list':{'type':['DT_FLOAT','DT_INT32']}},"
    "     'lsh':{'list':{'shape':[{'dim':[{'size':'2'}]},{'unknownRank':true},{}]}},"
    "     'lf':{'list':{'f':[1.5,'Infinity','NaN',-0.0]}},'lb':{'list':{'b':[true,false,true]}},'lempty':{'list':{}},"
    "     'ten':{'tensor':{'dtype':'DT_INT32','tensorShape':{'dim':[{'size':'3'}]},'intVal':[5]}},"
    "     'tenh':{'tensor':{'dtype':'DT_HALF','halfVal':[15360]}},"
    "     'fn':{'func':{'name':'body_fn'}},'none':{},'ph':{'placeholder':'T'},"
    "     'lten':{'list':{'tensor':[{'dtype':'DT_BOOL','tensorShape':{},'boolVal':[true]},"
    "                                {'dtype':'DT_STRING','tensorShape':{'dim':[{'size':'1'}]},'stringVal':['eA==']}]}},"
    "     'lfn':{'list':{'func':[{'name':'a'},{'name':'b'}]}}"
    "  }},"
    "  {'name':'z','op':'NoOp'}]}}";

static void test_all_attr_forms(void **state)
{
    (void)state;
    char path[512];
    write_json("in.json", attrs_model, path, sizeof path);
    el_graph *g = NULL;
    if (el_tfjs_load(path, &g) != EL_OK) fail_msg("%s", el_last_error());
    round_trip(g, "attrs");

    /* What went where in the TF.js form: weights in tfjs-core dtypes, the
     * values no TF.js dtype holds exactly inline. */
    char js[512];
    tmp_path("attrs.json", js, sizeof js);
    FILE *f = fopen(js, "rb");
    assert_non_null(f);
    char text[20000];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "{\"name\":\"c_d32\",\"shape\":[],\"dtype\":\"float32\"}"));
    assert_null(strstr(text, "{\"name\":\"c_d\",\"shape\""));
    assert_null(strstr(text, "{\"name\":\"c_i64\",\"shape\""));
    assert_non_null(strstr(text, "{\"name\":\"c_d\",\"op\""));
    assert_non_null(strstr(text, "{\"name\":\"c_i64s\",\"shape\":[2],\"dtype\":\"int32\"}"));
    assert_non_null(strstr(text, "{\"name\":\"c_h\",\"shape\":[3],\"dtype\":\"float32\"}"));
    assert_non_null(strstr(text, "{\"name\":\"c_u8\",\"shape\":[2],\"dtype\":\"int32\"}"));
    assert_non_null(strstr(text, "{\"name\":\"c_s\",\"shape\":[3],\"dtype\":\"string\"}"));
    assert_non_null(strstr(text, "\"paths\":[\"attrs.bin\"]"));
    /* The derived signature: Placeholders in, unconsumed nodes out. */
    el_tfjs_signature *sig = NULL;
    assert_int_equal(el_tfjs_read_signature(js, &sig), EL_OK);
    assert_int_equal(sig->ninputs, 2);
    assert_string_equal(sig->inputs[0].name, "x");
    assert_int_equal(sig->inputs[0].shape.rank, 3);
    assert_int_equal(sig->inputs[1].shape.rank, -1);
    assert_non_null(el_tfjs_signature_find(sig->outputs, sig->noutputs, "y"));
    assert_null(el_tfjs_signature_find(sig->outputs, sig->noutputs, "z"));
    el_tfjs_signature_free(sig);
    el_graph_free(g);
}

static void test_shard_names(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(el_tfjs_shard_name("a/b/model.json", b, sizeof b), "group1-shard1of1.bin");
    assert_string_equal(el_tfjs_shard_name("model.json", b, sizeof b), "group1-shard1of1.bin");
    assert_string_equal(el_tfjs_shard_name("/x/hand.json", b, sizeof b), "hand.bin");
    assert_string_equal(el_tfjs_shard_name("/x/HAND.JSON", b, sizeof b), "HAND.bin");
}

/* Writing over the file the graph was mapped from. */
static void test_overwrite_input(void **state)
{
    (void)state;
    char path[512], pb[512];
    write_json("model.json", attrs_model, path, sizeof path);
    el_graph *g = NULL, *g2 = NULL, *g3 = NULL;
    assert_int_equal(el_tfjs_load(path, &g), EL_OK);
    tmp_path("same.pb", pb, sizeof pb);
    assert_int_equal(el_graphdef_write(g, pb), EL_OK);
    assert_int_equal(el_graph_load(pb, &g2), EL_OK);
    assert_int_equal(el_graphdef_write(g2, pb), EL_OK);
    same_graph(g, g2); /* g2's mapping still holds the old file */
    assert_int_equal(el_graph_load(pb, &g3), EL_OK);
    same_graph(g, g3);
    el_graph_free(g);
    el_graph_free(g2);
    el_graph_free(g3);
}

static void test_write_errors(void **state)
{
    (void)state;
    char path[512];
    write_json("model.json", attrs_model, path, sizeof path);
    el_graph *g = NULL;
    assert_int_equal(el_tfjs_load(path, &g), EL_OK);
    assert_int_equal(el_graphdef_write(g, "/nonexistent-dir/x.pb"), EL_ERR_IO);
    assert_non_null(strstr(el_last_error(), "/nonexistent-dir/x.pb"));
    assert_int_equal(el_tfjs_write(g, NULL, "/nonexistent-dir/x.json"), EL_ERR_IO);
    /* A failed rename (the destination is a directory) leaves no
     * temporary file behind. */
    char dir[512];
    tmp_path("d.pb", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(el_graphdef_write(g, dir), EL_ERR_IO);
    tmp_path("d.json", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(el_tfjs_write(g, NULL, dir), EL_ERR_IO);
    DIR *d = opendir(tmp);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".tmp-")) fail_msg("left behind: %s", de->d_name);
    closedir(d);
    el_graph_free(g);
}

/* ------------------------------------------------------------ CLI */

static int run_cli(const char *args)
{
    const char *bin = getenv("EL_BIN");
    if (!bin) return -1;
    char cmd[4400];
    if (strlen(bin) > 2000 || strlen(args) > 2000) return -1;
    snprintf(cmd, sizeof cmd, "'%.2000s' convert %.2000s >/dev/null 2>&1", bin, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_cli(void **state)
{
    (void)state;
    if (!getenv("EL_BIN")) skip();
    char path[512], args[2048], pb[512], js[512];
    write_json("model.json", attrs_model, path, sizeof path);
    tmp_path("out.pb", pb, sizeof pb);
    tmp_path("back.json", js, sizeof js);
    snprintf(args, sizeof args, "'%s' -o '%s'", path, pb);
    assert_int_equal(run_cli(args), 0);
    snprintf(args, sizeof args, "'%s' -o '%s'", pb, js);
    assert_int_equal(run_cli(args), 0);
    snprintf(args, sizeof args, "'%s' --output '%s'", tmp, pb); /* a directory with model.json */
    assert_int_equal(run_cli(args), 0);
    el_graph *a = NULL, *b = NULL;
    assert_int_equal(el_tfjs_load(path, &a), EL_OK);
    assert_int_equal(el_tfjs_load(js, &b), EL_OK);
    same_graph(a, b);
    el_graph_free(a);
    el_graph_free(b);

    snprintf(args, sizeof args, "'%s' -o '%s/out.onnx'", path, tmp);
    assert_int_equal(run_cli(args), 2);
    snprintf(args, sizeof args, "'%s'", path);
    assert_int_equal(run_cli(args), 2);
    assert_int_equal(run_cli("--help"), 0);
    snprintf(args, sizeof args, "'%s/missing.pb' -o '%s'", tmp, js);
    assert_int_equal(run_cli(args), 1);
}

/* ------------------------------------------------------------ real models */

static const char *const od_fetches[] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};

/* Runs the aiy graph on dog.jpg resized to 256x256. */
static void run_aiy(const el_graph *g, el_tensor out[4])
{
    char photo[512];
    if (!el_test_data("darknet/dog.jpg", photo, sizeof photo)) skip();
    el_image img = {0}, small = {0};
    assert_int_equal(el_image_load(photo, &img), EL_OK);
    assert_int_equal(el_image_resize_bilinear(&img, 256, 256, &small), EL_OK);
    el_tensor in;
    const int64_t dims[4] = {1, 256, 256, 3};
    assert_int_equal(el_tensor_alloc(&in, EL_DT_UINT8, 4, dims), EL_OK);
    memcpy(in.data, small.rgb, 256 * 256 * 3);
    el_image_free(&img);
    el_image_free(&small);
    const char *feeds[] = {"image_tensor"};
    el_session *s = NULL;
    if (el_session_create(g, 1, feeds, 4, od_fetches, NULL, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, &in, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
    el_tensor_release(&in);
}

static void test_aiy_runs_identically(void **state)
{
    (void)state;
    char path[512], js[512], pb[512];
    if (!el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog/frozen_inference_graph.pb", path, sizeof path))
        skip();
    if (!el_test_data("darknet/dog.jpg", js, sizeof js)) skip();
    el_graph *g = NULL, *gj = NULL, *gp = NULL;
    if (el_graph_load(path, &g) != EL_OK) fail_msg("%s", el_last_error());
    tmp_path("model.json", js, sizeof js);
    tmp_path("back.pb", pb, sizeof pb);
    if (el_tfjs_write(g, NULL, js) != EL_OK) fail_msg("%s", el_last_error());
    if (el_tfjs_load(js, &gj) != EL_OK) fail_msg("%s", el_last_error());
    if (el_graphdef_write(gj, pb) != EL_OK) fail_msg("%s", el_last_error());
    if (el_graph_load(pb, &gp) != EL_OK) fail_msg("%s", el_last_error());
    same_graph(g, gj);
    same_graph(g, gp);

    el_tensor want[4], got[4];
    run_aiy(g, want);
    assert_true(((float *)want[3].data)[0] >= 1); /* it sees the dog */
    const el_graph *forms[] = {gj, gp};
    for (int f = 0; f < 2; f++) {
        run_aiy(forms[f], got);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(got[i].dtype, want[i].dtype);
            assert_int_equal(el_tensor_nbytes(&got[i]), el_tensor_nbytes(&want[i]));
            if (memcmp(got[i].data, want[i].data, el_tensor_nbytes(&want[i])))
                fail_msg("%s differs after conversion (%s)", od_fetches[i], f ? "pb" : "json");
            el_tensor_release(&got[i]);
        }
    }
    for (int i = 0; i < 4; i++) el_tensor_release(&want[i]);
    el_graph_free(g);
    el_graph_free(gj);
    el_graph_free(gp);
}

static void check_tfjs_model(const char *name)
{
    char rel[64], path[512];
    snprintf(rel, sizeof rel, "human-models/%s.json", name);
    if (!el_test_data(rel, path, sizeof path)) skip();
    el_graph *g = NULL;
    if (el_tfjs_load(path, &g) != EL_OK) fail_msg("%s", el_last_error());
    round_trip(g, name);
    el_graph_free(g);
}

static void test_handtrack(void **state) { (void)state; check_tfjs_model("handtrack"); }
static void test_centernet(void **state) { (void)state; check_tfjs_model("centernet"); }
static void test_faceboxes(void **state) { (void)state; check_tfjs_model("faceboxes"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_attr_forms, setup, teardown),
        cmocka_unit_test(test_shard_names),
        cmocka_unit_test_setup_teardown(test_overwrite_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aiy_runs_identically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handtrack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_centernet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faceboxes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
