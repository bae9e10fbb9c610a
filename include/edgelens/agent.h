/* edgelens device agent: frame source -> detector -> sinks, forever.
 *
 * The loop of the DeepLens guide as a service: load the model, publish
 * "Model loaded" and "Start inferencing" to the results topic, then for
 * every newest frame detect and publish a payload; on any failure publish
 * "Test failed: <reason>" (and a retained error status), wait the retry
 * delay and start the whole thing again. Results go to MQTT when a broker
 * URL is configured, otherwise to a results stream as JSON Lines.
 *
 * Configuration comes from a YAML file whose keys mirror the command-line
 * flags (see el_agent_config_set for the list); the CLI applies its flags on
 * top of the file, so flags win. */
#ifndef EDGELENS_AGENT_H
#define EDGELENS_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "edgelens/engine.h"
#include "edgelens/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EL_AGENT_VERSION
#define EL_AGENT_VERSION "0.1.0"
#endif

/* Bounds on configuration input: a config file larger than this, or nested
 * deeper, or with more parser events, is refused (a YAML file is a few
 * dozen lines; these only stop hostile or mistaken inputs). */
#define EL_AGENT_CONFIG_MAX_BYTES  (1 << 20)
#define EL_AGENT_CONFIG_MAX_EVENTS 10000
#define EL_AGENT_CONFIG_MAX_DEPTH  8
#define EL_AGENT_CONFIG_MAX_VALUE  4096  /* bytes of one scalar */

typedef enum el_agent_format {
    EL_AGENT_FORMAT_FULL = 0,  /* one JSON object per frame with boxes */
    EL_AGENT_FORMAT_SEED       /* the guide's {"label": score*100, ...} */
} el_agent_format;

typedef struct el_agent_mqtt_config {
    char *url;          /* mqtt://[user[:pass]@]host[:port] or mqtts://...; NULL: no MQTT */
    char *username;     /* NULL: the URL's */
    char *password;
    char *ca_file;      /* mqtts only */
    char *cert_file;
    char *key_file;
    char *client_id;    /* NULL: "edgelens-<pid>" */
    int qos;            /* 0..2, default 0 (as the guide) */
    int keepalive;      /* seconds, 0: 30 */
} el_agent_mqtt_config;

/* Every string is malloc'd and owned by the config (NULL when unset);
 * release with el_agent_config_free. */
typedef struct el_agent_config {
    char *model;        /* model directory, .pb, model.json or .tar.gz; NULL: the
                           default model (el_detector_default_model) */
    char *labels;       /* label map overriding the model's; NULL: the model's */
    char *source;       /* /dev/videoN, file, URL, image or directory (required) */
    char *thing;        /* NULL: the host name */
    char *topic;        /* NULL: $aws/things/<thing>/infer */
    el_agent_format format;
    float threshold;    /* keep detections with score >= threshold; default 0.5 */
    char *http;         /* HOST:PORT of the live view; NULL: none */
    double retry_delay; /* seconds before a restart after a failure; default 15 */
    bool loop;          /* restart finite sources at their end */
    bool pace;          /* play files at their native frame rate (default true);
                           false: as fast as they decode (benchmarks) */
    int threads;        /* detector threads, 0: one per core */
    el_precision precision; /* convolution arithmetic (engine.h); default auto */
    el_agent_mqtt_config mqtt;
} el_agent_config;

/* Defaults: format full, threshold 0.5, retry delay 15 s, everything else
 * unset/0. Never fails. */
void el_agent_config_init(el_agent_config *c);

/* Releases the strings and re-initialises *c. NULL is fine. */
void el_agent_config_free(el_agent_config *c);

/* Deep copy: *dst (uninitialised) receives copies of src's strings; on
 * failure *dst is left initialised and empty. */
el_status el_agent_config_copy(el_agent_config *dst, const el_agent_config *src);

/* Sets one key from its text form, as a flag or a YAML scalar gives it;
 * type-checked (numbers, ranges, booleans true/false/yes/no/on/off, format
 * seed|full). Keys: model, labels, source, thing, topic, format, threshold,
 * http, retry-delay (also retry_delay), loop, pace, threads, precision
 * (auto|fp32|bf16x3|bf16), and mqtt.url,
 * mqtt.username, mqtt.password, mqtt.ca_file, mqtt.cert_file, mqtt.key_file,
 * mqtt.client_id, mqtt.qos, mqtt.keepalive ("mqtt" alone is mqtt.url).
 * An unknown key is EL_ERR_NOT_FOUND, a bad value EL_ERR_INVALID_ARG; on
 * failure *c is unchanged. The value is copied. */
el_status el_agent_config_set(el_agent_config *c, const char *key, const char *value);

/* Reads a YAML config file on top of *c: keys present override, others keep
 * their value. The top level is a mapping of the keys above; `mqtt` is
 * either a scalar (the URL) or a mapping of url, username, password,
 * ca_file, cert_file, key_file, client_id, qos, keepalive. An empty file is
 * an empty config. Errors name the file, the line and the key: unknown or
 * duplicate keys, wrong types (a list where a number belongs, ...), syntax
 * errors. Bounded (EL_AGENT_CONFIG_MAX_*); YAML aliases are refused, so
 * alias bombs cannot expand. On failure *c is unchanged. */
el_status el_agent_config_load_yaml(el_agent_config *c, const char *path);

/* The same from memory; `name` is used in messages (NULL: "<config>"). */
el_status el_agent_config_load_yaml_mem(el_agent_config *c, const char *text, size_t len, const char *name);

/* Checks the config is complete enough to run (a source given, the MQTT
 * URL's scheme, a precision this CPU runs). */
el_status el_agent_config_validate(const el_agent_config *c);

/* Called by the agent on a reload request (SIGHUP): fills *out (initialised
 * by the agent with el_agent_config_init) with the new configuration. On
 * failure the agent logs the message and keeps running with the old one. */
typedef el_status (*el_agent_reload_fn)(void *ctx, el_agent_config *out);

/* How the caller steers and observes a running agent. Everything is
 * borrowed for the duration of el_agent_run. */
typedef struct el_agent_control {
    /* Nonzero: stop cleanly (offline status, queue flushed within
     * EL_AGENT_FLUSH_MS). Typically set by a SIGTERM/SIGINT handler; the
     * agent polls it at least every 100 ms, also during the retry delay. */
    volatile sig_atomic_t *stop;
    /* Nonzero: reload (the agent resets it to 0, calls reload_fn and
     * restarts the loop with the result). NULL: never. */
    volatile sig_atomic_t *reload;
    el_agent_reload_fn reload_fn;
    void *reload_ctx;
    /* Without MQTT, one JSON document per frame and line goes here (NULL:
     * nowhere). When writing fails with EPIPE (the reader went away, as in
     * `edgelens run | head`), the agent stops cleanly as if *stop were set;
     * the caller should ignore SIGPIPE. */
    FILE *results;
    /* Log lines ("Model loaded", "Test failed: ...", reconnects) go here
     * (NULL: nowhere). */
    FILE *log;
} el_agent_control;

#define EL_AGENT_FLUSH_MS 5000

/* Runs the agent until *ctl->stop becomes nonzero; returns EL_OK after a
 * clean stop. Failures while running (model, source, inference) are not
 * returned: they are reported and retried, as in the guide. Fails only when
 * the configuration itself cannot work (EL_ERR_INVALID_ARG: missing model or
 * source, a malformed MQTT URL or HTTP address; EL_ERR_NOT_FOUND: no model
given and no default model installed). `cfg` is only read, and
 * may be freed when this returns. */
el_status el_agent_run(const el_agent_config *cfg, const el_agent_control *ctl);

#ifdef __cplusplus
}
#endif
#endif
