/* driver_caller, with an output callback. */
#define CALLER_NAME cf_caller_drv
#include "caller_impl.h"
