/*
 * cf_monitor_drv: driver monitors (driver_SUITE's driver_monitor; our own
 * code). port_control(Port, Op, Data), list-mode replies:
 *   $m      monitor the caller: driver_monitor_process's return value,
 *           the monitor kept in slot Data[0] - '0' (0..9)
 *   $d      driver_demonitor_process on slot Data[0]: its return value
 *   $g      driver_get_monitored_process on slot Data[0]: "same" if it is
 *           the caller, "undefined" for driver_term_nil, else "other"
 *   $c      driver_compare_monitors(slot Data[0], slot Data[1]): "0", "<"
 *           or ">" by sign
 * process_exit sends {Port, process_exit, Slot, Pid} to the owner (Slot is
 * the slot whose monitor fired, -1 if none matches).
 */
#include "cf_common.h"

typedef struct {
    ErlDrvPort port;
    ErlDrvMonitor mon[10];
} Mn;

static ErlDrvData mn_start(ErlDrvPort port, char *cmd)
{
    Mn *m = driver_alloc(sizeof(Mn));
    (void)cmd;
    memset(m, 0, sizeof *m);
    m->port = port;
    return (ErlDrvData)m;
}

static void mn_stop(ErlDrvData d) { driver_free(d); }

static int slot(char *buf, ErlDrvSizeT len, int i)
{
    return (len > (ErlDrvSizeT)i && buf[i] >= '0' && buf[i] <= '9') ? buf[i] - '0' : 0;
}

static ErlDrvSSizeT mn_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    Mn *m = (Mn *)d;
    int s = slot(buf, len, 0);
    switch (op) {
    case 'm': {
        ErlDrvTermData caller = driver_caller(m->port);
        return cf_reply_int(rbuf, rlen, driver_monitor_process(m->port, caller, &m->mon[s]));
    }
    case 'd':
        return cf_reply_int(rbuf, rlen, driver_demonitor_process(m->port, &m->mon[s]));
    case 'g': {
        ErlDrvTermData p = driver_get_monitored_process(m->port, &m->mon[s]);
        if (p == driver_term_nil) return cf_reply(rbuf, rlen, "undefined");
        return cf_reply(rbuf, rlen, p == driver_caller(m->port) ? "same" : "other");
    }
    case 'c': {
        int c = driver_compare_monitors(&m->mon[s], &m->mon[slot(buf, len, 1)]);
        return cf_reply(rbuf, rlen, c == 0 ? "0" : c < 0 ? "<" : ">");
    }
    }
    return -1;
}

static void mn_process_exit(ErlDrvData d, ErlDrvMonitor *mon)
{
    Mn *m = (Mn *)d;
    int i, s = -1;
    for (i = 0; i < 10; i++)
        if (driver_compare_monitors(mon, &m->mon[i]) == 0) { s = i; break; }
    {
        ErlDrvTermData spec[] = {
            ERL_DRV_PORT, driver_mk_port(m->port),
            ERL_DRV_ATOM, driver_mk_atom("process_exit"),
            ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)s,
            ERL_DRV_PID, driver_get_monitored_process(m->port, mon),
            ERL_DRV_TUPLE, 4
        };
        erl_drv_output_term(driver_mk_port(m->port), spec, sizeof spec / sizeof spec[0]);
    }
}

static ErlDrvEntry mn_entry = {
    NULL, mn_start, mn_stop, NULL, NULL, NULL, "cf_monitor_drv",
    NULL, NULL, mn_control, NULL, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, mn_process_exit, NULL, NULL
};

DRIVER_INIT(cf_monitor_drv) { return &mn_entry; }
