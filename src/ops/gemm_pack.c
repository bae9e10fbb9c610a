/* Filter packing for the packed-filter GEMM (see gemm.h): portable C, run
 * once per filter at session creation. */
#include "ops/gemm.h"

#include <string.h>

static const char *const el_layout_names[] = {"hwio", "f32_p32", "bf16_t32x16", "bf16x3_t32x16"};

const char *el_filter_layout_name(el_filter_layout l)
{
    return (unsigned)l < sizeof el_layout_names / sizeof *el_layout_names ? el_layout_names[l] : "?";
}

int el_filter_layout_parse(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof el_layout_names / sizeof *el_layout_names; i++)
        if (strlen(el_layout_names[i]) == len && !memcmp(el_layout_names[i], s, len)) return (int)i;
    return -1;
}

int64_t el_gemm_packed_len(int64_t k, int64_t n) { return (n + EL_GEMM_NR - 1) / EL_GEMM_NR * k * EL_GEMM_NR; }

void el_gemm_pack_f32(const float *w, int64_t k, int64_t n, float *out)
{
    int64_t panels = (n + EL_GEMM_NR - 1) / EL_GEMM_NR;
    for (int64_t p = 0; p < panels; p++) {
        int64_t n0 = p * EL_GEMM_NR, nc = n - n0 < EL_GEMM_NR ? n - n0 : EL_GEMM_NR;
        float *o = out + p * k * EL_GEMM_NR;
        for (int64_t i = 0; i < k; i++, o += EL_GEMM_NR) {
            memcpy(o, w + i * n + n0, sizeof(float) * (size_t)nc);
            if (nc < EL_GEMM_NR) memset(o + nc, 0, sizeof(float) * (size_t)(EL_GEMM_NR - nc));
        }
    }
}

void el_gemm_unpack_f32(const float *pk, int64_t k, int64_t n, float *w)
{
    int64_t panels = (n + EL_GEMM_NR - 1) / EL_GEMM_NR;
    for (int64_t p = 0; p < panels; p++) {
        int64_t n0 = p * EL_GEMM_NR, nc = n - n0 < EL_GEMM_NR ? n - n0 : EL_GEMM_NR;
        const float *o = pk + p * k * EL_GEMM_NR;
        for (int64_t i = 0; i < k; i++, o += EL_GEMM_NR) memcpy(w + i * n + n0, o, sizeof(float) * (size_t)nc);
    }
}

el_status el_filter_pack(const el_tensor *hwio, el_filter_layout layout, el_tensor *out)
{
    return el_filter_pack_scaled(hwio, layout, NULL, out);
}

el_status el_filter_pack_scaled(const el_tensor *hwio, el_filter_layout layout, const float *scale, el_tensor *out)
{
    memset(out, 0, sizeof *out);
    if (layout != EL_FILTER_F32_P32 || hwio->dtype != EL_DT_FLOAT || hwio->ndim != 4)
        return el_error(EL_ERR_UNSUPPORTED, "filter packing: layout %s of a %d-dimensional filter is not supported",
                        el_filter_layout_name(layout), hwio->ndim);
    int64_t k = hwio->dims[0] * hwio->dims[1] * hwio->dims[2], n = hwio->dims[3];
    int64_t dims[5] = {(n + EL_GEMM_NR - 1) / EL_GEMM_NR, hwio->dims[0], hwio->dims[1], hwio->dims[2], EL_GEMM_NR};
    EL_TRY(el_tensor_alloc(out, EL_DT_FLOAT, 5, dims));
    if (k <= 0 || n <= 0) return EL_OK;
    if (!scale) {
        el_gemm_pack_f32(hwio->data, k, n, out->data);
        return EL_OK;
    }
    const float *w = hwio->data;
    float *o = out->data;
    for (int64_t n0 = 0; n0 < n; n0 += EL_GEMM_NR) {
        int64_t nc = n - n0 < EL_GEMM_NR ? n - n0 : EL_GEMM_NR;
        for (int64_t i = 0; i < k; i++, o += EL_GEMM_NR) {
            const float *wr = w + i * n + n0;
            int64_t j = 0;
            for (; j < nc; j++) o[j] = wr[j] * scale[n0 + j];
            for (; j < EL_GEMM_NR; j++) o[j] = 0.0f;
        }
    }
    return EL_OK;
}
