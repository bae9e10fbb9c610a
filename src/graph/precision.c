/* Reduced-precision pass: the bf16 filters of the convolutions (see
 * precision.h). Packing happens here, once per session, so the kernels only
 * convert activations. */
#include "graph/precision.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ops/conv_bf16.h"
#include "ops/conv_dwpw.h"
#include "ops/conv_in_scale.h"
#include "ops/gemm.h"

el_status el_graph_clone(const el_graph *g, el_graph **out)
{
    *out = NULL;
    el_graph *c = calloc(1, sizeof *c);
    if (!c) return el_error(EL_ERR_NOMEM, "out of memory copying the graph");
    c->source = g->source;
    el_status s = EL_OK;
    if (g->nnodes > 0) s = el_graph_alloc(c, sizeof(el_node) * (size_t)g->nnodes, &c->nodes);
    if (s == EL_OK && g->name_cap > 0) {
        c->name_index = malloc(sizeof *c->name_index * (size_t)g->name_cap);
        if (!c->name_index) s = el_error(EL_ERR_NOMEM, "out of memory copying the graph");
        else memcpy(c->name_index, g->name_index, sizeof *c->name_index * (size_t)g->name_cap);
        c->name_cap = g->name_cap;
    }
    /* nnodes grows with the copied nodes, so el_graph_free releases exactly
     * the tensors retained so far if a copy fails half way. */
    for (int i = 0; s == EL_OK && i < g->nnodes; i++) {
        const el_node *n = &g->nodes[i];
        el_node *d = &c->nodes[i];
        *d = *n;
        d->attrs = NULL;
        d->nattrs = 0;
        if (n->nattrs > 0) s = el_graph_alloc(c, sizeof(el_attr) * (size_t)n->nattrs, &d->attrs);
        if (s != EL_OK) break;
        for (int a = 0; a < n->nattrs; a++) {
            el_attr *at = &d->attrs[a];
            *at = n->attrs[a];
            if (at->type == EL_ATTR_TENSOR) el_tensor_retain(&at->v.tensor);
            if (at->type == EL_ATTR_LIST && at->v.list.elem == EL_ATTR_TENSOR && at->v.list.n > 0) {
                el_tensor *ts = NULL;
                s = el_graph_alloc(c, sizeof(el_tensor) * (size_t)at->v.list.n, &ts);
                if (s != EL_OK) {
                    at->v.list.n = 0;
                    d->nattrs = a + 1;
                    break;
                }
                for (int k = 0; k < at->v.list.n; k++) {
                    ts[k] = n->attrs[a].v.list.v.tensor[k];
                    el_tensor_retain(&ts[k]);
                }
                at->v.list.v.tensor = ts;
            }
            d->nattrs = a + 1;
        }
        c->nnodes = i + 1;
    }
    if (s != EL_OK) {
        el_graph_free(c);
        return s;
    }
    c->nnodes = g->nnodes;
    *out = c;
    return EL_OK;
}

static bool el_is_conv2d(const char *op) { return !strcmp(op, "Conv2D") || !strcmp(op, "_FusedConv2D"); }

/* Whether one of `names` (feeds or fetches: "node" or "node:slot") names node n. */
static bool el_named(const el_graph *g, int n, int count, const char *const *names)
{
    for (int i = 0; i < count; i++) {
        size_t len;
        int slot;
        if (el_graph_find_output(g, names[i], &len, &slot) == n) return true;
    }
    return false;
}

/* The layout attrs of a filter, on its node under a prefix: "" for the
 * node's own filter (input 1), EL_PWDW_PREFIX for the expansion a
 * depthwise convolution runs (ops/conv_dwpw.h). */
typedef struct el_filter_attrs {
    const char *layout, *oc, *shape;
} el_filter_attrs;

static const el_filter_attrs el_own_attrs = {EL_FILTER_LAYOUT_ATTR, EL_FILTER_OC_ATTR, EL_FILTER_SHAPE_ATTR};
static const el_filter_attrs el_pw_attrs = {EL_PWDW_PREFIX EL_FILTER_LAYOUT_ATTR, EL_PWDW_PREFIX EL_FILTER_OC_ATTR,
                                            EL_PWDW_PREFIX EL_FILTER_SHAPE_ATTR};

/* Node n reads the bf16 tiles p from Const c (n's only reader): c's value
 * becomes p (the fp32 filter is released now, so the packed copies never
 * sit next to the fp32 ones) and n gets the layout attrs fa names. */
static el_status el_use_bf16(el_graph *g, el_node *n, el_node *c, el_tensor *p, const int64_t hwio[4],
                             const el_filter_attrs *fa, el_filter_layout layout)
{
    el_attr *ca = NULL, *na = NULL;
    EL_TRY(el_graph_alloc(g, sizeof(el_attr) * (size_t)c->nattrs, &ca));
    EL_TRY(el_graph_alloc(g, sizeof(el_attr) * (size_t)(n->nattrs + 2), &na));
    /* The old arrays stay in the arena; their tensors now belong to the new ones. */
    memcpy(ca, c->attrs, sizeof(el_attr) * (size_t)c->nattrs);
    for (int a = 0; a < c->nattrs; a++) {
        if (!strcmp(ca[a].name, "dtype") && ca[a].type == EL_ATTR_TYPE) ca[a].v.type = EL_DT_INT16;
        if (!strcmp(ca[a].name, "value") && ca[a].type == EL_ATTR_TENSOR) {
            el_tensor_release(&ca[a].v.tensor);
            ca[a].v.tensor = *p;
        }
    }
    int k = 0;
    for (int a = 0; a < n->nattrs; a++)
        if (strcmp(n->attrs[a].name, fa->layout) && strcmp(n->attrs[a].name, fa->oc)) na[k++] = n->attrs[a];
    const char *lname = el_filter_layout_name(layout);
    na[k++] = (el_attr){.name = fa->layout, .type = EL_ATTR_S, .v.s = {lname, strlen(lname)}};
    el_attr *sh = &na[k++];
    *sh = (el_attr){.name = fa->shape, .type = EL_ATTR_SHAPE};
    sh->v.shape.rank = 4;
    memcpy(sh->v.shape.dims, hwio, sizeof(int64_t) * 4);
    c->attrs = ca;
    n->attrs = na;
    n->nattrs = k;
    return EL_OK;
}

/* Where the packed filters go: a first pass only adds up `need` (dry),
 * the second takes them from [next, next + left), or from the heap when
 * that mapping could not be made. One mapping on huge pages: 27 MB of
 * bf16x3 filters on SSD MobileNet are 14 page faults instead of 6900 at
 * load, and as few TLB entries while the convolutions stream them. */
typedef struct el_pack_space {
    bool dry;
    size_t need;
    unsigned char *next;
    size_t left;
} el_pack_space;

#define EL_PACK_ALIGN 64
#define EL_PACK_HUGE ((size_t)2 << 20)

/* Converts the filter node n reads at input `fi` (layout attrs fa) when it
 * qualifies; *done tells whether it did (or, dry, would). */
static el_status el_bf16_filter(el_graph *g, el_node *n, int fi, const el_filter_attrs *fa, bool x3, el_pack_space *sp,
                                const int *readers,
                                int nfeeds, const char *const *feeds, int nfetches, const char *const *fetches,
                                bool *done)
{
    *done = false;
    const el_input *in = &n->inputs[fi];
    if (in->slot != 0 || in->node < 0 || in->node >= g->nnodes) return EL_OK;
    el_node *fn = &g->nodes[in->node];
    /* The filter's value is replaced: only a Const nothing else reads, feeds or fetches. */
    if (strcmp(fn->op, "Const") != 0 || readers[in->node] != 1 || el_named(g, in->node, nfeeds, feeds) ||
        el_named(g, in->node, nfetches, fetches))
        return EL_OK;
    const el_attr *va = el_node_attr(fn, "value");
    if (!va || va->type != EL_ATTR_TENSOR) return EL_OK;
    const el_tensor *f = &va->v.tensor;
    if (f->dtype != EL_DT_FLOAT || !f->data) return EL_OK;
    /* HWIO [kh, kw, ic, oc], or the fp32 panels graph/optimize.c packed
     * ([panels, kh, kw, ic, 32], the depth in an attr; ops/gemm.h). */
    int64_t kh, kw, ic, oc;
    const el_attr *la = el_node_attr(n, fa->layout);
    if (la) {
        if (la->type != EL_ATTR_S || el_filter_layout_parse(la->v.s.data, la->v.s.len) != EL_FILTER_F32_P32 ||
            f->ndim != 5 || el_attr_int(n, fa->oc, -1, &oc) != EL_OK || f->dims[0] != (oc + EL_GEMM_NR - 1) / EL_GEMM_NR)
            return EL_OK;
        kh = f->dims[1], kw = f->dims[2], ic = f->dims[3];
    } else {
        if (f->ndim != 4) return EL_OK;
        kh = f->dims[0], kw = f->dims[1], ic = f->dims[2], oc = f->dims[3];
    }
    int64_t k = kh * kw * ic;
    if (k < 1 || oc < 1 || k > EL_BF16_MAX_K) return EL_OK;
    /* A window over a few channels (the first layer's RGB: k = 27) is
     * gathered a few floats at a time, which costs more than bf16 saves
     * (0.6 ms fp32 against 2.3 ms bf16 for SSD MobileNet's first
     * layer); fp32 keeps it, and the image's own precision with it. */
    if (kh * kw > 1 && ic < 16) return EL_OK;
    /* bf16x3 over a short k or a few output channels (the tiles' 16-column
     * blocks padded): the tiles wait on converting and storing rows, not on
     * products, and fp32 is as fast or faster (its narrow kernel, its
     * fusions). A 1x1 running a depthwise convolution's rows (or run by
     * one) leaves that fusion for bf16x3 only when its k is long. */
    bool fused_rows = el_node_attr(n, EL_DWPW_NIN_ATTR) || el_node_attr(n, EL_PWDW_NIN_ATTR);
    if (x3 && (k < (fused_rows ? EL_BF16X3_MIN_K_ROWS : EL_BF16X3_MIN_K) || oc < EL_BF16X3_MIN_OC)) return EL_OK;
    int64_t len = el_bf16_packed_len(k, oc) * (x3 ? 2 : 1);
    size_t bytes = ((size_t)len * sizeof(uint16_t) + EL_PACK_ALIGN - 1) & ~(size_t)(EL_PACK_ALIGN - 1);
    if (sp->dry) {
        sp->need += bytes;
        *done = true;
        return EL_OK;
    }
    el_tensor p;
    el_status s;
    if (sp->next && bytes <= sp->left) {
        s = el_tensor_wrap(&p, EL_DT_INT16, 1, &len, sp->next);
        if (s == EL_OK) sp->next += bytes, sp->left -= bytes;
    } else {
        s = el_tensor_alloc(&p, EL_DT_INT16, 1, &len);
    }
    /* Straight from the fp32 panels when graph/optimize.c packed them. */
    if (s == EL_OK) el_bf16_pack_strided(f->data, la ? EL_GEMM_NR : oc, la ? k * EL_GEMM_NR : EL_GEMM_NR, k, oc, x3, p.data);
    const int64_t shape[4] = {kh, kw, ic, oc};
    if (s == EL_OK) s = el_use_bf16(g, n, fn, &p, shape, fa, x3 ? EL_FILTER_BF16X3_T32X16 : EL_FILTER_BF16_T32X16);
    if (s != EL_OK) {
        el_tensor_release(&p);
        return s;
    }
    *done = true;
    return EL_OK;
}

/* The mapping for sp->need bytes (none when nothing is packed, or the
 * graph has one already, or mmap fails: the heap then). */
static void el_pack_map(el_graph *g, el_pack_space *sp)
{
    if (sp->need == 0 || g->packed) return;
    size_t size = sp->need + EL_PACK_HUGE;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    g->packed = m;
    g->packed_size = size;
    uintptr_t a = ((uintptr_t)m + EL_PACK_HUGE - 1) & ~(uintptr_t)(EL_PACK_HUGE - 1);
#if defined(MADV_HUGEPAGE)
    (void)madvise((void *)a, size - (a - (uintptr_t)m), MADV_HUGEPAGE); /* a hint */
#endif
    sp->next = (unsigned char *)a;
    sp->left = size - (a - (uintptr_t)m);
}

el_status el_graph_pack_bf16(el_graph *g, bool x3, int nfeeds, const char *const *feeds, int nfetches,
                             const char *const *fetches, int *converted)
{
    int count = 0;
    int *readers = calloc((size_t)g->nnodes + 1, sizeof *readers);
    if (!readers) return el_error(EL_ERR_NOMEM, "out of memory converting filters to bf16");
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i].ndata; k++) {
            int src = g->nodes[i].inputs[k].node;
            if (src >= 0 && src < g->nnodes) readers[src]++;
        }
    /* Twice: the sizes first (nothing changes), then the packing into one
     * mapping of that size. */
    el_status s = EL_OK;
    el_pack_space sp = {.dry = true};
    for (int pass = 0; pass < 2 && s == EL_OK; pass++) {
        if (pass == 1) {
            sp.dry = false;
            el_pack_map(g, &sp);
            count = 0;
        }
        for (int i = 0; s == EL_OK && i < g->nnodes; i++) {
            el_node *n = &g->nodes[i];
            /* A convolution scaled per run (ops/conv_in_scale.h) needs its fp32 filter. */
            if (n->ndata < 2 || el_node_attr(n, EL_CONV_IN_SCALE_ATTR)) continue;
            bool done = false;
            if (el_is_conv2d(n->op)) {
                s = el_bf16_filter(g, n, 1, &el_own_attrs, x3, &sp, readers, nfeeds, feeds, nfetches, fetches, &done);
                count += done;
            }
            /* The expansion a depthwise convolution runs: its filter is the
             * first of its last EL_PWDW_NIN_ATTR inputs. */
            int64_t ne = 0;
            if (s == EL_OK && el_node_attr(n, EL_PWDW_NIN_ATTR) && el_attr_int(n, EL_PWDW_NIN_ATTR, 0, &ne) == EL_OK &&
                ne >= 1 && ne < n->ndata - 1) {
                s = el_bf16_filter(g, n, n->ndata - (int)ne, &el_pw_attrs, x3, &sp, readers, nfeeds, feeds, nfetches,
                                   fetches, &done);
                count += done;
            }
        }
    }
    free(readers);
    if (converted) *converted = count;
    return s;
}
