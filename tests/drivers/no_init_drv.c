/*
 * no_init_drv: a shared object with a complete driver entry but no
 * driver_init symbol; loading it must fail (ERTS: no_driver_init).
 */
#include "erl_driver.h"

static ErlDrvEntry entry = {
    NULL,                           /* init */
    NULL,                           /* start */
    NULL,                           /* stop */
    NULL,                           /* output */
    NULL,                           /* ready_input */
    NULL,                           /* ready_output */
    "no_init_drv",                  /* driver_name */
    NULL, NULL, NULL, NULL, NULL,   /* finish .. outputv */
    NULL, NULL, NULL, NULL,         /* ready_async .. unused */
    ERL_DRV_EXTENDED_MARKER,        /* extended_marker */
    ERL_DRV_EXTENDED_MAJOR_VERSION, /* major_version */
    ERL_DRV_EXTENDED_MINOR_VERSION, /* minor_version */
    0,                              /* driver_flags */
    NULL, NULL, NULL, NULL          /* handle2 .. emergency_close */
};

/* No DRIVER_INIT: the entry is only reachable through this accessor, so the
 * compiler keeps it, but the host finds no driver_init to call. */
ErlDrvEntry *no_init_drv_entry(void)
{
    return &entry;
}
