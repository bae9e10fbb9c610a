/* Reading whole files, bounded: the one place that turns a path into bytes
 * for the parsers of outside data. */
#ifndef EL_CORE_FILE_H
#define EL_CORE_FILE_H

#include <stddef.h>

#include "edgelens/status.h"

/* Reads a regular file of at most `max` bytes into *data (malloc'd, one
 * spare NUL byte after the end, so text parsers may rely on it). `what`
 * names the kind of file in the size error ("a label map"). */
el_status el_file_read(const char *path, size_t max, const char *what, void **data, size_t *len);

#endif
