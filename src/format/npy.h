/* NumPy .npy files (format versions 1.0, 2.0 and 3.0): the exchange format
 * of `edgelens eval` and of the reference outputs under ../shared/reference.
 *
 * Supported dtypes: <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1, and <u2, which is
 * widened to int32 because el_dtype has no uint16. Only C order; big-endian
 * and structured dtypes are refused. */
#ifndef EL_FORMAT_NPY_H
#define EL_FORMAT_NPY_H

#include <stddef.h>

#include "edgelens/status.h"
#include "edgelens/tensor.h"

/* numpy's own default bound on a header (np.load's max_header_size). */
#define EL_NPY_MAX_HEADER 10000

/* Read a .npy file into a new tensor. On success *out owns a fresh buffer
 * (release with el_tensor_release); on failure *out is empty and the message
 * names the file and what was wrong. The data length must match the shape
 * exactly. */
el_status el_npy_read(const char *path, el_tensor *out);

/* Same from memory; `data` is copied and may be freed after return.
 * `source` names the bytes in messages. */
el_status el_npy_load(const void *data, size_t size, const char *source, el_tensor *out);

/* Write a tensor as .npy version 1.0, header padded so the data starts at a
 * multiple of 64 bytes (as numpy writes it). `t` is only read. A partial file
 * is removed on failure. */
el_status el_npy_write(const char *path, const el_tensor *t);

#endif
