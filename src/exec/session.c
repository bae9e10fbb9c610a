/* The public session API over a plan: the graph passes (graph/optimize.c)
 * run first on a private copy of the graph, and the session owns what its
 * runs reuse: the executor's state, the memory pool every tensor of a run
 * comes from (core/mempool.h), and the thread pool its kernels use. */
#include <stdlib.h>

#include "core/mempool.h"
#include "core/threadpool.h"
#include "exec/exec.h"
#include "graph/optimize.h"
#include "exec/precision.h"

struct el_session {
    el_plan plan;
    el_graph *optimized;     /* owned; NULL when the graph runs as given */
    el_exec *exec;
    el_mempool *mem;
    el_threadpool *pool;
};

el_status el_session_create(const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                            const char *const *fetches, const el_session_opts *opts, el_session **out)
{
    *out = NULL;
    if (!g) return el_error(EL_ERR_INVALID_ARG, "no graph");
    el_session *s = calloc(1, sizeof *s);
    if (!s) return el_error(EL_ERR_NOMEM, "out of memory");
    el_status st = EL_OK;
    const el_graph *run = g;
    if (!(opts && opts->no_optimize) && nfetches > 0 && nfeeds >= 0) {
        st = el_graph_optimize(g, nfeeds, feeds, nfetches, fetches, NULL, &s->optimized);
        if (st == EL_OK && s->optimized) run = s->optimized;
    }
    if (st == EL_OK && opts && el_precision_resolve(opts->precision) != EL_PRECISION_FP32) {
        st = el_session_precision(g, opts->precision, nfeeds, feeds, nfetches, fetches, &s->optimized);
        if (st == EL_OK) run = s->optimized;
    }
    /* The model file's pages only the source graph reads (the weights the
     * passes folded or packed into copies of their own) leave memory. */
    if (st == EL_OK) el_graph_release_source_pages(g, run);
    if (st == EL_OK) st = el_plan_build(&s->plan, run, nfeeds, feeds, nfetches, fetches, opts);
    if (st == EL_OK) st = el_exec_create(&s->plan, &s->exec);
    if (st == EL_OK) st = el_mempool_create(&s->mem);
    if (st == EL_OK) st = el_threadpool_create(opts ? opts->threads : 0, &s->pool);
    if (st != EL_OK) {
        el_session_free(s);
        return st;
    }
    *out = s;
    return EL_OK;
}

el_status el_session_run(el_session *s, const el_tensor *feeds, el_tensor *outputs)
{
    el_threadpool *prev = el_threadpool_set_current(s->pool);
    el_mempool *prev_mem = el_mempool_set_current(s->mem);
    el_status st = el_exec_run(s->exec, feeds, outputs);
    el_mempool_end_run(s->mem);
    el_mempool_set_current(prev_mem);
    el_threadpool_set_current(prev);
    return st;
}

struct el_mempool *el_session_mempool(const el_session *s) { return s->mem; }

const el_graph *el_session_graph(const el_session *s) { return s->plan.g; }

void el_session_free(el_session *s)
{
    if (!s) return;
    el_exec_free(s->exec);
    el_mempool_close(s->mem);
    el_plan_free(&s->plan);
    el_graph_free(s->optimized);
    el_threadpool_free(s->pool);
    free(s);
}
