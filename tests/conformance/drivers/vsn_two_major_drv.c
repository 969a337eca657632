/* A major version two smaller than the host's (the oldest ERTS 25 loads?). */
#define VSN_NAME vsn_two_major_drv
#define VSN_MARKER ERL_DRV_EXTENDED_MARKER
#define VSN_MAJOR (ERL_DRV_EXTENDED_MAJOR_VERSION - 2)
#define VSN_MINOR 0
#include "vsn_impl.h"
