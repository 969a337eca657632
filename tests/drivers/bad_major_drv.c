/*
 * bad_major_drv: major_version 4, newer than the host's 3; loading it must
 * fail with ERTS's version error.
 */
#include "erl_driver.h"

static ErlDrvEntry entry = {
    NULL,                           /* init */
    NULL,                           /* start */
    NULL,                           /* stop */
    NULL,                           /* output */
    NULL,                           /* ready_input */
    NULL,                           /* ready_output */
    "bad_major_drv",                /* driver_name */
    NULL, NULL, NULL, NULL, NULL,   /* finish .. outputv */
    NULL, NULL, NULL, NULL,         /* ready_async .. unused */
    ERL_DRV_EXTENDED_MARKER,        /* extended_marker */
    4,                              /* major_version */
    0,                              /* minor_version */
    0,                              /* driver_flags */
    NULL, NULL, NULL, NULL          /* handle2 .. emergency_close */
};

DRIVER_INIT(bad_major_drv)
{
    return &entry;
}
