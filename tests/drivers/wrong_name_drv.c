/*
 * wrong_name_drv: the file is wrong_name_drv.so but the entry's driver_name
 * is "other_name_drv"; loading it must fail with bad_driver_name.
 */
#include "erl_driver.h"

static ErlDrvEntry entry = {
    NULL,                           /* init */
    NULL,                           /* start */
    NULL,                           /* stop */
    NULL,                           /* output */
    NULL,                           /* ready_input */
    NULL,                           /* ready_output */
    "other_name_drv",               /* driver_name */
    NULL, NULL, NULL, NULL, NULL,   /* finish .. outputv */
    NULL, NULL, NULL, NULL,         /* ready_async .. unused */
    ERL_DRV_EXTENDED_MARKER,        /* extended_marker */
    ERL_DRV_EXTENDED_MAJOR_VERSION, /* major_version */
    ERL_DRV_EXTENDED_MINOR_VERSION, /* minor_version */
    0,                              /* driver_flags */
    NULL, NULL, NULL, NULL          /* handle2 .. emergency_close */
};

DRIVER_INIT(wrong_name_drv)
{
    return &entry;
}
