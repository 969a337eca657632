/*
 * soft_busy_drv: port_drv (see port_drv.c) with the driver flags
 * ERL_DRV_FLAG_SOFT_BUSY (port_command(P, D, [force]) reaches output while
 * the port is busy) and ERL_DRV_FLAG_NO_BUSY_MSGQ (no busy message queue
 * limits), and without a process_exit callback (driver_monitor_process
 * refuses). Everything else is port_drv.
 */
#define PORT_DRV_NAME soft_busy_drv
#define PORT_DRV_FLAGS (ERL_DRV_FLAG_SOFT_BUSY | ERL_DRV_FLAG_NO_BUSY_MSGQ)
#define PORT_DRV_PROCESS_EXIT NULL
#include "port_drv.c"
