/* Dispatch, filter packing and threading of the bf16 convolution (see
 * conv_bf16.h).
 *
 * Conv2D runs as a GEMM: output pixels are rows, the kh*kw*ic taps the
 * inner dimension k, output channels the columns. Rows are taken a panel at
 * a time: each row's k inputs (the input pixel itself for a 1x1 stride-1
 * convolution, else its window gathered tap by tap, zeros in the padding)
 * are converted to bf16 into the panel once, then the panel is multiplied
 * by every column block of the packed filter. */
#include "ops/conv_bf16.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(EL_CONV_X86)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/mempool.h"
#include "core/threadpool.h"

static _Atomic int el_bf16_forced = -1;
static int el_bf16_detected = EL_BF16_NONE;
static pthread_once_t el_bf16_once = PTHREAD_ONCE_INIT;

/* Linux's arch_prctl codes for the dynamically enabled AMX state
 * (asm/prctl.h; XTILEDATA is XSAVE feature 18). */
#define EL_ARCH_REQ_XCOMP_PERM 0x1023
#define EL_XFEATURE_XTILEDATA 18

static void el_bf16_detect(void)
{
#if defined(EL_CONV_X86)
    __builtin_cpu_init();
    /* The conversions and epilogues use AVX-512 (F, BW, VL) on both paths. */
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512bf16"))
        return;
    el_bf16_detected = EL_BF16_AVX512;
    /* The tile data is off until the process asks: without the permission
     * the first tile instruction faults. The request is process-wide and
     * idempotent; a kernel without AMX support refuses it. */
    if (__builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
        syscall(SYS_arch_prctl, EL_ARCH_REQ_XCOMP_PERM, EL_XFEATURE_XTILEDATA) == 0)
        el_bf16_detected = EL_BF16_AMX;
#endif
}

el_bf16_impl el_bf16_isa_available(void)
{
    pthread_once(&el_bf16_once, el_bf16_detect);
    return (el_bf16_impl)el_bf16_detected;
}

el_bf16_impl el_bf16_isa(void)
{
    int f = atomic_load_explicit(&el_bf16_forced, memory_order_relaxed);
    el_bf16_impl a = el_bf16_isa_available();
    if (f < 0 || f > (int)a) return a;
    return (el_bf16_impl)f;
}

void el_bf16_force_isa(int isa) { atomic_store_explicit(&el_bf16_forced, isa < 0 ? -1 : isa, memory_order_relaxed); }

/* The scalar packer (the oracle of el_bf16_pack_avx512): element (i, j)
 * of the [k, n] matrix at w[i * rs + (j / 32) * ps + j % 32]. */
static void el_bf16_pack_scalar(const float *w, int64_t rs, int64_t ps, int64_t k, int64_t n, bool x3, uint16_t *out)
{
    const int64_t kt = el_bf16_kpad(k) / EL_BF16_KB, nt = el_bf16_npad(n) / EL_BF16_NB, len = el_bf16_packed_len(k, n);
    for (int64_t nb = 0; nb < nt; nb++)
        for (int64_t kb = 0; kb < kt; kb++) {
            uint16_t *t = out + (nb * kt + kb) * EL_BF16_TILE;
            for (int r = 0; r < EL_BF16_KB / 2; r++)
                for (int j = 0; j < EL_BF16_NB; j++)
                    for (int s = 0; s < 2; s++) {
                        int64_t kk = kb * EL_BF16_KB + 2 * r + s, nn = nb * EL_BF16_NB + j, at = r * 32 + j * 2 + s;
                        uint16_t hi = 0, lo = 0;
                        if (kk < k && nn < n) {
                            float v = w[kk * rs + (nn / 32) * ps + nn % 32];
                            if (x3) el_bf16x3_split(v, &hi, &lo);
                            else hi = el_bf16_from_f32(v);
                        }
                        t[at] = hi;
                        if (x3) t[len + at] = lo;
                    }
        }
}

void el_bf16_pack(const float *w, int64_t k, int64_t n, uint16_t *out) { el_bf16_pack_scalar(w, n, 32, k, n, false, out); }

void el_bf16x3_pack(const float *w, int64_t k, int64_t n, uint16_t *out) { el_bf16_pack_scalar(w, n, 32, k, n, true, out); }

void el_bf16_pack_strided(const float *w, int64_t rs, int64_t ps, int64_t k, int64_t n, bool x3, uint16_t *out)
{
#if defined(EL_CONV_X86)
    if (el_bf16_isa_available() != EL_BF16_NONE) {
        el_bf16_pack_avx512(w, rs, ps, k, n, x3, out);
        return;
    }
#endif
    el_bf16_pack_scalar(w, rs, ps, k, n, x3, out);
}

/* Widens p into w, or adds it to w (the lo half of a bf16x3 filter). */
static void el_bf16_widen(const uint16_t *p, int64_t k, int64_t n, float *w, bool add)
{
    const int64_t kt = el_bf16_kpad(k) / EL_BF16_KB;
    for (int64_t kk = 0; kk < k; kk++)
        for (int64_t nn = 0; nn < n; nn++) {
            const uint16_t *t = p + ((nn / EL_BF16_NB) * kt + kk / EL_BF16_KB) * EL_BF16_TILE;
            int64_t r = (kk % EL_BF16_KB) / 2, s = kk % 2, j = nn % EL_BF16_NB;
            float v = el_bf16_to_f32(t[r * 32 + j * 2 + s]);
            w[kk * n + nn] = add ? w[kk * n + nn] + v : v;
        }
}

void el_bf16_unpack(const uint16_t *p, int64_t k, int64_t n, float *w) { el_bf16_widen(p, k, n, w, false); }

void el_bf16x3_unpack(const uint16_t *p, int64_t k, int64_t n, float *w)
{
    el_bf16_widen(p, k, n, w, false);
    el_bf16_widen(p + el_bf16_packed_len(k, n), k, n, w, true);
}

#if defined(EL_CONV_X86)

/* Work below this many multiply-adds per chunk is not worth a thread. */
#define EL_BF16_PAR_MIN_MACS 200000

typedef struct el_bf16_job {
    const el_conv_geom *g;
    const float *x;
    const uint16_t *wp;
    const el_conv_epi *e;
    float *y;
    el_bf16_impl isa;
    bool x3;            /* bf16x3: lo halves after the panel's and the filter's hi halves */
    int64_t wlo;        /* elements from the filter's hi tiles to its lo tiles */
    int panel;          /* rows per panel */
    bool pointwise;     /* 1x1, stride 1, no padding: row p is input pixel p */
    int64_t m, k, kt, nt;
    int64_t panels;
    int64_t groups;     /* column groups per panel (threads share a panel's columns) */
    int64_t nbg;        /* column blocks per group */
    /* Scratch (panel + gathered row) per running chunk: at most `nslots`
     * chunks run at once (one per thread), each claims a free slot. */
    unsigned char *scratch;
    size_t panel_bytes, slot_bytes;
    /* With groups > 1: every panel converted once, before the products,
     * panel pi at shared + pi * panel_bytes (else NULL: each chunk converts
     * the panels it multiplies into its slot). */
    unsigned char *shared;
    int nslots;
    _Atomic int *busy;
} el_bf16_job;

/* Row r of the panel: the zero row, the input pixel (pointwise) or the
 * window of output pixel p gathered into `buf`. */
static const float *el_bf16_row(const el_bf16_job *j, int64_t p, float *buf)
{
    const el_conv_geom *g = j->g;
    if (j->pointwise) return j->x + p * g->ic;
    const el_window_axis *H = &g->h, *W = &g->w;
    int64_t ox = p % W->out, oy = p / W->out % H->out, b = p / W->out / H->out;
    float *d = buf;
    for (int64_t ky = 0; ky < H->k; ky++) {
        int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
        for (int64_t kx = 0; kx < W->k; kx++, d += g->ic) {
            int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
            if (iy >= 0 && iy < H->in && ix >= 0 && ix < W->in)
                memcpy(d, j->x + ((b * H->in + iy) * W->in + ix) * g->ic, sizeof(float) * (size_t)g->ic);
            else
                memset(d, 0, sizeof(float) * (size_t)g->ic);
        }
    }
    return buf;
}

/* Claims a free scratch slot (one per running chunk). */
static int el_bf16_claim(el_bf16_job *j)
{
    for (int slot = 0;; slot = (slot + 1) % j->nslots) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&j->busy[slot], &expect, 1)) return slot;
    }
}

/* Converts panel pi into dst (buf: room for one gathered window). */
static void el_bf16_build(const el_bf16_job *j, int64_t pi, uint16_t *dst, float *buf)
{
    const int64_t rowstride = j->kt * EL_BF16_TILE; /* elements between 16-row tile rows */
    const int64_t plo = (int64_t)(j->panel_bytes / 2 / sizeof(uint16_t)); /* the panel's lo half (x3) */
    const int64_t p0 = pi * j->panel;
    const int rows = (int)(j->m - p0 < j->panel ? j->m - p0 : j->panel);
    const int64_t r16 = (rows + 15) / 16 * 16;
    for (int64_t r = 0; r < r16; r++) {
        uint16_t *d = dst + (r / 16) * rowstride + (r % 16) * 32;
        const float *src = r < rows ? el_bf16_row(j, p0 + r, buf) : NULL;
        if (j->x3) el_bf16x3_panel_row_avx512(src, j->k, j->kt, d, plo);
        else el_bf16_panel_row_avx512(src, j->k, j->kt, d);
    }
}

/* Panels [i0, i1) into j->shared. */
static void el_bf16_convert(void *ctx, int64_t i0, int64_t i1)
{
    el_bf16_job *j = ctx;
    int slot = el_bf16_claim(j);
    float *buf = (float *)(j->scratch + (size_t)slot * j->slot_bytes + j->panel_bytes);
    for (int64_t pi = i0; pi < i1; pi++)
        el_bf16_build(j, pi, (uint16_t *)(j->shared + (size_t)pi * j->panel_bytes), buf);
    atomic_store(&j->busy[slot], 0);
}

static void el_bf16_chunk(void *ctx, int64_t i0, int64_t i1)
{
    el_bf16_job *j = ctx;
    int slot = el_bf16_claim(j);
    unsigned char *mem = j->scratch + (size_t)slot * j->slot_bytes;
    float *buf = (float *)(mem + j->panel_bytes);
    const int64_t plo = (int64_t)(j->panel_bytes / 2 / sizeof(uint16_t)); /* the panel's lo half (x3) */
    if (j->isa == EL_BF16_AMX) el_bf16_amx_begin();
    int64_t built = -1;
    for (int64_t item = i0; item < i1; item++) {
        int64_t pi = item / j->groups, gi = item % j->groups;
        int64_t p0 = pi * j->panel;
        int rows = (int)(j->m - p0 < j->panel ? j->m - p0 : j->panel);
        uint16_t *panel = j->shared ? (uint16_t *)(j->shared + (size_t)pi * j->panel_bytes) : (uint16_t *)mem;
        if (!j->shared && built != pi) {
            el_bf16_build(j, pi, panel, buf);
            built = pi;
        }
        int64_t nb0 = gi * j->nbg, nb1 = nb0 + j->nbg < j->nt ? nb0 + j->nbg : j->nt;
        float *y = j->y + p0 * j->g->oc;
        if (j->x3) el_bf16x3_gemm_amx(rows, j->kt, panel, plo, j->wp, j->wlo, j->g->oc, nb0, nb1, j->e, y, j->g->oc);
        else if (j->isa == EL_BF16_AMX) el_bf16_gemm_amx(rows, j->kt, panel, j->wp, j->g->oc, nb0, nb1, j->e, y, j->g->oc);
        else el_bf16_gemm_avx512(rows, j->kt, panel, j->wp, j->g->oc, nb0, nb1, j->e, y, j->g->oc);
        /* The tile operations on the block just stored, while it is in cache. */
        if (el_conv_epi_has_tile_ops(j->e)) {
            int64_t c0 = nb0 * EL_BF16_NB, c1 = nb1 * EL_BF16_NB < j->g->oc ? nb1 * EL_BF16_NB : j->g->oc;
            el_conv_epi_tile(j->e, y + c0, rows, c1 - c0, j->g->oc);
        }
    }
    if (j->isa == EL_BF16_AMX) el_bf16_amx_end();
    atomic_store(&j->busy[slot], 0);
}
#endif

#if defined(EL_CONV_X86)
/* Fills j for g (all but the scratch) as `threads` threads share it; false
 * when the ISA or the geometry does not fit the kernels. */
static bool el_bf16_plan(el_bf16_job *j, const el_conv_geom *g, const float *x, const uint16_t *wp, bool x3,
                         const el_conv_epi *e, float *y, int threads)
{
    el_bf16_impl isa = el_bf16_isa();
    if (isa == EL_BF16_NONE || (x3 && isa != EL_BF16_AMX) || g->groups != 1 || g->ic < 1 || g->oc < 1) return false;
    int64_t k = g->h.k * g->w.k * g->ic;
    if (k > EL_BF16_MAX_K) return false;
    bool padded = g->h.pad_before > 0 || g->w.pad_before > 0 || g->h.pad_after > 0 || g->w.pad_after > 0;
    *j = (el_bf16_job){.g = g, .x = x, .wp = wp, .e = e, .y = y, .isa = isa, .k = k, .x3 = x3};
    j->wlo = x3 ? el_bf16_packed_len(k, g->oc) : 0;
    j->pointwise = g->h.k == 1 && g->w.k == 1 && g->h.stride == 1 && g->w.stride == 1 && !padded &&
                   g->h.out == g->h.in && g->w.out == g->w.in;
    j->m = g->n * g->h.out * g->w.out;
    j->kt = el_bf16_kpad(k) / EL_BF16_KB;
    const int halves = x3 ? 2 : 1;
    int64_t prows = EL_BF16_PANEL_BYTES / (halves * j->kt * EL_BF16_KB * (int64_t)sizeof(uint16_t)) / 32 * 32;
    if (prows > EL_BF16_PANEL_ROWS) prows = EL_BF16_PANEL_ROWS;
    if (prows > (j->m + 31) / 32 * 32) prows = (j->m + 31) / 32 * 32;
    j->panel = prows < 32 ? 32 : (int)prows;
    j->nt = el_bf16_npad(g->oc) / EL_BF16_NB;
    j->panels = (j->m + j->panel - 1) / j->panel;
    /* With fewer panels than a few per thread (the small deep layers), the
     * threads share a panel's column blocks instead; the panels are then
     * converted first, once each, into one shared buffer (converting a
     * panel per column group cost up to a third of a 19x19x512 layer's
     * time at 2 threads under bf16x3). */
    j->groups = 1;
    if (threads > 1 && j->panels < 4 * threads) {
        j->groups = (4 * threads + j->panels - 1) / j->panels;
        if (j->groups > (j->nt + 1) / 2) j->groups = (j->nt + 1) / 2;
        if (j->groups < 1) j->groups = 1;
    }
    /* Column blocks go to groups in pairs (the AMX kernel's 2-tile width). */
    int64_t pairs = (j->nt + 1) / 2;
    j->nbg = (pairs + j->groups - 1) / j->groups * 2;
    j->groups = (j->nt + j->nbg - 1) / j->nbg;
    j->nslots = threads;
    j->panel_bytes = (size_t)halves * (size_t)((j->panel + 15) / 16 * j->kt * EL_BF16_TILE) * sizeof(uint16_t);
    j->slot_bytes = j->panel_bytes + ((size_t)k * sizeof(float) + 63) / 64 * 64;
    return true;
}
#endif

static bool el_conv2d_bf16_any(const el_conv_geom *g, const float *x, const uint16_t *wp, bool x3,
                               const el_conv_epi *e, float *y)
{
#if defined(EL_CONV_X86)
    el_threadpool *pool = el_threadpool_current();
    int threads = el_threadpool_size(pool);
    el_bf16_job j;
    if (!el_bf16_plan(&j, g, x, wp, x3, e, y, threads)) return false;
    int64_t macs = (int64_t)j.panel * j.k * j.nbg * EL_BF16_NB;
    int64_t grain = EL_BF16_PAR_MIN_MACS / (macs > 0 ? macs : 1);
    j.scratch = el_mem_alloc(j.slot_bytes * (size_t)j.nslots);
    j.busy = el_mem_calloc((size_t)j.nslots, sizeof *j.busy);
    if (j.groups > 1) j.shared = el_mem_alloc(j.panel_bytes * (size_t)j.panels);
    if (!j.scratch || !j.busy || (j.groups > 1 && !j.shared)) { /* out of memory: the fp32 kernels need none */
        el_mem_free(j.scratch);
        el_mem_free(j.busy);
        el_mem_free(j.shared);
        return false;
    }
    if (j.shared) el_parallel_for(pool, j.panels, 1, el_bf16_convert, &j);
    el_parallel_for(pool, j.panels * j.groups, grain < 1 ? 1 : grain, el_bf16_chunk, &j);
    el_mem_free(j.scratch);
    el_mem_free(j.busy);
    el_mem_free(j.shared);
    return true;
#else
    (void)g, (void)x, (void)wp, (void)x3, (void)e, (void)y;
    return false;
#endif
}

/* The row-fused 1x1's geometry: one image row of `pixels` pixels. */
static el_conv_geom el_bf16_row_geom(int64_t pixels, int64_t ic, int64_t oc)
{
    el_conv_geom g = {.n = 1, .ic = ic, .fic = ic, .oc = oc, .groups = 1};
    g.h = (el_window_axis){.in = 1, .out = 1, .k = 1, .stride = 1, .dilation = 1};
    g.w = (el_window_axis){.in = pixels, .out = pixels, .k = 1, .stride = 1, .dilation = 1};
    return g;
}

size_t el_bf16_rows_scratch(int64_t pixels, int64_t ic, int64_t oc, bool x3)
{
#if defined(EL_CONV_X86)
    const el_conv_geom g = el_bf16_row_geom(pixels, ic, oc);
    el_bf16_job j;
    if (!el_bf16_plan(&j, &g, NULL, NULL, x3, NULL, NULL, 1)) return 0;
    return j.slot_bytes;
#else
    (void)pixels, (void)ic, (void)oc, (void)x3;
    return 0;
#endif
}

bool el_bf16_rows(int64_t pixels, int64_t ic, int64_t oc, const float *x, const uint16_t *wp, bool x3,
                  const el_conv_epi *e, float *y, void *scratch)
{
#if defined(EL_CONV_X86)
    const el_conv_geom g = el_bf16_row_geom(pixels, ic, oc);
    el_bf16_job j;
    if (!scratch || !el_bf16_plan(&j, &g, x, wp, x3, e, y, 1)) return false;
    _Atomic int busy = 0;
    j.scratch = scratch;
    j.busy = &busy;
    el_bf16_chunk(&j, 0, j.panels * j.groups);
    return true;
#else
    (void)pixels, (void)ic, (void)oc, (void)x, (void)wp, (void)x3, (void)e, (void)y, (void)scratch;
    return false;
#endif
}

bool el_conv2d_bf16(const el_conv_geom *g, const float *x, const uint16_t *wp, const el_conv_epi *e, float *y)
{
    return el_conv2d_bf16_any(g, x, wp, false, e, y);
}

bool el_conv2d_bf16x3(const el_conv_geom *g, const float *x, const uint16_t *wp, const el_conv_epi *e, float *y)
{
    return el_conv2d_bf16_any(g, x, wp, true, e, y);
}
