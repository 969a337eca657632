/* ioq_exit_* with an output callback. */
#define IOQ_NAME cf_ioq_drv
#include "ioq_impl.h"
