/*
 * timer_drv: a test driver for port timers: driver_set_timer,
 * driver_cancel_timer, driver_read_timer and the timeout callback.
 *
 * Start: open_port({spawn_driver, "timer_drv"}, Opts). Every port gets an
 * instance number 1, 2, ... (start order, per load of the driver). A
 * driver-wide event log records "start(N)", "stop(N)" and "timeout(N)";
 * control $K on any live port returns it (space-separated) and clears it.
 *
 * The timeout callback logs timeout(N), reads the timer (driver_read_timer)
 * and sends "timeout RC LEFT" (its result and the time left); if a chain is
 * running ($n) it re-arms the timer and sends "tick I" instead.
 *
 * port_control(Port, Cmd, Data), replies in list mode:
 * "timer_drv now" sets a 0 ms timer in start.
 *   $s "N"  -> driver_set_timer(port, N); replies its result
 *   $c      -> driver_cancel_timer(port); replies its result
 *   $r      -> driver_read_timer(port, &left); replies "RC LEFT"
 *   $l      -> driver_read_timer(port, &left); replies "LEFT" (for scripts
 *              that compare it: list_to_integer)
 *   $n "K"  -> a chain: arms a 5 ms timer; each timeout sends "tick I"
 *              (I = 1..K) and re-arms from inside the callback until K
 *              ticks have been sent; replies "ok"
 *   $K      -> the event log (then cleared)
 *   other   -> -1 (badarg)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    int id;
    long ticks_left;
    long ticks_sent;
} Tmr;

/* Driver-wide state: safe without locks because the driver does not ask
 * for port-level locking, so the host serialises all its callbacks. */
static char event_log[8192];
static size_t event_len;
static int next_id;

static void log_event(const char *what, int id)
{
    char text[64];
    int n = snprintf(text, sizeof text, "%s%s(%d)", event_len ? " " : "",
                     what, id);
    if (n > 0 && event_len + (size_t)n < sizeof event_log) {
        memcpy(event_log + event_len, text, (size_t)n);
        event_len += (size_t)n;
    }
}

static void send_text(ErlDrvPort port, const char *text)
{
    driver_output(port, (char *)text, strlen(text));
}

static int timer_init(void)
{
    event_len = 0;
    next_id = 0;
    return 0;
}

static ErlDrvData timer_start(ErlDrvPort port, char *command)
{
    Tmr *t = driver_alloc(sizeof(Tmr));
    if (t == NULL)
        return ERL_DRV_ERROR_GENERAL;
    t->port = port;
    t->id = ++next_id;
    t->ticks_left = 0;
    t->ticks_sent = 0;
    log_event("start", t->id);
    /* "timer_drv now": a 0 ms timer from start. */
    if (strstr(command, " now") != NULL)
        driver_set_timer(port, 0);
    return (ErlDrvData)t;
}

static void timer_stop(ErlDrvData data)
{
    Tmr *t = (Tmr *)data;
    log_event("stop", t->id);
    driver_free(t);
}

static void timer_timeout(ErlDrvData data)
{
    Tmr *t = (Tmr *)data;
    char text[64];
    unsigned long left = 12345;
    int rc;
    log_event("timeout", t->id);
    if (t->ticks_left > 0) {
        t->ticks_left--;
        t->ticks_sent++;
        snprintf(text, sizeof text, "tick %ld", t->ticks_sent);
        send_text(t->port, text);
        if (t->ticks_left > 0)
            driver_set_timer(t->port, 5);
        return;
    }
    rc = driver_read_timer(t->port, &left);
    snprintf(text, sizeof text, "timeout %d %lu", rc, left);
    send_text(t->port, text);
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

static ErlDrvSSizeT timer_control(ErlDrvData data, unsigned int command,
                                  char *buf, ErlDrvSizeT len,
                                  char **rbuf, ErlDrvSizeT rlen)
{
    Tmr *t = (Tmr *)data;
    char text[64];
    unsigned long left = 12345;
    ErlDrvSSizeT res;
    int rc;

    switch (command) {
    case 's':
        rc = driver_set_timer(t->port, (unsigned long)parse_num(buf, len));
        snprintf(text, sizeof text, "%d", rc);
        return reply_text(text, rbuf, rlen);
    case 'c':
        snprintf(text, sizeof text, "%d", driver_cancel_timer(t->port));
        return reply_text(text, rbuf, rlen);
    case 'r':
        rc = driver_read_timer(t->port, &left);
        snprintf(text, sizeof text, "%d %lu", rc, left);
        return reply_text(text, rbuf, rlen);
    case 'l':
        driver_read_timer(t->port, &left);
        snprintf(text, sizeof text, "%lu", left);
        return reply_text(text, rbuf, rlen);
    case 'n':
        t->ticks_left = parse_num(buf, len);
        t->ticks_sent = 0;
        driver_set_timer(t->port, 5);
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
    default:
        return -1;
    }
}

static ErlDrvEntry timer_driver_entry = {
    timer_init,
    timer_start,
    timer_stop,
    NULL,                 /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "timer_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    timer_control,
    timer_timeout,
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
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(timer_drv)
{
    return &timer_driver_entry;
}
