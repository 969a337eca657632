/*
 * misuse_bin_drv: breaks the ErlDrvBinary contract, one way per control
 * operation, for `porthost run --check`.
 *
 *   $f  driver_free_binary twice (double free)
 *   $u  driver_binary_inc_refc after the last driver_free_binary
 *   $U  driver_binary_dec_refc to 0, then driver_free_binary (underflow)
 *   $l  keeps a binary forever (a leak when the driver goes)
 *   $b  binary mode, answers with a driver_alloc'ed buffer (wrong mode)
 *   $B  list mode, answers with an ErlDrvBinary (wrong mode)
 * Other operations answer "ok".
 */
#include <string.h>
#include "erl_driver.h"

static ErlDrvBinary *kept;
/* Hides from the compiler that a pointer was freed: these misuses are the
 * point of this driver. */
static ErlDrvBinary *volatile launder;

static ErlDrvData mb_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static ErlDrvSSizeT mb_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    ErlDrvBinary *b;
    switch (cmd) {
    case 'f':
        launder = driver_alloc_binary(8);
        driver_free_binary(launder);
        driver_free_binary(launder);
        break;
    case 'u':
        launder = driver_alloc_binary(8);
        driver_free_binary(launder);
        driver_binary_inc_refc(launder);
        break;
    case 'U':
        b = driver_alloc_binary(8);
        driver_binary_dec_refc(b);
        driver_free_binary(b);
        break;
    case 'l':
        kept = driver_alloc_binary(16);
        break;
    case 'b':
        set_port_control_flags(port, PORT_CONTROL_FLAG_BINARY);
        *rbuf = driver_alloc(2);
        memcpy(*rbuf, "ok", 2);
        return 2;
    case 'B':
        set_port_control_flags(port, 0);
        b = driver_alloc_binary(2);
        memcpy(b->orig_bytes, "ok", 2);
        *rbuf = (char *)b;
        return 2;
    case 'o':
        break;
    default:
        return -1;
    }
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry mb_entry = {
    NULL, mb_start, NULL, NULL, NULL, NULL, "misuse_bin_drv", NULL, NULL,
    mb_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(misuse_bin_drv)
{
    return &mb_entry;
}
