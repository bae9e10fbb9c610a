/* NumPy .npy reader and writer (numpy/lib/format.py describes the format):
 *
 *   "\x93NUMPY" major minor  header_len (u16 LE in 1.0, u32 LE in 2.0/3.0)
 *   header: a Python dict literal, e.g.
 *           {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *           padded with spaces and ended by '\n'
 *   data:   the elements in C order
 *
 * The header is parsed as the small grammar numpy writes, not as Python:
 * exactly the three keys, string/bool/tuple values, bounded in size. */
#include "format/npy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "el npy: data is copied as is, which assumes a little-endian host"
#endif

#define EL_NPY_MAGIC "\x93NUMPY"
#define EL_NPY_PREFIX_MAX 12 /* magic, version, 4-byte header length */

typedef enum el_npy_conv {
    EL_NPY_COPY,     /* bytes as they are */
    EL_NPY_BOOL,     /* |b1: any non-zero byte is True, stored as 1 */
    EL_NPY_U16_I32   /* <u2 widened: el_dtype has no uint16 */
} el_npy_conv;

typedef struct el_npy_type {
    const char *descr;
    el_dtype dt;
    size_t file_size;
    el_npy_conv conv;
} el_npy_type;

/* The descr numpy writes for each dtype: '|' for single bytes, '<' else. */
static const el_npy_type el_npy_types[] = {
    {"<f4", EL_DT_FLOAT, 4, EL_NPY_COPY},   {"<f8", EL_DT_DOUBLE, 8, EL_NPY_COPY},
    {"<f2", EL_DT_HALF, 2, EL_NPY_COPY},    {"<i8", EL_DT_INT64, 8, EL_NPY_COPY},
    {"<i4", EL_DT_INT32, 4, EL_NPY_COPY},   {"<i2", EL_DT_INT16, 2, EL_NPY_COPY},
    {"|i1", EL_DT_INT8, 1, EL_NPY_COPY},    {"|u1", EL_DT_UINT8, 1, EL_NPY_COPY},
    {"|b1", EL_DT_BOOL, 1, EL_NPY_BOOL},    {"<u2", EL_DT_INT32, 2, EL_NPY_U16_I32},
};
#define EL_NPY_NTYPES (sizeof el_npy_types / sizeof el_npy_types[0])

typedef struct el_npy_hdr {
    const el_npy_type *type;
    int ndim;
    int64_t dims[EL_MAX_DIMS];
    size_t data_off;   /* where the data starts in the file */
    uint64_t data_len; /* bytes of data the shape needs */
} el_npy_hdr;

/* ---- header dict ------------------------------------------------------------ */

typedef struct el_npy_cur {
    const char *src;
    const char *p;
    size_t n;
    size_t i;
} el_npy_cur;

static el_status el_npy_herr(const el_npy_cur *c, el_status code, const char *what)
{
    char found[24];
    if (c->i >= c->n) {
        snprintf(found, sizeof found, "end of header");
    } else {
        size_t k = 0;
        found[k++] = '\'';
        for (size_t j = c->i; j < c->n && k < 13; j++) {
            unsigned char ch = (unsigned char)c->p[j];
            found[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
        }
        found[k++] = '\'';
        found[k] = '\0';
    }
    return el_error(code, "%s: npy header: expected %s at offset %zu, found %s", c->src, what, c->i, found);
}

static void el_npy_ws(el_npy_cur *c)
{
    while (c->i < c->n && (c->p[c->i] == ' ' || c->p[c->i] == '\t' || c->p[c->i] == '\n' || c->p[c->i] == '\r'))
        c->i++;
}

static bool el_npy_eat(el_npy_cur *c, char ch)
{
    el_npy_ws(c);
    if (c->i < c->n && c->p[c->i] == ch) {
        c->i++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes (none of numpy's keys or descrs
 * needs one). */
static el_status el_npy_str(el_npy_cur *c, char *out, size_t cap, const char *what)
{
    el_npy_ws(c);
    if (c->i >= c->n || (c->p[c->i] != '\'' && c->p[c->i] != '"')) return el_npy_herr(c, EL_ERR_FORMAT, what);
    char q = c->p[c->i];
    size_t start = c->i + 1, j = start;
    while (j < c->n && c->p[j] != q) {
        if (c->p[j] == '\\' || c->p[j] == '\n') return el_npy_herr(c, EL_ERR_FORMAT, what);
        j++;
    }
    if (j >= c->n) return el_npy_herr(c, EL_ERR_FORMAT, "a closing quote");
    if (j - start >= cap) return el_npy_herr(c, EL_ERR_FORMAT, what);
    memcpy(out, c->p + start, j - start);
    out[j - start] = '\0';
    c->i = j + 1;
    return EL_OK;
}

static bool el_npy_word(el_npy_cur *c, const char *w)
{
    size_t n = strlen(w);
    el_npy_ws(c);
    if (c->n - c->i < n || memcmp(c->p + c->i, w, n) != 0) return false;
    if (c->i + n < c->n) {
        char nx = c->p[c->i + n];
        if ((nx >= 'a' && nx <= 'z') || (nx >= 'A' && nx <= 'Z') || (nx >= '0' && nx <= '9') || nx == '_')
            return false;
    }
    c->i += n;
    return true;
}

static el_status el_npy_descr(el_npy_cur *c, el_npy_hdr *h)
{
    char d[32];
    el_npy_ws(c);
    if (c->i < c->n && c->p[c->i] == '[')
        return el_error(EL_ERR_UNSUPPORTED, "%s: structured dtypes (a descr list) are not supported", c->src);
    EL_TRY(el_npy_str(c, d, sizeof d, "a dtype string for 'descr'"));
    for (size_t k = 0; k < EL_NPY_NTYPES; k++) {
        if (strcmp(d, el_npy_types[k].descr) == 0) {
            h->type = &el_npy_types[k];
            return EL_OK;
        }
    }
    if (d[0] == '>')
        return el_error(EL_ERR_UNSUPPORTED, "%s: big-endian dtype '%s' is not supported (save it as '<%s')", c->src, d, d + 1);
    return el_error(EL_ERR_UNSUPPORTED,
                    "%s: dtype '%s' is not supported (expected one of <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1 <u2)", c->src, d);
}

/* Python ints; Python 2 wrote longs as "3L", which numpy still reads. */
static el_status el_npy_dim(el_npy_cur *c, int64_t *out)
{
    el_npy_ws(c);
    size_t start = c->i;
    uint64_t v = 0;
    while (c->i < c->n && c->p[c->i] >= '0' && c->p[c->i] <= '9') {
        unsigned dgt = (unsigned)(c->p[c->i] - '0');
        if (v > ((uint64_t)INT64_MAX - dgt) / 10) {
            c->i = start;
            return el_npy_herr(c, EL_ERR_FORMAT, "a dimension below 2^63");
        }
        v = v * 10 + dgt;
        c->i++;
    }
    if (c->i == start) return el_npy_herr(c, EL_ERR_FORMAT, "a non-negative integer dimension");
    if (c->i < c->n && c->p[c->i] == 'L') c->i++;
    *out = (int64_t)v;
    return EL_OK;
}

static el_status el_npy_shape(el_npy_cur *c, el_npy_hdr *h)
{
    if (!el_npy_eat(c, '(')) return el_npy_herr(c, EL_ERR_FORMAT, "'(' to open the shape tuple");
    h->ndim = 0;
    if (el_npy_eat(c, ')')) return EL_OK; /* () : a scalar */
    for (;;) {
        int64_t dim = 0;
        EL_TRY(el_npy_dim(c, &dim));
        if (h->ndim == EL_MAX_DIMS)
            return el_error(EL_ERR_UNSUPPORTED, "%s: shape has more than %d dimensions", c->src, EL_MAX_DIMS);
        h->dims[h->ndim++] = dim;
        bool comma = el_npy_eat(c, ',');
        if (el_npy_eat(c, ')')) {
            /* Python: (3) is the int 3, a 1-tuple needs its comma. */
            if (h->ndim == 1 && !comma) return el_npy_herr(c, EL_ERR_FORMAT, "',' in a one-element shape tuple");
            return EL_OK;
        }
        if (!comma) return el_npy_herr(c, EL_ERR_FORMAT, "',' or ')' in the shape tuple");
    }
}

static el_status el_npy_dict(el_npy_cur *c, el_npy_hdr *h)
{
    bool have_descr = false, have_order = false, have_shape = false;
    if (!el_npy_eat(c, '{')) return el_npy_herr(c, EL_ERR_FORMAT, "'{' to open the header dict");
    while (!el_npy_eat(c, '}')) {
        char key[32];
        EL_TRY(el_npy_str(c, key, sizeof key, "a quoted key or '}'"));
        if (!el_npy_eat(c, ':')) return el_npy_herr(c, EL_ERR_FORMAT, "':' after a key");
        bool *seen;
        if (strcmp(key, "descr") == 0) seen = &have_descr;
        else if (strcmp(key, "fortran_order") == 0) seen = &have_order;
        else if (strcmp(key, "shape") == 0) seen = &have_shape;
        else return el_error(EL_ERR_FORMAT, "%s: npy header: unexpected key '%s' (expected descr, fortran_order, shape)", c->src, key);
        if (*seen) return el_error(EL_ERR_FORMAT, "%s: npy header: key '%s' given twice", c->src, key);
        *seen = true;
        if (seen == &have_descr) {
            EL_TRY(el_npy_descr(c, h));
        } else if (seen == &have_shape) {
            EL_TRY(el_npy_shape(c, h));
        } else if (el_npy_word(c, "True")) {
            return el_error(EL_ERR_UNSUPPORTED, "%s: Fortran-order arrays are not supported (save with C order)", c->src);
        } else if (!el_npy_word(c, "False")) {
            return el_npy_herr(c, EL_ERR_FORMAT, "True or False for 'fortran_order'");
        }
        if (el_npy_eat(c, ',')) continue;
        if (el_npy_eat(c, '}')) break;
        return el_npy_herr(c, EL_ERR_FORMAT, "',' or '}' in the header dict");
    }
    el_npy_ws(c);
    if (c->i != c->n) return el_npy_herr(c, EL_ERR_FORMAT, "only padding after the header dict");
    if (!have_descr || !have_order || !have_shape)
        return el_error(EL_ERR_FORMAT, "%s: npy header lacks '%s'", c->src,
                        !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return EL_OK;
}

/* Parses everything before the data. `p` holds the first `avail` bytes of a
 * file of `total` bytes; avail covers at least the header when the file
 * does. */
static el_status el_npy_header(const unsigned char *p, size_t avail, uint64_t total, const char *src, el_npy_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (total < 10 || avail < 10 || memcmp(p, EL_NPY_MAGIC, 6) != 0) {
        if (total >= 6 && avail >= 6 && memcmp(p, EL_NPY_MAGIC, 6) == 0)
            return el_error(EL_ERR_FORMAT, "%s: truncated .npy file (%llu bytes)", src, (unsigned long long)total);
        return el_error(EL_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", src);
    }
    unsigned major = p[6], minor = p[7];
    if (major < 1 || major > 3 || minor != 0)
        return el_error(EL_ERR_UNSUPPORTED, "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)", src, major, minor);
    size_t off;
    uint32_t hl;
    if (major == 1) {
        hl = (uint32_t)p[8] | (uint32_t)p[9] << 8;
        off = 10;
    } else {
        if (total < 12 || avail < 12) return el_error(EL_ERR_FORMAT, "%s: truncated .npy file (%llu bytes)", src, (unsigned long long)total);
        hl = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24;
        off = 12;
    }
    if (hl > EL_NPY_MAX_HEADER)
        return el_error(EL_ERR_LIMIT, "%s: .npy header of %u bytes exceeds the bound of %d", src, hl, EL_NPY_MAX_HEADER);
    if (off + hl > total || off + hl > avail)
        return el_error(EL_ERR_FORMAT, "%s: truncated .npy header (%u bytes declared, %llu present)", src, hl,
                        (unsigned long long)(total - off));
    el_npy_cur c = {.src = src, .p = (const char *)p + off, .n = hl};
    /* 1.0/2.0 headers are latin-1, 3.0 UTF-8; a valid one is ASCII either way. */
    for (size_t i = 0; i < hl; i++) {
        unsigned char ch = p[off + i];
        if (ch >= 0x7f || (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r')) {
            c.i = i;
            return el_npy_herr(&c, EL_ERR_FORMAT, "printable ASCII");
        }
    }
    EL_TRY(el_npy_dict(&c, h));
    h->data_off = off + hl;

    uint64_t n = 1;
    bool zero = false;
    for (int i = 0; i < h->ndim; i++) zero |= h->dims[i] == 0;
    if (!zero) {
        for (int i = 0; i < h->ndim; i++) {
            if (n > UINT64_MAX / (uint64_t)h->dims[i]) n = UINT64_MAX;
            else n *= (uint64_t)h->dims[i];
        }
    } else {
        n = 0;
    }
    char s[200];
    if (n > UINT64_MAX / h->type->file_size)
        return el_error(EL_ERR_FORMAT, "%s: shape %s overflows", src, el_shape_str(h->ndim, h->dims, s, sizeof s));
    h->data_len = n * h->type->file_size;
    uint64_t have = total - h->data_off;
    if (have != h->data_len)
        return el_error(EL_ERR_FORMAT, "%s: shape %s of %s needs %llu data bytes, the file has %llu", src,
                        el_shape_str(h->ndim, h->dims, s, sizeof s), h->type->descr, (unsigned long long)h->data_len,
                        (unsigned long long)have);
    return EL_OK;
}

/* Fills t (allocated for h) from the file's data bytes. */
static void el_npy_convert(const el_npy_hdr *h, const unsigned char *data, el_tensor *t)
{
    size_t n = (size_t)el_tensor_numel(t);
    switch (h->type->conv) {
    case EL_NPY_COPY:
        if (h->data_len) memcpy(t->data, data, (size_t)h->data_len);
        break;
    case EL_NPY_BOOL: {
        uint8_t *o = t->data;
        for (size_t i = 0; i < n; i++) o[i] = data[i] != 0;
        break;
    }
    case EL_NPY_U16_I32: {
        int32_t *o = t->data;
        for (size_t i = 0; i < n; i++) o[i] = (int32_t)((uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8);
        break;
    }
    }
}

static el_status el_npy_alloc(const el_npy_hdr *h, const char *src, el_tensor *out)
{
    el_status s = el_tensor_alloc(out, h->type->dt, h->ndim, h->dims);
    if (s != EL_OK) return el_error_prefix(s, "%s: ", src);
    return EL_OK;
}

el_status el_npy_load(const void *data, size_t size, const char *source, el_tensor *out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "el_npy_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!source) source = "<npy>";
    if (!data && size) return el_error(EL_ERR_INVALID_ARG, "%s: data is NULL", source);
    el_npy_hdr h;
    EL_TRY(el_npy_header(data, size, size, source, &h));
    EL_TRY(el_npy_alloc(&h, source, out));
    el_npy_convert(&h, (const unsigned char *)data + h.data_off, out);
    return EL_OK;
}

el_status el_npy_read(const char *path, el_tensor *out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "el_npy_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return el_error(EL_ERR_INVALID_ARG, "el_npy_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return el_error(errno == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return el_error(EL_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t total = (uint64_t)st.st_size;
    unsigned char *head = malloc(EL_NPY_PREFIX_MAX + EL_NPY_MAX_HEADER);
    unsigned char *tmp = NULL;
    el_status s = EL_OK;
    if (!head) {
        fclose(f);
        return el_error(EL_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t want = total < EL_NPY_PREFIX_MAX + EL_NPY_MAX_HEADER ? (size_t)total : EL_NPY_PREFIX_MAX + EL_NPY_MAX_HEADER;
    size_t got = fread(head, 1, want, f);
    el_npy_hdr h;
    if (got != want) {
        s = el_error(EL_ERR_IO, "%s: read %zu of %zu bytes", path, got, want);
        goto done;
    }
    if ((s = el_npy_header(head, got, total, path, &h)) != EL_OK) goto done;
    if ((s = el_npy_alloc(&h, path, out)) != EL_OK) goto done;
    /* Read straight into the tensor when no conversion is needed. */
    unsigned char *dst = out->data;
    if (h.type->conv != EL_NPY_COPY && h.data_len) {
        tmp = malloc((size_t)h.data_len);
        if (!tmp) {
            s = el_error(EL_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        dst = tmp;
    }
    if (h.data_len) {
        if (fseek(f, (long)h.data_off, SEEK_SET) != 0 || fread(dst, 1, (size_t)h.data_len, f) != h.data_len) {
            s = el_error(EL_ERR_IO, "%s: cannot read %llu data bytes", path, (unsigned long long)h.data_len);
            goto done;
        }
    }
    if (tmp) el_npy_convert(&h, tmp, out);
done:
    if (s != EL_OK) el_tensor_release(out);
    free(tmp);
    free(head);
    fclose(f);
    return s;
}

el_status el_npy_write(const char *path, const el_tensor *t)
{
    if (!path || !t) return el_error(EL_ERR_INVALID_ARG, "el_npy_write: path or tensor is NULL");
    const el_npy_type *type = NULL;
    for (size_t k = 0; k < EL_NPY_NTYPES; k++)
        if (el_npy_types[k].dt == t->dtype && el_npy_types[k].conv != EL_NPY_U16_I32) type = &el_npy_types[k];
    if (!type) return el_error(EL_ERR_UNSUPPORTED, "%s: cannot write a %s tensor as .npy", path, el_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > EL_MAX_DIMS)
        return el_error(EL_ERR_INVALID_ARG, "%s: tensor rank %d out of range", path, t->ndim);
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0) return el_error(EL_ERR_INVALID_ARG, "%s: negative dimension %lld", path, (long long)t->dims[i]);
    size_t nbytes = el_tensor_nbytes(t);
    if (nbytes && !t->data) return el_error(EL_ERR_INVALID_ARG, "%s: tensor has no data", path);

    /* numpy's layout: shape () for scalars, (3,) for one dim, (2, 3) else. */
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", type->descr);
    for (int i = 0; i < t->ndim; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, i ? ", %lld" : "%lld", (long long)t->dims[i]);
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", t->ndim == 1 ? "," : "");
    /* Pad with spaces so magic + length + header, ended by '\n', is a
     * multiple of 64: the data then starts aligned, as numpy >= 1.14 writes. */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + n, ' ', pad);
    n += (int)pad;
    hdr[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};

    FILE *f = fopen(path, "wb");
    if (!f) return el_error(EL_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
              (nbytes == 0 || fwrite(t->data, 1, nbytes, f) == nbytes);
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        remove(path);
        return el_error(EL_ERR_IO, "%s: write failed: %s", path, strerror(err));
    }
    return EL_OK;
}
