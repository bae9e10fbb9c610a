/* The public session API over a plan: the graph passes (graph/optimize.c)
 * run first on a private copy of the graph, and the session owns the thread
 * pool its kernels use. */
#include <pthread.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/threadpool.h"
#include "exec/exec.h"
#include "graph/optimize.h"

struct el_session {
    el_plan plan;
    el_graph *optimized;     /* owned; NULL when the graph runs as given */
    el_threadpool *pool;
};

/* Each inference allocates and frees the same few megabytes of tensors.
 * With glibc's defaults, buffers over the (adaptive) mmap threshold and a
 * heap top over the trim threshold go back to the kernel after every run
 * and are faulted in again on the next: a fifth of the small graphs' time.
 * Raising both keeps the freed buffers for the next run, as an inference
 * arena would. Process-wide and set once, by the first session. */
static pthread_once_t el_heap_once = PTHREAD_ONCE_INIT;
static void el_heap_policy(void)
{
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

el_status el_session_create(const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                            const char *const *fetches, const el_session_opts *opts, el_session **out)
{
    *out = NULL;
    if (!g) return el_error(EL_ERR_INVALID_ARG, "no graph");
    pthread_once(&el_heap_once, el_heap_policy);
    el_session *s = calloc(1, sizeof *s);
    if (!s) return el_error(EL_ERR_NOMEM, "out of memory");
    el_status st = EL_OK;
    const el_graph *run = g;
    if (!(opts && opts->no_optimize) && nfetches > 0 && nfeeds >= 0) {
        st = el_graph_optimize(g, nfeeds, feeds, nfetches, fetches, NULL, &s->optimized);
        if (st == EL_OK && s->optimized) run = s->optimized;
    }
    if (st == EL_OK) st = el_plan_build(&s->plan, run, nfeeds, feeds, nfetches, fetches, opts);
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
    el_status st = el_plan_run(&s->plan, feeds, outputs);
    el_threadpool_set_current(prev);
    return st;
}

void el_session_free(el_session *s)
{
    if (!s) return;
    el_plan_free(&s->plan);
    el_graph_free(s->optimized);
    el_threadpool_free(s->pool);
    free(s);
}
