/* An extended marker that is not ERL_DRV_EXTENDED_MARKER. */
#define VSN_NAME vsn_invalid_marker_drv
#define VSN_MARKER 0xfeeeeeee
#define VSN_MAJOR ERL_DRV_EXTENDED_MAJOR_VERSION
#define VSN_MINOR ERL_DRV_EXTENDED_MINOR_VERSION
#include "vsn_impl.h"
