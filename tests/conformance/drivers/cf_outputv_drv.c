/*
 * cf_outputv_drv: echoes every command it gets through outputv with
 * driver_outputv(port, NULL, 0, ev, 0) (driver_SUITE's outputv_echo; our
 * own code). port_control(P, $n, _) replies the vector count and size of
 * the last ErlIOVec as "vsize/size".
 */
#include "cf_common.h"

typedef struct {
    ErlDrvPort port;
    int vsize;
    ErlDrvSizeT size;
} Ov;

static ErlDrvData ov_start(ErlDrvPort port, char *cmd)
{
    Ov *o = driver_alloc(sizeof(Ov));
    (void)cmd;
    o->port = port;
    o->vsize = -1;
    o->size = 0;
    return (ErlDrvData)o;
}

static void ov_stop(ErlDrvData d) { driver_free(d); }

static void ov_outputv(ErlDrvData d, ErlIOVec *ev)
{
    Ov *o = (Ov *)d;
    o->vsize = ev->vsize;
    o->size = ev->size;
    driver_outputv(o->port, NULL, 0, ev, 0);
}

static ErlDrvSSizeT ov_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    Ov *o = (Ov *)d;
    char tmp[64];
    (void)op; (void)buf; (void)len;
    snprintf(tmp, sizeof tmp, "%d/%lu", o->vsize, (unsigned long)o->size);
    return cf_reply(rbuf, rlen, tmp);
}

static ErlDrvEntry ov_entry = {
    NULL, ov_start, ov_stop, NULL, NULL, NULL, "cf_outputv_drv",
    NULL, NULL, ov_control, NULL, ov_outputv, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_outputv_drv) { return &ov_entry; }
