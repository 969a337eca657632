/* {{NAME}}: a port driver in C.
 *
 * port_command(P, Data) sends Data back to the port's owner;
 * port_control(P, 0, Data) answers Data in upper case; any other
 * operation raises badarg. */
#include <string.h>
#include <erl_driver.h>

typedef struct {
    ErlDrvPort port;
} State;

static ErlDrvData drv_start(ErlDrvPort port, char *command)
{
    State *st = driver_alloc(sizeof *st);
    if (st == NULL)
        return ERL_DRV_ERROR_GENERAL;
    st->port = port;
    return (ErlDrvData)st;
}

static void drv_stop(ErlDrvData data)
{
    driver_free(data);
}

static void drv_output(ErlDrvData data, char *buf, ErlDrvSizeT len)
{
    State *st = (State *)data;
    driver_output(st->port, buf, len);
}

static ErlDrvSSizeT drv_control(ErlDrvData data, unsigned int op, char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    if (op != 0)
        return -1;
    if (len > rlen) {
        *rbuf = driver_alloc(len);
        if (*rbuf == NULL)
            return -1;
    }
    for (ErlDrvSizeT i = 0; i < len; i++) {
        char c = buf[i];
        (*rbuf)[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    return (ErlDrvSSizeT)len;
}

static ErlDrvEntry drv_entry = {
    .driver_name = "{{NAME}}",
    .start = drv_start,
    .stop = drv_stop,
    .output = drv_output,
    .control = drv_control,
    .extended_marker = ERL_DRV_EXTENDED_MARKER,
    .major_version = ERL_DRV_EXTENDED_MAJOR_VERSION,
    .minor_version = ERL_DRV_EXTENDED_MINOR_VERSION,
};

DRIVER_INIT({{NAME}})
{
    return &drv_entry;
}
