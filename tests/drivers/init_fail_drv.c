/*
 * init_fail_drv: the entry's init callback returns -1; loading it must fail
 * with driver_init_failed.
 */
#include "erl_driver.h"

static int fail_init(void)
{
    return -1;
}

static ErlDrvEntry entry = {
    fail_init,                      /* init */
    NULL,                           /* start */
    NULL,                           /* stop */
    NULL,                           /* output */
    NULL,                           /* ready_input */
    NULL,                           /* ready_output */
    "init_fail_drv",                /* driver_name */
    NULL, NULL, NULL, NULL, NULL,   /* finish .. outputv */
    NULL, NULL, NULL, NULL,         /* ready_async .. unused */
    ERL_DRV_EXTENDED_MARKER,        /* extended_marker */
    ERL_DRV_EXTENDED_MAJOR_VERSION, /* major_version */
    ERL_DRV_EXTENDED_MINOR_VERSION, /* minor_version */
    0,                              /* driver_flags */
    NULL, NULL, NULL, NULL          /* handle2 .. emergency_close */
};

DRIVER_INIT(init_fail_drv)
{
    return &entry;
}
