#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sinks/payload.h"

static el_detection det(const char *label, int id, float score)
{
    el_detection d = {.class_id = id, .label = label, .score = score, .box = {0.1f, 0.2f, 0.3f, 0.4f}};
    return d;
}

static void expect_seed(const el_detection *d, int n, const char *want)
{
    char *s = el_payload_seed(d, n);
    assert_non_null(s);
    assert_string_equal(s, want);
    /* Whatever it holds, it is JSON. */
    cJSON *j = cJSON_Parse(s);
    assert_non_null(j);
    cJSON_Delete(j);
    free(s);
}

static void test_seed_guide_example(void **state)
{
    (void)state;
    el_detection d[2] = {det("dog", 18, 0.8723f), det("person", 1, 0.6510f)};
    expect_seed(d, 2, "{\"dog\": 87.23, \"person\": 65.10}");
}

static void test_seed_empty(void **state)
{
    (void)state;
    expect_seed(NULL, 0, "{}");
    el_detection d[1] = {det("dog", 18, 0.9f)};
    expect_seed(d, 0, "{}");
    el_detection nan[1] = {det("dog", 18, NAN)};
    expect_seed(nan, 1, "{}");
}

static void test_seed_duplicate_keeps_highest(void **state)
{
    (void)state;
    /* Position of the first occurrence, value of the best one. */
    el_detection d[4] = {det("person", 1, 0.70f), det("dog", 18, 0.9f), det("person", 1, 0.80f),
                         det("person", 1, 0.60f)};
    expect_seed(d, 4, "{\"person\": 80.00, \"dog\": 90.00}");
}

static void test_seed_rounding(void **state)
{
    (void)state;
    el_detection d[3] = {det("a", 1, 1.0f), det("b", 2, 0.5f), det("c", 3, 0.00001f)};
    expect_seed(d, 3, "{\"a\": 100.00, \"b\": 50.00, \"c\": 0.00}");
}

static void test_seed_unlabeled(void **state)
{
    (void)state;
    el_detection d[3] = {det(NULL, 7, 0.55f), det("cat", 17, 0.52f), det(NULL, 7, 0.6f)};
    expect_seed(d, 3, "{\"class 7\": 60.00, \"cat\": 52.00}");
}

static void test_seed_escaping(void **state)
{
    (void)state;
    /* As Python's json.dumps (ensure_ascii): quotes, backslash, controls,
     * DEL and non-ASCII escaped; astral planes as surrogate pairs; a byte
     * that is not UTF-8 becomes U+FFFD. */
    el_detection d[5] = {det("a\"b\\c", 1, 0.5f), det("caf\xc3\xa9", 2, 0.5f), det("x\n\t\x01\x7f", 3, 0.5f),
                         det("\xf0\x9f\x98\x80", 4, 0.5f), det("bad\xff", 5, 0.5f)};
    expect_seed(d, 5,
                "{\"a\\\"b\\\\c\": 50.00, \"caf\\u00e9\": 50.00, \"x\\n\\t\\u0001\\u007f\": 50.00, "
                "\"\\ud83d\\ude00\": 50.00, \"bad\\ufffd\": 50.00}");
    char *s = el_payload_seed(d, 5);
    cJSON *j = cJSON_Parse(s);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "caf\xc3\xa9"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "a\"b\\c"));
    cJSON_Delete(j);
    free(s);
    /* Overlong encodings and encoded surrogates are not UTF-8 either. */
    el_detection o[2] = {det("\xc0\xaf", 1, 0.5f), det("\xed\xa0\x80", 2, 0.5f)};
    expect_seed(o, 2, "{\"\\ufffd\\ufffd\": 50.00, \"\\ufffd\\ufffd\\ufffd\": 50.00}");
}

static void test_full_exact(void **state)
{
    (void)state;
    el_detection d[2] = {
        {.class_id = 18, .label = "dog", .score = 0.5f, .box = {0.25f, 0.5f, 0.75f, 1.0f}},
        {.class_id = 7, .label = NULL, .score = 0.75f, .box = {0, 0, 0.5f, 0.5f}},
    };
    el_payload_meta m = {.thing = "cam1", .time_unix = 1700000000.5, .frame = 42, .source = "/dev/video0",
                         .model = "ssd", .inference_ms = 12.5, .width = 640, .height = 480};
    char *s = el_payload_full(&m, d, 2);
    assert_non_null(s);
    assert_string_equal(s, "{\"thing\":\"cam1\",\"timestamp\":\"2023-11-14T22:13:20.500Z\",\"frame\":42,"
                           "\"source\":\"/dev/video0\",\"model\":\"ssd\",\"width\":640,\"height\":480,"
                           "\"inference_ms\":12.5,\"detections\":[{\"label\":\"dog\",\"class_id\":18,\"score\":0.5,"
                           "\"box\":[0.25,0.5,0.75,1]},{\"label\":null,\"class_id\":7,\"score\":0.75,"
                           "\"box\":[0,0,0.5,0.5]}]}");
    free(s);
}

static void test_full_parses_back(void **state)
{
    (void)state;
    el_detection d[2] = {
        {.class_id = 1, .label = "per\"son\xff", .score = 0.87314f, .box = {0.1234567f, 0.2f, 0.9f, 0.95f}},
        {.class_id = 3, .label = "dog", .score = 0.6f, .box = {0, 0, 1, 1}},
    };
    el_payload_meta m = {.thing = "th\xc3\xa9", .time_unix = 1700000000.1234, .frame = (1ull << 60) + 1,
                         .source = NULL, .model = "m", .inference_ms = 12.34567, .width = 300, .height = 200};
    char *s = el_payload_full(&m, d, 2);
    assert_non_null(s);
    /* All 64 bits of the frame number, not a double's 53. */
    assert_non_null(strstr(s, "\"frame\":1152921504606846977,"));
    cJSON *j = cJSON_Parse(s);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "thing")->valuestring, "th\xc3\xa9");
    assert_string_equal(cJSON_GetObjectItem(j, "timestamp")->valuestring, "2023-11-14T22:13:20.123Z");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "source")));
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m");
    assert_int_equal(cJSON_GetObjectItem(j, "width")->valueint, 300);
    assert_int_equal(cJSON_GetObjectItem(j, "height")->valueint, 200);
    assert_float_equal(cJSON_GetObjectItem(j, "inference_ms")->valuedouble, 12.346, 1e-9);
    cJSON *arr = cJSON_GetObjectItem(j, "detections");
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    cJSON *e = cJSON_GetArrayItem(arr, 0);
    /* A label that is not UTF-8 still gives valid JSON. */
    assert_string_equal(cJSON_GetObjectItem(e, "label")->valuestring, "per\"son\xef\xbf\xbd");
    assert_int_equal(cJSON_GetObjectItem(e, "class_id")->valueint, 1);
    assert_float_equal(cJSON_GetObjectItem(e, "score")->valuedouble, 0.8731, 1e-12);
    cJSON *box = cJSON_GetObjectItem(e, "box");
    assert_int_equal(cJSON_GetArraySize(box), 4);
    assert_float_equal(cJSON_GetArrayItem(box, 0)->valuedouble, 0.123457, 1e-12);
    assert_float_equal(cJSON_GetArrayItem(box, 3)->valuedouble, 0.95, 1e-12);
    cJSON_Delete(j);
    free(s);

    s = el_payload_full(&m, NULL, 0);
    j = cJSON_Parse(s);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "detections")), 0);
    cJSON_Delete(j);
    free(s);
}

static void test_timestamps(void **state)
{
    (void)state;
    struct {
        double t;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1700000000.9996, "2023-11-14T22:13:21.000Z"}, /* rounds to the millisecond, carrying */
        {951782400.25, "2000-02-29T00:00:00.250Z"},
        {-0.5, "1969-12-31T23:59:59.500Z"},
        {NAN, "1970-01-01T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        el_payload_status st = {.thing = "t", .state = "online", .time_unix = cases[i].t};
        char *s = el_payload_status_doc(&st);
        cJSON *j = cJSON_Parse(s);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "timestamp")->valuestring, cases[i].want);
        cJSON_Delete(j);
        free(s);
    }
}

static void test_status(void **state)
{
    (void)state;
    el_payload_status st = {.thing = "cam1", .state = "online", .reason = NULL, .model = "ssd_mobilenet",
                            .fps = 12.3456, .version = "0.1.0", .time_unix = 1700000000.5};
    char *s = el_payload_status_doc(&st);
    assert_string_equal(s, "{\"thing\":\"cam1\",\"state\":\"online\",\"reason\":null,\"model\":\"ssd_mobilenet\","
                           "\"fps\":12.35,\"version\":\"0.1.0\",\"timestamp\":\"2023-11-14T22:13:20.500Z\"}");
    free(s);

    st.state = "error";
    st.reason = "Failed to get frame from the stream";
    st.fps = 0;
    s = el_payload_status_doc(&st);
    cJSON *j = cJSON_Parse(s);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "Failed to get frame from the stream");
    assert_float_equal(cJSON_GetObjectItem(j, "fps")->valuedouble, 0, 0);
    assert_string_equal(cJSON_GetObjectItem(j, "version")->valuestring, "0.1.0");
    assert_string_equal(cJSON_GetObjectItem(j, "thing")->valuestring, "cam1");
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "ssd_mobilenet");
    cJSON_Delete(j);
    free(s);

    /* Nothing known: every key still there. */
    el_payload_status none = {.state = "offline", .fps = NAN};
    s = el_payload_status_doc(&none);
    j = cJSON_Parse(s);
    assert_non_null(j);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "thing")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "model")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "fps")));
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "offline");
    cJSON_Delete(j);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_guide_example), cmocka_unit_test(test_seed_empty),
        cmocka_unit_test(test_seed_duplicate_keeps_highest), cmocka_unit_test(test_seed_rounding),
        cmocka_unit_test(test_seed_unlabeled), cmocka_unit_test(test_seed_escaping),
        cmocka_unit_test(test_full_exact), cmocka_unit_test(test_full_parses_back),
        cmocka_unit_test(test_timestamps), cmocka_unit_test(test_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
