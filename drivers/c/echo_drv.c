/*
 * echo_drv: the smallest useful port driver, and the one to read first.
 *
 *   open_port({spawn_driver, "echo_drv"}, [])     (or [binary])
 *
 * - port_command(Port, Data): the bytes come back to the owner as
 *   {Port, {data, Data}} (driver_output).
 * - port_control(Port, 0, Data): returns Data (as a list: "char mode").
 * - port_control(Port, 1, Data): switches the port to binary control mode
 *   (set_port_control_flags(PORT_CONTROL_FLAG_BINARY)) and returns Data; from
 *   then on every control reply is a binary.
 * - erlang:port_call(Port, Cmd, Term): returns Term (the driver copies the
 *   external-format bytes it received back unchanged).
 *
 * Reply buffers follow ERTS's rules: the host passes a buffer *rbuf of rlen
 * bytes (64 for control, 255 for call). A reply that fits is written there; a
 * bigger one goes into a fresh driver_alloc() buffer, stored in *rbuf, which
 * the host frees. In binary control mode the reply must be an ErlDrvBinary
 * from driver_alloc_binary(), cast to char *; the host takes its length from
 * the binary's orig_size and releases it.
 */
#include <string.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    int binary_control; /* set_port_control_flags(PORT_CONTROL_FLAG_BINARY) was called */
} Echo;

static ErlDrvData echo_start(ErlDrvPort port, char *command)
{
    Echo *e = driver_alloc(sizeof(Echo));
    if (e == NULL)
        return ERL_DRV_ERROR_GENERAL;
    e->port = port;
    e->binary_control = 0;
    return (ErlDrvData)e;
}

static void echo_stop(ErlDrvData data)
{
    driver_free(data);
}

/* port_command: send the same bytes back to the port's owner. */
static void echo_output(ErlDrvData data, char *buf, ErlDrvSizeT len)
{
    Echo *e = (Echo *)data;
    driver_output(e->port, buf, len);
}

/* Copies len bytes into *rbuf, allocating with driver_alloc when they do not
 * fit in the rlen bytes the host provided. */
static ErlDrvSSizeT reply_bytes(char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    if (len > rlen) {
        char *big = driver_alloc(len);
        if (big == NULL)
            return -1;
        *rbuf = big;
    }
    memcpy(*rbuf, buf, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvSSizeT echo_control(ErlDrvData data, unsigned int command,
                                 char *buf, ErlDrvSizeT len,
                                 char **rbuf, ErlDrvSizeT rlen)
{
    Echo *e = (Echo *)data;
    ErlDrvBinary *bin;

    switch (command) {
    case 0:
        /* Echo in whatever mode the port is in. */
        break;
    case 1:
        set_port_control_flags(e->port, PORT_CONTROL_FLAG_BINARY);
        e->binary_control = 1;
        break;
    default:
        return -1; /* a negative return makes port_control/3 raise badarg */
    }

    /* The control mode is the driver's own record: get_port_flags() tells
     * whether the port was opened with `binary`, which is another thing. */
    if (!e->binary_control)
        return reply_bytes(buf, len, rbuf, rlen);

    /* Binary mode: the reply is always an ErlDrvBinary. */
    bin = driver_alloc_binary(len);
    if (bin == NULL)
        return -1;
    memcpy(bin->orig_bytes, buf, len);
    *rbuf = (char *)bin;
    return (ErlDrvSSizeT)len;
}

/* port_call: buf holds the argument in the external term format
 * (term_to_binary); returning the same bytes makes port_call return the
 * same term. flags is unused. */
static ErlDrvSSizeT echo_call(ErlDrvData data, unsigned int command,
                              char *buf, ErlDrvSizeT len,
                              char **rbuf, ErlDrvSizeT rlen,
                              unsigned int *flags)
{
    return reply_bytes(buf, len, rbuf, rlen);
}

static ErlDrvEntry echo_driver_entry = {
    NULL,                 /* init */
    echo_start,           /* start */
    echo_stop,            /* stop */
    echo_output,          /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "echo_drv",           /* driver_name: must match the file name */
    NULL,                 /* finish */
    NULL,                 /* handle (reserved) */
    echo_control,         /* control */
    NULL,                 /* timeout */
    NULL,                 /* outputv */
    NULL,                 /* ready_async */
    NULL,                 /* flush */
    echo_call,            /* call */
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    0,                    /* driver_flags */
    NULL,                 /* handle2 (reserved) */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(echo_drv)
{
    return &echo_driver_entry;
}
