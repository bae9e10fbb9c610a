/* edgelens: status codes and error messages shared by every layer.
 *
 * Every fallible function returns an el_status. On failure it also leaves a
 * human-readable message (which file, node, op, what was expected) in a
 * thread-local buffer that el_last_error() returns until the next failure on
 * the same thread. */
#ifndef EDGELENS_STATUS_H
#define EDGELENS_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum el_status {
    EL_OK = 0,
    EL_ERR_INVALID_ARG,  /* caller passed something wrong */
    EL_ERR_IO,           /* a file or device could not be read/written */
    EL_ERR_FORMAT,       /* outside data is malformed (pb, pbtxt, image, npy) */
    EL_ERR_UNSUPPORTED,  /* well-formed but not supported (op, dtype, attr) */
    EL_ERR_NOMEM,        /* allocation failed or a declared size is too big */
    EL_ERR_NOT_FOUND,    /* a named node, file or key does not exist */
    EL_ERR_RUNTIME,      /* a kernel failed at run time (shapes, Assert, ...) */
    EL_ERR_LIMIT,        /* a safety bound was hit (depth, loop count, size) */
    EL_ERR_END,          /* a stream ended (end of file without --loop) */
    EL_ERR_TIMEOUT       /* nothing arrived within the time allowed */
} el_status;

/* Short name of a status, e.g. "format error". Never NULL. */
const char *el_status_str(el_status s);

/* Message of the last failure on this thread ("" if none). The pointer stays
 * valid until the next el_error*() call on this thread. */
const char *el_last_error(void);

/* Record a failure: formats the message, stores it, returns `code`. */
el_status el_error(el_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepend context ("model.pb: ") to the current message; returns `code`. */
el_status el_error_prefix(el_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget the last message. */
void el_error_clear(void);

#define EL_TRY(expr)                                                         \
    do {                                                                     \
        el_status el_try_s_ = (expr);                                        \
        if (el_try_s_ != EL_OK) return el_try_s_;                            \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
