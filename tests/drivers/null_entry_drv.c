/*
 * null_entry_drv: driver_init returns NULL instead of a driver entry;
 * loading it must fail as ERTS does.
 */
#include "erl_driver.h"

DRIVER_INIT(null_entry_drv)
{
    return NULL;
}
