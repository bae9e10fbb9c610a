/* The capture thread: newest-frame-only delivery with drop counting, end and
 * error propagation, timeouts, and stopping while the source blocks (a
 * paced image source, and an HTTP MJPEG stream that stalls, served here on
 * 127.0.0.1). vtest.avi from $EL_DATA_DIR/opencv/ is used when present. */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "edgelens/image.h"
#include "video/capture.h"
#include "video/source.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char g_dir[256];
static char g_img[300];

static el_image solid(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    el_image img = {w, h, malloc((size_t)w * h * 3)};
    assert_non_null(img.rgb);
    for (int i = 0; i < w * h; i++) img.rgb[3 * i] = r, img.rgb[3 * i + 1] = g, img.rgb[3 * i + 2] = b;
    return img;
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(el_test_tmpdir(g_dir, sizeof g_dir));
    snprintf(g_img, sizeof g_img, "%s/one.jpg", g_dir);
    el_image img = solid(32, 24, 10, 200, 30);
    assert_int_equal(el_image_write_jpeg(g_img, &img, 90), EL_OK);
    el_image_free(&img);
    return 0;
}

static el_capture *start(const char *uri, el_source_opts o)
{
    el_source *s = NULL;
    if (el_source_open(uri, &o, &s) != EL_OK) fail_msg("%s", el_last_error());
    el_capture *c = NULL;
    assert_int_equal(el_capture_start(s, &c), EL_OK);
    assert_non_null(c);
    return c;
}

/* ------------------------------------------------------------ tests */

static void test_slow_consumer_gets_latest(void **state)
{
    (void)state;
    /* 100 fps from the source, one frame taken every 100 ms. */
    el_capture *c = start(g_img, (el_source_opts){.loop = true, .realtime = true, .fps = 100});
    assert_string_equal(el_capture_uri(c), g_img);
    assert_true(el_capture_fps(c) == 100.0);
    el_image frame = {0, 0, NULL};
    uint64_t prev = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t seq = 0;
        if (el_capture_next(c, &frame, &seq, 2000) != EL_OK) fail_msg("%s", el_last_error());
        assert_int_equal(frame.width, 32);
        assert_int_equal(frame.height, 24);
        assert_true(frame.rgb[1] > 180);
        assert_true(seq > prev);
        if (i > 0) assert_true(seq > prev + 1); /* frames were skipped */
        prev = seq;
        sleep_ms(100);
    }
    el_capture_stats st;
    el_capture_get_stats(c, &st);
    assert_int_equal(st.taken, 5);
    assert_true(st.dropped > 0);
    assert_true(st.captured >= st.taken + st.dropped);
    assert_true(st.captured <= st.taken + st.dropped + 1);
    el_capture_stop(c);
    el_image_free(&frame);
}

static void test_end_after_last_frame(void **state)
{
    (void)state;
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/three", g_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%d.jpg", dir, i);
        el_image img = solid(8 + 8 * i, 8, 255, 255, 255);
        assert_int_equal(el_image_write_jpeg(p, &img, 90), EL_OK);
        el_image_free(&img);
    }
    el_capture *c = start(dir, (el_source_opts){.realtime = true, .fps = 1000});
    /* Let the thread read everything; only the last frame is kept. */
    el_capture_stats st;
    for (int i = 0; i < 200; i++) {
        el_capture_get_stats(c, &st);
        if (st.captured == 3) break;
        sleep_ms(10);
    }
    assert_int_equal(st.captured, 3);
    el_image frame = {0, 0, NULL};
    uint64_t seq = 0;
    assert_int_equal(el_capture_next(c, &frame, &seq, 1000), EL_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(frame.width, 24);
    assert_int_equal(el_capture_next(c, &frame, &seq, 1000), EL_ERR_END);
    assert_int_equal(seq, 0);
    assert_non_null(strstr(el_last_error(), dir));
    assert_int_equal(el_capture_next(c, &frame, NULL, 0), EL_ERR_END);
    el_capture_get_stats(c, &st);
    assert_int_equal(st.taken, 1);
    assert_int_equal(st.dropped, 2);
    el_capture_stop(c);
    el_image_free(&frame);
}

static void test_source_error_reaches_consumer(void **state)
{
    (void)state;
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/broken", g_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/a.jpg", dir);
    assert_int_equal(el_test_write_file(p, "\xff\xd8\xff\xe0 nope", 9), 0);
    el_capture *c = start(dir, (el_source_opts){.loop = true});
    el_image frame = {0, 0, NULL};
    el_error_clear();
    el_status rc = el_capture_next(c, &frame, NULL, 5000);
    assert_int_equal(rc, EL_ERR_FORMAT);
    /* The message was made on the capture thread and is seen here. */
    assert_non_null(strstr(el_last_error(), "no image in the directory could be read"));
    assert_non_null(strstr(el_last_error(), p));
    assert_null(frame.rgb);
    el_capture_stop(c);
}

static void test_timeout(void **state)
{
    (void)state;
    el_capture *c = start(g_img, (el_source_opts){.loop = true, .realtime = true, .fps = 0.5});
    el_image frame = {0, 0, NULL};
    assert_int_equal(el_capture_next(c, &frame, NULL, 2000), EL_OK);
    double t0 = now_ms();
    assert_int_equal(el_capture_next(c, &frame, NULL, 150), EL_ERR_TIMEOUT);
    double dt = now_ms() - t0;
    assert_true(dt >= 140 && dt < 1500);
    assert_non_null(strstr(el_last_error(), "no frame within 150 ms"));
    assert_int_equal(el_capture_next(c, &frame, NULL, 0), EL_ERR_TIMEOUT);
    el_capture_stop(c);
    el_image_free(&frame);
}

static void test_stop_while_pacing(void **state)
{
    (void)state;
    /* One frame every 10 s: the thread sits in the pacing sleep. */
    el_capture *c = start(g_img, (el_source_opts){.loop = true, .realtime = true, .fps = 0.1});
    el_image frame = {0, 0, NULL};
    assert_int_equal(el_capture_next(c, &frame, NULL, 2000), EL_OK);
    sleep_ms(50);
    double t0 = now_ms();
    el_capture_stop(c);
    double dt = now_ms() - t0;
    if (dt > 1000) fail_msg("stop took %.0f ms", dt);
    el_image_free(&frame);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    el_capture *c = (el_capture *)1;
    assert_int_equal(el_capture_start(NULL, &c), EL_ERR_INVALID_ARG);
    assert_null(c);
    el_source *s = NULL;
    assert_int_equal(el_source_open(g_img, NULL, &s), EL_OK);
    assert_int_equal(el_capture_start(s, NULL), EL_ERR_INVALID_ARG); /* closes s */
    el_image frame = {0, 0, NULL};
    uint64_t seq = 9;
    assert_int_equal(el_capture_next(NULL, &frame, &seq, 0), EL_ERR_INVALID_ARG);
    assert_int_equal(seq, 0);
    el_capture_stats st = {1, 2, 3};
    el_capture_get_stats(NULL, &st);
    assert_int_equal(st.captured + st.taken + st.dropped, 0);
    assert_string_equal(el_capture_uri(NULL), "");
    el_capture_stop(NULL);
}

/* ------------------------------------------------- HTTP MJPEG server */

/* Serves multipart/x-mixed-replace JPEG frames (what IP cameras call an
 * MJPEG stream) to one client every 40 ms until told to stall, then keeps
 * the connection open and silent until told to quit. */
typedef struct mjpeg_server {
    int lfd;
    int port;
    pthread_t th;
    atomic_bool stall, quit;
    atomic_int sent, connections;
    int frames_per_conn; /* 0: unlimited; else close after that many */
    unsigned char *jpg;
    size_t jlen;
} mjpeg_server;

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

static void serve_one(mjpeg_server *m, int fd)
{
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    const char *hdr = "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\n"
                      "Cache-Control: no-cache\r\n\r\n";
    bool ok = send_all(fd, hdr, strlen(hdr));
    for (int n = 0; ok && !atomic_load(&m->quit) && (!m->frames_per_conn || n < m->frames_per_conn);) {
        if (!atomic_load(&m->stall)) {
            char part[128];
            int k = snprintf(part, sizeof part, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
                             m->jlen);
            ok = send_all(fd, part, (size_t)k) && send_all(fd, m->jpg, m->jlen) && send_all(fd, "\r\n", 2);
            atomic_fetch_add(&m->sent, 1);
            n++;
        }
        sleep_ms(40);
    }
}

static void *server_main(void *arg)
{
    mjpeg_server *m = arg;
    while (!atomic_load(&m->quit)) {
        struct pollfd pfd = {m->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0) continue;
        int fd = accept(m->lfd, NULL, NULL);
        if (fd < 0) continue;
        atomic_fetch_add(&m->connections, 1);
        serve_one(m, fd);
        close(fd);
    }
    return NULL;
}

static void server_start(mjpeg_server *m, int frames_per_conn)
{
    memset(m, 0, sizeof *m);
    m->frames_per_conn = frames_per_conn;
    el_image img = solid(64, 48, 200, 40, 40);
    assert_int_equal(el_image_encode_jpeg(&img, 90, &m->jpg, &m->jlen), EL_OK);
    el_image_free(&img);
    m->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(m->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(m->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(m->lfd, 4), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&a, &al), 0);
    m->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&m->th, NULL, server_main, m), 0);
}

static void server_stop(mjpeg_server *m)
{
    atomic_store(&m->quit, true);
    pthread_join(m->th, NULL);
    close(m->lfd);
    free(m->jpg);
}

static void test_stop_while_network_read_blocks(void **state)
{
    (void)state;
    mjpeg_server m;
    server_start(&m, 0);
    char uri[64];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/stream.mjpg", m.port);
    el_source *s = NULL;
    if (el_source_open(uri, NULL, &s) != EL_OK) {
        server_stop(&m);
        fail_msg("%s", el_last_error());
    }
    el_capture *c = NULL;
    assert_int_equal(el_capture_start(s, &c), EL_OK);
    el_image frame = {0, 0, NULL};
    if (el_capture_next(c, &frame, NULL, 5000) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(frame.width, 64);
    assert_int_equal(frame.height, 48);
    assert_true(frame.rgb[0] > 180 && frame.rgb[1] < 70);
    /* The camera goes silent: the capture thread now waits in a socket read
     * inside FFmpeg. */
    atomic_store(&m.stall, true);
    sleep_ms(300);
    el_capture_stats st1, st2;
    el_capture_get_stats(c, &st1);
    sleep_ms(200);
    el_capture_get_stats(c, &st2);
    assert_int_equal(st1.captured, st2.captured);
    double t0 = now_ms();
    el_capture_stop(c);
    double dt = now_ms() - t0;
    server_stop(&m);
    el_image_free(&frame);
    if (dt > 1500) fail_msg("stop took %.0f ms while the network read blocked", dt);
}

static void test_live_stream_reconnects_when_looping(void **state)
{
    (void)state;
    /* The camera hangs up after 8 frames each time: without loop that is
     * the end; with loop the source reconnects and frames keep coming. */
    mjpeg_server m;
    server_start(&m, 8);
    char uri[64];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/video", m.port);
    for (int loop = 0; loop < 2; loop++) {
        el_source *s = NULL;
        el_source_opts o = {.loop = loop};
        if (el_source_open(uri, &o, &s) != EL_OK) fail_msg("%s", el_last_error());
        el_image img = {0, 0, NULL};
        int n = 0;
        el_status rc;
        while (n < 30 && (rc = el_source_read(s, &img, NULL)) == EL_OK) {
            assert_int_equal(img.width, 64);
            n++;
        }
        if (!loop) {
            /* FFmpeg's http calls the hang-up an I/O error, which it is for
             * a camera; a clean end would do as well. */
            if (rc != EL_ERR_END && rc != EL_ERR_IO) fail_msg("after %d frames: %s", n, el_last_error());
            assert_non_null(strstr(el_last_error(), uri));
            /* Probing may consume a frame or two before the first read. */
            assert_true(n >= 4 && n <= 8);
        } else {
            assert_int_equal(n, 30);
        }
        el_image_free(&img);
        el_source_close(s);
    }
    assert_true(atomic_load(&m.connections) >= 5);
    server_stop(&m);

    /* Reconnecting to a camera that is gone fails with the reason. */
    server_start(&m, 3);
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/video", m.port);
    el_source *s = NULL;
    el_source_opts o = {.loop = true};
    if (el_source_open(uri, &o, &s) != EL_OK) fail_msg("%s", el_last_error());
    sleep_ms(250); /* all 3 frames sent */
    server_stop(&m);
    el_image img = {0, 0, NULL};
    int n = 0;
    el_status rc;
    while (n < 10 && (rc = el_source_read(s, &img, NULL)) == EL_OK) n++;
    assert_int_equal(n, 3);
    assert_int_equal(rc, EL_ERR_IO);
    assert_non_null(strstr(el_last_error(), uri));
    assert_non_null(strstr(el_last_error(), "Connection refused"));
    el_image_free(&img);
    el_source_close(s);
}

/* ------------------------------------------------ uninterruptible read */

/* Raw MJPEG through a FIFO: FFmpeg's file protocol waits in read(2), which
 * its interrupt callback cannot break. */
typedef struct fifo_writer {
    int fd;
    pthread_t th;
    atomic_bool stall, quit;
    unsigned char *jpg;
    size_t jlen;
} fifo_writer;

static void *fifo_main(void *arg)
{
    fifo_writer *w = arg;
    while (!atomic_load(&w->quit)) {
        if (!atomic_load(&w->stall)) {
            size_t off = 0;
            while (off < w->jlen) {
                ssize_t n = write(w->fd, w->jpg + off, w->jlen - off);
                if (n <= 0) return NULL;
                off += (size_t)n;
            }
        }
        sleep_ms(10);
    }
    return NULL;
}

/* Unpaced (a file read as fast as it decodes): every frame reaches a slow
 * consumer, in order, none dropped. */
static void test_unpaced_drops_nothing(void **state)
{
    (void)state;
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/unpaced", g_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%d.jpg", dir, i);
        el_image img = solid(8 + 8 * i, 8, 255, 255, 255);
        assert_int_equal(el_image_write_jpeg(p, &img, 90), EL_OK);
        el_image_free(&img);
    }
    el_capture *c = start(dir, (el_source_opts){0});
    el_image frame = {0, 0, NULL};
    uint64_t seq = 0;
    for (int i = 0; i < 4; i++) {
        sleep_ms(50);
        if (el_capture_next(c, &frame, &seq, 2000) != EL_OK) fail_msg("%s", el_last_error());
        assert_int_equal(seq, (uint64_t)i + 1);
        assert_int_equal(frame.width, 8 + 8 * i);
    }
    assert_int_equal(el_capture_next(c, &frame, &seq, 1000), EL_ERR_END);
    el_capture_stats st;
    el_capture_get_stats(c, &st);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.taken, 4);
    el_image_free(&frame);
    el_capture_stop(c);
}

/* Whether a thread of this process sits in read(2) on the file at `path`
 * (/proc/self/task/T/syscall: the number, then the arguments, fd first). */
static bool read_blocked_on(const char *path)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[300], line[512], link[512];
        snprintf(p, sizeof p, "/proc/self/task/%s/syscall", de->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        long nr = -1;
        unsigned long fd = 0;
        if (fgets(line, sizeof line, f) && sscanf(line, "%ld %lx", &nr, &fd) == 2 && nr == SYS_read) {
            snprintf(p, sizeof p, "/proc/self/fd/%lu", fd);
            ssize_t n = readlink(p, link, sizeof link - 1);
            if (n > 0) {
                link[n] = '\0';
                found = !strcmp(link, path);
            }
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

static void test_stop_gives_up_on_stuck_read(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/camera.mjpeg", g_dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    fifo_writer w;
    memset(&w, 0, sizeof w);
    /* Noise compresses badly: big frames get FFmpeg's probe of a raw pipe
     * (up to 1 MB) done in a fraction of a second. */
    el_image img = solid(160, 120, 0, 0, 0);
    uint32_t r = 12345;
    for (size_t i = 0; i < (size_t)160 * 120 * 3; i++) img.rgb[i] = (uint8_t)((r = r * 1103515245u + 12345u) >> 24);
    assert_int_equal(el_image_encode_jpeg(&img, 90, &w.jpg, &w.jlen), EL_OK);
    el_image_free(&img);
    /* Read-write so neither this open nor FFmpeg's waits for the other end. */
    w.fd = open(path, O_RDWR);
    assert_true(w.fd >= 0);
    assert_int_equal(pthread_create(&w.th, NULL, fifo_main, &w), 0);

    el_capture *c = start(path, (el_source_opts){.realtime = true});
    el_image frame = {0, 0, NULL};
    el_status rc = el_capture_next(c, &frame, NULL, 10000);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", rc == EL_OK ? "" : el_last_error());
    int width = frame.width;
    atomic_store(&w.stall, true);
    /* Under load the thread may still be decoding frames written before the
     * stall: a stop then returns at once. Wait until it is in read(2) on
     * the FIFO, where its interrupt flag is not seen. */
    bool blocked = false;
    for (int i = 0; rc == EL_OK && i < 1000 && !(blocked = read_blocked_on(path)); i++) sleep_ms(10);
    fprintf(stderr, "capture thread in read(2) on the FIFO: %s\n", blocked ? "yes" : "no");
    double t0 = now_ms();
    el_capture_stop(c); /* waits its bound, then leaves the cleanup to the thread */
    double dt = now_ms() - t0;
    /* End of file wakes the orphaned thread, which frees everything. */
    atomic_store(&w.quit, true);
    pthread_join(w.th, NULL);
    close(w.fd);
    free(w.jpg);
    el_image_free(&frame);
    sleep_ms(300);
    /* Checked after the cleanup: a failure here leaks nothing, so it is
     * reported as itself and not as the leak of the frame. */
    if (rc != EL_OK) fail_msg("no first frame: %s", msg);
    assert_int_equal(width, 160);
    if (!blocked) fail_msg("the capture thread never blocked in read(2) on %s", path);
    if (dt < 2000 || dt > 6000) fail_msg("stop took %.0f ms, want its 3 s bound", dt);
}

static void test_vtest_slow_consumer(void **state)
{
    (void)state;
    char path[512];
    if (!el_test_data("opencv/vtest.avi", path, sizeof path)) {
        fprintf(stderr, "SKIPPED: opencv/vtest.avi not in $EL_DATA_DIR (run scripts/setup)\n");
        skip();
    }
    /* A model that needs 250 ms per frame on a 10 fps stream: it sees the
     * newest frame each time, and the stream does not fall behind. */
    el_capture *c = start(path, (el_source_opts){.realtime = true});
    assert_true(el_capture_fps(c) == 10.0);
    el_image frame = {0, 0, NULL};
    uint64_t seq = 0;
    double t0 = now_ms();
    for (int i = 0; i < 6; i++) {
        if (el_capture_next(c, &frame, &seq, 3000) != EL_OK) fail_msg("%s", el_last_error());
        assert_int_equal(frame.width, 768);
        assert_int_equal(frame.height, 576);
        sleep_ms(250);
    }
    double dt = now_ms() - t0;
    /* The newest frame number follows the wall clock (10 per second),
     * loosely. */
    double expect = dt / 100.0;
    if (seq < expect * 0.5 || seq > expect * 1.5 + 3)
        fail_msg("after %.0f ms the newest frame is #%llu, expected about %.0f", dt, (unsigned long long)seq, expect);
    el_capture_stats st;
    el_capture_get_stats(c, &st);
    assert_true(st.dropped > 0);
    el_capture_stop(c);
    el_image_free(&frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_consumer_gets_latest),
        cmocka_unit_test(test_unpaced_drops_nothing),
        cmocka_unit_test(test_end_after_last_frame),
        cmocka_unit_test(test_source_error_reaches_consumer),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_stop_while_pacing),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_stop_while_network_read_blocks),
        cmocka_unit_test(test_live_stream_reconnects_when_looping),
        cmocka_unit_test(test_stop_gives_up_on_stuck_read),
        cmocka_unit_test(test_vtest_slow_consumer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
