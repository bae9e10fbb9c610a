/* Where the default model lives: scripts/setup installs the COCO CenterNet
 * of npm @vladmandic/human (models/centernet.json + .bin) with the label map
 * models/coco80.pbtxt into <repo>/.data/models/centernet/, so that
 * `edgelens detect IMAGE` works on a fresh checkout without --model.
 *
 * Looked for, in order: $EDGELENS_MODEL; next to the executable
 * (<exe>/../.data/models/centernet for build/edgelens in the repo,
 * <exe>/.data/models/centernet); the source tree the library was built from
 * (found from this file's own path, which CMake passes absolute); an
 * installed copy, <exe>/../share/edgelens/models/centernet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgelens/detect.h"

#define EL_DEFAULT_MODEL_REL ".data/models/centernet"
#define EL_DEFAULT_MODEL_FILE "centernet.json"

static bool el_is_model_dir(const char *dir)
{
    char p[4096];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, EL_DEFAULT_MODEL_FILE) >= (int)sizeof p) return false;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* dirname of `path` up to `levels` components, into out; false when the
 * path has fewer components. */
static bool el_parent(const char *path, int levels, char *out, size_t cap)
{
    if (snprintf(out, cap, "%s", path) >= (int)cap) return false;
    for (int i = 0; i < levels; i++) {
        char *slash = strrchr(out, '/');
        if (!slash || slash == out) return false;
        *slash = '\0';
    }
    return true;
}

el_status el_detector_default_model(char *buf, size_t cap)
{
    if (!buf || cap == 0) return el_error(EL_ERR_INVALID_ARG, "el_detector_default_model: no buffer");
    buf[0] = '\0';
    const char *env = getenv("EDGELENS_MODEL");
    if (env && *env) {
        if (snprintf(buf, cap, "%s", env) >= (int)cap) return el_error(EL_ERR_INVALID_ARG, "EDGELENS_MODEL is too long");
        return EL_OK;
    }
    char exe[4096], dir[4096], cand[4][4096 + 64];
    int nc = 0;
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        if (el_parent(exe, 1, dir, sizeof dir)) {
            snprintf(cand[nc++], sizeof cand[0], "%s/../%s", dir, EL_DEFAULT_MODEL_REL);
            snprintf(cand[nc++], sizeof cand[0], "%s/%s", dir, EL_DEFAULT_MODEL_REL);
            snprintf(cand[nc++], sizeof cand[0], "%s/../share/edgelens/models/centernet", dir);
        }
    }
    /* __FILE__ is <repo>/src/detect/default_model.c. */
    if (__FILE__[0] == '/' && el_parent(__FILE__, 3, dir, sizeof dir))
        snprintf(cand[nc++], sizeof cand[0], "%s/%s", dir, EL_DEFAULT_MODEL_REL);
    for (int i = 0; i < nc; i++) {
        char real[4096];
        if (!el_is_model_dir(cand[i])) continue;
        const char *p = realpath(cand[i], real) ? real : cand[i];
        if (snprintf(buf, cap, "%s", p) >= (int)cap) return el_error(EL_ERR_INVALID_ARG, "default model path too long");
        return EL_OK;
    }
    return el_error(EL_ERR_NOT_FOUND,
                    "no --model given and the default model (%s/%s) is not installed: run 'bash scripts/setup' "
                    "in the edgelens checkout, or set EDGELENS_MODEL",
                    EL_DEFAULT_MODEL_REL, EL_DEFAULT_MODEL_FILE);
}
