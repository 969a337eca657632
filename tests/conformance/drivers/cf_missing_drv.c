/*
 * cf_missing_drv: an entry whose callbacks are NULL except start and stop
 * (driver_SUITE's missing_callbacks; our own code). start arms everything
 * that would call a missing callback: a 0 ms timer (no timeout), a pipe
 * with a byte in it selected for reading (no ready_input), a pipe's write
 * end selected for writing (no ready_output) and an async job (no
 * ready_async). The port has no output, control, call or flush either.
 * stop deselects and closes the pipes.
 */
#include <unistd.h>
#include "cf_common.h"

typedef struct {
    ErlDrvPort port;
    int in[2], out[2];
} Ms;

static void ms_job(void *arg) { (void)arg; }

static ErlDrvData ms_start(ErlDrvPort port, char *cmd)
{
    Ms *m = driver_alloc(sizeof(Ms));
    (void)cmd;
    m->port = port;
    if (pipe(m->in) != 0 || pipe(m->out) != 0 || write(m->in[1], "x", 1) != 1)
        return ERL_DRV_ERROR_GENERAL;
    driver_set_timer(port, 0);
    driver_select(port, (ErlDrvEvent)(ErlDrvSInt)m->in[0], ERL_DRV_READ, 1);
    driver_select(port, (ErlDrvEvent)(ErlDrvSInt)m->out[1], ERL_DRV_WRITE, 1);
    driver_async(port, NULL, ms_job, NULL, NULL);
    return (ErlDrvData)m;
}

static void ms_stop(ErlDrvData d)
{
    Ms *m = (Ms *)d;
    driver_select(m->port, (ErlDrvEvent)(ErlDrvSInt)m->in[0], ERL_DRV_READ, 0);
    driver_select(m->port, (ErlDrvEvent)(ErlDrvSInt)m->out[1], ERL_DRV_WRITE, 0);
    close(m->in[0]); close(m->in[1]); close(m->out[0]); close(m->out[1]);
    driver_free(m);
}

static ErlDrvEntry ms_entry = {
    NULL, ms_start, ms_stop, NULL, NULL, NULL, "cf_missing_drv",
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_missing_drv) { return &ms_entry; }
