/* Thread-local error messages: one el_status style for every layer. */
#include "edgelens/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EL_ERRMSG_MAX 1024

static _Thread_local char el_errmsg[EL_ERRMSG_MAX];

const char *el_status_str(el_status s)
{
    switch (s) {
    case EL_OK: return "ok";
    case EL_ERR_INVALID_ARG: return "invalid argument";
    case EL_ERR_IO: return "i/o error";
    case EL_ERR_FORMAT: return "format error";
    case EL_ERR_UNSUPPORTED: return "unsupported";
    case EL_ERR_NOMEM: return "out of memory";
    case EL_ERR_NOT_FOUND: return "not found";
    case EL_ERR_RUNTIME: return "runtime error";
    case EL_ERR_LIMIT: return "limit exceeded";
    case EL_ERR_END: return "end of stream";
    case EL_ERR_TIMEOUT: return "timed out";
    }
    return "unknown error";
}

const char *el_last_error(void) { return el_errmsg; }

void el_error_clear(void) { el_errmsg[0] = '\0'; }

el_status el_error(el_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(el_errmsg, sizeof el_errmsg, fmt, ap);
    va_end(ap);
    return code;
}

el_status el_error_prefix(el_status code, const char *fmt, ...)
{
    char prefix[EL_ERRMSG_MAX];
    char old[EL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, el_errmsg, sizeof old);
    size_t n = strlen(prefix);
    size_t m = strnlen(old, sizeof old - 1);
    if (n > sizeof el_errmsg - 1) n = sizeof el_errmsg - 1;
    if (m > sizeof el_errmsg - 1 - n) m = sizeof el_errmsg - 1 - n;
    memcpy(el_errmsg, prefix, n);
    memcpy(el_errmsg + n, old, m);
    el_errmsg[n + m] = '\0';
    return code;
}
