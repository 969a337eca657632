/* driver_caller, with an outputv callback. */
#define CALLER_NAME cf_callerv_drv
#define CALLER_OUTPUTV 1
#include "caller_impl.h"
