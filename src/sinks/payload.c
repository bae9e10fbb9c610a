/* The JSON documents edgelens publishes.
 *
 * The seed payload is written by hand, not with cJSON: it must be byte for
 * byte what the guide's Python Lambda sent through json.dumps, i.e. ", " and
 * ": " separators, non-ASCII escaped as \uXXXX (ensure_ascii), and the score
 * with exactly two decimals (87.23, 65.10: cJSON would print 65.1). The full
 * and status documents are ordinary cJSON objects. */
#include "sinks/payload.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* ---- a growable text buffer --------------------------------------------- */

typedef struct el_sbuf {
    char *p;
    size_t len, cap;
    bool failed;
} el_sbuf;

static void el_sbuf_put(el_sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void el_sbuf_str(el_sbuf *b, const char *s) { el_sbuf_put(b, s, strlen(s)); }

static char *el_sbuf_take(el_sbuf *b)
{
    if (b->failed) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes one code point at s[0..n); returns its length, or 0 when the bytes
 * are not well-formed UTF-8 (overlongs, surrogates and values past U+10FFFF
 * included, as RFC 3629 says). */
static size_t el_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) len = 2, c = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, c = s[0] & 0x0F, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, c = s[0] & 0x07, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

/* A JSON string literal the way Python's json.dumps writes it by default
 * (ensure_ascii=True): \" \\ \n \r \t \b \f, every other byte outside
 * ' '..'~' as \u00xx, non-ASCII as \uxxxx (lowercase hex, a surrogate pair
 * past the BMP). Bytes that are not UTF-8 become U+FFFD so the output is
 * always valid JSON. */
static void el_json_str_ascii(el_sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char esc[16];
    el_sbuf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = el_utf8_next(p + i, n - i, &c);
        if (k == 0) {
            c = 0xFFFD;
            k = 1;
        }
        i += k;
        switch (c) {
        case '"': el_sbuf_put(b, "\\\"", 2); continue;
        case '\\': el_sbuf_put(b, "\\\\", 2); continue;
        case '\n': el_sbuf_put(b, "\\n", 2); continue;
        case '\r': el_sbuf_put(b, "\\r", 2); continue;
        case '\t': el_sbuf_put(b, "\\t", 2); continue;
        case '\b': el_sbuf_put(b, "\\b", 2); continue;
        case '\f': el_sbuf_put(b, "\\f", 2); continue;
        default: break;
        }
        if (c >= 0x20 && c <= 0x7E) {
            char ch = (char)c;
            el_sbuf_put(b, &ch, 1);
        } else if (c < 0x10000) {
            snprintf(esc, sizeof esc, "\\u%04" PRIx32, c);
            el_sbuf_str(b, esc);
        } else {
            uint32_t v = c - 0x10000;
            snprintf(esc, sizeof esc, "\\u%04" PRIx32 "\\u%04" PRIx32, 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            el_sbuf_str(b, esc);
        }
    }
    el_sbuf_put(b, "\"", 1);
}

/* A copy of s whose malformed UTF-8 bytes are replaced by U+FFFD: cJSON
 * passes bytes through, and one bad byte would make the whole document
 * unparsable for every subscriber. NULL only when out of memory. */
static char *el_utf8_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 3) return NULL;
    char *out = malloc(3 * n + 1); /* one bad byte grows to three */
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = el_utf8_next(p + i, n - i, &c);
        if (k == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- seed ----------------------------------------------------------------- */

static void el_seed_key(const el_detection *d, char *buf, size_t cap, const char **key)
{
    if (d->label) {
        *key = d->label;
    } else {
        snprintf(buf, cap, "class %d", d->class_id);
        *key = buf;
    }
}

char *el_payload_seed(const el_detection *d, int n)
{
    el_sbuf b = {0};
    if (!d || n <= 0) {
        el_sbuf_str(&b, "{}");
        return el_sbuf_take(&b);
    }
    /* best[j]: the detection whose score key j prints. Key j sits where the
     * key first occurred (a Python dict keeps the position of its first
     * insertion); its value is the highest score seen for it. */
    int *best = malloc((size_t)n * sizeof *best);
    if (!best) return NULL;
    int nkeys = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(d[i].score)) continue; /* JSON has no NaN/Inf */
        char bi[32], bj[32];
        const char *ki, *kj;
        el_seed_key(&d[i], bi, sizeof bi, &ki);
        int found = -1;
        for (int j = 0; j < nkeys && found < 0; j++) {
            el_seed_key(&d[best[j]], bj, sizeof bj, &kj);
            if (!strcmp(ki, kj)) found = j;
        }
        if (found < 0) best[nkeys++] = i;
        else if (d[i].score > d[best[found]].score) best[found] = i;
    }
    el_sbuf_put(&b, "{", 1);
    for (int j = 0; j < nkeys; j++) {
        char bk[32], num[64];
        const char *key;
        el_seed_key(&d[best[j]], bk, sizeof bk, &key);
        if (j) el_sbuf_put(&b, ", ", 2);
        el_json_str_ascii(&b, key);
        double v = (double)d[best[j]].score * 100.0;
        if (v == 0) v = 0; /* no "-0.00" */
        snprintf(num, sizeof num, ": %.2f", v);
        el_sbuf_str(&b, num);
    }
    el_sbuf_put(&b, "}", 1);
    free(best);
    return el_sbuf_take(&b);
}

/* ---- full and status documents -------------------------------------------- */

static double el_round_to(double v, double scale) { return isfinite(v) ? round(v * scale) / scale : v; }

/* UTC ISO 8601 with milliseconds: 2026-11-26T14:03:39.123Z. Non-finite or
 * out-of-range times print as the epoch rather than failing the document. */
static void el_iso8601(double t, char *buf, size_t cap)
{
    if (!isfinite(t) || t < -62135596800.0 || t > 253402300799.0) t = 0; /* years 1..9999 */
    long long ms = llround(t * 1000.0);
    long long sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(buf, cap, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
}

/* Adds a string member (null when s is NULL); false when out of memory. */
static bool el_add_str(cJSON *o, const char *key, const char *s)
{
    if (!s) return cJSON_AddNullToObject(o, key) != NULL;
    char *c = el_utf8_clean(s);
    if (!c) return false;
    bool ok = cJSON_AddStringToObject(o, key, c) != NULL;
    free(c);
    return ok;
}

static char *el_print(cJSON *o, bool ok)
{
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *el_payload_full(const el_payload_meta *m, const el_detection *d, int n)
{
    static const el_payload_meta none = {0};
    if (!m) m = &none;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char ts[128], frame[32];
    el_iso8601(m->time_unix, ts, sizeof ts);
    /* Raw keeps all 64 bits of the frame number (a double keeps 53). */
    snprintf(frame, sizeof frame, "%" PRIu64, m->frame);
    bool ok = el_add_str(o, "thing", m->thing) && cJSON_AddStringToObject(o, "timestamp", ts) &&
              cJSON_AddRawToObject(o, "frame", frame) && el_add_str(o, "source", m->source) &&
              el_add_str(o, "model", m->model) && cJSON_AddNumberToObject(o, "width", m->width) &&
              cJSON_AddNumberToObject(o, "height", m->height) &&
              cJSON_AddNumberToObject(o, "inference_ms", el_round_to(m->inference_ms, 1e3));
    cJSON *arr = ok ? cJSON_AddArrayToObject(o, "detections") : NULL;
    ok = ok && arr;
    for (int i = 0; ok && d && i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(arr, e);
        if (!ok) {
            cJSON_Delete(e);
            break;
        }
        /* Same rounding as `edgelens detect --json`: 1e-4 is below any
         * threshold anyone sets, 1e-6 of a box is far below a pixel. */
        ok = el_add_str(e, "label", d[i].label) && cJSON_AddNumberToObject(e, "class_id", d[i].class_id) &&
             cJSON_AddNumberToObject(e, "score", el_round_to(d[i].score, 1e4));
        cJSON *box = ok ? cJSON_AddArrayToObject(e, "box") : NULL;
        ok = ok && box;
        for (int k = 0; ok && k < 4; k++) {
            cJSON *v = cJSON_CreateNumber(el_round_to(d[i].box[k], 1e6));
            ok = v && cJSON_AddItemToArray(box, v);
            if (!ok) cJSON_Delete(v);
        }
    }
    return el_print(o, ok);
}

char *el_payload_status_doc(const el_payload_status *s)
{
    static const el_payload_status none = {0};
    if (!s) s = &none;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char ts[128]; /* room for any int fields, which -Wformat-truncation assumes */
    el_iso8601(s->time_unix, ts, sizeof ts);
    /* Every key is always present (null when unknown), so consumers can rely
     * on one schema whatever the state. */
    bool ok = el_add_str(o, "thing", s->thing) && el_add_str(o, "state", s->state) &&
              el_add_str(o, "reason", s->reason) && el_add_str(o, "model", s->model) &&
              cJSON_AddNumberToObject(o, "fps", el_round_to(s->fps, 1e2)) &&
              el_add_str(o, "version", s->version) && cJSON_AddStringToObject(o, "timestamp", ts);
    return el_print(o, ok);
}
