/*
 * A driver that exits from a chosen callback while its queue is not empty
 * (driver_SUITE's ioq_exit group; our own code). Define IOQ_NAME and, for
 * the outputv variant, IOQ_OUTPUTV before including this file.
 *
 * port_control(Port, Op, _) arms one callback; that callback enqueues
 * "queued" and calls driver_failure_atom(port, "<callback name>"):
 *   $i ready_input (a pipe with a byte in it, selected READ|USE)
 *   $o ready_output (a pipe's write end, selected WRITE|USE)
 *   $t timeout (driver_set_timer 0)       $a ready_async (driver_async)
 *   $c control itself                     $f flush (enqueue now; the
 *                                         script then calls port_close)
 *   call and output/outputv always do it.
 *   $L replies the driver-wide log of flush, stop_select and stop calls,
 *   then clears it.
 * stop_select closes the pipe end it is given; stop closes what is left.
 */
#include <unistd.h>
#include "cf_common.h"

#define IOQ_STR2(x) #x
#define IOQ_STR(x) IOQ_STR2(x)

typedef struct {
    ErlDrvPort port;
    int rfd, wfd;
    int fail_in_flush;
} Ioq;

static int ioq_init(void) { cf_log_init(); return 0; }

static ErlDrvData ioq_start(ErlDrvPort port, char *cmd)
{
    Ioq *q = driver_alloc(sizeof(Ioq));
    (void)cmd;
    q->port = port;
    q->rfd = q->wfd = -1;
    q->fail_in_flush = 0;
    return (ErlDrvData)q;
}

static void ioq_stop(ErlDrvData d)
{
    Ioq *q = (Ioq *)d;
    cf_log("stop");
    if (q->rfd >= 0) close(q->rfd);
    if (q->wfd >= 0) close(q->wfd);
    driver_free(q);
}

static void ioq_exit(Ioq *q, const char *where)
{
    driver_enq(q->port, "queued", 6);
    driver_failure_atom(q->port, (char *)where);
}

static void ioq_ready_input(ErlDrvData d, ErlDrvEvent ev)
{
    Ioq *q = (Ioq *)d;
    driver_select(q->port, ev, ERL_DRV_READ | ERL_DRV_USE, 0);
    q->rfd = -1; /* stop_select closes it */
    ioq_exit(q, "ready_input");
}

static void ioq_ready_output(ErlDrvData d, ErlDrvEvent ev)
{
    Ioq *q = (Ioq *)d;
    driver_select(q->port, ev, ERL_DRV_WRITE | ERL_DRV_USE, 0);
    q->wfd = -1;
    ioq_exit(q, "ready_output");
}

static void ioq_stop_select(ErlDrvEvent ev, void *reserved)
{
    (void)reserved;
    cf_log("stop_select");
    close((int)(ErlDrvSInt)ev);
}

static void ioq_timeout(ErlDrvData d) { ioq_exit((Ioq *)d, "timeout"); }
static void ioq_job(void *arg) { (void)arg; }
static void ioq_ready_async(ErlDrvData d, ErlDrvThreadData td) { (void)td; ioq_exit((Ioq *)d, "ready_async"); }

static void ioq_flush(ErlDrvData d)
{
    Ioq *q = (Ioq *)d;
    cf_log("flush");
    if (q->fail_in_flush)
        driver_failure_atom(q->port, "flush");
}

static ErlDrvSSizeT ioq_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    Ioq *q = (Ioq *)d;
    int fds[2];
    (void)buf; (void)len;
    switch (op) {
    case 'i':
        if (pipe(fds) != 0) return -1;
        if (write(fds[1], "x", 1) != 1) return -1;
        q->rfd = fds[0];
        q->wfd = fds[1];
        driver_select(q->port, (ErlDrvEvent)(ErlDrvSInt)fds[0], ERL_DRV_READ | ERL_DRV_USE, 1);
        break;
    case 'o':
        if (pipe(fds) != 0) return -1;
        q->rfd = fds[0];
        q->wfd = fds[1];
        driver_select(q->port, (ErlDrvEvent)(ErlDrvSInt)fds[1], ERL_DRV_WRITE | ERL_DRV_USE, 1);
        break;
    case 't': driver_set_timer(q->port, 0); break;
    case 'a': driver_async(q->port, NULL, ioq_job, NULL, NULL); break;
    case 'c': ioq_exit(q, "control"); break;
    case 'f': driver_enq(q->port, "queued", 6); q->fail_in_flush = 1; break;
    case 'L': return cf_log_take(rbuf, rlen);
    default: return -1;
    }
    return cf_reply(rbuf, rlen, "ok");
}

static ErlDrvSSizeT ioq_call(ErlDrvData d, unsigned int cmd, char *buf, ErlDrvSizeT len,
                             char **rbuf, ErlDrvSizeT rlen, unsigned int *flags)
{
    Ioq *q = (Ioq *)d;
    static const char ok[] = {(char)131, 119, 2, 'o', 'k'}; /* external format of ok */
    (void)cmd; (void)buf; (void)len; (void)flags; (void)rlen;
    ioq_exit(q, "call");
    memcpy(*rbuf, ok, sizeof ok);
    return sizeof ok;
}

#ifdef IOQ_OUTPUTV
static void ioq_outputv(ErlDrvData d, ErlIOVec *ev) { (void)ev; ioq_exit((Ioq *)d, "outputv"); }
#define IOQ_OUTPUT NULL
#define IOQ_OUTPUTV_FN ioq_outputv
#else
static void ioq_output(ErlDrvData d, char *buf, ErlDrvSizeT len) { (void)buf; (void)len; ioq_exit((Ioq *)d, "output"); }
#define IOQ_OUTPUT ioq_output
#define IOQ_OUTPUTV_FN NULL
#endif

static ErlDrvEntry ioq_entry = {
    ioq_init, ioq_start, ioq_stop, IOQ_OUTPUT, ioq_ready_input, ioq_ready_output,
    IOQ_STR(IOQ_NAME), NULL, NULL, ioq_control, ioq_timeout, IOQ_OUTPUTV_FN,
    ioq_ready_async, ioq_flush, ioq_call, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, ioq_stop_select, NULL
};

DRIVER_INIT(IOQ_NAME) { return &ioq_entry; }
