/*
 * select_drv: a test driver for I/O events: driver_select, ready_input,
 * ready_output and stop_select, over TCP sockets and pipes on 127.0.0.1.
 *
 * Start: open_port({spawn_driver, "select_drv [desel]"}, Opts). Every port
 * gets an instance number 1, 2, ... (start order, per load of the driver).
 * With "desel", stop deselects every descriptor the port still has in use
 * (driver_select(.., ERL_DRV_USE, 0), the documented way to let go of them);
 * without it, stop leaves them selected (what does the host do then?).
 *
 * Each descriptor the driver selects has a role, named in the log:
 *   listen  the listening socket of control $L
 *   conn    a connection accepted on it (the echo server's side)
 *   client  the client socket of control $C (the driver connects to itself)
 *   pipe_w, pipe_r   the pipe of control $P
 *   shared  the pipe read end of control $D (selected by two ports)
 *   level   the pipe read end of control $I
 *   kept    the pipe read end of control $X (left selected at close)
 *   unselected, nocb, file   see $u, $b, $F
 *
 * A driver-wide event log records, space-separated: "start(N)", "stop(N)",
 * "accept", "stop_select(ROLE)" (stop_select closes the descriptor),
 * "deselect(ROLE)" right after a driver_select(.., ERL_DRV_USE, 0) returned
 * (so the log shows whether stop_select ran inside it or later),
 * "closed(ROLE)" when the driver closed a descriptor itself, and
 * "ready_output(ROLE)". Control $K on any live port returns the log and
 * clears it (stop_select has no port, so it can only log).
 *
 * Messages to the owner ({Port, {data, Text}}):
 *   "got N"        conn: N bytes read and written back (echo)
 *   "eof"          conn: the peer closed; conn is deselected with ERL_DRV_USE
 *   "pong DATA"    client: read DATA (the echo of "ping"); the client is then
 *                  deselected with ERL_DRV_USE, which makes conn see EOF
 *   "pipe DATA"    pipe_r: read DATA written by ready_output on pipe_w
 *   "shared N"     shared: ready_input ran on the port with instance N
 *   "level K"      level: the K-th ready_input
 *   "nocb input", "file ready"   see $b and $F
 *
 * port_control(Port, Cmd, Data), replies in list mode:
 *   $L  -> listens on 127.0.0.1 port 0 (non-blocking), selects the socket
 *          for ERL_DRV_READ|ERL_DRV_USE; replies the TCP port number as text
 *   $C  -> (listening first if need be) connects a client socket to that
 *          listener, writes "ping" and selects the client for reading:
 *          accept -> conn reads and echoes ("got 4") -> client reads
 *          ("pong ping") -> client released -> conn sees EOF ("eof").
 *          Replies "ok"
 *   $P  -> a pipe: selects pipe_w for ERL_DRV_WRITE|ERL_DRV_USE; ready_output
 *          writes "data" into it, deselects ERL_DRV_WRITE only and selects
 *          pipe_r for reading; ready_input on pipe_r reads, sends "pipe data",
 *          releases pipe_r with ERL_DRV_USE_NO_CALLBACK (and closes it
 *          itself: "closed(pipe_r)"), then releases pipe_w with ERL_DRV_USE.
 *          Replies "ok"
 *   $D  -> a pipe whose read end (shared) this port selects for reading
 *          (ERL_DRV_READ|ERL_DRV_USE); replies driver_select's result
 *   $d  -> selects the shared descriptor of $D from this port too; replies
 *          driver_select's result
 *   $w  -> writes one byte into the shared pipe; replies "ok". The port
 *          whose ready_input runs reads it and sends "shared N".
 *   $e  -> releases the shared descriptor from this port (ERL_DRV_USE off)
 *          and closes the write end; replies driver_select's result
 *   $I  -> a pipe with one byte in it and its write end closed: the read end
 *          (level) is selected for reading. The first ready_input sends
 *          "level 1" and deselects ERL_DRV_READ only, without reading (the
 *          descriptor stays readable: no further ready_input may come).
 *          Replies "ok"
 *   $i  -> selects level for reading again: ready_input sends "level 2",
 *          reads, and releases it with ERL_DRV_USE. Replies "ok"
 *   $X  -> a pipe whose read end (kept) is selected for reading, with the
 *          write end kept open (so it never becomes readable); replies "ok"
 *   $u  -> releases (ERL_DRV_USE off) a pipe read end (unselected) that was
 *          never selected; replies driver_select's result
 *   $b  -> a readable pipe read end (nocb) selected for reading, then
 *          driver_select(.., ERL_DRV_USE_NO_CALLBACK, 0) with no direction;
 *          replies its result. If nocb is still selected, ready_input sends
 *          "nocb input" and releases it with ERL_DRV_USE_NO_CALLBACK
 *   $F  -> selects /dev/null (file) for reading, which epoll refuses;
 *          replies driver_select's result. ready_input on it sends
 *          "file ready" and releases it, logging no "deselect(file)": ERTS
 *          sometimes calls this stop_select later, not inside driver_select
 *   $t  -> driver_set_timer(port, 10) (this driver has no timeout
 *          callback); replies its result
 *   $T "NS" -> the next "got N" of conn waits in ready_input until
 *          CLOCK_MONOTONIC reaches NS nanoseconds before it is sent (a
 *          benchmark starts its clock then: benches/isolated.rs); replies "ok"
 *   $K  -> the event log (then cleared)
 *   $n  -> the number of descriptors this port has in use, as text
 *   other -> -1 (badarg)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "erl_driver.h"

#define MAX_FD 4096
#define MAX_USED 16

typedef struct {
    ErlDrvPort port;
    int id;
    int desel_on_stop;
    int listen_fd;
    int level_count;
    int kept_w;
    long long hold_until; /* $T: CLOCK_MONOTONIC ns, or 0 */
    int used[MAX_USED]; /* descriptors selected with ERL_DRV_USE, -1 free */
} Sel;

/* Driver-wide state: safe without locks because the driver does not ask
 * for port-level locking, so the host serialises all its callbacks. */
static char event_log[8192];
static size_t event_len;
static int next_id;
static const char *role[MAX_FD];
static int shared_r = -1, shared_w = -1;

static void log_event(const char *what, const char *arg)
{
    char text[96];
    int n;
    if (arg != NULL)
        n = snprintf(text, sizeof text, "%s%s(%s)", event_len ? " " : "",
                     what, arg);
    else
        n = snprintf(text, sizeof text, "%s%s", event_len ? " " : "", what);
    if (n > 0 && event_len + (size_t)n < sizeof event_log) {
        memcpy(event_log + event_len, text, (size_t)n);
        event_len += (size_t)n;
    }
}

static void log_id(const char *what, int id)
{
    char num[16];
    snprintf(num, sizeof num, "%d", id);
    log_event(what, num);
}

static const char *role_of(int fd)
{
    return fd >= 0 && fd < MAX_FD && role[fd] != NULL ? role[fd] : "?";
}

static void set_role(int fd, const char *name)
{
    if (fd >= 0 && fd < MAX_FD)
        role[fd] = name;
}

static void send_text(ErlDrvPort port, const char *text)
{
    driver_output(port, (char *)text, strlen(text));
}

static ErlDrvEvent ev(int fd)
{
    return (ErlDrvEvent)(ErlDrvSInt)fd;
}

static int fd_of(ErlDrvEvent e)
{
    return (int)(ErlDrvSInt)e;
}

static void remember(Sel *s, int fd)
{
    int i;
    for (i = 0; i < MAX_USED; i++)
        if (s->used[i] == fd)
            return;
    for (i = 0; i < MAX_USED; i++)
        if (s->used[i] < 0) {
            s->used[i] = fd;
            return;
        }
}

static void forget(Sel *s, int fd)
{
    int i;
    for (i = 0; i < MAX_USED; i++)
        if (s->used[i] == fd)
            s->used[i] = -1;
}

/* Selects fd for mode|ERL_DRV_USE; returns driver_select's result. */
static int use(Sel *s, int fd, int mode, const char *name)
{
    int r;
    set_role(fd, name);
    r = driver_select(s->port, ev(fd), mode | ERL_DRV_USE, 1);
    if (r == 0)
        remember(s, fd);
    return r;
}

/* Releases fd: stop_select will close it. Logs "deselect(ROLE)" after
 * driver_select returned if `log` is set. */
static int release_fd(Sel *s, int fd, int log)
{
    const char *name = role_of(fd);
    int r = driver_select(s->port, ev(fd),
                          ERL_DRV_READ | ERL_DRV_WRITE | ERL_DRV_USE, 0);
    forget(s, fd);
    if (log)
        log_event("deselect", name);
    return r;
}

static int release(Sel *s, int fd)
{
    return release_fd(s, fd, 1);
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int select_init(void)
{
    event_len = 0;
    next_id = 0;
    shared_r = shared_w = -1;
    return 0;
}

static ErlDrvData select_start(ErlDrvPort port, char *command)
{
    Sel *s = driver_alloc(sizeof(Sel));
    const char *args = strchr(command, ' ');
    int i;
    if (s == NULL)
        return ERL_DRV_ERROR_GENERAL;
    s->port = port;
    s->id = ++next_id;
    s->desel_on_stop = args != NULL && strcmp(args + 1, "desel") == 0;
    s->listen_fd = -1;
    s->level_count = 0;
    s->kept_w = -1;
    s->hold_until = 0;
    for (i = 0; i < MAX_USED; i++)
        s->used[i] = -1;
    log_id("start", s->id);
    return (ErlDrvData)s;
}

static void select_stop(ErlDrvData data)
{
    Sel *s = (Sel *)data;
    int i;
    log_id("stop", s->id);
    if (s->desel_on_stop)
        for (i = 0; i < MAX_USED; i++)
            if (s->used[i] >= 0)
                release(s, s->used[i]);
    if (s->kept_w >= 0)
        close(s->kept_w);
    driver_free(s);
}

static void select_stop_select(ErlDrvEvent e, void *reserved)
{
    int fd = fd_of(e);
    log_event("stop_select", role_of(fd));
    set_role(fd, NULL);
    close(fd);
}

static int listen_port(Sel *s)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    if (s->listen_fd < 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        if (fd < 0)
            return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0
            || listen(fd, 128) != 0 || set_nonblocking(fd) != 0
            || use(s, fd, ERL_DRV_READ, "listen") != 0) {
            close(fd);
            return -1;
        }
        s->listen_fd = fd;
    }
    if (getsockname(s->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    return ntohs(a.sin_port);
}

static int connect_self(Sel *s)
{
    struct sockaddr_in a;
    int port = listen_port(s), fd;
    if (port < 0)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    /* Blocking connect: on loopback it completes from the listen backlog. */
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0
        || set_nonblocking(fd) != 0 || write(fd, "ping", 4) != 4
        || use(s, fd, ERL_DRV_READ, "client") != 0) {
        close(fd);
        return -1;
    }
    return 0;
}

static void on_listen(Sel *s, int fd)
{
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return; /* EAGAIN: a spurious wake-up */
    set_nonblocking(c);
    log_event("accept", NULL);
    if (use(s, c, ERL_DRV_READ, "conn") != 0)
        close(c);
}

static void on_conn(Sel *s, int fd)
{
    char buf[4096], text[32];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        send_text(s->port, "eof");
        release(s, fd);
        return;
    }
    snprintf(text, sizeof text, "got %ld", (long)n);
    if (s->hold_until) {
        struct timespec ts;
        do
            clock_gettime(CLOCK_MONOTONIC, &ts);
        while (ts.tv_sec * 1000000000LL + ts.tv_nsec < s->hold_until);
        s->hold_until = 0;
    }
    send_text(s->port, text);
    if (write(fd, buf, (size_t)n) != n)
        send_text(s->port, "short write");
}

static void on_client(Sel *s, int fd)
{
    char buf[256], text[300];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0)
        n = 0;
    snprintf(text, sizeof text, "pong %.*s", (int)n, buf);
    send_text(s->port, text);
    release(s, fd);
}

static void on_pipe_r(Sel *s, int fd)
{
    char buf[64], text[80];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0)
        n = 0;
    snprintf(text, sizeof text, "pipe %.*s", (int)n, buf);
    send_text(s->port, text);
    driver_select(s->port, ev(fd), ERL_DRV_READ | ERL_DRV_USE_NO_CALLBACK, 0);
    forget(s, fd);
    log_event("closed", role_of(fd));
    set_role(fd, NULL);
    close(fd);
    /* The write end: with a stop_select, which closes it. */
    {
        int i;
        for (i = 0; i < MAX_USED; i++)
            if (s->used[i] >= 0 && strcmp(role_of(s->used[i]), "pipe_w") == 0) {
                release(s, s->used[i]);
                break;
            }
    }
}

static void on_level(Sel *s, int fd)
{
    char text[32], c;
    s->level_count++;
    snprintf(text, sizeof text, "level %d", s->level_count);
    send_text(s->port, text);
    if (s->level_count == 1) {
        /* Still readable, no longer selected for reading. */
        driver_select(s->port, ev(fd), ERL_DRV_READ, 0);
        return;
    }
    if (read(fd, &c, 1) < 0)
        send_text(s->port, "read failed");
    release(s, fd);
}

static void on_shared(Sel *s, int fd)
{
    char text[32], c;
    if (read(fd, &c, 1) < 0 && errno == EAGAIN)
        return;
    snprintf(text, sizeof text, "shared %d", s->id);
    send_text(s->port, text);
}

static void on_nocb(Sel *s, int fd)
{
    send_text(s->port, "nocb input");
    driver_select(s->port, ev(fd), ERL_DRV_READ | ERL_DRV_USE_NO_CALLBACK, 0);
    forget(s, fd);
    log_event("closed", role_of(fd));
    set_role(fd, NULL);
    close(fd);
}

static void select_ready_input(ErlDrvData data, ErlDrvEvent e)
{
    Sel *s = (Sel *)data;
    int fd = fd_of(e);
    const char *r = role_of(fd);
    if (strcmp(r, "listen") == 0)
        on_listen(s, fd);
    else if (strcmp(r, "conn") == 0)
        on_conn(s, fd);
    else if (strcmp(r, "client") == 0)
        on_client(s, fd);
    else if (strcmp(r, "pipe_r") == 0)
        on_pipe_r(s, fd);
    else if (strcmp(r, "level") == 0)
        on_level(s, fd);
    else if (strcmp(r, "shared") == 0)
        on_shared(s, fd);
    else if (strcmp(r, "nocb") == 0)
        on_nocb(s, fd);
    else if (strcmp(r, "file") == 0) {
        /* No "deselect(file)": ERTS may defer this stop_select (its
         * fallback poll set may be polling the descriptor right now). */
        send_text(s->port, "file ready");
        release_fd(s, fd, 0);
    }
    else
        log_event("ready_input", r);
}

static void select_ready_output(ErlDrvData data, ErlDrvEvent e)
{
    Sel *s = (Sel *)data;
    int fd = fd_of(e);
    const char *r = role_of(fd);
    log_event("ready_output", r);
    if (strcmp(r, "pipe_w") == 0) {
        int rd = -1, i;
        if (write(fd, "data", 4) != 4)
            send_text(s->port, "short write");
        driver_select(s->port, e, ERL_DRV_WRITE, 0);
        for (i = 0; i < MAX_FD; i++)
            if (role[i] != NULL && strcmp(role[i], "pipe_r") == 0)
                rd = i;
        if (rd >= 0)
            use(s, rd, ERL_DRV_READ, "pipe_r");
    } else {
        driver_select(s->port, e, ERL_DRV_WRITE, 0);
    }
}

static ErlDrvSSizeT reply_text(const char *text, char **rbuf, ErlDrvSizeT rlen)
{
    size_t len = strlen(text);
    if (len > rlen) {
        char *big = driver_alloc(len);
        if (big == NULL)
            return -1;
        *rbuf = big;
    }
    memcpy(*rbuf, text, len);
    return (ErlDrvSSizeT)len;
}

static long long parse_ns(const char *buf, ErlDrvSizeT len)
{
    char text[32];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, buf, len);
    text[len] = '\0';
    return strtoll(text, NULL, 10);
}

static ErlDrvSSizeT reply_num(long n, char **rbuf, ErlDrvSizeT rlen)
{
    char text[32];
    snprintf(text, sizeof text, "%ld", n);
    return reply_text(text, rbuf, rlen);
}

static ErlDrvSSizeT select_control(ErlDrvData data, unsigned int command,
                                   char *buf, ErlDrvSizeT len,
                                   char **rbuf, ErlDrvSizeT rlen)
{
    Sel *s = (Sel *)data;
    ErlDrvSSizeT res;
    int fds[2], i, n;

    switch (command) {
    case 'L':
        return reply_num(listen_port(s), rbuf, rlen);
    case 'C':
        return reply_text(connect_self(s) == 0 ? "ok" : "failed", rbuf, rlen);
    case 'P':
        if (pipe(fds) != 0)
            return -1;
        set_nonblocking(fds[0]);
        set_nonblocking(fds[1]);
        set_role(fds[0], "pipe_r");
        return reply_text(use(s, fds[1], ERL_DRV_WRITE, "pipe_w") == 0
                          ? "ok" : "failed", rbuf, rlen);
    case 'D':
        if (pipe(fds) != 0)
            return -1;
        set_nonblocking(fds[0]);
        shared_r = fds[0];
        shared_w = fds[1];
        return reply_num(use(s, shared_r, ERL_DRV_READ, "shared"), rbuf, rlen);
    case 'd':
        return reply_num(use(s, shared_r, ERL_DRV_READ, "shared"), rbuf, rlen);
    case 'w':
        return reply_text(write(shared_w, "x", 1) == 1 ? "ok" : "failed",
                          rbuf, rlen);
    case 'e':
        n = release(s, shared_r);
        close(shared_w);
        shared_r = shared_w = -1;
        return reply_num(n, rbuf, rlen);
    case 'I':
        if (pipe(fds) != 0)
            return -1;
        set_nonblocking(fds[0]);
        if (write(fds[1], "x", 1) != 1)
            return -1;
        close(fds[1]);
        return reply_text(use(s, fds[0], ERL_DRV_READ, "level") == 0
                          ? "ok" : "failed", rbuf, rlen);
    case 'i':
        for (i = 0; i < MAX_USED; i++)
            if (s->used[i] >= 0 && strcmp(role_of(s->used[i]), "level") == 0)
                return reply_num(driver_select(s->port, ev(s->used[i]),
                                               ERL_DRV_READ, 1), rbuf, rlen);
        return -1;
    case 'X':
        if (pipe(fds) != 0)
            return -1;
        set_nonblocking(fds[0]);
        s->kept_w = fds[1];
        return reply_text(use(s, fds[0], ERL_DRV_READ, "kept") == 0
                          ? "ok" : "failed", rbuf, rlen);
    case 'u':
        if (pipe(fds) != 0)
            return -1;
        close(fds[1]);
        set_role(fds[0], "unselected");
        n = driver_select(s->port, ev(fds[0]), ERL_DRV_USE, 0);
        log_event("deselect", "unselected");
        return reply_num(n, rbuf, rlen);
    case 'b':
        if (pipe(fds) != 0)
            return -1;
        set_nonblocking(fds[0]);
        if (write(fds[1], "x", 1) != 1)
            return -1;
        close(fds[1]);
        if (use(s, fds[0], ERL_DRV_READ, "nocb") != 0)
            return -1;
        return reply_num(driver_select(s->port, ev(fds[0]),
                                       ERL_DRV_USE_NO_CALLBACK, 0), rbuf, rlen);
    case 'F':
        n = open("/dev/null", O_RDONLY);
        if (n < 0)
            return -1;
        set_role(n, "file");
        i = driver_select(s->port, ev(n), ERL_DRV_READ | ERL_DRV_USE, 1);
        if (i == 0)
            remember(s, n);
        else
            close(n);
        return reply_num(i, rbuf, rlen);
    case 't':
        return reply_num(driver_set_timer(s->port, 10), rbuf, rlen);
    case 'T':
        s->hold_until = parse_ns(buf, len);
        return reply_text("ok", rbuf, rlen);
    case 'K':
        if (event_len > rlen) {
            char *big = driver_alloc(event_len);
            if (big == NULL)
                return -1;
            *rbuf = big;
        }
        memcpy(*rbuf, event_log, event_len);
        res = (ErlDrvSSizeT)event_len;
        event_len = 0;
        return res;
    case 'n':
        for (i = 0, n = 0; i < MAX_USED; i++)
            n += s->used[i] >= 0;
        return reply_num(n, rbuf, rlen);
    default:
        return -1;
    }
}

static ErlDrvEntry select_driver_entry = {
    select_init,
    select_start,
    select_stop,
    NULL,                 /* output */
    select_ready_input,
    select_ready_output,
    "select_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    select_control,
    NULL,                 /* timeout */
    NULL,                 /* outputv */
    NULL,                 /* ready_async */
    NULL,                 /* flush */
    NULL,                 /* call */
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    0,                    /* driver_flags: driver-level locking */
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    select_stop_select,
    NULL                  /* emergency_close */
};

DRIVER_INIT(select_drv)
{
    return &select_driver_entry;
}
