/* Extended marker 0 with garbage in the version fields. */
#define VSN_NAME vsn_zero_marker_garb_drv
#define VSN_MARKER 0
#define VSN_MAJOR 0xbadc
#define VSN_MINOR 0xafe
#include "vsn_impl.h"
