/* edgelens run: the device agent (see include/edgelens/agent.h).
 *
 * The configuration is the YAML file (--config) with the flags applied on
 * top, so flags win. On SIGHUP the file is read again and the same flags are
 * applied again, which is why they are kept as (key, value) pairs. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "edgelens/agent.h"

static void el_run_usage(FILE *f)
{
    fprintf(f,
            "usage: edgelens run [--config FILE] [--model PATH] [--source SRC] [--thing NAME]\n"
            "                    [--mqtt URL] [--topic T] [--format seed|full] [--threshold T]\n"
            "                    [--http HOST:PORT] [--retry-delay S] [--loop] [--no-pace] [--labels FILE]\n"
            "                    [--threads N] [--precision P]\n"
            "  --config FILE     YAML file whose keys mirror these flags (flags win); SIGHUP rereads it\n"
            "  --model PATH      model directory, .pb, model.json or .tar.gz package, as for\n"
            "                    detect (default: the default model of detect)\n"
            "  --source SRC      /dev/videoN, a video file or URL (rtsp://, http://), an image,\n"
            "                    or a directory of images\n"
            "  --thing NAME      device name in topics and payloads (default: the host name)\n"
            "  --mqtt URL        mqtt://[user[:pass]@]host[:port] or mqtts://...; without it the\n"
            "                    results go to stdout as JSON Lines\n"
            "  --topic T         results topic (default: $aws/things/<thing>/infer)\n"
            "  --format F        full (default): one JSON document per frame with boxes;\n"
            "                    seed: the guide's {\"label\": score*100, ...}\n"
            "  --threshold T     keep detections with score >= T (default 0.5)\n"
            "  --http HOST:PORT  live view, /latest.json, /healthz and /metrics\n"
            "  --retry-delay S   seconds before restarting after a failure (default 15)\n"
            "  --loop            restart files and image directories at their end\n"
            "  --no-pace         read files as fast as they decode, not at their frame rate\n"
            "  --labels FILE     label map overriding the model's\n"
            "  --threads N       inference threads (default: one per core)\n"
            "  --precision P     convolution arithmetic: auto (default: bf16x3 where the CPU has\n"
            "                    AMX, else fp32), fp32, bf16x3 (AMX, within the reference\n"
            "                    tolerance) or bf16 (AMX or AVX512-BF16, less accurate)\n"
            "SIGTERM/SIGINT stop cleanly (offline status, queue flushed); SIGHUP reloads --config.\n");
}

typedef struct el_run_args {
    const char *config;
    int n;
    const char *key[64];
    const char *value[64];
} el_run_args;

static volatile sig_atomic_t el_run_stop, el_run_reload;

static void el_run_on_signal(int sig)
{
    if (sig == SIGHUP) el_run_reload = 1;
    else el_run_stop = 1;
}

/* Builds the configuration: defaults, then the file, then the flags. */
static el_status el_run_build(const el_run_args *args, el_agent_config *out)
{
    el_agent_config_init(out);
    if (args->config && el_agent_config_load_yaml(out, args->config) != EL_OK) return EL_ERR_INVALID_ARG;
    for (int i = 0; i < args->n; i++) {
        el_status st = el_agent_config_set(out, args->key[i], args->value[i]);
        if (st != EL_OK) {
            el_agent_config_free(out);
            return el_error_prefix(st, "--%s: ", args->key[i]);
        }
    }
    return EL_OK;
}

static el_status el_run_reload_fn(void *ctx, el_agent_config *out)
{
    el_agent_config_free(out);
    return el_run_build(ctx, out);
}

int el_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},   {"model", required_argument, NULL, 'm'},
        {"source", required_argument, NULL, 's'},   {"thing", required_argument, NULL, 'T'},
        {"mqtt", required_argument, NULL, 'q'},     {"topic", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},   {"threshold", required_argument, NULL, 't'},
        {"http", required_argument, NULL, 'H'},     {"retry-delay", required_argument, NULL, 'r'},
        {"loop", no_argument, NULL, 'L'},           {"labels", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'n'},  {"help", no_argument, NULL, 'h'},
        {"no-pace", no_argument, NULL, 'P'},        {"precision", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    el_run_args args = {0};
    int c, idx;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:m:s:T:q:o:f:t:H:r:Ll:n:hPp:", opts, &idx)) != -1) {
        switch (c) {
        case 'c': args.config = optarg; continue;
        case 'h': el_run_usage(stdout); return 0;
        case '?': el_run_usage(stderr); return 2;
        default: break;
        }
        if (args.n == (int)(sizeof args.key / sizeof args.key[0])) {
            fprintf(stderr, "edgelens run: too many options\n");
            return 2;
        }
        const char *key = NULL;
        for (const struct option *o = opts; o->name; o++)
            if (o->val == c) key = o->name;
        if (c == 'P') key = "pace";
        args.key[args.n] = key;
        args.value[args.n] = c == 'L' ? "true" : c == 'P' ? "false" : optarg;
        args.n++;
    }
    if (optind < argc) {
        fprintf(stderr, "edgelens run: unexpected argument '%s'\n", argv[optind]);
        el_run_usage(stderr);
        return 2;
    }

    el_agent_config cfg;
    if (el_run_build(&args, &cfg) != EL_OK) {
        fprintf(stderr, "edgelens run: %s\n", el_last_error());
        return 2;
    }
    if (el_agent_config_validate(&cfg) != EL_OK) {
        fprintf(stderr, "edgelens run: %s\n", el_last_error());
        el_run_usage(stderr);
        el_agent_config_free(&cfg);
        return 2;
    }

    /* SA_RESTART: library threads (capture, MQTT, HTTP) may receive the
     * signal; their system calls must not fail with EINTR because of it.
     * The agent polls the flags instead of relying on interruption. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = el_run_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A reader of stdout or a browser going away must not kill the agent. */
    signal(SIGPIPE, SIG_IGN);

    el_agent_control ctl = {
        .stop = &el_run_stop,
        .reload = &el_run_reload,
        .reload_fn = el_run_reload_fn,
        .reload_ctx = &args,
        .results = stdout,
        .log = stderr,
    };
    el_status st = el_agent_run(&cfg, &ctl);
    el_agent_config_free(&cfg);
    if (st != EL_OK) return el_cli_fail("run");
    return 0;
}
