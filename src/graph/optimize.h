/* Graph passes run when a session is created (see optimize.c): constant
 * folding, batch-norm folding into convolutions, bias and activation fusion,
 * Identity removal. */
#ifndef EL_GRAPH_OPTIMIZE_H
#define EL_GRAPH_OPTIMIZE_H

#include "graph/graph.h"

/* What the passes did (for tests and `inspect`-style reports). */
typedef struct el_optimize_stats {
    int folded;       /* nodes evaluated once at session creation */
    int bn_folded;    /* FusedBatchNorm folded into a convolution */
    int bias_fused;   /* BiasAdd / Add of a bias fused into a convolution */
    int act_fused;    /* Relu / Relu6 fused into a convolution */
    int hswish_fused; /* Mul, Add, Relu6, Mul hard swishes made one _ElHardSwish */
    int hswish_conv_fused; /* _ElHardSwish after a fused convolution [BiasAdd] made its epilogue */
    int sigmoid_conv_fused; /* Sigmoid after a fused convolution [BiasAdd] made its epilogue */
    int add_conv_fused;     /* Add of a fused convolution [BiasAdd] and another tensor made its epilogue */
    int dw_pw_fused;        /* depthwise convolution run by the 1x1 convolution reading it, a row at a time */
    int conv_at_fused;      /* such a fusion computed only at the pixels a GatherV2 reads of it */
    int pw_dw_fused;        /* 1x1 expansion or first layer run by the depthwise convolution reading it, a few rows at a time */
    int ring_fused;         /* such a depthwise node run by the one whose expansion reads it (a second ring level) */
    int keep_equal_fused; /* Mul(x, Cast(Equal(x, m))) made one _ElKeepEqual */
    int keep_equal_pool_fused; /* _ElKeepEqual(x, MaxPool(x)) made one MaxPool (its private attr) */
    int peak_topk_fused; /* TopKV2(Reshape(that MaxPool)) made one _ElPeakTopK */
    int peak_sigmoid_fused; /* a convolution's Sigmoid before it computed by the _ElPeakTopK */
    int mul_add_fused; /* Add/Sub(Mul(x, c), d) with scalar constants made one _ElMulAdd */
    int mul_add_absorbed;  /* Pad, Mul by a scalar, uint8 Cast before an _ElMulAdd folded into it */
    int image_cast_sunk;   /* uint8 -> float Cast of images a map_fn loop resizes: the resize reads uint8 */
    int in_std_fused;      /* _ElMulAdd applied by the first convolution as it loads its input */
    int in_scale_fused;    /* Mul read only by convolutions folded into their filters (squeeze-excite) */
    int concat_neg_fused;  /* Neg feeding a ConcatV2 read negated by it (CReLU) */
    int concat_relu_fused; /* Relu reading a ConcatV2 applied by it */
    int concat_sigmoid_fused; /* Sigmoid reading a ConcatV2 applied by it */
    int concat_slice_fused;   /* last-axis Slice reading such a ConcatV2 written by it */
    int div_one_folded;    /* RealDiv by a scalar 1.0 bypassed (x / 1 is x) */
    int concat_mean_fused; /* spatial Mean of a ConcatV2 summed by it (its output 1) */
    int conv_mean_fused;   /* spatial Mean of a depthwise convolution summed by it (its output 1) */
    int concat_resize_fused; /* ResizeBilinear feeding a ConcatV2 that takes the Mean, resized by it */
    int concat_rows_fused;   /* a ConcatV2 whose rows the row fusions reading it make: only its Mean, if any, is made */
    int pool_concat_fused;   /* channel ConcatV2 read by a MaxPool alone: its inputs pooled side by side */
    int pool_relu_fused;     /* Relu reading a MaxPool applied by it */
    int nms_fused;    /* the OD API's unrolled per-class NMS made one _ElMultiClassNms */
    int topk_prefix;  /* TopK whose readers look at its first rows only: only those sorted */
    int nms_top;      /* _ElMultiClassNms read through such a TopK: rows ranked below left out */
    int identities;   /* Identity nodes bypassed */
    int packed;       /* convolution filters packed for the fast kernel */
    int nodes_before; /* nodes the fetches need, before and after */
    int nodes_after;
} el_optimize_stats;

/* Builds an optimized copy of `g` for computing `fetches` from `feeds`
 * (names as el_session_create takes them). Fed and fetched nodes keep their
 * names and output slots; a fused node takes the name of the last node it
 * replaces, so later readers resolve unchanged. *out is NULL when nothing
 * changed (run `g` as is). The copy borrows `g`'s constant data (which may
 * be g's file mapping), so `g` must outlive it, as it outlives a session.
 * Unknown or malformed names are left for the plan to report: the pass then
 * returns EL_OK with *out NULL. stats may be NULL. */
el_status el_graph_optimize(const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                            const char *const *fetches, el_optimize_stats *stats, el_graph **out);

#endif
