/* ioq_exit_* with an outputv callback. */
#define IOQ_NAME cf_ioqv_drv
#define IOQ_OUTPUTV 1
#include "ioq_impl.h"
