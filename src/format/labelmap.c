/* TF Object Detection API label maps: a StringIntLabelMap in protobuf text
 * format (object_detection/protos/string_int_label_map.proto):
 *
 *   item { id: 1 name: 'person' display_name: "person" }
 *
 * Only `item` is accepted at the top level (the message has no other
 * field). Inside an item we read id, name and display_name and skip every
 * other field (keypoints, frequency, instance_count, ...) whatever its
 * shape, so newer label maps still load. Everything is bounded: file size,
 * nesting depth, item count, name length. */
#include "edgelens/labels.h"

#include "core/file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EL_LABELS_NAME_MAX 1024
/* A label map is a few KB; this bound only stops us reading a wrong file. */
#define EL_LABELS_FILE_MAX ((size_t)64 << 20)
/* Real label maps nest two levels (item { keypoints { ... } }). */
#define EL_LABELS_MAX_DEPTH 32

typedef struct el_label_item {
    int id;
    int line;
    char *name; /* display_name if present, else name, else "" */
} el_label_item;

struct el_labels {
    el_label_item *items; /* sorted by id */
    int n;
    int cap;
    int max_id;
};

/* ---- tokenizer ------------------------------------------------------------ */

typedef enum el_tk {
    EL_TK_EOF,
    EL_TK_IDENT,
    EL_TK_NUMBER,
    EL_TK_STRING,
    EL_TK_PUNCT
} el_tk;

typedef struct el_lex {
    const char *src; /* file name for messages */
    const char *text;
    size_t len;
    size_t pos;
    int line;
    /* current token */
    el_tk kind;
    int tline;
    const char *tp; /* token text (raw; for strings including quotes) */
    size_t tn;
    char *sbuf; /* decoded string value of an EL_TK_STRING token */
    size_t slen;
    size_t scap;
} el_lex;

static el_status el_lex_err(const el_lex *lx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static el_status el_lex_err(const el_lex *lx, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_error(EL_ERR_FORMAT, "%s:%d: %s", lx->src, line, msg);
}

/* Describes the current token for "expected X, found Y" messages. */
static const char *el_tok_desc(const el_lex *lx, char *buf, size_t cap)
{
    switch (lx->kind) {
    case EL_TK_EOF: return "end of file";
    case EL_TK_STRING: return "a string";
    case EL_TK_PUNCT: snprintf(buf, cap, "'%c'", lx->tp[0]); return buf;
    case EL_TK_IDENT:
    case EL_TK_NUMBER: {
        int n = lx->tn > 40 ? 40 : (int)lx->tn;
        snprintf(buf, cap, "'%.*s%s'", n, lx->tp, lx->tn > 40 ? "..." : "");
        return buf;
    }
    }
    return "?";
}

static bool el_is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool el_is_digit(int c) { return c >= '0' && c <= '9'; }
static bool el_is_ident(int c) { return el_is_ident_start(c) || el_is_digit(c); }
static int el_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static el_status el_sbuf_put(el_lex *lx, const char *p, size_t n)
{
    if (lx->slen + n + 1 > lx->scap) {
        size_t cap = lx->scap ? lx->scap : 64;
        while (cap < lx->slen + n + 1) cap *= 2;
        char *nb = realloc(lx->sbuf, cap);
        if (!nb) return el_error(EL_ERR_NOMEM, "%s: out of memory", lx->src);
        lx->sbuf = nb;
        lx->scap = cap;
    }
    memcpy(lx->sbuf + lx->slen, p, n);
    lx->slen += n;
    lx->sbuf[lx->slen] = '\0';
    return EL_OK;
}

static el_status el_sbuf_utf8(el_lex *lx, uint32_t cp, int line)
{
    char u[4];
    size_t n;
    if (cp >= 0xD800 && cp <= 0xDFFF) return el_lex_err(lx, line, "\\u escape names a surrogate (U+%04X)", (unsigned)cp);
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else if (cp <= 0x10FFFF) {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    } else {
        return el_lex_err(lx, line, "\\U escape out of range (0x%X)", (unsigned)cp);
    }
    return el_sbuf_put(lx, u, n);
}

/* A quoted string with protobuf text format's (C-like) escapes. Strings may
 * not span lines, as in protobuf's tokenizer. */
static el_status el_lex_string(el_lex *lx)
{
    const char *t = lx->text;
    char q = t[lx->pos];
    size_t i = lx->pos + 1;
    lx->slen = 0;
    EL_TRY(el_sbuf_put(lx, "", 0));
    for (;;) {
        if (i >= lx->len || t[i] == '\n')
            return el_lex_err(lx, lx->tline, "unterminated string (missing closing %c)", q);
        char c = t[i];
        if (c == q) {
            i++;
            break;
        }
        if (c != '\\') {
            size_t j = i;
            while (j < lx->len && t[j] != q && t[j] != '\\' && t[j] != '\n') j++;
            EL_TRY(el_sbuf_put(lx, t + i, j - i));
            i = j;
            continue;
        }
        if (++i >= lx->len) return el_lex_err(lx, lx->tline, "unterminated string (ends in a backslash)");
        char e = t[i++];
        char v;
        switch (e) {
        case 'n': v = '\n'; break;
        case 't': v = '\t'; break;
        case 'r': v = '\r'; break;
        case 'a': v = '\a'; break;
        case 'b': v = '\b'; break;
        case 'f': v = '\f'; break;
        case 'v': v = '\v'; break;
        case '\\': v = '\\'; break;
        case '\'': v = '\''; break;
        case '"': v = '"'; break;
        case '?': v = '?'; break;
        case 'x':
        case 'X': {
            int h = i < lx->len ? el_hexval((unsigned char)t[i]) : -1;
            if (h < 0) return el_lex_err(lx, lx->tline, "\\x escape without hex digits");
            unsigned val = (unsigned)h;
            i++;
            if (i < lx->len && (h = el_hexval((unsigned char)t[i])) >= 0) {
                val = val * 16 + (unsigned)h;
                i++;
            }
            v = (char)val;
            break;
        }
        case 'u':
        case 'U': {
            int nd = e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < nd; k++) {
                int h = i < lx->len ? el_hexval((unsigned char)t[i]) : -1;
                if (h < 0) return el_lex_err(lx, lx->tline, "\\%c escape needs %d hex digits", e, nd);
                if (cp > 0x10FFFF) return el_lex_err(lx, lx->tline, "\\U escape out of range");
                cp = cp * 16 + (uint32_t)h;
                i++;
            }
            EL_TRY(el_sbuf_utf8(lx, cp, lx->tline));
            continue;
        }
        default:
            if (e >= '0' && e <= '7') {
                unsigned val = (unsigned)(e - '0');
                for (int k = 0; k < 2 && i < lx->len && t[i] >= '0' && t[i] <= '7'; k++)
                    val = val * 8 + (unsigned)(t[i++] - '0');
                if (val > 255) return el_lex_err(lx, lx->tline, "octal escape \\%o exceeds a byte", val);
                v = (char)val;
                break;
            }
            if (e == '\n') return el_lex_err(lx, lx->tline, "unterminated string (missing closing %c)", q);
            return el_lex_err(lx, lx->tline, "unknown escape \\%c in string", (unsigned char)e >= 0x20 && (unsigned char)e < 0x7f ? e : '?');
        }
        EL_TRY(el_sbuf_put(lx, &v, 1));
    }
    lx->kind = EL_TK_STRING;
    lx->tn = i - lx->pos;
    lx->pos = i;
    return EL_OK;
}

/* Advances to the next token. */
static el_status el_lex_next(el_lex *lx)
{
    const char *t = lx->text;
    for (;;) {
        if (lx->pos >= lx->len) {
            lx->kind = EL_TK_EOF;
            lx->tline = lx->line;
            lx->tp = "";
            lx->tn = 0;
            return EL_OK;
        }
        char c = t[lx->pos];
        if (c == '\n') {
            lx->line++;
            lx->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
            lx->pos++;
        } else if (c == '#') {
            while (lx->pos < lx->len && t[lx->pos] != '\n') lx->pos++;
        } else {
            break;
        }
    }
    size_t s = lx->pos;
    unsigned char c = (unsigned char)t[s];
    lx->tline = lx->line;
    lx->tp = t + s;
    if (c == '"' || c == '\'') return el_lex_string(lx);
    if (c && strchr("{}<>[]:,;", c)) {
        lx->kind = EL_TK_PUNCT;
        lx->tn = 1;
        lx->pos++;
        return EL_OK;
    }
    if (el_is_ident_start(c)) {
        size_t e = s + 1;
        while (e < lx->len && (el_is_ident(t[e]) || t[e] == '.')) e++;
        lx->kind = EL_TK_IDENT;
        lx->tn = e - s;
        lx->pos = e;
        return EL_OK;
    }
    /* Numbers as protobuf's tokenizer sees them, loosely: an optional sign,
     * then digits, letters (hex, exponents, "inf", a trailing f) and dots,
     * with a sign allowed right after an exponent. Only `id` is converted,
     * strictly; other numbers are skipped. */
    if (el_is_digit(c) || c == '.' || ((c == '-' || c == '+') && s + 1 < lx->len &&
                                       (el_is_ident(t[s + 1]) || t[s + 1] == '.'))) {
        size_t e = s + 1;
        while (e < lx->len) {
            char d = t[e];
            if (el_is_ident(d) || d == '.') {
                e++;
            } else if ((d == '-' || d == '+') && (t[e - 1] == 'e' || t[e - 1] == 'E') && el_is_digit(t[s + (c == '-' || c == '+')])) {
                e++;
            } else {
                break;
            }
        }
        lx->kind = EL_TK_NUMBER;
        lx->tn = e - s;
        lx->pos = e;
        return EL_OK;
    }
    if (c >= 0x20 && c < 0x7f) return el_lex_err(lx, lx->line, "unexpected character '%c'", c);
    return el_lex_err(lx, lx->line, "unexpected byte 0x%02x", c);
}

static bool el_lex_is(const el_lex *lx, char p)
{
    return lx->kind == EL_TK_PUNCT && lx->tp[0] == p;
}

static bool el_lex_is_word(const el_lex *lx, const char *w)
{
    return lx->kind == EL_TK_IDENT && lx->tn == strlen(w) && memcmp(lx->tp, w, lx->tn) == 0;
}

static el_status el_lex_expect(el_lex *lx, char p, const char *what)
{
    char d[64];
    if (!el_lex_is(lx, p)) return el_lex_err(lx, lx->tline, "expected '%c' %s, found %s", p, what, el_tok_desc(lx, d, sizeof d));
    return el_lex_next(lx);
}

/* ---- skipping unknown fields ------------------------------------------------ */

static el_status el_skip_message(el_lex *lx, int depth);

/* One value of an unknown field (after its optional ':'): a scalar (number,
 * identifier/enum, strings), a message in {} or <>, or a list in []. */
static el_status el_skip_value(el_lex *lx, int depth)
{
    char d[64];
    if (el_lex_is(lx, '{') || el_lex_is(lx, '<')) return el_skip_message(lx, depth);
    if (el_lex_is(lx, '[')) {
        if (depth + 1 > EL_LABELS_MAX_DEPTH)
            return el_error(EL_ERR_LIMIT, "%s:%d: nesting deeper than %d levels", lx->src, lx->tline, EL_LABELS_MAX_DEPTH);
        EL_TRY(el_lex_next(lx));
        if (el_lex_is(lx, ']')) return el_lex_next(lx);
        for (;;) {
            EL_TRY(el_skip_value(lx, depth + 1));
            if (el_lex_is(lx, ']')) return el_lex_next(lx);
            EL_TRY(el_lex_expect(lx, ',', "between list elements"));
        }
    }
    if (lx->kind == EL_TK_STRING) {
        while (lx->kind == EL_TK_STRING) EL_TRY(el_lex_next(lx));
        return EL_OK;
    }
    if (lx->kind == EL_TK_NUMBER || lx->kind == EL_TK_IDENT) return el_lex_next(lx);
    return el_lex_err(lx, lx->tline, "expected a value, found %s", el_tok_desc(lx, d, sizeof d));
}

/* Fields of an unknown message up to its closing brace. */
static el_status el_skip_fields(el_lex *lx, char close, int depth)
{
    char d[64];
    while (!el_lex_is(lx, close)) {
        if (lx->kind != EL_TK_IDENT)
            return el_lex_err(lx, lx->tline, "expected a field name or '%c', found %s", close, el_tok_desc(lx, d, sizeof d));
        EL_TRY(el_lex_next(lx));
        if (el_lex_is(lx, ':')) {
            EL_TRY(el_lex_next(lx));
        } else if (!el_lex_is(lx, '{') && !el_lex_is(lx, '<') && !el_lex_is(lx, '[')) {
            /* Only message values may omit the colon. */
            return el_lex_err(lx, lx->tline, "expected ':' or '{' after a field name, found %s", el_tok_desc(lx, d, sizeof d));
        }
        EL_TRY(el_skip_value(lx, depth));
        if (el_lex_is(lx, ',') || el_lex_is(lx, ';')) EL_TRY(el_lex_next(lx));
    }
    return EL_OK;
}

static el_status el_skip_message(el_lex *lx, int depth)
{
    char close = el_lex_is(lx, '{') ? '}' : '>';
    int line = lx->tline;
    if (depth + 1 > EL_LABELS_MAX_DEPTH)
        return el_error(EL_ERR_LIMIT, "%s:%d: nesting deeper than %d levels", lx->src, line, EL_LABELS_MAX_DEPTH);
    EL_TRY(el_lex_next(lx));
    el_status s = el_skip_fields(lx, close, depth + 1);
    if (s != EL_OK) return s;
    return el_lex_next(lx);
}

/* ---- items ---------------------------------------------------------------- */

/* Protobuf text format integers: decimal, 0x hex or leading-0 octal, with an
 * optional minus sign. `id` is an int32 in string_int_label_map.proto. */
static el_status el_parse_id(el_lex *lx, int *out)
{
    char d[64];
    if (lx->kind != EL_TK_NUMBER)
        return el_lex_err(lx, lx->tline, "expected an integer id, found %s", el_tok_desc(lx, d, sizeof d));
    const char *p = lx->tp, *e = lx->tp + lx->tn;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    unsigned base = 10;
    if (e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (e - p > 1 && p[0] == '0') {
        base = 8;
        p++;
    }
    if (p == e) return el_lex_err(lx, lx->tline, "expected an integer id, found %s", el_tok_desc(lx, d, sizeof d));
    uint64_t v = 0;
    bool big = false;
    for (; p < e; p++) {
        int h = el_hexval((unsigned char)*p);
        if (h < 0 || (unsigned)h >= base)
            return el_lex_err(lx, lx->tline, "expected an integer id, found %s", el_tok_desc(lx, d, sizeof d));
        if (v > (UINT64_C(1) << 40)) big = true;
        else v = v * base + (unsigned)h;
    }
    if (neg && (v != 0 || big)) return el_lex_err(lx, lx->tline, "id %s is negative; label map ids must be >= 0", el_tok_desc(lx, d, sizeof d));
    if (big || v > INT32_MAX)
        return el_lex_err(lx, lx->tline, "id %s is out of range (an int32, at most %d)", el_tok_desc(lx, d, sizeof d), INT32_MAX);
    *out = (int)v;
    return el_lex_next(lx);
}

/* A string field's value: one or more adjacent quoted strings (protobuf
 * concatenates them). Returns a malloc'd copy in *out. */
static el_status el_parse_name(el_lex *lx, const char *field, char **out)
{
    char d[64];
    if (lx->kind != EL_TK_STRING)
        return el_lex_err(lx, lx->tline, "expected a quoted string for %s, found %s", field, el_tok_desc(lx, d, sizeof d));
    int line = lx->tline;
    char buf[EL_LABELS_NAME_MAX + 1];
    size_t n = 0;
    while (lx->kind == EL_TK_STRING) {
        if (lx->slen > EL_LABELS_NAME_MAX - n)
            return el_error(EL_ERR_LIMIT, "%s:%d: %s longer than %d bytes", lx->src, line, field, EL_LABELS_NAME_MAX);
        if (memchr(lx->sbuf, '\0', lx->slen))
            return el_lex_err(lx, line, "%s contains a NUL byte", field);
        memcpy(buf + n, lx->sbuf, lx->slen);
        n += lx->slen;
        EL_TRY(el_lex_next(lx));
    }
    buf[n] = '\0';
    char *s = malloc(n + 1);
    if (!s) return el_error(EL_ERR_NOMEM, "%s: out of memory", lx->src);
    memcpy(s, buf, n + 1);
    free(*out);
    *out = s;
    return EL_OK;
}

static el_status el_labels_add(el_lex *lx, el_labels *l, int id, int line, char *name)
{
    if (l->n >= EL_LABELS_MAX) {
        free(name);
        return el_error(EL_ERR_LIMIT, "%s:%d: more than %d items", lx->src, line, EL_LABELS_MAX);
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        el_label_item *ni = realloc(l->items, sizeof *ni * (size_t)cap);
        if (!ni) {
            free(name);
            return el_error(EL_ERR_NOMEM, "%s: out of memory", lx->src);
        }
        l->items = ni;
        l->cap = cap;
    }
    l->items[l->n++] = (el_label_item){.id = id, .line = line, .name = name};
    return EL_OK;
}

/* The body of one item (after its opening brace) up to the closing one. */
static el_status el_parse_item(el_lex *lx, el_labels *l, char close, int item_line)
{
    char d[64];
    int id = -1, id_line = 0;
    char *name = NULL, *display = NULL;
    el_status s = EL_OK;
    while (!el_lex_is(lx, close)) {
        if (lx->kind != EL_TK_IDENT) {
            s = el_lex_err(lx, lx->tline, "expected a field name or '%c' in item, found %s", close, el_tok_desc(lx, d, sizeof d));
            goto fail;
        }
        int fline = lx->tline;
        bool is_id = el_lex_is_word(lx, "id");
        bool is_name = el_lex_is_word(lx, "name");
        bool is_display = el_lex_is_word(lx, "display_name");
        if (is_id || is_name || is_display) {
            const char *field = is_id ? "id" : is_name ? "name" : "display_name";
            if ((is_id && id_line) || (is_name && name) || (is_display && display)) {
                s = el_lex_err(lx, fline, "field '%s' given twice in one item", field);
                goto fail;
            }
            if ((s = el_lex_next(lx)) != EL_OK) goto fail;
            if (!el_lex_is(lx, ':')) {
                s = el_lex_err(lx, lx->tline, "expected ':' after %s, found %s", field, el_tok_desc(lx, d, sizeof d));
                goto fail;
            }
            if ((s = el_lex_next(lx)) != EL_OK) goto fail;
            if (is_id) {
                if ((s = el_parse_id(lx, &id)) != EL_OK) goto fail;
                id_line = fline;
            } else {
                s = el_parse_name(lx, field, is_name ? &name : &display);
                if (s != EL_OK) goto fail;
            }
        } else {
            /* Unknown field of StringIntLabelMapItem (keypoints, frequency,
             * instance_count, ...): skip it, whatever its shape. */
            if ((s = el_lex_next(lx)) != EL_OK) goto fail;
            if (el_lex_is(lx, ':')) {
                if ((s = el_lex_next(lx)) != EL_OK) goto fail;
            } else if (!el_lex_is(lx, '{') && !el_lex_is(lx, '<') && !el_lex_is(lx, '[')) {
                s = el_lex_err(lx, lx->tline, "expected ':' or '{' after a field name, found %s", el_tok_desc(lx, d, sizeof d));
                goto fail;
            }
            if ((s = el_skip_value(lx, 1)) != EL_OK) goto fail;
        }
        if (el_lex_is(lx, ',') || el_lex_is(lx, ';'))
            if ((s = el_lex_next(lx)) != EL_OK) goto fail;
    }
    if (!id_line) {
        s = el_lex_err(lx, item_line, "item without id");
        goto fail;
    }
    if (display) {
        free(name);
        name = display;
        display = NULL;
    }
    if (!name) {
        /* TensorFlow reads an absent name as the proto default, "". */
        name = calloc(1, 1);
        if (!name) {
            s = el_error(EL_ERR_NOMEM, "%s: out of memory", lx->src);
            goto fail;
        }
    }
    return el_labels_add(lx, l, id, item_line, name);
fail:
    free(name);
    free(display);
    return s;
}

static el_status el_parse_item_value(el_lex *lx, el_labels *l)
{
    char d[64];
    if (!el_lex_is(lx, '{') && !el_lex_is(lx, '<'))
        return el_lex_err(lx, lx->tline, "expected '{' to open an item, found %s", el_tok_desc(lx, d, sizeof d));
    char close = el_lex_is(lx, '{') ? '}' : '>';
    int line = lx->tline;
    EL_TRY(el_lex_next(lx));
    EL_TRY(el_parse_item(lx, l, close, line));
    return el_lex_next(lx);
}

static el_status el_parse_top(el_lex *lx, el_labels *l)
{
    char d[64];
    EL_TRY(el_lex_next(lx));
    while (lx->kind != EL_TK_EOF) {
        if (!el_lex_is_word(lx, "item"))
            return el_lex_err(lx, lx->tline, "expected 'item', found %s", el_tok_desc(lx, d, sizeof d));
        EL_TRY(el_lex_next(lx));
        if (el_lex_is(lx, ':')) EL_TRY(el_lex_next(lx));
        if (el_lex_is(lx, '[')) {
            /* item: [ {...}, {...} ] is valid text format for a repeated field. */
            EL_TRY(el_lex_next(lx));
            if (!el_lex_is(lx, ']')) {
                for (;;) {
                    EL_TRY(el_parse_item_value(lx, l));
                    if (el_lex_is(lx, ']')) break;
                    EL_TRY(el_lex_expect(lx, ',', "between items"));
                }
            }
            EL_TRY(el_lex_next(lx));
        } else {
            EL_TRY(el_parse_item_value(lx, l));
        }
        if (el_lex_is(lx, ',') || el_lex_is(lx, ';')) EL_TRY(el_lex_next(lx));
    }
    return EL_OK;
}

static int el_item_cmp(const void *a, const void *b)
{
    const el_label_item *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

el_status el_labels_parse(const char *text, size_t len, const char *source, el_labels **out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "el_labels_parse: out is NULL");
    *out = NULL;
    if (!source) source = "<label map>";
    if (!text && len) return el_error(EL_ERR_INVALID_ARG, "%s: text is NULL", source);
    el_labels *l = calloc(1, sizeof *l);
    if (!l) return el_error(EL_ERR_NOMEM, "%s: out of memory", source);
    el_lex lx = {.src = source, .text = text ? text : "", .len = len, .line = 1};
    /* Editors on some systems start UTF-8 files with a byte order mark. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) lx.pos = 3;
    el_status s = el_parse_top(&lx, l);
    free(lx.sbuf);
    if (s == EL_OK && l->n > 1) {
        qsort(l->items, (size_t)l->n, sizeof *l->items, el_item_cmp);
        for (int i = 1; i < l->n; i++) {
            if (l->items[i].id == l->items[i - 1].id) {
                s = el_error(EL_ERR_FORMAT, "%s:%d: duplicate id %d (first at line %d)", source, l->items[i].line,
                             l->items[i].id, l->items[i - 1].line);
                break;
            }
        }
    }
    if (s != EL_OK) {
        el_labels_free(l);
        return s;
    }
    l->max_id = l->n ? l->items[l->n - 1].id : 0;
    *out = l;
    return EL_OK;
}

el_status el_labels_load(const char *path, el_labels **out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "el_labels_load: out is NULL");
    *out = NULL;
    if (!path) return el_error(EL_ERR_INVALID_ARG, "el_labels_load: path is NULL");
    void *text;
    size_t size;
    EL_TRY(el_file_read(path, EL_LABELS_FILE_MAX, "a label map", &text, &size));
    el_status s = el_labels_parse(text, size, path, out);
    free(text);
    return s;
}

const char *el_labels_name(const el_labels *l, int id)
{
    if (!l) return NULL;
    int lo = 0, hi = l->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (l->items[mid].id == id) return l->items[mid].name;
        if (l->items[mid].id < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

int el_labels_count(const el_labels *l) { return l ? l->n : 0; }

int el_labels_max_id(const el_labels *l) { return l ? l->max_id : 0; }

void el_labels_free(el_labels *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) free(l->items[i].name);
    free(l->items);
    free(l);
}
