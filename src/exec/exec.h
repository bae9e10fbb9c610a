/* Executor internals: the prepared plan of a session (exec/plan.c) and its
 * dataflow run with TensorFlow's TF1 control-flow rules (exec/run.c). */
#ifndef EL_EXEC_EXEC_H
#define EL_EXEC_EXEC_H

#include "edgelens/engine.h"
#include "graph/graph.h"
#include "ops/kernel.h"

/* How the executor treats a node. Control-flow primitives are executed here,
 * not by kernels, because they decide which tensors are live. */
typedef enum el_node_kind {
    EL_KIND_KERNEL = 0,
    EL_KIND_FEED,          /* value supplied by the caller */
    EL_KIND_SWITCH,
    EL_KIND_MERGE,
    EL_KIND_ENTER,
    EL_KIND_EXIT,
    EL_KIND_NEXT_ITERATION,
    EL_KIND_CONST          /* Const: its value is resolved once, at plan time */
} el_node_kind;

/* An out-edge: output `src_slot` of a node goes to input `dst_input` of
 * `dst` (-1: a control edge). It also carries what delivering along it
 * needs of `dst` (its state index and input slot in its frame), so that a
 * delivery reads no plan node: on large graphs those are cache misses. */
typedef struct el_edge {
    int dst;
    int dst_input;
    int src_slot;
    int dst_local;  /* dst's `local` */
    int dst_slot;   /* dst's slot_base + dst_input (data edges) */
    int dst_merge;  /* dst is a Merge */
    int last_use;   /* the last data edge reading src_slot: it takes the producer's reference */
    int dead_needed; /* inside a loop, deliver a dead value here too (el_plan_dead_needed) */
} el_edge;

/* Per needed node. Indices are graph node indices. */
typedef struct el_plan_node {
    el_node_kind kind;
    const el_op *op;        /* EL_KIND_KERNEL */
    const el_tensor *value; /* EL_KIND_CONST: the graph's tensor, shared by every run */
    int noutputs;
    int frame;              /* static frame the node runs in (0: root) */
    int child_frame;        /* Enter: the frame it enters */
    bool is_constant;       /* Enter: is_constant attr */
    int local;              /* index among its frame's members */
    int slot_base;          /* first input slot in its frame's slot array */
    int ninputs;            /* data + control, counting needed sources only */
    int ndata;
    int merge_enter_inputs; /* Merge: data inputs that can come in iteration 0 (not from NextIteration) */
    int merge_next_inputs;  /* Merge: ... in later iterations (from NextIteration; a cond's Merge: all) */
    int merge_controls;
    int exit_index;         /* Exit: index among its frame's exits */
    int first_edge, nedges; /* into plan.edges */
    int feed_first;         /* FEED: index of the feed of slot 0.. (see feed_of_slot) */
    int fetch_first;        /* first fetch index reading this node, -1 none */
    int hoisted;            /* inputs from Consts read in place (not delivered) */
    const int *slot_const;  /* hoisted: per data input, the const_values index read in place, -1 none */
    bool in_place;          /* a Const read in place by all its consumers: it never runs (plan_const.c) */
    bool any_thread;        /* may run on a run's second thread (see run.c) */
} el_plan_node;

/* A static frame: the root, or one while loop (by frame_name). */
typedef struct el_plan_frame {
    const char *name;
    int parent;
    int nslots;       /* input slots of all nodes in the frame */
    int nnodes;       /* nodes whose `frame` is this one */
    int nenters;      /* Enter nodes that target this frame */
    int nexits;
    int *exits;       /* graph indices of its Exit nodes */
    int *members;     /* graph indices of its nodes, by `local` */
    int *slot_const;  /* per input slot: the const_values index read in place, -1 none */
} el_plan_frame;

typedef struct el_plan {
    const el_graph *g;
    int nnodes;             /* = g->nnodes; entries for unneeded nodes unused */
    bool *needed;
    el_plan_node *nodes;
    el_edge *edges;
    int nedges;
    el_plan_frame *frames;
    int nframes;
    int *sources;           /* root nodes with no needed inputs, but Consts */
    int nsources;
    /* Consts that run no task (plan_const.c): root Consts without inputs
     * (const_sources, the first nconst_sources values), then the in_place
     * Consts of conds and loop bodies. Their values are copied here in a
     * row, where reading them costs fewer cache misses than in the graph's
     * attributes. A consumer's input from one is not delivered: the run
     * takes the value when the node runs (el_plan_node.slot_const), and its
     * pending count starts lower (a root Const's Merges still get theirs
     * delivered: they count live inputs). */
    int *const_sources;
    el_tensor *const_values;
    int nconst_sources;
    int nconsts;
    int *const_edges;       /* (const index, edge) pairs still delivered */
    int nconst_edges;
    int nfeeds;
    int *feed_node, *feed_slot;
    int nfetches;
    int *fetch_node, *fetch_slot;
    int *fetch_next;        /* next fetch index of the same node, -1 end */
    int max_iterations;
    int max_slots;
    el_node_hook hook;      /* profiling, NULL when off */
    void *hook_user;
} el_plan;

el_status el_plan_build(el_plan *p, const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                        const char *const *fetches, const el_session_opts *opts);
void el_plan_free(el_plan *p);
/* Decides which Consts run no task and where their consumers read them
 * (plan_const.c); the last step of el_plan_build. */
el_status el_plan_consts(el_plan *p);

/* The reusable state of runs of a plan (queue, frame instances, iterations:
 * see run.c), created once per session; the plan must outlive it. */
typedef struct el_exec el_exec;
el_status el_exec_create(const el_plan *p, el_exec **out);
void el_exec_free(el_exec *e);
/* Runs the plan once; one run at a time per el_exec. */
el_status el_exec_run(el_exec *e, const el_tensor *feeds, el_tensor *outputs);

/* The session's memory pool (its statistics: core/mempool.h), for tests
 * and measurements. */
struct el_mempool *el_session_mempool(const el_session *s);
/* The graph the session runs (its private copy after the passes, or the
 * caller's graph), for tests and measurements. */
const el_graph *el_session_graph(const el_session *s);

/* Runs the plan once with a fresh state (one-shot callers). */
el_status el_plan_run(const el_plan *p, const el_tensor *feeds, el_tensor *outputs);

#endif
