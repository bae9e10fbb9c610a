/* el_copy_strided, the copy every array op uses, against the plain
 * definition: random boxes, strides (contiguous, 2 to 5, negative, zero)
 * and element sizes 1, 2, 3, 4, 8 and 16 bytes, so each of its fixed-stride
 * runs and the general one are checked. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ops/array_util.h"

static uint32_t el_rnd_state = 7;
static uint32_t el_rnd(void)
{
    el_rnd_state = el_rnd_state * 1664525u + 1013904223u;
    return el_rnd_state >> 8;
}

static void test_copy_strided_vs_reference(void **state)
{
    (void)state;
    static const size_t sizes[6] = {1, 2, 3, 4, 8, 16};
    enum { CAP = 1 << 16 };
    uint8_t *src = malloc(CAP * 16), *dst = malloc(CAP * 16), *want = malloc(CAP * 16);
    for (size_t k = 0; k < (size_t)CAP * 16; k++) src[k] = (uint8_t)el_rnd();
    for (int it = 0; it < 3000; it++) {
        const size_t es = sizes[it % 6];
        const int nd = 1 + (int)(el_rnd() % 3);
        int64_t dims[3], ss[3], ds[3], numel = 1;
        for (int i = 0; i < nd; i++) {
            dims[i] = 1 + el_rnd() % (i == nd - 1 ? 40 : 5);
            numel *= dims[i];
        }
        /* destination: row-major, or spread by a factor 1..4 on the last dim */
        const int64_t spread = 1 + el_rnd() % 4;
        int64_t s = spread;
        for (int i = nd - 1; i >= 0; i--) {
            ds[i] = i == nd - 1 ? spread : s;
            s *= dims[i];
        }
        const int64_t dspan = s;
        /* source: each dim's stride from {contiguous-ish, 2..5, 0, negative} */
        int64_t soff = 0, sspan = 1;
        for (int i = nd - 1; i >= 0; i--) {
            const uint32_t kind = el_rnd() % 6;
            int64_t st = kind == 0 ? sspan : kind == 5 ? 0 : (int64_t)(1 + kind) * sspan;
            if (el_rnd() % 7 == 0) st = -st;
            ss[i] = st;
            if (st < 0) soff += -st * (dims[i] - 1);
            sspan += (st < 0 ? -st : st) * (dims[i] - 1);
        }
        if (sspan > CAP || dspan > CAP) continue;
        memset(dst, 0xAB, (size_t)dspan * es);
        memset(want, 0xAB, (size_t)dspan * es);
        for (int64_t f = 0; f < numel; f++) {
            int64_t r = f, so = soff, dof = 0;
            for (int i = nd - 1; i >= 0; i--) {
                const int64_t c = r % dims[i];
                r /= dims[i];
                so += c * ss[i];
                dof += c * ds[i];
            }
            memcpy(want + dof * (int64_t)es, src + so * (int64_t)es, es);
        }
        el_copy_strided(dst, 0, ds, src, soff, ss, es, nd, dims);
        if (memcmp(dst, want, (size_t)dspan * es)) fail_msg("case %d: copy differs (es %zu, rank %d)", it, es, nd);
    }
    free(src);
    free(dst);
    free(want);
}

/* Rows of every short length (1..70 bytes, 1- and 4-byte elements, so the
 * run-by-run moves and memcpy both) taken from wider rows, forwards and
 * with the rows reversed: out[r][j] = in[r or rows-1-r][j + 1]. */
static void test_copy_strided_short_runs(void **state)
{
    (void)state;
    enum { ROWS = 9, MAXB = 70 };
    unsigned char in[ROWS * (MAXB + 10)], out[ROWS * MAXB + 1];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 7 + 3);
    for (int es = 1; es <= 4; es += 3)
        for (int len = 1; len * es <= MAXB; len++)
            for (int rev = 0; rev < 2; rev++) {
                const int64_t w = len + 2, dims[2] = {ROWS, len}, ds[2] = {len, 1};
                const int64_t ss[2] = {rev ? -w : w, 1}, off = (rev ? (ROWS - 1) * w : 0) + 1;
                memset(out, 0xEE, sizeof out);
                el_copy_strided(out, 0, ds, in, off, ss, (size_t)es, 2, dims);
                for (int r = 0; r < ROWS; r++) {
                    const int64_t sr = rev ? ROWS - 1 - r : r;
                    assert_memory_equal(out + (size_t)(r * len * es), in + (size_t)((sr * w + 1) * es),
                                        (size_t)(len * es));
                }
                assert_int_equal(out[ROWS * len * es], 0xEE);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_strided_vs_reference),
        cmocka_unit_test(test_copy_strided_short_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
