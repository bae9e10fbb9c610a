/* MQTT publishing through libmosquitto, built for an unreliable network:
 * connecting and reconnecting (with backoff) happen in the background, and
 * while the broker is away messages wait in a bounded queue (oldest dropped,
 * drops counted). Thread-safe: publish from any thread.
 *
 * Behaviour worth knowing:
 * - after any reconnect, the latest retained message published on the will
 *   topic is re-sent first (unless a newer one is queued), so a retained
 *   "online" status survives a network blip that fired the will;
 * - TLS files are checked at open (missing: EL_ERR_NOT_FOUND, unreadable or
 *   mismatched: EL_ERR_FORMAT / EL_ERR_INVALID_ARG); TLS options with a plain
 *   mqtt:// URL are refused; without ca_file the system store is used;
 * - user and password in the URL may be percent-encoded; passwords print as
 *   *** in messages;
 * - stats: `published` counts QoS 0 once written and QoS 1/2 once
 *   acknowledged; `queued` includes messages handed over but unacknowledged;
 * - the network thread is our own (mosquitto_loop), reconnecting with
 *   exponential backoff and jitter, so no error stops it for good. */
#ifndef EL_SINKS_MQTT_H
#define EL_SINKS_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgelens/status.h"

typedef struct el_mqtt el_mqtt;

typedef struct el_mqtt_opts {
    const char *url;          /* mqtt://[user[:pass]@]host[:port] or mqtts://... */
    const char *client_id;    /* NULL: "edgelens-<pid>" */
    const char *username;     /* override the URL's */
    const char *password;
    const char *ca_file;      /* mqtts: CA bundle (NULL: system default) */
    const char *cert_file;    /* mqtts: client certificate */
    const char *key_file;     /* mqtts: client key */
    int qos;                  /* default QoS for publishes, 0..2 */
    int keepalive_s;          /* 0: 30 */
    const char *will_topic;   /* last will (NULL: none) */
    const char *will_payload;
    bool will_retain;
    size_t queue_max;         /* messages kept while disconnected; 0: 1000 */
    int reconnect_min_s;      /* backoff bounds; 0: 1 and 30 */
    int reconnect_max_s;
} el_mqtt_opts;

typedef struct el_mqtt_stats {
    bool connected;
    uint64_t published;       /* handed to the broker */
    uint64_t dropped;         /* dropped from a full queue */
    uint64_t queued;          /* waiting now */
    uint64_t reconnects;
} el_mqtt_stats;

/* Validates the options (a malformed URL is an error naming it) and starts
 * connecting in the background; returns without waiting for the broker. */
el_status el_mqtt_open(const el_mqtt_opts *opts, el_mqtt **out);

/* Publishes, or queues while disconnected. Copies topic and payload. qos -1
 * means the default. Never blocks on the network. */
el_status el_mqtt_publish(el_mqtt *m, const char *topic, const void *payload, size_t len, int qos, bool retain);

/* Waits until the queue is empty and every QoS>0 message is acknowledged,
 * or timeout_ms passed (EL_ERR_TIMEOUT). */
el_status el_mqtt_flush(el_mqtt *m, int timeout_ms);

void el_mqtt_get_stats(el_mqtt *m, el_mqtt_stats *out);

/* Flushes for at most flush_ms, disconnects cleanly (so no last will is
 * sent), frees everything. NULL is fine. */
void el_mqtt_close(el_mqtt *m, int flush_ms);

#endif
