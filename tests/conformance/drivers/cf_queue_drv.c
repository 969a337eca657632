/*
 * cf_queue_drv: the driver queue from every side (driver_SUITE's
 * queue_echo and peek_non_existing_queue; our own code).
 *
 * port_control(Port, Op, Data), replies in list mode:
 *   $e Data  driver_enq           $p Data  driver_pushq
 *   $E Data  driver_enq_bin       $P Data  driver_pushq_bin
 *            (a binary of one junk byte + Data, queued from offset 1)
 *   $v Data  driver_enqv          $w Data  driver_pushqv
 *            (an ErlIOVec of two segments, each in a binary)
 *   every queueing op replies the new driver_sizeq as decimal text;
 *   $d "N"   driver_deq(N), replies what it returns
 *   $s       driver_sizeq
 *   $h "N"   the first N queued bytes, read through driver_peekq
 *   $n       the vector count driver_peekq reports
 *   $q       "size/vsize" of driver_peekqv
 *   $X       peek_non_existing_queue, part 1: enq "!", make a PDL and
 *            start an async job (key 0) that sleeps 300 ms, then, with the
 *            PDL locked, calls driver_peekq and driver_sizeq on the port
 *            (which the script has killed by then) and keeps the results
 *   $Y       part 2: an async job on the same key that runs after it; its
 *            ready_async sends {Port, peek_result, VecIsNull, Vlen, Sizeq}
 *            to the caller of $Y
 * port_command / Port ! {P, {command, [Op | Data]}} (outputv):
 *   Op $V: driver_enqv(ev, 1) (skip the op byte); $W: driver_pushqv(ev, 1)
 *   then driver_output of the new size as decimal text.
 * The queue is emptied by flush.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    ErlDrvTermData caller;
} Q;

typedef struct {
    ErlDrvPort port;
    ErlDrvPDL pdl;
} PeekJob;

static int peek_vec_null = -1, peek_vlen = 4711, peek_size = 4711;

static ErlDrvData q_start(ErlDrvPort port, char *cmd)
{
    Q *q = driver_alloc(sizeof(Q));
    (void)cmd;
    q->port = port;
    q->caller = 0;
    return (ErlDrvData)q;
}

static void q_stop(ErlDrvData d) { driver_free(d); }

static ErlDrvSSizeT reply(char **rbuf, ErlDrvSizeT rlen, const char *s)
{
    size_t n = strlen(s);
    if (n > rlen)
        *rbuf = driver_alloc(n);
    memcpy(*rbuf, s, n);
    return (ErlDrvSSizeT)n;
}

static ErlDrvSSizeT reply_int(char **rbuf, ErlDrvSizeT rlen, long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%ld", v);
    return reply(rbuf, rlen, tmp);
}

static long num(char *buf, ErlDrvSizeT len)
{
    char tmp[32];
    if (len > 31) len = 31;
    memcpy(tmp, buf, len);
    tmp[len] = 0;
    return atol(tmp);
}

static void peek_job(void *arg)
{
    PeekJob *j = arg;
    SysIOVec *vec;
    int vlen = 4711;
    usleep(300 * 1000);
    driver_pdl_lock(j->pdl);
    vec = driver_peekq(j->port, &vlen);
    peek_vec_null = vec == NULL;
    peek_vlen = vlen;
    peek_size = (int)driver_sizeq(j->port);
    driver_pdl_unlock(j->pdl);
}

static void free_job(void *arg) { driver_free(arg); }
static void noop_job(void *arg) { (void)arg; }

static void q_ready_async(ErlDrvData d, ErlDrvThreadData td)
{
    Q *q = (Q *)d;
    (void)td;
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, driver_mk_port(q->port),
        ERL_DRV_ATOM, driver_mk_atom("peek_result"),
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)peek_vec_null,
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)peek_vlen,
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)peek_size,
        ERL_DRV_TUPLE, 5
    };
    erl_drv_send_term(driver_mk_port(q->port), q->caller, spec, sizeof spec / sizeof spec[0]);
}

/* An ErlIOVec of two segments, each in a binary of its own (ERTS's
 * driver_enqv keeps references to binv[i] instead of copying: every
 * segment must lie in a binary). The second one starts one byte into its
 * binary. */
static void two_segments(char *buf, ErlDrvSizeT len, ErlIOVec *ev, SysIOVec *iov,
                         ErlDrvBinary **binv)
{
    ErlDrvSizeT half = len / 2;
    binv[0] = driver_alloc_binary(half);
    binv[1] = driver_alloc_binary(len - half + 1);
    memcpy(binv[0]->orig_bytes, buf, half);
    binv[1]->orig_bytes[0] = '#';
    memcpy(binv[1]->orig_bytes + 1, buf + half, len - half);
    iov[0].iov_base = binv[0]->orig_bytes;
    iov[0].iov_len = half;
    iov[1].iov_base = binv[1]->orig_bytes + 1;
    iov[1].iov_len = len - half;
    ev->vsize = 2;
    ev->size = len;
    ev->iov = iov;
    ev->binv = binv;
}

static ErlDrvSSizeT q_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                              char **rbuf, ErlDrvSizeT rlen)
{
    Q *q = (Q *)d;
    ErlDrvPort port = q->port;
    switch (op) {
    case 'e': driver_enq(port, buf, len); break;
    case 'p': driver_pushq(port, buf, len); break;
    case 'E': case 'P': {
        ErlDrvBinary *b = driver_alloc_binary(len + 1);
        b->orig_bytes[0] = '#';
        memcpy(b->orig_bytes + 1, buf, len);
        if (op == 'E') driver_enq_bin(port, b, 1, len);
        else driver_pushq_bin(port, b, 1, len);
        driver_free_binary(b);
        break;
    }
    case 'v': case 'w': {
        ErlIOVec ev;
        SysIOVec iov[2];
        ErlDrvBinary *binv[2];
        two_segments(buf, len, &ev, iov, binv);
        if (op == 'v') driver_enqv(port, &ev, 0);
        else driver_pushqv(port, &ev, 0);
        driver_free_binary(binv[0]);
        driver_free_binary(binv[1]);
        break;
    }
    case 'd': return reply_int(rbuf, rlen, (long)driver_deq(port, num(buf, len)));
    case 's': break;
    case 'h': {
        long want = num(buf, len), got = 0;
        int vlen = 0, i;
        SysIOVec *vec = driver_peekq(port, &vlen);
        char *out = driver_alloc(want > 0 ? want : 1);
        for (i = 0; vec && i < vlen && got < want; i++) {
            long n = (long)vec[i].iov_len;
            if (n > want - got) n = want - got;
            memcpy(out + got, vec[i].iov_base, n);
            got += n;
        }
        *rbuf = out;
        return got;
    }
    case 'n': {
        int vlen = -7;
        (void)driver_peekq(port, &vlen);
        return reply_int(rbuf, rlen, vlen);
    }
    case 'q': {
        ErlIOVec ev;
        char tmp[64];
        ErlDrvSizeT sz = driver_peekqv(port, &ev);
        snprintf(tmp, sizeof tmp, "%lu/%d/%lu", (unsigned long)sz, ev.vsize, (unsigned long)ev.size);
        return reply(rbuf, rlen, tmp);
    }
    case 'X': {
        unsigned int key = 0;
        PeekJob *j = driver_alloc(sizeof(PeekJob));
        driver_enq(port, "!", 1);
        j->port = port;
        j->pdl = driver_pdl_create(port);
        driver_async(port, &key, peek_job, j, free_job);
        return reply(rbuf, rlen, "ok");
    }
    case 'Y': {
        unsigned int key = 0;
        q->caller = driver_caller(port);
        driver_async(port, &key, noop_job, NULL, NULL);
        return reply(rbuf, rlen, "ok");
    }
    default:
        return -1;
    }
    return reply_int(rbuf, rlen, (long)driver_sizeq(port));
}

static void q_outputv(ErlDrvData d, ErlIOVec *ev)
{
    Q *q = (Q *)d;
    char op = 0, tmp[32];
    if (ev->size == 0) return;
    driver_vec_to_buf(ev, &op, 1);
    if (op == 'V') driver_enqv(q->port, ev, 1);
    else if (op == 'W') driver_pushqv(q->port, ev, 1);
    snprintf(tmp, sizeof tmp, "%lu", (unsigned long)driver_sizeq(q->port));
    driver_output(q->port, tmp, strlen(tmp));
}

static void q_flush(ErlDrvData d)
{
    Q *q = (Q *)d;
    driver_deq(q->port, driver_sizeq(q->port));
}

static ErlDrvEntry q_entry = {
    NULL, q_start, q_stop, NULL, NULL, NULL, "cf_queue_drv",
    NULL, NULL, q_control, NULL, q_outputv, q_ready_async, q_flush, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION, ERL_DRV_EXTENDED_MINOR_VERSION,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_queue_drv) { return &q_entry; }
