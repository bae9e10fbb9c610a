/* Preparing a session: resolve feeds and fetches, prune to what the fetches
 * need (TensorFlow's PruneForTargets), classify control-flow nodes, assign
 * every node its while-loop frame (TensorFlow's BuildControlFlowInfo), check
 * that the only cycles are loop back-edges, and lay out input slots (which
 * Consts run no task: plan_const.c). */
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"

#define EL_DEFAULT_MAX_ITERATIONS (1 << 20)

static el_status el_plan_name(const el_graph *g, const char *what, const char *name, int *node, int *slot)
{
    size_t len = 0;
    *node = el_graph_find_output(g, name, &len, slot);
    if (*node == -2)
        return el_error(EL_ERR_INVALID_ARG, "malformed %s name '%s'", what, name ? name : "(null)");
    if (*node < 0)
        return el_error(EL_ERR_NOT_FOUND, "%s '%s': no node named '%.*s' in %s", what, name, (int)len, name,
                        g->source ? g->source : "the graph");
    return EL_OK;
}

static el_node_kind el_kind_of(const char *op)
{
    if (!strcmp(op, "Switch") || !strcmp(op, "RefSwitch")) return EL_KIND_SWITCH;
    if (!strcmp(op, "Merge") || !strcmp(op, "RefMerge")) return EL_KIND_MERGE;
    if (!strcmp(op, "Enter") || !strcmp(op, "RefEnter")) return EL_KIND_ENTER;
    if (!strcmp(op, "Exit") || !strcmp(op, "RefExit")) return EL_KIND_EXIT;
    if (!strcmp(op, "NextIteration") || !strcmp(op, "RefNextIteration")) return EL_KIND_NEXT_ITERATION;
    return EL_KIND_KERNEL;
}

static el_status el_plan_frame_find(el_plan *p, const el_node *n, int parent, int *out)
{
    el_string name;
    EL_TRY(el_attr_str(n, "frame_name", NULL, &name));
    if (!name.data || name.len == 0)
        return el_error(EL_ERR_FORMAT, "node '%s' (op %s): missing attr 'frame_name'", n->name, n->op);
    for (int f = 1; f < p->nframes; f++) {
        if (strlen(p->frames[f].name) == name.len && !memcmp(p->frames[f].name, name.data, name.len)) {
            if (p->frames[f].parent != parent)
                return el_error(EL_ERR_FORMAT, "node '%s' (op Enter): frame '%s' is entered from two different frames",
                                n->name, p->frames[f].name);
            *out = f;
            return EL_OK;
        }
    }
    el_plan_frame *fr = realloc(p->frames, sizeof *fr * (size_t)(p->nframes + 1));
    if (!fr) return el_error(EL_ERR_NOMEM, "out of memory");
    p->frames = fr;
    el_plan_frame *nf = &p->frames[p->nframes];
    memset(nf, 0, sizeof *nf);
    char *nm = malloc(name.len + 1);
    if (!nm) return el_error(EL_ERR_NOMEM, "out of memory");
    memcpy(nm, name.data, name.len);
    nm[name.len] = '\0';
    nf->name = nm;
    nf->parent = parent;
    *out = p->nframes++;
    return EL_OK;
}

/* A Const runs without its kernel: the value is checked once here (as the
 * Const kernel does) and shared by every execution, in every iteration. */
static el_status el_plan_const(el_plan_node *pn, const el_node *node)
{
    const el_tensor *t;
    EL_TRY(el_attr_tensor(node, "value", &t));
    el_dtype want;
    EL_TRY(el_attr_dtype(node, "dtype", t->dtype, &want));
    if (want != t->dtype)
        return el_error(EL_ERR_FORMAT, "node '%s' (op Const): attr 'dtype' is %s but the value is %s", node->name,
                        el_dtype_name(want), el_dtype_name(t->dtype));
    if (!t->buf) return el_error(EL_ERR_FORMAT, "node '%s' (op Const): no value", node->name);
    pn->kind = EL_KIND_CONST;
    pn->value = t;
    return EL_OK;
}

static el_status el_plan_resolve(el_plan *p, int nfeeds, const char *const *feeds, int nfetches,
                                 const char *const *fetches)
{
    const el_graph *g = p->g;
    p->nfeeds = nfeeds;
    p->nfetches = nfetches;
    p->feed_node = calloc((size_t)nfeeds + 1, sizeof(int));
    p->feed_slot = calloc((size_t)nfeeds + 1, sizeof(int));
    p->fetch_node = calloc((size_t)nfetches + 1, sizeof(int));
    p->fetch_slot = calloc((size_t)nfetches + 1, sizeof(int));
    p->fetch_next = calloc((size_t)nfetches + 1, sizeof(int));
    if (!p->feed_node || !p->feed_slot || !p->fetch_node || !p->fetch_slot || !p->fetch_next)
        return el_error(EL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nfeeds; i++) {
        EL_TRY(el_plan_name(g, "feed", feeds[i], &p->feed_node[i], &p->feed_slot[i]));
        for (int j = 0; j < i; j++)
            if (p->feed_node[j] == p->feed_node[i] && p->feed_slot[j] == p->feed_slot[i])
                return el_error(EL_ERR_INVALID_ARG, "feed '%s' is given twice", feeds[i]);
    }
    for (int i = 0; i < nfetches; i++) EL_TRY(el_plan_name(g, "fetch", fetches[i], &p->fetch_node[i], &p->fetch_slot[i]));
    return EL_OK;
}

/* Marks the nodes the fetches depend on; a fed node's own inputs are not needed. */
static el_status el_plan_prune(el_plan *p)
{
    const el_graph *g = p->g;
    int *stack = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    if (!stack) return el_error(EL_ERR_NOMEM, "out of memory");
    int sp = 0;
    for (int i = 0; i < p->nfeeds; i++) p->nodes[p->feed_node[i]].kind = EL_KIND_FEED;
    for (int i = 0; i < p->nfetches; i++) {
        int n = p->fetch_node[i];
        if (!p->needed[n]) {
            p->needed[n] = true;
            stack[sp++] = n;
        }
    }
    while (sp > 0) {
        int n = stack[--sp];
        if (p->nodes[n].kind == EL_KIND_FEED) continue;
        const el_node *node = &g->nodes[n];
        for (int k = 0; k < node->ninputs; k++) {
            int s = node->inputs[k].node;
            if (!p->needed[s]) {
                p->needed[s] = true;
                stack[sp++] = s;
            }
        }
    }
    free(stack);
    return EL_OK;
}

static el_status el_plan_classify(el_plan *p)
{
    const el_graph *g = p->g;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n]) continue;
        el_plan_node *pn = &p->nodes[n];
        const el_node *node = &g->nodes[n];
        pn->fetch_first = -1;
        pn->frame = -1;
        if (pn->kind == EL_KIND_FEED) {
            pn->noutputs = node->noutputs;
            for (int i = 0; i < p->nfeeds; i++)
                if (p->feed_node[i] == n && p->feed_slot[i] + 1 > pn->noutputs) pn->noutputs = p->feed_slot[i] + 1;
            continue;
        }
        pn->kind = el_kind_of(node->op);
        switch (pn->kind) {
        case EL_KIND_SWITCH:
        case EL_KIND_MERGE: pn->noutputs = 2; break;
        case EL_KIND_KERNEL:
            pn->op = el_op_find(node->op);
            if (!pn->op)
                return el_error(EL_ERR_UNSUPPORTED, "%s: node '%s': op '%s' is not supported by edgelens",
                                g->source ? g->source : "graph", node->name, node->op);
            pn->noutputs = pn->op->noutputs ? pn->op->noutputs(node) : 1;
            if (pn->noutputs < 0) return el_error_prefix(EL_ERR_FORMAT, "%s: ", g->source ? g->source : "graph");
            if (!strcmp(node->op, "Placeholder")) {
                return el_error(EL_ERR_INVALID_ARG, "node '%s' (op Placeholder) is needed by the fetches but not fed",
                                node->name);
            }
            if (!strcmp(node->op, "Const") && node->ndata == 0) EL_TRY(el_plan_const(pn, node));
            break;
        default: pn->noutputs = 1; break;
        }
        /* Control flow runs inside the executor's lock: any thread. */
        pn->any_thread = pn->kind != EL_KIND_KERNEL || !(pn->op->flags & (EL_OP_STATEFUL | EL_OP_PARALLEL));
        if (pn->kind == EL_KIND_SWITCH && node->ndata != 2)
            return el_error(EL_ERR_FORMAT, "node '%s' (op Switch): expected 2 data inputs, found %d", node->name, node->ndata);
        if ((pn->kind == EL_KIND_ENTER || pn->kind == EL_KIND_EXIT || pn->kind == EL_KIND_NEXT_ITERATION) &&
            node->ndata != 1)
            return el_error(EL_ERR_FORMAT, "node '%s' (op %s): expected 1 data input, found %d", node->name, node->op,
                            node->ndata);
        if (pn->kind == EL_KIND_MERGE && node->ndata < 1)
            return el_error(EL_ERR_FORMAT, "node '%s' (op Merge): no data input", node->name);
        if (pn->kind == EL_KIND_ENTER) EL_TRY(el_attr_bool(node, "is_constant", false, &pn->is_constant));
    }
    /* Every read of an output must be within the producer's output count. */
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || p->nodes[n].kind == EL_KIND_FEED) continue;
        const el_node *node = &g->nodes[n];
        for (int k = 0; k < node->ndata; k++) {
            const el_input *in = &node->inputs[k];
            if (in->slot >= p->nodes[in->node].noutputs)
                return el_error(EL_ERR_FORMAT, "node '%s' (op %s): input '%s' reads output %d of '%s' (op %s), which has %d",
                                node->name, node->op, node->input_names[k], in->slot, g->nodes[in->node].name,
                                g->nodes[in->node].op, p->nodes[in->node].noutputs);
        }
    }
    for (int i = 0; i < p->nfetches; i++) {
        const el_plan_node *pn = &p->nodes[p->fetch_node[i]];
        if (p->fetch_slot[i] >= pn->noutputs)
            return el_error(EL_ERR_INVALID_ARG, "fetch '%s:%d': node has %d outputs",
                            g->nodes[p->fetch_node[i]].name, p->fetch_slot[i], pn->noutputs);
    }
    for (int i = 0; i < p->nfeeds; i++) {
        int n = p->feed_node[i];
        p->nodes[n].feed_first = -1;
    }
    return EL_OK;
}

static el_status el_plan_edges(el_plan *p)
{
    const el_graph *g = p->g;
    int *count = calloc((size_t)g->nnodes + 1, sizeof(int));
    if (!count) return el_error(EL_ERR_NOMEM, "out of memory");
    int total = 0;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || p->nodes[n].kind == EL_KIND_FEED) continue;
        const el_node *node = &g->nodes[n];
        p->nodes[n].ninputs = node->ninputs;
        p->nodes[n].ndata = node->ndata;
        for (int k = 0; k < node->ninputs; k++) {
            count[node->inputs[k].node]++;
            total++;
        }
    }
    p->edges = malloc(sizeof(el_edge) * (size_t)(total + 1));
    if (!p->edges) {
        free(count);
        return el_error(EL_ERR_NOMEM, "out of memory");
    }
    p->nedges = total;
    int off = 0;
    for (int n = 0; n < g->nnodes; n++) {
        p->nodes[n].first_edge = off;
        p->nodes[n].nedges = 0;
        off += count[n];
    }
    free(count);
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || p->nodes[n].kind == EL_KIND_FEED) continue;
        const el_node *node = &g->nodes[n];
        for (int k = 0; k < node->ninputs; k++) {
            el_plan_node *src = &p->nodes[node->inputs[k].node];
            el_edge *e = &p->edges[src->first_edge + src->nedges++];
            e->dst = n;
            e->dst_input = k < node->ndata ? k : -1;
            e->src_slot = node->inputs[k].slot < 0 ? 0 : node->inputs[k].slot;
        }
    }
    return EL_OK;
}

/* Assigns frames by walking out-edges from the sources: an Enter's outputs
 * live in its child frame, an Exit's in the parent frame. */
static el_status el_plan_frames(el_plan *p)
{
    const el_graph *g = p->g;
    p->frames = calloc(1, sizeof(el_plan_frame));
    if (!p->frames) return el_error(EL_ERR_NOMEM, "out of memory");
    p->frames[0].name = NULL;
    p->frames[0].parent = -1;
    p->nframes = 1;
    int *queue = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    p->sources = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    if (!queue || !p->sources) {
        free(queue);
        return el_error(EL_ERR_NOMEM, "out of memory");
    }
    int qh = 0, qt = 0;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || p->nodes[n].ninputs != 0) continue;
        p->nodes[n].frame = 0;
        p->sources[p->nsources++] = n;
        queue[qt++] = n;
    }
    el_status st = EL_OK;
    while (qh < qt && st == EL_OK) {
        int n = queue[qh++];
        el_plan_node *pn = &p->nodes[n];
        int out = pn->frame;
        if (pn->kind == EL_KIND_ENTER) {
            st = el_plan_frame_find(p, &g->nodes[n], pn->frame, &pn->child_frame);
            if (st != EL_OK) break;
            out = pn->child_frame;
        } else if (pn->kind == EL_KIND_EXIT) {
            if (pn->frame == 0) {
                st = el_error(EL_ERR_FORMAT, "node '%s' (op Exit) is not inside a while loop", g->nodes[n].name);
                break;
            }
            out = p->frames[pn->frame].parent;
        }
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) {
            el_plan_node *d = &p->nodes[p->edges[e].dst];
            if (d->frame < 0) {
                d->frame = out;
                queue[qt++] = p->edges[e].dst;
            } else if (d->frame != out) {
                st = el_error(EL_ERR_FORMAT, "node '%s' (op %s) has inputs from two different while-loop frames ('%s' and '%s')",
                              g->nodes[p->edges[e].dst].name, g->nodes[p->edges[e].dst].op,
                              d->frame ? p->frames[d->frame].name : "root", out ? p->frames[out].name : "root");
                break;
            }
        }
    }
    free(queue);
    if (st != EL_OK) return st;
    for (int n = 0; n < g->nnodes; n++)
        if (p->needed[n] && p->nodes[n].frame < 0)
            return el_error(EL_ERR_FORMAT, "node '%s' (op %s) is only reachable through a cycle: a cycle outside a while loop",
                            g->nodes[n].name, g->nodes[n].op);
    return EL_OK;
}

/* Kahn's algorithm without the NextIteration -> Merge back-edges: anything
 * left over is a cycle TensorFlow could never execute. */
static el_status el_plan_acyclic(el_plan *p)
{
    const el_graph *g = p->g;
    int *indeg = calloc((size_t)g->nnodes + 1, sizeof(int));
    int *queue = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    if (!indeg || !queue) {
        free(indeg);
        free(queue);
        return el_error(EL_ERR_NOMEM, "out of memory");
    }
    int needed = 0;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n]) continue;
        needed++;
        el_plan_node *pn = &p->nodes[n];
        if (pn->kind == EL_KIND_NEXT_ITERATION) continue;
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) indeg[p->edges[e].dst]++;
    }
    int qh = 0, qt = 0;
    for (int n = 0; n < g->nnodes; n++)
        if (p->needed[n] && indeg[n] == 0) queue[qt++] = n;
    while (qh < qt) {
        int n = queue[qh++];
        el_plan_node *pn = &p->nodes[n];
        if (pn->kind == EL_KIND_NEXT_ITERATION) continue;
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++)
            if (--indeg[p->edges[e].dst] == 0) queue[qt++] = p->edges[e].dst;
    }
    el_status st = EL_OK;
    if (qt != needed) {
        for (int n = 0; n < g->nnodes; n++)
            if (p->needed[n] && indeg[n] > 0) {
                st = el_error(EL_ERR_FORMAT, "%s: node '%s' (op %s) is on a cycle outside a while loop",
                              g->source ? g->source : "graph", g->nodes[n].name, g->nodes[n].op);
                break;
            }
    }
    for (int n = 0; n < g->nnodes && st == EL_OK; n++) {
        if (!p->needed[n] || p->nodes[n].kind != EL_KIND_NEXT_ITERATION) continue;
        el_plan_node *pn = &p->nodes[n];
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++)
            if (p->nodes[p->edges[e].dst].kind != EL_KIND_MERGE) {
                st = el_error(EL_ERR_FORMAT, "node '%s' (op NextIteration) feeds '%s' (op %s); only Merge may follow it",
                              g->nodes[n].name, g->nodes[p->edges[e].dst].name, g->nodes[p->edges[e].dst].op);
                break;
            }
    }
    free(indeg);
    free(queue);
    return st;
}

/* Which edges must carry a dead value inside a loop (el_edge.dead_needed;
 * run.c drops the others). A node acts on a dead input only as an Enter
 * (its frame instance counts its Enters) or through a Merge's control input
 * (counted as arrived, dead or not); every other node only passes deadness
 * on. So an edge needs its dead value when its destination acts on it, or
 * must run dead to pass it on to such an edge: a backward closure from those
 * edges. A dead NextIteration or Exit passes nothing on (a frame's
 * never-live Exits go out dead when the frame is done, whatever ran). */
static el_status el_plan_dead_needed(el_plan *p)
{
    const el_graph *g = p->g;
    bool *must_run = calloc((size_t)g->nnodes + 1, sizeof(bool)); /* must run when dead */
    int *stack = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    if (!must_run || !stack) {
        free(must_run);
        free(stack);
        return el_error(EL_ERR_NOMEM, "out of memory");
    }
    int sp = 0;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n]) continue;
        const el_plan_node *pn = &p->nodes[n];
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) {
            const el_edge *ed = &p->edges[e];
            const el_plan_node *d = &p->nodes[ed->dst];
            bool acts = d->kind == EL_KIND_ENTER || (d->kind == EL_KIND_MERGE && ed->dst_input < 0);
            if (acts && !must_run[n]) {
                must_run[n] = true;
                stack[sp++] = n;
            }
        }
    }
    while (sp > 0) {
        int n = stack[--sp];
        el_node_kind k = p->nodes[n].kind;
        if (k == EL_KIND_NEXT_ITERATION || k == EL_KIND_EXIT || k == EL_KIND_FEED) continue;
        const el_node *node = &g->nodes[n];
        for (int i = 0; i < node->ninputs; i++) {
            int s = node->inputs[i].node;
            if (p->needed[s] && !must_run[s]) {
                must_run[s] = true;
                stack[sp++] = s;
            }
        }
    }
    for (int e = 0; e < p->nedges; e++) {
        el_edge *ed = &p->edges[e];
        const el_plan_node *d = &p->nodes[ed->dst];
        ed->dead_needed = d->kind == EL_KIND_ENTER || (d->kind == EL_KIND_MERGE && ed->dst_input < 0) ||
                          (must_run[ed->dst] && d->kind != EL_KIND_NEXT_ITERATION && d->kind != EL_KIND_EXIT);
    }
    free(must_run);
    free(stack);
    return EL_OK;
}

static el_status el_plan_layout(el_plan *p)
{
    const el_graph *g = p->g;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n]) continue;
        el_plan_node *pn = &p->nodes[n];
        el_plan_frame *f = &p->frames[pn->frame];
        pn->slot_base = f->nslots;
        f->nslots += pn->ndata;
        pn->local = f->nnodes++;
        if (pn->kind == EL_KIND_ENTER) p->frames[pn->child_frame].nenters++;
        if (pn->kind == EL_KIND_EXIT) pn->exit_index = f->nexits++;
        if (pn->kind == EL_KIND_MERGE) {
            const el_node *node = &g->nodes[n];
            for (int k = 0; k < node->ninputs; k++) {
                if (k >= node->ndata) pn->merge_controls++;
                else if (p->nodes[node->inputs[k].node].kind == EL_KIND_NEXT_ITERATION) pn->merge_next_inputs++;
                else pn->merge_enter_inputs++;
            }
            /* A Merge without NextIteration inputs (a cond's, also inside a
             * loop body) gets every data input in every iteration, not only
             * in iteration 0: without this, from iteration 1 on it fired
             * (dead) on its first input, even a dead one before a live one. */
            if (pn->merge_next_inputs == 0) pn->merge_next_inputs = pn->merge_enter_inputs;
        }
    }
    for (int f = 0; f < p->nframes; f++) {
        if (p->frames[f].nslots > p->max_slots) p->max_slots = p->frames[f].nslots;
        p->frames[f].exits = malloc(sizeof(int) * (size_t)(p->frames[f].nexits + 1));
        p->frames[f].members = malloc(sizeof(int) * (size_t)(p->frames[f].nnodes + 1));
        if (!p->frames[f].exits || !p->frames[f].members) return el_error(EL_ERR_NOMEM, "out of memory");
        p->frames[f].nexits = 0;
    }
    for (int n = 0; n < g->nnodes; n++)
        if (p->needed[n]) p->frames[p->nodes[n].frame].members[p->nodes[n].local] = n;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || p->nodes[n].kind != EL_KIND_EXIT) continue;
        el_plan_frame *f = &p->frames[p->nodes[n].frame];
        f->exits[f->nexits++] = n;
    }
    for (int e = 0; e < p->nedges; e++) {
        el_edge *ed = &p->edges[e];
        const el_plan_node *d = &p->nodes[ed->dst];
        ed->dst_local = d->local;
        ed->dst_slot = ed->dst_input >= 0 ? d->slot_base + ed->dst_input : -1;
        ed->dst_merge = d->kind == EL_KIND_MERGE;
        ed->last_use = 0;
    }
    EL_TRY(el_plan_dead_needed(p));
    /* Per node, the last data edge reading each output moves the producer's
     * reference along instead of taking one more and dropping the
     * producer's: two atomic reference count updates (cache misses on the
     * buffer's header, often) fewer per output. */
    int maxout = 1;
    for (int n = 0; n < g->nnodes; n++)
        if (p->needed[n] && p->nodes[n].noutputs > maxout) maxout = p->nodes[n].noutputs;
    int *seen = calloc((size_t)maxout, sizeof(int)); /* n + 1 once node n's slot has a later reader */
    if (!seen) return el_error(EL_ERR_NOMEM, "out of memory");
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n]) continue;
        const el_plan_node *pn = &p->nodes[n];
        for (int e = pn->first_edge + pn->nedges - 1; e >= pn->first_edge; e--) {
            el_edge *ed = &p->edges[e];
            if (ed->dst_input < 0 || ed->src_slot < 0 || ed->src_slot >= maxout || seen[ed->src_slot] == n + 1) continue;
            seen[ed->src_slot] = n + 1;
            ed->last_use = 1;
        }
    }
    free(seen);
    for (int i = p->nfetches - 1; i >= 0; i--) {
        el_plan_node *pn = &p->nodes[p->fetch_node[i]];
        /* An Exit runs in its loop's frame but its output lives in the parent. */
        int out_frame = pn->kind == EL_KIND_EXIT ? p->frames[pn->frame].parent : pn->frame;
        if (out_frame != 0 || pn->kind == EL_KIND_ENTER)
            return el_error(EL_ERR_INVALID_ARG, "fetch '%s' is inside while loop '%s'; only tensors outside loops can be fetched",
                            g->nodes[p->fetch_node[i]].name, p->frames[pn->frame].name);
        p->fetch_next[i] = pn->fetch_first;
        pn->fetch_first = i;
    }
    return el_plan_consts(p);
}

el_status el_plan_build(el_plan *p, const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                        const char *const *fetches, const el_session_opts *opts)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    p->nnodes = g->nnodes;
    p->max_iterations = opts && opts->max_iterations > 0 ? opts->max_iterations : EL_DEFAULT_MAX_ITERATIONS;
    p->hook = opts ? opts->node_hook : NULL;
    p->hook_user = opts ? opts->node_hook_user : NULL;
    if (nfetches <= 0) return el_error(EL_ERR_INVALID_ARG, "a session needs at least one fetch");
    if (nfeeds < 0) return el_error(EL_ERR_INVALID_ARG, "negative feed count");
    p->needed = calloc((size_t)g->nnodes + 1, sizeof(bool));
    p->nodes = calloc((size_t)g->nnodes + 1, sizeof(el_plan_node));
    if (!p->needed || !p->nodes) return el_error(EL_ERR_NOMEM, "out of memory");
    EL_TRY(el_plan_resolve(p, nfeeds, feeds, nfetches, fetches));
    EL_TRY(el_plan_prune(p));
    EL_TRY(el_plan_classify(p));
    EL_TRY(el_plan_edges(p));
    EL_TRY(el_plan_frames(p));
    EL_TRY(el_plan_acyclic(p));
    EL_TRY(el_plan_layout(p));
    return EL_OK;
}

void el_plan_free(el_plan *p)
{
    for (int f = 0; f < p->nframes; f++) {
        free(p->frames[f].slot_const);
        free((char *)p->frames[f].name);
        free(p->frames[f].exits);
        free(p->frames[f].members);
    }
    free(p->frames);
    free(p->needed);
    free(p->nodes);
    free(p->edges);
    free(p->sources);
    free(p->const_sources);
    free(p->const_values);
    free(p->const_edges);
    free(p->feed_node);
    free(p->feed_slot);
    free(p->fetch_node);
    free(p->fetch_slot);
    free(p->fetch_next);
    memset(p, 0, sizeof *p);
}
