/* Which Consts run no task. A Const's value never changes, so what running
 * it decides is only when (in which iteration) and whether (live or dead)
 * its consumers get it:
 * - a root Const without inputs is live once per run: its consumers read
 *   it in place and start with one input less to wait for;
 * - a Const with control inputs (the OD API's loop bodies and conds give
 *   every Const a control input on the body's or branch's pivot: 2160
 *   Const tasks per run of the full-size SSD graph) is read in place when
 *   each of its consumers has another input that cannot arrive in an
 *   iteration unless every control input of the Const did, and arrives
 *   dead when one of them did: an input from a node reached from that
 *   control input through nodes that need all their inputs (not a Merge,
 *   which fires on one) in the same frame (not Enter, Exit, NextIteration)
 *   that deliver (not a Const, which may be read in place itself). Then
 *   the consumer fires in the same iterations, and as dead, as it did with
 *   the Const's task, and nothing else read the Const. */
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"

typedef struct el_pivot_const {
    int pivot, cnst;
} el_pivot_const;

static int el_pivot_cmp(const void *a, const void *b)
{
    const el_pivot_const *x = a, *y = b;
    return x->pivot != y->pivot ? (x->pivot > y->pivot) - (x->pivot < y->pivot) : (x->cnst > y->cnst) - (x->cnst < y->cnst);
}

/* Whether a node's firing implies its inputs' (see the top of the file). */
static bool el_passes_pivot(el_node_kind k)
{
    return k != EL_KIND_MERGE && k != EL_KIND_ENTER && k != EL_KIND_EXIT && k != EL_KIND_NEXT_ITERATION &&
           k != EL_KIND_CONST;
}

/* Whether data's firing in an iteration follows from pred's, and data's
 * deadness makes pred dead: data is pred or reaches it through passing
 * nodes (a backward search from pred, marking back[] with stamp). */
static bool el_implied_by(const el_plan *p, int data, int pred, int *back, int stamp, int *queue)
{
    int qh = 0, qt = 0;
    back[pred] = stamp;
    queue[qt++] = pred;
    while (qh < qt) {
        int n = queue[qh++];
        if (n == data) return true;
        if (!el_passes_pivot(p->nodes[n].kind)) continue;
        const el_node *node = &p->g->nodes[n];
        for (int i = 0; i < node->ninputs; i++) {
            int s = node->inputs[i].node;
            if (back[s] == stamp) continue;
            back[s] = stamp;
            queue[qt++] = s;
        }
    }
    return false;
}

/* Whether pivot fires exactly when a predicate P does, live exactly when P
 * is live and equal to branch k (*pred = P, *branch = k): pivot reads
 * output k of a Switch on P through kernels of one input (the Identity a
 * loop body's or a cond branch's Consts wait for), and the Switch's data
 * comes with P and is dead only when P is (a loop's Merge feeding its
 * condition; a cond's predicate itself). Then output k of any Switch on P
 * fires when pivot does and is dead when pivot is: the loop's other
 * variables, the values a cond branch reads, fire with its pivot. */
static bool el_pivot_branch(const el_plan *p, int pivot, int *pred, int *branch, int *back, int stamp, int *queue)
{
    int n = pivot;
    for (int steps = 0; steps < p->nnodes; steps++) {
        const el_node *node = &p->g->nodes[n];
        if (p->nodes[n].kind != EL_KIND_KERNEL || node->ninputs != 1 || node->ndata != 1) return false;
        int up = node->inputs[0].node;
        if (p->nodes[up].kind != EL_KIND_SWITCH) {
            n = up;
            continue;
        }
        const el_node *sw = &p->g->nodes[up];
        int data = sw->inputs[0].node;
        *pred = sw->inputs[1].node;
        *branch = node->inputs[0].slot;
        /* A Switch's outputs are dead one by one, not with the node. */
        if (sw->ninputs != 2 || p->nodes[data].kind == EL_KIND_SWITCH || p->nodes[*pred].kind == EL_KIND_SWITCH)
            return false;
        return el_implied_by(p, data, *pred, back, stamp, queue);
    }
    return false;
}

/* Sets mark[n] = stamp for every node that fires in an iteration only
 * after pivot did, and dead when pivot was: pivot and what it reaches
 * through passing nodes; with a branch pivot (el_pivot_branch) also what
 * output k of every Switch on P reaches (swmark[switch] = stamp: that
 * output alone fires with pivot). */
static void el_reach(const el_plan *p, int pivot, int *mark, int *swmark, int *swslot, int stamp, int *back, int *queue)
{
    int pred, k;
    bool branch = el_pivot_branch(p, pivot, &pred, &k, back, stamp, queue); /* (queue: its scratch) */
    int qh = 0, qt = 0;
    mark[pivot] = stamp;
    queue[qt++] = pivot;
    if (branch) {
        const el_plan_node *pn = &p->nodes[pred];
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) {
            const el_edge *ed = &p->edges[e];
            if (ed->dst_input != 1 || p->nodes[ed->dst].kind != EL_KIND_SWITCH) continue;
            const el_plan_node *sw = &p->nodes[ed->dst];
            swmark[ed->dst] = stamp;
            swslot[ed->dst] = k;
            for (int f = sw->first_edge; f < sw->first_edge + sw->nedges; f++) {
                const el_edge *fd = &p->edges[f];
                if (fd->dst_input < 0 || fd->src_slot != k || mark[fd->dst] == stamp || !el_passes_pivot(p->nodes[fd->dst].kind))
                    continue;
                mark[fd->dst] = stamp;
                queue[qt++] = fd->dst;
            }
        }
    }
    while (qh < qt) {
        const el_plan_node *pn = &p->nodes[queue[qh++]];
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) {
            int d = p->edges[e].dst;
            if (mark[d] == stamp || !el_passes_pivot(p->nodes[d].kind)) continue;
            mark[d] = stamp;
            queue[qt++] = d;
        }
    }
}

/* Whether every consumer of Const c has an input (not a Const) marked
 * with stamp (el_reach), and may read c in place (a kernel or a Switch:
 * Enter, Merge, Exit and NextIteration act on their inputs' arrival). */
static bool el_consumers_follow(const el_plan *p, int c, const int *mark, const int *swmark, const int *swslot, int stamp)
{
    const el_plan_node *cn = &p->nodes[c];
    for (int e = cn->first_edge; e < cn->first_edge + cn->nedges; e++) {
        int d = p->edges[e].dst;
        el_node_kind k = p->nodes[d].kind;
        if (k != EL_KIND_KERNEL && k != EL_KIND_SWITCH) return false;
        const el_node *node = &p->g->nodes[d];
        bool follows = false;
        for (int i = 0; i < node->ninputs && !follows; i++) {
            const el_input *in = &node->inputs[i];
            follows = (mark[in->node] == stamp && p->nodes[in->node].kind != EL_KIND_CONST) ||
                      (swmark[in->node] == stamp && i < node->ndata && in->slot == swslot[in->node]);
        }
        if (!follows) return false;
    }
    return true;
}

/* Marks the Consts with control inputs that run no task (in_place). */
static el_status el_plan_in_place(el_plan *p)
{
    const el_graph *g = p->g;
    int npairs = 0;
    for (int n = 0; n < g->nnodes; n++)
        if (p->needed[n] && p->nodes[n].kind == EL_KIND_CONST && p->nodes[n].fetch_first < 0) npairs += g->nodes[n].ninputs;
    if (npairs == 0) return EL_OK;
    el_pivot_const *pc = malloc(sizeof *pc * (size_t)npairs);
    int *scratch = malloc(sizeof(int) * 5 * (size_t)g->nnodes);
    bool *fails = calloc((size_t)g->nnodes, sizeof(bool));
    if (!pc || !scratch || !fails) {
        free(pc);
        free(scratch);
        free(fails);
        return el_error(EL_ERR_NOMEM, "out of memory");
    }
    int *mark = scratch, *swmark = mark + g->nnodes, *swslot = swmark + g->nnodes, *back = swslot + g->nnodes,
        *queue = back + g->nnodes;
    npairs = 0;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || p->nodes[n].kind != EL_KIND_CONST || p->nodes[n].fetch_first >= 0) continue;
        for (int i = 0; i < g->nodes[n].ninputs; i++) pc[npairs++] = (el_pivot_const){g->nodes[n].inputs[i].node, n};
    }
    /* One search per pivot: a loop body's Consts share one. */
    qsort(pc, (size_t)npairs, sizeof *pc, el_pivot_cmp);
    for (int n = 0; n < 4 * g->nnodes; n++) scratch[n] = -1;
    for (int i = 0; i < npairs; i++) {
        int c = pc[i].cnst, pivot = pc[i].pivot;
        if (fails[c]) continue;
        /* A Const on a Const: that one may not run either. */
        if (p->nodes[pivot].kind == EL_KIND_CONST) {
            fails[c] = true;
            continue;
        }
        if (i == 0 || pc[i - 1].pivot != pivot) el_reach(p, pivot, mark, swmark, swslot, pivot, back, queue);
        if (!el_consumers_follow(p, c, mark, swmark, swslot, pivot)) fails[c] = true;
    }
    for (int i = 0; i < npairs; i++) p->nodes[pc[i].cnst].in_place = !fails[pc[i].cnst];
    free(pc);
    free(scratch);
    free(fails);
    return EL_OK;
}

el_status el_plan_consts(el_plan *p)
{
    const el_graph *g = p->g;
    EL_TRY(el_plan_in_place(p));
    /* Edges into in_place Consts go (their control inputs: nothing runs
     * them); the others keep their order, so last_use stays right. */
    int nin_place = 0;
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n]) continue;
        el_plan_node *pn = &p->nodes[n];
        nin_place += pn->in_place;
        int w = pn->first_edge;
        for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++)
            if (!p->nodes[p->edges[e].dst].in_place) p->edges[w++] = p->edges[e];
        pn->nedges = w - pn->first_edge;
    }
    for (int f = 0; f < p->nframes; f++) {
        el_plan_frame *fr = &p->frames[f];
        fr->slot_const = malloc(sizeof(int) * (size_t)(fr->nslots + 1));
        if (!fr->slot_const) return el_error(EL_ERR_NOMEM, "out of memory");
        for (int i = 0; i < fr->nslots; i++) fr->slot_const[i] = -1;
    }
    p->const_sources = malloc(sizeof(int) * (size_t)(p->nsources + 1));
    p->const_values = malloc(sizeof(el_tensor) * (size_t)(p->nsources + nin_place + 1));
    p->const_edges = malloc(sizeof(int) * 2 * (size_t)(p->nedges + 1));
    if (!p->const_sources || !p->const_values || !p->const_edges) return el_error(EL_ERR_NOMEM, "out of memory");
    int nsources = 0;
    for (int i = 0; i < p->nsources; i++) {
        int n = p->sources[i];
        if (p->nodes[n].kind == EL_KIND_CONST) {
            p->const_sources[p->nconst_sources] = n;
            p->const_values[p->nconst_sources++] = *p->nodes[n].value; /* the graph keeps the reference */
        } else {
            p->sources[nsources++] = n;
        }
    }
    p->nsources = nsources;
    p->nconsts = p->nconst_sources;
    for (int c = 0; c < p->nconst_sources; c++) {
        const el_plan_node *cn = &p->nodes[p->const_sources[c]];
        for (int e = cn->first_edge; e < cn->first_edge + cn->nedges; e++) {
            el_edge *ed = &p->edges[e];
            el_plan_node *d = &p->nodes[ed->dst];
            if (ed->dst_merge || d->frame != 0) {
                p->const_edges[2 * p->nconst_edges] = c;
                p->const_edges[2 * p->nconst_edges++ + 1] = e;
                continue;
            }
            if (ed->dst_input >= 0) p->frames[0].slot_const[ed->dst_slot] = c;
            d->hoisted++;
        }
    }
    for (int n = 0; n < g->nnodes; n++) {
        if (!p->needed[n] || !p->nodes[n].in_place) continue;
        const el_plan_node *cn = &p->nodes[n];
        int c = p->nconsts++;
        p->const_values[c] = *cn->value;
        for (int e = cn->first_edge; e < cn->first_edge + cn->nedges; e++) {
            const el_edge *ed = &p->edges[e];
            el_plan_node *d = &p->nodes[ed->dst];
            if (ed->dst_input >= 0) p->frames[d->frame].slot_const[ed->dst_slot] = c;
            d->hoisted++;
        }
    }
    for (int n = 0; n < g->nnodes; n++) {
        el_plan_node *pn = &p->nodes[n];
        if (!p->needed[n] || !pn->hoisted) continue;
        pn->slot_const = p->frames[pn->frame].slot_const + pn->slot_base;
        /* Nodes whose every input is read in place are ready when a run
         * starts (only root Consts without inputs leave none to wait for). */
        if (pn->hoisted == pn->ninputs) p->sources[p->nsources++] = n;
    }
    return EL_OK;
}
