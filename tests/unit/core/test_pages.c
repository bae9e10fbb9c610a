/* Handing back clean file pages: read pages leave the resident set and
 * read back the same bytes; a page written through the private mapping
 * keeps what was written; anonymous memory is left alone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/pages.h"
#include "testutil.h"

#define NPAGES 16

static void test_clean_file_pages(void **state)
{
    (void)state;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    char path[] = "/tmp/el_test_pages_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    unsigned char *buf = malloc(NPAGES * pg);
    assert_non_null(buf);
    for (size_t i = 0; i < NPAGES * pg; i++) buf[i] = (unsigned char)(i * 31 + i / pg);
    assert_int_equal(write(fd, buf, NPAGES * pg), (ssize_t)(NPAGES * pg));
    unsigned char *m = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    assert_true(m != MAP_FAILED);
    close(fd);
    unsigned sum = 0;
    for (size_t i = 0; i < NPAGES * pg; i += pg) sum += m[i]; /* every page resident */
    (void)sum;
    m[5 * pg + 7] ^= 0xff; /* page 5: a private copy now */
    size_t released = el_pages_release_clean(m, NPAGES * pg);
    /* Whole pages only, never page 5. Not always all 15 others: a page the
     * kernel does not report as a present file page at that moment (its
     * write-back from write() above still under way on a loaded machine)
     * is kept, which is the safe side. */
    assert_int_equal(released % pg, 0);
    assert_true(released <= (NPAGES - 1) * pg);
    buf[5 * pg + 7] ^= 0xff;
    assert_memory_equal(m, buf, NPAGES * pg);
    /* Partial pages at the ends of a range are not touched. */
    assert_int_equal(el_pages_release_clean(m + 1, pg - 2), 0);
    munmap(m, NPAGES * pg);
    free(buf);
}

static void test_anonymous_kept(void **state)
{
    (void)state;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(a != MAP_FAILED);
    memset(a, 0x5a, 4 * pg);
    assert_int_equal(el_pages_release_clean(a, 4 * pg), 0);
    for (size_t i = 0; i < 4 * pg; i++) assert_int_equal(a[i], 0x5a);
    munmap(a, 4 * pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_file_pages),
        cmocka_unit_test(test_anonymous_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
