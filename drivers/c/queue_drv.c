/*
 * queue_drv: exercises the driver queue (driver_enq* / driver_pushq* /
 * driver_deq / driver_peekq* / driver_sizeq), outputv and flush.
 *
 *   open_port({spawn_driver, "queue_drv"}, [])     (or [binary])
 *
 * port_command(Port, IoData) calls outputv, which appends the whole ErlIOVec
 * to the queue (driver_enqv, skip 0). Nothing is sent back.
 *
 * port_control(Port, Cmd, Data), replies in char mode (lists):
 *   $S        -> driver_sizeq as decimal text, e.g. "12"
 *   $D  "N"   -> driver_deq(N); replies with its return value (the bytes left,
 *                or -1 on error) as decimal text
 *   $P        -> the queued bytes, concatenated (driver_peekqv and
 *                driver_vec_to_buf)
 *   $V        -> the queue's segmentation as driver_peekq shows it:
 *                "VLEN:LEN1,LEN2,..." e.g. "2:3,5"
 *   $E  Data  -> driver_enq(Data); replies "ok"
 *   $B  Data  -> driver_enq_bin with a new binary holding Data; replies "ok"
 *   $H  Data  -> driver_pushq(Data) (at the head); replies "ok"
 *   $h  Data  -> driver_pushq_bin with a new binary holding Data; "ok"
 *   $O  Hdr   -> sends the whole queue to the owner with
 *                driver_outputv(Port, Hdr, ...), then dequeues it; replies
 *                with the number of bytes sent as decimal text
 *   $F  Mode  -> chooses what the flush callback does (see below): "drain"
 *                (the default), "timer" or "keep"; replies "ok"
 *   other     -> returns -1 (badarg)
 *
 * flush (called by port_close or {Port, close} while the queue is not empty):
 *   "drain": outputs the remaining queue with driver_outputv, then dequeues it
 *            all, which lets the port finish closing;
 *   "timer": sets a 50 ms timer; the timeout callback dequeues everything;
 *   "keep" : does nothing, so the port lingers in its closing state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

enum flush_mode { FLUSH_DRAIN, FLUSH_TIMER, FLUSH_KEEP };

typedef struct {
    ErlDrvPort port;
    enum flush_mode flush_mode;
} Queue;

static ErlDrvData queue_start(ErlDrvPort port, char *command)
{
    Queue *q = driver_alloc(sizeof(Queue));
    if (q == NULL)
        return ERL_DRV_ERROR_GENERAL;
    q->port = port;
    q->flush_mode = FLUSH_DRAIN;
    return (ErlDrvData)q;
}

static void queue_stop(ErlDrvData data)
{
    driver_free(data);
}

static void queue_outputv(ErlDrvData data, ErlIOVec *ev)
{
    Queue *q = (Queue *)data;
    driver_enqv(q->port, ev, 0);
}

/* Copies len bytes into the reply, allocating when they do not fit. */
static ErlDrvSSizeT reply(const char *buf, ErlDrvSizeT len,
                          char **rbuf, ErlDrvSizeT rlen)
{
    if (len > rlen) {
        char *big = driver_alloc(len);
        if (big == NULL)
            return -1;
        *rbuf = big;
    }
    memcpy(*rbuf, buf, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvSSizeT reply_num(long long n, char **rbuf, ErlDrvSizeT rlen)
{
    char text[32];
    int len = snprintf(text, sizeof text, "%lld", n);
    return reply(text, (ErlDrvSizeT)len, rbuf, rlen);
}

static ErlDrvSSizeT reply_ok(char **rbuf, ErlDrvSizeT rlen)
{
    return reply("ok", 2, rbuf, rlen);
}

/* Parses a decimal number from a control argument (not NUL-terminated). */
static long long parse_num(const char *buf, ErlDrvSizeT len)
{
    char text[32];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, buf, len);
    text[len] = '\0';
    return strtoll(text, NULL, 10);
}

/* A new binary holding a copy of buf; the caller releases its reference. */
static ErlDrvBinary *binary_of(const char *buf, ErlDrvSizeT len)
{
    ErlDrvBinary *bin = driver_alloc_binary(len);
    if (bin != NULL)
        memcpy(bin->orig_bytes, buf, len);
    return bin;
}

/* Sends the whole queue (after the header hdr) to the owner and dequeues
 * it. Returns the number of queued bytes sent. */
static ErlDrvSizeT output_queue(Queue *q, char *hdr, ErlDrvSizeT hlen)
{
    ErlIOVec ev;
    ErlDrvSizeT size = driver_peekqv(q->port, &ev);
    driver_outputv(q->port, hdr, hlen, &ev, 0);
    if (size > 0)
        driver_deq(q->port, size);
    return size;
}

static ErlDrvSSizeT queue_control(ErlDrvData data, unsigned int command,
                                  char *buf, ErlDrvSizeT len,
                                  char **rbuf, ErlDrvSizeT rlen)
{
    Queue *q = (Queue *)data;
    ErlDrvBinary *bin;
    ErlIOVec ev;
    SysIOVec *iov;
    ErlDrvSizeT size;
    char *text;
    ErlDrvSSizeT res;
    int vlen, i, n;

    switch (command) {
    case 'S':
        return reply_num((long long)driver_sizeq(q->port), rbuf, rlen);
    case 'D':
        return reply_num((long long)(ErlDrvSSizeT)driver_deq(q->port,
                                                     parse_num(buf, len)),
                         rbuf, rlen);
    case 'P':
        size = driver_peekqv(q->port, &ev);
        text = driver_alloc(size + 1);
        driver_vec_to_buf(&ev, text, size);
        res = reply(text, size, rbuf, rlen);
        driver_free(text);
        return res;
    case 'V':
        iov = driver_peekq(q->port, &vlen);
        text = driver_alloc(32 + 24 * (size_t)(vlen > 0 ? vlen : 0));
        n = sprintf(text, "%d:", vlen);
        for (i = 0; i < vlen; i++)
            n += sprintf(text + n, i ? ",%lu" : "%lu",
                         (unsigned long)iov[i].iov_len);
        res = reply(text, (ErlDrvSizeT)n, rbuf, rlen);
        driver_free(text);
        return res;
    case 'E':
        driver_enq(q->port, buf, len);
        return reply_ok(rbuf, rlen);
    case 'B':
        if ((bin = binary_of(buf, len)) == NULL)
            return -1;
        driver_enq_bin(q->port, bin, 0, len);
        driver_free_binary(bin); /* the queue holds its own reference */
        return reply_ok(rbuf, rlen);
    case 'H':
        driver_pushq(q->port, buf, len);
        return reply_ok(rbuf, rlen);
    case 'h':
        if ((bin = binary_of(buf, len)) == NULL)
            return -1;
        driver_pushq_bin(q->port, bin, 0, len);
        driver_free_binary(bin);
        return reply_ok(rbuf, rlen);
    case 'O':
        return reply_num((long long)output_queue(q, buf, len), rbuf, rlen);
    case 'F':
        if (len == 5 && memcmp(buf, "drain", 5) == 0)
            q->flush_mode = FLUSH_DRAIN;
        else if (len == 5 && memcmp(buf, "timer", 5) == 0)
            q->flush_mode = FLUSH_TIMER;
        else if (len == 4 && memcmp(buf, "keep", 4) == 0)
            q->flush_mode = FLUSH_KEEP;
        else
            return -1;
        return reply_ok(rbuf, rlen);
    default:
        return -1;
    }
}

static void queue_flush(ErlDrvData data)
{
    Queue *q = (Queue *)data;
    switch (q->flush_mode) {
    case FLUSH_DRAIN:
        output_queue(q, NULL, 0);
        break;
    case FLUSH_TIMER:
        driver_set_timer(q->port, 50);
        break;
    case FLUSH_KEEP:
        break;
    }
}

static void queue_timeout(ErlDrvData data)
{
    Queue *q = (Queue *)data;
    ErlDrvSizeT size = driver_sizeq(q->port);
    if (size > 0)
        driver_deq(q->port, size);
}

static ErlDrvEntry queue_driver_entry = {
    NULL,                 /* init */
    queue_start,          /* start */
    queue_stop,           /* stop */
    NULL,                 /* output: outputv is used instead */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "queue_drv",          /* driver_name */
    NULL,                 /* finish */
    NULL,                 /* handle */
    queue_control,        /* control */
    queue_timeout,        /* timeout */
    queue_outputv,        /* outputv */
    NULL,                 /* ready_async */
    queue_flush,          /* flush */
    NULL,                 /* call */
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    0,                    /* driver_flags */
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(queue_drv)
{
    return &queue_driver_entry;
}
