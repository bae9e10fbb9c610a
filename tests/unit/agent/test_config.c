/* Agent configuration: typed keys, the YAML file, flags over the file, and
 * hostile YAML (wrong types, unknown and duplicate keys, huge and deep
 * documents, alias bombs, random bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgelens/agent.h"
#include "testutil.h"

static el_status el_load(el_agent_config *c, const char *yaml)
{
    return el_agent_config_load_yaml_mem(c, yaml, strlen(yaml), "test.yaml");
}

/* Loads into a fresh config and expects failure `code` with every needle
 * in the message. */
static void el_expect_fail(const char *yaml, el_status code, const char *needle1, const char *needle2)
{
    el_agent_config c;
    el_agent_config_init(&c);
    assert_int_equal(el_agent_config_set(&c, "model", "keep.pb"), EL_OK);
    el_status st = el_load(&c, yaml);
    if (st != code) fail_msg("yaml <<%s>>: status %d (%s), want %d", yaml, st, el_last_error(), code);
    if (needle1 && !strstr(el_last_error(), needle1))
        fail_msg("yaml <<%s>>: message '%s' lacks '%s'", yaml, el_last_error(), needle1);
    if (needle2 && !strstr(el_last_error(), needle2))
        fail_msg("yaml <<%s>>: message '%s' lacks '%s'", yaml, el_last_error(), needle2);
    /* A failed load leaves the config as it was. */
    assert_string_equal(c.model, "keep.pb");
    assert_null(c.source);
    el_agent_config_free(&c);
}

static void test_defaults(void **state)
{
    (void)state;
    el_agent_config c;
    el_agent_config_init(&c);
    assert_int_equal(c.format, EL_AGENT_FORMAT_FULL);
    assert_true(c.threshold == 0.5f);
    assert_true(c.retry_delay == 15);
    assert_false(c.loop);
    assert_null(c.model);
    assert_null(c.mqtt.url);
    assert_int_equal(c.mqtt.qos, 0);
    /* No model is fine (the default model); no source is not. */
    assert_int_equal(el_agent_config_validate(&c), EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "source"));
    assert_int_equal(el_agent_config_set(&c, "source", "v.mp4"), EL_OK);
    assert_int_equal(el_agent_config_validate(&c), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "mqtt", "http://broker"), EL_OK);
    assert_int_equal(el_agent_config_validate(&c), EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "mqtt://"));
    el_agent_config_free(&c);
    el_agent_config_free(NULL);
}

static void test_full_file(void **state)
{
    (void)state;
    const char *yaml = "# every key\n"
                       "model: /opt/models/ssd\n"
                       "labels: labels.pbtxt\n"
                       "source: /dev/video0\n"
                       "thing: cam-1\n"
                       "topic: 'site/cam-1/infer'\n"
                       "format: seed\n"
                       "threshold: 0.35\n"
                       "http: 0.0.0.0:8080\n"
                       "retry-delay: 2.5\n"
                       "loop: yes\n"
                       "threads: 2\n"
                       "mqtt:\n"
                       "  url: mqtts://broker.lan:8883\n"
                       "  username: dev\n"
                       "  password: \"s3cret: yes\"\n"
                       "  ca_file: /etc/ssl/ca.pem\n"
                       "  cert_file: /etc/edgelens/cert.pem\n"
                       "  key_file: /etc/edgelens/key.pem\n"
                       "  client_id: cam-1\n"
                       "  qos: 1\n"
                       "  keepalive: 60\n";
    el_agent_config c;
    el_agent_config_init(&c);
    el_status st = el_load(&c, yaml);
    if (st != EL_OK) fail_msg("%s", el_last_error());
    assert_string_equal(c.model, "/opt/models/ssd");
    assert_string_equal(c.labels, "labels.pbtxt");
    assert_string_equal(c.source, "/dev/video0");
    assert_string_equal(c.thing, "cam-1");
    assert_string_equal(c.topic, "site/cam-1/infer");
    assert_int_equal(c.format, EL_AGENT_FORMAT_SEED);
    assert_true(c.threshold > 0.3499f && c.threshold < 0.3501f);
    assert_string_equal(c.http, "0.0.0.0:8080");
    assert_true(c.retry_delay == 2.5);
    assert_true(c.loop);
    assert_int_equal(c.threads, 2);
    assert_string_equal(c.mqtt.url, "mqtts://broker.lan:8883");
    assert_string_equal(c.mqtt.username, "dev");
    assert_string_equal(c.mqtt.password, "s3cret: yes");
    assert_string_equal(c.mqtt.ca_file, "/etc/ssl/ca.pem");
    assert_string_equal(c.mqtt.cert_file, "/etc/edgelens/cert.pem");
    assert_string_equal(c.mqtt.key_file, "/etc/edgelens/key.pem");
    assert_string_equal(c.mqtt.client_id, "cam-1");
    assert_int_equal(c.mqtt.qos, 1);
    assert_int_equal(c.mqtt.keepalive, 60);
    assert_int_equal(el_agent_config_validate(&c), EL_OK);

    /* A deep copy survives the original. */
    el_agent_config d;
    assert_int_equal(el_agent_config_copy(&d, &c), EL_OK);
    el_agent_config_free(&c);
    assert_string_equal(d.mqtt.key_file, "/etc/edgelens/key.pem");
    assert_string_equal(d.source, "/dev/video0");
    el_agent_config_free(&d);
}

static void test_mqtt_scalar_and_flow_forms(void **state)
{
    (void)state;
    el_agent_config c;
    el_agent_config_init(&c);
    assert_int_equal(el_load(&c, "mqtt: mqtt://localhost:1883\nretry_delay: 1\n"), EL_OK);
    assert_string_equal(c.mqtt.url, "mqtt://localhost:1883");
    assert_true(c.retry_delay == 1);
    assert_int_equal(el_load(&c, "{model: m.pb, mqtt: {url: 'mqtt://b', qos: 2}, loop: off}"), EL_OK);
    assert_string_equal(c.mqtt.url, "mqtt://b");
    assert_int_equal(c.mqtt.qos, 2);
    assert_string_equal(c.model, "m.pb");
    assert_false(c.loop);
    el_agent_config_free(&c);
}

static void test_empty_and_null(void **state)
{
    (void)state;
    el_agent_config c;
    el_agent_config_init(&c);
    assert_int_equal(el_agent_config_set(&c, "http", "127.0.0.1:1"), EL_OK);
    assert_int_equal(el_load(&c, ""), EL_OK);
    assert_int_equal(el_load(&c, "# only a comment\n"), EL_OK);
    assert_int_equal(el_load(&c, "---\n...\n"), EL_OK);
    assert_int_equal(el_load(&c, "~\n"), EL_OK);
    assert_string_equal(c.http, "127.0.0.1:1");
    /* A null value unsets a string key. */
    assert_int_equal(el_load(&c, "http:\nmodel: x\n"), EL_OK);
    assert_null(c.http);
    assert_int_equal(el_load(&c, "model: ~\n"), EL_OK);
    assert_null(c.model);
    /* ... but a number needs a value, and "" is no path. */
    el_expect_fail("threshold:\n", EL_ERR_INVALID_ARG, "test.yaml:1", "threshold");
    el_expect_fail("source: ''\n", EL_ERR_INVALID_ARG, "test.yaml:1", "empty");
    el_agent_config_free(&c);
}

static void test_flags_over_config(void **state)
{
    (void)state;
    /* The CLI's order: defaults, then the file, then each flag. */
    char dir[256], path[512];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/edgelens.yaml", dir);
    const char *yaml = "model: file-model\nsource: file.mp4\nthreshold: 0.7\nformat: seed\nmqtt:\n  url: mqtt://file\n  qos: 1\n";
    assert_int_equal(el_test_write_file(path, yaml, strlen(yaml)), 0);
    el_agent_config c;
    el_agent_config_init(&c);
    assert_int_equal(el_agent_config_load_yaml(&c, path), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "source", "flag.mp4"), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "threshold", "0.25"), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "mqtt", "mqtt://flag:1884"), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "retry-delay", "1"), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "loop", "true"), EL_OK);
    assert_string_equal(c.model, "file-model");   /* from the file */
    assert_string_equal(c.source, "flag.mp4");     /* the flag wins */
    assert_true(c.threshold == 0.25f);
    assert_int_equal(c.format, EL_AGENT_FORMAT_SEED);
    assert_string_equal(c.mqtt.url, "mqtt://flag:1884");
    assert_int_equal(c.mqtt.qos, 1);               /* sub-key kept */
    assert_true(c.retry_delay == 1);
    assert_true(c.loop);
    el_agent_config_free(&c);

    el_agent_config_init(&c);
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(el_agent_config_load_yaml(&c, path), EL_ERR_IO);
    assert_non_null(strstr(el_last_error(), "missing.yaml"));
    assert_int_equal(el_agent_config_load_yaml(&c, dir), EL_ERR_IO);
    el_agent_config_free(&c);
}

static void test_set_types(void **state)
{
    (void)state;
    el_agent_config c;
    el_agent_config_init(&c);
    static const struct { const char *k, *v; el_status want; } cases[] = {
        {"threshold", "0", EL_OK},           {"threshold", "1", EL_OK},
        {"threshold", "1.01", EL_ERR_INVALID_ARG}, {"threshold", "-0.1", EL_ERR_INVALID_ARG},
        {"threshold", "nan", EL_ERR_INVALID_ARG},  {"threshold", "0.5x", EL_ERR_INVALID_ARG},
        {"threshold", "", EL_ERR_INVALID_ARG},     {"threshold", " 0.5", EL_ERR_INVALID_ARG},
        {"retry-delay", "0", EL_OK},         {"retry-delay", "inf", EL_ERR_INVALID_ARG},
        {"retry-delay", "1e9", EL_ERR_INVALID_ARG}, {"retry-delay", "-1", EL_ERR_INVALID_ARG},
        {"loop", "yes", EL_OK},              {"loop", "OFF", EL_OK},
        {"loop", "maybe", EL_ERR_INVALID_ARG},
        {"format", "full", EL_OK},           {"format", "seed", EL_OK},
        {"format", "xml", EL_ERR_INVALID_ARG},
        {"mqtt.qos", "2", EL_OK},            {"mqtt.qos", "3", EL_ERR_INVALID_ARG},
        {"mqtt.qos", "1.0", EL_ERR_INVALID_ARG},   {"mqtt.qos", "99999999999999999999", EL_ERR_INVALID_ARG},
        {"mqtt.keepalive", "0", EL_OK},      {"mqtt.keepalive", "5", EL_OK},
        {"mqtt.keepalive", "3", EL_ERR_INVALID_ARG}, {"mqtt.keepalive", "65536", EL_ERR_INVALID_ARG},
        {"threads", "-1", EL_ERR_INVALID_ARG}, {"threads", "4", EL_OK},
        {"precision", "fp32", EL_OK},        {"precision", "bf16", EL_OK},
        {"precision", "int4", EL_ERR_INVALID_ARG},
        {"nonsense", "1", EL_ERR_NOT_FOUND}, {"mqtt.nonsense", "1", EL_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        el_status st = el_agent_config_set(&c, cases[i].k, cases[i].v);
        if (st != cases[i].want)
            fail_msg("set %s=%s: got %d (%s), want %d", cases[i].k, cases[i].v, st, el_last_error(), cases[i].want);
        if (st != EL_OK) assert_non_null(strstr(el_last_error(), cases[i].k));
    }
    assert_int_equal(el_agent_config_set(&c, "threshold", NULL), EL_ERR_INVALID_ARG);
    /* A failed set changes nothing. */
    assert_int_equal(el_agent_config_set(&c, "threshold", "0.75"), EL_OK);
    assert_int_equal(el_agent_config_set(&c, "threshold", "7"), EL_ERR_INVALID_ARG);
    assert_true(c.threshold == 0.75f);
    char big[EL_AGENT_CONFIG_MAX_VALUE + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(el_agent_config_set(&c, "source", big), EL_ERR_LIMIT);
    el_agent_config_free(&c);
}

static void test_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    el_expect_fail("model: a\n\nmodle: b\n", EL_ERR_NOT_FOUND, "test.yaml:3", "'modle'");
    el_expect_fail("mqtt:\n  url: mqtt://x\n  passwd: y\n", EL_ERR_NOT_FOUND, "test.yaml:3", "'mqtt.passwd'");
    el_expect_fail("mqtt.url: mqtt://x\n", EL_ERR_NOT_FOUND, "test.yaml:1", "mqtt.url");
    el_expect_fail("source: a\nsource: b\n", EL_ERR_INVALID_ARG, "test.yaml:2", "duplicate key 'source'");
    el_expect_fail("retry-delay: 1\nretry_delay: 2\n", EL_ERR_INVALID_ARG, "test.yaml:2", "duplicate");
    el_expect_fail("mqtt: mqtt://a\nmqtt:\n  qos: 1\n", EL_ERR_INVALID_ARG, "test.yaml:2", "duplicate");
    el_expect_fail("mqtt:\n  qos: 1\n  qos: 2\n", EL_ERR_INVALID_ARG, "test.yaml:3", "duplicate");
    el_expect_fail("? [a, b]\n: c\n", EL_ERR_FORMAT, "test.yaml:1", "key");
}

static void test_wrong_types(void **state)
{
    (void)state;
    el_expect_fail("threshold: [0.5]\n", EL_ERR_INVALID_ARG, "test.yaml:1", "found a list");
    el_expect_fail("source: a\nthreshold: high\n", EL_ERR_INVALID_ARG, "test.yaml:2", "threshold");
    el_expect_fail("threshold: 2\n", EL_ERR_INVALID_ARG, "[0,1]", NULL);
    el_expect_fail("model: {path: x}\n", EL_ERR_INVALID_ARG, "test.yaml:1", "found a mapping");
    el_expect_fail("mqtt: [mqtt://a]\n", EL_ERR_INVALID_ARG, "URL or a mapping", NULL);
    el_expect_fail("mqtt:\n  qos: [1]\n", EL_ERR_INVALID_ARG, "test.yaml:2", "mqtt.qos");
    el_expect_fail("mqtt:\n  url:\n    host: x\n", EL_ERR_INVALID_ARG, "test.yaml:2", "mqtt.url");
    el_expect_fail("loop: 2\n", EL_ERR_INVALID_ARG, "loop", NULL);
    el_expect_fail("format: SEED\n", EL_ERR_INVALID_ARG, "seed or full", NULL);
    el_expect_fail("- model: a\n", EL_ERR_FORMAT, "mapping", NULL);
    el_expect_fail("just a string\n", EL_ERR_FORMAT, "mapping", NULL);
    el_expect_fail("model: a\n---\nmodel: b\n", EL_ERR_FORMAT, "one YAML document", NULL);
    el_expect_fail("model: \"a\\0b\"\n", EL_ERR_FORMAT, "NUL", NULL);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    el_expect_fail("model: a\nsource: b\nthing: \"unclosed\n", EL_ERR_FORMAT, "test.yaml:", "YAML error");
    el_expect_fail("model: a\nsource: [unclosed\n", EL_ERR_INVALID_ARG, "test.yaml:2", "found a list");
    el_expect_fail("model: a\n  source: b\n", EL_ERR_FORMAT, "test.yaml:2", NULL);
    el_expect_fail("model: 'a\n", EL_ERR_FORMAT, "YAML error", NULL);
    el_expect_fail("\t- x\n", EL_ERR_FORMAT, "YAML error", NULL);
    static const char bad_utf8[] = "model: \xff\xfe\n";
    el_expect_fail(bad_utf8, EL_ERR_FORMAT, NULL, NULL);
}

static void test_aliases_refused(void **state)
{
    (void)state;
    el_expect_fail("source: &s cam\nmodel: *s\n", EL_ERR_UNSUPPORTED, "test.yaml:2", "alias");
    /* The classic alias bomb: 9 levels of 9 references would expand to 9^9
     * strings in a naive loader. Refused at the first alias, at once. */
    char bomb[4096];
    size_t n = 0;
    n += (size_t)snprintf(bomb + n, sizeof bomb - n, "a0: &a0 [\"lol\"]\n");
    for (int i = 1; i < 9; i++) {
        n += (size_t)snprintf(bomb + n, sizeof bomb - n, "a%d: &a%d [", i, i);
        for (int j = 0; j < 9; j++) n += (size_t)snprintf(bomb + n, sizeof bomb - n, "%s*a%d", j ? "," : "", i - 1);
        n += (size_t)snprintf(bomb + n, sizeof bomb - n, "]\n");
    }
    clock_t t0 = clock();
    el_expect_fail(bomb, EL_ERR_NOT_FOUND, "'a0'", NULL); /* unknown key comes first */
    /* With known keys, the aliases are what is refused. */
    n = 0;
    n += (size_t)snprintf(bomb + n, sizeof bomb - n, "mqtt: &a0 {url: mqtt://x}\n");
    n += (size_t)snprintf(bomb + n, sizeof bomb - n, "source: *a0\n");
    el_expect_fail(bomb, EL_ERR_UNSUPPORTED, "alias", NULL);
    el_expect_fail("mqtt:\n  url: *base\n", EL_ERR_UNSUPPORTED, "test.yaml:2", "alias"); /* undefined */
    el_expect_fail("mqtt:\n  <<: *base\n", EL_ERR_NOT_FOUND, "mqtt.<<", NULL);   /* no merge keys */
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
}

static void test_huge_documents(void **state)
{
    (void)state;
    /* Over the size bound: refused before parsing. */
    size_t big = (size_t)EL_AGENT_CONFIG_MAX_BYTES + 1;
    char *s = malloc(big + 1);
    assert_non_null(s);
    memset(s, '#', big);
    s[big] = '\0';
    el_expect_fail(s, EL_ERR_LIMIT, "limit", NULL);

    /* Within it, a 500k-deep flow nesting stops at its first level. */
    size_t depth = 500000, k = 0;
    k += (size_t)snprintf(s, big, "model: ");
    for (size_t i = 0; i < depth; i++) s[k++] = '[';
    for (size_t i = 0; i < depth; i++) s[k++] = ']';
    s[k] = '\0';
    clock_t t0 = clock();
    el_expect_fail(s, EL_ERR_INVALID_ARG, "found a list", NULL);

    /* A scalar over the value bound. */
    k = (size_t)snprintf(s, big, "source: ");
    memset(s + k, 'x', EL_AGENT_CONFIG_MAX_VALUE + 10);
    s[k + EL_AGENT_CONFIG_MAX_VALUE + 10] = '\0';
    el_expect_fail(s, EL_ERR_LIMIT, "test.yaml:1", NULL);

    /* A long key. */
    k = 0;
    for (int i = 0; i < 200; i++) s[k++] = 'k';
    k += (size_t)snprintf(s + k, big - k, ": 1\n");
    el_expect_fail(s, EL_ERR_NOT_FOUND, "unknown key", NULL);

    /* Size, not line count, is what is bounded: 20000 comment lines load. */
    k = (size_t)snprintf(s, big, "mqtt:\n");
    for (int i = 0; i < 20000 && k + 32 < big; i++) k += (size_t)snprintf(s + k, big - k, "  # comment %d\n", i);
    k += (size_t)snprintf(s + k, big - k, "  qos: 1\n");
    el_agent_config c;
    el_agent_config_init(&c);
    assert_int_equal(el_agent_config_load_yaml_mem(&c, s, k, "test.yaml"), EL_OK);
    assert_int_equal(c.mqtt.qos, 1);
    el_agent_config_free(&c);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);
    free(s);
}

/* Random mutations of a valid file: any outcome but a crash, a leak, or a
 * changed config on failure. */
static void test_fuzz(void **state)
{
    (void)state;
    const char *base = "model: m\nsource: s\nthreshold: 0.4\nmqtt:\n  url: mqtt://h:1\n  qos: 1\nloop: true\n"
                       "http: 127.0.0.1:0\nformat: seed\n";
    size_t len = strlen(base);
    char buf[512];
    unsigned seed = 12345;
    static const char alphabet[] = "{}[]:,-&*!|>'\"#%@` \n\t?0a.~";
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, base, len);
        size_t n = len;
        int edits = 1 + (int)(rand_r(&seed) % 4);
        for (int e = 0; e < edits; e++) {
            size_t pos = (size_t)rand_r(&seed) % n;
            int op = rand_r(&seed) % 3;
            char ch = (rand_r(&seed) % 4) ? alphabet[rand_r(&seed) % (sizeof alphabet - 1)] : (char)rand_r(&seed);
            if (op == 0) buf[pos] = ch;
            else if (op == 1 && n + 1 < sizeof buf) {
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = ch;
                n++;
            } else if (n > 1) {
                memmove(buf + pos, buf + pos + 1, n - pos - 1);
                n--;
            }
        }
        el_agent_config c;
        el_agent_config_init(&c);
        assert_int_equal(el_agent_config_set(&c, "thing", "orig"), EL_OK);
        el_status st = el_agent_config_load_yaml_mem(&c, buf, n, "fuzz.yaml");
        if (st != EL_OK) {
            assert_string_equal(c.thing, "orig");
            assert_null(c.model);
            assert_true(strlen(el_last_error()) > 0);
        }
        el_agent_config_free(&c);
    }
}

/* packaging/edgelens.yaml loads as shipped, and still loads with every
 * commented-out key ("#key: value") switched on, so the example never
 * documents a key the agent refuses. */
static void test_packaged_example(void **state)
{
    (void)state;
    const char *root = getenv("EL_SOURCE_DIR");
    if (!root) skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/packaging/edgelens.yaml", root);
    el_agent_config c;
    el_agent_config_init(&c);
    el_status st = el_agent_config_load_yaml(&c, path);
    if (st != EL_OK) fail_msg("%s", el_last_error());
    assert_non_null(c.model);
    assert_string_equal(c.source, "/dev/video0");
    assert_string_equal(c.mqtt.url, "mqtt://localhost:1883");
    assert_int_equal(el_agent_config_validate(&c), EL_OK);
    el_agent_config_free(&c);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *out = calloc(1, 1 << 16), line[512];
    assert_non_null(out);
    size_t n = 0;
    int enabled = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ') p++;
        /* "#key: value" with no space after '#' is a commented-out key. */
        if (p[0] == '#' && ((p[1] >= 'a' && p[1] <= 'z') || p[1] == '_') && strchr(p, ':')) {
            memmove(p, p + 1, strlen(p));
            enabled++;
        }
        n += (size_t)snprintf(out + n, (1 << 16) - n, "%s", line);
    }
    fclose(f);
    assert_true(enabled >= 10);
    el_agent_config_init(&c);
    st = el_agent_config_load_yaml_mem(&c, out, n, "edgelens.yaml (all keys)");
    if (st != EL_OK) fail_msg("%s", el_last_error());
    assert_non_null(c.labels);
    assert_non_null(c.http);
    assert_non_null(c.mqtt.key_file);
    el_agent_config_free(&c);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_mqtt_scalar_and_flow_forms),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_flags_over_config),
        cmocka_unit_test(test_set_types),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_aliases_refused),
        cmocka_unit_test(test_huge_documents),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_packaged_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
