/* The depthwise convolution rows kernel, written once over a vector type and
 * included by each ISA file (dwconv_avx512.c, dwconv_avx2.c) after it
 * defines el_vf (EL_VF floats), its load/store/FMA macros and
 * EL_DW_ROWS_FN, the name of the entry point to define.
 *
 * Work is cut three ways:
 * - Channel chunks (when there are many channels): a chunk narrow enough
 *   that the kh input rows an output row reads stay in L1, so the next
 *   output row finds kh - 1 of them there.
 * - Tiles of P output pixels of one row: each input vector loaded once
 *   feeds every pixel whose window holds it (up to kw FMAs), so the tile
 *   needs ((P - 1) * stride + kw) loads per kernel row instead of P * kw.
 * - Two output rows per tile where both windows lie inside the input
 *   vertically (AVX-512): the K + S input rows are loaded once for both
 *   (the row-streaming fusions keep them in an L2 ring, so loads bound
 *   a one-row 3x3 tile).
 * - Inside a tile, channel vectors innermost, contiguous in memory (NHWC
 *   pixels are C floats apart: walking one channel vector along a row
 *   strides by C floats and thrashes the few L1 sets that stride maps to).
 * Every output element sums its taps in (ky, kx) order from zero and adds
 * the bias last, whatever tile, chunk or thread computes it, so results do
 * not depend on the thread count. The epilogue's tile operations (a fused
 * Add, hard swish: el_conv_epi_tile) run on each output row of a channel
 * chunk once it is stored, while it is in L1, and so do its per-row sums
 * (el_conv_epi_sum_rows, a fused Mean). Rows of the window outside the input are
 * skipped; columns outside it read a zero vector (el_conv_zero) in border
 * tiles, and are absent from interior tiles. */

/* Keeps v in a register (no code): see el_dw_tile_vec. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define EL_DW_KEEP(v) __asm__("" : "+v"(v))
#else
#define EL_DW_KEEP(v) ((void)0)
#endif

#define EL_DW_PMAX 8
#define EL_DW_KMAX 5
#define EL_DW_NCMAX ((EL_DW_PMAX - 1) * 2 + EL_DW_KMAX)
/* Bytes of input rows a channel chunk may keep in L1 (48 KB here; some
 * room for the weights and the output), and the narrowest chunk: below
 * 128 channels the strided slices and the per-tile set-up cost more than
 * the L1 hits gain (measured with bench/dwconv_layers.c). */
#define EL_DW_L1_BYTES (32 << 10)
#define EL_DW_MIN_CHUNK 128
/* Bytes of input rows a group of output rows may keep in L2 (2 MB here;
 * the output and the other operands stream through it too). */
#define EL_DW_L2_BYTES (512 << 10)

/* Hard swish in registers, on the tiles' stores, where the ISA file
 * defines EL_V_HSWISH as the _ElHardSwish kernel's vector operation (the
 * same bits as el_conv_epi_tile's pass over the stored row). */
typedef struct el_dw_hs {
    bool on;
    el_vf mul, add;
} el_dw_hs;

static inline el_vf el_dw_hswish(el_vf v, const el_dw_hs *hs)
{
#if defined(EL_V_HSWISH)
    return EL_V_HSWISH(v, hs->mul, hs->add);
#else
    (void)hs; /* never on (EL_DW_ROWS_FN) */
    return v;
#endif
}

static inline el_vf el_dw_epi(el_vf v, const el_conv_epi *e, el_vf bv, el_vf lo, el_vf hi)
{
    v = EL_V_ADD(v, bv);
    /* max returns its second operand for a NaN first: NaN -> lo, as the reference's v > 0 ? v : 0. */
    if (e->clamp) v = EL_V_MIN(EL_V_MAX(v, lo), hi);
    return v;
}

/* One channel vector of a tile (see el_dw_tile); `masked` only for the
 * last, partial vector of a chunk. */
static inline __attribute__((always_inline)) void el_dw_tile_vec(const int K, const int S, const int P,
                                                                 const bool border, const bool masked,
                                                                 const float *const *xp, const int64_t *coff, int ky0,
                                                                 int ky1, const float *w, int64_t C, int64_t cb,
                                                                 el_vmask m, const float *bias, bool clamp, el_vf lo,
                                                                 el_vf hi, const el_dw_hs *hs, float *y)
{
    const int NC = (P - 1) * S + K;
#define EL_DW_LD(p) (masked ? EL_V_MLOAD(p, m) : EL_V_LOAD(p))
    el_vf acc[EL_DW_PMAX];
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) acc[p] = EL_V_ZERO();
    for (int ky = ky0; ky < ky1; ky++) {
        el_vf wk[EL_DW_KMAX];
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) wk[kx] = EL_DW_LD(w + (ky * K + kx) * C + cb);
#pragma GCC unroll 19
        for (int c = 0; c < NC; c++) {
            const float *src = border ? xp[ky * NC + c] : xp[ky] + coff[c];
            el_vf xv = EL_DW_LD(src + cb);
            /* One load per input vector, in a register for the up to K
             * FMAs that read it: GCC otherwise folds the load into each
             * FMA, and the tile becomes bound by loads (from L2, where
             * the row ring lives), not by FMAs. */
            EL_DW_KEEP(xv);
#pragma GCC unroll 8
            for (int p = 0; p < P; p++) {
                const int kx = c - p * S;
                if (kx >= 0 && kx < K) acc[p] = EL_V_FMA(xv, wk[kx], acc[p]);
            }
        }
    }
    el_vf bv = bias ? EL_DW_LD(bias + cb) : EL_V_ZERO();
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) {
        el_vf v = EL_V_ADD(acc[p], bv);
        /* max returns its second operand for a NaN first: NaN -> lo, as the reference's v > 0 ? v : 0. */
        if (clamp) v = EL_V_MIN(EL_V_MAX(v, lo), hi);
        if (hs->on) v = el_dw_hswish(v, hs);
        if (masked) EL_V_MSTORE(y + p * C + cb, m, v);
        else EL_V_STORE(y + p * C + cb, v);
    }
#undef EL_DW_LD
}

/* P output pixels (stride S, K x K window, dilation 1) for channels
 * [c0, c1), kernel rows [ky0, ky1). Interior tiles (border false): xp[ky]
 * is input row ky at the window's first column, column c at xp[ky] +
 * coff[c]. Border tiles: xp[ky * NC + c] is column c, or zeros. y is the
 * first pixel's output. */
static inline __attribute__((always_inline)) void el_dw_tile(const int K, const int S, const int P, const bool border,
                                                             const float *const *xp, const int64_t *coff, int ky0,
                                                             int ky1, const float *w, int64_t C, int64_t c0,
                                                             int64_t c1, const el_conv_epi *e, float *y)
{
    /* Locals, so that stores to y cannot be taken to change them. */
    const float *const bias = e->bias;
    const bool clamp = e->clamp;
    const el_vf lo = EL_V_SET1(e->lo), hi = EL_V_SET1(e->hi);
    const el_dw_hs hs = {e->hswish, EL_V_SET1(e->hs_mul), EL_V_SET1(e->hs_add)};
    int64_t cb = c0;
    for (; cb + EL_VF <= c1; cb += EL_VF)
        el_dw_tile_vec(K, S, P, border, false, xp, coff, ky0, ky1, w, C, cb, el_vmask_n(EL_VF), bias, clamp, lo, hi,
                       &hs, y);
    if (cb < c1)
        el_dw_tile_vec(K, S, P, border, true, xp, coff, ky0, ky1, w, C, cb, el_vmask_n(c1 - cb), bias, clamp, lo, hi,
                       &hs, y);
}

/* One channel vector of a tile of two output rows (the second S input
 * rows below the first), both windows inside the input vertically and
 * every column inside it (interior): input row i (0 <= i < K + S) at
 * xp[i], column c at xp[i] + coff[c]. Each input vector is loaded once
 * for the FMAs of both rows (K + S row loads instead of 2 K). Every
 * output sums its taps in (ky, kx) order as el_dw_tile_vec does (input
 * rows ascending), so the bits are those of two one-row tiles. Border
 * tiles (border true): xp[i * NC + c] is column c of input row i, or
 * zeros, as in el_dw_tile_vec. */
static inline __attribute__((always_inline)) void el_dw_tile2_vec(const int K, const int S, const int P,
                                                                  const bool border, const bool masked,
                                                                  const float *const *xp,
                                                                  const int64_t *coff, const float *w, int64_t C,
                                                                  int64_t cb, el_vmask m, const float *bias,
                                                                  bool clamp, el_vf lo, el_vf hi, const el_dw_hs *hs,
                                                                  float *y0, float *y1)
{
    const int NC = (P - 1) * S + K;
#define EL_DW_LD(p) (masked ? EL_V_MLOAD(p, m) : EL_V_LOAD(p))
    el_vf acc0[EL_DW_PMAX], acc1[EL_DW_PMAX];
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) acc0[p] = acc1[p] = EL_V_ZERO();
#pragma GCC unroll 7
    for (int i = 0; i < K + S; i++) {
        /* Kernel row i of the first output row, i - S of the second. */
        const bool has0 = i < K, has1 = i >= S;
        el_vf w0[EL_DW_KMAX], w1[EL_DW_KMAX];
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
            if (has0) w0[kx] = EL_DW_LD(w + (i * K + kx) * C + cb);
            if (has1) w1[kx] = EL_DW_LD(w + ((i - S) * K + kx) * C + cb);
        }
#pragma GCC unroll 19
        for (int c = 0; c < NC; c++) {
            const float *src = border ? xp[i * NC + c] : xp[i] + coff[c];
            el_vf xv = EL_DW_LD(src + cb);
            EL_DW_KEEP(xv);
#pragma GCC unroll 8
            for (int p = 0; p < P; p++) {
                const int kx = c - p * S;
                if (kx < 0 || kx >= K) continue;
                if (has0) acc0[p] = EL_V_FMA(xv, w0[kx], acc0[p]);
                if (has1) acc1[p] = EL_V_FMA(xv, w1[kx], acc1[p]);
            }
        }
    }
    el_vf bv = bias ? EL_DW_LD(bias + cb) : EL_V_ZERO();
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) {
        el_vf v0 = EL_V_ADD(acc0[p], bv), v1 = EL_V_ADD(acc1[p], bv);
        if (clamp) {
            v0 = EL_V_MIN(EL_V_MAX(v0, lo), hi);
            v1 = EL_V_MIN(EL_V_MAX(v1, lo), hi);
        }
        if (hs->on) {
            v0 = el_dw_hswish(v0, hs);
            v1 = el_dw_hswish(v1, hs);
        }
        if (masked) {
            EL_V_MSTORE(y0 + p * C + cb, m, v0);
            EL_V_MSTORE(y1 + p * C + cb, m, v1);
        } else {
            EL_V_STORE(y0 + p * C + cb, v0);
            EL_V_STORE(y1 + p * C + cb, v1);
        }
    }
#undef EL_DW_LD
}

/* One output pixel of any window, over its taps inside the input (the
 * fallback for windows without a tile kernel, and tiny rows). Four
 * channel vectors at once, each its own chain of FMAs over the taps in
 * the same order (one chain at a time waited on every FMA's latency), and
 * the ring slot without a 64-bit modulo where the ring holds the row at
 * its own index (a whole input): CenterNet's size head, 100 such pixels
 * of 128 channels, took 24 us, now 4. */
static void el_dw_pixel(const el_conv_geom *g, const float *xb, int64_t ring, const float *w, const el_conv_epi *e,
                        float *yp, int64_t oy, int64_t ox, int64_t c0, int64_t c1)
{
    enum { NV = 4 };
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t C = g->ic;
    const el_vf lo = EL_V_SET1(e->lo), hi = EL_V_SET1(e->hi);
    for (int64_t cg = c0; cg < c1; cg += NV * EL_VF) {
        el_vmask m[NV];
        el_vf acc[NV];
        for (int v = 0; v < NV; v++) {
            m[v] = el_vmask_n(c1 - cg - v * EL_VF);
            acc[v] = EL_V_ZERO();
        }
        for (int64_t ky = 0; ky < H->k; ky++) {
            const int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
            if (iy < 0 || iy >= H->in) continue;
            const float *xr = xb + (iy < ring ? iy : iy % ring) * W->in * C + cg, *wr = w + ky * W->k * C + cg;
            for (int64_t kx = 0; kx < W->k; kx++) {
                const int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
                if (ix < 0 || ix >= W->in) continue;
                for (int v = 0; v < NV; v++)
                    acc[v] = EL_V_FMA(EL_V_MLOAD(xr + ix * C + v * EL_VF, m[v]), EL_V_MLOAD(wr + kx * C + v * EL_VF, m[v]),
                                      acc[v]);
            }
        }
        for (int v = 0; v < NV && cg + v * EL_VF < c1; v++) {
            el_vf bv = e->bias ? EL_V_MLOAD(e->bias + cg + v * EL_VF, m[v]) : EL_V_ZERO();
            EL_V_MSTORE(yp + cg + v * EL_VF, m[v], el_dw_epi(acc[v], e, bv, lo, hi));
        }
    }
}

/* What a row of tiles shares. */
typedef struct el_dw_row {
    const el_conv_geom *g;
    const float *xb, *w;
    int64_t ring;                 /* input rows held at xb (see EL_DW_ROWS_FN) */
    const float *xr[EL_DW_KMAX];  /* input row of kernel row ky (inside the input) */
    const el_conv_epi *e;
    float *yr;                    /* output row, channel 0 of pixel 0 */
    int64_t iy0;                  /* input row of kernel row 0 */
    int ky0, ky1;                 /* kernel rows inside the input */
    int64_t c0, c1;               /* channel chunk */
    int64_t coff[EL_DW_NCMAX];    /* column c's offset from the window's first column */
} el_dw_row;

/* The tile of P pixels starting at output column ox: interior when every
 * column of its window is inside the input, else with zero columns (or
 * pixel by pixel when C is wider than the zero row). */
static inline __attribute__((always_inline)) void el_dw_tile_at(const int K, const int S, const int P,
                                                                const el_dw_row *r, int64_t ox)
{
    const el_conv_geom *g = r->g;
    const int64_t C = g->ic, Win = g->w.in;
    const int NC = (P - 1) * S + K;
    const int64_t ix0 = ox * S - g->w.pad_before;
    float *y = r->yr + ox * C;
    if (ix0 >= 0 && ix0 + NC <= Win) {
        const float *xp[EL_DW_KMAX];
        for (int ky = r->ky0; ky < r->ky1; ky++) xp[ky] = r->xr[ky] + ix0 * C;
        el_dw_tile(K, S, P, false, xp, r->coff, r->ky0, r->ky1, r->w, C, r->c0, r->c1, r->e, y);
    } else if (C <= EL_CONV_ZERO_LEN) {
        const float *xp[EL_DW_KMAX * EL_DW_NCMAX];
        for (int ky = r->ky0; ky < r->ky1; ky++) {
            const float *row = r->xr[ky];
            for (int c = 0; c < NC; c++) {
                int64_t ix = ix0 + c;
                xp[ky * NC + c] = ix >= 0 && ix < Win ? row + ix * C : el_conv_zero;
            }
        }
        el_dw_tile(K, S, P, true, xp, NULL, r->ky0, r->ky1, r->w, C, r->c0, r->c1, r->e, y);
    } else {
        int64_t oy = (r->iy0 + g->h.pad_before) / g->h.stride;
        for (int p = 0; p < P; p++) el_dw_pixel(g, r->xb, r->ring, r->w, r->e, y + p * C, oy, ox + p, r->c0, r->c1);
    }
}

/* One instance per window, stride and tile width, called (not inlined)
 * by the row loops: inlined at each call site (the one-row and two-row
 * paths, each tile width, the shifted last tile), the fully unrolled
 * tiles made the object five times larger. */
#define EL_DW_OUTLINE(NAME, K, S, P, ARGS, CALL)                                                                       \
    static __attribute__((noinline)) void NAME##_##K##_##S##_##P ARGS { CALL; }
#define EL_DW_PICK(NAME, K, S, P, ARGS)                                                                                \
    do {                                                                                                               \
        if ((K) == 3 && (S) == 1 && (P) == 8) NAME##_3_1_8 ARGS;                                                       \
        else if ((K) == 3 && (S) == 1) NAME##_3_1_4 ARGS;                                                              \
        else if ((K) == 3 && (P) == 8) NAME##_3_2_8 ARGS;                                                              \
        else if ((K) == 3) NAME##_3_2_4 ARGS;                                                                          \
        else if ((S) == 1 && (P) == 8) NAME##_5_1_8 ARGS;                                                              \
        else if ((S) == 1) NAME##_5_1_4 ARGS;                                                                          \
        else if ((P) == 8) NAME##_5_2_8 ARGS;                                                                          \
        else NAME##_5_2_4 ARGS;                                                                                        \
    } while (0)
#define EL_DW_OUTLINE_ALL(NAME, ARGS, CALLK)                                                                           \
    EL_DW_OUTLINE(NAME, 3, 1, 8, ARGS, CALLK(3, 1, 8))                                                                 \
    EL_DW_OUTLINE(NAME, 3, 1, 4, ARGS, CALLK(3, 1, 4))                                                                 \
    EL_DW_OUTLINE(NAME, 3, 2, 8, ARGS, CALLK(3, 2, 8))                                                                 \
    EL_DW_OUTLINE(NAME, 3, 2, 4, ARGS, CALLK(3, 2, 4))                                                                 \
    EL_DW_OUTLINE(NAME, 5, 1, 8, ARGS, CALLK(5, 1, 8))                                                                 \
    EL_DW_OUTLINE(NAME, 5, 1, 4, ARGS, CALLK(5, 1, 4))                                                                 \
    EL_DW_OUTLINE(NAME, 5, 2, 8, ARGS, CALLK(5, 2, 8))                                                                 \
    EL_DW_OUTLINE(NAME, 5, 2, 4, ARGS, CALLK(5, 2, 4))

#define EL_DW_T1_CALL(K, S, P) el_dw_tile_at(K, S, P, r, ox)
EL_DW_OUTLINE_ALL(el_dw_t1, (const el_dw_row *r, int64_t ox), EL_DW_T1_CALL)

/* One output row of a K x K, stride S window: tiles of 8, then 4, then a
 * last tile of 4 shifted left over pixels already done (same values), or
 * single pixels when the row is narrower than 4. */
static inline __attribute__((always_inline)) void el_dw_row_tiles(const int K, const int S, const el_dw_row *r)
{
    const int64_t Wout = r->g->w.out;
    int64_t ox = 0;
    for (; ox + 8 <= Wout; ox += 8) EL_DW_PICK(el_dw_t1, K, S, 8, (r, ox));
    if (ox + 4 <= Wout) {
        EL_DW_PICK(el_dw_t1, K, S, 4, (r, ox));
        ox += 4;
    }
    if (ox < Wout) {
        if (Wout >= 4) {
            EL_DW_PICK(el_dw_t1, K, S, 4, (r, Wout - 4));
        } else {
            int64_t oy = (r->iy0 + r->g->h.pad_before) / r->g->h.stride;
            for (; ox < Wout; ox++)
                el_dw_pixel(r->g, r->xb, r->ring, r->w, r->e, r->yr + ox * r->g->ic, oy, ox, r->c0, r->c1);
        }
    }
}

/* The tile of P pixels at output column ox on rows a and b (b the row
 * below a, both windows inside the input vertically): interior tiles for
 * both rows at once, the others row by row. */
static inline __attribute__((always_inline)) void el_dw_tile2_at(const int K, const int S, const int P,
                                                                 const el_dw_row *a, const el_dw_row *b, int64_t ox)
{
    const el_conv_geom *g = a->g;
    const int64_t C = g->ic, Win = g->w.in;
    const int NC = (P - 1) * S + K;
    const int64_t ix0 = ox * S - g->w.pad_before;
    const bool border = ix0 < 0 || ix0 + NC > Win;
    if (border && C > EL_CONV_ZERO_LEN) {
        EL_DW_PICK(el_dw_t1, K, S, P, (a, ox));
        EL_DW_PICK(el_dw_t1, K, S, P, (b, ox));
        return;
    }
    /* Interior: input row i at the window's first column. Border: every
     * column's own pointer, zeros outside (a row of 16 or 32 pixels is
     * mostly border tiles: they took the one-row tiles, a third of
     * CenterNet's depthwise time). */
    const float *xp[(EL_DW_KMAX + 2) * EL_DW_NCMAX];
    for (int i = 0; i < K + S; i++) {
        const float *row = i < K ? a->xr[i] : b->xr[i - S];
        if (!border) {
            xp[i] = row + ix0 * C;
            continue;
        }
        for (int c = 0; c < NC; c++) {
            const int64_t ix = ix0 + c;
            xp[i * NC + c] = ix >= 0 && ix < Win ? row + ix * C : el_conv_zero;
        }
    }
    const float *const bias = a->e->bias;
    const bool clamp = a->e->clamp;
    const el_vf lo = EL_V_SET1(a->e->lo), hi = EL_V_SET1(a->e->hi);
    const el_dw_hs hs = {a->e->hswish, EL_V_SET1(a->e->hs_mul), EL_V_SET1(a->e->hs_add)};
    float *y0 = a->yr + ox * C, *y1 = b->yr + ox * C;
    int64_t cb = a->c0;
    if (border) {
        for (; cb + EL_VF <= a->c1; cb += EL_VF)
            el_dw_tile2_vec(K, S, P, true, false, xp, NULL, a->w, C, cb, el_vmask_n(EL_VF), bias, clamp, lo, hi, &hs,
                            y0, y1);
        if (cb < a->c1)
            el_dw_tile2_vec(K, S, P, true, true, xp, NULL, a->w, C, cb, el_vmask_n(a->c1 - cb), bias, clamp, lo, hi,
                            &hs, y0, y1);
        return;
    }
    for (; cb + EL_VF <= a->c1; cb += EL_VF)
        el_dw_tile2_vec(K, S, P, false, false, xp, a->coff, a->w, C, cb, el_vmask_n(EL_VF), bias, clamp, lo, hi, &hs,
                        y0, y1);
    if (cb < a->c1)
        el_dw_tile2_vec(K, S, P, false, true, xp, a->coff, a->w, C, cb, el_vmask_n(a->c1 - cb), bias, clamp, lo, hi,
                        &hs, y0, y1);
}

#define EL_DW_T2_CALL(K, S, P) el_dw_tile2_at(K, S, P, a, b, ox)
EL_DW_OUTLINE_ALL(el_dw_t2, (const el_dw_row *a, const el_dw_row *b, int64_t ox), EL_DW_T2_CALL)

/* Rows a and b as el_dw_row_tiles would run them one after the other. */
static inline __attribute__((always_inline)) void el_dw_row2_tiles(const int K, const int S, const el_dw_row *a,
                                                                   const el_dw_row *b)
{
    const int64_t Wout = a->g->w.out;
    int64_t ox = 0;
    for (; ox + 8 <= Wout; ox += 8) EL_DW_PICK(el_dw_t2, K, S, 8, (a, b, ox));
    if (ox + 4 <= Wout) {
        EL_DW_PICK(el_dw_t2, K, S, 4, (a, b, ox));
        ox += 4;
    }
    if (ox < Wout) {
        if (Wout >= 4) {
            EL_DW_PICK(el_dw_t2, K, S, 4, (a, b, Wout - 4));
        } else {
            el_dw_row_tiles(K, S, a);
            el_dw_row_tiles(K, S, b);
        }
    }
}

void EL_DW_ROWS_FN(const el_conv_geom *g, const float *x, int64_t ring, const float *w, const el_conv_epi *e,
                   float *yrows, int64_t b, int64_t oy0, int64_t oy1, int64_t c0, int64_t c1)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t C = g->ic;
    const float *xb = x + b * ring * W->in * C;
    const int64_t K = W->k, S = W->stride;
    const bool tiled = H->k == K && H->stride == S && H->dilation == 1 && W->dilation == 1 && (K == 3 || K == 5) &&
                       (S == 1 || S == 2);
    if (!tiled) {
        for (int64_t oy = oy0; oy < oy1; oy++) {
            for (int64_t ox = 0; ox < W->out; ox++)
                el_dw_pixel(g, xb, ring, w, e, yrows + ((oy - oy0) * W->out + ox) * C, oy, ox, c0, c1);
            if (el_conv_epi_has_tile_ops(e)) el_conv_epi_tile(e, yrows + (oy - oy0) * W->out * C + c0, W->out, c1 - c0, C);
            if (e->sums) el_conv_epi_sum_rows(e, yrows + (oy - oy0) * W->out * C, 1, W->out, C, c0, c1);
        }
        return;
    }
    /* Channel chunks whose K input rows fit the L1 budget, within groups of
     * output rows whose input rows (all channels) fit the L2 budget: a
     * chunk reads a slice of each input row, and the group's rows must
     * still be in L2 when the next chunk reads the next slice. */
    const int64_t row_bytes = W->in * C * (int64_t)sizeof(float);
    int64_t cb = EL_DW_L1_BYTES / (K * row_bytes / C) / EL_VF * EL_VF;
    if (cb < EL_DW_MIN_CHUNK) cb = EL_DW_MIN_CHUNK;
    int64_t grp = oy1 - oy0;
    if (cb < c1 - c0) {
        grp = (EL_DW_L2_BYTES / row_bytes - K) / S + 1;
        if (grp < 1) grp = 1;
    }
    /* Hard swish in the tiles' registers when every pixel goes through a
     * tile (no pixel fallback) and nothing comes before it (a fused Add
     * does): the tiles see ein, the rows' tile operations after them eout. */
    el_conv_epi ein = *e, eout = *e;
    ein.hswish = false;
#if defined(EL_V_HSWISH)
    if (e->hswish && !e->add && !e->sigmoid && C <= EL_CONV_ZERO_LEN && W->out >= 4) {
        ein.hswish = true;
        eout.hswish = false;
    }
#endif
    const bool tops = el_conv_epi_has_tile_ops(&eout);
    el_dw_row r = {.g = g, .xb = xb, .ring = ring, .w = w, .e = &ein};
    for (int c = 0; c < EL_DW_NCMAX; c++) r.coff[c] = c * C;
    for (int64_t ga = oy0; ga < oy1; ga += grp) {
        int64_t gz = oy1 - ga > grp ? ga + grp : oy1;
    for (r.c0 = c0; r.c0 < c1; r.c0 = r.c1) {
        r.c1 = c1 - r.c0 > cb ? r.c0 + cb : c1;
        for (int64_t oy = ga; oy < gz; oy++) {
            r.iy0 = oy * S - H->pad_before;
            int64_t k0 = r.iy0 < 0 ? -r.iy0 : 0, k1 = H->in - r.iy0 < K ? H->in - r.iy0 : K;
            if (k0 > K) k0 = K;
            if (k1 < k0) k1 = k0;
            r.ky0 = (int)k0;
            r.ky1 = (int)k1;
            for (int ky = r.ky0; ky < r.ky1; ky++) r.xr[ky] = xb + (r.iy0 + ky) % ring * W->in * C;
            r.yr = yrows + (oy - oy0) * W->out * C;
            /* Two rows at once where both windows lie inside the input
             * vertically and the ring holds their K + S input rows; with
             * 32 vector registers only (2 x 8 accumulators and 2 K
             * weights: AVX2's 16 would spill). */
            if (EL_VF == 16 && oy + 1 < gz && r.iy0 >= 0 && r.iy0 + S + K <= H->in && ring >= K + S) {
                el_dw_row r2 = r;
                r2.iy0 = r.iy0 + S;
                for (int ky = 0; ky < K; ky++) r2.xr[ky] = xb + (r2.iy0 + ky) % ring * W->in * C;
                r2.yr = r.yr + W->out * C;
                if (K == 3 && S == 1) el_dw_row2_tiles(3, 1, &r, &r2);
                else if (K == 3) el_dw_row2_tiles(3, 2, &r, &r2);
                else if (S == 1) el_dw_row2_tiles(5, 1, &r, &r2);
                else el_dw_row2_tiles(5, 2, &r, &r2);
                if (tops) el_conv_epi_tile(&eout, r.yr + r.c0, 2 * W->out, r.c1 - r.c0, C);
                if (e->sums) el_conv_epi_sum_rows(e, r.yr, 2, W->out, C, r.c0, r.c1);
                oy++;
                continue;
            }
            if (K == 3 && S == 1) el_dw_row_tiles(3, 1, &r);
            else if (K == 3) el_dw_row_tiles(3, 2, &r);
            else if (S == 1) el_dw_row_tiles(5, 1, &r);
            else el_dw_row_tiles(5, 2, &r);
            /* After the whole row: its last tile may store pixels twice. */
            if (tops) el_conv_epi_tile(&eout, r.yr + r.c0, W->out, r.c1 - r.c0, C);
            if (e->sums) el_conv_epi_sum_rows(e, r.yr, 1, W->out, C, r.c0, r.c1);
        }
    }
    }
}
