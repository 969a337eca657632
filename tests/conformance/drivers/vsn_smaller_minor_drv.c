/* A minor version one smaller than the host's. */
#define VSN_NAME vsn_smaller_minor_drv
#define VSN_MARKER ERL_DRV_EXTENDED_MARKER
#define VSN_MAJOR ERL_DRV_EXTENDED_MAJOR_VERSION
#define VSN_MINOR (ERL_DRV_EXTENDED_MINOR_VERSION - 1)
#include "vsn_impl.h"
