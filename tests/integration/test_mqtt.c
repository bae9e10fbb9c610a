/* el_mqtt against a real mosquitto broker that this test starts on a free
 * 127.0.0.1 port, observed by a second libmosquitto client. Skipped (77)
 * when mosquitto is not installed. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "broker.h"
#include "sinks/mqtt.h"

static el_test_broker g_broker;

/* ---- timing ---------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Polls `cond` every 10 ms for at most `ms`; evaluates to its last value. */
#define WAIT_UNTIL(cond, ms)                                                                                         \
    ({                                                                                                               \
        long long until_ = now_ms() + (ms);                                                                          \
        while (!(cond) && now_ms() < until_) sleep_ms(10);                                                           \
        (cond);                                                                                                      \
    })

static int run_cmd(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static char *url_for(int port, char *buf, size_t cap)
{
    snprintf(buf, cap, "mqtt://127.0.0.1:%d", port);
    return buf;
}

static bool mqtt_connected(el_mqtt *m)
{
    el_mqtt_stats s;
    el_mqtt_get_stats(m, &s);
    return s.connected;
}

static el_mqtt *open_client(const char *url, const char *id, size_t queue_max, int qos)
{
    el_mqtt_opts o = {.url = url, .client_id = id, .qos = qos, .queue_max = queue_max, .reconnect_min_s = 1,
                      .reconnect_max_s = 2};
    el_mqtt *m = NULL;
    el_status st = el_mqtt_open(&o, &m);
    if (st != EL_OK) fail_msg("el_mqtt_open(%s): %s", url, el_last_error());
    return m;
}

/* ---- the observing subscriber ------------------------------------------------ */

#define SUB_MAX 4096
typedef struct sub_msg {
    char topic[128];
    char payload[256];
    bool retain;
} sub_msg;

typedef struct subscriber {
    struct mosquitto *mosq;
    pthread_mutex_t mu;
    const char *topic;
    int qos;
    int suback;       /* SUBACKs seen (one per (re)connection) */
    int n;
    sub_msg msgs[SUB_MAX];
} subscriber;

static void sub_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    subscriber *s = obj;
    if (rc == 0) mosquitto_subscribe(mosq, NULL, s->topic, s->qos);
}

static void sub_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
    (void)mosq, (void)mid, (void)n, (void)granted;
    subscriber *s = obj;
    pthread_mutex_lock(&s->mu);
    s->suback++;
    pthread_mutex_unlock(&s->mu);
}

static void sub_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    subscriber *s = obj;
    pthread_mutex_lock(&s->mu);
    if (s->n < SUB_MAX) {
        sub_msg *m = &s->msgs[s->n++];
        snprintf(m->topic, sizeof m->topic, "%s", msg->topic);
        int len = msg->payloadlen < (int)sizeof m->payload - 1 ? msg->payloadlen : (int)sizeof m->payload - 1;
        if (len > 0) memcpy(m->payload, msg->payload, (size_t)len);
        m->payload[len] = '\0';
        m->retain = msg->retain;
    }
    pthread_mutex_unlock(&s->mu);
}

static int sub_count(subscriber *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int sub_subacks(subscriber *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->suback;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* A subscriber on `topic`; `persistent` keeps its session (and its queued
 * QoS 1 messages) across a broker restart. Returns once subscribed. */
static subscriber *sub_start_auth(int port, const char *topic, int qos, const char *persistent_id, const char *user,
                                  const char *pass)
{
    subscriber *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    s->topic = topic;
    s->qos = qos;
    s->mosq = mosquitto_new(persistent_id, persistent_id == NULL, s);
    assert_non_null(s->mosq);
    mosquitto_connect_callback_set(s->mosq, sub_on_connect);
    mosquitto_subscribe_callback_set(s->mosq, sub_on_subscribe);
    mosquitto_message_callback_set(s->mosq, sub_on_message);
    mosquitto_reconnect_delay_set(s->mosq, 1, 1, false);
    if (user) assert_int_equal(mosquitto_username_pw_set(s->mosq, user, pass), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_connect(s->mosq, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_loop_start(s->mosq), MOSQ_ERR_SUCCESS);
    assert_true(WAIT_UNTIL(sub_subacks(s) >= 1, 5000));
    return s;
}

static subscriber *sub_start(int port, const char *topic, int qos, const char *persistent_id)
{
    return sub_start_auth(port, topic, qos, persistent_id, NULL, NULL);
}

static void sub_stop(subscriber *s)
{
    if (!s) return;
    mosquitto_disconnect(s->mosq);
    mosquitto_loop_stop(s->mosq, false);
    mosquitto_destroy(s->mosq);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static sub_msg sub_get(subscriber *s, int i)
{
    pthread_mutex_lock(&s->mu);
    sub_msg m = s->msgs[i];
    pthread_mutex_unlock(&s->mu);
    return m;
}

/* ---- fixtures ---------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    memset(&g_broker, 0, sizeof g_broker);
    return el_test_broker_start(&g_broker, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    el_test_broker_cleanup(&g_broker);
    return 0;
}

/* A test that stopped the broker and failed before restarting it must not
 * leave the next tests without one. */
static int ensure_broker(void **state)
{
    (void)state;
    return g_broker.pid ? 0 : el_test_broker_start(&g_broker, NULL);
}

/* ---- options and URLs (no broker needed) ----------------------------------- */

static void expect_open_fails(const el_mqtt_opts *o, el_status want, const char *needle)
{
    el_mqtt *m = (el_mqtt *)1;
    el_status st = el_mqtt_open(o, &m);
    if (st != want) fail_msg("url %s: got %s (%s), want %s", o->url ? o->url : "(null)", el_status_str(st),
                             el_last_error(), el_status_str(want));
    assert_null(m);
    if (needle && !strstr(el_last_error(), needle))
        fail_msg("url %s: message '%s' lacks '%s'", o->url ? o->url : "(null)", el_last_error(), needle);
}

static void test_malformed_urls(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "127.0.0.1:1883",
        "tcp://127.0.0.1:1883",
        "http://host",
        "mqtt://",
        "mqtt:///",
        "mqtt://:1883",
        "mqtt://host:",
        "mqtt://host:0",
        "mqtt://host:65536",
        "mqtt://host:12a",
        "mqtt://host:123456",
        "mqtt://host:-1",
        "mqtt://host/path",
        "mqtt://host?x=1",
        "mqtt://ho st",
        "mqtt://host\n",
        "mqtt://ho$t",
        "mqtt://::1",
        "mqtt://::1:1883",
        "mqtt://[::1",
        "mqtt://[::1]x",
        "mqtt://[not-v6]:1883",
        "mqtt://[]:1883",
        "mqtt://@host",
        "mqtt://:pw@host",
        "mqtt://user:p%zzw@host",
        "mqtt://user:p%4@host",
        "mqtt://us%00er@host",
        "MQTT://host",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        el_mqtt_opts o = {.url = bad[i]};
        expect_open_fails(&o, EL_ERR_INVALID_ARG, bad[i][0] ? "MQTT URL" : "no MQTT broker URL");
    }
    el_mqtt_opts none = {0};
    expect_open_fails(&none, EL_ERR_INVALID_ARG, "no MQTT broker URL");
    /* The password never shows in a message. */
    el_mqtt_opts pw = {.url = "mqtt://user:s3cret@host:99999"};
    expect_open_fails(&pw, EL_ERR_INVALID_ARG, "user:***@host");
    assert_null(strstr(el_last_error(), "s3cret"));
    assert_int_equal(el_mqtt_open(NULL, NULL), EL_ERR_INVALID_ARG);
}

static void test_bad_options(void **state)
{
    (void)state;
    el_mqtt_opts o = {.url = "mqtt://127.0.0.1:1", .qos = 3};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "QoS 3");
    o.qos = -1;
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "QoS -1");
    o = (el_mqtt_opts){.url = "mqtt://127.0.0.1:1", .keepalive_s = 2};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "keepalive");
    o = (el_mqtt_opts){.url = "mqtt://127.0.0.1:1", .reconnect_min_s = 10, .reconnect_max_s = 5};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "reconnect");
    o = (el_mqtt_opts){.url = "mqtt://127.0.0.1:1", .password = "x"};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "password needs a user");
    o = (el_mqtt_opts){.url = "mqtt://127.0.0.1:1", .ca_file = "/etc/hostname"};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "mqtts://");
    o = (el_mqtt_opts){.url = "mqtt://127.0.0.1:1", .will_topic = "a/#"};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "will topic");
}

static void test_tls_file_errors(void **state)
{
    (void)state;
    el_mqtt_opts o = {.url = "mqtts://127.0.0.1:1", .ca_file = "/nonexistent/el-ca.pem"};
    expect_open_fails(&o, EL_ERR_NOT_FOUND, "CA file '/nonexistent/el-ca.pem'");
    char dir[64], junk[128];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(junk, sizeof junk, "%s/junk.pem", dir);
    assert_int_equal(el_test_write_file(junk, "not a certificate\n", 18), 0);
    o.ca_file = junk;
    expect_open_fails(&o, EL_ERR_FORMAT, "holds no PEM certificate");
    o = (el_mqtt_opts){.url = "mqtts://127.0.0.1:1", .cert_file = junk};
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "key_file missing");
    o = (el_mqtt_opts){.url = "mqtts://127.0.0.1:1", .cert_file = "/nonexistent/c.pem", .key_file = junk};
    expect_open_fails(&o, EL_ERR_NOT_FOUND, "client certificate");
    unlink(junk);
    rmdir(dir);
}

static void test_good_urls_open_without_broker(void **state)
{
    (void)state;
    /* Port 1 on loopback refuses: open still succeeds (it never waits for
     * the broker) and close returns promptly. */
    static const char *good[] = {
        "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:1/", "mqtt://localhost:1", "mqtt://[::1]:1",
        "mqtt://user@127.0.0.1:1", "mqtt://user:p%40ss%3Aw@127.0.0.1:1", "mqtt://u:@127.0.0.1:1",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        el_mqtt_opts o = {.url = good[i]};
        el_mqtt *m = NULL;
        if (el_mqtt_open(&o, &m) != EL_OK) fail_msg("%s: %s", good[i], el_last_error());
        long long t0 = now_ms();
        el_mqtt_close(m, 0);
        assert_true(now_ms() - t0 < 3000);
    }
    el_mqtt_close(NULL, 0);
}

/* ---- against the broker -------------------------------------------------------- */

static void test_publish_qos0_qos1(void **state)
{
    (void)state;
    char url[64];
    subscriber *s = sub_start(g_broker.port, "el/t1/#", 1, NULL);
    el_mqtt *m = open_client(url_for(g_broker.port, url, sizeof url), "el-t1", 0, 0);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    for (int i = 0; i < 6; i++) {
        char p[32];
        int n = snprintf(p, sizeof p, "msg %d", i);
        /* -1: the default QoS (0); then explicit QoS 1. */
        assert_int_equal(el_mqtt_publish(m, i < 3 ? "el/t1/q0" : "el/t1/q1", p, (size_t)n, i < 3 ? -1 : 1, false),
                         EL_OK);
    }
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 6, 5000));
    for (int i = 0; i < 6; i++) {
        char want[32];
        snprintf(want, sizeof want, "msg %d", i);
        sub_msg got = sub_get(s, i);
        assert_string_equal(got.payload, want);
        assert_string_equal(got.topic, i < 3 ? "el/t1/q0" : "el/t1/q1");
        assert_false(got.retain);
    }
    el_mqtt_stats st;
    el_mqtt_get_stats(m, &st);
    assert_true(st.connected);
    assert_int_equal(st.published, 6);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.reconnects, 0);
    /* Bad publishes are refused up front, not queued. */
    assert_int_equal(el_mqtt_publish(m, "el/+/x", "x", 1, 0, false), EL_ERR_INVALID_ARG);
    assert_int_equal(el_mqtt_publish(m, "", "x", 1, 0, false), EL_ERR_INVALID_ARG);
    assert_int_equal(el_mqtt_publish(m, "el/t1/x", "x", 1, 3, false), EL_ERR_INVALID_ARG);
    assert_int_equal(el_mqtt_publish(m, "el/t1/x", NULL, 1, 0, false), EL_ERR_INVALID_ARG);
    /* An empty payload is a valid message. */
    assert_int_equal(el_mqtt_publish(m, "el/t1/empty", NULL, 0, 1, false), EL_OK);
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 7, 5000));
    assert_string_equal(sub_get(s, 6).payload, "");
    el_mqtt_close(m, 1000);
    sub_stop(s);
}

typedef struct pub_thread_arg {
    el_mqtt *m;
    int id;
} pub_thread_arg;

static void *pub_thread(void *arg)
{
    pub_thread_arg *a = arg;
    for (int i = 0; i < 100; i++) {
        char p[32];
        int n = snprintf(p, sizeof p, "%d %d", a->id, i);
        if (el_mqtt_publish(a->m, "el/t2/x", p, (size_t)n, -1, false) != EL_OK) return (void *)1;
    }
    return NULL;
}

static void test_publish_from_threads(void **state)
{
    (void)state;
    char url[64];
    subscriber *s = sub_start(g_broker.port, "el/t2/#", 1, NULL);
    el_mqtt *m = open_client(url_for(g_broker.port, url, sizeof url), "el-t2", 10000, 1);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    pthread_t th[4];
    pub_thread_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (pub_thread_arg){m, t};
        assert_int_equal(pthread_create(&th[t], NULL, pub_thread, &args[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        void *r;
        pthread_join(th[t], &r);
        assert_null(r);
    }
    assert_int_equal(el_mqtt_flush(m, 10000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 400, 10000));
    /* Each thread's messages arrive in the order it published them. */
    int next[4] = {0};
    for (int i = 0; i < 400; i++) {
        int t, k;
        sub_msg got = sub_get(s, i);
        assert_int_equal(sscanf(got.payload, "%d %d", &t, &k), 2);
        assert_true(t >= 0 && t < 4);
        assert_int_equal(k, next[t]);
        next[t]++;
    }
    el_mqtt_stats st;
    el_mqtt_get_stats(m, &st);
    assert_int_equal(st.published, 400);
    assert_int_equal(st.dropped, 0);
    el_mqtt_close(m, 1000);
    sub_stop(s);
}

static void test_broker_restart_queue_and_drops(void **state)
{
    (void)state;
    char url[64];
    /* A persistent QoS 1 session: the broker keeps what arrives for it
     * after the restart even before the subscriber itself is back. */
    subscriber *s = sub_start(g_broker.port, "el/t3/#", 1, "el-t3-sub");
    el_mqtt *m = open_client(url_for(g_broker.port, url, sizeof url), "el-t3", 5, 1);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    assert_int_equal(el_mqtt_publish(m, "el/t3/x", "m0", 2, -1, false), EL_OK);
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 1, 5000));

    el_test_broker_stop(&g_broker, SIGTERM);
    assert_true(WAIT_UNTIL(!mqtt_connected(m), 5000));
    /* The agent keeps going: publishing never blocks and never fails. */
    long long t0 = now_ms();
    for (int i = 1; i <= 8; i++) {
        char p[16];
        int n = snprintf(p, sizeof p, "m%d", i);
        assert_int_equal(el_mqtt_publish(m, "el/t3/x", p, (size_t)n, -1, false), EL_OK);
    }
    assert_true(now_ms() - t0 < 1000);
    el_mqtt_stats st;
    el_mqtt_get_stats(m, &st);
    assert_false(st.connected);
    assert_int_equal(st.queued, 5);  /* m4..m8 */
    assert_int_equal(st.dropped, 3); /* m1..m3, the oldest */
    /* Flush cannot finish while the broker is away. */
    t0 = now_ms();
    assert_int_equal(el_mqtt_flush(m, 300), EL_ERR_TIMEOUT);
    assert_true(now_ms() - t0 >= 290);
    assert_non_null(strstr(el_last_error(), "5 messages still queued"));

    assert_int_equal(el_test_broker_start(&g_broker, NULL), 0);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 10000));
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 6, 10000));
    static const char *want[] = {"m0", "m4", "m5", "m6", "m7", "m8"};
    for (int i = 0; i < 6; i++) assert_string_equal(sub_get(s, i).payload, want[i]);
    el_mqtt_get_stats(m, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.published, 6);
    assert_int_equal(st.reconnects, 1);
    el_mqtt_close(m, 1000);
    sub_stop(s);
}

static void test_queue_without_broker(void **state)
{
    (void)state;
    char url[64];
    int port = el_test_free_port();
    assert_true(port > 0);
    el_mqtt *m = open_client(url_for(port, url, sizeof url), "el-t4", 3, 1);
    for (int i = 0; i < 10; i++) assert_int_equal(el_mqtt_publish(m, "el/t4", "x", 1, -1, false), EL_OK);
    el_mqtt_stats st;
    el_mqtt_get_stats(m, &st);
    assert_false(st.connected);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.dropped, 7);
    assert_int_equal(st.published, 0);
    assert_int_equal(el_mqtt_flush(m, 100), EL_ERR_TIMEOUT);
    /* Close waits for the flush time, then gives up on the queue. */
    long long t0 = now_ms();
    el_mqtt_close(m, 200);
    long long dt = now_ms() - t0;
    assert_true(dt >= 190 && dt < 3000);
}

#define STATUS_TOPIC "edgelens/el-t5/status"

static void test_retained_status_and_last_will(void **state)
{
    (void)state;
    char url[64];
    url_for(g_broker.port, url, sizeof url);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The agent: will "offline" (retained), announces "online"
         * (retained), then is killed without a chance to say goodbye. */
        close(pipefd[0]);
        el_mqtt_opts o = {.url = url, .client_id = "el-t5", .qos = 1, .will_topic = STATUS_TOPIC,
                          .will_payload = "{\"state\":\"offline\"}", .will_retain = true};
        el_mqtt *m = NULL;
        if (el_mqtt_open(&o, &m) != EL_OK) _exit(1);
        if (el_mqtt_publish(m, STATUS_TOPIC, "{\"state\":\"online\"}", 18, 1, true) != EL_OK) _exit(2);
        if (el_mqtt_flush(m, 5000) != EL_OK) _exit(3);
        if (write(pipefd[1], "k", 1) != 1) _exit(4);
        for (;;) pause();
    }
    close(pipefd[1]);
    char c = 0;
    ssize_t r = read(pipefd[0], &c, 1);
    close(pipefd[0]);
    if (r != 1) {
        int status;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("agent child failed (exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    /* A late subscriber sees the retained "online". */
    subscriber *s = sub_start(g_broker.port, STATUS_TOPIC, 1, NULL);
    assert_true(WAIT_UNTIL(sub_count(s) >= 1, 5000));
    sub_msg got = sub_get(s, 0);
    assert_string_equal(got.payload, "{\"state\":\"online\"}");
    assert_true(got.retain);

    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    /* The broker notices the dead connection and publishes the will. */
    assert_true(WAIT_UNTIL(sub_count(s) >= 2, 10000));
    got = sub_get(s, 1);
    assert_string_equal(got.payload, "{\"state\":\"offline\"}");
    sub_stop(s);
    /* ... and keeps it as the retained status. */
    s = sub_start(g_broker.port, STATUS_TOPIC, 1, NULL);
    assert_true(WAIT_UNTIL(sub_count(s) >= 1, 5000));
    got = sub_get(s, 0);
    assert_string_equal(got.payload, "{\"state\":\"offline\"}");
    assert_true(got.retain);
    sub_stop(s);
}

static void test_close_sends_no_will(void **state)
{
    (void)state;
    char url[64];
    subscriber *s = sub_start(g_broker.port, "el/t6/#", 1, NULL);
    el_mqtt_opts o = {.url = url_for(g_broker.port, url, sizeof url), .client_id = "el-t6", .qos = 1,
                      .will_topic = "el/t6/status", .will_payload = "offline", .will_retain = false};
    el_mqtt *m = NULL;
    assert_int_equal(el_mqtt_open(&o, &m), EL_OK);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    assert_int_equal(el_mqtt_publish(m, "el/t6/status", "online", 6, -1, false), EL_OK);
    el_mqtt_close(m, 2000);
    /* A marker published after the close comes after anything the close
     * could have caused; then a short grace for stragglers. */
    assert_int_equal(mosquitto_publish(s->mosq, NULL, "el/t6/marker", 6, "marker", 1, false), MOSQ_ERR_SUCCESS);
    assert_true(WAIT_UNTIL(sub_count(s) >= 2, 5000));
    sleep_ms(300);
    assert_int_equal(sub_count(s), 2);
    assert_string_equal(sub_get(s, 0).payload, "online");
    assert_string_equal(sub_get(s, 1).payload, "marker");
    sub_stop(s);
}

/* ---- a TCP relay whose connections the test can cut: a network blip that
 * the broker survives (so it publishes the will) and the client survives
 * (so it reconnects) ---------------------------------------------------------- */

#define RELAY_MAX 8
typedef struct relay {
    int lfd, port, target;
    int ctl[2];             /* 'c': cut every connection, 'q': quit */
    int a[RELAY_MAX], b[RELAY_MAX];
    int n;
    pthread_t th;
} relay;

static void relay_cut(relay *r)
{
    for (int i = 0; i < r->n; i++) {
        close(r->a[i]);
        close(r->b[i]);
    }
    r->n = 0;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    for (;;) {
        struct pollfd p[2 + 2 * RELAY_MAX];
        p[0] = (struct pollfd){.fd = r->lfd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = r->ctl[0], .events = POLLIN};
        for (int i = 0; i < r->n; i++) {
            p[2 + 2 * i] = (struct pollfd){.fd = r->a[i], .events = POLLIN};
            p[3 + 2 * i] = (struct pollfd){.fd = r->b[i], .events = POLLIN};
        }
        if (poll(p, (nfds_t)(2 + 2 * r->n), 1000) < 0) continue;
        if (p[1].revents) {
            char c = 0;
            if (read(r->ctl[0], &c, 1) == 1 && c == 'c') {
                relay_cut(r);
                continue;
            }
            relay_cut(r);
            return NULL;
        }
        for (int i = r->n - 1; i >= 0; i--) {
            for (int side = 0; side < 2; side++) {
                if (!p[2 + 2 * i + side].revents) continue;
                int from = side ? r->b[i] : r->a[i], to = side ? r->a[i] : r->b[i];
                char buf[4096];
                ssize_t k = read(from, buf, sizeof buf);
                if (k <= 0 || write(to, buf, (size_t)k) != k) {
                    close(r->a[i]);
                    close(r->b[i]);
                    r->a[i] = r->a[r->n - 1];
                    r->b[i] = r->b[r->n - 1];
                    r->n--;
                    break;
                }
            }
        }
        if (p[0].revents) {
            int c = accept(r->lfd, NULL, NULL);
            if (c < 0) continue;
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->target)};
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (r->n == RELAY_MAX || s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
                close(c);
                if (s >= 0) close(s);
                continue;
            }
            r->a[r->n] = c;
            r->b[r->n] = s;
            r->n++;
        }
    }
}

static relay *relay_start(int target)
{
    relay *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->target = target;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->lfd, 8), 0);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(pipe(r->ctl), 0);
    assert_int_equal(pthread_create(&r->th, NULL, relay_main, r), 0);
    return r;
}

static void relay_send(relay *r, char c) { assert_int_equal(write(r->ctl[1], &c, 1), 1); }

static void relay_stop(relay *r)
{
    relay_send(r, 'q');
    pthread_join(r->th, NULL);
    close(r->lfd);
    close(r->ctl[0]);
    close(r->ctl[1]);
    free(r);
}

static void test_status_restored_after_network_blip(void **state)
{
    (void)state;
    relay *r = relay_start(g_broker.port);
    char url[64];
    subscriber *s = sub_start(g_broker.port, "edgelens/el-t7/status", 1, NULL);
    el_mqtt_opts o = {.url = url_for(r->port, url, sizeof url), .client_id = "el-t7", .qos = 1,
                      .will_topic = "edgelens/el-t7/status", .will_payload = "offline", .will_retain = true,
                      .reconnect_min_s = 1, .reconnect_max_s = 2};
    el_mqtt *m = NULL;
    assert_int_equal(el_mqtt_open(&o, &m), EL_OK);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    assert_int_equal(el_mqtt_publish(m, "edgelens/el-t7/status", "online", 6, -1, true), EL_OK);
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 1, 5000));
    assert_string_equal(sub_get(s, 0).payload, "online");

    relay_send(r, 'c');
    /* The broker saw the connection die: the will. */
    assert_true(WAIT_UNTIL(sub_count(s) >= 2, 5000));
    assert_string_equal(sub_get(s, 1).payload, "offline");
    /* The client came back and said so. */
    assert_true(WAIT_UNTIL(sub_count(s) >= 3, 10000));
    assert_string_equal(sub_get(s, 2).payload, "online");
    el_mqtt_stats st;
    el_mqtt_get_stats(m, &st);
    assert_true(st.connected);
    assert_int_equal(st.reconnects, 1);
    sub_stop(s);
    s = sub_start(g_broker.port, "edgelens/el-t7/status", 1, NULL);
    assert_true(WAIT_UNTIL(sub_count(s) >= 1, 5000));
    assert_string_equal(sub_get(s, 0).payload, "online");
    assert_true(sub_get(s, 0).retain);
    /* What an agent does on shutdown: say offline, then leave cleanly. */
    assert_int_equal(el_mqtt_publish(m, "edgelens/el-t7/status", "", 0, -1, true), EL_OK);
    el_mqtt_close(m, 2000);
    sub_stop(s);
    relay_stop(r);
}

/* ---- user name and password: a second broker that refuses anonymous clients */

static void test_username_password(void **state)
{
    (void)state;
    if (access("/usr/bin/mosquitto_passwd", X_OK) != 0) {
        fprintf(stderr, "mosquitto_passwd not installed: password test not run\n");
        return;
    }
    char dir[64], cmd[512], extra[256];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(cmd, sizeof cmd, "mosquitto_passwd -b -c '%s/pw' 'el user' 'p@ss:w/rd' >/dev/null 2>&1", dir);
    assert_int_equal(run_cmd(cmd), 0);
    snprintf(extra, sizeof extra, "allow_anonymous false\npassword_file %s/pw\n", dir);
    el_test_broker tb;
    memset(&tb, 0, sizeof tb);
    assert_int_equal(el_test_broker_start(&tb, extra), 0);
    subscriber *s = sub_start_auth(tb.port, "el/pw/#", 1, NULL, "el user", "p@ss:w/rd");

    /* Credentials in the URL, percent-encoded. */
    char url[160];
    snprintf(url, sizeof url, "mqtt://el%%20user:p%%40ss%%3Aw%%2Frd@127.0.0.1:%d", tb.port);
    el_mqtt *m = open_client(url, "el-pw1", 0, 1);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    assert_int_equal(el_mqtt_publish(m, "el/pw/a", "via url", 7, -1, false), EL_OK);
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    el_mqtt_close(m, 1000);

    /* The options override the URL's. */
    snprintf(url, sizeof url, "mqtt://nobody:nothing@127.0.0.1:%d", tb.port);
    el_mqtt_opts o = {.url = url, .client_id = "el-pw2", .username = "el user", .password = "p@ss:w/rd", .qos = 1};
    assert_int_equal(el_mqtt_open(&o, &m), EL_OK);
    assert_true(WAIT_UNTIL(mqtt_connected(m), 5000));
    assert_int_equal(el_mqtt_publish(m, "el/pw/b", "via opts", 8, -1, false), EL_OK);
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    el_mqtt_close(m, 1000);
    assert_true(WAIT_UNTIL(sub_count(s) >= 2, 5000));
    assert_string_equal(sub_get(s, 0).payload, "via url");
    assert_string_equal(sub_get(s, 1).payload, "via opts");

    /* A wrong password is refused by the broker: never connected, the
     * message kept in the queue. */
    o.password = "wrong";
    o.client_id = "el-pw3";
    assert_int_equal(el_mqtt_open(&o, &m), EL_OK);
    assert_int_equal(el_mqtt_publish(m, "el/pw/c", "x", 1, -1, false), EL_OK);
    assert_false(WAIT_UNTIL(mqtt_connected(m), 1500));
    el_mqtt_stats st;
    el_mqtt_get_stats(m, &st);
    assert_int_equal(st.queued, 1);
    el_mqtt_close(m, 0);

    sub_stop(s);
    el_test_broker_cleanup(&tb);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    run_cmd(cmd);
}

/* ---- TLS: a second broker with a TLS listener, certificates made here ------- */

static void test_tls_roundtrip(void **state)
{
    (void)state;
    if (access("/usr/bin/openssl", X_OK) != 0) {
        fprintf(stderr, "openssl not installed: TLS round trip not run\n");
        return;
    }
    char dir[64], cmd[4096];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    /* A CA, a server certificate for 127.0.0.1/localhost, a client
     * certificate, and an unrelated CA; EC keys are quick to make. */
    snprintf(cmd, sizeof cmd,
             "(cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=el-test-ca && "
             "openssl req -x509 $K -keyout other.key -out other.crt -days 2 -subj /CN=el-other-ca && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
             "openssl req $K -keyout srv.key -out srv.csr -subj /CN=localhost && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 "
             "-extfile san.ext && "
             "openssl req $K -keyout cli.key -out cli.csr -subj /CN=el-client && "
             "openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt -days 2"
             ") >/dev/null 2>&1",
             dir);
    if (run_cmd(cmd) != 0) fail_msg("openssl could not make test certificates in %s", dir);

    el_test_broker tb;
    memset(&tb, 0, sizeof tb);
    int tls_port = el_test_free_port();
    char extra[1024];
    snprintf(extra, sizeof extra,
             "listener %d 127.0.0.1\ncafile %s/ca.crt\ncertfile %s/srv.crt\nkeyfile %s/srv.key\n"
             "require_certificate true\n",
             tls_port, dir, dir, dir);
    assert_int_equal(el_test_broker_start(&tb, extra), 0);

    subscriber *s = sub_start(tb.port, "el/tls/#", 1, NULL);
    char url[64], ca[128], crt[128], key[128], other[128];
    snprintf(url, sizeof url, "mqtts://127.0.0.1:%d", tls_port);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(crt, sizeof crt, "%s/cli.crt", dir);
    snprintf(key, sizeof key, "%s/cli.key", dir);
    snprintf(other, sizeof other, "%s/other.crt", dir);

    /* A key that is not the certificate's is caught at open. */
    el_mqtt_opts o = {.url = url, .client_id = "el-tls", .qos = 1, .ca_file = ca, .cert_file = crt,
                      .key_file = "/nonexistent.key"};
    expect_open_fails(&o, EL_ERR_NOT_FOUND, "client key");
    char srvkey[128];
    snprintf(srvkey, sizeof srvkey, "%s/srv.key", dir);
    o.key_file = srvkey;
    expect_open_fails(&o, EL_ERR_INVALID_ARG, "does not belong");

    o.key_file = key;
    el_mqtt *m = NULL;
    if (el_mqtt_open(&o, &m) != EL_OK) fail_msg("%s", el_last_error());
    if (!WAIT_UNTIL(mqtt_connected(m), 10000)) {
        el_test_broker_dump_log(&tb);
        fail_msg("no TLS connection");
    }
    assert_int_equal(el_mqtt_publish(m, "el/tls/x", "over tls", 8, -1, false), EL_OK);
    assert_int_equal(el_mqtt_flush(m, 5000), EL_OK);
    assert_true(WAIT_UNTIL(sub_count(s) >= 1, 5000));
    assert_string_equal(sub_get(s, 0).payload, "over tls");
    el_mqtt_close(m, 1000);

    /* A server certificate from a CA we do not trust: never connected (the
     * peer is verified). */
    o.ca_file = other;
    o.client_id = "el-tls-other";
    assert_int_equal(el_mqtt_open(&o, &m), EL_OK);
    assert_false(WAIT_UNTIL(mqtt_connected(m), 1500));
    el_mqtt_close(m, 0);

    sub_stop(s);
    el_test_broker_cleanup(&tb);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    run_cmd(cmd);
}

int main(void)
{
    if (!el_test_broker_bin()) EL_TEST_SKIP_ALL("mosquitto broker not installed (/usr/sbin/mosquitto)");
    /* The observing clients (libmosquitto's own threads) write to sockets a
     * killed broker has closed. */
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_urls),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_tls_file_errors),
        cmocka_unit_test(test_good_urls_open_without_broker),
        cmocka_unit_test_setup(test_publish_qos0_qos1, ensure_broker),
        cmocka_unit_test_setup(test_publish_from_threads, ensure_broker),
        cmocka_unit_test_setup(test_broker_restart_queue_and_drops, ensure_broker),
        cmocka_unit_test_setup(test_queue_without_broker, ensure_broker),
        cmocka_unit_test_setup(test_retained_status_and_last_will, ensure_broker),
        cmocka_unit_test_setup(test_close_sends_no_will, ensure_broker),
        cmocka_unit_test_setup(test_status_restored_after_network_blip, ensure_broker),
        cmocka_unit_test(test_username_password),
        cmocka_unit_test(test_tls_roundtrip),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    mosquitto_lib_cleanup();
    return rc;
}
