/* edgelens run end to end: the real binary ($EL_BIN) as a child process,
 * a real mosquitto started here on a free loopback port, vtest.avi (people
 * walking) and the person/cat/dog graph. A libmosquitto subscriber in this
 * process records what the agent publishes.
 *
 * Under the ASan build the child is the ASan binary: every test checks that
 * it exited 0 after SIGTERM and that its stderr has no sanitizer report
 * (LeakSanitizer runs at its exit), broker restarts included. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <mosquitto.h>

#include "broker.h"
#include "edgelens/image.h"
#include "testutil.h"


static char el_model[1024], el_video[1024], el_photo[1024];
static el_test_broker el_broker;

static double el_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void el_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* ---- the agent as a child process -------------------------------------------- */

typedef struct el_child {
    pid_t pid;
    char dir[256];
    char out[320], err[320];
    int status;  /* waitpid status once exited */
    bool exited;
} el_child;

/* Spawns $EL_BIN run <args...> (NULL-terminated) with stdout and stderr in
 * files of a fresh temporary directory. */
static void el_spawn(el_child *c, const char *const *args)
{
    memset(c, 0, sizeof *c);
    assert_non_null(el_test_tmpdir(c->dir, sizeof c->dir));
    snprintf(c->out, sizeof c->out, "%s/stdout", c->dir);
    snprintf(c->err, sizeof c->err, "%s/stderr", c->dir);
    const char *argv[64];
    int n = 0;
    argv[n++] = getenv("EL_BIN");
    argv[n++] = "run";
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Never outlive a crashed test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int o = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0) _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    c->pid = pid;
}

static char *el_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool el_child_poll(el_child *c)
{
    if (c->exited) return true;
    if (waitpid(c->pid, &c->status, WNOHANG) == c->pid) c->exited = true;
    return c->exited;
}

/* Sends `sig` and waits up to timeout_s for the exit (then SIGKILL). */
static void el_child_stop(el_child *c, int sig, double timeout_s)
{
    if (!el_child_poll(c)) kill(c->pid, sig);
    double until = el_now() + timeout_s;
    while (!el_child_poll(c) && el_now() < until) el_sleep(0.02);
    if (!c->exited) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->exited = true;
        char *err = el_slurp(c->err);
        fail_msg("the agent did not exit within %.0f s of signal %d; stderr:\n%s", timeout_s, sig, err);
    }
}

/* The child stopped on its own terms: exit status 0 and no sanitizer
 * report (a leak makes LeakSanitizer print and exit 23). */
static void el_child_assert_clean(el_child *c)
{
    char *err = el_slurp(c->err);
    bool ok = WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0 && !strstr(err, "Sanitizer") &&
              !strstr(err, "runtime error:");
    if (!ok)
        fail_msg("agent exit: %s %d; stderr:\n%s", WIFEXITED(c->status) ? "status" : "signal",
                 WIFEXITED(c->status) ? WEXITSTATUS(c->status) : WTERMSIG(c->status), err);
    free(err);
}

static void el_child_dump(const el_child *c)
{
    char *err = el_slurp(c->err);
    fprintf(stderr, "---- agent stderr ----\n%s\n", err);
    free(err);
}

/* ---- the subscriber ------------------------------------------------------------ */

#define EL_SUB_MAX 20000

typedef struct el_msg {
    char *topic;
    char *payload;  /* NUL-terminated copy */
    bool retain;
    double t;
} el_msg;

typedef struct el_sub {
    struct mosquitto *m;
    pthread_mutex_t lock;
    el_msg msgs[EL_SUB_MAX];
    int n;
    char topics[4][256];
    int ntopics;
    int connects;
} el_sub;

static void el_sub_on_connect(struct mosquitto *m, void *ud, int rc)
{
    el_sub *s = ud;
    if (rc != 0) return;
    /* Subscribing again on every connect: the session is clean, and the
     * broker restart test needs the subscriber back. */
    for (int i = 0; i < s->ntopics; i++) mosquitto_subscribe(m, NULL, s->topics[i], 1);
    pthread_mutex_lock(&s->lock);
    s->connects++;
    pthread_mutex_unlock(&s->lock);
}

static void el_sub_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    el_sub *s = ud;
    pthread_mutex_lock(&s->lock);
    if (s->n < EL_SUB_MAX) {
        el_msg *e = &s->msgs[s->n];
        e->topic = strdup(msg->topic);
        e->payload = malloc((size_t)msg->payloadlen + 1);
        if (msg->payloadlen) memcpy(e->payload, msg->payload, (size_t)msg->payloadlen);
        e->payload[msg->payloadlen] = '\0';
        e->retain = msg->retain;
        e->t = el_now();
        s->n++;
    }
    pthread_mutex_unlock(&s->lock);
}

/* Subscribes to up to 4 topics; waits for the first connection. */
static el_sub *el_sub_open(const char *t1, const char *t2)
{
    el_sub *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    if (t1) snprintf(s->topics[s->ntopics++], sizeof s->topics[0], "%s", t1);
    if (t2) snprintf(s->topics[s->ntopics++], sizeof s->topics[0], "%s", t2);
    s->m = mosquitto_new(NULL, true, s);
    assert_non_null(s->m);
    mosquitto_connect_callback_set(s->m, el_sub_on_connect);
    mosquitto_message_callback_set(s->m, el_sub_on_message);
    mosquitto_reconnect_delay_set(s->m, 1, 1, false);
    assert_int_equal(mosquitto_connect(s->m, "127.0.0.1", el_broker.port, 10), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_loop_start(s->m), MOSQ_ERR_SUCCESS);
    double until = el_now() + 10;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int c = s->connects;
        pthread_mutex_unlock(&s->lock);
        if (c) break;
        if (el_now() > until) fail_msg("the subscriber did not connect");
        el_sleep(0.02);
    }
    el_sleep(0.2); /* let the SUBACK arrive */
    return s;
}

static void el_sub_close(el_sub *s)
{
    if (!s) return;
    mosquitto_disconnect(s->m);
    mosquitto_loop_stop(s->m, true);
    mosquitto_destroy(s->m);
    for (int i = 0; i < s->n; i++) {
        free(s->msgs[i].topic);
        free(s->msgs[i].payload);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int el_sub_count(el_sub *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}

typedef enum { EL_EXACT, EL_PREFIX, EL_JSON } el_match;

static bool el_msg_matches(const el_msg *m, const char *topic, el_match how, const char *text)
{
    if (topic && strcmp(m->topic, topic)) return false;
    switch (how) {
    case EL_EXACT: return !strcmp(m->payload, text);
    case EL_PREFIX: return !strncmp(m->payload, text, strlen(text));
    case EL_JSON: return m->payload[0] == '{' && (!text || strstr(m->payload, text));
    }
    return false;
}

/* Index of the first message at or after `from` that matches, waiting up to
 * timeout_s; -1 when none came (or the child died meanwhile). */
static int el_sub_wait(el_sub *s, int from, const char *topic, el_match how, const char *text, double timeout_s,
                       el_child *c)
{
    double until = el_now() + timeout_s;
    for (;;) {
        int n = el_sub_count(s);
        for (int i = from; i < n; i++)
            if (el_msg_matches(&s->msgs[i], topic, how, text)) return i;
        from = n;
        if (el_now() > until) return -1;
        if (c && el_child_poll(c)) {
            /* One last look: the child may have published just before exiting. */
            el_sleep(0.3);
            n = el_sub_count(s);
            for (int i = from; i < n; i++)
                if (el_msg_matches(&s->msgs[i], topic, how, text)) return i;
            return -1;
        }
        el_sleep(0.02);
    }
}

static int el_sub_expect(el_sub *s, int from, const char *topic, el_match how, const char *text, double timeout_s,
                         el_child *c)
{
    int i = el_sub_wait(s, from, topic, how, text, timeout_s, c);
    if (i < 0) {
        el_child_dump(c);
        el_test_broker_dump_log(&el_broker);
        int n = el_sub_count(s);
        fprintf(stderr, "---- %d messages received ----\n", n);
        for (int k = n > 20 ? n - 20 : 0; k < n; k++)
            fprintf(stderr, "%s: %.200s\n", s->msgs[k].topic, s->msgs[k].payload);
        fail_msg("no message on %s %s '%s' within %.0f s", topic ? topic : "any topic",
                 how == EL_EXACT ? "equal to" : how == EL_PREFIX ? "starting with" : "JSON containing",
                 text ? text : "", timeout_s);
    }
    return i;
}

static char *el_url(char *buf, size_t cap)
{
    snprintf(buf, cap, "mqtt://127.0.0.1:%d", el_broker.port);
    return buf;
}

/* Reads the retained status with a fresh subscriber. */
static cJSON *el_read_retained_status(const char *thing)
{
    char topic[256];
    snprintf(topic, sizeof topic, "edgelens/%s/status", thing);
    el_sub *s = el_sub_open(topic, NULL);
    int i = el_sub_wait(s, 0, topic, EL_JSON, NULL, 10, NULL);
    if (i < 0) fail_msg("no retained status on %s", topic);
    assert_true(s->msgs[i].retain);
    cJSON *j = cJSON_Parse(s->msgs[i].payload);
    assert_non_null(j);
    el_sub_close(s);
    return j;
}

/* ---- full format, persons, broker restart, SIGTERM -> offline ------------------- */

static void el_check_full(const char *payload, const char *thing, int *persons)
{
    cJSON *j = cJSON_Parse(payload);
    if (!j) fail_msg("not JSON: %s", payload);
    assert_string_equal(cJSON_GetObjectItem(j, "thing")->valuestring, thing);
    const char *ts = cJSON_GetObjectItem(j, "timestamp")->valuestring;
    assert_int_equal(strlen(ts), 24); /* 2026-11-26T14:03:39.123Z */
    assert_int_equal(ts[23], 'Z');
    assert_true(cJSON_GetObjectItem(j, "frame")->valuedouble >= 1);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "source")->valuestring, "vtest.avi"));
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "ssd_mobilenet_v1_aiy_person_cat_dog");
    assert_int_equal(cJSON_GetObjectItem(j, "width")->valueint, 768);
    assert_int_equal(cJSON_GetObjectItem(j, "height")->valueint, 576);
    assert_true(cJSON_GetObjectItem(j, "inference_ms")->valuedouble > 0);
    cJSON *dets = cJSON_GetObjectItem(j, "detections");
    assert_true(cJSON_IsArray(dets));
    double prev = 2;
    cJSON *d;
    cJSON_ArrayForEach(d, dets) {
        double score = cJSON_GetObjectItem(d, "score")->valuedouble;
        assert_true(score >= 0.5 && score <= 1 && score <= prev);
        prev = score;
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "box")), 4);
        const char *label = cJSON_GetObjectItem(d, "label")->valuestring;
        if (!strcmp(label, "person")) {
            (*persons)++;
            assert_int_equal(cJSON_GetObjectItem(d, "class_id")->valueint, 1);
        }
    }
    cJSON_Delete(j);
}

static void test_full_format_broker_restart_and_offline(void **state)
{
    (void)state;
    const char *thing = "t-full";
    char url[128];
    el_sub *s = el_sub_open("$aws/things/t-full/infer", "edgelens/t-full/status");
    const char *infer = "$aws/things/t-full/infer", *status = "edgelens/t-full/status";
    el_child c;
    const char *args[] = {"--model", el_model, "--source", el_video, "--thing", thing, "--mqtt",
                          el_url(url, sizeof url), "--retry-delay", "1", NULL};
    el_spawn(&c, args);

    int loaded = el_sub_expect(s, 0, infer, EL_EXACT, "Model loaded", 30, &c);
    int started = el_sub_expect(s, loaded + 1, infer, EL_EXACT, "Start inferencing", 10, &c);
    int online = el_sub_expect(s, 0, status, EL_JSON, "\"online\"", 10, &c);
    cJSON *st = cJSON_Parse(s->msgs[online].payload);
    assert_string_equal(cJSON_GetObjectItem(st, "thing")->valuestring, thing);
    assert_true(cJSON_GetObjectItem(st, "fps")->valuedouble > 9 && cJSON_GetObjectItem(st, "fps")->valuedouble < 11);
    assert_non_null(cJSON_GetObjectItem(st, "version")->valuestring);
    cJSON_Delete(st);

    /* Per-frame payloads, with people in them. */
    int persons = 0, payloads = 0, at = started + 1;
    while (payloads < 8 || !persons) {
        at = el_sub_expect(s, at, infer, EL_JSON, NULL, 20, &c);
        el_check_full(s->msgs[at].payload, thing, &persons);
        payloads++;
        at++;
        if (payloads > 200) fail_msg("no person in %d payloads", payloads);
    }

    /* Kill the broker mid-run, bring it back on the same port: the agent
     * reconnects by itself and the payloads resume. */
    el_test_broker_stop(&el_broker, SIGKILL);
    double down = el_now();
    el_sleep(2);
    assert_int_equal(el_child_poll(&c), false);
    assert_int_equal(el_test_broker_start(&el_broker, NULL), 0);
    int before = el_sub_count(s);
    int resumed = el_sub_expect(s, before, infer, EL_JSON, NULL, 30, &c);
    el_check_full(s->msgs[resumed].payload, thing, &persons);
    fprintf(stderr, "payloads resumed %.1f s after the broker was killed\n", s->msgs[resumed].t - down);
    /* Still the same run: no new "Model loaded" after the restart. */
    assert_int_equal(el_sub_wait(s, started + 1, infer, EL_EXACT, "Model loaded", 0, NULL), -1);
    el_sub_expect(s, resumed + 1, infer, EL_JSON, NULL, 20, &c);

    /* SIGTERM: clean exit, and the retained status says offline. */
    el_child_stop(&c, SIGTERM, 20);
    el_child_assert_clean(&c);
    el_sub_close(s);
    cJSON *j = el_read_retained_status(thing);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "offline");
    assert_string_equal(cJSON_GetObjectItem(j, "thing")->valuestring, thing);
    cJSON_Delete(j);
}

/* ---- seed format ------------------------------------------------------------------- */

/* The guide's payload, byte for byte: {} or {"label": 12.34, ...}. */
static void el_check_seed(const char *p, bool *person)
{
    size_t n = strlen(p);
    assert_true(n >= 2 && p[0] == '{' && p[n - 1] == '}');
    cJSON *j = cJSON_Parse(p);
    if (!j) fail_msg("not JSON: %s", p);
    cJSON *e;
    cJSON_ArrayForEach(e, j) {
        assert_true(cJSON_IsNumber(e));
        assert_true(e->valuedouble >= 50 && e->valuedouble <= 100);
        if (!strcmp(e->string, "person")) *person = true;
        /* Two decimals, always: 65.10, not 65.1. */
        char want[64];
        snprintf(want, sizeof want, "\"%s\": %.2f", e->string, e->valuedouble);
        if (!strstr(p, want)) fail_msg("'%s' lacks '%s'", p, want);
    }
    cJSON_Delete(j);
    if (n > 2) assert_non_null(strstr(p, "\": "));
}

static void test_seed_format(void **state)
{
    (void)state;
    const char *infer = "$aws/things/t-seed/infer";
    char url[128];
    el_sub *s = el_sub_open(infer, NULL);
    el_child c;
    const char *args[] = {"--model", el_model, "--source", el_video, "--thing", "t-seed", "--mqtt",
                          el_url(url, sizeof url), "--format", "seed", NULL};
    el_spawn(&c, args);
    int loaded = el_sub_expect(s, 0, infer, EL_EXACT, "Model loaded", 30, &c);
    int at = el_sub_expect(s, loaded + 1, infer, EL_EXACT, "Start inferencing", 10, &c) + 1;
    bool person = false;
    for (int k = 0; k < 8 || !person; k++) {
        at = el_sub_expect(s, at, infer, EL_PREFIX, "{", 20, &c);
        el_check_seed(s->msgs[at].payload, &person);
        at++;
        if (k > 200) fail_msg("no person in 200 seed payloads");
    }
    el_child_stop(&c, SIGTERM, 20);
    el_child_assert_clean(&c);
    el_sub_close(s);
}

/* ---- failures: Test failed, retry after the delay ---------------------------------- */

static void test_missing_source_retries(void **state)
{
    (void)state;
    const char *infer = "$aws/things/t-fail/infer", *status = "edgelens/t-fail/status";
    char url[128], missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-video.mp4", el_broker.dir);
    el_sub *s = el_sub_open(infer, status);
    el_child c;
    const char *args[] = {"--model", el_model, "--source", missing, "--thing", "t-fail", "--mqtt",
                          el_url(url, sizeof url), "--retry-delay", "1", NULL};
    el_spawn(&c, args);
    int a = el_sub_expect(s, 0, infer, EL_EXACT, "Model loaded", 30, &c);
    a = el_sub_expect(s, a + 1, infer, EL_EXACT, "Start inferencing", 10, &c);
    int f1 = el_sub_expect(s, a + 1, infer, EL_PREFIX, "Test failed: ", 10, &c);
    assert_non_null(strstr(s->msgs[f1].payload, "no-such-video.mp4"));
    /* The whole thing again: model, then the same failure. */
    int again = el_sub_expect(s, f1 + 1, infer, EL_EXACT, "Model loaded", 30, &c);
    int f2 = el_sub_expect(s, again + 1, infer, EL_PREFIX, "Test failed: ", 30, &c);
    double gap = s->msgs[f2].t - s->msgs[f1].t;
    double reload = s->msgs[again].t - s->msgs[f1].t;
    fprintf(stderr, "Test failed -> Model loaded %.2f s, -> Test failed %.2f s (retry delay 1 s)\n", reload, gap);
    /* The delay is honoured (not immediate) and not the default 15 s. */
    assert_true(gap >= 0.9);
    assert_true(reload >= 0.9 && reload < 10);
    /* The retained status carries the reason. */
    int e = el_sub_expect(s, 0, status, EL_JSON, "\"error\"", 10, &c);
    cJSON *j = cJSON_Parse(s->msgs[e].payload);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "reason")->valuestring, "no-such-video.mp4"));
    cJSON_Delete(j);
    /* SIGTERM during the retry delay stops at once. */
    double t0 = el_now();
    el_child_stop(&c, SIGTERM, 20);
    fprintf(stderr, "stopped %.2f s after SIGTERM\n", el_now() - t0);
    el_child_assert_clean(&c);
    el_sub_close(s);
}

/* A source that ends (an image, without --loop) fails too, as the guide's
 * "Failed to get frame from the stream". */
static void test_source_end_fails(void **state)
{
    (void)state;
    const char *infer = "$aws/things/t-end/infer";
    char url[128];
    el_sub *s = el_sub_open(infer, NULL);
    el_child c;
    const char *args[] = {"--model", el_model, "--source", el_photo, "--thing", "t-end", "--mqtt",
                          el_url(url, sizeof url), "--retry-delay", "30", NULL};
    el_spawn(&c, args);
    int p = el_sub_expect(s, 0, infer, EL_JSON, "\"dog\"", 30, &c);
    int f = el_sub_expect(s, p + 1, infer, EL_PREFIX, "Test failed: ", 10, &c);
    assert_non_null(strstr(s->msgs[f].payload, "ended"));
    double t0 = el_now();
    el_child_stop(&c, SIGTERM, 20);
    /* The 30 s retry delay is interrupted by the signal. */
    assert_true(el_now() - t0 < 10);
    el_child_assert_clean(&c);
    el_sub_close(s);
}

/* ---- SIGHUP reloads the config file ------------------------------------------------- */

static void test_sighup_reload(void **state)
{
    (void)state;
    const char *infer = "$aws/things/t-hup/infer";
    char url[128], dir[256], cfg[320], yaml[4096];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(cfg, sizeof cfg, "%s/edgelens.yaml", dir);
    snprintf(yaml, sizeof yaml, "model: %s\nsource: %s\nloop: true\nthing: t-hup\nformat: full\nmqtt:\n  url: %s\n",
             el_model, el_photo, el_url(url, sizeof url));
    assert_int_equal(el_test_write_file(cfg, yaml, strlen(yaml)), 0);
    el_sub *s = el_sub_open(infer, NULL);
    el_child c;
    /* --threshold on the command line wins over the file, also after a reload. */
    const char *args[] = {"--config", cfg, "--threshold", "0.6", NULL};
    el_spawn(&c, args);
    int p = el_sub_expect(s, 0, infer, EL_JSON, "\"detections\"", 30, &c);
    /* dog.jpg: a dog at 0.75 and a person near 0.4; with 0.6 only the dog. */
    assert_null(strstr(s->msgs[p].payload, "\"label\":\"person\""));
    assert_non_null(strstr(s->msgs[p].payload, "\"label\":\"dog\""));

    snprintf(yaml, sizeof yaml,
             "model: %s\nsource: %s\nloop: true\nthing: t-hup\nformat: seed\nthreshold: 0.1\nmqtt: %s\n", el_model,
             el_photo, url);
    assert_int_equal(el_test_write_file(cfg, yaml, strlen(yaml)), 0);
    int before = el_sub_count(s);
    kill(c.pid, SIGHUP);
    int l = el_sub_expect(s, before, infer, EL_EXACT, "Model loaded", 30, &c);
    int q = el_sub_expect(s, l + 1, infer, EL_PREFIX, "{\"", 30, &c);
    /* Seed format from the file; the flag's 0.6 still beats its 0.1. */
    bool person = false;
    el_check_seed(s->msgs[q].payload, &person);
    assert_false(person);
    assert_non_null(strstr(s->msgs[q].payload, "\"dog\": 7"));

    /* A broken file is refused and the agent keeps going with the old one. */
    assert_int_equal(el_test_write_file(cfg, "modle: x\n", 9), 0);
    before = el_sub_count(s);
    kill(c.pid, SIGHUP);
    el_sub_expect(s, before, infer, EL_PREFIX, "{\"dog\"", 20, &c);
    el_child_stop(&c, SIGTERM, 20);
    el_child_assert_clean(&c);
    char *err = el_slurp(c.err);
    assert_non_null(strstr(err, "reload failed"));
    assert_non_null(strstr(err, "unknown key 'modle'"));
    free(err);
    el_sub_close(s);
}

/* ---- without MQTT: JSON Lines on stdout ---------------------------------------------- */

static void test_stdout_json_lines(void **state)
{
    (void)state;
    el_child c;
    const char *args[] = {"--model", el_model, "--source", el_video, "--thing", "t-stdout", NULL};
    el_spawn(&c, args);
    double until = el_now() + 40;
    int lines = 0;
    char *out = NULL;
    while (el_now() < until && !el_child_poll(&c)) {
        free(out);
        out = el_slurp(c.out);
        lines = 0;
        for (char *p = out; (p = strchr(p, '\n')); p++) lines++;
        if (lines >= 5) break;
        el_sleep(0.1);
    }
    el_child_stop(&c, SIGTERM, 20);
    el_child_assert_clean(&c);
    free(out);
    out = el_slurp(c.out);
    if (lines < 5) fail_msg("only %d lines on stdout: %s", lines, out);
    int persons = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        el_check_full(line, "t-stdout", &persons);
    assert_true(persons > 0);
    free(out);
    /* The guide's messages went to stderr as log lines, not to stdout. */
    char *err = el_slurp(c.err);
    assert_non_null(strstr(err, "Model loaded"));
    assert_non_null(strstr(err, "Start inferencing"));
    free(err);
}

/* `edgelens run ... | head -n 3`: once the reader is gone, the agent stops
 * cleanly (exit 0) instead of running on or dying of SIGPIPE. */
static void test_stdout_reader_gone(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    el_child c;
    memset(&c, 0, sizeof c);
    assert_non_null(el_test_tmpdir(c.dir, sizeof c.dir));
    snprintf(c.err, sizeof c.err, "%s/stderr", c.dir);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int e = open(c.err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e < 0) _exit(127);
        dup2(fds[1], 1);
        dup2(e, 2);
        close(fds[0]);
        close(fds[1]);
        execl(getenv("EL_BIN"), "edgelens", "run", "--model", el_model, "--source", el_video, (char *)NULL);
        _exit(127);
    }
    c.pid = pid;
    close(fds[1]);
    FILE *r = fdopen(fds[0], "r");
    assert_non_null(r);
    char line[8192];
    for (int i = 0; i < 3; i++) {
        if (!fgets(line, sizeof line, r)) {
            el_child_dump(&c);
            fail_msg("stdout ended after %d lines", i);
        }
        assert_non_null(strstr(line, "\"detections\""));
    }
    fclose(r);
    double t0 = el_now();
    el_child_stop(&c, 0, 20);
    fprintf(stderr, "exited %.2f s after its reader went away\n", el_now() - t0);
    el_child_assert_clean(&c);
    char *err = el_slurp(c.err);
    assert_non_null(strstr(err, "results output was closed"));
    free(err);
}

/* Without --model, the default model of `edgelens detect` ($EDGELENS_MODEL
 * first); the image source ends without --loop, so "Test failed" follows. */
static void test_default_model(void **state)
{
    (void)state;
    el_child c;
    setenv("EDGELENS_MODEL", el_model, 1);
    const char *args[] = {"--source", el_photo, "--thing", "t-default", "--retry-delay", "30", NULL};
    el_spawn(&c, args);
    unsetenv("EDGELENS_MODEL");
    double until = el_now() + 30;
    char *err = NULL;
    while (el_now() < until && !el_child_poll(&c)) {
        free(err);
        err = el_slurp(c.err);
        if (strstr(err, "Test failed")) break;
        el_sleep(0.1);
    }
    el_child_stop(&c, SIGTERM, 20);
    el_child_assert_clean(&c);
    free(err);
    err = el_slurp(c.err);
    assert_non_null(strstr(err, "Model loaded"));
    assert_non_null(strstr(err, "Test failed: the source"));
    free(err);
    char *out = el_slurp(c.out);
    cJSON *j = cJSON_Parse(out);
    if (!j) fail_msg("stdout: %s", out);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "ssd_mobilenet_v1_aiy_person_cat_dog");
    assert_non_null(strstr(out, "\"label\":\"dog\""));
    cJSON_Delete(j);
    free(out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    el_child c;
    const char *a1[] = {"--model", el_model, NULL};
    el_spawn(&c, a1);
    el_child_stop(&c, 0, 20);
    assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 2);
    char *err = el_slurp(c.err);
    assert_non_null(strstr(err, "source"));
    free(err);
    const char *a2[] = {"--model", el_model, "--source", el_video, "--threshold", "2", NULL};
    el_spawn(&c, a2);
    el_child_stop(&c, 0, 20);
    assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 2);
    err = el_slurp(c.err);
    assert_non_null(strstr(err, "threshold"));
    free(err);
    const char *a3[] = {"--model", el_model, "--source", el_video, "--config", "/nonexistent.yaml", NULL};
    el_spawn(&c, a3);
    el_child_stop(&c, 0, 20);
    assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 2);
    err = el_slurp(c.err);
    assert_non_null(strstr(err, "/nonexistent.yaml"));
    free(err);
    /* A live-view address that cannot work stops the start (exit 1). */
    const char *a4[] = {"--model", el_model, "--source", el_video, "--http", "127.0.0.1:notaport", NULL};
    el_spawn(&c, a4);
    el_child_stop(&c, 0, 20);
    err = el_slurp(c.err);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 1) fail_msg("exit %d: %s", c.status, err);
    assert_non_null(strstr(err, "notaport"));
    free(err);
}

/* ---- HTTP: /healthz, /latest.json, /metrics, /stream.mjpg --------------------------- */

typedef struct el_buf {
    char *p;
    size_t n, limit;
} el_buf;

static size_t el_curl_write(char *data, size_t size, size_t nmemb, void *ud)
{
    el_buf *b = ud;
    size_t len = size * nmemb;
    b->p = realloc(b->p, b->n + len + 1);
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    /* Returning less than len ends an endless MJPEG stream once we have enough. */
    return b->limit && b->n >= b->limit ? 0 : len;
}

static long el_http_get(int port, const char *path, el_buf *b, size_t limit)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(b, 0, sizeof *b);
    b->limit = limit;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, el_curl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    if (!b->p) b->p = strdup("");
    return code;
}

static void test_http_view(void **state)
{
    (void)state;
    int port = el_test_free_port();
    assert_true(port > 0);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
    el_child c;
    const char *args[] = {"--model", el_model, "--source", el_video, "--thing", "t-http", "--http", hp, NULL};
    el_spawn(&c, args);
    el_buf b;
    /* Healthy once inferencing. */
    double until = el_now() + 40;
    long code = 0;
    while (el_now() < until && !el_child_poll(&c)) {
        code = el_http_get(port, "/healthz", &b, 0);
        free(b.p);
        if (code == 200) break;
        el_sleep(0.2);
    }
    if (code != 200) {
        el_child_dump(&c);
        fail_msg("/healthz never answered 200 (last %ld)", code);
    }
    /* /latest.json: the newest full document. */
    cJSON *j = NULL;
    until = el_now() + 20;
    while (!j && el_now() < until) {
        code = el_http_get(port, "/latest.json", &b, 0);
        if (code == 200) j = cJSON_Parse(b.p);
        free(b.p);
        /* "{}" until the first frame went through. */
        if (j && !cJSON_GetObjectItem(j, "thing")) {
            cJSON_Delete(j);
            j = NULL;
        }
        if (!j) el_sleep(0.2);
    }
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "thing")->valuestring, "t-http");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "detections")));
    cJSON_Delete(j);
    /* /metrics: Prometheus text with the agent's counters. */
    el_sleep(1);
    assert_int_equal(el_http_get(port, "/metrics", &b, 0), 200);
    static const char *needles[] = {"edgelens_frames_captured_total ", "edgelens_frames_processed_total ",
                                    "edgelens_frames_dropped_total ", "edgelens_inference_seconds_bucket{le=\"0.005\"}",
                                    "edgelens_inference_seconds_bucket{le=\"+Inf\"}", "edgelens_inference_seconds_count ",
                                    "edgelens_mqtt_connected 0", "edgelens_mqtt_messages_published_total 0",
                                    "# TYPE edgelens_inference_seconds histogram"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (!strstr(b.p, needles[i])) fail_msg("/metrics lacks '%s':\n%s", needles[i], b.p);
    const char *pr = strstr(b.p, "\nedgelens_frames_processed_total ");
    assert_non_null(pr);
    assert_true(atoi(pr + strlen("\nedgelens_frames_processed_total ")) >= 1);
    free(b.p);
    /* /stream.mjpg: annotated frames as decodable JPEGs of the video's size. */
    code = el_http_get(port, "/stream.mjpg", &b, 400000);
    assert_int_equal(code, 200);
    char *soi = NULL;
    for (size_t i = 0; i + 1 < b.n; i++)
        if ((unsigned char)b.p[i] == 0xFF && (unsigned char)b.p[i + 1] == 0xD8) {
            soi = b.p + i;
            break;
        }
    assert_non_null(soi);
    char *eoi = NULL;
    for (char *q = soi + 2; q + 1 < b.p + b.n; q++)
        if ((unsigned char)q[0] == 0xFF && (unsigned char)q[1] == 0xD9) {
            eoi = q + 2;
            break;
        }
    assert_non_null(eoi);
    el_image img = {0};
    assert_int_equal(el_image_decode(soi, (size_t)(eoi - soi), "stream.mjpg", &img), EL_OK);
    assert_int_equal(img.width, 768);
    assert_int_equal(img.height, 576);
    el_image_free(&img);
    free(b.p);
    el_child_stop(&c, SIGTERM, 20);
    el_child_assert_clean(&c);
}

int main(void)
{
    const char *bin = getenv("EL_BIN");
    if (!bin || access(bin, X_OK) != 0) EL_TEST_SKIP_ALL("EL_BIN (the edgelens binary) is not set");
    if (!el_test_broker_bin()) EL_TEST_SKIP_ALL("mosquitto is not installed");
    if (!el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog", el_model, sizeof el_model))
        EL_TEST_SKIP_ALL("../shared/models/ssd_mobilenet_v1_aiy_person_cat_dog is absent");
    if (!el_test_data("opencv/vtest.avi", el_video, sizeof el_video))
        EL_TEST_SKIP_ALL("vtest.avi is absent (bash scripts/setup fetches it)");
    if (!el_test_data("darknet/dog.jpg", el_photo, sizeof el_photo))
        EL_TEST_SKIP_ALL("dog.jpg is absent (bash scripts/setup fetches it)");
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (el_test_broker_start(&el_broker, NULL) != 0) {
        fprintf(stderr, "cannot start mosquitto\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_stdout_json_lines),
        cmocka_unit_test(test_default_model),
        cmocka_unit_test(test_stdout_reader_gone),
        cmocka_unit_test(test_full_format_broker_restart_and_offline),
        cmocka_unit_test(test_seed_format),
        cmocka_unit_test(test_missing_source_retries),
        cmocka_unit_test(test_source_end_fails),
        cmocka_unit_test(test_sighup_reload),
        cmocka_unit_test(test_http_view),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    el_test_broker_cleanup(&el_broker);
    curl_global_cleanup();
    mosquitto_lib_cleanup();
    return rc;
}
