/*
 * misuse_port_drv: breaks the erl_driver contract about ports, threads and
 * timing, one way per control operation, for `porthost run --check`.
 *
 *   $n  driver_output on a handle that was never a port
 *   $d  driver_output on the handle of a port that has stopped (the last
 *       port of this driver that stopped)
 *   $t  driver_output from a driver thread (not thread-safe)
 *   $q  driver_enq from a driver thread without the port data lock
 *   $r  arms stop to call driver_failure_atom (re-entry ERTS forbids)
 *   $s  sleeps 100 ms in the callback (far past a timeslice)
 *   $a  driver_async with a job that sleeps 300 ms (close the port at once:
 *       a job still running after stop)
 * Every operation answers "ok" (list mode).
 */
#include <string.h>
#include <unistd.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    int fail_in_stop;
} St;

static ErlDrvPort stale;

static ErlDrvData mp_start(ErlDrvPort port, char *command)
{
    St *s = driver_alloc(sizeof(St));
    s->port = port;
    s->fail_in_stop = 0;
    return (ErlDrvData)s;
}

static void mp_stop(ErlDrvData d)
{
    St *s = (St *)d;
    if (s->fail_in_stop)
        driver_failure_atom(s->port, "again");
    stale = s->port;
    driver_free(s);
}

static void *output_thread(void *arg)
{
    driver_output((ErlDrvPort)arg, "t", 1);
    return NULL;
}

static void *enq_thread(void *arg)
{
    driver_enq((ErlDrvPort)arg, "q", 1);
    driver_deq((ErlDrvPort)arg, 1);
    return NULL;
}

static void slow_job(void *data)
{
    usleep(300 * 1000);
}

static ErlDrvSSizeT mp_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    St *s = (St *)d;
    ErlDrvTid tid;
    switch (cmd) {
    case 'n':
        driver_output((ErlDrvPort)(ErlDrvSInt)0x1230, "n", 1);
        break;
    case 'd':
        driver_output(stale, "d", 1);
        break;
    case 't':
        erl_drv_thread_create("out", &tid, output_thread, s->port, NULL);
        erl_drv_thread_join(tid, NULL);
        break;
    case 'q':
        erl_drv_thread_create("enq", &tid, enq_thread, s->port, NULL);
        erl_drv_thread_join(tid, NULL);
        break;
    case 'r':
        s->fail_in_stop = 1;
        break;
    case 's':
        usleep(100 * 1000);
        break;
    case 'a':
        driver_async(s->port, NULL, slow_job, NULL, NULL);
        break;
    default:
        return -1;
    }
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry mp_entry = {
    NULL, mp_start, mp_stop, NULL, NULL, NULL, "misuse_port_drv", NULL, NULL,
    mp_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(misuse_port_drv)
{
    return &mp_entry;
}
