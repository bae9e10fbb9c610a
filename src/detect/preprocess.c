/* Resizing an image into a float32 input batch without rounding, for heads
 * whose input is float RGB 0..255 (CenterNet): TF.js resizes the frame with
 * tf.image.resizeBilinear and feeds the float result as it is.
 *
 * The resize is TensorFlow's ResizeBilinear kernel itself, run as a
 * two-node graph (Placeholder image, Placeholder size -> ResizeBilinear,
 * align_corners and half_pixel_centers false) through a session: the
 * detect layer reaches kernels only through the engine, and this keeps the
 * interpolation rule in one place (ops/resize.c). The uint8 path (resize,
 * round, cast) is el_image_resize_bilinear, the same kernel. */
#include <stdlib.h>
#include <string.h>

#include "detect/preprocess.h"
#include "graph/graph.h"

static el_status el_prep_node(el_graph *g, int idx, const char *name, const char *op, int nin,
                              const char *const *inputs, int nattrs)
{
    el_node *n = &g->nodes[idx];
    EL_TRY(el_graph_strdup(g, name, strlen(name), &n->name));
    EL_TRY(el_graph_strdup(g, op, strlen(op), &n->op));
    n->ninputs = nin;
    if (nin) EL_TRY(el_graph_alloc(g, sizeof(char *) * (size_t)nin, &n->input_names));
    for (int i = 0; i < nin; i++) n->input_names[i] = inputs[i];
    if (nattrs) EL_TRY(el_graph_alloc(g, sizeof(el_attr) * (size_t)nattrs, &n->attrs));
    n->nattrs = nattrs;
    return EL_OK;
}

static el_status el_prep_build(el_graph *g)
{
    static const char *const resize_in[2] = {"image", "size"};
    g->nnodes = 3;
    EL_TRY(el_graph_alloc(g, sizeof(el_node) * 3, &g->nodes));
    EL_TRY(el_prep_node(g, 0, "image", "Placeholder", 0, NULL, 1));
    g->nodes[0].attrs[0] = (el_attr){.name = "dtype", .type = EL_ATTR_TYPE, .v.type = EL_DT_UINT8};
    EL_TRY(el_prep_node(g, 1, "size", "Placeholder", 0, NULL, 1));
    g->nodes[1].attrs[0] = (el_attr){.name = "dtype", .type = EL_ATTR_TYPE, .v.type = EL_DT_INT32};
    EL_TRY(el_prep_node(g, 2, "resize", "ResizeBilinear", 2, resize_in, 2));
    g->nodes[2].attrs[0] = (el_attr){.name = "align_corners", .type = EL_ATTR_B, .v.b = false};
    g->nodes[2].attrs[1] = (el_attr){.name = "half_pixel_centers", .type = EL_ATTR_B, .v.b = false};
    return el_graph_index(g);
}

el_status el_prep_init(el_prep *p)
{
    memset(p, 0, sizeof *p);
    el_status s = el_graph_new("edgelens float resize", &p->graph);
    if (s == EL_OK) s = el_prep_build(p->graph);
    const char *feeds[2] = {"image", "size"}, *fetches[1] = {"resize"};
    el_session_opts so = {.threads = 1};
    if (s == EL_OK) s = el_session_create(p->graph, 2, feeds, 1, fetches, &so, &p->session);
    if (s != EL_OK) el_prep_free(p);
    return s;
}

el_status el_prep_resize_f32(el_prep *p, const el_image *img, int width, int height, el_tensor *out)
{
    memset(out, 0, sizeof *out);
    if (!p->session) return el_error(EL_ERR_INVALID_ARG, "float resize used before el_prep_init");
    int64_t dims[4] = {1, img->height, img->width, 3}, two = 2;
    int32_t size[2] = {height, width};
    el_tensor in[2];
    EL_TRY(el_tensor_wrap(&in[0], EL_DT_UINT8, 4, dims, img->rgb));
    el_status s = el_tensor_wrap(&in[1], EL_DT_INT32, 1, &two, size);
    if (s == EL_OK) {
        s = el_session_run(p->session, in, out);
        el_tensor_release(&in[1]);
    }
    el_tensor_release(&in[0]);
    if (s != EL_OK) return el_error_prefix(s, "resizing the %dx%d image to %dx%d: ", img->width, img->height, width, height);
    return EL_OK;
}

void el_prep_free(el_prep *p)
{
    el_session_free(p->session);
    el_graph_free(p->graph);
    memset(p, 0, sizeof *p);
}
