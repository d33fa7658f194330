/* Peer server for the wman benchmark: a single-threaded libwebsockets echo server.
 *
 * usage: bench_lws_echo PORT [CERT KEY]
 *
 * Listens on 127.0.0.1:PORT and answers every WebSocket message with the same bytes and the
 * same kind (text or binary). Messages that arrive in pieces are reassembled before they are
 * echoed. Echoes are queued per connection and written one per writable callback, as
 * libwebsockets requires; when a connection has too many queued echoes, reading from it pauses
 * until the queue drains. With CERT and KEY (PEM files; CERT may hold the chain after the leaf)
 * the vhost serves TLS only (wss://), with libwebsockets' default TLS settings. SIGINT or
 * SIGTERM stops the server.
 */

#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kMaxQueued = 256 };

struct echo_msg {
  struct echo_msg* next;
  size_t len;
  size_t cap;
  int binary;
  unsigned char buf[]; /* LWS_PRE bytes of headroom, then the payload */
};

struct session {
  struct echo_msg* head; /* echoes waiting to be written, oldest first */
  struct echo_msg* tail;
  struct echo_msg* partial; /* message being reassembled */
  int queued;
  int rx_paused;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

static void free_session(struct session* s) {
  while (s->head) {
    struct echo_msg* m = s->head;
    s->head = m->next;
    free(m);
  }
  s->tail = NULL;
  free(s->partial);
  s->partial = NULL;
  s->queued = 0;
}

/* Appends `len` bytes to the message being reassembled, starting one if needed. */
static int append_partial(struct session* s, const void* in, size_t len, size_t hint, int binary) {
  struct echo_msg* m = s->partial;
  size_t need = (m ? m->len : 0) + len;
  if (!m || need > m->cap) {
    size_t cap = need + hint;
    if (m && cap < 2 * m->cap) cap = 2 * m->cap;
    struct echo_msg* grown = realloc(m, sizeof *m + LWS_PRE + cap);
    if (!grown) return -1;
    if (!m) {
      grown->next = NULL;
      grown->len = 0;
      grown->binary = binary;
    }
    grown->cap = cap;
    s->partial = m = grown;
  }
  memcpy(m->buf + LWS_PRE + m->len, in, len);
  m->len += len;
  return 0;
}

static int callback_echo(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in,
                         size_t len) {
  struct session* s = (struct session*)user;

  switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
      memset(s, 0, sizeof *s);
      return 0;

    case LWS_CALLBACK_RECEIVE:
      if (lws_is_first_fragment(wsi)) {
        free(s->partial);
        s->partial = NULL;
      }
      if (append_partial(s, in, len, lws_remaining_packet_payload(wsi), lws_frame_is_binary(wsi)))
        return -1;
      if (!lws_is_final_fragment(wsi)) return 0;
      if (s->tail)
        s->tail->next = s->partial;
      else
        s->head = s->partial;
      s->tail = s->partial;
      s->partial = NULL;
      if (++s->queued >= kMaxQueued && !s->rx_paused) {
        s->rx_paused = 1;
        lws_rx_flow_control(wsi, 0);
      }
      lws_callback_on_writable(wsi);
      return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE: {
      struct echo_msg* m = s->head;
      if (!m) return 0;
      int n =
          lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
      if (n < (int)m->len) return -1;
      s->head = m->next;
      if (!s->head) s->tail = NULL;
      free(m);
      --s->queued;
      if (s->rx_paused && s->queued < kMaxQueued / 2) {
        s->rx_paused = 0;
        lws_rx_flow_control(wsi, 1);
      }
      if (s->head) lws_callback_on_writable(wsi);
      return 0;
    }

    case LWS_CALLBACK_CLOSED:
      free_session(s);
      return 0;

    default:
      /* The first protocol also receives the plain HTTP callbacks. */
      return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

static const struct lws_protocols protocols[] = {
    /* First in the list: clients that request no subprotocol are bound to it. */
    {"echo", callback_echo, sizeof(struct session), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char** argv) {
  if ((argc != 2 && argc != 4) || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: %s PORT [CERT KEY]\n", argv[0]);
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = atoi(argv[1]);
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.count_threads = 1;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  const int tls = argc == 4;
  if (tls) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = argv[2];
    info.ssl_private_key_filepath = argv[3];
  }

  struct lws_context* context = lws_create_context(&info);
  if (!context) {
    fprintf(stderr, "bench_lws_echo: cannot create the libwebsockets context\n");
    return 1;
  }
  printf("listening on 127.0.0.1:%d%s\n", info.port, tls ? " (TLS)" : "");
  fflush(stdout);

  int n = 0;
  while (n >= 0 && !interrupted) n = lws_service(context, 0);

  lws_context_destroy(context);
  return 0;
}
