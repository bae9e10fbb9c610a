/* Clean file pages out of the resident set (see pages.h).
 *
 * Why not MADV_PAGEOUT alone: it skips pages that another process also
 * maps (another edgelens on the same model, a test running next to the
 * bench), so what stays resident depended on the neighbours, and the pages
 * it does take leave the page cache, so the next start reads the disk.
 * MADV_DONTNEED only drops this process's mapping of the page, but on a
 * private mapping it would also drop a page written here (reverting it to
 * the file's bytes), so it is used only on pages /proc/self/pagemap reports
 * as file pages (bit 61: a written private page is anonymous). */
#include "core/pages.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define EL_PM_PRESENT (1ull << 63)
#define EL_PM_SWAP (1ull << 62)
#define EL_PM_FILE (1ull << 61)
#define EL_PM_BATCH 512 /* pagemap entries read at a time */

static void el_pages_pageout(uintptr_t a, uintptr_t z)
{
#if defined(MADV_PAGEOUT)
    if (z > a) (void)madvise((void *)a, z - a, MADV_PAGEOUT);
#else
    (void)a, (void)z;
#endif
}

size_t el_pages_release_clean(const void *addr, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || !addr) return 0;
    uintptr_t pm = (uintptr_t)pg - 1;
    uintptr_t a = ((uintptr_t)addr + pm) & ~pm, z = ((uintptr_t)addr + len) & ~pm;
    if (z <= a) return 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        el_pages_pageout(a, z);
        return 0;
    }
    size_t released = 0;
    uint64_t e[EL_PM_BATCH];
    uintptr_t run = 0; /* start of the current run of clean file pages, 0: none */
    for (uintptr_t p = a; p < z;) {
        size_t n = (size_t)((z - p) / (uintptr_t)pg);
        if (n > EL_PM_BATCH) n = EL_PM_BATCH;
        ssize_t got = pread(fd, e, n * sizeof *e, (off_t)(p / (uintptr_t)pg * sizeof *e));
        if (got < (ssize_t)sizeof *e) {
            if (run) (void)madvise((void *)run, p - run, MADV_DONTNEED);
            el_pages_pageout(p, z);
            close(fd);
            return released;
        }
        n = (size_t)got / sizeof *e;
        for (size_t i = 0; i < n; i++, p += (uintptr_t)pg) {
            /* Absent pages (neither present nor swapped) cost nothing and may
             * join a run. */
            bool file = (e[i] & EL_PM_PRESENT) && (e[i] & EL_PM_FILE);
            bool keep = !file && (e[i] & (EL_PM_PRESENT | EL_PM_SWAP));
            if (file) released += (size_t)pg;
            if (!keep && !run) run = p;
            if (keep && run) {
                (void)madvise((void *)run, p - run, MADV_DONTNEED);
                run = 0;
            }
        }
    }
    if (run) (void)madvise((void *)run, z - run, MADV_DONTNEED);
    close(fd);
    return released;
}
