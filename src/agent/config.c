/* Agent configuration: defaults, typed keys, and the YAML file (libyaml).
 *
 * One table of keys serves flags and YAML alike, so both check types and
 * ranges the same way. The YAML reader walks libyaml's event stream and
 * accepts exactly two levels (the top mapping and the `mqtt` mapping): any
 * deeper structure is a type error at its first event, so nesting cannot
 * grow. Aliases are refused outright: an alias can re-expand a large
 * anchored node many times (the "billion laughs" document) and a config
 * file has no use for them. */
#include "edgelens/agent.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

typedef enum el_key_kind { EL_K_STR, EL_K_FLOAT, EL_K_DOUBLE, EL_K_BOOL, EL_K_INT, EL_K_FORMAT, EL_K_PRECISION } el_key_kind;

typedef struct el_key {
    const char *name;
    el_key_kind kind;
    size_t off;
    double lo, hi;      /* numeric range, inclusive */
    const char *what;   /* the expected value, for messages */
} el_key;

#define EL_OFF(f) offsetof(el_agent_config, f)
static const el_key el_keys[] = {
    {"model", EL_K_STR, EL_OFF(model), 0, 0, "a path"},
    {"labels", EL_K_STR, EL_OFF(labels), 0, 0, "a path"},
    {"source", EL_K_STR, EL_OFF(source), 0, 0, "a device, file or URL"},
    {"thing", EL_K_STR, EL_OFF(thing), 0, 0, "a name"},
    {"topic", EL_K_STR, EL_OFF(topic), 0, 0, "an MQTT topic"},
    {"format", EL_K_FORMAT, EL_OFF(format), 0, 0, "seed or full"},
    {"threshold", EL_K_FLOAT, EL_OFF(threshold), 0, 1, "a number in [0,1]"},
    {"http", EL_K_STR, EL_OFF(http), 0, 0, "HOST:PORT"},
    /* A day bounds the delay so a typo cannot park the device for years. */
    {"retry-delay", EL_K_DOUBLE, EL_OFF(retry_delay), 0, 86400, "seconds in [0,86400]"},
    {"retry_delay", EL_K_DOUBLE, EL_OFF(retry_delay), 0, 86400, "seconds in [0,86400]"},
    {"loop", EL_K_BOOL, EL_OFF(loop), 0, 0, "true or false"},
    {"pace", EL_K_BOOL, EL_OFF(pace), 0, 0, "true or false"},
    {"threads", EL_K_INT, EL_OFF(threads), 0, 256, "an integer in [0,256]"},
    {"precision", EL_K_PRECISION, EL_OFF(precision), 0, 0, "auto, fp32, bf16x3 or bf16"},
    {"mqtt.url", EL_K_STR, EL_OFF(mqtt.url), 0, 0, "an mqtt:// or mqtts:// URL"},
    {"mqtt.username", EL_K_STR, EL_OFF(mqtt.username), 0, 0, "a name"},
    {"mqtt.password", EL_K_STR, EL_OFF(mqtt.password), 0, 0, "a string"},
    {"mqtt.ca_file", EL_K_STR, EL_OFF(mqtt.ca_file), 0, 0, "a path"},
    {"mqtt.cert_file", EL_K_STR, EL_OFF(mqtt.cert_file), 0, 0, "a path"},
    {"mqtt.key_file", EL_K_STR, EL_OFF(mqtt.key_file), 0, 0, "a path"},
    {"mqtt.client_id", EL_K_STR, EL_OFF(mqtt.client_id), 0, 0, "a string"},
    {"mqtt.qos", EL_K_INT, EL_OFF(mqtt.qos), 0, 2, "0, 1 or 2"},
    /* MQTT's keepalive is 16 bits; libmosquitto refuses values below 5. */
    {"mqtt.keepalive", EL_K_INT, EL_OFF(mqtt.keepalive), 0, 65535, "0 (default) or seconds in [5,65535]"},
};
#define EL_NKEYS (sizeof el_keys / sizeof el_keys[0])

static const el_key *el_key_find(const char *name)
{
    if (!strcmp(name, "mqtt")) name = "mqtt.url";
    for (size_t i = 0; i < EL_NKEYS; i++)
        if (!strcmp(el_keys[i].name, name)) return &el_keys[i];
    return NULL;
}

void el_agent_config_init(el_agent_config *c)
{
    memset(c, 0, sizeof *c);
    c->format = EL_AGENT_FORMAT_FULL;
    c->threshold = 0.5f;
    c->retry_delay = 15;
    c->pace = true;
    c->precision = EL_PRECISION_AUTO;
}

static char **el_str_field(el_agent_config *c, size_t off) { return (char **)((char *)c + off); }

void el_agent_config_free(el_agent_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < EL_NKEYS; i++)
        if (el_keys[i].kind == EL_K_STR) free(*el_str_field(c, el_keys[i].off));
    el_agent_config_init(c);
}

el_status el_agent_config_copy(el_agent_config *dst, const el_agent_config *src)
{
    *dst = *src;
    for (size_t i = 0; i < EL_NKEYS; i++) {
        if (el_keys[i].kind != EL_K_STR) continue;
        char **f = el_str_field(dst, el_keys[i].off);
        if (*f) *f = strdup(*f);
    }
    /* Check after the fact so a failed strdup leaves nothing shared. */
    for (size_t i = 0; i < EL_NKEYS; i++) {
        if (el_keys[i].kind != EL_K_STR) continue;
        const char *s = *el_str_field((el_agent_config *)src, el_keys[i].off);
        if (s && !*el_str_field(dst, el_keys[i].off)) {
            el_agent_config_free(dst);
            return el_error(EL_ERR_NOMEM, "config: out of memory copying '%s'", el_keys[i].name);
        }
    }
    return EL_OK;
}

static bool el_parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) return *out = true, true;
        if (!strcasecmp(v, no[i])) return *out = false, true;
    }
    return false;
}

el_status el_agent_config_set(el_agent_config *c, const char *key, const char *value)
{
    const el_key *k = el_key_find(key);
    if (!k) return el_error(EL_ERR_NOT_FOUND, "unknown key '%s'", key);
    if (!value) {
        /* A YAML null ("key:" or "~") unsets a string; other kinds need a value. */
        if (k->kind != EL_K_STR) return el_error(EL_ERR_INVALID_ARG, "'%s' needs a value (%s)", k->name, k->what);
        char **f = el_str_field(c, k->off);
        free(*f);
        *f = NULL;
        return EL_OK;
    }
    size_t len = strlen(value);
    if (len > EL_AGENT_CONFIG_MAX_VALUE)
        return el_error(EL_ERR_LIMIT, "'%s': value of %zu bytes exceeds the limit of %d", k->name, len,
                        EL_AGENT_CONFIG_MAX_VALUE);
    char *end;
    switch (k->kind) {
    case EL_K_STR: {
        if (!len) return el_error(EL_ERR_INVALID_ARG, "'%s' must not be empty (expected %s)", k->name, k->what);
        char *s = strdup(value);
        if (!s) return el_error(EL_ERR_NOMEM, "'%s': out of memory", k->name);
        char **f = el_str_field(c, k->off);
        free(*f);
        *f = s;
        return EL_OK;
    }
    case EL_K_FLOAT:
    case EL_K_DOUBLE: {
        errno = 0;
        double d = strtod(value, &end);
        if (!len || *end || errno || !isfinite(d) || d < k->lo || d > k->hi || isspace((unsigned char)value[0]))
            return el_error(EL_ERR_INVALID_ARG, "'%s' expects %s, got '%s'", k->name, k->what, value);
        if (k->kind == EL_K_FLOAT) *(float *)((char *)c + k->off) = (float)d;
        else *(double *)((char *)c + k->off) = d;
        return EL_OK;
    }
    case EL_K_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!len || *end || errno || v < k->lo || v > k->hi || isspace((unsigned char)value[0]) ||
            (!strcmp(k->name, "mqtt.keepalive") && v > 0 && v < 5))
            return el_error(EL_ERR_INVALID_ARG, "'%s' expects %s, got '%s'", k->name, k->what, value);
        *(int *)((char *)c + k->off) = (int)v;
        return EL_OK;
    }
    case EL_K_BOOL: {
        bool b;
        if (!el_parse_bool(value, &b))
            return el_error(EL_ERR_INVALID_ARG, "'%s' expects %s, got '%s'", k->name, k->what, value);
        *(bool *)((char *)c + k->off) = b;
        return EL_OK;
    }
    case EL_K_FORMAT:
        if (!strcmp(value, "seed")) c->format = EL_AGENT_FORMAT_SEED;
        else if (!strcmp(value, "full")) c->format = EL_AGENT_FORMAT_FULL;
        else return el_error(EL_ERR_INVALID_ARG, "'%s' expects %s, got '%s'", k->name, k->what, value);
        return EL_OK;
    case EL_K_PRECISION:
        if (el_precision_parse(value, &c->precision) != EL_OK)
            return el_error(EL_ERR_INVALID_ARG, "'%s' expects %s, got '%s'", k->name, k->what, value);
        return EL_OK;
    }
    return el_error(EL_ERR_INVALID_ARG, "'%s': unhandled key kind", k->name);
}

el_status el_agent_config_validate(const el_agent_config *c)
{
    if (!c->source) return el_error(EL_ERR_INVALID_ARG, "no source given (--source SRC or 'source:' in the config)");
    if (c->mqtt.url && strncmp(c->mqtt.url, "mqtt://", 7) && strncmp(c->mqtt.url, "mqtts://", 8))
        return el_error(EL_ERR_INVALID_ARG, "MQTT URL '%s' must start with mqtt:// or mqtts://", c->mqtt.url);
    /* Checked here, not at the first model load: a CPU without bf16 will
     * never get it, so retrying every retry-delay would only hide the error. */
    if (el_precision_check(c->precision) != EL_OK) return el_error_prefix(EL_ERR_INVALID_ARG, "precision: ");
    return EL_OK;
}

/* ---- YAML ------------------------------------------------------------------ */

typedef struct el_yaml {
    yaml_parser_t parser;
    yaml_event_t ev;
    bool have_ev;
    const char *name;
    int events;
} el_yaml;

static const char *el_ev_kind(yaml_event_type_t t)
{
    switch (t) {
    case YAML_SCALAR_EVENT: return "a scalar";
    case YAML_SEQUENCE_START_EVENT: return "a list";
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_ALIAS_EVENT: return "an alias";
    default: return "an unexpected YAML event";
    }
}

/* Next event into y->ev (the previous one is released). Refuses aliases and
 * enforces the event bound, so every caller sees only plain structure. */
static el_status el_yaml_next(el_yaml *y)
{
    if (y->have_ev) yaml_event_delete(&y->ev);
    y->have_ev = false;
    if (++y->events > EL_AGENT_CONFIG_MAX_EVENTS)
        return el_error(EL_ERR_LIMIT, "%s: more than %d YAML events; a config file is much smaller", y->name,
                        EL_AGENT_CONFIG_MAX_EVENTS);
    if (!yaml_parser_parse(&y->parser, &y->ev)) {
        const yaml_parser_t *p = &y->parser;
        if (p->context)
            return el_error(EL_ERR_FORMAT, "%s:%zu: YAML error: %s %s (line %zu)", y->name,
                            p->problem_mark.line + 1, p->problem ? p->problem : "syntax error", p->context,
                            p->context_mark.line + 1);
        return el_error(EL_ERR_FORMAT, "%s:%zu: YAML error: %s", y->name, p->problem_mark.line + 1,
                        p->problem ? p->problem : "syntax error");
    }
    y->have_ev = true;
    if (y->ev.type == YAML_ALIAS_EVENT)
        return el_error(EL_ERR_UNSUPPORTED, "%s:%zu: YAML aliases (*%s) are not supported in the config", y->name,
                        y->ev.start_mark.line + 1, (const char *)y->ev.data.alias.anchor);
    return EL_OK;
}

static size_t el_ev_line(const el_yaml *y) { return y->ev.start_mark.line + 1; }

/* A plain (unquoted) null scalar: "", "~", "null". */
static bool el_ev_is_null(const yaml_event_t *e)
{
    const char *v = (const char *)e->data.scalar.value;
    return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag &&
           (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

static el_status el_ev_scalar_text(el_yaml *y, const char *what, const char **out)
{
    const yaml_event_t *e = &y->ev;
    if (e->data.scalar.length > EL_AGENT_CONFIG_MAX_VALUE)
        return el_error(EL_ERR_LIMIT, "%s:%zu: %s of %zu bytes exceeds the limit of %d", y->name, el_ev_line(y), what,
                        e->data.scalar.length, EL_AGENT_CONFIG_MAX_VALUE);
    if (strlen((const char *)e->data.scalar.value) != e->data.scalar.length)
        return el_error(EL_ERR_FORMAT, "%s:%zu: %s contains a NUL character", y->name, el_ev_line(y), what);
    *out = (const char *)e->data.scalar.value;
    return EL_OK;
}

/* Reads a mapping whose MAPPING_START is the current event. `prefix` is ""
 * at the top level and "mqtt." inside the mqtt mapping. */
static el_status el_yaml_mapping(el_yaml *y, el_agent_config *c, const char *prefix)
{
    char seen[EL_NKEYS + 1][24];
    int nseen = 0;
    for (;;) {
        EL_TRY(el_yaml_next(y));
        if (y->ev.type == YAML_MAPPING_END_EVENT) return EL_OK;
        if (y->ev.type != YAML_SCALAR_EVENT)
            return el_error(EL_ERR_FORMAT, "%s:%zu: a key must be a plain name, found %s", y->name, el_ev_line(y),
                            el_ev_kind(y->ev.type));
        const char *kt = NULL;
        EL_TRY(el_ev_scalar_text(y, "a key", &kt));
        char key[64];
        size_t plen = strlen(prefix), klen = strlen(kt);
        if (plen + klen >= sizeof key)
            return el_error(EL_ERR_NOT_FOUND, "%s:%zu: unknown key '%.40s...'", y->name, el_ev_line(y), kt);
        memcpy(key, prefix, plen);
        memcpy(key + plen, kt, klen + 1);
        size_t kline = el_ev_line(y);
        bool is_mqtt = !*prefix && !strcmp(kt, "mqtt");
        /* "mqtt.url" is reachable only as mqtt: URL or mqtt: {url: ...}. */
        const el_key *k = el_key_find(key);
        if (!k || (!*prefix && !strncmp(kt, "mqtt.", 5)))
            return el_error(EL_ERR_NOT_FOUND, "%s:%zu: unknown key '%s'%s", y->name, kline, key,
                            *prefix ? " in the mqtt mapping" : "");
        /* retry-delay and retry_delay are one key: keep the canonical name. */
        const char *canon = k->name;
        if (!strcmp(canon, "retry_delay")) canon = "retry-delay";
        if (is_mqtt) canon = "mqtt";
        for (int i = 0; i < nseen; i++)
            if (!strcmp(seen[i], canon))
                return el_error(EL_ERR_INVALID_ARG, "%s:%zu: duplicate key '%s'", y->name, kline, key);
        snprintf(seen[nseen++], sizeof seen[0], "%s", canon);

        EL_TRY(el_yaml_next(y));
        if (is_mqtt && y->ev.type == YAML_MAPPING_START_EVENT) {
            EL_TRY(el_yaml_mapping(y, c, "mqtt."));
            continue;
        }
        if (y->ev.type != YAML_SCALAR_EVENT)
            return el_error(EL_ERR_INVALID_ARG, "%s:%zu: key '%s' expects %s, found %s", y->name, kline, key,
                            is_mqtt ? "a URL or a mapping" : k->what, el_ev_kind(y->ev.type));
        const char *v = NULL;
        if (!el_ev_is_null(&y->ev)) EL_TRY(el_ev_scalar_text(y, "a value", &v));
        if (el_agent_config_set(c, key, v) != EL_OK)
            return el_error_prefix(EL_ERR_INVALID_ARG, "%s:%zu: ", y->name, el_ev_line(y));
    }
}

static el_status el_yaml_document(el_yaml *y, el_agent_config *c)
{
    EL_TRY(el_yaml_next(y));
    if (y->ev.type != YAML_STREAM_START_EVENT)
        return el_error(EL_ERR_FORMAT, "%s: not a YAML stream", y->name);
    EL_TRY(el_yaml_next(y));
    if (y->ev.type == YAML_STREAM_END_EVENT) return EL_OK; /* empty file */
    if (y->ev.type != YAML_DOCUMENT_START_EVENT)
        return el_error(EL_ERR_FORMAT, "%s:%zu: expected a YAML document", y->name, el_ev_line(y));
    EL_TRY(el_yaml_next(y));
    if (y->ev.type == YAML_MAPPING_START_EVENT) {
        EL_TRY(el_yaml_mapping(y, c, ""));
    } else if (!(y->ev.type == YAML_SCALAR_EVENT && el_ev_is_null(&y->ev))) {
        return el_error(EL_ERR_FORMAT, "%s:%zu: the config must be a mapping of keys (model: ..., source: ...), found %s",
                        y->name, el_ev_line(y), el_ev_kind(y->ev.type));
    }
    EL_TRY(el_yaml_next(y));
    if (y->ev.type != YAML_DOCUMENT_END_EVENT)
        return el_error(EL_ERR_FORMAT, "%s:%zu: expected the end of the document", y->name, el_ev_line(y));
    EL_TRY(el_yaml_next(y));
    if (y->ev.type != YAML_STREAM_END_EVENT)
        return el_error(EL_ERR_FORMAT, "%s:%zu: only one YAML document is allowed in the config", y->name,
                        el_ev_line(y));
    return EL_OK;
}

el_status el_agent_config_load_yaml_mem(el_agent_config *c, const char *text, size_t len, const char *name)
{
    if (!name) name = "<config>";
    if (!text && len) return el_error(EL_ERR_INVALID_ARG, "%s: no text", name);
    if (len > EL_AGENT_CONFIG_MAX_BYTES)
        return el_error(EL_ERR_LIMIT, "%s: %zu bytes exceeds the config limit of %d", name, len,
                        EL_AGENT_CONFIG_MAX_BYTES);
    el_agent_config tmp;
    EL_TRY(el_agent_config_copy(&tmp, c));
    el_yaml y = {.name = name};
    if (!yaml_parser_initialize(&y.parser)) {
        el_agent_config_free(&tmp);
        return el_error(EL_ERR_NOMEM, "%s: cannot initialise the YAML parser", name);
    }
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)(text ? text : ""), len);
    el_status st = el_yaml_document(&y, &tmp);
    if (y.have_ev) yaml_event_delete(&y.ev);
    yaml_parser_delete(&y.parser);
    if (st != EL_OK) {
        el_agent_config_free(&tmp);
        return st;
    }
    el_agent_config_free(c);
    *c = tmp;
    return EL_OK;
}

el_status el_agent_config_load_yaml(el_agent_config *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return el_error(EL_ERR_IO, "%s: cannot open the config: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return el_error(EL_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size > EL_AGENT_CONFIG_MAX_BYTES) {
        fclose(f);
        return el_error(EL_ERR_LIMIT, "%s: %lld bytes exceeds the config limit of %d", path, (long long)st.st_size,
                        EL_AGENT_CONFIG_MAX_BYTES);
    }
    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return el_error(EL_ERR_NOMEM, "%s: out of memory", path);
    }
    /* Read at most the size seen plus one byte: a file growing meanwhile is
     * caught by the bound rather than read without end. */
    size_t n = fread(buf, 1, cap, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return el_error(EL_ERR_IO, "%s: read error", path);
    }
    if (n >= cap) {
        free(buf);
        return el_error(EL_ERR_LIMIT, "%s: the file grew while being read", path);
    }
    el_status s = el_agent_config_load_yaml_mem(c, buf, n, path);
    free(buf);
    return s;
}
