/* Graph storage (one arena per graph), name index, attr getters. */
#include "graph/graph.h"

#include "core/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct el_graph_chunk {
    el_graph_chunk *next;
    size_t used, cap;
    _Alignas(64) unsigned char data[];
};

#define EL_CHUNK_SIZE ((size_t)64 << 10)

el_status el_graph_new(const char *source, el_graph **out)
{
    el_graph *g = calloc(1, sizeof *g);
    if (!g) return el_error(EL_ERR_NOMEM, "out of memory");
    *out = g;
    if (source) {
        el_status s = el_graph_strdup(g, source, strlen(source), &g->source);
        if (s != EL_OK) {
            el_graph_free(g);
            *out = NULL;
            return s;
        }
    }
    return EL_OK;
}

el_status el_graph_alloc(el_graph *g, size_t size, void *out_ptr)
{
    size = (size + 15) & ~(size_t)15;
    el_graph_chunk *c = g->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > EL_CHUNK_SIZE / 2 ? size : EL_CHUNK_SIZE;
        el_graph_chunk *n = malloc(sizeof *n + cap);
        if (!n) return el_error(EL_ERR_NOMEM, "out of memory allocating %zu bytes for the graph", size);
        n->used = 0;
        n->cap = cap;
        if (size > EL_CHUNK_SIZE / 2 && c) {
            /* Big blocks go behind the current chunk so its free space stays usable. */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            g->chunks = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    *(void **)out_ptr = p;
    return EL_OK;
}

el_status el_graph_strdup(el_graph *g, const char *s, size_t len, const char **out)
{
    char *p = NULL;
    EL_TRY(el_graph_alloc(g, len + 1, &p));
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    *out = p;
    return EL_OK;
}

/* Eight bytes a step (names are long and share long prefixes); the high
 * half tags each slot, so a probe compares names only when the tags agree. */
static uint64_t el_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;
    return h * 0xBF58476D1CE4E5B9ull;
}

#define EL_SLOT_EMPTY UINT64_MAX
#define EL_SLOT(tag, idx) ((uint64_t)(tag) << 32 | (uint32_t)(idx))

static int el_graph_find_n(const el_graph *g, const char *name, size_t len)
{
    if (!g->name_index) return -1;
    uint64_t mask = (uint64_t)g->name_cap - 1, h = el_hash(name, len);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t e = g->name_index[i];
        if (e == EL_SLOT_EMPTY) return -1;
        if ((uint32_t)(e >> 32) != tag) continue;
        int idx = (int)(uint32_t)e;
        const char *nn = g->nodes[idx].name;
        if (strncmp(nn, name, len) == 0 && nn[len] == '\0') return idx;
    }
}

int el_graph_find(const el_graph *g, const char *name)
{
    return el_graph_find_n(g, name, strlen(name));
}

int el_graph_find_output(const el_graph *g, const char *name, size_t *name_len, int *slot)
{
    if (!name || !el_parse_input_name(name, name_len, slot) || *slot < 0) return -2;
    return el_graph_find_n(g, name, *name_len);
}

bool el_parse_input_name(const char *s, size_t *name_len, int *slot)
{
    size_t len = strlen(s);
    if (len == 0) return false;
    if (s[0] == '^') {
        if (len == 1) return false;
        *name_len = len - 1;
        *slot = -1;
        return true;
    }
    const char *colon = strrchr(s, ':');
    if (colon) {
        const char *d = colon + 1;
        if (*d == '\0' || colon == s) return false;
        long v = 0;
        for (; *d; d++) {
            if (*d < '0' || *d > '9') return false;
            v = v * 10 + (*d - '0');
            if (v > 1000000) return false;
        }
        *name_len = (size_t)(colon - s);
        *slot = (int)v;
        return true;
    }
    *name_len = len;
    *slot = 0;
    return true;
}

/* Kernels look attrs up by name on every run (el_node_attr): scanning a
 * node's el_attrs (104 bytes each) and the names they point to, scattered
 * over the graph, cost a cache miss or two per attr. So every node gets
 * its attrs' names in a row (el_node.attr_names), and every name points at
 * one copy per distinct name, all in one small block that stays in cache.
 * (The table holds the distinct names: a graph has a few dozen.) */
static el_status el_graph_index_attrs(el_graph *g)
{
    int cap = 64, count = 0;
    size_t bytes = 0;
    const char **tab = calloc((size_t)cap, sizeof *tab);
    if (!tab) return el_error(EL_ERR_NOMEM, "out of memory");
    for (int pass = 0; pass < 2; pass++) {
        char *block = NULL;
        if (pass == 1) {
            el_status s = el_graph_alloc(g, bytes, &block);
            if (s != EL_OK) {
                free(tab);
                return s;
            }
            for (int i = 0; i < cap; i++) {
                if (!tab[i]) continue;
                size_t len = strlen(tab[i]) + 1;
                memcpy(block, tab[i], len);
                tab[i] = block;
                block += len;
            }
        }
        for (int n = 0; n < g->nnodes; n++) {
            el_node *node = &g->nodes[n];
            for (int a = 0; a < node->nattrs; a++) {
                const char *name = node->attrs[a].name;
                if (!name) continue;
                size_t len = strlen(name);
                uint64_t i = el_hash(name, len) & (uint64_t)(cap - 1);
                while (tab[i] && strcmp(tab[i], name)) i = (i + 1) & (uint64_t)(cap - 1);
                if (pass == 1) {
                    node->attrs[a].name = tab[i];
                    continue;
                }
                if (tab[i]) continue;
                tab[i] = name;
                bytes += len + 1;
                if (2 * ++count <= cap) continue;
                /* Grow: rehash the distinct names into twice the room. */
                const char **t2 = calloc((size_t)cap * 2, sizeof *t2);
                if (!t2) {
                    free(tab);
                    return el_error(EL_ERR_NOMEM, "out of memory");
                }
                for (int j = 0; j < cap; j++) {
                    if (!tab[j]) continue;
                    uint64_t k = el_hash(tab[j], strlen(tab[j])) & (uint64_t)(cap * 2 - 1);
                    while (t2[k]) k = (k + 1) & (uint64_t)(cap * 2 - 1);
                    t2[k] = tab[j];
                }
                free(tab);
                tab = t2;
                cap *= 2;
            }
        }
    }
    free(tab);
    for (int n = 0; n < g->nnodes; n++) {
        el_node *node = &g->nodes[n];
        node->attr_names = NULL;
        if (node->nattrs <= 0) continue;
        const char **names = NULL;
        EL_TRY(el_graph_alloc(g, sizeof(char *) * (size_t)node->nattrs, &names));
        bool named = true;
        for (int a = 0; a < node->nattrs; a++) named = named && (names[a] = node->attrs[a].name) != NULL;
        if (!named) continue; /* no row: lookups read the attrs */
        node->attr_names = names;
        node->attr_names_of = node->attrs;
        node->attr_names_n = node->nattrs;
    }
    return EL_OK;
}

/* An attr's tensors (Const values wrap arena or mapped memory, or own a buffer). */
static void el_attr_release(el_attr *at)
{
    if (at->type == EL_ATTR_TENSOR) el_tensor_release(&at->v.tensor);
    if (at->type == EL_ATTR_LIST && at->v.list.elem == EL_ATTR_TENSOR)
        for (int i = 0; i < at->v.list.n; i++) el_tensor_release(&at->v.list.v.tensor[i]);
}

el_status el_graph_drop_private(el_graph *g)
{
    for (int n = 0; n < g->nnodes; n++) {
        el_node *node = &g->nodes[n];
        if (node->op && !strncmp(node->op, "_El", 3))
            return el_error(EL_ERR_UNSUPPORTED,
                            "%s: node '%s': op '%s' is internal to edgelens (its graph passes make it); "
                            "a model file cannot use it",
                            g->source ? g->source : "graph", node->name ? node->name : "", node->op);
        int k = 0;
        for (int a = 0; a < node->nattrs; a++) {
            const char *name = node->attrs[a].name;
            if (name && !strncmp(name, "_el_", 4)) {
                el_attr_release(&node->attrs[a]);
                continue;
            }
            node->attrs[k++] = node->attrs[a];
        }
        node->nattrs = k;
    }
    return EL_OK;
}

el_status el_graph_index(el_graph *g)
{
    int cap = 16;
    while (cap < 2 * g->nnodes + 16) cap *= 2;
    free(g->name_index);
    g->name_index = malloc(sizeof *g->name_index * (size_t)cap);
    if (!g->name_index) return el_error(EL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < cap; i++) g->name_index[i] = EL_SLOT_EMPTY;
    g->name_cap = cap;
    uint64_t mask = (uint64_t)cap - 1;
    for (int n = 0; n < g->nnodes; n++) {
        el_node *node = &g->nodes[n];
        if (!node->name || !node->name[0])
            return el_error(EL_ERR_FORMAT, "%s: node #%d has no name", g->source ? g->source : "graph", n);
        if (!node->op || !node->op[0])
            return el_error(EL_ERR_FORMAT, "%s: node '%s' has no op", g->source ? g->source : "graph", node->name);
        size_t len = strlen(node->name);
        uint64_t h = el_hash(node->name, len), i = h & mask;
        uint32_t tag = (uint32_t)(h >> 32);
        for (; g->name_index[i] != EL_SLOT_EMPTY; i = (i + 1) & mask) {
            uint64_t e = g->name_index[i];
            if ((uint32_t)(e >> 32) == tag && strcmp(g->nodes[(uint32_t)e].name, node->name) == 0)
                return el_error(EL_ERR_FORMAT, "%s: two nodes are named '%s'",
                                g->source ? g->source : "graph", node->name);
        }
        g->name_index[i] = EL_SLOT(tag, n);
        node->noutputs = 1;
    }
    for (int n = 0; n < g->nnodes; n++) {
        el_node *node = &g->nodes[n];
        if (node->ninputs && !node->inputs)
            EL_TRY(el_graph_alloc(g, sizeof(el_input) * (size_t)node->ninputs, &node->inputs));
        bool seen_control = false;
        node->ndata = 0;
        for (int k = 0; k < node->ninputs; k++) {
            const char *in = node->input_names[k];
            size_t len;
            int slot;
            if (!el_parse_input_name(in, &len, &slot))
                return el_error(EL_ERR_FORMAT, "%s: node '%s' (op %s): malformed input name '%s'",
                                g->source ? g->source : "graph", node->name, node->op, in);
            const char *nm = slot < 0 ? in + 1 : in;
            int src = el_graph_find_n(g, nm, len);
            if (src < 0)
                return el_error(EL_ERR_FORMAT, "%s: node '%s' (op %s): input '%s' refers to a node that does not exist",
                                g->source ? g->source : "graph", node->name, node->op, in);
            if (slot < 0) {
                seen_control = true;
            } else {
                if (seen_control)
                    return el_error(EL_ERR_FORMAT, "%s: node '%s' (op %s): data input '%s' follows a control input",
                                    g->source ? g->source : "graph", node->name, node->op, in);
                node->ndata++;
                if (slot + 1 > g->nodes[src].noutputs) g->nodes[src].noutputs = slot + 1;
            }
            node->inputs[k].node = src;
            node->inputs[k].slot = slot;
        }
    }
    return el_graph_index_attrs(g);
}

void el_graph_free(el_graph *g)
{
    if (!g) return;
    /* Const tensors wrap arena or mapped memory; their buffers are released here. */
    for (int n = 0; n < g->nnodes && g->nodes; n++) {
        el_node *node = &g->nodes[n];
        for (int a = 0; a < node->nattrs; a++) el_attr_release(&node->attrs[a]);
    }
    el_graph_chunk *c = g->chunks;
    while (c) {
        el_graph_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (g->mapping) munmap(g->mapping, g->mapping_size);
    if (g->realigned) munmap(g->realigned, g->realigned_size);
    if (g->packed) munmap(g->packed, g->packed_size);
    free(g->name_index);
    free(g);
}

/* ---- attrs ---- */

const el_attr *el_node_attr(const el_node *n, const char *name)
{
    if (n->attr_names && n->attr_names_of == n->attrs && n->attr_names_n == n->nattrs) {
        for (int i = 0; i < n->nattrs; i++)
            if (n->attr_names[i][0] == name[0] && strcmp(n->attr_names[i], name) == 0) return &n->attrs[i];
        return NULL;
    }
    /* Kernels look attrs up on every run: comparing the first byte before
     * calling strcmp skips most of the calls (attr names rarely share one). */
    for (int i = 0; i < n->nattrs; i++)
        if (n->attrs[i].name[0] == name[0] && strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static const char *el_attr_type_name(el_attr_type t)
{
    switch (t) {
    case EL_ATTR_S: return "string";
    case EL_ATTR_I: return "int";
    case EL_ATTR_F: return "float";
    case EL_ATTR_B: return "bool";
    case EL_ATTR_TYPE: return "type";
    case EL_ATTR_SHAPE: return "shape";
    case EL_ATTR_TENSOR: return "tensor";
    case EL_ATTR_LIST: return "list";
    case EL_ATTR_FUNC: return "func";
    case EL_ATTR_PLACEHOLDER: return "placeholder";
    default: return "none";
    }
}

static el_status el_attr_kind(const el_node *n, const el_attr *a, el_attr_type want)
{
    if (a->type == want) return EL_OK;
    return el_error(EL_ERR_FORMAT, "node '%s' (op %s): attr '%s' should be of type %s, found %s",
                    n->name, n->op, a->name, el_attr_type_name(want), el_attr_type_name(a->type));
}

el_status el_attr_int(const el_node *n, const char *name, int64_t def, int64_t *out)
{
    const el_attr *a = el_node_attr(n, name);
    if (!a) { *out = def; return EL_OK; }
    EL_TRY(el_attr_kind(n, a, EL_ATTR_I));
    *out = a->v.i;
    return EL_OK;
}

el_status el_attr_float(const el_node *n, const char *name, float def, float *out)
{
    const el_attr *a = el_node_attr(n, name);
    if (!a) { *out = def; return EL_OK; }
    EL_TRY(el_attr_kind(n, a, EL_ATTR_F));
    *out = a->v.f;
    return EL_OK;
}

el_status el_attr_bool(const el_node *n, const char *name, bool def, bool *out)
{
    const el_attr *a = el_node_attr(n, name);
    if (!a) { *out = def; return EL_OK; }
    EL_TRY(el_attr_kind(n, a, EL_ATTR_B));
    *out = a->v.b;
    return EL_OK;
}

el_status el_attr_dtype(const el_node *n, const char *name, el_dtype def, el_dtype *out)
{
    const el_attr *a = el_node_attr(n, name);
    if (!a) { *out = def; return EL_OK; }
    EL_TRY(el_attr_kind(n, a, EL_ATTR_TYPE));
    *out = a->v.type;
    return EL_OK;
}

el_status el_attr_str(const el_node *n, const char *name, const char *def, el_string *out)
{
    const el_attr *a = el_node_attr(n, name);
    if (!a) {
        out->data = def;
        out->len = def ? strlen(def) : 0;
        return EL_OK;
    }
    EL_TRY(el_attr_kind(n, a, EL_ATTR_S));
    *out = a->v.s;
    return EL_OK;
}

el_status el_attr_str_eq(const el_node *n, const char *name, const char *def, const char *value, bool *out)
{
    el_string s;
    EL_TRY(el_attr_str(n, name, def, &s));
    *out = s.data && s.len == strlen(value) && memcmp(s.data, value, s.len) == 0;
    return EL_OK;
}

el_status el_attr_ints(const el_node *n, const char *name, const int64_t **out, int *n_out)
{
    const el_attr *a = el_node_attr(n, name);
    *out = NULL;
    *n_out = 0;
    if (!a) return EL_OK;
    EL_TRY(el_attr_kind(n, a, EL_ATTR_LIST));
    if (a->v.list.n == 0) return EL_OK;
    if (a->v.list.elem != EL_ATTR_I)
        return el_error(EL_ERR_FORMAT, "node '%s' (op %s): attr '%s' should be a list of ints, found a list of %s",
                        n->name, n->op, name, el_attr_type_name(a->v.list.elem));
    *out = a->v.list.v.i;
    *n_out = a->v.list.n;
    return EL_OK;
}

el_status el_attr_shape(const el_node *n, const char *name, el_shape *out, bool *present)
{
    const el_attr *a = el_node_attr(n, name);
    *present = a != NULL;
    out->rank = -1;
    if (!a) return EL_OK;
    EL_TRY(el_attr_kind(n, a, EL_ATTR_SHAPE));
    *out = a->v.shape;
    return EL_OK;
}

el_status el_attr_tensor(const el_node *n, const char *name, const el_tensor **out)
{
    const el_attr *a = el_node_attr(n, name);
    *out = NULL;
    if (!a) return el_error(EL_ERR_FORMAT, "node '%s' (op %s): missing attr '%s'", n->name, n->op, name);
    EL_TRY(el_attr_kind(n, a, EL_ATTR_TENSOR));
    *out = &a->v.tensor;
    return EL_OK;
}

static void el_range_add(const el_graph *src, const el_tensor *t, uintptr_t *r, size_t *n)
{
    uintptr_t m = (uintptr_t)src->mapping, d = (uintptr_t)t->data;
    if (!t->data || d < m || d >= m + src->mapping_size) return;
    r[2 * *n] = d;
    r[2 * *n + 1] = d + el_tensor_nbytes(t);
    ++*n;
}

static int el_range_cmp(const void *a, const void *b)
{
    const uintptr_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

void el_graph_release_source_pages(const el_graph *src, const el_graph *run)
{
    if (!src || !run || !src->mapping || src == run) return;
    size_t cap = 0, n = 0;
    for (int i = 0; i < run->nnodes; i++)
        for (int a = 0; a < run->nodes[i].nattrs; a++) {
            const el_attr *at = &run->nodes[i].attrs[a];
            if (at->type == EL_ATTR_TENSOR) cap++;
            if (at->type == EL_ATTR_LIST && at->v.list.elem == EL_ATTR_TENSOR) cap += (size_t)at->v.list.n;
        }
    uintptr_t *r = malloc(sizeof *r * 2 * (cap + 1));
    if (!r) return; /* best effort */
    for (int i = 0; i < run->nnodes; i++)
        for (int a = 0; a < run->nodes[i].nattrs; a++) {
            const el_attr *at = &run->nodes[i].attrs[a];
            if (at->type == EL_ATTR_TENSOR) el_range_add(src, &at->v.tensor, r, &n);
            if (at->type == EL_ATTR_LIST && at->v.list.elem == EL_ATTR_TENSOR)
                for (int k = 0; k < at->v.list.n; k++) el_range_add(src, &at->v.list.v.tensor[k], r, &n);
        }
    qsort(r, n, sizeof *r * 2, el_range_cmp);
    uintptr_t from = (uintptr_t)src->mapping, end = from + src->mapping_size;
    for (size_t i = 0; i <= n; i++) {
        uintptr_t to = i < n ? r[2 * i] : end; /* the gap [from, to) */
        if (to > from) (void)el_pages_release_clean((const void *)from, to - from);
        if (i < n && r[2 * i + 1] > from) from = r[2 * i + 1];
    }
    free(r);
}
