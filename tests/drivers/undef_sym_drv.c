/*
 * undef_sym_drv: needs a symbol no host defines, so dlopen (RTLD_NOW) fails
 * and erl_ddll reports an open error carrying dlerror's text.
 */
#include "erl_driver.h"

extern int porthost_no_such_function(void);

static ErlDrvData start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)(long)porthost_no_such_function();
}

static ErlDrvEntry entry = {
    NULL, start, NULL, NULL, NULL, NULL, "undef_sym_drv",
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(undef_sym_drv)
{
    return &entry;
}
