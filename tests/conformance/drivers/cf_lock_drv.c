/*
 * cf_lock_drv: driver_lock_driver (ddll_SUITE's lock_driver; our own
 * code). port_control(Port, $L, _) locks the driver in memory for good and
 * replies "locked"; any other op replies "ok".
 */
#include "cf_common.h"

static ErlDrvData lk_start(ErlDrvPort port, char *cmd) { (void)cmd; return (ErlDrvData)port; }

static ErlDrvSSizeT lk_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    (void)buf; (void)len;
    if (op == 'L') {
        driver_lock_driver((ErlDrvPort)d);
        return cf_reply(rbuf, rlen, "locked");
    }
    return cf_reply(rbuf, rlen, "ok");
}

static ErlDrvEntry lk_entry = {
    NULL, lk_start, NULL, NULL, NULL, NULL, "cf_lock_drv",
    NULL, NULL, lk_control, NULL, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_lock_drv) { return &lk_entry; }
