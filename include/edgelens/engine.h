/* edgelens engine: load a TensorFlow graph, prepare a session for a set of
 * feeds and fetches, run it.
 *
 *   el_model_graph *g;  el_session *s;
 *   el_graph_load("frozen_inference_graph.pb", &g);
 *   const char *feeds[] = {"image_tensor"};
 *   const char *fetches[] = {"detection_boxes", "num_detections:0"};
 *   el_session_create(g, 1, feeds, 2, fetches, NULL, &s);
 *   el_tensor in = ..., out[2];
 *   el_session_run(s, &in, out);          // out[i] owned by the caller
 *   el_tensor_release(&out[0]); ...
 *   el_session_free(s); el_graph_free(g);
 *
 * Thread safety: a session runs one el_session_run at a time; several
 * sessions may share one graph (read-only). */
#ifndef EDGELENS_ENGINE_H
#define EDGELENS_ENGINE_H

#include "edgelens/status.h"
#include "edgelens/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_graph el_graph;
typedef struct el_session el_session;

/* Load a graph. A .pb file is a binary GraphDef (frozen graph). The file is
 * mapped, not copied; the returned graph owns the mapping. Errors name the
 * file and, where it applies, the node and the field. */
el_status el_graph_load(const char *path, el_graph **out);
/* Parse a GraphDef held in memory (copied as needed; `data` may be freed
 * after return). `source` names it in messages. */
el_status el_graph_parse(const void *data, size_t size, const char *source, el_graph **out);
void el_graph_free(el_graph *g);

/* What a node hook sees after each kernel node ran (control-flow nodes are
 * not reported). Everything is borrowed for the duration of the call. */
typedef struct el_node_event {
    const char *node;            /* node name (after graph passes: may be a fused node) */
    const char *op;              /* op type, e.g. "_FusedConv2D" */
    int ninputs;
    const el_tensor *inputs;     /* data inputs */
    int noutputs;
    const el_tensor *outputs;    /* outputs as the kernel filled them */
    double ms;                   /* wall time of the kernel */
} el_node_event;

/* Called on the thread running el_session_run, once per executed kernel
 * node. Must not call back into the session. */
typedef void (*el_node_hook)(void *user, const el_node_event *ev);

/* Arithmetic of the convolutions. FP32 (the default) is the reference
 * engine. BF16 converts Conv2D filters to bfloat16 once at session creation
 * and activations on the fly (round to nearest even, as TensorFlow's
 * bfloat16), multiplies on AMX tiles or with AVX512-BF16 and sums in fp32;
 * depthwise convolutions and every other op stay fp32. Results then differ
 * from fp32 by bf16 rounding (about 3 significant digits per product; see
 * README's precision section for the effect on the reference detections). */
/* BF16X3 splits each fp32 value into two bf16 ones, hi + lo, and sums
 * three AMX products per multiply-add (hi*hi + hi*lo + lo*hi): 16
 * significant bits per operand instead of 24, a relative error per product
 * near 2^-17 (fp32: 2^-24), within the reference tolerance on every
 * reference photo, and on AMX about 1.7x the speed of the fp32 kernels on
 * SSD MobileNet's convolutions. AMX only. */
typedef enum el_precision {
    EL_PRECISION_FP32 = 0,
    EL_PRECISION_BF16 = 1,
    EL_PRECISION_BF16X3 = 2,
    /* The fastest precision that keeps the reference rule: BF16X3 where the
     * CPU has AMX, else FP32. The CLI's and the agent's default; sessions
     * resolve it when they are created (el_precision_resolve). */
    EL_PRECISION_AUTO = 3
} el_precision;

/* "fp32" / "bf16" / "bf16x3" / "auto" (also "float32", "bfloat16") ->
 * *out; EL_ERR_INVALID_ARG naming the accepted values otherwise. */
el_status el_precision_parse(const char *name, el_precision *out);
/* "fp32", "bf16", "bf16x3" or "auto". */
const char *el_precision_name(el_precision p);
/* What `p` runs as on this CPU: AUTO resolved, the others as they are. */
el_precision el_precision_resolve(el_precision p);
/* EL_OK when this CPU runs `p`; else EL_ERR_UNSUPPORTED with a message
 * ("bf16 needs AVX512-BF16 or AMX; this CPU has neither"). Sessions asking
 * for an unavailable precision fail with that error: no silent fallback. */
el_status el_precision_check(el_precision p);
/* The instruction set `p` runs on here: "amx", "avx512_bf16", or for fp32
 * "fp32"; NULL when unavailable. */
const char *el_precision_isa(el_precision p);

typedef struct el_session_opts {
    int threads;          /* 0: one per core */
    int max_iterations;   /* bound on any while-loop's iterations; 0: 1<<20 */
    /* Profiling: when set, every kernel node is timed and reported. NULL
     * (the default) costs nothing. */
    el_node_hook node_hook;
    void *node_hook_user;
    /* Graph passes (constant folding, batch-norm folding, bias/activation
     * fusion, Identity removal) run at session creation unless this is set;
     * results then differ from the unoptimized graph by float rounding only. */
    int no_optimize;
    el_precision precision; /* EL_PRECISION_FP32 (0) unless set */
} el_session_opts;

/* Prepare a session computing `fetches` ("node" or "node:k") from `feeds`
 * (same form). Only the nodes the fetches need are kept (TensorFlow's
 * pruning). Fails when a name is unknown, an op has no kernel, or the graph
 * has a cycle outside a while-loop frame. The graph must outlive the
 * session. Names are copied. */
el_status el_session_create(const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                            const char *const *fetches, const el_session_opts *opts, el_session **out);

/* Run once. feeds[i] matches the i-th feed name (borrowed, not modified);
 * outputs[i] receives a reference to the i-th fetch (release each with
 * el_tensor_release). On failure no output is set and el_last_error() says
 * which node failed and why. */
el_status el_session_run(el_session *s, const el_tensor *feeds, el_tensor *outputs);

void el_session_free(el_session *s);

#ifdef __cplusplus
}
#endif
#endif
