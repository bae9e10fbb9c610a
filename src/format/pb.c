/* Bounded protobuf wire-format reader (see pb.h). */
#include "format/pb.h"

#include <string.h>

void el_pb_init(el_pb *r, const void *data, size_t size)
{
    r->base = data;
    r->p = data;
    r->end = r->p + size;
    r->depth = 0;
}

const char *el_pb_wire_name(int wire)
{
    switch (wire) {
    case EL_PB_VARINT: return "varint";
    case EL_PB_I64: return "64-bit";
    case EL_PB_LEN: return "length-delimited";
    case EL_PB_SGROUP: return "start-group";
    case EL_PB_EGROUP: return "end-group";
    case EL_PB_I32: return "32-bit";
    default: return "invalid";
    }
}

static el_status el_pb_err_at(const el_pb *r, const uint8_t *at, el_status code, const char *what)
{
    return el_error(code, "offset %zu: %s", (size_t)(at - r->base), what);
}

el_status el_pb_varint(el_pb *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    /* Fast path: one byte (tags, small ints, short lengths). */
    if (p < r->end && *p < 0x80) {
        *v = *p;
        r->p = p + 1;
        return EL_OK;
    }
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (p + i >= r->end) return el_pb_err_at(r, p, EL_ERR_FORMAT, "truncated varint");
        uint8_t b = p[i];
        /* The 10th byte holds bit 63 only; anything more overflows 64 bits. */
        if (i == 9 && b > 1) return el_pb_err_at(r, p, EL_ERR_FORMAT, "varint overflows 64 bits");
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *v = x;
            r->p = p + i + 1;
            return EL_OK;
        }
    }
    return el_pb_err_at(r, p, EL_ERR_FORMAT, "varint longer than 10 bytes");
}

el_status el_pb_fixed32(el_pb *r, uint32_t *v)
{
    if (r->end - r->p < 4) return el_pb_err_at(r, r->p, EL_ERR_FORMAT, "truncated 32-bit value");
    const uint8_t *p = r->p;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->p += 4;
    return EL_OK;
}

el_status el_pb_fixed64(el_pb *r, uint64_t *v)
{
    if (r->end - r->p < 8) return el_pb_err_at(r, r->p, EL_ERR_FORMAT, "truncated 64-bit value");
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = x << 8 | r->p[i];
    *v = x;
    r->p += 8;
    return EL_OK;
}

el_status el_pb_tag(el_pb *r, uint32_t *field, int *wire)
{
    const uint8_t *at = r->p;
    uint64_t key = 0;
    EL_TRY(el_pb_varint(r, &key));
    /* Field numbers are 1 .. 2^29-1 (protobuf language guide). */
    if (key > UINT32_MAX) return el_pb_err_at(r, at, EL_ERR_FORMAT, "field key exceeds 32 bits");
    uint32_t f = (uint32_t)(key >> 3);
    int w = (int)(key & 7);
    if (f == 0) return el_pb_err_at(r, at, EL_ERR_FORMAT, "field number 0");
    if (w == 6 || w == 7) {
        return el_error(EL_ERR_FORMAT, "offset %zu: field %u has invalid wire type %d", (size_t)(at - r->base),
                        (unsigned)f, w);
    }
    *field = f;
    *wire = w;
    return EL_OK;
}

el_status el_pb_bytes(el_pb *r, const uint8_t **data, size_t *len)
{
    const uint8_t *at = r->p;
    uint64_t n = 0;
    EL_TRY(el_pb_varint(r, &n));
    size_t left = (size_t)(r->end - r->p);
    if (n > left) {
        return el_error(EL_ERR_FORMAT, "offset %zu: length %llu exceeds the %zu bytes left", (size_t)(at - r->base),
                        (unsigned long long)n, left);
    }
    *data = r->p;
    *len = (size_t)n;
    r->p += n;
    return EL_OK;
}

el_status el_pb_message(el_pb *r, el_pb *sub)
{
    const uint8_t *at = r->p;
    if (r->depth + 1 > EL_PB_MAX_DEPTH)
        return el_error(EL_ERR_LIMIT, "offset %zu: messages nested deeper than %d", (size_t)(at - r->base),
                        EL_PB_MAX_DEPTH);
    const uint8_t *d = NULL;
    size_t n = 0;
    EL_TRY(el_pb_bytes(r, &d, &n));
    sub->base = r->base;
    sub->p = d;
    sub->end = d + n;
    sub->depth = r->depth + 1;
    return EL_OK;
}

static el_status el_pb_skip_depth(el_pb *r, uint32_t field, int wire, int depth)
{
    uint64_t v = 0;
    const uint8_t *d = NULL;
    size_t n = 0;
    switch (wire) {
    case EL_PB_VARINT: return el_pb_varint(r, &v);
    case EL_PB_I64:
        if (r->end - r->p < 8) return el_pb_err_at(r, r->p, EL_ERR_FORMAT, "truncated 64-bit value");
        r->p += 8;
        return EL_OK;
    case EL_PB_I32:
        if (r->end - r->p < 4) return el_pb_err_at(r, r->p, EL_ERR_FORMAT, "truncated 32-bit value");
        r->p += 4;
        return EL_OK;
    case EL_PB_LEN: return el_pb_bytes(r, &d, &n);
    case EL_PB_SGROUP:
        /* A group ends at the end-group key of the same field; groups nest. */
        if (depth + 1 > EL_PB_MAX_DEPTH)
            return el_error(EL_ERR_LIMIT, "offset %zu: groups nested deeper than %d", el_pb_offset(r),
                            EL_PB_MAX_DEPTH);
        for (;;) {
            if (el_pb_done(r))
                return el_error(EL_ERR_FORMAT, "offset %zu: group of field %u is not closed", el_pb_offset(r),
                                (unsigned)field);
            uint32_t f = 0;
            int w = 0;
            EL_TRY(el_pb_tag(r, &f, &w));
            if (w == EL_PB_EGROUP) {
                if (f != field)
                    return el_error(EL_ERR_FORMAT, "offset %zu: group of field %u closed by field %u",
                                    el_pb_offset(r), (unsigned)field, (unsigned)f);
                return EL_OK;
            }
            EL_TRY(el_pb_skip_depth(r, f, w, depth + 1));
        }
    case EL_PB_EGROUP:
        return el_error(EL_ERR_FORMAT, "offset %zu: end-group of field %u without a matching start",
                        el_pb_offset(r), (unsigned)field);
    default:
        return el_error(EL_ERR_FORMAT, "offset %zu: invalid wire type %d", el_pb_offset(r), wire);
    }
}

el_status el_pb_skip(el_pb *r, uint32_t field, int wire)
{
    return el_pb_skip_depth(r, field, wire, r->depth);
}

el_status el_pb_wire_error(const el_pb *r, const char *name, uint32_t field, int wire, int want)
{
    return el_error(EL_ERR_FORMAT, "offset %zu: field '%s' (%u) is %s, expected %s", el_pb_offset(r), name,
                    (unsigned)field, el_pb_wire_name(wire), el_pb_wire_name(want));
}

static int el_pb_scalar_wire(el_pb_scalar kind)
{
    switch (kind) {
    case EL_PB_S_FIXED32: return EL_PB_I32;
    case EL_PB_S_FIXED64: return EL_PB_I64;
    default: return EL_PB_VARINT;
    }
}

el_status el_pb_rep_begin(el_pb *r, uint32_t field, int wire, el_pb_scalar kind, const char *name, el_pb_rep *rep)
{
    rep->kind = kind;
    rep->r.base = r->base;
    rep->r.depth = r->depth;
    if (wire == EL_PB_LEN) {
        const uint8_t *d = NULL;
        size_t n = 0;
        EL_TRY(el_pb_bytes(r, &d, &n));
        rep->r.p = d;
        rep->r.end = d + n;
        return EL_OK;
    }
    int want = el_pb_scalar_wire(kind);
    if (wire != want) return el_pb_wire_error(r, name, field, wire, want);
    /* One unpacked value: a window over exactly its bytes. */
    const uint8_t *start = r->p;
    uint64_t v = 0;
    if (kind == EL_PB_S_VARINT) {
        EL_TRY(el_pb_varint(r, &v));
    } else {
        EL_TRY(el_pb_skip_depth(r, field, wire, r->depth));
    }
    rep->r.p = start;
    rep->r.end = r->p;
    return EL_OK;
}

el_status el_pb_rep_count(const el_pb_rep *rep, size_t *n)
{
    size_t len = (size_t)(rep->r.end - rep->r.p);
    switch (rep->kind) {
    case EL_PB_S_FIXED32:
        if (len % 4) return el_pb_err_at(&rep->r, rep->r.p, EL_ERR_FORMAT, "packed 32-bit values are truncated");
        *n = len / 4;
        return EL_OK;
    case EL_PB_S_FIXED64:
        if (len % 8) return el_pb_err_at(&rep->r, rep->r.p, EL_ERR_FORMAT, "packed 64-bit values are truncated");
        *n = len / 8;
        return EL_OK;
    default: {
        /* Every varint ends with the one byte whose high bit is clear. */
        size_t c = 0;
        for (const uint8_t *p = rep->r.p; p < rep->r.end; p++) c += *p < 0x80;
        if (len && rep->r.end[-1] >= 0x80)
            return el_pb_err_at(&rep->r, rep->r.end - 1, EL_ERR_FORMAT, "truncated varint");
        *n = c;
        return EL_OK;
    }
    }
}

el_status el_pb_rep_next(el_pb_rep *rep, uint64_t *v)
{
    uint32_t u = 0;
    switch (rep->kind) {
    case EL_PB_S_FIXED32:
        EL_TRY(el_pb_fixed32(&rep->r, &u));
        *v = u;
        return EL_OK;
    case EL_PB_S_FIXED64: return el_pb_fixed64(&rep->r, v);
    default: return el_pb_varint(&rep->r, v);
    }
}
