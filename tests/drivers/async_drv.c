/*
 * async_drv: a test driver for the async pool: driver_async, ready_async,
 * async_free and driver_async_port_key.
 *
 * Start: open_port({spawn_driver, "async_drv"}, Opts). Every port gets an
 * instance number 1, 2, ... (start order, per load of the driver).
 *
 * A driver-wide event log (under a driver mutex: async_free may run on any
 * thread) records, space-separated: "start(N)", "stop(N)",
 * "async_free(N:TAG)" (the data of a job of port N came back through
 * async_free instead of ready_async). Control $K on any live port returns
 * it and clears it.
 *
 * Messages to the owner ({Port, {data, Text}}), from ready_async:
 *   "sum N S"      a job of $a: S = 1*1 + 2*2 + ... + N*N, computed in the
 *                  async thread
 *   "job I"        the I-th job (from 1) of a batch of $k
 *   "late"         the job of $w (never expected: its port is gone)
 *
 * port_control(Port, Cmd, Data), replies in list mode:
 *   $a "N"  -> driver_async (no key) of a job computing the sum of squares
 *              1..N; replies driver_async's return value as text
 *   $q "N"  -> as $a, with key driver_async_port_key(port) + N; replies the
 *              key as driver_async left it (ERTS writes the queue number,
 *              key % async threads, back into it)
 *   $k "N"  -> N jobs with key driver_async_port_key(port); job I sleeps
 *              (N - I) * 2 ms in the async thread, so that only the key
 *              keeps them in order; replies "ok"
 *   $w      -> a job that blocks in the async thread until the port stops
 *              (stop writes to a pipe the job reads), then sleeps 50 ms; its
 *              data comes back through async_free ("async_free(N:wait)").
 *              Replies "ok"
 *   $t "NS" -> driver_async (no key) of a job that spins in the async thread
 *              until CLOCK_MONOTONIC reaches NS nanoseconds; ready_async
 *              then sends "sum 0 0" (a benchmark starts its clock at NS:
 *              benches/isolated.rs); replies driver_async's return value
 *   $K      -> the event log (then cleared)
 *   other   -> -1 (badarg)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    int id;
    int wake_w; /* write end of the pipe a $w job waits on, or -1 */
} Asy;

enum kind { SUM, ORDERED, WAIT, UNTIL };

typedef struct {
    enum kind kind;
    int port_id;
    long n;       /* SUM: the argument; ORDERED: the job number */
    long long until; /* UNTIL: CLOCK_MONOTONIC ns */
    long total;   /* ORDERED: the batch size */
    long result;
    int wake_r;   /* WAIT: the pipe's read end */
} Job;

static ErlDrvMutex *log_mtx;
static char event_log[8192];
static size_t event_len;
static int next_id;

static void log_event(const char *text)
{
    size_t n = strlen(text);
    erl_drv_mutex_lock(log_mtx);
    if (event_len + n + 1 < sizeof event_log) {
        if (event_len)
            event_log[event_len++] = ' ';
        memcpy(event_log + event_len, text, n);
        event_len += n;
    }
    erl_drv_mutex_unlock(log_mtx);
}

static void log_id(const char *what, int id, const char *tag)
{
    char text[64];
    if (tag)
        snprintf(text, sizeof text, "%s(%d:%s)", what, id, tag);
    else
        snprintf(text, sizeof text, "%s(%d)", what, id);
    log_event(text);
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* The mutex is never destroyed: a process with several hosts (a test
 * binary) shares this library's statics between them, so one host's finish
 * must not pull it from under another's async_free. */
static int async_init(void)
{
    if (log_mtx == NULL)
        log_mtx = erl_drv_mutex_create("async_drv_log");
    event_len = 0;
    next_id = 0;
    return log_mtx == NULL ? -1 : 0;
}

static ErlDrvData async_start(ErlDrvPort port, char *command)
{
    Asy *a = driver_alloc(sizeof(Asy));
    if (a == NULL)
        return ERL_DRV_ERROR_GENERAL;
    a->port = port;
    a->id = ++next_id;
    a->wake_w = -1;
    log_id("start", a->id, NULL);
    return (ErlDrvData)a;
}

static void async_stop(ErlDrvData data)
{
    Asy *a = (Asy *)data;
    log_id("stop", a->id, NULL);
    if (a->wake_w >= 0) {
        if (write(a->wake_w, "x", 1) != 1)
            log_event("wake failed");
        close(a->wake_w);
    }
    driver_free(a);
}

static void job_invoke(void *p)
{
    Job *j = (Job *)p;
    long i;
    char c;
    switch (j->kind) {
    case SUM:
        j->result = 0;
        for (i = 1; i <= j->n; i++)
            j->result += i * i;
        break;
    case ORDERED:
        sleep_ms((j->total - j->n) * 2);
        break;
    case WAIT:
        if (read(j->wake_r, &c, 1) != 1)
            c = 0;
        sleep_ms(50);
        break;
    case UNTIL: {
        struct timespec ts;
        do
            clock_gettime(CLOCK_MONOTONIC, &ts);
        while (ts.tv_sec * 1000000000LL + ts.tv_nsec < j->until);
        j->result = 0;
        break;
    }
    }
}

static void job_free(void *p)
{
    Job *j = (Job *)p;
    log_id("async_free", j->port_id,
           j->kind == SUM || j->kind == UNTIL ? "sum" : j->kind == ORDERED ? "job" : "wait");
    if (j->kind == WAIT)
        close(j->wake_r);
    driver_free(j);
}

static void async_ready_async(ErlDrvData data, ErlDrvThreadData td)
{
    Asy *a = (Asy *)data;
    Job *j = (Job *)td;
    char text[64];
    switch (j->kind) {
    case SUM:
    case UNTIL:
        snprintf(text, sizeof text, "sum %ld %ld", j->n, j->result);
        break;
    case ORDERED:
        snprintf(text, sizeof text, "job %ld", j->n);
        break;
    case WAIT:
        snprintf(text, sizeof text, "late");
        close(j->wake_r);
        break;
    }
    driver_output(a->port, text, strlen(text));
    driver_free(j);
}

static Job *new_job(Asy *a, enum kind kind, long n)
{
    Job *j = driver_alloc(sizeof(Job));
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->port_id = a->id;
    j->n = n;
    j->wake_r = -1;
    return j;
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

static long parse_num(const char *buf, ErlDrvSizeT len)
{
    char text[32];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, buf, len);
    text[len] = '\0';
    return strtol(text, NULL, 10);
}

static ErlDrvSSizeT async_control(ErlDrvData data, unsigned int command,
                                  char *buf, ErlDrvSizeT len,
                                  char **rbuf, ErlDrvSizeT rlen)
{
    Asy *a = (Asy *)data;
    char text[32];
    ErlDrvSSizeT res;
    unsigned int key;
    long i, n;
    int fds[2];
    Job *j;

    switch (command) {
    case 'a':
        j = new_job(a, SUM, parse_num(buf, len));
        snprintf(text, sizeof text, "%ld",
                 driver_async(a->port, NULL, job_invoke, j, job_free));
        return reply_text(text, rbuf, rlen);
    case 't':
        j = new_job(a, UNTIL, 0);
        {
            char ns[32];
            ErlDrvSizeT l = len < sizeof ns ? len : sizeof ns - 1;
            memcpy(ns, buf, l);
            ns[l] = '\0';
            j->until = strtoll(ns, NULL, 10);
        }
        snprintf(text, sizeof text, "%ld",
                 driver_async(a->port, NULL, job_invoke, j, job_free));
        return reply_text(text, rbuf, rlen);
    case 'q':
        j = new_job(a, SUM, parse_num(buf, len));
        key = driver_async_port_key(a->port) + (unsigned int)parse_num(buf, len);
        driver_async(a->port, &key, job_invoke, j, job_free);
        snprintf(text, sizeof text, "%u", key);
        return reply_text(text, rbuf, rlen);
    case 'k':
        n = parse_num(buf, len);
        for (i = 1; i <= n; i++) {
            j = new_job(a, ORDERED, i);
            j->total = n;
            key = driver_async_port_key(a->port);
            driver_async(a->port, &key, job_invoke, j, job_free);
        }
        return reply_text("ok", rbuf, rlen);
    case 'w':
        if (a->wake_w >= 0 || pipe(fds) != 0)
            return -1;
        a->wake_w = fds[1];
        j = new_job(a, WAIT, 0);
        j->wake_r = fds[0];
        driver_async(a->port, NULL, job_invoke, j, job_free);
        return reply_text("ok", rbuf, rlen);
    case 'K':
        erl_drv_mutex_lock(log_mtx);
        if (event_len > rlen) {
            char *big = driver_alloc(event_len);
            if (big == NULL) {
                erl_drv_mutex_unlock(log_mtx);
                return -1;
            }
            *rbuf = big;
        }
        memcpy(*rbuf, event_log, event_len);
        res = (ErlDrvSSizeT)event_len;
        event_len = 0;
        erl_drv_mutex_unlock(log_mtx);
        return res;
    default:
        return -1;
    }
}

static ErlDrvEntry async_driver_entry = {
    async_init,
    async_start,
    async_stop,
    NULL,                 /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "async_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    async_control,
    NULL,                 /* timeout */
    NULL,                 /* outputv */
    async_ready_async,
    NULL,                 /* flush */
    NULL,                 /* call */
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

DRIVER_INIT(async_drv)
{
    return &async_driver_entry;
}
