/*
 * crash_drv: a driver that crashes on demand, to test isolated workers.
 *
 *   open_port({spawn_driver, "crash_drv [HOW]"}, [isolated])
 *       With HOW, start itself crashes that way.
 *   port_command(P, HOW)        output crashes.
 *   port_control(P, $c, HOW)    control crashes.
 *   port_control(P, $t, HOW)    arms a 100 ms timer whose timeout crashes
 *                               (long enough for the reply to come first,
 *                               even on a loaded machine).
 *   port_control(P, $e, Data)   echoes Data (a healthy call).
 *   port_control(P, $s, "Ms")   sleeps Ms milliseconds, then answers
 *                               "slept" (a call still running when its
 *                               caller goes away).
 *
 * HOW: segv, abort, exit, recurse, loop, alloc. Before each crash the driver
 * sends {data, "before HOW"} with driver_output: that message must reach the
 * owner although the worker dies right after.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    char how[32];
} Crash;

static volatile int sink;
static volatile int never; /* always 0: keeps the compiler from calling the recursion endless */

static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    if (never)
        return 0;
    return recurse(n + 1) + pad[0];
}

static void crash(ErlDrvPort port, const char *how)
{
    char msg[64] = "before ";
    strncat(msg, how, sizeof msg - 8);
    driver_output(port, msg, strlen(msg));
    if (strcmp(how, "segv") == 0) {
        sink = *(volatile int *)(long)sink;
    } else if (strcmp(how, "abort") == 0) {
        abort();
    } else if (strcmp(how, "exit") == 0) {
        exit(3);
    } else if (strcmp(how, "recurse") == 0) {
        sink = recurse(0);
    } else if (strcmp(how, "loop") == 0) {
        for (;;)
            sink++;
    } else if (strcmp(how, "alloc") == 0) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (p == NULL)
                abort();
            memset(p, 1, 1 << 20);
        }
    }
}

static void set_how(Crash *c, const char *buf, ErlDrvSizeT len)
{
    if (len >= sizeof c->how)
        len = sizeof c->how - 1;
    memcpy(c->how, buf, len);
    c->how[len] = 0;
}

static ErlDrvData crash_start(ErlDrvPort port, char *command)
{
    Crash *c = driver_alloc(sizeof(Crash));
    const char *arg = strchr(command, ' ');
    c->port = port;
    c->how[0] = 0;
    if (arg != NULL)
        crash(port, arg + 1);
    return (ErlDrvData)c;
}

static void crash_stop(ErlDrvData d)
{
    driver_free(d);
}

static void crash_output(ErlDrvData d, char *buf, ErlDrvSizeT len)
{
    Crash *c = (Crash *)d;
    set_how(c, buf, len);
    crash(c->port, c->how);
}

static ErlDrvSSizeT crash_control(ErlDrvData d, unsigned int cmd, char *buf, ErlDrvSizeT len,
                                  char **rbuf, ErlDrvSizeT rlen)
{
    Crash *c = (Crash *)d;
    switch (cmd) {
    case 'c':
        set_how(c, buf, len);
        crash(c->port, c->how);
        return 0;
    case 't':
        set_how(c, buf, len);
        driver_set_timer(c->port, 100);
        return 0;
    case 's': /* sleeps the milliseconds in buf (decimal), then answers "slept" */
    {
        char ms[16];
        struct timespec ts;
        long n;
        if (len >= sizeof ms)
            len = sizeof ms - 1;
        memcpy(ms, buf, len);
        ms[len] = 0;
        n = strtol(ms, NULL, 10);
        ts.tv_sec = n / 1000;
        ts.tv_nsec = (n % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        memcpy(*rbuf, "slept", 5);
        return 5;
    }
    case 'e':
        if (len > rlen)
            len = rlen;
        memcpy(*rbuf, buf, len);
        return (ErlDrvSSizeT)len;
    }
    return -1;
}

static void crash_timeout(ErlDrvData d)
{
    Crash *c = (Crash *)d;
    crash(c->port, c->how);
}

static ErlDrvEntry crash_entry = {
    NULL, crash_start, crash_stop, crash_output, NULL, NULL, "crash_drv", NULL, NULL,
    crash_control, crash_timeout, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION, ERL_DRV_EXTENDED_MINOR_VERSION,
    0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(crash_drv)
{
    return &crash_entry;
}
