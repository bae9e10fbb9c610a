/* The live view over HTTP (libmicrohttpd):
 *   /             a page showing the annotated live stream and the latest detections
 *   /stream.mjpg  multipart/x-mixed-replace MJPEG of annotated frames
 *   /latest.json  the newest result document
 *   /healthz      200 "ok" while healthy, 503 with the reason otherwise
 *   /metrics      Prometheus text produced by the metrics callback
 * The producer hands over frames and documents; the server copies them.
 * The setters are thread-safe (not during or after el_http_stop); the
 * metrics callback runs on a server thread, never twice at once. */
#ifndef EL_SINKS_HTTP_H
#define EL_SINKS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "edgelens/status.h"

typedef struct el_http el_http;

/* Writes the metrics text into a malloc'd string *out. */
typedef el_status (*el_http_metrics_fn)(void *ctx, char **out);

/* "HOST:PORT" (e.g. "127.0.0.1:8080", "0.0.0.0:8080", "[::1]:8080"); port 0
 * picks a free one (see el_http_port). */
el_status el_http_start(const char *host_port, el_http_metrics_fn metrics, void *metrics_ctx, el_http **out);
int el_http_port(const el_http *h);

/* The newest annotated frame as JPEG bytes (copied). */
void el_http_set_frame(el_http *h, const unsigned char *jpeg, size_t len);
/* The newest result document (copied). */
void el_http_set_latest(el_http *h, const char *json);
/* Health: healthy, or not with a reason (copied). */
void el_http_set_health(el_http *h, bool healthy, const char *reason);

/* Stops the server, ending open streams. NULL is fine. */
void el_http_stop(el_http *h);

#endif
