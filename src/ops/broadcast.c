/* TensorFlow's broadcasting (tensorflow/core/util/bcast.h) as one iterator
 * shared by every elementwise kernel. */
#include "ops/broadcast.h"

#include <string.h>

bool el_bcast_init(el_bcast *b, int nin, const int *ndims, const int64_t *const *dims)
{
    int64_t size[EL_BCAST_MAX_IN][EL_MAX_DIMS];
    unsigned mask[EL_MAX_DIMS];
    int rank = 0;

    memset(b, 0, sizeof *b);
    if (nin < 1 || nin > EL_BCAST_MAX_IN) return false;
    b->nin = nin;
    for (int k = 0; k < nin; k++) {
        if (ndims[k] < 0 || ndims[k] > EL_MAX_DIMS) return false;
        if (ndims[k] > rank) rank = ndims[k];
    }
    b->out_ndim = rank;
    b->out_numel = 1;
    for (int d = 0; d < rank; d++) {
        int64_t o = 1;
        for (int k = 0; k < nin; k++) {
            int src = d - (rank - ndims[k]);
            int64_t s = src >= 0 ? dims[k][src] : 1;
            size[k][d] = s;
            /* BCast: sizes must agree unless one of them is 1. */
            if (s == 1) continue;
            if (o == 1) o = s;
            else if (s != o) return false;
        }
        b->out_dims[d] = o;
        if (o != 0 && b->out_numel > INT64_MAX / o) b->out_numel = INT64_MAX;
        else b->out_numel *= o;
    }

    /* Collapse: a size-1 output dimension iterates nothing; neighbours that
     * every input treats alike (present or broadcast) merge into one. */
    int nd = 0;
    for (int d = 0; d < rank; d++) {
        if (b->out_dims[d] == 1) continue;
        unsigned m = 0;
        for (int k = 0; k < nin; k++)
            if (size[k][d] != 1) m |= 1u << k;
        if (nd > 0 && mask[nd - 1] == m) {
            b->dims[nd - 1] *= b->out_dims[d];
        } else {
            b->dims[nd] = b->out_dims[d];
            mask[nd] = m;
            nd++;
        }
    }
    if (nd == 0) {
        b->dims[0] = 1;
        mask[0] = 0;
        nd = 1;
    }
    b->ndim = nd;
    for (int k = 0; k < nin; k++) {
        int64_t st = 1;
        for (int d = nd - 1; d >= 0; d--) {
            if (mask[d] & (1u << k)) {
                b->strides[k][d] = st;
                st *= b->dims[d];
            } else {
                b->strides[k][d] = 0;
            }
        }
    }
    return true;
}

bool el_bcast_tensors(el_bcast *b, int nin, const el_tensor *const *ts)
{
    int ndims[EL_BCAST_MAX_IN];
    const int64_t *dims[EL_BCAST_MAX_IN];
    if (nin < 1 || nin > EL_BCAST_MAX_IN) return false;
    for (int k = 0; k < nin; k++) {
        ndims[k] = ts[k]->ndim;
        dims[k] = ts[k]->dims;
    }
    return el_bcast_init(b, nin, ndims, dims);
}

int el_bcast_run(const el_bcast *b, void *out, size_t out_es, const void *const *in, const size_t *in_es,
                 el_bcast_row_fn row, void *ctx)
{
    if (b->out_numel == 0) return 0;
    const int nd = b->ndim;
    const int64_t n = b->dims[nd - 1];
    const int64_t rows = b->out_numel / n;
    int unit[EL_BCAST_MAX_IN];
    int64_t off[EL_BCAST_MAX_IN] = {0};
    int64_t idx[EL_MAX_DIMS] = {0};
    const void *p[EL_BCAST_MAX_IN];
    char *o = out;

    /* The innermost collapsed stride is 1 for an input that has that
     * dimension; a single-element row reads index 0 whatever the stride. */
    for (int k = 0; k < b->nin; k++) unit[k] = n == 1 || b->strides[k][nd - 1] != 0;
    for (int64_t r = 0; r < rows; r++) {
        for (int k = 0; k < b->nin; k++) p[k] = (const char *)in[k] + off[k] * (int64_t)in_es[k];
        int rc = row(ctx, o, p, unit, n);
        if (rc) return rc;
        o += n * (int64_t)out_es;
        for (int d = nd - 2; d >= 0; d--) {
            for (int k = 0; k < b->nin; k++) off[k] += b->strides[k][d];
            if (++idx[d] < b->dims[d]) break;
            for (int k = 0; k < b->nin; k++) off[k] -= b->strides[k][d] * b->dims[d];
            idx[d] = 0;
        }
    }
    return 0;
}

void el_fill_elems(void *dst, const void *elem, size_t es, int64_t n)
{
    if (n <= 0 || es == 0) return;
    size_t total = (size_t)n * es;
    size_t done = es;
    memcpy(dst, elem, es);
    /* Doubling copies: log2(n) memcpy calls whatever the element size. */
    while (done < total) {
        size_t c = done < total - done ? done : total - done;
        memcpy((char *)dst + done, dst, c);
        done += c;
    }
}
