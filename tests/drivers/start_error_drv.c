/*
 * start_error_drv: start fails as its argument says: "start_error_drv
 * general" returns ERL_DRV_ERROR_GENERAL, "start_error_drv errno" sets errno
 * to EACCES and returns ERL_DRV_ERROR_ERRNO, "start_error_drv enoent" the
 * same with ENOENT, "start_error_drv badarg" returns ERL_DRV_ERROR_BADARG;
 * anything else starts normally (the port then ignores all input).
 */
#include <errno.h>
#include <string.h>
#include "erl_driver.h"

static ErlDrvData start(ErlDrvPort port, char *command)
{
    const char *arg = strchr(command, ' ');
    arg = arg ? arg + 1 : "";
    if (strcmp(arg, "general") == 0)
        return ERL_DRV_ERROR_GENERAL;
    if (strcmp(arg, "errno") == 0) {
        errno = EACCES;
        return ERL_DRV_ERROR_ERRNO;
    }
    if (strcmp(arg, "enoent") == 0) {
        errno = ENOENT;
        return ERL_DRV_ERROR_ERRNO;
    }
    if (strcmp(arg, "badarg") == 0)
        return ERL_DRV_ERROR_BADARG;
    return (ErlDrvData)port;
}

static ErlDrvEntry entry = {
    NULL,                           /* init */
    start,                          /* start */
    NULL,                           /* stop */
    NULL,                           /* output */
    NULL,                           /* ready_input */
    NULL,                           /* ready_output */
    "start_error_drv",              /* driver_name */
    NULL, NULL, NULL, NULL, NULL,   /* finish .. outputv */
    NULL, NULL, NULL, NULL,         /* ready_async .. unused */
    ERL_DRV_EXTENDED_MARKER,        /* extended_marker */
    ERL_DRV_EXTENDED_MAJOR_VERSION, /* major_version */
    ERL_DRV_EXTENDED_MINOR_VERSION, /* minor_version */
    0,                              /* driver_flags */
    NULL, NULL, NULL, NULL          /* handle2 .. emergency_close */
};

DRIVER_INIT(start_error_drv)
{
    return &entry;
}
