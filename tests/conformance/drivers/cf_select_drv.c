/*
 * cf_select_drv: driver_select edge cases (driver_SUITE's
 * driver_select_use, bad_fd_in_pollset, steal_control; our own code).
 * port_control(Port, Op, _), replies the driver_select return value as
 * decimal text unless noted:
 *   $p  a new pipe, after closing the old one (replies "ok"); the ops
 *       below use its read end R
 *   $r  driver_select(R, READ|USE, 1)      $R  driver_select(R, READ, 1)
 *   $x  driver_select(R, READ, 0)          $u  driver_select(R, READ|USE, 0)
 *   $U  driver_select(R, USE, 0)
 *   $w  writes a byte into the pipe ("ok")
 *   $c  closes R without deselecting it ("ok"); R's number stays known
 *   $n  driver_select(-1, READ, 1)
 *   $z  driver_select(R, READ, 0) on a fresh pipe never selected
 *   $L  the driver-wide log (then cleared)
 * ready_input reads what is there and outputs "in:N" (N bytes read).
 * stop_select logs "stop_select" and closes the fd; stop logs "stop" and
 * closes the pipe's write end (and R unless it was given to stop_select).
 */
#include <unistd.h>
#include "cf_common.h"

typedef struct {
    ErlDrvPort port;
    int r, w;
    int r_used; /* R was selected with USE and not yet given back */
} Sl;

static int sl_init(void) { cf_log_init(); return 0; }

static ErlDrvData sl_start(ErlDrvPort port, char *cmd)
{
    Sl *s = driver_alloc(sizeof(Sl));
    (void)cmd;
    s->port = port;
    s->r = s->w = -1;
    s->r_used = 0;
    return (ErlDrvData)s;
}

static void sl_stop(ErlDrvData d)
{
    Sl *s = (Sl *)d;
    cf_log("stop");
    if (s->w >= 0) close(s->w);
    if (s->r >= 0 && !s->r_used) close(s->r);
    driver_free(s);
}

#define EV(fd) ((ErlDrvEvent)(ErlDrvSInt)(fd))

static ErlDrvSSizeT sl_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    Sl *s = (Sl *)d;
    int fds[2];
    (void)buf; (void)len;
    switch (op) {
    case 'p':
        /* Close the old pipe first: the new one may reuse its numbers. */
        if (s->w >= 0) close(s->w);
        if (s->r >= 0 && !s->r_used) close(s->r);
        s->r = s->w = -1;
        if (pipe(fds) != 0) return -1;
        s->r = fds[0];
        s->w = fds[1];
        s->r_used = 0;
        return cf_reply(rbuf, rlen, "ok");
    case 'r': s->r_used = 1; return cf_reply_int(rbuf, rlen, driver_select(s->port, EV(s->r), ERL_DRV_READ | ERL_DRV_USE, 1));
    case 'R': return cf_reply_int(rbuf, rlen, driver_select(s->port, EV(s->r), ERL_DRV_READ, 1));
    case 'x': return cf_reply_int(rbuf, rlen, driver_select(s->port, EV(s->r), ERL_DRV_READ, 0));
    case 'u': return cf_reply_int(rbuf, rlen, driver_select(s->port, EV(s->r), ERL_DRV_READ | ERL_DRV_USE, 0));
    case 'U': return cf_reply_int(rbuf, rlen, driver_select(s->port, EV(s->r), ERL_DRV_USE, 0));
    case 'w': if (write(s->w, "x", 1) != 1) return -1; return cf_reply(rbuf, rlen, "ok");
    case 'c': close(s->r); s->r_used = 1; return cf_reply(rbuf, rlen, "ok"); /* not closed again */
    case 'n': return cf_reply_int(rbuf, rlen, driver_select(s->port, EV(-1), ERL_DRV_READ, 1));
    case 'z': {
        int r;
        if (pipe(fds) != 0) return -1;
        r = driver_select(s->port, EV(fds[0]), ERL_DRV_READ, 0);
        close(fds[0]);
        close(fds[1]);
        return cf_reply_int(rbuf, rlen, r);
    }
    case 'L': return cf_log_take(rbuf, rlen);
    }
    return -1;
}

static void sl_ready_input(ErlDrvData d, ErlDrvEvent ev)
{
    Sl *s = (Sl *)d;
    char b[256], out[32];
    ssize_t n = read((int)(ErlDrvSInt)ev, b, sizeof b);
    snprintf(out, sizeof out, "in:%ld", (long)n);
    driver_output(s->port, out, strlen(out));
}

static void sl_stop_select(ErlDrvEvent ev, void *reserved)
{
    (void)reserved;
    cf_log("stop_select");
    close((int)(ErlDrvSInt)ev);
}

static ErlDrvEntry sl_entry = {
    sl_init, sl_start, sl_stop, NULL, sl_ready_input, NULL, "cf_select_drv",
    NULL, NULL, sl_control, NULL, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, sl_stop_select, NULL
};

DRIVER_INIT(cf_select_drv) { return &sl_entry; }
