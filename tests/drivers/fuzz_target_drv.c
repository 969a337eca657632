/*
 * fuzz_target_drv: crashes planted behind narrow conditions, for
 * `porthost fuzz` to find.
 *
 *   port_control(P, $z, Data)   Data starting with "B00M": SIGSEGV
 *   port_command(P, Data)       13 bytes whose 6th is 'B': SIGABRT
 *   erlang:port_call(P, 3, T)   T a 3-tuple: SIGSEGV (in another function)
 *   port_control(P, $e, Data)   echoes Data; other codes: badarg
 *   port_call(P, _, T)          echoes T
 * Output (port_command) echoes the data.
 */
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

static volatile int *volatile nowhere;
/* Through a volatile pointer, so that the compiler cannot turn the
 * comparison into an integer one: the word stays in the file's strings,
 * where a blind fuzzer's dictionary finds it. */
static const char *volatile magic = "B00M";

static void planted_control_crash(void)
{
    *nowhere = 1;
}

static void planted_call_crash(void)
{
    nowhere[1] = 2;
}

static ErlDrvData ft_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static void ft_output(ErlDrvData d, char *buf, ErlDrvSizeT len)
{
    if (len == 13 && buf[5] == 'B')
        abort();
    driver_output((ErlDrvPort)d, buf, len);
}

static ErlDrvSSizeT ft_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    if (cmd == 'z') {
        if (len >= 4 && memcmp(buf, magic, 4) == 0)
            planted_control_crash();
        return 0;
    }
    if (cmd != 'e')
        return -1;
    if (len > rlen)
        len = rlen;
    memcpy(*rbuf, buf, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvSSizeT ft_call(ErlDrvData d, unsigned int cmd, char *buf,
                            ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen,
                            unsigned int *flags)
{
    /* 131, SMALL_TUPLE_EXT (104), arity 3 */
    if (cmd == 3 && len > 3 && (unsigned char)buf[1] == 104 && buf[2] == 3)
        planted_call_crash();
    if (len > rlen)
        return -1;
    memcpy(*rbuf, buf, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvEntry ft_entry = {
    NULL, ft_start, NULL, ft_output, NULL, NULL, "fuzz_target_drv", NULL,
    NULL, ft_control, NULL, NULL, NULL, NULL, ft_call, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(fuzz_target_drv)
{
    return &ft_entry;
}
