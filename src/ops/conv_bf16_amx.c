/* AMX parts of the bf16 convolution (see conv_bf16.h): 32x32 output blocks
 * from 2 A tiles (16 rows x 32 bf16) and 2 B tiles of the packed filter
 * into 4 fp32 accumulator tiles (TDPBF16PS), then the epilogue from memory.
 * Compiled for AMX whatever the build flags; only called after
 * el_bf16_isa_available() found the CPU has it and the OS granted the tile
 * state. */
#include "ops/conv_bf16.h"
#if defined(EL_CONV_X86)
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")
#include <immintrin.h>

/* LDTILECFG's 64-byte operand (palette 1). */
typedef struct __attribute__((packed, aligned(64))) el_amx_cfg {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} el_amx_cfg;

void el_bf16_amx_begin(void)
{
    /* Every tile 16 rows of 64 bytes: 0-3 accumulators, 4-5 A, 6-7 B. */
    el_amx_cfg cfg;
    __builtin_memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    /* GCC 12 does not see LDTILECFG read its operand and drops the stores
     * above without this barrier. */
    __asm__ volatile("" : : "r"(&cfg) : "memory");
    _tile_loadconfig(&cfg);
}

void el_bf16_amx_end(void) { _tile_release(); }

static inline __mmask16 el_mask16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* Rows [r0, r1) of an accumulator tile stored at c (16 floats a row):
 * bias, clamp, store the valid columns. */
static inline void el_amx_out(const float *c, int r0, int r1, const el_conv_epi *e, int64_t col, __mmask16 m,
                              float *y, int64_t ys)
{
    __m512 b = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + col) : _mm512_setzero_ps();
    __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
    for (int r = r0; r < r1; r++) {
        __m512 v = _mm512_add_ps(_mm512_load_ps(c + (r - r0) * 16), b);
        if (e->clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm512_mask_storeu_ps(y + r * ys + col, m, v);
    }
}

/* A block's accumulators in memory, waiting for their epilogue. */
typedef struct el_amx_out_block {
    float c[4][256] __attribute__((aligned(64)));
    int rows;
    bool tr, tc;
    int64_t col;
    float *y;
} el_amx_out_block;

static void el_amx_finish(const el_amx_out_block *o, int64_t n, const el_conv_epi *e, int64_t ys)
{
    int r0e = o->rows < 16 ? o->rows : 16;
    el_amx_out(o->c[0], 0, r0e, e, o->col, el_mask16(n - o->col), o->y, ys);
    if (o->tc) el_amx_out(o->c[1], 0, r0e, e, o->col + 16, el_mask16(n - o->col - 16), o->y, ys);
    if (o->tr) {
        el_amx_out(o->c[2], 16, o->rows, e, o->col, el_mask16(n - o->col), o->y, ys);
        if (o->tc) el_amx_out(o->c[3], 16, o->rows, e, o->col + 16, el_mask16(n - o->col - 16), o->y, ys);
    }
}

/* One block of TR x TC tiles (TR, TC in {1, 2}: constants after inlining,
 * as tile numbers must be), its accumulators stored to o->c. With x3 the
 * panel and the filter come as hi and lo bf16 halves (el_bf16x3_split) and
 * each k step adds lo*hi + hi*hi + hi*lo, in an order that loads each of
 * its 8 tiles once into the 4 operand tiles (4 accumulators, 2 A, 2 B):
 * the deep layers' tiles come from L2, whose bandwidth bounds them. */
static inline __attribute__((always_inline)) void el_amx_block(int64_t kt, const uint16_t *a0, const uint16_t *a1,
                                                               const uint16_t *b0, const uint16_t *b1,
                                                               int64_t alo, int64_t blo, bool x3, bool tr,
                                                               bool tc, el_amx_out_block *o)
{
    _tile_zero(0);
    if (tc) _tile_zero(1);
    if (tr) _tile_zero(2);
    if (tr && tc) _tile_zero(3);
    for (int64_t kb = 0; kb < kt; kb++) {
        const int64_t off = kb * EL_BF16_TILE;
        if (x3) {
            /* A lo times B hi first, then A hi (B hi kept), then B lo (A
             * hi kept): each of the 8 tiles loaded once per k step. */
            _tile_loadd(4, a0 + alo + off, 64);
            _tile_loadd(6, b0 + off, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (tc) {
                _tile_loadd(7, b1 + off, 64);
                _tile_dpbf16ps(1, 4, 7);
            }
            if (tr) {
                _tile_loadd(5, a1 + alo + off, 64);
                _tile_dpbf16ps(2, 5, 6);
                if (tc) _tile_dpbf16ps(3, 5, 7);
            }
        }
        _tile_loadd(4, a0 + off, 64);
        if (!x3) _tile_loadd(6, b0 + off, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (tc) {
            if (!x3) _tile_loadd(7, b1 + off, 64);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (tr) {
            _tile_loadd(5, a1 + off, 64);
            _tile_dpbf16ps(2, 5, 6);
            if (tc) _tile_dpbf16ps(3, 5, 7);
        }
        if (!x3) continue;
        /* A hi times B lo. */
        _tile_loadd(6, b0 + blo + off, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (tr) _tile_dpbf16ps(2, 5, 6);
        if (tc) {
            _tile_loadd(7, b1 + blo + off, 64);
            _tile_dpbf16ps(1, 4, 7);
            if (tr) _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, o->c[0], 64);
    if (tc) _tile_stored(1, o->c[1], 64);
    if (tr) _tile_stored(2, o->c[2], 64);
    if (tr && tc) _tile_stored(3, o->c[3], 64);
}

static inline __attribute__((always_inline)) void el_amx_gemm(bool x3, int rows, int64_t kt, const uint16_t *panel,
                                                              int64_t alo, const uint16_t *wp, int64_t blo,
                                                              int64_t n, int64_t nb0, int64_t nb1,
                                                              const el_conv_epi *e, float *y, int64_t ys)
{
    const int64_t tstride = kt * EL_BF16_TILE;
    /* Each block's epilogue runs after the next block's products were
     * issued: reading the accumulators right after TILESTORED waits for the
     * stores to reach the cache, which costs more than a short (small k)
     * block's products. */
    el_amx_out_block ob[2];
    int cur = 0;
    bool pending = false;
    /* Column pairs outside, row pairs inside: a column pair's filter tiles
     * stay in cache while the panel's rows pass. */
    for (int64_t nb = nb0; nb < nb1; nb += 2) {
        const uint16_t *b0 = wp + nb * tstride, *b1 = b0 + tstride;
        int64_t col = nb * EL_BF16_NB;
        bool tc = nb + 1 < nb1;
        for (int r0 = 0; r0 < rows; r0 += 32) {
            const uint16_t *a0 = panel + (r0 / 16) * tstride, *a1 = a0 + tstride;
            int nr = rows - r0 < 32 ? rows - r0 : 32;
            bool tr = nr > 16;
            el_amx_out_block *o = &ob[cur];
            o->rows = nr;
            o->tr = tr;
            o->tc = tc;
            o->col = col;
            o->y = y + r0 * ys;
            if (tr && tc) el_amx_block(kt, a0, a1, b0, b1, alo, blo, x3, true, true, o);
            else if (tr) el_amx_block(kt, a0, a1, b0, b0, alo, blo, x3, true, false, o);
            else if (tc) el_amx_block(kt, a0, a0, b0, b1, alo, blo, x3, false, true, o);
            else el_amx_block(kt, a0, a0, b0, b0, alo, blo, x3, false, false, o);
            if (pending) el_amx_finish(&ob[cur ^ 1], n, e, ys);
            pending = true;
            cur ^= 1;
        }
    }
    if (pending) el_amx_finish(&ob[cur ^ 1], n, e, ys);
}

void el_bf16_gemm_amx(int rows, int64_t kt, const uint16_t *panel, const uint16_t *wp, int64_t n, int64_t nb0,
                      int64_t nb1, const el_conv_epi *e, float *y, int64_t ys)
{
    el_amx_gemm(false, rows, kt, panel, 0, wp, 0, n, nb0, nb1, e, y, ys);
}

void el_bf16x3_gemm_amx(int rows, int64_t kt, const uint16_t *panel, int64_t alo, const uint16_t *wp, int64_t blo,
                        int64_t n, int64_t nb0, int64_t nb1, const el_conv_epi *e, float *y, int64_t ys)
{
    el_amx_gemm(true, rows, kt, panel, alo, wp, blo, n, nb0, nb1, e, y, ys);
}
#endif
