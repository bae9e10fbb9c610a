/* The public precision API (edgelens/engine.h) and its step of session
 * creation. */
#include "exec/precision.h"

#include <string.h>

#include "graph/precision.h"
#include "ops/conv_bf16.h"

el_status el_precision_parse(const char *name, el_precision *out)
{
    if (name && (!strcmp(name, "fp32") || !strcmp(name, "float32"))) *out = EL_PRECISION_FP32;
    else if (name && (!strcmp(name, "bf16") || !strcmp(name, "bfloat16"))) *out = EL_PRECISION_BF16;
    else if (name && !strcmp(name, "bf16x3")) *out = EL_PRECISION_BF16X3;
    else if (name && !strcmp(name, "auto")) *out = EL_PRECISION_AUTO;
    else
        return el_error(EL_ERR_INVALID_ARG, "unknown precision '%s' (expected fp32, bf16, bf16x3 or auto)",
                        name ? name : "");
    return EL_OK;
}

const char *el_precision_name(el_precision p)
{
    switch (p) {
    case EL_PRECISION_BF16: return "bf16";
    case EL_PRECISION_BF16X3: return "bf16x3";
    case EL_PRECISION_AUTO: return "auto";
    default: return "fp32";
    }
}

el_precision el_precision_resolve(el_precision p)
{
    if (p != EL_PRECISION_AUTO) return p;
    return el_bf16_isa() == EL_BF16_AMX ? EL_PRECISION_BF16X3 : EL_PRECISION_FP32;
}

const char *el_precision_isa(el_precision p)
{
    p = el_precision_resolve(p);
    if (p == EL_PRECISION_FP32) return "fp32";
    if (p == EL_PRECISION_BF16X3) return el_bf16_isa() == EL_BF16_AMX ? "amx" : NULL;
    if (p != EL_PRECISION_BF16) return NULL;
    switch (el_bf16_isa()) {
    case EL_BF16_AMX: return "amx";
    case EL_BF16_AVX512: return "avx512_bf16";
    default: return NULL;
    }
}

el_status el_precision_check(el_precision p)
{
    p = el_precision_resolve(p);
    if (p == EL_PRECISION_FP32) return EL_OK;
    if (p == EL_PRECISION_BF16X3) {
        /* On AVX512-BF16 alone three bf16 products cost 6x an fp32 one. */
        if (el_bf16_isa() != EL_BF16_AMX)
            return el_error(EL_ERR_UNSUPPORTED, "bf16x3 needs AMX (AMX-BF16); this CPU or OS has none (use fp32)");
        return EL_OK;
    }
    if (p != EL_PRECISION_BF16) return el_error(EL_ERR_INVALID_ARG, "unknown precision %d", (int)p);
    /* A silent fp32 fallback would hide that the numbers (and the speed)
     * are not what was asked for; the caller can retry with fp32. */
    if (el_bf16_isa() == EL_BF16_NONE)
        return el_error(EL_ERR_UNSUPPORTED, "bf16 needs AVX512-BF16 or AMX; this CPU has neither (use fp32)");
    return EL_OK;
}

el_status el_session_precision(const el_graph *g, el_precision p, int nfeeds, const char *const *feeds, int nfetches,
                               const char *const *fetches, el_graph **owned)
{
    p = el_precision_resolve(p);
    EL_TRY(el_precision_check(p));
    if (p == EL_PRECISION_FP32) return EL_OK;
    if (!*owned) EL_TRY(el_graph_clone(g, owned));
    return el_graph_pack_bf16(*owned, p == EL_PRECISION_BF16X3, nfeeds, feeds, nfetches, fetches, NULL);
}
