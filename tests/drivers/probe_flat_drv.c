/*
 * probe_flat_drv: probe_drv without an outputv callback, so port_command
 * reaches the driver's output callback with the iolist flattened. Its output
 * sends "output len=N" and then the bytes themselves. Everything else is
 * probe_drv (see probe_drv.c).
 */
#define PROBE_NAME probe_flat_drv
#include "probe_drv.c"
