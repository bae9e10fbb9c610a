/* A small, bounded reader of the protobuf wire format (no protobuf library:
 * GraphDefs are the only protobuf we read, and every read here is checked
 * against the end of its enclosing message).
 *
 * A reader is a window [p, end) into one buffer; `base` is the start of the
 * outermost buffer so that errors can say "offset N". Nothing is copied or
 * allocated: bytes fields come back as pointers into the buffer.
 *
 * Errors are set with el_error() as "offset N: <what>"; callers prefix the
 * file and the node/attr they were reading. */
#ifndef EL_FORMAT_PB_H
#define EL_FORMAT_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgelens/status.h"

/* Wire types (protobuf encoding spec). 3 and 4 are the deprecated groups,
 * which we only ever skip. */
enum {
    EL_PB_VARINT = 0,
    EL_PB_I64 = 1,
    EL_PB_LEN = 2,
    EL_PB_SGROUP = 3,
    EL_PB_EGROUP = 4,
    EL_PB_I32 = 5
};

/* protobuf's own default recursion limit is 100; GraphDefs nest 8 deep. */
#define EL_PB_MAX_DEPTH 64

typedef struct el_pb {
    const uint8_t *base; /* start of the outermost buffer, for offsets */
    const uint8_t *p;    /* next byte */
    const uint8_t *end;  /* end of this message */
    int depth;           /* nesting of this message (0: outermost) */
} el_pb;

void el_pb_init(el_pb *r, const void *data, size_t size);

static inline bool el_pb_done(const el_pb *r) { return r->p >= r->end; }
static inline size_t el_pb_offset(const el_pb *r) { return (size_t)(r->p - r->base); }

/* "varint", "64-bit", "length-delimited", ... */
const char *el_pb_wire_name(int wire);

/* Reads a field key. Refuses field number 0, numbers above 2^29-1 and wire
 * types 6 and 7. An end-group key (wire 4) is returned to the caller, which
 * treats it as misplaced unless it is skipping a group. */
el_status el_pb_tag(el_pb *r, uint32_t *field, int *wire);

/* Scalars. A varint is at most 10 bytes and must fit 64 bits. */
el_status el_pb_varint(el_pb *r, uint64_t *v);
el_status el_pb_fixed32(el_pb *r, uint32_t *v);
el_status el_pb_fixed64(el_pb *r, uint64_t *v);

/* A length-delimited payload; *data points into the buffer. */
el_status el_pb_bytes(el_pb *r, const uint8_t **data, size_t *len);

/* A length-delimited sub-message as a reader one level deeper; refuses
 * nesting beyond EL_PB_MAX_DEPTH. */
el_status el_pb_message(el_pb *r, el_pb *sub);

/* Skips the value of a field whose key (field, wire) was just read, groups
 * included (bounded by EL_PB_MAX_DEPTH). */
el_status el_pb_skip(el_pb *r, uint32_t field, int wire);

/* Error for a known field found with the wrong wire type:
 * "offset N: field 'name' (3) is <wire>, expected <want>". `r` is positioned
 * just after the key. */
el_status el_pb_wire_error(const el_pb *r, const char *name, uint32_t field, int wire, int want);

/* Repeated scalar fields come packed (one length-delimited run) or unpacked
 * (one key per value), and a writer may mix both; parsers must accept both
 * (protobuf spec). el_pb_rep_begin, called after a key, gives a reader over
 * this occurrence's values either way. */
typedef enum el_pb_scalar {
    EL_PB_S_VARINT,
    EL_PB_S_FIXED32,
    EL_PB_S_FIXED64
} el_pb_scalar;

typedef struct el_pb_rep {
    el_pb r;             /* over the values of this occurrence */
    el_pb_scalar kind;
} el_pb_rep;

el_status el_pb_rep_begin(el_pb *r, uint32_t field, int wire, el_pb_scalar kind, const char *name, el_pb_rep *rep);
/* Number of values in this occurrence; checks that a packed run holds whole
 * values (a multiple of the fixed size, or ends with a complete varint). */
el_status el_pb_rep_count(const el_pb_rep *rep, size_t *n);
/* Next value (fixed32 bits in the low half); call while !el_pb_done(&rep->r). */
el_status el_pb_rep_next(el_pb_rep *rep, uint64_t *v);

#endif
