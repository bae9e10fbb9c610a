/* The public session API over a plan. */
#include <stdlib.h>

#include "exec/exec.h"

struct el_session {
    el_plan plan;
};

el_status el_session_create(const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                            const char *const *fetches, const el_session_opts *opts, el_session **out)
{
    *out = NULL;
    if (!g) return el_error(EL_ERR_INVALID_ARG, "no graph");
    el_session *s = calloc(1, sizeof *s);
    if (!s) return el_error(EL_ERR_NOMEM, "out of memory");
    el_status st = el_plan_build(&s->plan, g, nfeeds, feeds, nfetches, fetches, opts);
    if (st != EL_OK) {
        el_plan_free(&s->plan);
        free(s);
        return st;
    }
    *out = s;
    return EL_OK;
}

el_status el_session_run(el_session *s, const el_tensor *feeds, el_tensor *outputs)
{
    return el_plan_run(&s->plan, feeds, outputs);
}

void el_session_free(el_session *s)
{
    if (!s) return;
    el_plan_free(&s->plan);
    free(s);
}
