/* The per-class NMS fusion (graph/fuse_nms.c) on the three real TF1 OD API
 * layouts: the AIY graph (NonMaxSuppressionV2, Gather, 3 classes), the VOC
 * graph (V3, GatherV2, 20 classes) and the generated full-size COCO graph
 * (90 classes). Each is fused, its NMS gets a top (graph/nms_top.c: only
 * the 100 best rows are read), and its Postprocessor, fed what the graph's
 * own front computes on real photos, gives the unoptimized graph's bits at
 * 1 and 2 threads (the Postprocessor's other passes keep the bits too).
 * Skips the graphs and photos that are absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "edgelens/image.h"
#include "graph/graph.h"
#include "graph/optimize.h"
#include "testutil.h"

#define EL_MID_MAX 16

/* The tensors entering the Postprocessor: data inputs of its nodes that
 * come from non-constant nodes outside it. */
static int el_post_inputs(const el_graph *g, char names[EL_MID_MAX][256], const char **list)
{
    static const char prefix[] = "Postprocessor/";
    const size_t pl = strlen(prefix);
    int n = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const el_node *nd = &g->nodes[i];
        if (strncmp(nd->name, prefix, pl)) continue;
        for (int j = 0; j < nd->ndata; j++) {
            const el_node *src = &g->nodes[nd->inputs[j].node];
            if (!strcmp(src->op, "Const") || !strncmp(src->name, prefix, pl)) continue;
            char nm[256];
            snprintf(nm, sizeof nm, "%s:%d", src->name, nd->inputs[j].slot);
            int k = 0;
            while (k < n && strcmp(list[k], nm)) k++;
            if (k < n) continue;
            assert_true(n < EL_MID_MAX);
            snprintf(names[n], 256, "%s", nm);
            list[n] = names[n];
            n++;
        }
    }
    return n;
}

static const char *const el_outs[4] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};

static void el_check_graph(const char *path, int size)
{
    el_graph *g;
    assert_int_equal(el_graph_load(path, &g), EL_OK);
    static char names[EL_MID_MAX][256];
    const char *mid[EL_MID_MAX], *img_feed[1] = {"image_tensor"};
    const int nmid = el_post_inputs(g, names, mid);
    assert_true(nmid > 0);

    el_optimize_stats st;
    el_graph *og = NULL;
    assert_int_equal(el_graph_optimize(g, 1, img_feed, 4, el_outs, &st, &og), EL_OK);
    assert_int_equal(st.nms_fused, 1);
    assert_int_equal(st.nms_top, 1);
    el_graph_free(og);
    assert_int_equal(el_graph_optimize(g, nmid, mid, 4, el_outs, &st, &og), EL_OK);
    assert_int_equal(st.nms_fused, 1);
    assert_int_equal(st.nms_top, 1);
    el_graph_free(og);

    el_session_opts o1 = {.threads = 1}, o2 = {.threads = 2}, off = {.threads = 1, .no_optimize = 1};
    el_session *front, *fused1, *fused2, *plain;
    assert_int_equal(el_session_create(g, 1, img_feed, nmid, mid, &o1, &front), EL_OK);
    assert_int_equal(el_session_create(g, nmid, mid, 4, el_outs, &o1, &fused1), EL_OK);
    assert_int_equal(el_session_create(g, nmid, mid, 4, el_outs, &o2, &fused2), EL_OK);
    assert_int_equal(el_session_create(g, nmid, mid, 4, el_outs, &off, &plain), EL_OK);
    static const char *const photos[] = {"dog.jpg", "person.jpg", "horses.jpg", "kite.jpg", "eagle.jpg"};
    int checked = 0;
    for (size_t p = 0; p < sizeof photos / sizeof *photos; p++) {
        char rel[64], buf[512];
        snprintf(rel, sizeof rel, "darknet/%s", photos[p]);
        if (!el_test_data(rel, buf, sizeof buf)) continue;
        el_image img;
        assert_int_equal(el_image_load(buf, &img), EL_OK);
        if (size > 0) {
            el_image r;
            assert_int_equal(el_image_resize_bilinear(&img, size, size, &r), EL_OK);
            el_image_free(&img);
            img = r;
        }
        el_tensor in, m[EL_MID_MAX], want[4], got[4];
        const int64_t dims[4] = {1, img.height, img.width, 3};
        el_tensor_wrap(&in, EL_DT_UINT8, 4, dims, img.rgb);
        if (el_session_run(front, &in, m) != EL_OK) fail_msg("%s", el_last_error());
        if (el_session_run(plain, m, want) != EL_OK) fail_msg("%s", el_last_error());
        for (int t = 0; t < 2; t++) {
            if (el_session_run(t ? fused2 : fused1, m, got) != EL_OK) fail_msg("%s", el_last_error());
            for (int i = 0; i < 4; i++) {
                el_test_assert_shape(&got[i], want[i].ndim, want[i].dims);
                assert_memory_equal(got[i].data, want[i].data, el_tensor_nbytes(&want[i]));
            }
            el_test_release_all(4, got);
        }
        el_test_release_all(4, want);
        el_test_release_all(nmid, m);
        el_tensor_release(&in);
        el_image_free(&img);
        checked++;
    }
    el_session_free(front);
    el_session_free(fused1);
    el_session_free(fused2);
    el_session_free(plain);
    el_graph_free(g);
    if (checked == 0) skip();
}

static void test_aiy(void **state)
{
    (void)state;
    char buf[512];
    if (!el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog/frozen_inference_graph.pb", buf, sizeof buf)) skip();
    el_check_graph(buf, 256);
}

static void test_voc(void **state)
{
    (void)state;
    char buf[512];
    if (!el_test_shared("models/ssd_mobilenet_v1_voc/frozen_inference_graph.pb", buf, sizeof buf)) skip();
    el_check_graph(buf, 0);
}

static void test_coco(void **state)
{
    (void)state;
    char buf[512];
    if (!el_test_data("ssd_mobilenet_v1_coco_random/frozen_inference_graph.pb", buf, sizeof buf)) skip();
    el_check_graph(buf, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aiy),
        cmocka_unit_test(test_voc),
        cmocka_unit_test(test_coco),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
