/* Handing back pages of a private file mapping that were only read. */
#ifndef EL_CORE_PAGES_H
#define EL_CORE_PAGES_H

#include <stddef.h>

/* The whole pages inside [addr, addr + len) that are clean file pages
 * (mapped from a file and never written here) leave this process's
 * resident set: the next access reads the same bytes from the page cache.
 * Pages written since they were mapped (private copies), and anonymous
 * memory, are kept. A hint: when the kernel does not say which pages are
 * which (/proc/self/pagemap), the pages are only suggested for reclaim
 * (MADV_PAGEOUT), which never changes contents either. Returns the bytes of
 * resident file pages handed back (0 in that case). */
size_t el_pages_release_clean(const void *addr, size_t len);

#endif
