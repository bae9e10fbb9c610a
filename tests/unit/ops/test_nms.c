/* NonMaxSuppression V1..V5: TF's cluster cases, ties, threshold equality,
 * flipped corners, zero-area boxes, max_output_size 0, V4 padding, V5
 * soft-NMS. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_fast.h"

/* TF's three-cluster case: two clusters of three overlapping boxes and a
 * lone one; NMS at 0.5 keeps the best of each: [3, 0, 5]. */
static const float el_clusters[6][4] = {{0, 0, 1, 1},   {0, 0.1f, 1, 1.1f},  {0, -0.1f, 1, 0.9f},
                                         {0, 10, 1, 11}, {0, 10.1f, 1, 11.1f}, {0, 100, 1, 101}};
static const float el_cluster_scores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

typedef struct nms_args {
    int version;
    int n;
    const float (*boxes)[4];
    const float *scores;
    int max_out;
    float iou, score_thr, sigma;
    bool pad;
} nms_args;

/* Runs NMS and checks the selected indices (and V5 scores, V4/V5 count). */
static void el_nms_check(const nms_args *a, int nwant, const int32_t *want, const float *want_scores, int valid)
{
    int64_t bd[2] = {a->n, 4}, sd[1] = {a->n};
    el_tensor in[6];
    int nin = 0;
    in[nin++] = el_test_f32(2, bd, &a->boxes[0][0]);
    in[nin++] = el_test_f32(1, sd, a->scores);
    int32_t mo = a->max_out;
    in[nin++] = el_test_i32(0, NULL, &mo);
    if (a->version >= 2) in[nin++] = el_test_f32(0, NULL, &a->iou);
    if (a->version >= 3) in[nin++] = el_test_f32(0, NULL, &a->score_thr);
    if (a->version >= 5) in[nin++] = el_test_f32(0, NULL, &a->sigma);
    static const char *const ops[6] = {"", "NonMaxSuppression", "NonMaxSuppressionV2", "NonMaxSuppressionV3",
                                       "NonMaxSuppressionV4", "NonMaxSuppressionV5"};
    el_test_node tn;
    el_test_node_init(&tn, ops[a->version]);
    if (a->version == 1) el_test_attr_float(&tn, "iou_threshold", a->iou);
    if (a->version >= 4) el_test_attr_bool(&tn, "pad_to_max_output_size", a->pad);
    int nout = a->version == 5 ? 3 : a->version == 4 ? 2 : 1;
    el_tensor out[3];
    el_status s = el_test_run(&tn, nin, in, nout, out);
    if (s != EL_OK) fail_msg("NMS failed: %s", el_last_error());
    assert_int_equal(out[0].dtype, EL_DT_INT32);
    assert_int_equal(out[0].ndim, 1);
    assert_int_equal(out[0].dims[0], nwant);
    for (int i = 0; i < nwant; i++)
        if (((int32_t *)out[0].data)[i] != want[i])
            fail_msg("index %d: got %d, want %d", i, ((int32_t *)out[0].data)[i], want[i]);
    if (a->version == 5) el_test_assert_f32(&out[1], want_scores, nwant, 0);
    if (a->version >= 4) {
        el_tensor *v = &out[nout - 1];
        assert_int_equal(v->dtype, EL_DT_INT32);
        assert_int_equal(v->ndim, 0);
        assert_int_equal(*(int32_t *)v->data, valid);
    }
    el_test_release_all(nout, out);
    el_test_release_all(nin, in);
}

static void test_clusters_all_versions(void **state)
{
    (void)state;
    int32_t want[3] = {3, 0, 5};
    for (int v = 1; v <= 5; v++) {
        nms_args a = {v, 6, el_clusters, el_cluster_scores, 3, 0.5f, -INFINITY, 0, false};
        float ws[3] = {0.95f, 0.9f, 0.3f};
        el_nms_check(&a, 3, want, ws, 3);
        /* More room than survivors: still three. */
        a.max_out = 30;
        el_nms_check(&a, 3, want, ws, 3);
        /* At most two. */
        a.max_out = 2;
        el_nms_check(&a, 2, want, ws, 2);
        /* max_output_size 0: nothing. */
        a.max_out = 0;
        el_nms_check(&a, 0, want, ws, 0);
    }
}

static void test_flipped_corners(void **state)
{
    (void)state;
    /* The same boxes given by other corner pairs. */
    static const float flipped[6][4] = {{1, 1, 0, 0},   {0, 0.1f, 1, 1.1f},  {0, 0.9f, 1, -0.1f},
                                        {0, 10, 1, 11}, {1, 10.1f, 0, 11.1f}, {1, 101, 0, 100}};
    nms_args a = {3, 6, flipped, el_cluster_scores, 3, 0.5f, 0.0f, 0, false};
    int32_t want[3] = {3, 0, 5};
    el_nms_check(&a, 3, want, NULL, 0);
}

static void test_ties_lower_index_first(void **state)
{
    (void)state;
    /* Disjoint boxes, equal scores: index order. */
    static const float disjoint[4][4] = {{0, 0, 1, 1}, {0, 2, 1, 3}, {0, 4, 1, 5}, {0, 6, 1, 7}};
    float eq[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    nms_args a = {2, 4, disjoint, eq, 10, 0.5f, 0, 0, false};
    int32_t want[4] = {0, 1, 2, 3};
    el_nms_check(&a, 4, want, NULL, 0);
    float mixed[4] = {0.5f, 0.9f, 0.5f, 0.9f};
    a.scores = mixed;
    int32_t want2[4] = {1, 3, 0, 2};
    el_nms_check(&a, 4, want2, NULL, 0);
    /* Identical boxes, equal scores: the lower index survives. */
    static const float same[3][4] = {{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, 1, 1}};
    float eq3[3] = {0.7f, 0.8f, 0.8f};
    nms_args b = {3, 3, same, eq3, 10, 0.5f, 0.0f, 0, false};
    int32_t want3[1] = {1};
    el_nms_check(&b, 1, want3, NULL, 0);
}

static void test_threshold_equality(void **state)
{
    (void)state;
    /* IoU exactly 0.5 (intersection 1, union 2): kept at 0.5 (suppression
     * needs IoU > threshold), dropped just below. */
    static const float two[2][4] = {{0, 0, 1, 1}, {0, 0, 1, 2}};
    float sc[2] = {0.9f, 0.8f};
    nms_args a = {2, 2, two, sc, 10, 0.5f, 0, 0, false};
    int32_t both[2] = {0, 1}, first[1] = {0};
    el_nms_check(&a, 2, both, NULL, 0);
    a.iou = 0.49f;
    el_nms_check(&a, 1, first, NULL, 0);
    /* iou_threshold 0: any overlap suppresses, touching boxes do not. */
    static const float touch[2][4] = {{0, 0, 1, 1}, {0, 1, 1, 2}};
    a.boxes = touch;
    a.iou = 0.0f;
    el_nms_check(&a, 2, both, NULL, 0);

    /* score_threshold: a score equal to it is out (score > threshold). */
    static const float disjoint[3][4] = {{0, 0, 1, 1}, {0, 2, 1, 3}, {0, 4, 1, 5}};
    float s3[3] = {0.3f, 0.6f, 0.2f};
    nms_args b = {3, 3, disjoint, s3, 10, 0.5f, 0.3f, 0, false};
    int32_t want[1] = {1};
    el_nms_check(&b, 1, want, NULL, 0);
    b.score_thr = 0.29f;
    int32_t want2[2] = {1, 0};
    el_nms_check(&b, 2, want2, NULL, 0);
}

static void test_zero_area_boxes(void **state)
{
    (void)state;
    /* Zero-area boxes have IoU 0 with everything: never suppress or get
     * suppressed, even when identical. */
    static const float boxes[4][4] = {{0, 0, 0, 1}, {0, 0, 0, 1}, {0, 0, 1, 1}, {0.5f, 0.5f, 0.5f, 0.5f}};
    float sc[4] = {0.9f, 0.8f, 0.7f, 0.6f};
    nms_args a = {3, 4, boxes, sc, 10, 0.1f, 0.0f, 0, false};
    int32_t want[4] = {0, 1, 2, 3};
    el_nms_check(&a, 4, want, NULL, 0);
}

static void test_v4_padding(void **state)
{
    (void)state;
    nms_args a = {4, 6, el_clusters, el_cluster_scores, 5, 0.5f, 0.0f, 0, true};
    int32_t padded[5] = {3, 0, 5, 0, 0};
    el_nms_check(&a, 5, padded, NULL, 3);
    a.pad = false;
    el_nms_check(&a, 3, padded, NULL, 3);
    /* Padding goes to max_output_size even beyond the number of boxes. */
    a.pad = true;
    a.max_out = 8;
    int32_t padded8[8] = {3, 0, 5, 0, 0, 0, 0, 0};
    el_nms_check(&a, 8, padded8, NULL, 3);
    /* V5 pads the scores with zeros too. */
    nms_args b = {5, 6, el_clusters, el_cluster_scores, 4, 0.5f, 0.0f, 0, true};
    float ws[4] = {0.95f, 0.9f, 0.3f, 0};
    int32_t p4[4] = {3, 0, 5, 0};
    el_nms_check(&b, 4, p4, ws, 3);
}

static void test_v5_soft_nms(void **state)
{
    (void)state;
    /* Boxes 0 and 1 overlap with IoU 0.5, box 2 is apart. sigma 0.5:
     * weight exp(-0.5 * 0.25 / 0.5) = exp(-0.25). Box 1 decays to
     * 0.8 * exp(-0.25) = 0.623 < 0.7, goes back in the queue, and comes
     * out after box 2. iou_threshold is ignored in soft mode. */
    static const float boxes[3][4] = {{0, 0, 1, 1}, {0, 0, 1, 2}, {5, 5, 6, 6}};
    float sc[3] = {0.9f, 0.8f, 0.7f};
    float decayed = 0.8f * expf(-0.5f / 0.5f * 0.5f * 0.5f);
    nms_args a = {5, 3, boxes, sc, 10, 0.1f, 0.0f, 0.5f, false};
    int32_t want[3] = {0, 2, 1};
    float ws[3] = {0.9f, 0.7f, decayed};
    el_nms_check(&a, 3, want, ws, 3);
    /* The decayed score falls to the score threshold: dropped. */
    a.score_thr = decayed;
    int32_t want2[2] = {0, 2};
    el_nms_check(&a, 2, want2, ws, 2);
    /* sigma 0 is hard NMS: box 1 suppressed at iou_threshold 0.4. */
    a.score_thr = 0.0f;
    a.sigma = 0.0f;
    a.iou = 0.4f;
    float ws2[2] = {0.9f, 0.7f};
    el_nms_check(&a, 2, want2, ws2, 2);
}

/* IoU restated from TF's definition (corners in any order). */
static float el_ref_iou(const float *a, const float *b)
{
    float ay0 = fminf(a[0], a[2]), ay1 = fmaxf(a[0], a[2]), ax0 = fminf(a[1], a[3]), ax1 = fmaxf(a[1], a[3]);
    float by0 = fminf(b[0], b[2]), by1 = fmaxf(b[0], b[2]), bx0 = fminf(b[1], b[3]), bx1 = fmaxf(b[1], b[3]);
    float aa = (ay1 - ay0) * (ax1 - ax0), ab = (by1 - by0) * (bx1 - bx0);
    if (aa <= 0 || ab <= 0) return 0;
    float ih = fmaxf(fminf(ay1, by1) - fmaxf(ay0, by0), 0), iw = fmaxf(fminf(ax1, bx1) - fmaxf(ax0, bx0), 0);
    return ih * iw / (aa + ab - ih * iw);
}

static void test_random_vs_greedy(void **state)
{
    (void)state;
    /* Many boxes with scores on a coarse grid (lots of ties): the kernel's
     * heap must give the same answer as a stable sort + greedy pass. */
    enum { N = 300 };
    static float boxes[N][4];
    float scores[N];
    int32_t order[N], want[N];
    uint32_t r = 777;
    for (int it = 0; it < 20; it++) {
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < 4; j++) {
                r = r * 1664525u + 1013904223u;
                boxes[i][j] = (float)((r >> 10) % 1000) / 100.0f;
            }
            r = r * 1664525u + 1013904223u;
            scores[i] = (float)((r >> 12) % 16) / 16.0f;
            order[i] = i;
        }
        /* insertion sort: score descending, index ascending */
        for (int i = 1; i < N; i++) {
            int32_t v = order[i];
            int j = i - 1;
            while (j >= 0 && scores[order[j]] < scores[v]) {
                order[j + 1] = order[j];
                j--;
            }
            order[j + 1] = v;
        }
        float thr = 0.05f * (float)(it % 10), sthr = it % 2 ? 0.25f : -1.0f;
        int max_out = it % 3 == 0 ? 7 : N;
        int nw = 0;
        for (int i = 0; i < N && nw < max_out; i++) {
            int c = order[i];
            if (!(scores[c] > sthr)) continue;
            bool keep = true;
            for (int j = 0; j < nw && keep; j++) keep = !(el_ref_iou(boxes[c], boxes[want[j]]) > thr);
            if (keep) want[nw++] = c;
        }
        nms_args a = {3, N, (const float(*)[4])boxes, scores, max_out, thr, sthr, 0, false};
        el_nms_check(&a, nw, want, NULL, 0);
    }
}

/* TF's loop restated as plainly as possible (non_max_suppression_op.cc):
 * the queue is a linear scan for the best candidate, IoU uses std::min /
 * std::max (NaN behaviour included) and the weight function as TF does.
 * The oracle for the kernel's fast path (vector IoU, 64-bit key heap) and
 * its general loop. */
static float el_smin(float a, float b) { return b < a ? b : a; }
static float el_smax(float a, float b) { return a < b ? b : a; }
static float el_tf_iou(const float *a, const float *b)
{
    float ymin_i = el_smin(a[0], a[2]), xmin_i = el_smin(a[1], a[3]), ymax_i = el_smax(a[0], a[2]),
          xmax_i = el_smax(a[1], a[3]);
    float ymin_j = el_smin(b[0], b[2]), xmin_j = el_smin(b[1], b[3]), ymax_j = el_smax(b[0], b[2]),
          xmax_j = el_smax(b[1], b[3]);
    float area_i = (ymax_i - ymin_i) * (xmax_i - xmin_i), area_j = (ymax_j - ymin_j) * (xmax_j - xmin_j);
    if (area_i <= 0 || area_j <= 0) return 0.0f;
    float iy0 = el_smax(ymin_i, ymin_j), ix0 = el_smax(xmin_i, xmin_j);
    float iy1 = el_smin(ymax_i, ymax_j), ix1 = el_smin(xmax_i, xmax_j);
    float inter = el_smax(iy1 - iy0, 0.0f) * el_smax(ix1 - ix0, 0.0f);
    return inter / (area_i + area_j - inter);
}

static int el_tf_nms(int n, const float (*boxes)[4], const float *scores, int max_out, float iou_thr, float score_thr,
                     float sigma, int32_t *sel, float *sel_scores)
{
    struct cand { int idx; float score; int begin; } *q = malloc(sizeof *q * (size_t)n);
    int nq = 0, nsel = 0;
    for (int i = 0; i < n; i++)
        if (scores[i] > score_thr) q[nq++] = (struct cand){i, scores[i], 0};
    const bool soft = sigma > 0;
    const float scale = soft ? -0.5f / sigma : 0.0f;
    while (nsel < max_out && nq > 0) {
        int best = 0;
        for (int k = 1; k < nq; k++)
            if (q[k].score > q[best].score || (q[k].score == q[best].score && q[k].idx < q[best].idx)) best = k;
        struct cand c = q[best];
        q[best] = q[--nq];
        const float original = c.score;
        bool hard = false;
        for (int j = nsel - 1; j >= c.begin; j--) {
            float sim = el_tf_iou(boxes[c.idx], boxes[sel[j]]);
            float w = expf(scale * sim * sim);
            c.score *= soft || sim <= iou_thr ? w : 0.0f;
            if (!soft && sim > iou_thr) {
                hard = true;
                break;
            }
            if (c.score <= score_thr) break;
        }
        c.begin = nsel;
        if (hard) continue;
        if (c.score == original) {
            sel_scores[nsel] = c.score;
            sel[nsel++] = c.idx;
        } else if (c.score > score_thr) {
            q[nq++] = c;
        }
    }
    free(q);
    return nsel;
}

static uint32_t el_rnd_state = 12345;
static uint32_t el_rnd(void)
{
    el_rnd_state = el_rnd_state * 1664525u + 1013904223u;
    return el_rnd_state >> 8;
}

static void test_random_vs_tf_loop(void **state)
{
    (void)state;
    /* Up to 400 boxes: many selected (several vector blocks), many ties,
     * identical and zero-area boxes, -0.0 scores, and in some rounds NaN,
     * infinite or huge coordinates (areas overflowing to inf: NaN IoUs),
     * which must take TF's general loop; V3 and V5 (soft) alike. */
    enum { N = 400 };
    static float boxes[N][4];
    static float scores[N], want_sc[N];
    static int32_t want[N];
    for (int it = 0; it < 120; it++) {
        const int n = 1 + (int)(el_rnd() % N);
        const int kind = it % 6;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 4; j++) boxes[i][j] = (float)(el_rnd() % 200) / 10.0f;
            if (el_rnd() % 8 == 0 && i > 0) memcpy(boxes[i], boxes[el_rnd() % (uint32_t)i], sizeof boxes[i]);
            if (kind == 4 && el_rnd() % 40 == 0) {
                const uint32_t k = el_rnd() % 4;
                boxes[i][k] = el_rnd() % 2 ? NAN : INFINITY;
            }
            if (kind == 5 && el_rnd() % 20 == 0) {
                boxes[i][0] = -3e38f;
                boxes[i][2] = 3e38f;
                boxes[i][1] = 0;
                boxes[i][3] = 2;
            }
            uint32_t q = el_rnd() % 33;
            scores[i] = q == 32 ? -0.0f : (float)q / 16.0f - 0.5f;
        }
        const float iou = (float)(el_rnd() % 11) / 10.0f;
        const float sthr = kind == 1 ? 0.0f : kind == 2 ? 0.25f : -3.40282347e38f;
        const int max_out = el_rnd() % 4 == 0 ? (int)(el_rnd() % 40) : n + 5;
        for (int v = 3; v <= 5; v += 2) {
            const float sigma = v == 5 && it % 2 ? 0.3f : 0.0f;
            int nw = el_tf_nms(n, (const float(*)[4])boxes, scores, max_out, iou, sthr, sigma, want, want_sc);
            nms_args a = {v, n, (const float(*)[4])boxes, scores, max_out, iou, sthr, sigma, false};
            el_nms_check(&a, nw, want, want_sc, nw);
        }
    }
}

/* Thousands of boxes, as in the OD API (1917 per class): the fast path then
 * takes candidates in batches above a threshold sampled from every 32nd key.
 * Scores spread over many octaves, low exactly at the sampled boxes (the
 * first batch is then most keys), or with many ties across
 * batch borders; few or all boxes wanted (many batches); a score threshold
 * that drops some. */
static void test_many_boxes_in_batches(void **state)
{
    (void)state;
    enum { N = 2500 };
    static float boxes[N][4];
    static float scores[N], want_sc[N];
    static int32_t want[N];
    /* The portable loops (forced), then the CPU's (AVX-512: compress-store
     * batches, vector IoU blocks). */
    for (int it = 0; it < 24; it++) {
        el_conv_force_isa(it < 12 ? EL_ISA_REF : -1);
        const int n = it % 2 ? N : 1917;
        const int kind = it % 3;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 4; j++) boxes[i][j] = (float)(el_rnd() % 1000) / 1000.0f;
            const uint32_t q = el_rnd();
            scores[i] = kind == 0   ? ldexpf((float)(q % 1024 + 1) / 1024.0f, -(int)(q % 20))
                        : kind == 1 ? (i % 8 ? 0.5f : 0.0f) + (float)(q % 64) / 1024.0f
                                    : (float)(q % 50) / 64.0f;
        }
        const float iou = it % 4 < 2 ? 0.6f : 0.3f;
        const float sthr = it % 4 == 3 ? 0.1f : 1e-8f;
        const int max_out = it % 12 < 6 ? 100 : n;
        int nw = el_tf_nms(n, (const float(*)[4])boxes, scores, max_out, iou, sthr, 0.0f, want, want_sc);
        nms_args a = {3, n, (const float(*)[4])boxes, scores, max_out, iou, sthr, 0.0f, false};
        el_nms_check(&a, nw, want, NULL, 0);
    }
    el_conv_force_isa(-1);
}

/* The sorted batches (AVX-512: a batch of up to 256 keys is ranked at once
 * instead of heaped) at their edges, under both ISAs against TF's loop:
 * batch sizes around a vector (16) and around the sort's bound (256 keys,
 * a larger unsplit queue is heaped), the OD API's 1917 boxes (split into
 * batches); scores all equal, on a coarse grid (ties across vectors),
 * with NaN (never a candidate), +-inf and -0.0 / +0.0; boxes all the same
 * (one kept), disjoint (all kept) or random; max_output 0, 1 or all. */
static void test_sorted_batches(void **state)
{
    (void)state;
    enum { N = 1917 };
    static float boxes[N][4];
    static float scores[N], want_sc[N];
    static int32_t want[N];
    static const int sizes[] = {1, 15, 16, 17, 31, 255, 256, 257, 300, 600, N};
    for (int isa = 0; isa < 2; isa++) {
        el_conv_force_isa(isa ? -1 : EL_ISA_REF);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            const int n = sizes[si];
            for (int kind = 0; kind < 12; kind++) {
                const int skind = kind % 4, bkind = kind / 4;
                for (int i = 0; i < n; i++) {
                    const uint32_t q = el_rnd();
                    scores[i] = skind == 0   ? 0.5f
                                : skind == 1 ? (float)(q % 5) / 4.0f
                                : skind == 2 ? (q % 16 == 0   ? NAN
                                                : q % 16 == 1 ? INFINITY
                                                : q % 16 == 2 ? -INFINITY
                                                : q % 16 == 3 ? -0.0f
                                                : q % 16 == 4 ? 0.0f
                                                              : (float)(q % 977) / 977.0f)
                                             : ldexpf((float)(q % 1024 + 1), -(int)(q % 30));
                    const float y = (float)(i / 64), x = (float)(i % 64);
                    const float r[4] = {(float)(el_rnd() % 1000) / 100.0f, (float)(el_rnd() % 1000) / 100.0f,
                                        (float)(el_rnd() % 1000) / 100.0f, (float)(el_rnd() % 1000) / 100.0f};
                    const float same[4] = {0.1f, 0.2f, 0.7f, 0.9f}, apart[4] = {2 * y, 2 * x, 2 * y + 1, 2 * x + 1};
                    memcpy(boxes[i], bkind == 0 ? same : bkind == 1 ? apart : r, sizeof boxes[i]);
                }
                const float sthr = skind == 2 ? -INFINITY : -3.40282347e38f;
                for (int mo = 0; mo < 3; mo++) {
                    const int max_out = mo == 0 ? 0 : mo == 1 ? 1 : n;
                    int nw = el_tf_nms(n, (const float(*)[4])boxes, scores, max_out, 0.5f, sthr, 0.0f, want, want_sc);
                    nms_args a = {3, n, (const float(*)[4])boxes, scores, max_out, 0.5f, sthr, 0.0f, false};
                    el_nms_check(&a, nw, want, NULL, 0);
                }
            }
        }
    }
    el_conv_force_isa(-1);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t bd[2] = {2, 4}, sd[1] = {2}, bad_bd[2] = {2, 3};
    float b[8] = {0, 0, 1, 1, 0, 0, 1, 1}, s[2] = {1, 1};
    int32_t mo = 1, neg = -1;
    float iou = 1.5f, half = 0.5f;
    el_tensor in[4] = {el_test_f32(2, bd, b), el_test_f32(1, sd, s), el_test_i32(0, NULL, &mo), el_test_f32(0, NULL, &iou)};
    el_test_node tn;
    el_test_node_init(&tn, "NonMaxSuppressionV2");
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 4, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "iou_threshold"));
    el_test_release_all(1, out);
    *(float *)in[3].data = half;
    *(int32_t *)in[2].data = neg;
    assert_int_equal(el_test_run(&tn, 4, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "non-negative"));
    el_test_release_all(1, out);
    *(int32_t *)in[2].data = mo;
    el_tensor_release(&in[0]);
    in[0] = el_test_f32(2, bad_bd, b);
    assert_int_equal(el_test_run(&tn, 4, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "4 columns"));
    el_test_release_all(1, out);
    el_tensor_release(&in[0]);
    in[0] = el_test_f32(2, bd, b);
    int64_t three[1] = {3};
    el_tensor_release(&in[1]);
    in[1] = el_test_f32(1, three, NULL);
    assert_int_equal(el_test_run(&tn, 4, in, 1, out), EL_ERR_RUNTIME);
    el_test_release_all(1, out);
    el_test_node_init(&tn, "NonMaxSuppressionV3");
    assert_int_equal(el_test_run(&tn, 4, in, 1, out), EL_ERR_FORMAT); /* 5 inputs needed */
    el_test_release_all(1, out);
    el_test_release_all(4, in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clusters_all_versions),
        cmocka_unit_test(test_flipped_corners),
        cmocka_unit_test(test_ties_lower_index_first),
        cmocka_unit_test(test_threshold_equality),
        cmocka_unit_test(test_zero_area_boxes),
        cmocka_unit_test(test_v4_padding),
        cmocka_unit_test(test_v5_soft_nms),
        cmocka_unit_test(test_random_vs_greedy),
        cmocka_unit_test(test_random_vs_tf_loop),
        cmocka_unit_test(test_many_boxes_in_batches),
        cmocka_unit_test(test_sorted_batches),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
