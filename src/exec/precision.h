/* Reduced precision at session creation (el_session_opts.precision). */
#ifndef EL_EXEC_PRECISION_H
#define EL_EXEC_PRECISION_H

#include "graph/graph.h"

/* Checks that the CPU runs `p`, makes *owned a private copy of `g` when it
 * is NULL (the passes changed nothing), and converts it for `p` in place
 * (graph/precision.c; the session's feeds and fetches keep their values).
 * On failure *owned is left for the caller to free. */
el_status el_session_precision(const el_graph *g, el_precision p, int nfeeds, const char *const *feeds, int nfetches,
                               const char *const *fetches, el_graph **owned);

#endif
