/*
 * probe_drv: a test driver that reports what the host gives it, so that the
 * same script can be compared under ERTS and under porthost.
 *
 * Start: open_port({spawn_driver, "probe_drv ARGS"}, Opts). The whole command
 * string is kept (control $c returns it). If ARGS is "out", start calls
 * driver_output(port, "started", 7) (is output from start delivered?).
 *
 * Every port gets an instance number 1, 2, ... (in start order, per load of
 * the driver). A driver-wide event log records "start(N)", "flush(N)",
 * "stop(N)" and "timeout(N)"; control $K on any live probe port returns it
 * (space-separated) and clears it. This is how a script observes flush and
 * stop, which cannot send anything themselves.
 *
 * outputv (probe_drv only; probe_flat_drv has just output) sends the owner
 * one message describing the ErlIOVec:
 *   "outputv vsize=V size=S iov=E1,E2,..."
 * where each Ei is "LEN:-" when binv[i] is NULL, or "LEN:bORIG+OFF" when
 * binv[i] is a binary of orig_size ORIG and iov[i].iov_base lies OFF bytes
 * into its orig_bytes (OFF is "?" when it does not point into it).
 * output (probe_flat_drv) sends "output len=N" and then the data itself.
 *
 * The queue: $q Data enqueues (driver_enq); $d "N" dequeues N bytes. The
 * flush callback logs flush(N) and dequeues everything, unless the port was
 * told $k (keep): then the port lingers in its closing state for good (no
 * control reaches a closing port), which shows what a lingering port looks
 * like.
 *
 * port_control(Port, Cmd, Data), replies in list mode unless noted:
 *   $c          -> the command string start received
 *   $K          -> the event log (then cleared)
 *   $r          -> the rlen the host passed, as decimal text
 *   $o Data     -> driver_output(Data), then replies "ok"
 *   $2 [HL|HB]  -> driver_output2 with the first HL bytes of HB as header
 *                  and the rest as data; replies "ok"
 *   $b [HL,Off|HB] -> driver_output_binary: header = first HL bytes of HB,
 *                  binary = the rest, sent from offset Off; replies "ok"
 *   $V [HL|HB]  -> driver_outputv: header HL bytes, then the rest as a
 *                  two-segment ErlIOVec (binary + plain); replies "ok"
 *   $f "N"      -> driver_failure(port, N); replies ""
 *   $a Name     -> driver_failure_atom(port, Name); replies ""
 *   $p "N"      -> driver_failure_posix(port, N) (N = errno number)
 *   $e          -> driver_failure_eof(port)
 *   $x "N"      -> driver_exit(port, N)
 *   $S "N"      -> sleeps N ms (holding the port's lock), then
 *                  driver_exit(port, 0): a caller waiting for the lock
 *                  meanwhile finds the port closed
 *   $n          -> returns -1 (badarg)
 *   $L "N"      -> replies N bytes 0,1,2,...,255,0,... (list mode; uses
 *                  driver_alloc when N > rlen)
 *   $M          -> set_port_control_flags(PORT_CONTROL_FLAG_BINARY); "ok"
 *   $m          -> set_port_control_flags(0); "ok"
 *   $B [O,R]    -> binary mode reply: a new ErlDrvBinary of orig_size O
 *                  (bytes $a, $b, ...) stored in *rbuf, return value R
 *   $R "N"      -> binary mode reply written into the host's rbuf (no
 *                  ErlDrvBinary): N bytes $a, $b, ... and returns N
 *   $Z          -> sets *rbuf = NULL and returns 0
 *   $C          -> "caller=connected" or "caller/=connected"
 *                  (driver_caller vs driver_connected)
 *   $q Data     -> driver_enq(Data); replies the new queue size
 *   $d "N"      -> driver_deq(N); replies the bytes left
 *   $k          -> the flush callback will keep the queue
 *   $T "N"      -> driver_set_timer(N ms); timeout logs timeout(N) and sends
 *                  "timeout"
 *   $F          -> get_port_flags as decimal text
 *   $W          -> from now on output/outputv call
 *                  driver_failure_atom(port, "output_failed") instead
 *   other       -> -1 (badarg)
 *
 * erlang:port_call(Port, Cmd, Term):
 *   0 -> Term back (the encoded bytes echoed)
 *   1 -> garbage: bytes that are not the external term format
 *   2 -> {Cmd, Len} where Len is the byte length of the encoded argument
 *   3 -> a 300-byte binary (a reply larger than rlen, via driver_alloc)
 *   4 -> the rlen the host passed, as an integer
 *   5 -> returns -1
 *   other -> the atom 'undefined_call'
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "erl_driver.h"

#ifndef PROBE_NAME
#define PROBE_NAME probe_drv
#define PROBE_OUTPUTV 1
#endif
#define PROBE_STR2(x) #x
#define PROBE_STR(x) PROBE_STR2(x)

typedef struct {
    ErlDrvPort port;
    int id;
    int keep_queue;
    int fail_output;
    char *command;
} Probe;

/* Driver-wide state: safe without locks because the driver does not ask
 * for port-level locking, so the host serialises all its callbacks. */
static char event_log[8192];
static size_t event_len;
static int next_id;

static void log_event(const char *what, int id)
{
    char text[64];
    int n = snprintf(text, sizeof text, "%s%s(%d)",
                     event_len ? " " : "", what, id);
    if (n > 0 && event_len + (size_t)n < sizeof event_log) {
        memcpy(event_log + event_len, text, (size_t)n);
        event_len += (size_t)n;
    }
}

static int probe_init(void)
{
    event_len = 0;
    next_id = 0;
    return 0;
}

static ErlDrvData probe_start(ErlDrvPort port, char *command)
{
    Probe *p = driver_alloc(sizeof(Probe));
    const char *args;
    if (p == NULL)
        return ERL_DRV_ERROR_GENERAL;
    p->port = port;
    p->id = ++next_id;
    p->keep_queue = 0;
    p->fail_output = 0;
    p->command = driver_alloc(strlen(command) + 1);
    strcpy(p->command, command);
    log_event("start", p->id);
    args = strchr(command, ' ');
    if (args != NULL && strcmp(args + 1, "out") == 0)
        driver_output(port, "started", 7);
    return (ErlDrvData)p;
}

static void probe_stop(ErlDrvData data)
{
    Probe *p = (Probe *)data;
    log_event("stop", p->id);
    driver_free(p->command);
    driver_free(p);
}

static void send_text(ErlDrvPort port, const char *text)
{
    driver_output(port, (char *)text, strlen(text));
}

#ifdef PROBE_OUTPUTV
static void probe_outputv(ErlDrvData data, ErlIOVec *ev)
{
    Probe *p = (Probe *)data;
    size_t cap = 64 + 48 * (size_t)ev->vsize;
    char *text = driver_alloc(cap);
    int n, i;

    if (p->fail_output) {
        driver_free(text);
        driver_failure_atom(p->port, "output_failed");
        return;
    }
    n = snprintf(text, cap, "outputv vsize=%d size=%lu iov=", ev->vsize,
                 (unsigned long)ev->size);
    for (i = 0; i < ev->vsize; i++) {
        const char *sep = i ? "," : "";
        ErlDrvBinary *b = ev->binv[i];
        unsigned long len = (unsigned long)ev->iov[i].iov_len;
        if (b == NULL) {
            n += snprintf(text + n, cap - n, "%s%lu:-", sep, len);
        } else {
            char *base = (char *)ev->iov[i].iov_base;
            long orig = (long)b->orig_size;
            if (base >= b->orig_bytes && base <= b->orig_bytes + orig)
                n += snprintf(text + n, cap - n, "%s%lu:b%ld+%ld", sep, len,
                              orig, (long)(base - b->orig_bytes));
            else
                n += snprintf(text + n, cap - n, "%s%lu:b%ld+?", sep, len,
                              orig);
        }
    }
    send_text(p->port, text);
    driver_free(text);
}
#define PROBE_OUTPUTV_FN probe_outputv
#define PROBE_OUTPUT_FN NULL
#else
static void probe_output(ErlDrvData data, char *buf, ErlDrvSizeT len)
{
    Probe *p = (Probe *)data;
    char text[64];
    if (p->fail_output) {
        driver_failure_atom(p->port, "output_failed");
        return;
    }
    snprintf(text, sizeof text, "output len=%lu", (unsigned long)len);
    send_text(p->port, text);
    driver_output(p->port, buf, len);
}
#define PROBE_OUTPUTV_FN NULL
#define PROBE_OUTPUT_FN probe_output
#endif

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

static ErlDrvSSizeT reply_text(const char *text, char **rbuf, ErlDrvSizeT rlen)
{
    return reply(text, strlen(text), rbuf, rlen);
}

static ErlDrvSSizeT reply_num(long long n, char **rbuf, ErlDrvSizeT rlen)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", n);
    return reply_text(text, rbuf, rlen);
}

static long long parse_num(const char *buf, ErlDrvSizeT len)
{
    char text[32];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, buf, len);
    text[len] = '\0';
    return strtoll(text, NULL, 10);
}

static char *c_string(const char *buf, ErlDrvSizeT len)
{
    char *s = driver_alloc(len + 1);
    memcpy(s, buf, len);
    s[len] = '\0';
    return s;
}

static ErlDrvBinary *letters_binary(ErlDrvSizeT size)
{
    ErlDrvBinary *bin = driver_alloc_binary(size);
    ErlDrvSizeT i;
    for (i = 0; i < size; i++)
        bin->orig_bytes[i] = (char)('a' + i % 26);
    return bin;
}

static ErlDrvSSizeT probe_control(ErlDrvData data, unsigned int command,
                                  char *buf, ErlDrvSizeT len,
                                  char **rbuf, ErlDrvSizeT rlen)
{
    Probe *p = (Probe *)data;
    ErlDrvBinary *bin;
    ErlDrvSSizeT res;
    char *s;
    ErlDrvSizeT i, n, hl, off;

    switch (command) {
    case 'c':
        return reply_text(p->command, rbuf, rlen);
    case 'K':
        res = reply(event_log, event_len, rbuf, rlen);
        event_len = 0;
        return res;
    case 'r':
        return reply_num((long long)rlen, rbuf, rlen);
    case 'o':
        driver_output(p->port, buf, len);
        return reply_text("ok", rbuf, rlen);
    case '2':
        hl = len > 0 ? (unsigned char)buf[0] : 0;
        if (len < 1 + hl)
            return -1;
        driver_output2(p->port, buf + 1, hl, buf + 1 + hl, len - 1 - hl);
        return reply_text("ok", rbuf, rlen);
    case 'b':
        if (len < 2)
            return -1;
        hl = (unsigned char)buf[0];
        off = (unsigned char)buf[1];
        if (len < 2 + hl || len - 2 - hl < off)
            return -1;
        n = len - 2 - hl;
        bin = driver_alloc_binary(n);
        memcpy(bin->orig_bytes, buf + 2 + hl, n);
        driver_output_binary(p->port, buf + 2, hl, bin, off, n - off);
        driver_free_binary(bin);
        return reply_text("ok", rbuf, rlen);
    case 'V': {
        ErlIOVec ev;
        SysIOVec iov[2];
        ErlDrvBinary *binv[2];
        hl = len > 0 ? (unsigned char)buf[0] : 0;
        if (len < 1 + hl)
            return -1;
        n = len - 1 - hl;
        bin = driver_alloc_binary(n / 2);
        memcpy(bin->orig_bytes, buf + 1 + hl, n / 2);
        iov[0].iov_base = bin->orig_bytes;
        iov[0].iov_len = n / 2;
        binv[0] = bin;
        iov[1].iov_base = buf + 1 + hl + n / 2;
        iov[1].iov_len = n - n / 2;
        binv[1] = NULL;
        ev.vsize = 2;
        ev.size = n;
        ev.iov = iov;
        ev.binv = binv;
        driver_outputv(p->port, buf + 1, hl, &ev, 0);
        driver_free_binary(bin);
        return reply_text("ok", rbuf, rlen);
    }
    case 'f':
        driver_failure(p->port, (int)parse_num(buf, len));
        return 0;
    case 'a':
        s = c_string(buf, len);
        driver_failure_atom(p->port, s);
        driver_free(s);
        return 0;
    case 'p':
        driver_failure_posix(p->port, (int)parse_num(buf, len));
        return 0;
    case 'e':
        driver_failure_eof(p->port);
        return 0;
    case 'x':
        driver_exit(p->port, (int)parse_num(buf, len));
        return 0;
    case 'S': {
        long ms = parse_num(buf, len);
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        driver_exit(p->port, 0);
        return 0;
    }
    case 'n':
        return -1;
    case 'L':
        n = (ErlDrvSizeT)parse_num(buf, len);
        s = driver_alloc(n + 1);
        for (i = 0; i < n; i++)
            s[i] = (char)(i & 0xff);
        res = reply(s, n, rbuf, rlen);
        driver_free(s);
        return res;
    case 'M':
        set_port_control_flags(p->port, PORT_CONTROL_FLAG_BINARY);
        return reply_text("ok", rbuf, rlen);
    case 'm':
        set_port_control_flags(p->port, 0);
        return reply_text("ok", rbuf, rlen);
    case 'B':
        if (len != 2)
            return -1;
        bin = letters_binary((unsigned char)buf[0]);
        *rbuf = (char *)bin;
        return (unsigned char)buf[1];
    case 'R':
        n = (ErlDrvSizeT)parse_num(buf, len);
        if (n > rlen)
            return -1;
        for (i = 0; i < n; i++)
            (*rbuf)[i] = (char)('a' + i % 26);
        return (ErlDrvSSizeT)n;
    case 'Z':
        *rbuf = NULL;
        return 0;
    case 'C':
        return reply_text(driver_caller(p->port) == driver_connected(p->port)
                          ? "caller=connected" : "caller/=connected",
                          rbuf, rlen);
    case 'q':
        driver_enq(p->port, buf, len);
        return reply_num((long long)driver_sizeq(p->port), rbuf, rlen);
    case 'd':
        return reply_num((long long)(ErlDrvSSizeT)driver_deq(p->port,
                                                     parse_num(buf, len)),
                         rbuf, rlen);
    case 'k':
        p->keep_queue = 1;
        return reply_text("ok", rbuf, rlen);
    case 'T':
        driver_set_timer(p->port, (unsigned long)parse_num(buf, len));
        return reply_text("ok", rbuf, rlen);
    case 'F':
        return reply_num(get_port_flags(p->port), rbuf, rlen);
    case 'W':
        p->fail_output = 1;
        return reply_text("ok", rbuf, rlen);
    default:
        return -1;
    }
}

static void probe_flush(ErlDrvData data)
{
    Probe *p = (Probe *)data;
    ErlDrvSizeT size = driver_sizeq(p->port);
    log_event("flush", p->id);
    if (!p->keep_queue && size > 0)
        driver_deq(p->port, size);
}

static void probe_timeout(ErlDrvData data)
{
    Probe *p = (Probe *)data;
    log_event("timeout", p->id);
    send_text(p->port, "timeout");
}

/* External term format, by hand (no ei): version byte 131, then tags. */
#define ETF_VERSION 131
#define ETF_SMALL_INTEGER 97
#define ETF_INTEGER 98
#define ETF_SMALL_TUPLE 104
#define ETF_BINARY 109
#define ETF_SMALL_ATOM_UTF8 119

static size_t put_int(unsigned char *out, long v)
{
    if (v >= 0 && v < 256) {
        out[0] = ETF_SMALL_INTEGER;
        out[1] = (unsigned char)v;
        return 2;
    }
    out[0] = ETF_INTEGER;
    out[1] = (unsigned char)(v >> 24);
    out[2] = (unsigned char)(v >> 16);
    out[3] = (unsigned char)(v >> 8);
    out[4] = (unsigned char)v;
    return 5;
}

static ErlDrvSSizeT probe_call(ErlDrvData data, unsigned int command,
                               char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen,
                               unsigned int *flags)
{
    unsigned char out[320];
    size_t n = 0, i;

    switch (command) {
    case 0:
        return reply(buf, len, rbuf, rlen);
    case 1:
        return reply("\x01\x02garbage", 9, rbuf, rlen);
    case 2:
        out[n++] = ETF_VERSION;
        out[n++] = ETF_SMALL_TUPLE;
        out[n++] = 2;
        n += put_int(out + n, (long)command);
        n += put_int(out + n, (long)len);
        return reply((char *)out, n, rbuf, rlen);
    case 3:
        out[n++] = ETF_VERSION;
        out[n++] = ETF_BINARY;
        out[n++] = 0;
        out[n++] = 0;
        out[n++] = 300 >> 8;
        out[n++] = 300 & 0xff;
        for (i = 0; i < 300; i++)
            out[n++] = (unsigned char)('a' + i % 26);
        return reply((char *)out, n, rbuf, rlen);
    case 4:
        out[n++] = ETF_VERSION;
        n += put_int(out + n, (long)rlen);
        return reply((char *)out, n, rbuf, rlen);
    case 5:
        return -1;
    default:
        out[n++] = ETF_VERSION;
        out[n++] = ETF_SMALL_ATOM_UTF8;
        out[n++] = 14;
        memcpy(out + n, "undefined_call", 14);
        n += 14;
        return reply((char *)out, n, rbuf, rlen);
    }
}

static ErlDrvEntry probe_driver_entry = {
    probe_init,
    probe_start,
    probe_stop,
    PROBE_OUTPUT_FN,
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    PROBE_STR(PROBE_NAME),
    NULL,                 /* finish */
    NULL,                 /* handle */
    probe_control,
    probe_timeout,
    PROBE_OUTPUTV_FN,
    NULL,                 /* ready_async */
    probe_flush,
    probe_call,
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    0,                    /* driver_flags: driver-level locking */
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(PROBE_NAME)
{
    return &probe_driver_entry;
}
