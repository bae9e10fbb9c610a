#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/labels.h"

static el_labels *parse_ok(const char *text)
{
    el_labels *l = NULL;
    el_status s = el_labels_parse(text, strlen(text), "t.pbtxt", &l);
    if (s != EL_OK) fail_msg("parse failed: %s", el_last_error());
    assert_non_null(l);
    return l;
}

/* Parses `text` expecting `code` and a message containing `want`. */
static void parse_fails(const char *text, size_t len, el_status code, const char *want)
{
    el_labels *l = (el_labels *)1;
    el_status s = el_labels_parse(text, len, "t.pbtxt", &l);
    if (s != code) fail_msg("expected status %d, got %d (%s)", (int)code, (int)s, el_last_error());
    assert_null(l);
    if (want && !strstr(el_last_error(), want)) fail_msg("message '%s' lacks '%s'", el_last_error(), want);
}
#define FAILS(text, code, want) parse_fails(text, strlen(text), code, want)

static void test_basic(void **state)
{
    (void)state;
    el_labels *l = parse_ok("# COCO-style label map\n"
                            "item {\n"
                            "  name: '/m/01g317'   # a comment after a value\n"
                            "  id: 1\n"
                            "  display_name: \"person\"\n"
                            "}\n"
                            "item { id: 3 name: \"dog\" }\n"
                            "item < id: 2; display_name: 'cat', name: 'x' >\n");
    assert_int_equal(el_labels_count(l), 3);
    assert_int_equal(el_labels_max_id(l), 3);
    assert_string_equal(el_labels_name(l, 1), "person");
    assert_string_equal(el_labels_name(l, 2), "cat");
    assert_string_equal(el_labels_name(l, 3), "dog");
    assert_null(el_labels_name(l, 0));
    assert_null(el_labels_name(l, 4));
    assert_null(el_labels_name(l, -1));
    el_labels_free(l);
}

static void test_empty_and_odd_forms(void **state)
{
    (void)state;
    el_labels *l = parse_ok("\xEF\xBB\xBFitem { id: 5 name: 'bom' }");
    assert_string_equal(el_labels_name(l, 5), "bom");
    el_labels_free(l);
    FAILS("item { id: 5 }\xEF\xBB\xBF", EL_ERR_FORMAT, "unexpected byte 0xef");

    l = parse_ok("  # nothing but a comment");
    assert_int_equal(el_labels_count(l), 0);
    assert_int_equal(el_labels_max_id(l), 0);
    assert_null(el_labels_name(l, 1));
    el_labels_free(l);

    /* Colon before a message, list form, adjacent strings, hex/octal ids,
     * an id without a name (TensorFlow's default name is ""). */
    l = parse_ok("item: { id: 0x10 name: 'ab' \"cd\" }\n"
                 "item: [ { id: 010 }, < id: 0 name: 'bg' > ]\r\n"
                 "item {id:2147483647 display_name:'max'}");
    assert_int_equal(el_labels_count(l), 4);
    assert_string_equal(el_labels_name(l, 16), "abcd");
    assert_string_equal(el_labels_name(l, 8), "");
    assert_string_equal(el_labels_name(l, 0), "bg");
    assert_string_equal(el_labels_name(l, 2147483647), "max");
    assert_int_equal(el_labels_max_id(l), 2147483647);
    el_labels_free(l);
}

static void test_escapes(void **state)
{
    (void)state;
    el_labels *l = parse_ok("item { id: 1 name: 'it\\'s \"q\" \\\\ \\t\\n' }\n"
                            "item { id: 2 name: \"\\x41\\102\\u00e9\\U0001F600\\?\" }\n"
                            "item { id: 3 name: 'traffic light' display_name: \"caf\\303\\251\" }\n");
    assert_string_equal(el_labels_name(l, 1), "it's \"q\" \\ \t\n");
    assert_string_equal(el_labels_name(l, 2), "AB\xc3\xa9\xf0\x9f\x98\x80?");
    assert_string_equal(el_labels_name(l, 3), "caf\xc3\xa9");
    el_labels_free(l);

    FAILS("item { id: 1 name: 'a\\qb' }", EL_ERR_FORMAT, "t.pbtxt:1: unknown escape \\q");
    FAILS("item { id: 1 name: 'a\\x' }", EL_ERR_FORMAT, "\\x escape");
    FAILS("item { id: 1 name: '\\u12' }", EL_ERR_FORMAT, "4 hex digits");
    FAILS("item { id: 1 name: '\\ud800' }", EL_ERR_FORMAT, "surrogate");
    FAILS("item { id: 1 name: '\\U00110000' }", EL_ERR_FORMAT, "out of range");
    FAILS("item { id: 1 name: 'a\\0b' }", EL_ERR_FORMAT, "NUL");
}

static void test_unknown_fields_skipped(void **state)
{
    (void)state;
    /* Fields of newer StringIntLabelMapItem versions, in every shape text
     * format allows: enum, number, list, nested and doubly nested messages. */
    el_labels *l = parse_ok("item {\n"
                            "  name: \"/m/01g317\"\n"
                            "  id: 1\n"
                            "  display_name: \"person\"\n"
                            "  keypoints { id: 0 label: \"nose\" }\n"
                            "  keypoints < id: 1, label: 'left_eye' >\n"
                            "  frequency: FREQUENT\n"
                            "  instance_count: 2.5e-3\n"
                            "  ancestor_ids: [1, -2, 0x3]\n"
                            "  descendant_ids: []\n"
                            "  x: [ { a: 1 }, { b { c: 'id: 7 }' } } ]\n"
                            "  y: -inf z: \"a\" 'b'\n"
                            "}\n"
                            "item { keypoints { id: 9 } id: 2 name: 'bike' }\n");
    assert_int_equal(el_labels_count(l), 2);
    assert_string_equal(el_labels_name(l, 1), "person");
    assert_string_equal(el_labels_name(l, 2), "bike");
    assert_null(el_labels_name(l, 0));
    assert_null(el_labels_name(l, 7));
    assert_null(el_labels_name(l, 9));
    el_labels_free(l);
}

static void test_refusals(void **state)
{
    (void)state;
    FAILS("item { id: 1 name: 'a' }\n\nitem { id: 1 name: 'b' }", EL_ERR_FORMAT, "t.pbtxt:3: duplicate id 1 (first at line 1)");
    FAILS("item {\n  name: 'a'\n}", EL_ERR_FORMAT, "t.pbtxt:1: item without id");
    FAILS("item { id: -1 }", EL_ERR_FORMAT, "negative");
    FAILS("item { id: 2147483648 }", EL_ERR_FORMAT, "out of range");
    FAILS("item { id: 99999999999999999999999999999999 }", EL_ERR_FORMAT, "out of range");
    FAILS("item { id: -99999999999999999999999999999999 }", EL_ERR_FORMAT, "negative");
    FAILS("item { id: 1.5 }", EL_ERR_FORMAT, "expected an integer id");
    FAILS("item { id: 'one' }", EL_ERR_FORMAT, "expected an integer id");
    FAILS("item { id: 1 id: 2 }", EL_ERR_FORMAT, "twice");
    FAILS("item { id: 1 name: 'a' name: 'b' }", EL_ERR_FORMAT, "twice");
    FAILS("item { id 1 }", EL_ERR_FORMAT, "expected ':'");
    FAILS("item { id: 1 name: dog }", EL_ERR_FORMAT, "quoted string");
    FAILS("label { id: 1 }", EL_ERR_FORMAT, "expected 'item'");
    FAILS("item { id: 1 } garbage", EL_ERR_FORMAT, "expected 'item'");
    FAILS("item { id: 1 foo bar }", EL_ERR_FORMAT, "expected ':' or '{'");
    FAILS("item { id: 1 $ }", EL_ERR_FORMAT, "unexpected character '$'");
    FAILS("item { id: 1 }\n\x01", EL_ERR_FORMAT, "t.pbtxt:2: unexpected byte 0x01");
    FAILS("item { id: 1 k: [1 2] }", EL_ERR_FORMAT, "between list elements");
    FAILS("item id: 1", EL_ERR_FORMAT, "expected '{'");
}

static void test_unterminated_and_unbalanced(void **state)
{
    (void)state;
    FAILS("item { id: 1 name: 'dog }", EL_ERR_FORMAT, "t.pbtxt:1: unterminated string");
    FAILS("item { id: 1\nname: \"dog\n\" }", EL_ERR_FORMAT, "t.pbtxt:2: unterminated string");
    FAILS("item { id: 1 name: 'dog\\", EL_ERR_FORMAT, "unterminated string");
    FAILS("item { id: 1 k: 'x", EL_ERR_FORMAT, "unterminated string");
    FAILS("item {\n id: 1\n", EL_ERR_FORMAT, "t.pbtxt:3: expected a field name or '}' in item, found end of file");
    FAILS("item { id: 1 >", EL_ERR_FORMAT, "found '>'");
    FAILS("item < id: 1 }", EL_ERR_FORMAT, "found '}'");
    FAILS("item { id: 1 }}", EL_ERR_FORMAT, "expected 'item', found '}'");
    FAILS("item { id: 1 k { a: 1 }", EL_ERR_FORMAT, "end of file");
    FAILS("item { id: 1 k { a: [1, 2 }", EL_ERR_FORMAT, "between list elements");
    FAILS("item: [ { id: 1 }", EL_ERR_FORMAT, "between items");
    FAILS("item {", EL_ERR_FORMAT, "end of file");
    FAILS("{}", EL_ERR_FORMAT, "expected 'item'");
    /* A NUL byte inside the buffer is data, not an end. */
    parse_fails("item { id: 1 }\0item { id: 1 }", 29, EL_ERR_FORMAT, "unexpected byte 0x00");
}

static void test_deep_nesting(void **state)
{
    (void)state;
    enum { DEPTH = 10000 };
    const char *open = "k {";
    size_t n = strlen("item { id: 1 ") + DEPTH * (strlen(open) + 1) + 16;
    char *text = malloc(n);
    assert_non_null(text);
    size_t p = (size_t)sprintf(text, "item { id: 1 ");
    for (int i = 0; i < DEPTH; i++) p += (size_t)sprintf(text + p, "%s", open);
    for (int i = 0; i < DEPTH; i++) text[p++] = '}';
    text[p++] = '}';
    parse_fails(text, p, EL_ERR_LIMIT, "nesting deeper than");

    /* The same with lists, and with angle brackets (left unclosed). */
    p = (size_t)sprintf(text, "item { id: 1 k: ");
    for (int i = 0; i < DEPTH; i++) text[p++] = '[';
    parse_fails(text, p, EL_ERR_LIMIT, "nesting deeper than");
    p = (size_t)sprintf(text, "item < id: 1 ");
    for (int i = 0; i < DEPTH; i++) p += (size_t)sprintf(text + p, "k <");
    parse_fails(text, p, EL_ERR_LIMIT, "nesting deeper than");

    /* Moderate nesting, as real label maps have, is fine. */
    el_labels *l = parse_ok("item { id: 4 a { b { c { d: [ { e: 1 } ] } } } name: 'deep' }");
    assert_string_equal(el_labels_name(l, 4), "deep");
    el_labels_free(l);
    free(text);
}

static void test_name_bound(void **state)
{
    (void)state;
    char text[3000];
    int p = sprintf(text, "item { id: 1 name: '");
    memset(text + p, 'a', 1024);
    p += 1024;
    p += sprintf(text + p, "' }");
    el_labels *l = parse_ok(text);
    assert_int_equal(strlen(el_labels_name(l, 1)), 1024);
    el_labels_free(l);

    p = sprintf(text, "item { id: 1 name: '");
    memset(text + p, 'a', 1000);
    p += 1000;
    p += sprintf(text + p, "' '");
    memset(text + p, 'b', 25);
    p += 25;
    p += sprintf(text + p, "' }");
    parse_fails(text, (size_t)p, EL_ERR_LIMIT, "longer than 1024 bytes");
}

/* xorshift64*: a fixed seed keeps failures reproducible. */
static uint64_t el_rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    el_rng ^= el_rng >> 12;
    el_rng ^= el_rng << 25;
    el_rng ^= el_rng >> 27;
    return el_rng * 0x2545F4914F6CDD1Dull;
}

static void test_random_bytes(void **state)
{
    (void)state;
    static const char alphabet[] = "item{}<>[]:;,#'\"\\ \n\tid name display_name 0123456789x-.eu";
    unsigned char buf[512];
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = (size_t)(rnd() % sizeof buf);
        bool text_like = iter % 2;
        for (size_t i = 0; i < n; i++)
            buf[i] = text_like ? (unsigned char)alphabet[rnd() % (sizeof alphabet - 1)] : (unsigned char)rnd();
        el_labels *l = NULL;
        el_status s = el_labels_parse((const char *)buf, n, "fuzz", &l);
        if (s == EL_OK) {
            assert_non_null(l);
            assert_true(el_labels_count(l) >= 0);
            el_labels_free(l);
        } else {
            assert_null(l);
            assert_true(strncmp(el_last_error(), "fuzz", 4) == 0);
        }
    }

    /* Mutations of a valid map reach deeper into the parser. */
    const char *good = "item {\n id: 1\n name: 'a\\tb'\n display_name: \"A\"\n keypoints { id: 0 label: 'x' }\n}\n"
                       "item < id: 2, name: \"b\" ; frequency: RARE ancestor_ids: [1, 2] >\n";
    size_t gl = strlen(good);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, good, gl);
        int muts = 1 + (int)(rnd() % 4);
        for (int m = 0; m < muts; m++) buf[rnd() % gl] = (unsigned char)alphabet[rnd() % (sizeof alphabet - 1)];
        size_t n = gl - (size_t)(rnd() % 8);
        el_labels *l = NULL;
        if (el_labels_parse((const char *)buf, n, "fuzz", &l) == EL_OK) el_labels_free(l);
        else assert_null(l);
    }
}

static void test_files(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/labels.pbtxt", dir);
    const char *text = "item {\n  id: 1\n  name: 'x'\n}\nitem {\n  name: 'y'\n}\n";
    assert_int_equal(el_test_write_file(path, text, strlen(text)), 0);
    el_labels *l = (el_labels *)1;
    assert_int_equal(el_labels_load(path, &l), EL_ERR_FORMAT);
    assert_null(l);
    char want[160];
    snprintf(want, sizeof want, "%s:5: item without id", path);
    assert_non_null(strstr(el_last_error(), want));

    text = "item { id: 7 name: 'seven' }";
    assert_int_equal(el_test_write_file(path, text, strlen(text)), 0);
    assert_int_equal(el_labels_load(path, &l), EL_OK);
    assert_string_equal(el_labels_name(l, 7), "seven");
    el_labels_free(l);
    remove(path);

    assert_int_equal(el_labels_load(path, &l), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), path));
    assert_int_not_equal(el_labels_load(dir, &l), EL_OK);
    assert_null(l);
    remove(dir);
    el_labels_free(NULL);
}

static void test_shared_label_maps(void **state)
{
    (void)state;
    char path[512];
    el_labels *l;
    if (el_test_shared("models/ssd_mobilenet_v1_voc/label_map.pbtxt", path, sizeof path)) {
        assert_int_equal(el_labels_load(path, &l), EL_OK);
        assert_int_equal(el_labels_count(l), 20);
        assert_int_equal(el_labels_max_id(l), 20);
        assert_string_equal(el_labels_name(l, 15), "person");
        assert_string_equal(el_labels_name(l, 1), "aeroplane");
        assert_string_equal(el_labels_name(l, 20), "tvmonitor");
        assert_null(el_labels_name(l, 0));
        el_labels_free(l);
    } else {
        fprintf(stderr, "voc label map absent, not checked\n");
    }
    if (el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog/label_map.pbtxt", path, sizeof path)) {
        assert_int_equal(el_labels_load(path, &l), EL_OK);
        assert_int_equal(el_labels_count(l), 3);
        assert_string_equal(el_labels_name(l, 1), "person");
        assert_string_equal(el_labels_name(l, 2), "cat");
        assert_string_equal(el_labels_name(l, 3), "dog");
        el_labels_free(l);
    } else {
        fprintf(stderr, "aiy label map absent, not checked\n");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_empty_and_odd_forms),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_unknown_fields_skipped),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_unterminated_and_unbalanced),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_name_bound),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_shared_label_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
