/* One run of a plan with TensorFlow's dataflow rules (executor.cc):
 * - a node runs once per iteration of its frame, when all its inputs
 *   (data and control) have arrived; if any arrived dead, it does not run and
 *   all its outputs are dead;
 * - Switch forwards its data to output `pred` and a dead tensor to the other;
 * - Merge runs on the first live data input, or dead once every data input
 *   that can reach it in this iteration is dead (the Enter side in iteration
 *   0, the NextIteration side after);
 * - Enter starts (or joins) a child frame instance per parent iteration;
 *   is_constant Enters reach every iteration; NextIteration starts the next
 *   iteration (a dead one stops the loop); Exit leaves to the parent frame. An
 *   Exit that never received a live value is dead once its frame is done.
 * Ready nodes run newest first, a loop's next iteration after the older
 * ones' work (see el_enqueue). With a session of 2 or more threads, the
 * thread pool's idle workers take ready nodes too (el_exec_help): each
 * executor thread has a deque of its own (it takes its newest task, an idle
 * one takes the oldest of another's), and every piece of bookkeeping (the
 * deques, node states, slots, iterations, frames) is under one lock that
 * kernels run outside of. A kernel is a function of its inputs, so results
 * do not depend on which thread runs what, or when. */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "exec/exec.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EL_CPU_RELAX() _mm_pause()
#else
#define EL_CPU_RELAX() ((void)0)
#endif

enum { EL_SLOT_EMPTY = 0, EL_SLOT_LIVE = 1, EL_SLOT_DEAD = 2 };

/* Inside the executor a tensor whose buf is NULL is empty whatever its
 * other fields say: moving a tensor clears buf only, and dropping an empty
 * one costs a test. */
static inline void el_drop(el_tensor *t)
{
    if (t->buf) el_tensor_release(t);
}

typedef struct el_slot {
    el_tensor t;
    uint8_t state;
} el_slot;

typedef struct el_nstate {
    int32_t pending;     /* inputs still to come (Merge: control inputs) */
    int32_t merge_dead;  /* Merge: dead data inputs so far */
    uint8_t dead;        /* some input arrived dead */
    uint8_t fired;
    uint8_t merge_live;  /* Merge: a live data input arrived */
} el_nstate;

/* One iteration of a frame instance; its slots and node states follow it in
 * the same block. Iterations are recycled through per-frame free lists. */
typedef struct el_iter el_iter;
struct el_iter {
    el_slot *slots;
    el_nstate *ns;
    int outstanding;     /* queued tasks of this iteration */
    int filled;          /* slots not empty (freeing scans them only then) */
    int children;        /* child frame instances started from it */
    el_iter *next_free;
};

typedef struct el_const_enter {
    int node;
    el_tensor t;
    bool dead;
} el_const_enter;

typedef struct el_finst el_finst;
struct el_finst {
    int sframe;
    el_finst *parent;
    int64_t parent_iter;
    el_iter **iters;
    int64_t iters_cap;
    int64_t first_live;       /* oldest iteration not yet retired */
    int64_t iteration_count;  /* newest iteration created */
    int pending_enters;
    el_const_enter *consts;
    int nconsts, consts_cap;
    uint8_t *exit_live;
    el_finst *next;           /* list of live instances */
    el_finst *prev;
};

typedef struct el_task {
    int node;
    bool worth;   /* worth moving to another core (el_worth_stealing) */
    el_finst *f;
    int64_t iter;
} el_task;

/* A ring of tasks; cap is a power of two. */
typedef struct el_deque {
    el_task *q;
    size_t head, len, cap;
} el_deque;

/* What one executor thread keeps: its tasks, the arrays its running task's
 * inputs and outputs pass through (sized for the widest node), and which
 * task that is. Thread 0 runs el_exec_run; thread k >= 1 is worker k of the
 * session's pool. */
typedef struct el_xthread {
    el_deque dq;
    el_tensor *in, *out;
    bool *out_dead;
    el_finst *cur_f;
    int64_t cur_iter;
} el_xthread;

/* The state of a run, kept by the session between runs so that a run in
 * steady state allocates nothing: the deques keep their capacity, finished
 * frame instances and iterations go to per-frame free lists. */
struct el_exec {
    const el_plan *p;
    const el_tensor *feeds;
    el_tensor *results;
    uint8_t *result_state;
    el_finst *frames;           /* live instances */
    el_finst **finst_free;      /* per static frame */
    el_iter **iter_free;        /* per static frame */
    el_nstate **ns_init;        /* per static frame: node states of a new iteration */
    el_xthread *th;             /* nth of them; th[0] is the calling thread */
    int nth, max_in, max_out;
    /* With helpers (mt): tasks only thread 0 may run (!any_thread) wait in
     * `first`; nany counts the tasks in the threads' deques, which any
     * thread may take, nworth those of them worth another core. They,
     * `running` (tasks helpers are running) and `err` are under `lock`;
     * `progress` lets thread 0 wait outside it. */
    bool mt;
    el_threadpool *pool;
    el_deque first;
    int nany, nworth, running;
    _Atomic int lock;
    _Atomic unsigned progress;
    el_status err;
    char errmsg[1024];
};
typedef el_exec el_run;

static el_status el_run_oom(void) { return el_error(EL_ERR_NOMEM, "out of memory in the executor"); }

/* The lock: test-and-test-and-set; it is held for bookkeeping only (a few
 * hundred ns), so a waiter spins, yielding if the holder lost its core. */
static void el_lock(el_run *r)
{
    if (!r->mt) return;
    for (int spins = 0;; spins++) {
        if (!atomic_load_explicit(&r->lock, memory_order_relaxed) &&
            !atomic_exchange_explicit(&r->lock, 1, memory_order_acquire))
            return;
        EL_CPU_RELAX();
        if (spins >= 256) sched_yield();
    }
}

static void el_unlock(el_run *r)
{
    if (r->mt) atomic_store_explicit(&r->lock, 0, memory_order_release);
}

static el_status el_deque_grow(el_deque *d, size_t min_cap)
{
    size_t cap = d->cap ? d->cap * 2 : 256;
    while (cap < min_cap) cap *= 2;
    el_task *q = malloc(sizeof *q * cap);
    if (!q) return el_run_oom();
    for (size_t i = 0; i < d->len; i++) q[i] = d->q[(d->head + i) & (d->cap - 1)];
    free(d->q);
    d->q = q;
    d->head = 0;
    d->cap = cap;
    return EL_OK;
}

static el_task el_deque_pop_back(el_deque *d)
{
    return d->q[(d->head + --d->len) & (d->cap - 1)];
}

static el_task el_deque_pop_front(el_deque *d)
{
    el_task t = d->q[d->head];
    d->head = (d->head + 1) & (d->cap - 1);
    d->len--;
    return t;
}

/* How many of another thread's oldest tasks a helper looks at. */
#define EL_STEAL_SCAN 8
/* A kernel whose inputs hold this much: worth moving to another core. */
#define EL_STEAL_BYTES 4096

/* Whether a ready task is worth running on another core: a kernel with
 * real work. On a node of a few hundred ns the cache lines moving between
 * the cores cost more than running it in parallel gains (the small aiy
 * graph got 15% slower at 2 threads when helpers took any task). */
static bool el_worth_stealing(const el_run *r, int node, const el_iter *it)
{
    const el_plan_node *pn = &r->p->nodes[node];
    if (pn->kind != EL_KIND_KERNEL) return false;
    const el_slot *sl = it->slots + pn->slot_base;
    size_t bytes = 0;
    for (int k = 0; k < pn->ndata; k++)
        if (sl[k].t.buf && (bytes += el_tensor_nbytes(&sl[k].t)) >= EL_STEAL_BYTES) return true;
    return false;
}

/* A task enters (+1) or leaves (-1) the threads' deques. The pool's
 * workers hear only whether one worth taking is there, and only when that
 * changes: the flag is a cache line they poll. */
static void el_nany_add(el_run *r, const el_task *t, int delta)
{
    r->nany += delta;
    if (!t->worth) return;
    int before = r->nworth;
    r->nworth += delta;
    if ((before > 0) != (r->nworth > 0)) el_threadpool_idle_available(r->pool, r->nworth > 0);
}

/* Called by thread x (under the lock). */
static el_status el_enqueue(el_run *r, el_xthread *x, int node, el_finst *f, int64_t iter)
{
    bool any = !r->mt || r->p->nodes[node].any_thread;
    el_deque *d = any ? &x->dq : &r->first;
    if (d->len == d->cap) EL_TRY(el_deque_grow(d, 0));
    /* Threads take from the back (the newest task), so the graph runs depth
     * first: a node's consumers usually run while its outputs are still in
     * cache, and fewer tensors are alive at once than breadth first. Only a
     * task of a later iteration than the running task's, in the same frame
     * instance (NextIteration's), goes to the front: an iteration starts once
     * the older ones' work is done, so a loop's counter does not race ahead
     * of its body with every iteration alive at once. */
    el_task t = {node, r->mt && any && el_worth_stealing(r, node, f->iters[iter]), f, iter};
    if (f == x->cur_f && iter > x->cur_iter) {
        d->head = (d->head - 1) & (d->cap - 1);
        d->q[d->head] = t;
    } else {
        d->q[(d->head + d->len) & (d->cap - 1)] = t;
    }
    d->len++;
    f->iters[iter]->outstanding++;
    if (r->mt && any) el_nany_add(r, &t, 1);
    return EL_OK;
}

/* The next task for thread k (under the lock): its own newest, then (thread
 * 0) the first-thread tasks, then the oldest task of another thread. */
static bool el_take(el_run *r, int k, el_task *t)
{
    el_xthread *x = &r->th[k];
    if (x->dq.len) {
        *t = el_deque_pop_back(&x->dq);
        if (r->mt) el_nany_add(r, t, -1);
        return true;
    }
    if (k == 0 && r->first.len) {
        *t = el_deque_pop_back(&r->first);
        return true;
    }
    if (!r->mt || !r->nany) return false;
    for (int j = 0; j < r->nth; j++) {
        el_deque *d = &r->th[j].dq;
        if (j == k || !d->len) continue;
        /* Thread 0 takes anything (it waits for the run's end anyway); a
         * helper only a task worth it, among the oldest few. */
        size_t n = d->len < EL_STEAL_SCAN ? d->len : EL_STEAL_SCAN, i = 0;
        if (k) {
            while (i < n && !d->q[(d->head + i) & (d->cap - 1)].worth) i++;
            if (i == n) continue;
            el_task tmp = d->q[(d->head + i) & (d->cap - 1)];
            d->q[(d->head + i) & (d->cap - 1)] = d->q[d->head];
            d->q[d->head] = tmp;
        }
        *t = el_deque_pop_front(d);
        el_nany_add(r, t, -1);
        return true;
    }
    return false;
}

/* Back to the frame's free list. Slots are normally empty already (every
 * task takes its inputs); a failed run may leave some. */
static void el_iter_free(el_run *r, el_finst *f, int64_t i)
{
    el_iter *it = f->iters[i];
    if (!it) return;
    int nslots = it->filled ? r->p->frames[f->sframe].nslots : 0;
    for (int s = 0; s < nslots; s++)
        if (it->slots[s].t.buf || it->slots[s].state) {
            el_tensor_release(&it->slots[s].t);
            it->slots[s].state = EL_SLOT_EMPTY;
        }
    it->next_free = r->iter_free[f->sframe];
    r->iter_free[f->sframe] = it;
    f->iters[i] = NULL;
}

static void el_finst_free(el_run *r, el_finst *f)
{
    for (int64_t i = f->first_live; i <= f->iteration_count && i < f->iters_cap; i++) el_iter_free(r, f, i);
    for (int c = 0; c < f->nconsts; c++) el_tensor_release(&f->consts[c].t);
    f->nconsts = 0;
    f->next = r->finst_free[f->sframe];
    r->finst_free[f->sframe] = f;
}

static void el_finst_destroy(el_finst *f)
{
    free(f->consts);
    free(f->iters);
    free(f->exit_live);
    free(f);
}

static void el_finst_unlink(el_run *r, el_finst *f)
{
    if (f->prev) f->prev->next = f->next;
    else r->frames = f->next;
    if (f->next) f->next->prev = f->prev;
}

static el_status el_deliver(el_run *r, el_xthread *x, el_finst *f, int64_t iter, const el_edge *ed, el_tensor *t, bool dead);

/* Creates iteration `iter` of f and hands it the loop invariants. */
static el_status el_iter_create(el_run *r, el_xthread *x, el_finst *f, int64_t iter)
{
    const el_plan *p = r->p;
    const el_plan_frame *fr = &p->frames[f->sframe];
    if (iter >= p->max_iterations)
        return el_error(EL_ERR_LIMIT, "while loop '%s' exceeded %d iterations", fr->name ? fr->name : "root",
                        p->max_iterations);
    if (iter >= f->iters_cap) {
        int64_t cap = f->iters_cap ? f->iters_cap * 2 : 4;
        while (cap <= iter) cap *= 2;
        el_iter **n = realloc(f->iters, sizeof *n * (size_t)cap);
        if (!n) return el_run_oom();
        memset(n + f->iters_cap, 0, sizeof *n * (size_t)(cap - f->iters_cap));
        f->iters = n;
        f->iters_cap = cap;
    }
    el_iter *it = r->iter_free[f->sframe];
    if (it) {
        r->iter_free[f->sframe] = it->next_free;
    } else {
        /* One block: the iteration, its slots (zeroed: empty), its node states. */
        size_t slots = sizeof(el_slot) * (size_t)fr->nslots, ns = sizeof(el_nstate) * (size_t)fr->nnodes;
        size_t head = (sizeof *it + 15) / 16 * 16;
        it = calloc(1, head + slots + ns + 16);
        if (!it) return el_run_oom();
        it->slots = (el_slot *)((char *)it + head);
        it->ns = (el_nstate *)((char *)it->slots + (slots + 15) / 16 * 16);
    }
    it->outstanding = 0;
    it->children = 0;
    it->filled = 0;
    memcpy(it->ns, r->ns_init[f->sframe], sizeof(el_nstate) * (size_t)fr->nnodes);
    f->iters[iter] = it;
    if (iter > f->iteration_count) f->iteration_count = iter;
    for (int c = 0; c < f->nconsts; c++) {
        const el_plan_node *en = &p->nodes[f->consts[c].node];
        for (int e = en->first_edge; e < en->first_edge + en->nedges; e++) {
            const el_edge *ed = &p->edges[e];
            el_tensor t = f->consts[c].t;
            el_tensor_retain(&t);
            EL_TRY(el_deliver(r, x, f, iter, ed, &t, f->consts[c].dead));
        }
    }
    return EL_OK;
}

/* The input of edge ed (a control input when ed->dst_input < 0) arrives in
 * (f, iter); takes *t. */
static el_status el_deliver(el_run *r, el_xthread *x, el_finst *f, int64_t iter, const el_edge *ed, el_tensor *t, bool dead)
{
    /* Inside a loop a dead value is dropped, not delivered, unless the
     * plan found a node that acts on it downstream (an Enter, a Merge's
     * control input: el_plan_dead_needed). Any other node with a dead
     * input would only pass deadness on, so it never runs, as nothing after
     * it does. This skips the dead wave through a loop body on the
     * iteration whose condition is false (the full-size SSD graph: 6100
     * instead of 11900 tasks per run). Root-frame deadness is still
     * delivered: a fetch reports that it is dead. */
    if (dead && f->parent && !ed->dead_needed) {
        el_drop(t);
        return EL_OK;
    }
    if (iter >= f->iters_cap || !f->iters[iter]) {
        el_status s = el_iter_create(r, x, f, iter);
        if (s != EL_OK) {
            el_tensor_release(t);
            return s;
        }
    }
    el_iter *it = f->iters[iter];
    el_nstate *ns = &it->ns[ed->dst_local];
    const int k = ed->dst_input;
    bool ready;
    if (ed->dst_merge) {
        const el_plan_node *pn = &r->p->nodes[ed->dst];
        if (ns->fired) {
            el_tensor_release(t);
            return EL_OK;
        }
        if (k < 0) {
            ns->pending--;
        } else if (!dead) {
            /* Before it fires, a Merge may get a second live input. */
            el_slot *sl = &it->slots[ed->dst_slot];
            if (sl->state == EL_SLOT_EMPTY) it->filled++;
            el_drop(&sl->t);
            sl->t = *t;
            sl->state = EL_SLOT_LIVE;
            ns->merge_live = 1;
            t->buf = NULL;
        } else {
            ns->merge_dead++;
        }
        int reachable = iter == 0 ? pn->merge_enter_inputs : pn->merge_next_inputs;
        ready = ns->pending <= 0 && (ns->merge_live || ns->merge_dead >= reachable);
    } else {
        if (k >= 0) {
            /* Every other input slot gets one value per iteration: it is empty. */
            el_slot *sl = &it->slots[ed->dst_slot];
            sl->t = *t;
            sl->state = dead ? EL_SLOT_DEAD : EL_SLOT_LIVE;
            it->filled++;
            t->buf = NULL;
        }
        if (dead) ns->dead = 1;
        ready = --ns->pending == 0;
    }
    el_drop(t);
    if (ready && !ns->fired) {
        ns->fired = 1;
        return el_enqueue(r, x, ed->dst, f, iter);
    }
    return EL_OK;
}

/* Sends node n's outputs along its out-edges into (f, iter). The last edge
 * reading an output takes outs[slot]'s reference (its buf is cleared). */
static el_status el_propagate(el_run *r, el_xthread *x, int n, el_finst *f, int64_t iter, el_tensor *outs, const bool *out_dead,
                              bool node_dead)
{
    const el_plan *p = r->p;
    const el_plan_node *pn = &p->nodes[n];
    for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) {
        const el_edge *ed = &p->edges[e];
        el_tensor t;
        t.buf = NULL;
        bool dead = node_dead;
        if (ed->dst_input >= 0) {
            dead = out_dead[ed->src_slot];
            if (!dead) {
                if (!outs[ed->src_slot].buf)
                    return el_error(EL_ERR_RUNTIME, "node '%s' (op %s) produced no output %d, which '%s' reads",
                                    p->g->nodes[n].name, p->g->nodes[n].op, ed->src_slot, p->g->nodes[ed->dst].name);
                t = outs[ed->src_slot];
                if (ed->last_use) outs[ed->src_slot].buf = NULL; /* moved: the caller's drop skips it */
                else el_tensor_retain(&t);
            }
        }
        EL_TRY(el_deliver(r, x, f, iter, ed, &t, dead));
    }
    return EL_OK;
}

/* Keeps the outputs of node n that are fetched (only root-frame values are). */
static el_status el_record_fetches(el_run *r, int n, const el_tensor *outs, const bool *out_dead)
{
    const el_plan *p = r->p;
    for (int j = p->nodes[n].fetch_first; j >= 0; j = p->fetch_next[j]) {
        int s = p->fetch_slot[j];
        el_tensor_release(&r->results[j]);
        r->result_state[j] = out_dead[s] ? EL_SLOT_DEAD : EL_SLOT_LIVE;
        if (out_dead[s]) continue;
        if (!outs[s].buf)
            return el_error(EL_ERR_RUNTIME, "node '%s' (op %s) produced no output %d", p->g->nodes[n].name,
                            p->g->nodes[n].op, s);
        r->results[j] = outs[s];
        el_tensor_retain(&r->results[j]);
    }
    return EL_OK;
}

static el_finst *el_child_find(el_run *r, el_finst *parent, int64_t parent_iter, int sframe)
{
    for (el_finst *c = r->frames; c; c = c->next)
        if (c->parent == parent && c->parent_iter == parent_iter && c->sframe == sframe) return c;
    return NULL;
}

static el_status el_finst_new(el_run *r, el_xthread *x, int sframe, el_finst *parent, int64_t parent_iter, el_finst **out)
{
    const el_plan_frame *fr = &r->p->frames[sframe];
    el_finst *f = r->finst_free[sframe];
    if (f) {
        r->finst_free[sframe] = f->next;
        memset(f->exit_live, 0, (size_t)fr->nexits + 1);
    } else {
        f = calloc(1, sizeof *f);
        if (!f) return el_run_oom();
        f->exit_live = calloc((size_t)fr->nexits + 1, 1);
        if (!f->exit_live) {
            free(f);
            return el_run_oom();
        }
    }
    f->sframe = sframe;
    f->parent = parent;
    f->parent_iter = parent_iter;
    f->pending_enters = fr->nenters;
    f->first_live = 0;
    f->iteration_count = -1;
    f->nconsts = 0;
    f->prev = NULL;
    f->next = r->frames;
    if (r->frames) r->frames->prev = f;
    r->frames = f;
    if (parent) parent->iters[parent_iter]->children++;
    *out = f;
    return el_iter_create(r, x, f, 0);
}

/* Retires finished iterations from the oldest; a frame whose iterations are
 * all retired is done: its never-live Exits become dead in the parent. */
static el_status el_cleanup(el_run *r, el_xthread *x, el_finst *f)
{
    const el_plan *p = r->p;
    while (f) {
        while (f->first_live <= f->iteration_count) {
            el_iter *it = f->iters[f->first_live];
            if (it && (it->outstanding || it->children || f->pending_enters)) return EL_OK;
            el_iter_free(r, f, f->first_live);
            f->first_live++;
        }
        el_finst *parent = f->parent;
        if (!parent) return EL_OK;
        const el_plan_frame *fr = &p->frames[f->sframe];
        /* The parent iteration stays alive (children > 0) while dead exits go out. */
        for (int xi = 0; xi < fr->nexits; xi++) {
            if (f->exit_live[xi]) continue;
            const el_plan_node *xn = &p->nodes[fr->exits[xi]];
            if (!parent->parent) {
                static const bool dead[1] = {true};
                EL_TRY(el_record_fetches(r, fr->exits[xi], NULL, dead));
            }
            for (int e = xn->first_edge; e < xn->first_edge + xn->nedges; e++) {
                el_tensor t = {0};
                EL_TRY(el_deliver(r, x, parent, f->parent_iter, &p->edges[e], &t, true));
            }
        }
        parent->iters[f->parent_iter]->children--;
        el_finst_unlink(r, f);
        el_finst_free(r, f);
        f = parent;
    }
    return EL_OK;
}

static el_status el_run_enter(el_run *r, el_xthread *x, int n, el_finst *f, int64_t iter, el_tensor *in, bool dead)
{
    const el_plan *p = r->p;
    const el_plan_node *pn = &p->nodes[n];
    el_finst *child = el_child_find(r, f, iter, pn->child_frame);
    if (!child) EL_TRY(el_finst_new(r, x, pn->child_frame, f, iter, &child));
    if (child->pending_enters <= 0)
        return el_error(EL_ERR_RUNTIME, "node '%s' (op Enter): frame '%s' entered more often than it has Enter nodes",
                        p->g->nodes[n].name, p->frames[pn->child_frame].name);
    if (pn->is_constant) {
        if (child->nconsts == child->consts_cap) {
            int cap = child->consts_cap ? child->consts_cap * 2 : 8;
            el_const_enter *c = realloc(child->consts, sizeof *c * (size_t)cap);
            if (!c) return el_run_oom();
            child->consts = c;
            child->consts_cap = cap;
        }
        el_const_enter *ce = &child->consts[child->nconsts++];
        ce->node = n;
        ce->t = *in;
        ce->dead = dead;
        memset(in, 0, sizeof *in);
        for (int64_t j = child->first_live; j <= child->iteration_count; j++) {
            if (!child->iters[j]) continue;
            for (int e = pn->first_edge; e < pn->first_edge + pn->nedges; e++) {
                el_tensor t = ce->t;
                el_tensor_retain(&t);
                EL_TRY(el_deliver(r, x, child, j, &p->edges[e], &t, dead));
            }
        }
    } else {
        bool od[1] = {dead};
        EL_TRY(el_propagate(r, x, n, child, 0, in, od, dead));
    }
    child->pending_enters--;
    return el_cleanup(r, x, child);
}

/* Releases a task's inputs but those borrowed (borrowed[k] >= 0). */
static void el_drop_inputs(el_tensor *in, int n, const int *borrowed)
{
    for (int k = 0; k < n; k++) {
        if (borrowed && borrowed[k] >= 0) in[k].buf = NULL;
        else el_drop(&in[k]);
    }
}

/* Whether n tensors hold 256 bytes or less in all. */
static bool el_tiny(const el_tensor *t, int n)
{
    size_t bytes = 0;
    for (int k = 0; k < n; k++)
        if (t[k].buf && (bytes += el_tensor_nbytes(&t[k])) > 256) return false;
    return true;
}

static el_status el_run_task(el_run *r, el_xthread *x, const el_task *task)
{
    const el_plan *p = r->p;
    const el_graph *g = p->g;
    int n = task->node;
    el_finst *f = task->f;
    int64_t iter = task->iter;
    const el_plan_node *pn = &p->nodes[n];
    const el_node *node = &g->nodes[n];
    el_iter *it = f->iters[iter];
    el_nstate *ns = &it->ns[pn->local];

    /* Tasks never nest on a thread, so one set of arrays per thread serves. */
    el_tensor *in = x->in, *out = x->out;
    bool *od = x->out_dead;
    el_status st = EL_OK;
    memset(out, 0, sizeof(el_tensor) * (size_t)pn->noutputs);
    int live_input = -1;
    /* Values read in place outlive the run (the graph holds them), and a
     * kernel or Switch only reads its inputs (kernel.h), so they are
     * borrowed: no reference count update, on a buffer header every chain
     * shares (a cache line two threads would pass back and forth). An Enter
     * keeps its input: it gets a reference. */
    const int *hoisted = pn->slot_const, *borrowed = pn->kind == EL_KIND_ENTER ? NULL : hoisted;
    for (int k = 0; k < pn->ndata; k++) {
        if (hoisted && hoisted[k] >= 0) {
            in[k] = p->const_values[hoisted[k]];
            if (!borrowed) el_tensor_retain(&in[k]);
            if (live_input < 0) live_input = k;
            continue;
        }
        el_slot *sl = &it->slots[pn->slot_base + k];
        in[k] = sl->t;
        if (sl->state == EL_SLOT_LIVE && live_input < 0) live_input = k;
        sl->t.buf = NULL;
        it->filled -= sl->state != EL_SLOT_EMPTY;
        sl->state = EL_SLOT_EMPTY;
    }
    bool dead = pn->kind == EL_KIND_MERGE ? !ns->merge_live : ns->dead;
    for (int o = 0; o < pn->noutputs; o++) od[o] = dead;

    switch (pn->kind) {
    case EL_KIND_FEED:
        for (int i = 0; i < p->nfeeds; i++) {
            if (p->feed_node[i] != n) continue;
            out[p->feed_slot[i]] = r->feeds[i];
            el_tensor_retain(&out[p->feed_slot[i]]);
        }
        break;
    case EL_KIND_CONST:
        if (!dead) {
            out[0] = *pn->value;
            el_tensor_retain(&out[0]);
        }
        break;
    case EL_KIND_KERNEL:
        if (!dead) {
            el_kctx ctx = {.node = node, .ninputs = pn->ndata, .inputs = in, .noutputs = pn->noutputs, .outputs = out};
            if (!p->hook) {
                /* The kernel owns its inputs and outputs: no other thread
                 * touches them, nor `it` (outstanding > 0), so it runs
                 * outside the lock, unless its inputs are a few scalars
                 * (shape arithmetic): then handing the lock over twice
                 * would cost more than the kernel. */
                bool unlock = r->mt && !el_tiny(in, pn->ndata);
                if (unlock) el_unlock(r);
                st = pn->op->run(&ctx);
                el_kctx_end(&ctx);
                if (unlock) {
                    el_drop_inputs(in, pn->ndata, borrowed);
                    el_lock(r);
                }
            } else {
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                st = pn->op->run(&ctx);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                if (st == EL_OK) {
                    el_node_event ev = {.node = node->name, .op = node->op, .ninputs = pn->ndata, .inputs = in,
                                        .noutputs = pn->noutputs, .outputs = out,
                                        .ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                                              (double)(t1.tv_nsec - t0.tv_nsec) / 1e6};
                    p->hook(p->hook_user, &ev);
                }
                el_kctx_end(&ctx);
            }
        }
        break;
    case EL_KIND_SWITCH:
        if (!dead) {
            const el_tensor *pred = &in[1];
            if (pred->dtype != EL_DT_BOOL || el_tensor_numel(pred) != 1 || pred->ndim != 0) {
                char s[64];
                st = el_error(EL_ERR_RUNTIME, "node '%s' (op Switch): predicate must be a bool scalar, found %s %s",
                              node->name, el_dtype_name(pred->dtype), el_shape_str(pred->ndim, pred->dims, s, sizeof s));
                break;
            }
            int take = *(const uint8_t *)pred->data ? 1 : 0;
            out[take] = in[0];
            el_tensor_retain(&out[take]);
            od[take] = false;
            od[1 - take] = true;
        }
        break;
    case EL_KIND_MERGE:
        if (!dead) {
            out[0] = in[live_input];
            el_tensor_retain(&out[0]);
            st = el_tensor_alloc(&out[1], EL_DT_INT32, 0, NULL);
            if (st == EL_OK) *(int32_t *)out[1].data = live_input;
        }
        break;
    case EL_KIND_ENTER:
        st = el_run_enter(r, x, n, f, iter, &in[0], dead);
        goto done;
    case EL_KIND_EXIT:
        if (!dead) {
            f->exit_live[pn->exit_index] = 1;
            if (!f->parent->parent) st = el_record_fetches(r, n, in, od);
            if (st == EL_OK) st = el_propagate(r, x, n, f->parent, f->parent_iter, in, od, false);
        }
        goto done;
    case EL_KIND_NEXT_ITERATION:
        /* A dead NextIteration ends the loop: deadness does not cross it. */
        if (!dead) st = el_propagate(r, x, n, f, iter + 1, in, od, false);
        goto done;
    }
    if (st != EL_OK) goto done;
    st = el_record_fetches(r, n, out, od);
    if (st == EL_OK) st = el_propagate(r, x, n, f, iter, out, od, dead);
done:
    el_drop_inputs(in, pn->ndata, borrowed);
    for (int o = 0; o < pn->noutputs; o++) el_drop(&out[o]);
    if (st != EL_OK) return st;
    f->iters[iter]->outstanding--;
    return el_cleanup(r, x, f);
}

/* Thread contexts 0..n-1 (kept between runs). With more than one, every
 * deque starts with room for a task of each node: which thread queues how
 * many tasks varies from run to run, and a deque growing in a later run
 * would be a heap call in steady state. */
static el_status el_exec_threads(el_run *r, int n)
{
    if (n <= r->nth) return EL_OK;
    if (n > 1) {
        size_t want = (size_t)r->p->nnodes + 1;
        if (r->first.cap < want) EL_TRY(el_deque_grow(&r->first, want));
        for (int k = 0; k < r->nth; k++)
            if (r->th[k].dq.cap < want) EL_TRY(el_deque_grow(&r->th[k].dq, want));
    }
    el_xthread *th = realloc(r->th, sizeof *th * (size_t)n);
    if (!th) return el_run_oom();
    r->th = th;
    for (; r->nth < n; r->nth++) {
        el_xthread *x = &th[r->nth];
        memset(x, 0, sizeof *x);
        if (n > 1 && el_deque_grow(&x->dq, (size_t)r->p->nnodes + 1) != EL_OK) {
            r->nth++;
            return el_run_oom();
        }
        x->in = calloc((size_t)r->max_in, sizeof(el_tensor));
        x->out = calloc((size_t)r->max_out, sizeof(el_tensor));
        x->out_dead = calloc((size_t)r->max_out, sizeof(bool));
        if (!x->in || !x->out || !x->out_dead) {
            r->nth++;
            return el_run_oom();
        }
    }
    return EL_OK;
}

/* The first failure of the run (under the lock); a helper's message is kept
 * for thread 0 to report (messages are per thread). */
static void el_fail(el_run *r, el_status st, bool helper)
{
    if (r->err != EL_OK) return;
    r->err = st;
    if (helper) snprintf(r->errmsg, sizeof r->errmsg, "%s", el_last_error());
    else r->errmsg[0] = '\0';
}

/* The pool's idle hook: worker k runs tasks while there are any and no
 * parallel-for job waits for a thread. */
static bool el_exec_help(void *ctx, int k)
{
    el_run *r = ctx;
    if (k >= r->nth) return false;
    el_xthread *x = &r->th[k];
    bool ran = false;
    el_lock(r);
    el_task t;
    while (r->err == EL_OK && !(ran && el_threadpool_job_waiting(r->pool)) && el_take(r, k, &t)) {
        r->running++;
        x->cur_f = t.f;
        x->cur_iter = t.iter;
        el_status st = el_run_task(r, x, &t);
        if (st != EL_OK) el_fail(r, st, true);
        x->cur_f = NULL;
        r->running--;
        atomic_store_explicit(&r->progress, atomic_load_explicit(&r->progress, memory_order_relaxed) + 1,
                              memory_order_release);
        ran = true;
    }
    el_unlock(r);
    return ran;
}

el_status el_exec_create(const el_plan *p, el_exec **out)
{
    *out = NULL;
    el_exec *r = calloc(1, sizeof *r);
    if (!r) return el_run_oom();
    r->p = p;
    r->results = calloc((size_t)p->nfetches + 1, sizeof(el_tensor));
    r->result_state = calloc((size_t)p->nfetches + 1, 1);
    r->finst_free = calloc((size_t)p->nframes, sizeof(el_finst *));
    r->iter_free = calloc((size_t)p->nframes, sizeof(el_iter *));
    r->ns_init = calloc((size_t)p->nframes, sizeof(el_nstate *));
    int max_in = 1, max_out = 1;
    for (int n = 0; n < p->nnodes; n++) {
        if (!p->needed[n]) continue;
        if (p->nodes[n].ndata > max_in) max_in = p->nodes[n].ndata;
        if (p->nodes[n].noutputs > max_out) max_out = p->nodes[n].noutputs;
    }
    r->max_in = max_in;
    r->max_out = max_out;
    if (el_exec_threads(r, 1) != EL_OK || !r->results || !r->result_state || !r->finst_free || !r->iter_free || !r->ns_init) {
        el_exec_free(r);
        return el_run_oom();
    }
    for (int fi = 0; fi < p->nframes; fi++) {
        const el_plan_frame *fr = &p->frames[fi];
        el_nstate *ns = calloc((size_t)fr->nnodes + 1, sizeof *ns);
        if (!ns) {
            el_exec_free(r);
            return el_run_oom();
        }
        for (int m = 0; m < fr->nnodes; m++) {
            const el_plan_node *pn = &p->nodes[fr->members[m]];
            ns[m].pending = pn->kind == EL_KIND_MERGE ? pn->merge_controls : pn->ninputs - pn->hoisted;
        }
        r->ns_init[fi] = ns;
    }
    *out = r;
    return EL_OK;
}

void el_exec_free(el_exec *r)
{
    if (!r) return;
    while (r->frames) {
        el_finst *f = r->frames;
        el_finst_unlink(r, f);
        el_finst_free(r, f);
    }
    for (int fi = 0; fi < r->p->nframes; fi++) {
        if (r->finst_free)
            for (el_finst *f = r->finst_free[fi], *n; f; f = n) {
                n = f->next;
                el_finst_destroy(f);
            }
        if (r->iter_free)
            for (el_iter *it = r->iter_free[fi], *n; it; it = n) {
                n = it->next_free;
                free(it);
            }
        if (r->ns_init) free(r->ns_init[fi]);
    }
    for (int k = 0; k < r->nth; k++) {
        free(r->th[k].dq.q);
        free(r->th[k].in);
        free(r->th[k].out);
        free(r->th[k].out_dead);
    }
    free(r->th);
    free(r->first.q);
    free(r->finst_free);
    free(r->iter_free);
    free(r->ns_init);
    free(r->results);
    free(r->result_state);
    free(r);
}

/* Thread 0's loop: runs tasks until none is queued or running. */
static el_status el_run_loop(el_run *r)
{
    el_xthread *x = &r->th[0];
    el_status st = EL_OK;
    el_lock(r);
    while (r->err == EL_OK) {
        el_task t;
        if (el_take(r, 0, &t)) {
            x->cur_f = t.f;
            x->cur_iter = t.iter;
            st = el_run_task(r, x, &t);
            if (st != EL_OK) el_fail(r, st, false);
            continue;
        }
        if (!r->running) break;
        /* A helper runs the last tasks: wait for it to finish one. */
        unsigned seen = atomic_load_explicit(&r->progress, memory_order_relaxed);
        el_unlock(r);
        for (int spins = 0; atomic_load_explicit(&r->progress, memory_order_acquire) == seen; spins++) {
            EL_CPU_RELAX();
            if (spins >= 256) sched_yield();
        }
        el_lock(r);
    }
    /* After a failure, helpers finish what they run (they take no more). */
    while (r->running) {
        el_unlock(r);
        sched_yield();
        el_lock(r);
    }
    st = r->err;
    if (st != EL_OK && r->errmsg[0]) st = el_error(st, "%s", r->errmsg);
    el_unlock(r);
    return st;
}

el_status el_exec_run(el_exec *r, const el_tensor *feeds, el_tensor *outputs)
{
    const el_plan *p = r->p;
    r->feeds = feeds;
    r->err = EL_OK;
    r->nany = r->nworth = r->running = 0;
    memset(r->result_state, 0, (size_t)p->nfetches + 1);
    /* Idle workers of the session's pool help, unless a hook watches each
     * node (it runs on this thread: the profile's callbacks are not
     * thread-safe). */
    el_threadpool *pool = el_threadpool_current();
    int nth = el_threadpool_size(pool);
    r->mt = nth > 1 && !p->hook;
    r->pool = r->mt ? pool : NULL;
    el_status st = el_exec_threads(r, r->mt ? nth : 1);
    el_finst *root = NULL;
    for (int i = 0; i < p->nfeeds && st == EL_OK; i++)
        if (!feeds[i].buf && feeds[i].dtype != EL_DT_INVALID) st = el_error(EL_ERR_INVALID_ARG, "feed %d has no data", i);
    if (st != EL_OK) goto out;
    el_xthread *x = &r->th[0];
    x->cur_f = NULL;
    if (r->mt) el_threadpool_set_idle(pool, el_exec_help, r);
    el_threadpool_wake(pool); /* awake by the first parallel kernel (the OD API's resize: 25-90 us sooner) */
    el_lock(r);
    st = el_finst_new(r, x, 0, NULL, 0, &root);
    static const bool live[1] = {false};
    for (int c = 0; c < p->nconst_sources && st == EL_OK; c++)
        if (p->nodes[p->const_sources[c]].fetch_first >= 0)
            st = el_record_fetches(r, p->const_sources[c], &p->const_values[c], live);
    for (int i = 0; i < p->nconst_edges && st == EL_OK; i++) {
        const el_edge *ed = &p->edges[p->const_edges[2 * i + 1]];
        el_tensor t = {0};
        if (ed->dst_input >= 0) {
            t = p->const_values[p->const_edges[2 * i]];
            el_tensor_retain(&t);
        }
        st = el_deliver(r, x, root, 0, ed, &t, false);
    }
    for (int s = 0; s < p->nsources && st == EL_OK; s++) st = el_enqueue(r, x, p->sources[s], root, 0);
    if (st != EL_OK) el_fail(r, st, false);
    el_unlock(r);
    /* (After a failure here it only waits for helpers that took a task.) */
    st = el_run_loop(r);
    /* Returns once no worker is inside el_exec_help: the run is ours again. */
    if (r->mt) el_threadpool_set_idle(pool, NULL, NULL);
    for (int j = 0; j < p->nfetches && st == EL_OK; j++) {
        const char *name = p->g->nodes[p->fetch_node[j]].name;
        if (r->result_state[j] == EL_SLOT_DEAD)
            st = el_error(EL_ERR_RUNTIME, "fetch '%s:%d' is dead: it is computed only in a branch that was not taken",
                          name, p->fetch_slot[j]);
        else if (r->result_state[j] != EL_SLOT_LIVE)
            st = el_error(EL_ERR_RUNTIME, "fetch '%s:%d' was never computed: some node it depends on never received all its inputs",
                          name, p->fetch_slot[j]);
    }
out:
    /* The root instance, and after a failure any other, back to the free lists. */
    while (r->frames) {
        el_finst *f = r->frames;
        el_finst_unlink(r, f);
        el_finst_free(r, f);
    }
    for (int k = 0; k < r->nth; k++) {
        r->th[k].dq.len = 0;
        r->th[k].cur_f = NULL;
    }
    r->first.len = 0;
    r->nany = r->nworth = 0;
    r->mt = false;
    r->pool = NULL;
    for (int j = 0; j < p->nfetches; j++) {
        if (st == EL_OK) {
            outputs[j] = r->results[j];
            memset(&r->results[j], 0, sizeof r->results[j]);
        } else {
            el_tensor_release(&r->results[j]);
        }
    }
    r->feeds = NULL;
    return st;
}

el_status el_plan_run(const el_plan *p, const el_tensor *feeds, el_tensor *outputs)
{
    el_exec *r;
    EL_TRY(el_exec_create(p, &r));
    el_status st = el_exec_run(r, feeds, outputs);
    el_exec_free(r);
    return st;
}
