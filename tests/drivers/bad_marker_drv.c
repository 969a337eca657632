/*
 * bad_marker_drv: a driver entry whose extended_marker is not
 * ERL_DRV_EXTENDED_MARKER (an old-style entry); loading it must fail with
 * ERTS's version error.
 */
#include "erl_driver.h"

static ErlDrvEntry entry = {
    NULL,                           /* init */
    NULL,                           /* start */
    NULL,                           /* stop */
    NULL,                           /* output */
    NULL,                           /* ready_input */
    NULL,                           /* ready_output */
    "bad_marker_drv",               /* driver_name */
    NULL, NULL, NULL, NULL, NULL,   /* finish .. outputv */
    NULL, NULL, NULL, NULL,         /* ready_async .. unused */
    0,                              /* extended_marker */
    ERL_DRV_EXTENDED_MAJOR_VERSION, /* major_version */
    ERL_DRV_EXTENDED_MINOR_VERSION, /* minor_version */
    0,                              /* driver_flags */
    NULL, NULL, NULL, NULL          /* handle2 .. emergency_close */
};

DRIVER_INIT(bad_marker_drv)
{
    return &entry;
}
