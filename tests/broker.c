#include "broker.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long el_tb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void el_tb_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

const char *el_test_broker_bin(void)
{
    const char *env = getenv("EL_MOSQUITTO");
    const char *bin = env && *env ? env : "/usr/sbin/mosquitto";
    return access(bin, X_OK) == 0 ? bin : NULL;
}

int el_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool el_tb_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

void el_test_broker_dump_log(const el_test_broker *b)
{
    char path[256];
    snprintf(path, sizeof path, "%s/mosquitto.log", b->dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    fprintf(stderr, "---- %s ----\n", path);
    while (fgets(line, sizeof line, f)) fputs(line, stderr);
    fclose(f);
}

static int el_tb_write_conf(el_test_broker *b, const char *conf)
{
    FILE *f = fopen(conf, "w");
    if (!f) return -1;
    fprintf(f,
            "listener %d 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            "persistence_location %s/\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "max_queued_messages 100000\n",
            b->port, b->dir);
    /* As root mosquitto would drop to the "mosquitto" user, which cannot
     * write our 0700 directory. */
    if (geteuid() == 0) fprintf(f, "user root\n");
    fprintf(f, "%s\n", b->extra);
    return fclose(f);
}

static int el_tb_start_once(el_test_broker *b, const char *bin)
{
    char conf[256], log[256];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    snprintf(log, sizeof log, "%s/mosquitto.log", b->dir);
    if (el_tb_write_conf(b, conf) != 0) return -1;
    int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (lfd < 0) return -1;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(lfd);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(lfd, 1);
        dup2(lfd, 2);
        close(lfd);
        int nfd = open("/dev/null", O_RDONLY);
        if (nfd >= 0) dup2(nfd, 0);
        execl(bin, "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    close(lfd);
    b->pid = pid;
    long long until = el_tb_now_ms() + 10000;
    while (el_tb_now_ms() < until) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            b->pid = 0;
            return -1;
        }
        if (el_tb_accepts(b->port)) return 0;
        el_tb_sleep_ms(20);
    }
    el_test_broker_stop(b, SIGKILL);
    return -1;
}

int el_test_broker_start(el_test_broker *b, const char *extra_conf)
{
    const char *bin = el_test_broker_bin();
    if (!bin || b->pid) return -1;
    if (!b->dir[0]) {
        snprintf(b->dir, sizeof b->dir, "/tmp/el-broker-XXXXXX");
        if (!mkdtemp(b->dir)) {
            b->dir[0] = '\0';
            return -1;
        }
    }
    if (extra_conf) snprintf(b->extra, sizeof b->extra, "%s", extra_conf);
    bool fixed = b->port != 0;
    /* A port picked free can be taken before the broker binds it: retry. */
    for (int attempt = 0; attempt < (fixed ? 1 : 5); attempt++) {
        if (!fixed) b->port = el_test_free_port();
        if (b->port && el_tb_start_once(b, bin) == 0) return 0;
    }
    /* A restart on a fixed port may race the old socket's release: a few
     * more tries, each after a short pause. */
    for (int attempt = 0; fixed && attempt < 20; attempt++) {
        el_tb_sleep_ms(100);
        if (el_tb_start_once(b, bin) == 0) return 0;
    }
    el_test_broker_dump_log(b);
    return -1;
}

void el_test_broker_stop(el_test_broker *b, int sig)
{
    if (!b->pid) return;
    kill(b->pid, sig);
    long long until = el_tb_now_ms() + 5000;
    int status;
    for (;;) {
        pid_t r = waitpid(b->pid, &status, WNOHANG);
        if (r == b->pid || (r < 0 && errno == ECHILD)) break;
        if (el_tb_now_ms() > until) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &status, 0);
            break;
        }
        el_tb_sleep_ms(10);
    }
    b->pid = 0;
}

void el_test_broker_cleanup(el_test_broker *b)
{
    el_test_broker_stop(b, SIGKILL);
    if (!b->dir[0]) return;
    DIR *d = opendir(b->dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", b->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(b->dir);
    b->dir[0] = '\0';
}
