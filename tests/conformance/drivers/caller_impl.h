/*
 * driver_caller from every callback that has a caller (driver_SUITE's
 * caller; our own code). Each of start, output (or outputv: define
 * CALLER_OUTPUTV), control and call sends {Port, Callback, Caller} to
 * Caller = driver_caller(port), with erl_drv_send_term. Define CALLER_NAME
 * before including this file.
 */
#include "cf_common.h"

#define CALLER_STR2(x) #x
#define CALLER_STR(x) CALLER_STR2(x)

static void tell_caller(ErlDrvPort port, const char *cb)
{
    ErlDrvTermData caller = driver_caller(port);
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, driver_mk_port(port),
        ERL_DRV_ATOM, driver_mk_atom((char *)cb),
        ERL_DRV_PID, caller,
        ERL_DRV_TUPLE, 3
    };
    erl_drv_send_term(driver_mk_port(port), caller, spec, sizeof spec / sizeof spec[0]);
}

static ErlDrvData caller_start(ErlDrvPort port, char *cmd)
{
    (void)cmd;
    tell_caller(port, "start");
    return (ErlDrvData)port;
}

#ifdef CALLER_OUTPUTV
static void caller_outputv(ErlDrvData d, ErlIOVec *ev) { (void)ev; tell_caller((ErlDrvPort)d, "outputv"); }
#define CALLER_OUT NULL
#define CALLER_OUTV caller_outputv
#else
static void caller_output(ErlDrvData d, char *b, ErlDrvSizeT l) { (void)b; (void)l; tell_caller((ErlDrvPort)d, "output"); }
#define CALLER_OUT caller_output
#define CALLER_OUTV NULL
#endif

static ErlDrvSSizeT caller_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                                   char **rbuf, ErlDrvSizeT rlen)
{
    (void)op; (void)buf; (void)len; (void)rbuf; (void)rlen;
    tell_caller((ErlDrvPort)d, "control");
    return 0;
}

static ErlDrvSSizeT caller_call(ErlDrvData d, unsigned int cmd, char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen, unsigned int *flags)
{
    (void)cmd; (void)flags;
    tell_caller((ErlDrvPort)d, "call");
    if (len > rlen)
        *rbuf = driver_alloc(len);
    memcpy(*rbuf, buf, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvEntry caller_entry = {
    NULL, caller_start, NULL, CALLER_OUT, NULL, NULL, CALLER_STR(CALLER_NAME),
    NULL, NULL, caller_control, NULL, CALLER_OUTV, NULL, NULL, caller_call, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(CALLER_NAME) { return &caller_entry; }
