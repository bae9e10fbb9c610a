/* `edgelens bench` end to end on the shared aiy graph: the JSON line's
 * fields, the profile table, synthetic and real input, and usage errors;
 * and on the TF.js models of .data/human-models (every head the detector
 * knows: TF2 OD API, CenterNet with its float input, FaceBoxes). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "edgelens/engine.h"
#include "testutil.h"

static char el_model[1024], el_voc[1024], el_dog[1024], el_human[1024];

static const char *el_bin(void) { return getenv("EL_BIN"); }

static double el_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    if (!cJSON_IsNumber(v)) fail_msg("field '%s' missing or not a number", k);
    return v->valuedouble;
}

static void test_json_line(void **state)
{
    (void)state;
    char *out;
    int rc = el_test_sh(&out, false, "%s bench %s --threads 2 --iterations 3 --json", el_bin(), el_model);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    /* Exactly one line. */
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, el_model);
    assert_int_equal((int)el_num(j, "threads"), 2);
    /* The default, auto, as it resolved on this CPU. */
    assert_string_equal(cJSON_GetObjectItem(j, "precision")->valuestring,
                        el_precision_name(el_precision_resolve(EL_PRECISION_AUTO)));
    double load = el_num(j, "load_ms"), first = el_num(j, "first_ms");
    double mn = el_num(j, "min_ms"), med = el_num(j, "median_ms"), p90 = el_num(j, "p90_ms");
    assert_true(load > 0 && first > 0);
    assert_true(mn > 0 && mn <= med && med <= p90);
    assert_true(el_num(j, "peak_rss_kb") > 1000);
    assert_null(cJSON_GetObjectItem(j, "profile"));
    cJSON_Delete(j);
    free(out);
}

/* --precision bf16: in the JSON line, or the CPU's refusal as an error. */
static void test_precision(void **state)
{
    (void)state;
    char *out;
    bool have = el_precision_check(EL_PRECISION_BF16) == EL_OK;
    int rc = el_test_sh(&out, !have, "%s bench %s --iterations 2 --precision bf16 --json", el_bin(), el_model);
    if (!have) {
        assert_int_equal(rc, 1);
        assert_non_null(strstr(out, "bf16 needs AVX512-BF16 or AMX"));
    } else {
        if (rc != 0) fail_msg("exit %d: %s", rc, out);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "precision")->valuestring, "bf16");
        cJSON_Delete(j);
    }
    free(out);
    rc = el_test_sh(&out, true, "%s bench %s --precision fp16", el_bin(), el_model);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "expected fp32, bf16, bf16x3 or auto"));
    free(out);
}

static void test_profile(void **state)
{
    (void)state;
    char *out;
    int rc = el_test_sh(&out, false, "%s bench %s --image %s --threads 1 --iterations 2 --profile --json", el_bin(),
                   el_model, el_dog);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const cJSON *prof = cJSON_GetObjectItem(j, "profile"), *row;
    assert_true(cJSON_IsArray(prof));
    bool conv = false, executor = false;
    double share = 0;
    cJSON_ArrayForEach(row, prof)
    {
        const char *op = cJSON_GetObjectItem(row, "op")->valuestring;
        share += el_num(row, "share");
        /* The graph passes fused every batch norm and Relu6 into the convolutions. */
        assert_string_not_equal(op, "FusedBatchNorm");
        assert_string_not_equal(op, "Relu6");
        if (!strcmp(op, "_FusedConv2D")) {
            conv = true;
            assert_true(el_num(row, "calls") >= 1);
            assert_true(el_num(row, "gflops") > 0);
        }
        if (!strcmp(op, "(executor)")) executor = true;
    }
    assert_true(conv && executor);
    assert_true(share > 0.95 && share < 1.05);
    cJSON_Delete(j);
    free(out);
    /* The table form; --no-optimize runs the graph as written. */
    rc = el_test_sh(&out, false, "%s bench %s --threads 1 --iterations 1 --profile --no-optimize", el_bin(), el_model);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    assert_non_null(strstr(out, "median"));
    assert_non_null(strstr(out, "GFLOP/s"));
    assert_non_null(strstr(out, "FusedBatchNorm"));
    assert_non_null(strstr(out, "graph passes off"));
    free(out);
}

/* A graph with a dynamic input size gets a synthetic VGA frame. */
static void test_dynamic_input(void **state)
{
    (void)state;
    if (!el_voc[0]) skip();
    char *out;
    int rc = el_test_sh(&out, false, "%s bench %s --iterations 1", el_bin(), el_voc);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    assert_non_null(strstr(out, "input 640x480, synthetic"));
    free(out);
}

/* The TF.js models: bench runs what the detector runs (its head, its input
 * size and dtype) and profiles the same graph. */
static void test_tfjs_models(void **state)
{
    (void)state;
    if (!el_human[0]) skip();
    static const struct {
        const char *name, *head, *input, *op;
    } models[] = {
        {"handtrack", "od_api", "uint8 input 320x320", "_FusedConv2D"},
        {"centernet", "centernet", "float32 input 512x512", "_FusedConv2D"},
        {"faceboxes", "faceboxes", "uint8 input 768x576", "_FusedConv2D"},
    };
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        char *out;
        int rc = el_test_sh(&out, false, "%s bench %s/%s.json --image %s --threads 1 --iterations 2", el_bin(), el_human,
                            models[m].name, el_dog);
        if (rc != 0) fail_msg("%s: exit %d: %s", models[m].name, rc, out);
        char want[128];
        snprintf(want, sizeof want, "(%s head, %s)", models[m].head, models[m].input);
        if (!strstr(out, want)) fail_msg("%s: no '%s' in: %s", models[m].name, want, out);
        free(out);
        rc = el_test_sh(&out, false, "%s bench %s/%s.json --threads 2 --iterations 2 --profile --json", el_bin(),
                        el_human, models[m].name);
        if (rc != 0) fail_msg("%s: exit %d: %s", models[m].name, rc, out);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        assert_int_equal((int)el_num(j, "threads"), 2);
        double mn = el_num(j, "min_ms"), med = el_num(j, "median_ms"), p90 = el_num(j, "p90_ms");
        assert_true(el_num(j, "load_ms") > 0 && el_num(j, "first_ms") > 0);
        assert_true(mn > 0 && mn <= med && med <= p90);
        assert_true(el_num(j, "peak_rss_kb") > 1000);
        const cJSON *prof = cJSON_GetObjectItem(j, "profile"), *row;
        bool conv = false;
        cJSON_ArrayForEach(row, prof)
        {
            const char *op = cJSON_GetObjectItem(row, "op")->valuestring;
            if (!strcmp(op, models[m].op)) conv = el_num(row, "gflops") > 0;
        }
        if (!conv) fail_msg("%s: no %s row with GFLOP/s in: %s", models[m].name, models[m].op, out);
        cJSON_Delete(j);
        free(out);
    }
}

static void test_usage_errors(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(el_test_sh(&out, true, "%s bench", el_bin()), 2);
    assert_non_null(strstr(out, "no model given"));
    free(out);
    assert_int_equal(el_test_sh(&out, true, "%s bench %s --threads 0", el_bin(), el_model), 2);
    assert_non_null(strstr(out, "--threads"));
    free(out);
    assert_int_equal(el_test_sh(&out, true, "%s bench %s --iterations x", el_bin(), el_model), 2);
    assert_non_null(strstr(out, "--iterations"));
    free(out);
    assert_int_equal(el_test_sh(&out, true, "%s bench /nonexistent/model", el_bin()), 1);
    assert_non_null(strstr(out, "edgelens bench:"));
    free(out);
    assert_int_equal(el_test_sh(&out, true, "%s bench --help", el_bin()), 0);
    assert_non_null(strstr(out, "--iterations"));
    free(out);
}

int main(void)
{
    if (!el_bin()) EL_TEST_SKIP_ALL("EL_BIN not set");
    if (!el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog/frozen_inference_graph.pb", el_model,
                        sizeof el_model))
        EL_TEST_SKIP_ALL("shared aiy model absent");
    /* The model directory, not the .pb inside it. */
    char *slash = strrchr(el_model, '/');
    *slash = '\0';
    if (el_test_shared("models/ssd_mobilenet_v1_voc/frozen_inference_graph.pb", el_voc, sizeof el_voc))
        *strrchr(el_voc, '/') = '\0';
    else
        el_voc[0] = '\0';
    if (!el_test_data("darknet/dog.jpg", el_dog, sizeof el_dog)) EL_TEST_SKIP_ALL("darknet photos absent");
    if (el_test_data("human-models/handtrack.json", el_human, sizeof el_human))
        *strrchr(el_human, '/') = '\0';
    else
        el_human[0] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_dynamic_input),
        cmocka_unit_test(test_tfjs_models),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
