/* el_model_open: directories, .pb files and tar.gz packages (built here with
 * libarchive's writer around a hand-encoded one-node GraphDef), including
 * hostile archives. */
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/package.h"
#include "graph/graph.h"

/* GraphDef { node { name: "c" op: "Const" attr { dtype: DT_FLOAT }
 * attr { value: tensor { dtype: DT_FLOAT float_val: 1.0 } } } } */
static const unsigned char tiny_graph[] = {
    0x0a, 0x2e,                                     /* GraphDef.node, 46 bytes */
    0x0a, 0x01, 'c',                                /* NodeDef.name */
    0x12, 0x05, 'C', 'o', 'n', 's', 't',            /* NodeDef.op */
    0x2a, 0x0b,                                     /* NodeDef.attr entry, 11 bytes */
    0x0a, 0x05, 'd', 't', 'y', 'p', 'e',            /*   key */
    0x12, 0x02, 0x30, 0x01,                         /*   AttrValue.type = DT_FLOAT */
    0x2a, 0x15,                                     /* NodeDef.attr entry, 21 bytes */
    0x0a, 0x05, 'v', 'a', 'l', 'u', 'e',            /*   key */
    0x12, 0x0c,                                     /*   AttrValue, 12 bytes */
    0x42, 0x0a,                                     /*     .tensor, 10 bytes */
    0x08, 0x01,                                     /*       dtype DT_FLOAT */
    0x12, 0x00,                                     /*       tensor_shape {} (scalar) */
    0x2a, 0x04, 0x00, 0x00, 0x80, 0x3f,             /*       float_val [1.0] packed */
};

static const char label_map[] = "item {\n  id: 1\n  name: 'person'\n}\n"
                                "item {\n  id: 2\n  name: '/m/0199g'\n  display_name: \"bicycle\"\n}\n";

static const char other_map[] = "item { id: 1 name: 'cat' }\n";

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return el_test_tmpdir(tmp, sizeof tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct entry {
    const char *name;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK */
    const void *data;
    size_t len;
    const char *link;
} entry;

/* Writes a gzip'ed ustar archive to tmp/<file>; returns its path. */
static const char *make_tgz(const char *file, const entry *e, int n, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmp, file);
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, (unsigned)e[i].type);
        archive_entry_set_perm(ae, e[i].type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_size(ae, e[i].type == AE_IFREG ? (la_int64_t)e[i].len : 0);
        if (e[i].link) archive_entry_set_symlink(ae, e[i].link);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].type == AE_IFREG && e[i].len)
            assert_int_equal(archive_write_data(a, e[i].data, e[i].len), (la_ssize_t)e[i].len);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return path;
}

#define FILE_ENTRY(n, buf, l) {n, AE_IFREG, buf, l, NULL}
#define GRAPH_ENTRY(n) FILE_ENTRY(n, tiny_graph, sizeof tiny_graph)
#define LABELS_ENTRY(n) FILE_ENTRY(n, label_map, sizeof label_map - 1)

static void assert_tiny_graph(const el_graph *g)
{
    assert_non_null(g);
    assert_int_equal(g->nnodes, 1);
    assert_string_equal(g->nodes[0].name, "c");
    assert_string_equal(g->nodes[0].op, "Const");
}

static void test_archive_with_top_folder(void **state)
{
    (void)state;
    char path[512];
    entry e[] = {
        {"tfmodel/", AE_IFDIR, NULL, 0, NULL},
        {"tfmodel/link.pbtxt", AE_IFLNK, NULL, 0, "/etc/passwd"}, /* ignored: not a regular file */
        FILE_ENTRY("tfmodel/README", "hello", 5),
        LABELS_ENTRY("tfmodel/mscoco_label_map.pbtxt"),
        FILE_ENTRY("tfmodel/._mscoco_label_map.pbtxt", "\0\5\26\7", 4), /* AppleDouble, ignored */
        GRAPH_ENTRY("tfmodel/frozen_inference_graph.pb"),
        FILE_ENTRY("tfmodel/saved_model/saved_model.pb", "x", 1), /* not the frozen graph */
    };
    make_tgz("tfmodel.tar.gz", e, (int)(sizeof e / sizeof e[0]), path, sizeof path);
    el_graph *g;
    el_labels *l;
    if (el_model_open(path, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_tiny_graph(g);
    assert_non_null(l);
    assert_string_equal(el_labels_name(l, 2), "bicycle");
    assert_string_equal(el_labels_name(l, 1), "person");
    assert_non_null(strstr(g->source, "tfmodel.tar.gz:tfmodel/frozen_inference_graph.pb"));
    el_graph_free(g);
    el_labels_free(l);

    /* Labels not wanted. */
    assert_int_equal(el_model_open(path, NULL, &g, NULL), EL_OK);
    assert_tiny_graph(g);
    el_graph_free(g);
}

static void test_archive_flat_without_labels(void **state)
{
    (void)state;
    char path[512];
    entry e[] = {GRAPH_ENTRY("frozen_inference_graph.pb")};
    /* A name without .tar.gz: recognised by the gzip magic. */
    make_tgz("model.bin", e, 1, path, sizeof path);
    el_graph *g;
    el_labels *l = (el_labels *)1;
    if (el_model_open(path, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_tiny_graph(g);
    assert_null(l);
    el_graph_free(g);
}

static void test_archive_without_graph(void **state)
{
    (void)state;
    char path[512];
    entry e[] = {LABELS_ENTRY("m/labels.pbtxt"), FILE_ENTRY("m/model.pb", tiny_graph, sizeof tiny_graph)};
    make_tgz("nograph.tgz", e, 2, path, sizeof path);
    el_graph *g = (el_graph *)1;
    el_labels *l = (el_labels *)1;
    assert_int_equal(el_model_open(path, NULL, &g, &l), EL_ERR_NOT_FOUND);
    assert_null(g);
    assert_null(l);
    assert_non_null(strstr(el_last_error(), "nograph.tgz"));
    assert_non_null(strstr(el_last_error(), "frozen_inference_graph.pb"));
}

static void test_archive_two_label_maps(void **state)
{
    (void)state;
    char path[512];
    entry e[] = {
        LABELS_ENTRY("m/b_labels.pbtxt"),
        GRAPH_ENTRY("m/frozen_inference_graph.pb"),
        FILE_ENTRY("m/a_labels.pbtxt", other_map, sizeof other_map - 1),
    };
    make_tgz("two.tar.gz", e, 3, path, sizeof path);
    el_graph *g;
    el_labels *l;
    assert_int_equal(el_model_open(path, NULL, &g, &l), EL_ERR_INVALID_ARG);
    assert_null(g);
    assert_non_null(strstr(el_last_error(), "m/b_labels.pbtxt"));
    assert_non_null(strstr(el_last_error(), "m/a_labels.pbtxt"));

    /* An explicit label map resolves it. */
    char lpath[512];
    snprintf(lpath, sizeof lpath, "%s/explicit.pbtxt", tmp);
    assert_int_equal(el_test_write_file(lpath, other_map, sizeof other_map - 1), 0);
    if (el_model_open(path, lpath, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_string_equal(el_labels_name(l, 1), "cat");
    el_graph_free(g);
    el_labels_free(l);
}

static void test_archive_hostile(void **state)
{
    (void)state;
    char path[512];
    entry e[] = {LABELS_ENTRY("m/labels.pbtxt"), GRAPH_ENTRY("m/frozen_inference_graph.pb")};
    make_tgz("good.tar.gz", e, 2, path, sizeof path);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 40);
    el_graph *g;
    el_labels *l;

    /* Truncated gzip, at several points. */
    size_t cuts[] = {n / 2, n - 8, 12, 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char cpath[512];
        snprintf(cpath, sizeof cpath, "%s/cut%zu.tar.gz", tmp, i);
        assert_int_equal(el_test_write_file(cpath, buf, cuts[i]), 0);
        el_status s = el_model_open(cpath, NULL, &g, &l);
        if (s == EL_OK) fail_msg("cut at %zu of %zu bytes was accepted", cuts[i], n);
        assert_null(g);
        assert_null(l);
        assert_non_null(strstr(el_last_error(), cpath));
    }

    /* Garbage with a .tar.gz name. */
    char gpath[512];
    snprintf(gpath, sizeof gpath, "%s/garbage.tar.gz", tmp);
    assert_int_equal(el_test_write_file(gpath, "this is not an archive at all", 29), 0);
    assert_int_equal(el_model_open(gpath, NULL, &g, &l), EL_ERR_FORMAT);

    /* Two graphs. */
    entry two[] = {GRAPH_ENTRY("a/frozen_inference_graph.pb"), GRAPH_ENTRY("b/frozen_inference_graph.pb")};
    make_tgz("twographs.tgz", two, 2, path, sizeof path);
    assert_int_equal(el_model_open(path, NULL, &g, &l), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "a/frozen_inference_graph.pb, b/frozen_inference_graph.pb"));

    /* A graph that is not a GraphDef: the parser's error names the entry. */
    entry bad[] = {FILE_ENTRY("m/frozen_inference_graph.pb", "\x0a\x7f\x01", 3)};
    make_tgz("badgraph.tgz", bad, 1, path, sizeof path);
    assert_int_not_equal(el_model_open(path, NULL, &g, &l), EL_OK);
    assert_null(g);
    assert_non_null(strstr(el_last_error(), "badgraph.tgz:m/frozen_inference_graph.pb"));

    /* A broken label map: no graph leaks, the error names the entry. */
    entry badl[] = {GRAPH_ENTRY("frozen_inference_graph.pb"), FILE_ENTRY("l.pbtxt", "item { id: ", 11)};
    make_tgz("badlabels.tgz", badl, 2, path, sizeof path);
    assert_int_not_equal(el_model_open(path, NULL, &g, &l), EL_OK);
    assert_null(g);
    assert_null(l);
    assert_non_null(strstr(el_last_error(), "badlabels.tgz:l.pbtxt"));
}

static void test_archive_too_many_entries(void **state)
{
    (void)state;
    int n = EL_PKG_MAX_ENTRIES + 1;
    entry *e = calloc((size_t)n, sizeof *e);
    char(*names)[32] = calloc((size_t)n, 32);
    assert_non_null(e);
    assert_non_null(names);
    for (int i = 0; i < n; i++) {
        snprintf(names[i], 32, "d/f%05d", i);
        e[i] = (entry){names[i], AE_IFREG, NULL, 0, NULL};
    }
    e[n - 1] = (entry)GRAPH_ENTRY("d/frozen_inference_graph.pb");
    char path[512];
    make_tgz("many.tgz", e, n, path, sizeof path);
    free(e);
    free(names);
    el_graph *g;
    assert_int_equal(el_model_open(path, NULL, &g, NULL), EL_ERR_LIMIT);
    assert_non_null(strstr(el_last_error(), "entries"));
}

static void test_directory(void **state)
{
    (void)state;
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/modeldir", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    el_graph *g;
    el_labels *l;

    /* No graph. */
    assert_int_equal(el_model_open(dir, NULL, &g, &l), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), "modeldir"));

    /* Graph only: labels NULL, no error. */
    snprintf(p, sizeof p, "%s/frozen_inference_graph.pb", dir);
    assert_int_equal(el_test_write_file(p, tiny_graph, sizeof tiny_graph), 0);
    if (el_model_open(dir, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_tiny_graph(g);
    assert_null(l);
    el_graph_free(g);

    /* One label map (plus an AppleDouble file). */
    snprintf(p, sizeof p, "%s/mscoco_label_map.pbtxt", dir);
    assert_int_equal(el_test_write_file(p, label_map, sizeof label_map - 1), 0);
    snprintf(p, sizeof p, "%s/._mscoco_label_map.pbtxt", dir);
    assert_int_equal(el_test_write_file(p, "\0\5", 2), 0);
    if (el_model_open(dir, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_string_equal(el_labels_name(l, 2), "bicycle");
    el_graph_free(g);
    el_labels_free(l);

    /* Two: an error listing both, sorted. */
    snprintf(p, sizeof p, "%s/another.pbtxt", dir);
    assert_int_equal(el_test_write_file(p, other_map, sizeof other_map - 1), 0);
    assert_int_equal(el_model_open(dir, NULL, &g, &l), EL_ERR_INVALID_ARG);
    assert_null(g);
    assert_non_null(strstr(el_last_error(), "another.pbtxt, mscoco_label_map.pbtxt"));
    /* ... unless one is named. */
    if (el_model_open(dir, p, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_string_equal(el_labels_name(l, 1), "cat");
    el_graph_free(g);
    el_labels_free(l);
}

static void test_pb_file_and_missing(void **state)
{
    (void)state;
    char p[512], lp[512];
    snprintf(p, sizeof p, "%s/model.pb", tmp);
    snprintf(lp, sizeof lp, "%s/labels.pbtxt", tmp);
    assert_int_equal(el_test_write_file(p, tiny_graph, sizeof tiny_graph), 0);
    assert_int_equal(el_test_write_file(lp, label_map, sizeof label_map - 1), 0);
    el_graph *g;
    el_labels *l;
    if (el_model_open(p, NULL, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_tiny_graph(g);
    assert_null(l); /* a .pb alone does not look for labels */
    el_graph_free(g);
    if (el_model_open(p, lp, &g, &l) != EL_OK) fail_msg("%s", el_last_error());
    assert_string_equal(el_labels_name(l, 1), "person");
    el_graph_free(g);
    el_labels_free(l);

    /* Missing label file: graph released, error names the file. */
    assert_int_not_equal(el_model_open(p, "/nonexistent/labels.pbtxt", &g, &l), EL_OK);
    assert_null(g);
    assert_non_null(strstr(el_last_error(), "/nonexistent/labels.pbtxt"));

    assert_int_equal(el_model_open("/nonexistent/model.pb", NULL, &g, &l), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), "/nonexistent/model.pb"));
    assert_int_equal(el_model_open(NULL, NULL, &g, &l), EL_ERR_INVALID_ARG);
    assert_int_equal(el_model_open("/dev/null", NULL, &g, &l), EL_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archive_with_top_folder),
        cmocka_unit_test(test_archive_flat_without_labels),
        cmocka_unit_test(test_archive_without_graph),
        cmocka_unit_test(test_archive_two_label_maps),
        cmocka_unit_test(test_archive_hostile),
        cmocka_unit_test(test_archive_too_many_entries),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_pb_file_and_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
