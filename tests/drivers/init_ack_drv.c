/*
 * init_ack_drv: a driver with ERL_DRV_FLAG_USE_INIT_ACK. open_port returns
 * (or raises) when the driver calls erl_drv_init_ack, not when start
 * returns.
 *
 * Start: open_port({spawn_driver, "init_ack_drv WHERE RESULT"}, Opts).
 *   WHERE  start: erl_drv_init_ack from start itself
 *          timer: start sends "started" and sets a 10 ms timer; the timeout
 *                 acks
 *          async: start queues a driver_async job; ready_async acks
 *          fail:  start returns RESULT itself (no ack)
 *          die:   start sets a 10 ms timer whose timeout calls
 *                 driver_failure_atom(port, "died") instead of acking
 *   RESULT ok:      acks with a second state (tag "ack"; start returns its
 *                   own state, tag "start")
 *          general: ERL_DRV_ERROR_GENERAL
 *          badarg:  ERL_DRV_ERROR_BADARG
 *          errno:   ERL_DRV_ERROR_ERRNO with errno = ENOENT (set right
 *                   before the ack, in the acking thread)
 *
 * A driver-wide event log records "start(WHERE)", "ack(WHERE)" and
 * "stop(X)" where X is the tag of the state stop received, or the number
 * if it is an ERL_DRV_ERROR_* value; control $K on any open port returns it
 * (space-separated) and clears it.
 *
 * port_control(Port, Cmd, Data):
 *   $w -> the tag of the port's state ("start" or "ack")
 *   $K -> the event log (then cleared)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

typedef struct Ack {
    ErlDrvPort port;
    char tag[8];
    /* The state to ack with (RESULT ok), freed at stop if unused. */
    struct Ack *other;
    char where[8];
    char result[8];
} Ack;

static char event_log[1024];
static size_t event_len;

static void log_text(const char *what, const char *arg)
{
    char text[64];
    int n = snprintf(text, sizeof text, "%s%s(%s)", event_len ? " " : "", what, arg);
    if (n > 0 && event_len + (size_t)n < sizeof event_log) {
        memcpy(event_log + event_len, text, (size_t)n);
        event_len += (size_t)n;
    }
}

static int ack_init(void)
{
    event_len = 0;
    return 0;
}

static Ack *new_state(ErlDrvPort port, const char *tag)
{
    Ack *a = driver_alloc(sizeof(Ack));
    memset(a, 0, sizeof *a);
    a->port = port;
    snprintf(a->tag, sizeof a->tag, "%s", tag);
    return a;
}

static ErlDrvData result_value(Ack *a)
{
    if (strcmp(a->result, "general") == 0)
        return ERL_DRV_ERROR_GENERAL;
    if (strcmp(a->result, "badarg") == 0)
        return ERL_DRV_ERROR_BADARG;
    if (strcmp(a->result, "errno") == 0) {
        errno = ENOENT;
        return ERL_DRV_ERROR_ERRNO;
    }
    return (ErlDrvData)a->other;
}

static void do_ack(Ack *a)
{
    ErlDrvData res;
    log_text("ack", a->where);
    res = result_value(a);
    if (res == (ErlDrvData)a->other)
        a->other = NULL; /* now the port's state */
    erl_drv_init_ack(a->port, res);
}

static void async_invoke(void *data)
{
    (void)data;
}

static void async_free(void *data)
{
    (void)data;
}

static ErlDrvData ack_start(ErlDrvPort port, char *command)
{
    Ack *a = new_state(port, "start");
    char *args = strchr(command, ' ');
    if (args == NULL || sscanf(args, " %7s %7s", a->where, a->result) != 2) {
        driver_free(a);
        return ERL_DRV_ERROR_BADARG;
    }
    a->other = new_state(port, "ack");
    log_text("start", a->where);
    if (strcmp(a->where, "start") == 0) {
        do_ack(a);
    } else if (strcmp(a->where, "timer") == 0 || strcmp(a->where, "die") == 0) {
        driver_output(port, "started", 7);
        driver_set_timer(port, 10);
    } else if (strcmp(a->where, "async") == 0) {
        driver_async(port, NULL, async_invoke, a, async_free);
    } else {
        ErlDrvData res = result_value(a);
        if (res != (ErlDrvData)a->other) {
            driver_free(a->other);
            driver_free(a);
            return res;
        }
    }
    return (ErlDrvData)a;
}

static int is_error(ErlDrvData d)
{
    return d == ERL_DRV_ERROR_GENERAL || d == ERL_DRV_ERROR_ERRNO
        || d == ERL_DRV_ERROR_BADARG;
}

static void ack_stop(ErlDrvData data)
{
    Ack *a = (Ack *)data;
    char num[16];
    if (is_error(data)) {
        snprintf(num, sizeof num, "%ld", (long)data);
        log_text("stop", num);
        return;
    }
    log_text("stop", a->tag);
    if (a->other != NULL)
        driver_free(a->other);
    driver_free(a);
}

static void ack_timeout(ErlDrvData data)
{
    Ack *a = (Ack *)data;
    if (strcmp(a->where, "die") == 0)
        driver_failure_atom(a->port, "died");
    else
        do_ack(a);
}

static void ack_ready_async(ErlDrvData data, ErlDrvThreadData thread_data)
{
    do_ack((Ack *)data);
}

static ErlDrvSSizeT ack_control(ErlDrvData data, unsigned int command,
                                char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    Ack *a = (Ack *)data;
    ErlDrvSSizeT n;
    switch (command) {
    case 'w':
        n = (ErlDrvSSizeT)strlen(a->tag);
        memcpy(*rbuf, a->tag, (size_t)n);
        return n;
    case 'K':
        n = (ErlDrvSSizeT)event_len;
        if (event_len > rlen)
            *rbuf = driver_alloc(event_len);
        memcpy(*rbuf, event_log, event_len);
        event_len = 0;
        return n;
    default:
        return -1;
    }
}

static ErlDrvEntry ack_driver_entry = {
    ack_init,
    ack_start,
    ack_stop,
    NULL,                 /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "init_ack_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    ack_control,
    ack_timeout,
    NULL,                 /* outputv */
    ack_ready_async,
    NULL,                 /* flush */
    NULL,                 /* call */
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    ERL_DRV_FLAG_USE_INIT_ACK,
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(init_ack_drv)
{
    return &ack_driver_entry;
}
