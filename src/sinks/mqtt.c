/* MQTT publishing through libmosquitto.
 *
 * Threads. One network thread per client, ours, runs mosquitto_loop() and
 * every libmosquitto callback. It is ours rather than mosquitto_loop_start's
 * because mosquitto_loop_forever gives up for good on "fatal" errors (a DNS
 * failure while the network is still coming up, a TLS error during a broker
 * restart): an agent must keep retrying, so reconnection and its backoff
 * (exponential, with jitter so a fleet does not reconnect in lock step) are
 * ours too. The client is in libmosquitto's threaded mode, so publishing from
 * another thread only queues a packet and wakes the loop: it never writes to
 * the socket, never blocks on the network. Only the network thread writes,
 * and it blocks every signal, so a SIGPIPE from a broker that vanished
 * mid-write is never delivered to the process.
 *
 * Queue. While disconnected, messages wait in our bounded FIFO (the oldest is
 * dropped and counted when it is full); on_connect hands it over in order.
 * While connected, at most EL_MQTT_INFLIGHT_MAX messages are in libmosquitto
 * at once (QoS 0 until written, QoS 1/2 until acknowledged); the rest wait in
 * the FIFO and on_publish tops up. So the FIFO bound is the only queue that
 * can grow, also against a broker that is connected but slow.
 *
 * Status. With a retained will (edgelens/<thing>/status: "offline"), every
 * lost connection leaves "offline" retained at the broker, also after a
 * network blip the agent survived. So the latest retained message the
 * application published on the will topic is handed over first on every
 * connection (unless a newer one is still queued): the retained status
 * tracks reality without the application watching reconnects.
 *
 * Locking. el_mqtt.mu guards everything of ours. It is taken inside
 * libmosquitto callbacks (where libmosquitto holds its callback mutex and, for
 * QoS 0 on_publish, its current-packet mutex) and mosquitto_publish and
 * mosquitto_disconnect are called with it held (taking only libmosquitto's
 * state/queue/mid mutexes, which it never holds while calling back). Holding
 * mu across the hand-over is what keeps messages in order and makes a mid
 * known before its on_publish can run. */
#include "sinks/mqtt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Messages handed to libmosquitto and not yet written (QoS 0) or
 * acknowledged (QoS 1/2); libmosquitto's own in-flight window is 20. */
#define EL_MQTT_INFLIGHT_MAX 32
/* How long one mosquitto_loop() may wait: bounds how late the thread sees a
 * close request while a connection attempt is pending. */
#define EL_MQTT_LOOP_MS 200
/* After close, how long the DISCONNECT may take to leave (a broker that
 * does not answer must not hang the agent's shutdown). */
#define EL_MQTT_CLOSE_GRACE_MS 2000
/* MQTT's limits: the remaining length is at most 268435455 bytes and a
 * topic is a UTF-8 string of at most 65535 bytes. */
#define EL_MQTT_MAX_PAYLOAD 268435455u
#define EL_MQTT_MAX_TOPIC 65535u
#define EL_MQTT_MAX_URL 4096
#define EL_MQTT_MAX_HOST 253

typedef struct el_mqtt_msg {
    struct el_mqtt_msg *next;
    char *topic;
    void *payload;
    size_t len;
    int qos;
    bool retain;
} el_mqtt_msg;

typedef struct el_mqtt_flight {
    int mid;
    int qos;
} el_mqtt_flight;

struct el_mqtt {
    struct mosquitto *mosq;
    char *host;
    int port;
    bool tls;
    char where[300];           /* "mqtt://host:port" for messages, no credentials */
    int qos, keepalive_s;
    size_t queue_max;
    int reconnect_min_ms, reconnect_max_ms;

    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;         /* queue drained, ack, connect/disconnect, close */
    bool connected;            /* CONNACK accepted and not lost since */
    bool sock_active;          /* a connection attempt or connection exists */
    bool disconnect_sent;      /* DISCONNECT requested on this connection */
    bool closing;
    bool ever_connected;
    bool connack_ok;           /* this connection was accepted: reset backoff */
    el_mqtt_msg *head, *tail;
    size_t nqueued;
    el_mqtt_flight flight[EL_MQTT_INFLIGHT_MAX + 1]; /* + the status re-publish */
    int nflight;
    char *will_topic;          /* set with a retained will only */
    el_mqtt_msg *status;       /* latest retained message on will_topic */
    uint64_t published, dropped, reconnects;

    char last_log[512];        /* network thread only */
    /* libmosquitto's last error log line (an OpenSSL reason, say), under its
     * own lock: on_log runs inside libmosquitto's log lock, which it may
     * take in calls we make holding mu. */
    pthread_mutex_t log_mu;
    char detail[256];
};

/* ---- small helpers -------------------------------------------------------- */

static int64_t el_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline for pthread_cond_timedwait; the condition uses CLOCK_MONOTONIC. */
static struct timespec el_deadline(int64_t at_ms)
{
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (long)(at_ms % 1000) * 1000000};
    return ts;
}

static char *el_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Why a connection failed goes to stderr (the application cannot see it),
 * once per change: a broker that stays away for a day logs one line, not one
 * per retry. */
static void el_mqtt_log(el_mqtt *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void el_mqtt_log(el_mqtt *m, const char *fmt, ...)
{
    char msg[sizeof m->last_log];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!strcmp(msg, m->last_log)) return;
    memcpy(m->last_log, msg, sizeof msg);
    fprintf(stderr, "edgelens: mqtt %s: %s\n", m->where, msg);
}

static const char *el_mosq_err(int rc, int err)
{
    if (rc == MOSQ_ERR_ERRNO) return strerror(err);
    return mosquitto_strerror(rc);
}

static void el_on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    el_mqtt *m = obj;
    if (!(level & MOSQ_LOG_ERR) || !str) return;
    pthread_mutex_lock(&m->log_mu);
    snprintf(m->detail, sizeof m->detail, "%s", str);
    pthread_mutex_unlock(&m->log_mu);
}

/* Takes (and forgets) libmosquitto's last error line: " (<line>)" or "". */
static const char *el_take_detail(el_mqtt *m, char *buf, size_t cap)
{
    pthread_mutex_lock(&m->log_mu);
    if (m->detail[0]) snprintf(buf, cap, " (%s)", m->detail);
    else buf[0] = '\0';
    m->detail[0] = '\0';
    pthread_mutex_unlock(&m->log_mu);
    return buf;
}

/* ---- URL ------------------------------------------------------------------ */

typedef struct el_mqtt_url {
    bool tls;
    char *user, *pass, *host;
    int port;
} el_mqtt_url;

static void el_mqtt_url_free(el_mqtt_url *u)
{
    free(u->user);
    free(u->pass);
    free(u->host);
    memset(u, 0, sizeof *u);
}

/* The URL as it may appear in a message: the password replaced by "***". */
static const char *el_mqtt_url_shown(const char *url, char *buf, size_t cap)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        snprintf(buf, cap, "%s", url);
    } else {
        snprintf(buf, cap, "%.*s***%s", (int)(colon + 1 - url), url, at);
    }
    return buf;
}

static int el_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 3986 percent-decoding of the user-info parts, so that a password may
 * hold ':', '@' or '/'. NULL with *bad set when an escape is malformed or
 * decodes to NUL. */
static char *el_pct_decode(const char *s, size_t n, bool *bad)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int a = i + 2 < n ? el_hexval(s[i + 1]) : -1;
        int b = i + 2 < n ? el_hexval(s[i + 2]) : -1;
        if (a < 0 || b < 0 || (a == 0 && b == 0)) {
            free(out);
            *bad = true;
            return NULL;
        }
        out[o++] = (char)(a * 16 + b);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static el_status el_url_err(const char *url, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static el_status el_url_err(const char *url, const char *fmt, ...)
{
    char what[512], shown[EL_MQTT_MAX_URL + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return el_error(EL_ERR_INVALID_ARG, "MQTT URL '%s': %s (expected mqtt[s]://[user[:password]@]host[:port])",
                    el_mqtt_url_shown(url, shown, sizeof shown), what);
}

static bool el_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static el_status el_mqtt_parse_url(const char *url, el_mqtt_url *u)
{
    memset(u, 0, sizeof *u);
    if (!url || !*url) return el_error(EL_ERR_INVALID_ARG, "no MQTT broker URL given");
    size_t ulen = strnlen(url, EL_MQTT_MAX_URL + 1);
    if (ulen > EL_MQTT_MAX_URL) return el_error(EL_ERR_INVALID_ARG, "MQTT URL longer than %d bytes", EL_MQTT_MAX_URL);
    for (size_t i = 0; i < ulen; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return el_url_err(url, "contains a space or control character at offset %zu", i);

    const char *rest;
    if (!strncmp(url, "mqtt://", 7)) {
        rest = url + 7;
    } else if (!strncmp(url, "mqtts://", 8)) {
        u->tls = true;
        rest = url + 8;
    } else {
        const char *sep = strstr(url, "://");
        if (sep) return el_url_err(url, "unsupported scheme '%.*s'", (int)(sep - url), url);
        return el_url_err(url, "no mqtt:// or mqtts:// scheme");
    }
    size_t alen = strcspn(rest, "/?#");
    const char *tail = rest + alen;
    if (*tail && strcmp(tail, "/")) return el_url_err(url, "unexpected path, query or fragment '%s'", tail);
    if (alen == 0) return el_url_err(url, "no host");

    const char *at = NULL;
    for (const char *p = rest; p < tail; p++)
        if (*p == '@') at = p;
    const char *hp = rest;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        size_t ulen2 = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
        if (ulen2 == 0) return el_url_err(url, "empty user name before '@'");
        bool bad = false;
        u->user = el_pct_decode(rest, ulen2, &bad);
        if (u->user && colon) u->pass = el_pct_decode(colon + 1, (size_t)(at - colon - 1), &bad);
        if (bad) {
            el_mqtt_url_free(u);
            return el_url_err(url, "malformed %%-escape in the user or password");
        }
        if (!u->user || (colon && !u->pass)) {
            el_mqtt_url_free(u);
            return el_error(EL_ERR_NOMEM, "MQTT URL: out of memory");
        }
        hp = at + 1;
    }

    const char *hend, *port = NULL;
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(tail - hp));
        if (!rb) {
            el_mqtt_url_free(u);
            return el_url_err(url, "'[' without ']' around an IPv6 address");
        }
        char v6[64];
        struct in6_addr a6;
        size_t n = (size_t)(rb - hp - 1);
        if (n == 0 || n >= sizeof v6) {
            el_mqtt_url_free(u);
            return el_url_err(url, "'%.*s' is not an IPv6 address", (int)n, hp + 1);
        }
        memcpy(v6, hp + 1, n);
        v6[n] = '\0';
        if (inet_pton(AF_INET6, v6, &a6) != 1) {
            el_mqtt_url_free(u);
            return el_url_err(url, "'%s' is not an IPv6 address", v6);
        }
        u->host = el_strndup(v6, n);
        hend = rb + 1;
        if (hend < tail && *hend != ':') {
            el_mqtt_url_free(u);
            return el_url_err(url, "unexpected '%c' after the IPv6 address", *hend);
        }
    } else {
        hend = hp;
        while (hend < tail && *hend != ':') hend++;
        size_t n = (size_t)(hend - hp);
        if (n == 0) {
            el_mqtt_url_free(u);
            return el_url_err(url, "no host");
        }
        if (n > EL_MQTT_MAX_HOST) {
            el_mqtt_url_free(u);
            return el_url_err(url, "host name longer than %d bytes", EL_MQTT_MAX_HOST);
        }
        for (const char *p = hp; p < hend; p++)
            if (!el_host_char(*p)) {
                el_mqtt_url_free(u);
                return el_url_err(url, "character '%c' is not allowed in a host name", *p);
            }
        if (memchr(hend + (hend < tail), ':', (size_t)(tail - hend - (hend < tail)))) {
            el_mqtt_url_free(u);
            return el_url_err(url, "IPv6 addresses must be written in brackets, e.g. mqtt://[::1]:1883");
        }
        u->host = el_strndup(hp, n);
    }
    if (!u->host) {
        el_mqtt_url_free(u);
        return el_error(EL_ERR_NOMEM, "MQTT URL: out of memory");
    }
    u->port = u->tls ? 8883 : 1883;
    if (hend < tail) { /* ':' */
        port = hend + 1;
        size_t n = (size_t)(tail - port);
        long v = 0;
        for (size_t i = 0; i < n; i++) {
            if (port[i] < '0' || port[i] > '9' || i >= 5) {
                el_mqtt_url_free(u);
                return el_url_err(url, "port '%.*s' is not a number in 1..65535", (int)n, port);
            }
            v = v * 10 + (port[i] - '0');
        }
        if (n == 0 || v < 1 || v > 65535) {
            el_mqtt_url_free(u);
            return el_url_err(url, "port '%.*s' is not a number in 1..65535", (int)n, port);
        }
        u->port = (int)v;
    }
    return EL_OK;
}

/* ---- TLS files ------------------------------------------------------------ */

static int el_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0; /* never prompt on a terminal: an encrypted key is an error */
}

static FILE *el_open_tls_file(const char *what, const char *path, el_status *st)
{
    FILE *f = fopen(path, "r");
    if (!f)
        *st = el_error(errno == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "mqtts: %s '%s': %s", what, path,
                       strerror(errno));
    return f;
}

/* libmosquitto only checks that these files open and reads them at connect
 * time, where a bad file turns into an endless reconnect loop; read them
 * here so a mistake is one clear error at start. */
static el_status el_read_tls_files(const char *ca, const char *cert, const char *key)
{
    el_status st = EL_OK;
    if (ca) {
        FILE *f = el_open_tls_file("CA file", ca, &st);
        if (!f) return st;
        X509 *x = PEM_read_X509(f, NULL, el_no_passphrase, NULL);
        fclose(f);
        if (!x) return el_error(EL_ERR_FORMAT, "mqtts: CA file '%s' holds no PEM certificate", ca);
        X509_free(x);
    }
    if (!cert != !key)
        return el_error(EL_ERR_INVALID_ARG, "mqtts: a client certificate needs its key and a key its certificate "
                                            "(cert_file %s, key_file %s)",
                        cert ? cert : "missing", key ? key : "missing");
    if (!cert) return EL_OK;
    FILE *f = el_open_tls_file("client certificate", cert, &st);
    if (!f) return st;
    X509 *x = PEM_read_X509(f, NULL, el_no_passphrase, NULL);
    fclose(f);
    if (!x) return el_error(EL_ERR_FORMAT, "mqtts: client certificate '%s' holds no PEM certificate", cert);
    f = el_open_tls_file("client key", key, &st);
    if (!f) {
        X509_free(x);
        return st;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, el_no_passphrase, NULL);
    fclose(f);
    if (!k) {
        X509_free(x);
        return el_error(EL_ERR_FORMAT, "mqtts: client key '%s' is not an unencrypted PEM private key", key);
    }
    int match = X509_check_private_key(x, k);
    X509_free(x);
    EVP_PKEY_free(k);
    if (match != 1)
        return el_error(EL_ERR_INVALID_ARG, "mqtts: client key '%s' does not belong to certificate '%s'", key, cert);
    return EL_OK;
}

static el_status el_check_tls_files(const char *ca, const char *cert, const char *key)
{
    el_status st = el_read_tls_files(ca, cert, key);
    /* Leave no failure in OpenSSL's per-thread queue for libmosquitto (or
     * anyone else) to report later as its own. */
    ERR_clear_error();
    return st;
}

/* ---- queue and hand-over (mu held) -------------------------------------- */

static void el_msg_free(el_mqtt_msg *q)
{
    if (!q) return;
    free(q->topic);
    free(q->payload);
    free(q);
}

static el_mqtt_msg *el_msg_new(const char *topic, size_t tlen, const void *payload, size_t len, int qos, bool retain)
{
    el_mqtt_msg *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->topic = el_strndup(topic, tlen);
    q->payload = malloc(len ? len : 1);
    if (!q->topic || !q->payload) {
        el_msg_free(q);
        return NULL;
    }
    if (len) memcpy(q->payload, payload, len);
    q->len = len;
    q->qos = qos;
    q->retain = retain;
    return q;
}

static void el_flight_add(el_mqtt *m, int mid, int qos)
{
    m->flight[m->nflight].mid = mid;
    m->flight[m->nflight].qos = qos;
    m->nflight++;
}

/* Hands one message to libmosquitto. Returns the mosquitto rc. */
static int el_handover(el_mqtt *m, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
    int mid = 0;
    int rc = mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, qos, retain);
    if (rc == MOSQ_ERR_SUCCESS) el_flight_add(m, mid, qos);
    return rc;
}

static bool el_rc_retry_later(int rc) { return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST; }

/* Moves queued messages to libmosquitto, oldest first, while connected and
 * within the in-flight window. */
static void el_drain(el_mqtt *m)
{
    while (m->connected && m->head && m->nflight < EL_MQTT_INFLIGHT_MAX) {
        el_mqtt_msg *q = m->head;
        int rc = el_handover(m, q->topic, q->payload, q->len, q->qos, q->retain);
        if (el_rc_retry_later(rc)) break;
        /* Anything else is final for this message (validated at publish, so
         * only out-of-memory gets here): drop it rather than block the queue. */
        if (rc != MOSQ_ERR_SUCCESS) m->dropped++;
        m->head = q->next;
        if (!m->head) m->tail = NULL;
        m->nqueued--;
        el_msg_free(q);
    }
    if (!m->head && !m->nflight) pthread_cond_broadcast(&m->cv);
}

/* ---- libmosquitto callbacks (network thread) -------------------------------- */

static void el_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    el_mqtt *m = obj;
    pthread_mutex_lock(&m->mu);
    if (rc == 0) {
        if (m->ever_connected) m->reconnects++;
        m->ever_connected = true;
        m->connected = true;
        m->connack_ok = true;
        bool newer = false;
        for (el_mqtt_msg *q = m->head; q && m->status && !newer; q = q->next)
            newer = q->retain && !strcmp(q->topic, m->will_topic);
        if (m->status && !newer && m->nflight <= EL_MQTT_INFLIGHT_MAX)
            el_handover(m, m->status->topic, m->status->payload, m->status->len, m->status->qos, true);
        el_drain(m);
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    /* Connecting is not logged (the stats say it; the agent logs state
     * changes), but it re-arms the log for the next failure. */
    if (rc == 0) m->last_log[0] = '\0';
    else el_mqtt_log(m, "broker refused the connection: %s", mosquitto_connack_string(rc));
}

static void el_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    el_mqtt *m = obj;
    pthread_mutex_lock(&m->mu);
    bool was = m->connected;
    m->connected = false;
    /* QoS 0 packets not yet written die with the socket; QoS 1/2 messages
     * stay in libmosquitto, which sends them again after reconnecting. */
    int k = 0;
    for (int i = 0; i < m->nflight; i++)
        if (m->flight[i].qos > 0) m->flight[k++] = m->flight[i];
    m->nflight = k;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    char d[sizeof m->detail + 4];
    el_take_detail(m, d, sizeof d);
    if (was && rc != 0) el_mqtt_log(m, "connection lost: %s%s", el_mosq_err(rc, errno), d);
}

static void el_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    el_mqtt *m = obj;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nflight; i++) {
        if (m->flight[i].mid != mid) continue;
        m->flight[i] = m->flight[--m->nflight];
        m->published++;
        break;
    }
    el_drain(m);
    pthread_mutex_unlock(&m->mu);
}

/* ---- network thread -------------------------------------------------------- */

/* Runs one connection until it ends, or until a close request's grace time
 * has passed. */
static void el_mqtt_pump(el_mqtt *m)
{
    for (;;) {
        int rc = mosquitto_loop(m->mosq, EL_MQTT_LOOP_MS, 1);
        int err = errno;
        if (rc != MOSQ_ERR_SUCCESS) {
            /* A lost connection was logged by on_disconnect. */
            pthread_mutex_lock(&m->mu);
            bool was = m->connack_ok;
            pthread_mutex_unlock(&m->mu);
            char d[sizeof m->detail + 4];
            /* A refusal was logged by on_connect, with the broker's reason. */
            if (!was && rc != MOSQ_ERR_CONN_REFUSED)
                el_mqtt_log(m, "cannot connect: %s%s", el_mosq_err(rc, err), el_take_detail(m, d, sizeof d));
            return;
        }
        if (mosquitto_socket(m->mosq) < 0) return;
        pthread_mutex_lock(&m->mu);
        bool closing = m->closing;
        pthread_mutex_unlock(&m->mu);
        if (closing) {
            /* The close deadline starts when the thread notices it. */
            int64_t until = el_now_ms() + EL_MQTT_CLOSE_GRACE_MS;
            while (mosquitto_socket(m->mosq) >= 0 && el_now_ms() < until) {
                if (mosquitto_loop(m->mosq, EL_MQTT_LOOP_MS, 1) != MOSQ_ERR_SUCCESS) break;
            }
            return;
        }
    }
}

static void *el_mqtt_thread(void *arg)
{
    el_mqtt *m = arg;
    unsigned seed = (unsigned)el_now_ms() ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)m;
    int delay = m->reconnect_min_ms;
    bool have_host = false;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        bool closing = m->closing;
        pthread_mutex_unlock(&m->mu);
        if (closing) break;

        char stale[sizeof m->detail + 4];
        el_take_detail(m, stale, sizeof stale);
        /* connect_async stores host and port, then connects; later attempts
         * reuse them (and keep libmosquitto's unacknowledged QoS>0 messages). */
        int rc = have_host ? mosquitto_reconnect_async(m->mosq)
                           : mosquitto_connect_async(m->mosq, m->host, m->port, m->keepalive_s);
        int err = errno;
        if (rc != MOSQ_ERR_INVAL && rc != MOSQ_ERR_NOMEM) have_host = true;
        if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_CONN_PENDING) {
            pthread_mutex_lock(&m->mu);
            m->sock_active = true;
            m->disconnect_sent = false;
            m->connack_ok = false;
            /* A close that came while we were connecting found no socket to
             * send DISCONNECT on: send it now, so the broker drops the will. */
            if (m->closing) {
                m->disconnect_sent = true;
                mosquitto_disconnect(m->mosq);
            }
            pthread_mutex_unlock(&m->mu);
            el_mqtt_pump(m);
            pthread_mutex_lock(&m->mu);
            m->sock_active = false;
            m->connected = false;
            int k = 0;
            for (int i = 0; i < m->nflight; i++)
                if (m->flight[i].qos > 0) m->flight[k++] = m->flight[i];
            m->nflight = k;
            if (m->connack_ok) delay = m->reconnect_min_ms;
            pthread_cond_broadcast(&m->cv);
            pthread_mutex_unlock(&m->mu);
        } else {
            char d[sizeof m->detail + 4];
            el_mqtt_log(m, "cannot connect: %s%s", el_mosq_err(rc, err), el_take_detail(m, d, sizeof d));
        }

        /* Wait delay/2..delay (jitter), interrupted by close. */
        int wait = delay / 2 + (int)(rand_r(&seed) % (unsigned)(delay / 2 + 1));
        int64_t until = el_now_ms() + wait;
        struct timespec ts = el_deadline(until);
        pthread_mutex_lock(&m->mu);
        while (!m->closing && el_now_ms() < until)
            if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) == ETIMEDOUT) break;
        pthread_mutex_unlock(&m->mu);
        delay = delay > m->reconnect_max_ms / 2 ? m->reconnect_max_ms : delay * 2;
    }
    return NULL;
}

/* ---- public API ------------------------------------------------------------- */

static pthread_once_t el_mosq_once = PTHREAD_ONCE_INIT;
static int el_mosq_init_rc;
/* libmosquitto's global state lives until exit: mosquitto_lib_cleanup is
 * never called, as clients may be opened and closed many times. */
static void el_mosq_init(void) { el_mosq_init_rc = mosquitto_lib_init(); }

static void el_mqtt_destroy(el_mqtt *m)
{
    if (m->mosq) mosquitto_destroy(m->mosq);
    el_mqtt_msg *q = m->head;
    while (q) {
        el_mqtt_msg *next = q->next;
        el_msg_free(q);
        q = next;
    }
    el_msg_free(m->status);
    free(m->will_topic);
    free(m->host);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->log_mu);
    free(m);
}

static el_status el_mosq_fail(el_mqtt *m, el_mqtt_url *u, const char *what, int rc)
{
    el_status st = el_error(rc == MOSQ_ERR_NOMEM ? EL_ERR_NOMEM : EL_ERR_INVALID_ARG, "MQTT %s: %s: %s", m->where,
                            what, mosquitto_strerror(rc));
    el_mqtt_url_free(u);
    el_mqtt_destroy(m);
    return st;
}

el_status el_mqtt_open(const el_mqtt_opts *opts, el_mqtt **out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "el_mqtt_open: no output pointer");
    *out = NULL;
    if (!opts) return el_error(EL_ERR_INVALID_ARG, "el_mqtt_open: no options");
    el_mqtt_url u;
    EL_TRY(el_mqtt_parse_url(opts->url, &u));

    el_status st = EL_OK;
    const char *user = opts->username ? opts->username : u.user;
    const char *pass = opts->password ? opts->password : u.pass;
    int keepalive = opts->keepalive_s ? opts->keepalive_s : 30;
    int rmin = opts->reconnect_min_s ? opts->reconnect_min_s : 1;
    int rmax = opts->reconnect_max_s ? opts->reconnect_max_s : 30;
    if (opts->qos < 0 || opts->qos > 2)
        st = el_error(EL_ERR_INVALID_ARG, "MQTT QoS %d: expected 0, 1 or 2", opts->qos);
    else if (keepalive < 5 || keepalive > 65535)
        st = el_error(EL_ERR_INVALID_ARG, "MQTT keepalive %d s: expected 0 (30 s) or 5..65535", opts->keepalive_s);
    else if (rmin < 1 || rmax < 1 || rmin > 86400 || rmax > 86400 || rmin > rmax)
        st = el_error(EL_ERR_INVALID_ARG, "MQTT reconnect delays %d..%d s: expected 1 <= min <= max <= 86400",
                      rmin, rmax);
    else if (pass && !user)
        st = el_error(EL_ERR_INVALID_ARG, "MQTT: a password needs a user name (MQTT 3.1.1 forbids one alone)");
    else if (!u.tls && (opts->ca_file || opts->cert_file || opts->key_file))
        st = el_error(EL_ERR_INVALID_ARG, "MQTT: CA/certificate/key files given for a plain mqtt:// URL "
                                          "(use mqtts:// for TLS)");
    else if (u.tls)
        st = el_check_tls_files(opts->ca_file, opts->cert_file, opts->key_file);
    if (st == EL_OK && opts->will_topic &&
        (!*opts->will_topic || mosquitto_pub_topic_check2(opts->will_topic, strlen(opts->will_topic)) != MOSQ_ERR_SUCCESS ||
         strlen(opts->will_topic) > EL_MQTT_MAX_TOPIC))
        st = el_error(EL_ERR_INVALID_ARG, "MQTT will topic '%s': empty, too long or has wildcards", opts->will_topic);
    if (st != EL_OK) {
        el_mqtt_url_free(&u);
        return st;
    }

    pthread_once(&el_mosq_once, el_mosq_init);
    if (el_mosq_init_rc != MOSQ_ERR_SUCCESS) {
        el_mqtt_url_free(&u);
        return el_error(EL_ERR_RUNTIME, "libmosquitto initialisation failed: %s", mosquitto_strerror(el_mosq_init_rc));
    }

    el_mqtt *m = calloc(1, sizeof *m);
    if (!m) {
        el_mqtt_url_free(&u);
        return el_error(EL_ERR_NOMEM, "MQTT: out of memory");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->log_mu, NULL);
    m->host = u.host;
    u.host = NULL;
    m->port = u.port;
    m->tls = u.tls;
    snprintf(m->where, sizeof m->where, "%s://%s%s%s:%d", u.tls ? "mqtts" : "mqtt", strchr(m->host, ':') ? "[" : "",
             m->host, strchr(m->host, ':') ? "]" : "", m->port);
    m->qos = opts->qos;
    m->keepalive_s = keepalive;
    m->queue_max = opts->queue_max ? opts->queue_max : 1000;
    m->reconnect_min_ms = rmin * 1000;
    m->reconnect_max_ms = rmax * 1000;

    char idbuf[64];
    const char *id = opts->client_id;
    if (!id) {
        snprintf(idbuf, sizeof idbuf, "edgelens-%ld", (long)getpid());
        id = idbuf;
    }
    m->mosq = mosquitto_new(id, true, m);
    if (!m->mosq) {
        st = errno == ENOMEM ? el_error(EL_ERR_NOMEM, "MQTT: out of memory")
                             : el_error(EL_ERR_INVALID_ARG, "MQTT client id '%s' is not valid (UTF-8, at most "
                                                            "65535 bytes)", id);
        el_mqtt_url_free(&u);
        el_mqtt_destroy(m);
        return st;
    }
    int rc = mosquitto_threaded_set(m->mosq, true);
    if (rc) return el_mosq_fail(m, &u, "threaded mode", rc);
    if (user && (rc = mosquitto_username_pw_set(m->mosq, user, pass)))
        return el_mosq_fail(m, &u, "user name or password", rc);
    if (opts->will_topic) {
        const char *wp = opts->will_payload ? opts->will_payload : "";
        if ((rc = mosquitto_will_set(m->mosq, opts->will_topic, (int)strlen(wp), wp, opts->qos, opts->will_retain)))
            return el_mosq_fail(m, &u, "last will", rc);
        if (opts->will_retain && !(m->will_topic = el_strndup(opts->will_topic, strlen(opts->will_topic))))
            return el_mosq_fail(m, &u, "last will", MOSQ_ERR_NOMEM);
    }
    if (u.tls) {
        if (!opts->ca_file && (rc = mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1)))
            return el_mosq_fail(m, &u, "system CA certificates", rc);
        /* mosquitto_tls_set needs a CA file or directory even when the
         * system store is used; Debian's hashed directory is that store. */
        if (opts->ca_file || opts->cert_file) {
            rc = mosquitto_tls_set(m->mosq, opts->ca_file, opts->ca_file ? NULL : "/etc/ssl/certs", opts->cert_file,
                                   opts->key_file, NULL);
            if (rc) return el_mosq_fail(m, &u, "TLS files", rc);
        }
        if ((rc = mosquitto_tls_insecure_set(m->mosq, false))) return el_mosq_fail(m, &u, "TLS host check", rc);
    }
    el_mqtt_url_free(&u);
    mosquitto_connect_callback_set(m->mosq, el_on_connect);
    mosquitto_disconnect_callback_set(m->mosq, el_on_disconnect);
    mosquitto_publish_callback_set(m->mosq, el_on_publish);
    mosquitto_log_callback_set(m->mosq, el_on_log);

    /* The network thread takes no signals: SIGPIPE from a dead socket stays
     * pending there instead of killing the process, and the application's
     * SIGINT/SIGTERM handlers run on the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int perr = pthread_create(&m->thread, NULL, el_mqtt_thread, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (perr) {
        el_mqtt_destroy(m);
        return el_error(EL_ERR_RUNTIME, "MQTT: cannot start the network thread: %s", strerror(perr));
    }
    m->thread_started = true;
    *out = m;
    return EL_OK;
}

el_status el_mqtt_publish(el_mqtt *m, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
    if (!m || !topic) return el_error(EL_ERR_INVALID_ARG, "MQTT publish: no client or no topic");
    if (qos == -1) qos = m->qos;
    if (qos < 0 || qos > 2) return el_error(EL_ERR_INVALID_ARG, "MQTT publish to '%s': QoS %d is not 0, 1 or 2", topic, qos);
    if (len > EL_MQTT_MAX_PAYLOAD)
        return el_error(EL_ERR_LIMIT, "MQTT publish to '%s': payload of %zu bytes exceeds MQTT's %u", topic, len,
                        EL_MQTT_MAX_PAYLOAD);
    if (len && !payload) return el_error(EL_ERR_INVALID_ARG, "MQTT publish to '%s': no payload", topic);
    size_t tlen = strlen(topic);
    if (tlen == 0 || tlen > EL_MQTT_MAX_TOPIC || mosquitto_pub_topic_check2(topic, tlen) != MOSQ_ERR_SUCCESS ||
        mosquitto_validate_utf8(topic, (int)tlen) != MOSQ_ERR_SUCCESS)
        return el_error(EL_ERR_INVALID_ARG, "MQTT topic '%s': empty, too long, not UTF-8 or has + or # wildcards",
                        topic);

    pthread_mutex_lock(&m->mu);
    if (retain && m->will_topic && !strcmp(topic, m->will_topic)) {
        /* On failure forget the old one too: re-publishing a stale status
         * would be worse than none. */
        el_msg_free(m->status);
        m->status = el_msg_new(topic, tlen, payload, len, qos, true);
    }
    if (m->connected && !m->head && m->nflight < EL_MQTT_INFLIGHT_MAX) {
        int rc = el_handover(m, topic, payload, len, qos, retain);
        if (rc == MOSQ_ERR_SUCCESS) {
            pthread_mutex_unlock(&m->mu);
            return EL_OK;
        }
        if (!el_rc_retry_later(rc)) {
            pthread_mutex_unlock(&m->mu);
            return el_error(rc == MOSQ_ERR_NOMEM ? EL_ERR_NOMEM
                            : rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE ? EL_ERR_INVALID_ARG
                                                                                 : EL_ERR_RUNTIME,
                            "MQTT publish to '%s': %s", topic, mosquitto_strerror(rc));
        }
        /* The connection just went away: queue like any other. */
    }
    el_mqtt_msg *q = el_msg_new(topic, tlen, payload, len, qos, retain);
    if (!q) {
        pthread_mutex_unlock(&m->mu);
        return el_error(EL_ERR_NOMEM, "MQTT publish to '%s': out of memory queueing %zu bytes", topic, len);
    }
    if (m->nqueued >= m->queue_max) {
        el_mqtt_msg *old = m->head;
        m->head = old->next;
        if (!m->head) m->tail = NULL;
        m->nqueued--;
        m->dropped++;
        el_msg_free(old);
    }
    if (m->tail) m->tail->next = q;
    else m->head = q;
    m->tail = q;
    m->nqueued++;
    el_drain(m); /* connected with a full window: the queue's head may move now */
    pthread_mutex_unlock(&m->mu);
    return EL_OK;
}

/* Waits for an empty queue and no unacknowledged message; true when so. */
static bool el_mqtt_wait_idle(el_mqtt *m, int timeout_ms, size_t *queued, int *inflight)
{
    int64_t until = el_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct timespec ts = el_deadline(until);
    pthread_mutex_lock(&m->mu);
    while ((m->head || m->nflight) && el_now_ms() < until)
        if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) == ETIMEDOUT) break;
    bool idle = !m->head && !m->nflight;
    *queued = m->nqueued;
    *inflight = m->nflight;
    pthread_mutex_unlock(&m->mu);
    return idle;
}

el_status el_mqtt_flush(el_mqtt *m, int timeout_ms)
{
    if (!m) return EL_OK;
    size_t queued;
    int inflight;
    if (el_mqtt_wait_idle(m, timeout_ms, &queued, &inflight)) return EL_OK;
    el_mqtt_stats s;
    el_mqtt_get_stats(m, &s);
    return el_error(EL_ERR_TIMEOUT, "MQTT %s: after %d ms %zu message%s still queued and %d unacknowledged (%s)",
                    m->where, timeout_ms, queued, queued == 1 ? "" : "s", inflight,
                    s.connected ? "connected" : "broker not connected");
}

void el_mqtt_get_stats(el_mqtt *m, el_mqtt_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    out->connected = m->connected;
    out->published = m->published;
    out->dropped = m->dropped;
    /* Waiting now: not yet handed over, or handed over and not yet
     * written (QoS 0) or acknowledged (QoS 1/2). */
    out->queued = m->nqueued + (uint64_t)m->nflight;
    out->reconnects = m->reconnects;
    pthread_mutex_unlock(&m->mu);
}

void el_mqtt_close(el_mqtt *m, int flush_ms)
{
    if (!m) return;
    size_t queued;
    int inflight;
    el_mqtt_wait_idle(m, flush_ms, &queued, &inflight);
    pthread_mutex_lock(&m->mu);
    m->closing = true;
    /* DISCONNECT tells the broker not to publish the will; it also wakes
     * the network thread out of mosquitto_loop. */
    if (m->sock_active && !m->disconnect_sent) {
        m->disconnect_sent = true;
        mosquitto_disconnect(m->mosq);
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->thread_started) pthread_join(m->thread, NULL);
    el_mqtt_destroy(m);
}
