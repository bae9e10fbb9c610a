/* A real mosquitto broker for integration tests: started as a child process
 * on a free 127.0.0.1 port with its own temporary directory (config, log,
 * persistence), stopped and restarted on the same port at will. The child
 * is killed if the test process dies (PR_SET_PDEATHSIG), so a crashed test
 * leaves no broker behind. */
#ifndef EL_TEST_BROKER_H
#define EL_TEST_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct el_test_broker {
    pid_t pid;           /* 0 when not running */
    int port;            /* kept across stop/start: a restart uses the same port */
    char dir[128];       /* temporary directory, created by the first start */
    char extra[4096];    /* extra config lines, kept for restarts */
} el_test_broker;

/* /usr/sbin/mosquitto (or $EL_MOSQUITTO), NULL when not installed: tests
 * then exit 77 (skipped). */
const char *el_test_broker_bin(void);

/* A TCP port on 127.0.0.1 that was free a moment ago (0 on failure). */
int el_test_free_port(void);

/* Starts the broker: listener on 127.0.0.1:b->port (a free port when 0),
 * anonymous access, persistence in b->dir (so a broker stopped with SIGTERM
 * keeps sessions and retained messages across a restart), plus extra_conf
 * lines when non-NULL (pass NULL on a restart to keep the previous ones).
 * Zero the struct before the first start. Waits until the port accepts
 * connections (at most 10 s). Returns 0 on success; on failure prints the
 * broker's log to stderr. */
int el_test_broker_start(el_test_broker *b, const char *extra_conf);

/* Stops the broker with `sig` (SIGTERM: clean, saves persistence; SIGKILL:
 * abrupt) and reaps it; escalates to SIGKILL after 5 s. Port and directory
 * stay for a restart. Fine when not running. */
void el_test_broker_stop(el_test_broker *b, int sig);

/* Stops the broker if running and removes its directory. */
void el_test_broker_cleanup(el_test_broker *b);

/* Copies the broker's log to stderr (for failure diagnostics). */
void el_test_broker_dump_log(const el_test_broker *b);

#endif
