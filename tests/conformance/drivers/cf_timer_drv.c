/*
 * cf_timer_drv: driver timers (driver_SUITE's timer group: timer_cancel,
 * timer_change, timer_delay; our own code). Commands (port_command):
 *   <<0, T:32>>  driver_set_timer(T), remembering when
 *   <<1>>        driver_cancel_timer, then outputs [4]
 *   <<2, T:32>>  sleeps 500 ms in the callback, then sets the timer
 *   <<5, T:32>>  sets the timer again (a change): T counts from now
 *   <<6>>        driver_read_timer: outputs [6, InRange, Ret] where InRange
 *                is 1 if 0 =< left =< the last timeout set
 * timeout outputs [3, NotEarly, NotLate]: whether it fired at least T ms
 * after the timer was set (after the sleep of <<2>>: T + 500 from the
 * command) and less than T + 400 ms after.
 */
#include <unistd.h>
#include "cf_common.h"

typedef struct {
    ErlDrvPort port;
    long set_at, due_after;
} Tm;

static ErlDrvData tm_start(ErlDrvPort port, char *cmd)
{
    Tm *t = driver_alloc(sizeof(Tm));
    (void)cmd;
    t->port = port;
    t->set_at = t->due_after = 0;
    return (ErlDrvData)t;
}

static void tm_stop(ErlDrvData d) { driver_free(d); }

static unsigned long be32(const unsigned char *p)
{
    return ((unsigned long)p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

static void tm_output(ErlDrvData d, char *buf, ErlDrvSizeT len)
{
    Tm *t = (Tm *)d;
    unsigned char *b = (unsigned char *)buf;
    char out[3];
    if (len < 1) return;
    switch (b[0]) {
    case 0: case 5:
        if (len < 5) return;
        t->set_at = cf_now_ms();
        t->due_after = (long)be32(b + 1);
        driver_set_timer(t->port, be32(b + 1));
        break;
    case 2:
        if (len < 5) return;
        t->set_at = cf_now_ms();
        t->due_after = (long)be32(b + 1) + 500;
        usleep(500 * 1000);
        driver_set_timer(t->port, be32(b + 1));
        break;
    case 1:
        driver_cancel_timer(t->port);
        out[0] = 4;
        driver_output(t->port, out, 1);
        break;
    case 6: {
        unsigned long left = 4711;
        int r = driver_read_timer(t->port, &left);
        out[0] = 6;
        out[1] = left <= (unsigned long)t->due_after;
        out[2] = (char)r;
        driver_output(t->port, out, 3);
        break;
    }
    }
}

static void tm_timeout(ErlDrvData d)
{
    Tm *t = (Tm *)d;
    long elapsed = cf_now_ms() - t->set_at;
    char out[3];
    out[0] = 3;
    out[1] = elapsed >= t->due_after;
    out[2] = elapsed < t->due_after + 400;
    driver_output(t->port, out, 3);
}

static ErlDrvEntry tm_entry = {
    NULL, tm_start, tm_stop, tm_output, NULL, NULL, "cf_timer_drv",
    NULL, NULL, NULL, tm_timeout, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_timer_drv) { return &tm_entry; }
