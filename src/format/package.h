/* Model path resolution: one call that turns what a user points at (a model
 * directory, a frozen graph, or the DeepLens guide's tfmodel.tar.gz) into a
 * graph and, when there is one, a label map. TF.js graph models are
 * accepted wherever a frozen graph is. */
#ifndef EL_FORMAT_PACKAGE_H
#define EL_FORMAT_PACKAGE_H

#include "edgelens/engine.h"
#include "edgelens/labels.h"

/* Bounds on an archive: entries read (of any kind), size of the graph entry,
 * size of the label-map entry, sum of all declared entry sizes (what
 * decompressing to the end may cost). */
#define EL_PKG_MAX_ENTRIES 10000
#define EL_PKG_MAX_GRAPH ((int64_t)1 << 30)
#define EL_PKG_MAX_LABELS ((int64_t)16 << 20)
#define EL_PKG_MAX_TOTAL ((int64_t)8 << 30)

#define EL_PKG_GRAPH_NAME "frozen_inference_graph.pb"

/* Opens a model:
 *  - a TF.js graph model: a path ending in .json (model.json plus its weight
 *    shards, see format/tfjs.h), or a directory without
 *    frozen_inference_graph.pb holding model.json or exactly one other *.json
 *    graph model; labels as for a directory;
 *  - a directory: must hold frozen_inference_graph.pb; labels from
 *    labels_path if given, else from the directory's only *.pbtxt (none:
 *    *labels = NULL, not an error; several: an error listing them);
 *  - a .tar.gz / .tgz / .tar file (recognised by name or by the gzip magic),
 *    possibly with a top folder: read in memory with libarchive;
 *    frozen_inference_graph.pb is found at any depth (exactly one), the label
 *    map as the archive's only *.pbtxt (same rule as a directory) unless
 *    labels_path is given; directories, links and other non-regular entries
 *    are ignored; AppleDouble "._*" files are ignored;
 *  - any other file: a GraphDef .pb; labels from labels_path, else NULL.
 * labels may be NULL when the caller does not want a label map (none is
 * read). On success the caller owns *graph (el_graph_free) and *labels
 * (el_labels_free, may be NULL). On failure both are set to NULL and
 * nothing is leaked; the message names the path (and archive entry). */
el_status el_model_open(const char *path, const char *labels_path, el_graph **graph, el_labels **labels);

#endif
