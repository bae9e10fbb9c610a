/* A batch of two images through the shared voc graph gives, for each
 * image, the bits a batch of one gives: the OD API's map_fn loops
 * (Preprocessor resize, BatchMultiClassNonMaxSuppression) then run a second
 * live iteration, where a cond's Merge inside the body once fired dead on
 * its first input (exec/plan.c), and the dead wave after the last one is
 * skipped (exec/run.c). At 1 and 2 threads. Skips where ../shared is
 * absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "testutil.h"

enum { EL_NOUT = 4 };
static const char *const el_fetches[EL_NOUT] = {"detection_boxes", "detection_scores", "detection_classes",
                                                "num_detections"};

/* A deterministic uint8 picture with some structure (gradients, a bright
 * block) so that the detector's scores differ between the two. */
static void el_picture(uint8_t *p, int64_t h, int64_t w, int seed)
{
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int v = (int)((x * (3 + seed) + y * (5 + c) + seed * 71) % 256);
                if (y > h / 4 && y < h / 2 && x > w / 3 && x < w / 2 + seed * 7) v = 255 - v / 4;
                p[(y * w + x) * 3 + c] = (uint8_t)v;
            }
}

static void el_run(el_session *s, const el_tensor *in, el_tensor out[EL_NOUT])
{
    if (el_session_run(s, in, out) != EL_OK) fail_msg("%s", el_last_error());
}

static void el_batch_check(const char *model_dir, int64_t h, int64_t w, int threads)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/frozen_inference_graph.pb", model_dir);
    el_graph *g;
    if (el_graph_load(path, &g) != EL_OK) fail_msg("%s", el_last_error());
    const char *feeds[1] = {"image_tensor"};
    el_session_opts o = {.threads = threads};
    el_session *s;
    if (el_session_create(g, 1, feeds, EL_NOUT, el_fetches, &o, &s) != EL_OK) fail_msg("%s", el_last_error());
    const int64_t d2[4] = {2, h, w, 3}, d1[4] = {1, h, w, 3};
    el_tensor two, one[2];
    assert_int_equal(el_tensor_alloc(&two, EL_DT_UINT8, 4, d2), EL_OK);
    const size_t img = (size_t)(h * w * 3);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(el_tensor_alloc(&one[i], EL_DT_UINT8, 4, d1), EL_OK);
        el_picture(one[i].data, h, w, i);
        memcpy((uint8_t *)two.data + i * img, one[i].data, img);
    }
    el_tensor ob[EL_NOUT], o1[2][EL_NOUT];
    el_run(s, &two, ob);
    for (int i = 0; i < 2; i++) el_run(s, &one[i], o1[i]);
    for (int k = 0; k < EL_NOUT; k++) {
        assert_int_equal(ob[k].dims[0], 2);
        const size_t each = el_tensor_nbytes(&ob[k]) / 2;
        assert_int_equal(el_tensor_nbytes(&o1[0][k]), each);
        for (int i = 0; i < 2; i++)
            if (memcmp((const char *)ob[k].data + i * each, o1[i][k].data, each))
                fail_msg("%s, %d threads: %s of image %d differs in a batch of 2", model_dir, threads, el_fetches[k], i);
    }
    /* The two images are told apart (else the check above proves little). */
    assert_true(memcmp(o1[0][1].data, o1[1][1].data, el_tensor_nbytes(&o1[0][1])) != 0);
    for (int k = 0; k < EL_NOUT; k++) {
        el_tensor_release(&ob[k]);
        for (int i = 0; i < 2; i++) el_tensor_release(&o1[i][k]);
    }
    el_tensor_release(&two);
    el_tensor_release(&one[0]);
    el_tensor_release(&one[1]);
    el_session_free(s);
    el_graph_free(g);
}

static void el_model(const char *rel, int64_t h, int64_t w)
{
    char dir[1024];
    if (!el_test_shared(rel, dir, sizeof dir)) skip();
    el_batch_check(dir, h, w, 1);
    el_batch_check(dir, h, w, 2);
}

/* voc's input is [-1, -1, -1, 3]. (aiy's export fixed a batch of 1: its
 * TensorArray scatter takes one index, in TensorFlow too.) */
static void test_voc(void **state)
{
    (void)state;
    el_model("models/ssd_mobilenet_v1_voc", 180, 240);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
