/* Conv2D over a packed filter (see gemm.h): blocking and threading around
 * the packed-filter micro-kernels.
 *
 * Output pixels are the GEMM's rows, the kh * kw * ic window its K, the
 * output channels its columns. A row tile of MR pixels reads its inputs in
 * place when they are evenly spaced: a 1x1 stride-1 convolution is a plain
 * row-major matrix, and the windows of pixels on one output row, all inside
 * the input, are kh segments of kw * ic contiguous floats (dilation 1 in
 * width), the rows stride * ic apart. Other tiles (crossing an output row,
 * touching the padding) are first copied into a row-major scratch tile
 * (im2col of MR rows), zeros for the padding. Tiles split their rows
 * evenly (14 + 14 + 2 rows become 10 + 10 + 10).
 *
 * Blocking: K in blocks of EL_GEMM_KC so a tile's A block stays in L1
 * while every column panel of the N block streams past it; N blocks sized
 * so their panels stay in L2 across the row tiles; work items are (N
 * block, row tile) pairs, N block major, so a thread's run of items reuses
 * one N block. The K blocks are fixed by the shape alone and every output
 * element sums its k in ascending order, so results do not depend on the
 * thread count. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/gemm.h"
#include "ops/unary_fast.h"

#if defined(EL_CONV_X86)

#define MR EL_GEMM_MR_AVX512
#define NR EL_GEMM_NR

/* K block: 14 rows x 256 floats of A (14 KB) stay in L1 while a panel's
 * 256 x 32 floats (32 KB) stream through it. */
#define EL_GEMM_KC 256
/* Panel bytes an N block may take (half of L2). */
#define EL_GEMM_L2_B (1 << 20)

typedef struct el_cg_job {
    const el_conv_geom *g;
    const float *x, *w;
    const el_conv_epi *e;
    float *y;
    int64_t m, k, n;     /* GEMM sizes */
    int64_t panels;      /* column panels of NR */
    int64_t nbp;         /* panels per N block, at most */
    int64_t nblocks;     /* N blocks: the panels spread evenly (el_cg_block) */
    int64_t tiles;       /* row tiles */
    int64_t tpr;         /* row tiles per output row (row-wise tiling), 0: flat tiles of the pixels */
    bool pointwise;      /* 1x1, stride 1, no padding: A is x as it is */
    int nseg;            /* in-place windows: kh segments of seglen = kw * ic */
    int64_t seglen;
    int64_t kc;          /* K block (whole segments when seglen <= EL_GEMM_KC) */
    int64_t kc_segs, kc_k; /* kc / seglen and kc / k: whole segments per K block (divided once) */
    /* Scratch tiles (MR x K floats), one per thread that may run at once;
     * a chunk claims a free one. Allocated before the parallel-for, so
     * nothing inside it can fail. */
    int nscratch;
    float *scratch[EL_THREADPOOL_MAX];
    atomic_int busy[EL_THREADPOOL_MAX];
} el_cg_job;

/* Prefetching the panels (see el_gemm_f32_avx512's pf): a graph reads
 * each filter once per inference, after megabytes of other layers, so the
 * panels come from memory, and a tile that meets them by demand misses
 * stalls on each line (in a graph run the 34 convolutions took 3 ms more
 * than with their filters in cache). So the first row tile of an N block
 * prefetches, while it computes one panel block, the next one it reads
 * (lead), and the other row tiles, which find the block in L2, spread the
 * next N block's panels between them (slices), so those arrive while
 * computing too. */
typedef struct el_cg_pf {
    bool lead;
    const float *after;      /* lead: what the last call prefetches (the next item's first panel rows), or NULL */
    const char *cur, *end;   /* slice: bytes still to prefetch, front-loaded */
} el_cg_pf;

/* Bytes of panel per k step: NR floats. */
#define EL_CG_ROWB ((int64_t)NR * (int64_t)sizeof(float))

/* Calls the kernel for row tile (a, lda, nseg x seglen in place, or a
 * scratch tile with nseg 1) over N block panels [p0, p1), K blocked. */
static void el_cg_tile(const el_cg_job *j, int rows, const float *a, int64_t lda, int nseg, int64_t seglen,
                       int64_t sstride, int64_t p0, int64_t p1, float *y, el_cg_pf *pf)
{
    const int64_t K = j->k, N = j->n;
    const el_conv_epi *e = j->e;
    /* K blocks: groups of whole segments, or pieces of one segment. */
    int64_t k0 = 0;
    while (k0 < K) {
        int s0 = k0 > 0 ? (int)(k0 / seglen) : 0; /* most tiles have one K block: no division */
        int64_t off = k0 - (int64_t)s0 * seglen, len;
        int ns;
        if (seglen <= j->kc) {
            ns = (int)(seglen == j->seglen ? j->kc_segs : seglen == K ? j->kc_k : j->kc / seglen);
            if (ns > nseg - s0) ns = nseg - s0;
            len = seglen;
        } else {
            ns = 1;
            len = seglen - off < j->kc ? seglen - off : j->kc;
        }
        int64_t kl = ns * len;
        int flags = (k0 > 0 ? EL_GEMM_ACC : 0) | (k0 + kl == K ? EL_GEMM_EPI : 0);
        const float *ak = a + s0 * sstride + off;
        for (int64_t p = p0; p < p1; p++) {
            int64_t n0 = p * NR;
            /* The residual Add and the hard swish in registers, as the tile is stored. */
            el_gemm_epi ge = {.bias = e->bias ? e->bias + n0 : NULL, .clamp = e->clamp, .lo = e->lo, .hi = e->hi,
                              .add = e->add ? e->add + (y + n0 - e->y0) : NULL, .ldadd = N, .hswish = e->hswish,
                              .hs_mul = e->hs_mul, .hs_add = e->hs_add};
            int nc = (int)(N - n0 < NR ? N - n0 : NR);
            const void *pa = NULL;
            if (pf->lead) {
                pa = p + 1 < p1 ? j->w + ((p + 1) * K + k0) * NR
                     : k0 + kl < K ? j->w + (p0 * K + k0 + kl) * NR
                                   : pf->after;
            } else if (pf->cur < pf->end) {
                pa = pf->cur;
                pf->cur += kl * EL_CG_ROWB;
            }
            el_gemm_f32_avx512(rows, ns, len, ak, lda, sstride, j->w + (p * K + k0) * NR, y + n0, N, nc, flags, &ge,
                               pa, EL_CG_ROWB);
        }
        k0 += kl;
    }
    /* Sigmoid on the tile just stored, while it is in cache (the residual
     * Add and the hard swish were done in the kernel's registers). */
    if (e->sigmoid) {
        el_conv_epi et = *e;
        et.add = NULL;
        et.hswish = false;
        int64_t c0 = p0 * NR, c1 = p1 * NR < N ? p1 * NR : N;
        el_conv_epi_tile(&et, y + c0, rows, c1 - c0, N);
    }
}

/* The first panel of N block nb (nb = nblocks: the end). The blocks
 * differ by one panel at most: a short last block (18 panels in blocks of
 * 4) made its items cheaper than the others', and the thread that took
 * them waited at the end of the job for the other. */
static inline int64_t el_cg_block(const el_cg_job *j, int64_t nb) { return j->panels * nb / j->nblocks; }

/* What item (N block nb, row tile t) prefetches, on a thread walking the
 * items forward or (back) backward: the lead is the block's first tile in
 * walk order, and the next block the one after it in that order (its
 * panels [q0, q1), which the caller computes once per block). */
static el_cg_pf el_cg_pf_plan(const el_cg_job *j, int64_t nb, int64_t t, bool back, int64_t q0, int64_t q1)
{
    el_cg_pf pf = {0};
    int64_t u = back ? j->tiles - 1 - t : t; /* the tile's place in walk order */
    int64_t next = back ? nb - 1 : nb + 1;
    bool has_next = next >= 0 && next < j->nblocks; /* [q0, q1): its panels */
    if (u == 0) {
        pf.lead = true;
        /* One row tile per block: the next item is the next block. */
        if (j->tiles == 1 && has_next) pf.after = j->w + q0 * j->k * NR;
        return pf;
    }
    if (!has_next) return pf;
    const char *r0 = (const char *)(j->w + q0 * j->k * NR);
    int64_t len = (q1 - q0) * j->k * EL_CG_ROWB, ns = j->tiles - 1;
    pf.cur = r0 + len * (u - 1) / ns / 64 * 64;
    pf.end = r0 + len * u / ns;
    return pf;
}

/* Copies the windows of `rows` output pixels from (b, oy, ox) on, in pixel
 * order, into t (rows x K, row-major), zeros where a window hangs over the
 * padding. */
static void el_cg_im2col(const el_cg_job *j, int64_t b, int64_t oy, int64_t ox, int rows, float *t)
{
    const el_conv_geom *g = j->g;
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t ic = g->ic;
    const size_t seg = sizeof(float) * (size_t)(W->k * ic);
    for (int r = 0; r < rows; r++, t += j->k) {
        float *d = t;
        for (int64_t ky = 0; ky < H->k; ky++) {
            int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
            if (iy < 0 || iy >= H->in) {
                memset(d, 0, seg);
                d += W->k * ic;
                continue;
            }
            if (W->dilation == 1) {
                /* The window row's taps inside the input are contiguous:
                 * one copy between the zeros (a 3-channel layer's border
                 * tile made kh * kw calls of 12 bytes per pixel). */
                int64_t ix0 = ox * W->stride - W->pad_before;
                int64_t lo = ix0 < 0 ? -ix0 : 0, hi = W->in - ix0 < W->k ? W->in - ix0 : W->k;
                if (lo > W->k) lo = W->k; /* explicit padding wider than the window */
                if (hi < lo) hi = lo;
                if (lo > 0) memset(d, 0, sizeof(float) * (size_t)(lo * ic));
                if (hi > lo)
                    memcpy(d + lo * ic, j->x + ((b * H->in + iy) * W->in + ix0 + lo) * ic,
                           sizeof(float) * (size_t)((hi - lo) * ic));
                if (hi < W->k) memset(d + hi * ic, 0, sizeof(float) * (size_t)((W->k - hi) * ic));
                d += W->k * ic;
                continue;
            }
            for (int64_t kx = 0; kx < W->k; kx++, d += ic) {
                int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
                if (iy < 0 || iy >= H->in || ix < 0 || ix >= W->in) memset(d, 0, sizeof(float) * (size_t)ic);
                else memcpy(d, j->x + ((b * H->in + iy) * W->in + ix) * ic, sizeof(float) * (size_t)ic);
            }
        }
        if (++ox == W->out) {
            ox = 0;
            if (++oy == H->out) {
                oy = 0;
                b++;
            }
        }
    }
}

/* Start of part i of n of [0, len): equal parts within one, so with n =
 * ceil(len / MR) every tile has MR or MR - 1 rows or so, not a short
 * last one (a tile of 1-3 rows runs at a fraction of the FMA rate: too
 * few independent accumulators to cover the FMA latency). */
static inline int64_t el_cg_split(int64_t len, int64_t n, int64_t i) { return len * i / n; }

static void el_cg_items(void *ctx, int64_t i0, int64_t i1)
{
    el_cg_job *j = ctx;
    const el_conv_geom *g = j->g;
    const el_window_axis *H = &g->h, *W = &g->w;
    float *scratch = NULL;
    int slot = -1;
    /* In the order the thread claims chunks, so its prefetches run ahead of
     * it. The item's block and tile are stepped, not divided out, and the
     * block's panels found once per block (a layer of narrow channels has
     * many cheap items: the divisions were 2% of CenterNet). */
    const bool back = el_threadpool_claims_back();
    const int64_t first = back ? i1 - 1 : i0;
    int64_t nb = first / j->tiles, t = first - nb * j->tiles, block = -1, p0 = 0, p1 = 0, q0 = 0, q1 = 0;
    for (int64_t k = i0; k < i1; k++, t += back ? -1 : 1) {
        if (t == j->tiles) t = 0, nb++;
        if (t < 0) t = j->tiles - 1, nb--;
        if (nb != block) {
            block = nb;
            p0 = el_cg_block(j, nb), p1 = el_cg_block(j, nb + 1);
            const int64_t next = back ? nb - 1 : nb + 1;
            if (next >= 0 && next < j->nblocks) q0 = el_cg_block(j, next), q1 = el_cg_block(j, next + 1);
        }
        el_cg_pf pf = el_cg_pf_plan(j, nb, t, back, q0, q1);
        if (j->pointwise) {
            int64_t r0 = el_cg_split(j->m, j->tiles, t);
            int rows = (int)(el_cg_split(j->m, j->tiles, t + 1) - r0);
            el_cg_tile(j, rows, j->x + r0 * j->k, j->k, 1, j->k, 0, p0, p1, j->y + r0 * j->n, &pf);
            continue;
        }
        /* The tile's first pixel and size. */
        int64_t b, oy, ox, pix;
        int rows;
        if (j->tpr > 0) {
            int64_t orow = t / j->tpr, tc = t % j->tpr;
            ox = el_cg_split(W->out, j->tpr, tc);
            oy = orow % H->out;
            b = orow / H->out;
            rows = (int)(el_cg_split(W->out, j->tpr, tc + 1) - ox);
            pix = orow * W->out + ox;
        } else {
            pix = el_cg_split(j->m, j->tiles, t);
            rows = (int)(el_cg_split(j->m, j->tiles, t + 1) - pix);
            ox = pix % W->out;
            oy = pix / W->out % H->out;
            b = pix / W->out / H->out;
        }
        float *y = j->y + pix * j->n;
        if (j->tpr > 0 && j->nseg > 0) {
            int64_t iy0 = oy * H->stride - H->pad_before, ix0 = ox * W->stride - W->pad_before;
            int64_t ixl = (ox + rows - 1) * W->stride - W->pad_before;
            if (iy0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in && ix0 >= 0 && ixl + W->k - 1 < W->in) {
                const float *a = j->x + ((b * H->in + iy0) * W->in + ix0) * g->ic;
                el_cg_tile(j, rows, a, W->stride * g->ic, j->nseg, j->seglen, H->dilation * W->in * g->ic, p0, p1, y,
                           &pf);
                continue;
            }
        }
        /* At most nscratch chunks run at once: a slot is always free. */
        for (int s = 0; !scratch; s = (s + 1) % j->nscratch) {
            int free_ = 0;
            if (atomic_compare_exchange_strong(&j->busy[s], &free_, 1)) {
                slot = s;
                scratch = j->scratch[s];
            }
        }
        el_cg_im2col(j, b, oy, ox, rows, scratch);
        el_cg_tile(j, rows, scratch, j->k, 1, j->k, 0, p0, p1, y, &pf);
    }
    if (slot >= 0) atomic_store(&j->busy[slot], 0);
}

#endif

el_filter_layout el_filter_layout_preferred(void)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() == EL_ISA_AVX512) return EL_FILTER_F32_P32;
#endif
    return EL_FILTER_HWIO;
}

bool el_conv2d_packed(const el_conv_geom *g, const float *x, const float *wp, const el_conv_epi *e, float *y)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() != EL_ISA_AVX512 || g->groups != 1 || g->ic < 1 || g->oc < 1) return false;
    el_cg_job j = {.g = g, .x = x, .w = wp, .e = e, .y = y};
    const el_window_axis *H = &g->h, *W = &g->w;
    j.m = g->n * H->out * W->out;
    j.k = H->k * W->k * g->ic;
    j.n = g->oc;
    if (j.k > EL_CONV_MAX_PACKED_K) return false;
    j.panels = (j.n + NR - 1) / NR;
    bool padded = H->pad_before > 0 || W->pad_before > 0 || H->pad_after > 0 || W->pad_after > 0;
    j.pointwise = H->k == 1 && W->k == 1 && H->stride == 1 && W->stride == 1 && !padded && H->out == H->in &&
                  W->out == W->in;
    j.kc = EL_GEMM_KC;
    if (j.pointwise) {
        j.tiles = (j.m + MR - 1) / MR;
    } else {
        /* Row-wise tiles keep a tile's windows evenly spaced (in place);
         * narrow outputs take flat tiles through the scratch copy. */
        if (W->out >= MR) {
            j.tpr = (W->out + MR - 1) / MR;
            j.tiles = g->n * H->out * j.tpr;
        } else {
            j.tiles = (j.m + MR - 1) / MR;
        }
        if (W->dilation == 1) {
            j.nseg = (int)H->k;
            j.seglen = W->k * g->ic;
        }
    }
    if (!j.pointwise && j.nseg == 0) j.seglen = j.k;
    j.kc_segs = j.seglen > 0 ? j.kc / j.seglen : 0;
    j.kc_k = j.kc / j.k;
    /* N blocks whose panels fit EL_GEMM_L2_B, half that when the filter
     * takes several blocks (so the block computed and the next one, being
     * prefetched from memory, fit in L2 together); smaller when there are
     * too few row tiles to give every thread a few items. */
    int64_t pbytes = j.k * NR * (int64_t)sizeof(float);
    j.nbp = (j.panels * pbytes > EL_GEMM_L2_B ? EL_GEMM_L2_B / 2 : EL_GEMM_L2_B) / pbytes;
    if (j.nbp < 1) j.nbp = 1;
    if (j.nbp > j.panels) j.nbp = j.panels;
    int threads = el_threadpool_size(el_threadpool_current());
    if (threads > 1 && j.tiles < 4 * threads) {
        int64_t want = (4 * threads + j.tiles - 1) / j.tiles; /* N blocks wanted */
        int64_t nbp = (j.panels + want - 1) / want;
        if (nbp < j.nbp) j.nbp = nbp < 1 ? 1 : nbp;
    }
    j.nblocks = (j.panels + j.nbp - 1) / j.nbp;
    int64_t item_macs = (j.m < MR ? j.m : MR) * j.k * j.nbp * NR;
    int64_t grain = 100000 / (item_macs > 0 ? item_macs : 1);
    bool ok = true;
    if (!j.pointwise) {
        j.nscratch = threads;
        for (int t = 0; t < threads && ok; t++) {
            atomic_init(&j.busy[t], 0);
            j.scratch[t] = el_mem_alloc(((size_t)MR * (size_t)j.k * sizeof(float) + 63) / 64 * 64);
            ok = j.scratch[t] != NULL;
        }
    }
    /* Out of memory for a few hundred KB: the caller's other kernels run. */
    if (ok) el_parallel_for(el_threadpool_current(), j.nblocks * j.tiles, grain < 1 ? 1 : grain, el_cg_items, &j);
    for (int t = 0; t < j.nscratch; t++) el_mem_free(j.scratch[t]);
    return ok;
#else
    (void)g, (void)x, (void)wp, (void)e, (void)y;
    return false;
#endif
}
