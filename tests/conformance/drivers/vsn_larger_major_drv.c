/* A major version one larger than the host's. */
#define VSN_NAME vsn_larger_major_drv
#define VSN_MARKER ERL_DRV_EXTENDED_MARKER
#define VSN_MAJOR (ERL_DRV_EXTENDED_MAJOR_VERSION + 1)
#define VSN_MINOR ERL_DRV_EXTENDED_MINOR_VERSION
#include "vsn_impl.h"
