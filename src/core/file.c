#include "core/file.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

el_status el_file_read(const char *path, size_t max, const char *what, void **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (!path) return el_error(EL_ERR_INVALID_ARG, "no path given");
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return el_error(e == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return el_error(EL_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        fclose(f);
        return el_error(EL_ERR_LIMIT, "%s: %lld bytes, more than the %zu %s may have", path, (long long)st.st_size,
                        max, what);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(f);
        return el_error(EL_ERR_NOMEM, "%s: no memory to read %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != size) {
        free(buf);
        return el_error(EL_ERR_IO, "%s: read %zu of %zu bytes%s%s", path, got, size, err ? ": " : "",
                        err ? strerror(err) : "");
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return EL_OK;
}
