/*
 * Hooks preloaded into the console's x11vnc (LD_PRELOAD, set by image/src/supervisor/x11vnc.ts): it greets a new VNC
 * client at once instead of 0.1-0.3 s later (1, 2), polls fast while a new viewer waits for its first picture (3),
 * and tells the supervisor who watches (4). Hand-written because no option of x11vnc 0.9.16 or libvncserver 0.9.14
 * does any of these, and the greeting is on every start's critical path twice (the provider's readiness probe, then
 * the viewer): docs/benchmarks.md has the numbers.
 *
 * 1. webSocketsCheck: libvncserver waits up to 100 ms for each new client to speak first, to tell a WebSocket or
 *    TLS handshake from RFB, whose client never speaks first. The console never serves WebSockets (the proxy does),
 *    so every client is plain RFB at once. This also keeps a page in the console's Chromium from speaking WebSocket
 *    to x11vnc: a "GET" gets the RFB greeting, not an upgrade.
 * 2. select(0, NULL, NULL, NULL, timeout): how x11vnc sleeps. While nobody is connected its main loop sleeps 200 ms
 *    between looks at the listening sockets. Here such a sleep ends early when a connection waits on a socket that
 *    x11vnc listens on (recorded by listen below); x11vnc's loop then accepts it. At most one early end per
 *    EARLY_WAKE_GAP_NS, so that a connection x11vnc does not accept straight away cannot make it spin.
 * 3. For FAST_POLL_WINDOW_NS after x11vnc accepted a client, its sleeps between screen polls last at most
 *    FAST_POLL_MS instead of its -wait (100 ms in the console): a new viewer is the moment a person waits for a
 *    picture (the KVM opens when a viewer connects), so a change reaches it ~40 ms sooner on average, as x11vnc's
 *    own -wait_ui does while a viewer types. A watched console polls at -wait again after the window.
 * 4. Viewers, when BMC_CONSOLE_VIEWER_FD names an open descriptor (the supervisor's pipe): a '+' goes to it when an
 *    accepted client first sends bytes (its RFB version, after the greeting), a '-' when such a client's socket is
 *    closed. The supervisor counts viewers from these without polling the kernel's TCP tables; a readiness probe
 *    reads the greeting and closes without sending, so it is never counted.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 8
#define EARLY_WAKE_GAP_NS 50000000L
#define FAST_POLL_WINDOW_NS 3000000000L
#define FAST_POLL_MS 20
/* Client sockets above this are not reported (the console's descriptor limit is 4096). */
#define MAX_TRACKED_FD 65536

typedef int (*listen_fn)(int, int);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef int (*close_fn)(int);

enum client_state { NOT_A_CLIENT, ACCEPTED, VIEWER };
typedef int (*select_fn)(int, fd_set *, fd_set *, fd_set *, struct timeval *);

static int listeners[MAX_LISTENERS];
static int listener_count;
static struct timespec last_early_wake;
static struct timespec last_accept;
static int accepted_any;
static int viewer_fd = -1;
static unsigned char clients[MAX_TRACKED_FD];

__attribute__((constructor)) static void find_viewer_fd(void) {
  const char *named = getenv("BMC_CONSOLE_VIEWER_FD");
  if (!named) return;
  char *end;
  long fd = strtol(named, &end, 10);
  unsetenv("BMC_CONSOLE_VIEWER_FD");
  if (*end || fd < 0 || fd > 1024 || fcntl((int)fd, F_GETFD) < 0) return;
  /* Never block x11vnc on a supervisor that does not read, and keep the pipe from x11vnc's children. */
  fcntl((int)fd, F_SETFL, fcntl((int)fd, F_GETFL) | O_NONBLOCK);
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  viewer_fd = (int)fd;
}

static void report(char event) {
  if (viewer_fd >= 0 && write(viewer_fd, &event, 1) < 0) {
    /* a full or closed pipe: the supervisor is gone or stuck, and x11vnc goes on */
  }
}

/* libvncserver's rfbBool webSocketsCheck(rfbClientPtr): TRUE = a plain RFB client, go on with the greeting. */
int8_t webSocketsCheck(void *client) {
  (void)client;
  return 1;
}

int listen(int fd, int backlog) {
  static listen_fn real_listen;
  if (!real_listen) real_listen = (listen_fn)dlsym(RTLD_NEXT, "listen");
  int result = real_listen(fd, backlog);
  if (result == 0 && listener_count < MAX_LISTENERS) listeners[listener_count++] = fd;
  return result;
}

static int is_listener(int fd) {
  for (int i = 0; i < listener_count; i++)
    if (listeners[i] == fd) return 1;
  return 0;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen) {
  static accept_fn real_accept;
  if (!real_accept) real_accept = (accept_fn)dlsym(RTLD_NEXT, "accept");
  int client = real_accept(fd, addr, addrlen);
  if (client >= 0 && is_listener(fd)) {
    clock_gettime(CLOCK_MONOTONIC, &last_accept);
    accepted_any = 1;
    if (client < MAX_TRACKED_FD) clients[client] = ACCEPTED;
  }
  return client;
}

ssize_t read(int fd, void *buf, size_t count) {
  static read_fn real_read;
  if (!real_read) real_read = (read_fn)dlsym(RTLD_NEXT, "read");
  ssize_t n = real_read(fd, buf, count);
  if (n > 0 && fd >= 0 && fd < MAX_TRACKED_FD && clients[fd] == ACCEPTED) {
    clients[fd] = VIEWER;
    report('+');
  }
  return n;
}

int close(int fd) {
  static close_fn real_close;
  if (!real_close) real_close = (close_fn)dlsym(RTLD_NEXT, "close");
  if (fd >= 0 && fd < MAX_TRACKED_FD && clients[fd] != NOT_A_CLIENT) {
    if (clients[fd] == VIEWER) report('-');
    clients[fd] = NOT_A_CLIENT;
  }
  return real_close(fd);
}

static long nanoseconds_between(const struct timespec *from, const struct timespec *to) {
  return (to->tv_sec - from->tv_sec) * 1000000000L + (to->tv_nsec - from->tv_nsec);
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout) {
  static select_fn real_select;
  if (!real_select) real_select = (select_fn)dlsym(RTLD_NEXT, "select");
  int is_sleep = nfds == 0 && !readfds && !writefds && !exceptfds && timeout;
  if (!is_sleep || listener_count == 0) return real_select(nfds, readfds, writefds, exceptfds, timeout);

  int ms = (int)(timeout->tv_sec * 1000 + timeout->tv_usec / 1000);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (accepted_any && ms > FAST_POLL_MS && nanoseconds_between(&last_accept, &now) < FAST_POLL_WINDOW_NS) {
    ms = FAST_POLL_MS;
    timeout->tv_sec = 0;
    timeout->tv_usec = FAST_POLL_MS * 1000;
  }
  if (ms <= 0 || nanoseconds_between(&last_early_wake, &now) < EARLY_WAKE_GAP_NS)
    return real_select(0, NULL, NULL, NULL, timeout);

  struct pollfd waiting[MAX_LISTENERS];
  for (int i = 0; i < listener_count; i++) {
    waiting[i].fd = listeners[i];
    waiting[i].events = POLLIN;
    waiting[i].revents = 0;
  }
  if (poll(waiting, (nfds_t)listener_count, ms) > 0) clock_gettime(CLOCK_MONOTONIC, &last_early_wake);
  return 0;
}
