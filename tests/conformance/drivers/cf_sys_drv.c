/*
 * cf_sys_drv: driver_system_info with the struct sizes of older
 * erl_driver.h versions, erl_drv_getenv/putenv and
 * erl_drv_consume_timeslice (driver_SUITE's driver_system_info_*_ver, env,
 * consume_timeslice; our own code). port_control(Port, Op, Data):
 *   $i [F]    driver_system_info(&si, SYS_INFO_SIZE(field)) where
 *             the last field is F = 0 otp_release, 1 smp_support,
 *             2 scheduler_threads, 3 nif_minor_version, 4 the whole
 *             struct; the struct is filled with 0xab first, and fields left
 *             untouched show as "?"
 *   $g Name   erl_drv_getenv with a 256-byte buffer: "=Value", or
 *             "r=R" when it does not return 0
 *   $G Name   erl_drv_getenv with a 2-byte buffer: "r=R size=S"
 *   $p N=V    erl_drv_putenv(N, V): its return value
 *   $c [P, K] K calls of erl_drv_consume_timeslice(port, P): their return
 *             values as a string of digits
 */
#include <stddef.h>
#include "cf_common.h"

/* The size of ErlDrvSysInfo up to and including LAST (the struct of the
 * erl_driver.h version that ended with that field). */
#define SYS_INFO_SIZE(LAST) \
    (offsetof(ErlDrvSysInfo, LAST) + sizeof(((ErlDrvSysInfo *)0)->LAST))

#define UNTOUCHED_INT ((int)0xabababab)

static ErlDrvData sy_start(ErlDrvPort port, char *cmd) { (void)cmd; return (ErlDrvData)port; }

static void cstr(char *dst, size_t cap, const char *buf, ErlDrvSizeT len)
{
    if (len >= cap) len = cap - 1;
    memcpy(dst, buf, len);
    dst[len] = 0;
}

static void add_int(char *out, size_t cap, const char *name, int v)
{
    char tmp[64];
    if (v == UNTOUCHED_INT) snprintf(tmp, sizeof tmp, " %s=?", name);
    else snprintf(tmp, sizeof tmp, " %s=%d", name, v);
    strncat(out, tmp, cap - strlen(out) - 1);
}

static ErlDrvSSizeT sy_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    char out[512], name[128], tmp[256];
    out[0] = 0;
    switch (op) {
    case 'i': {
        ErlDrvSysInfo si;
        size_t sizes[] = {
            SYS_INFO_SIZE(otp_release), SYS_INFO_SIZE(smp_support),
            SYS_INFO_SIZE(scheduler_threads), SYS_INFO_SIZE(nif_minor_version),
            sizeof(ErlDrvSysInfo)
        };
        int f = len >= 1 && buf[0] < 5 ? buf[0] : 4;
        memset(&si, 0xab, sizeof si);
        driver_system_info(&si, sizes[f]);
        add_int(out, sizeof out, "major", si.driver_major_version);
        add_int(out, sizeof out, "minor", si.driver_minor_version);
        snprintf(tmp, sizeof tmp, " otp=%s", si.otp_release == (char *)(ErlDrvSInt)0xabababababababab ? "?" : si.otp_release);
        strncat(out, tmp, sizeof out - strlen(out) - 1);
        snprintf(tmp, sizeof tmp, " erts=%s", si.erts_version == (char *)(ErlDrvSInt)0xabababababababab ? "?" : si.erts_version);
        strncat(out, tmp, sizeof out - strlen(out) - 1);
        add_int(out, sizeof out, "thread", si.thread_support);
        add_int(out, sizeof out, "smp", si.smp_support);
        add_int(out, sizeof out, "async", si.async_threads);
        add_int(out, sizeof out, "sched_gt0", si.scheduler_threads == UNTOUCHED_INT ? UNTOUCHED_INT : si.scheduler_threads > 0);
        add_int(out, sizeof out, "nif_major", si.nif_major_version);
        add_int(out, sizeof out, "nif_minor", si.nif_minor_version);
        add_int(out, sizeof out, "dirty", si.dirty_scheduler_support);
        return cf_reply(rbuf, rlen, out + 1);
    }
    case 'g': case 'G': {
        char value[256];
        size_t size = op == 'g' ? sizeof value : 2;
        int r;
        cstr(name, sizeof name, buf, len);
        r = erl_drv_getenv(name, value, &size);
        if (op == 'g' && r == 0) snprintf(out, sizeof out, "=%s", value);
        else if (op == 'g') snprintf(out, sizeof out, "r=%d", r);
        else snprintf(out, sizeof out, "r=%d size=%lu", r, (unsigned long)size);
        return cf_reply(rbuf, rlen, out);
    }
    case 'p': {
        char *eq;
        cstr(name, sizeof name, buf, len);
        eq = strchr(name, '=');
        if (!eq) return -1;
        *eq = 0;
        return cf_reply_int(rbuf, rlen, erl_drv_putenv(name, eq + 1));
    }
    case 'c': {
        int i, k = len >= 2 ? (unsigned char)buf[1] : 0;
        int pct = len >= 1 ? (signed char)buf[0] : 0;
        for (i = 0; i < k && i < 100; i++)
            out[i] = '0' + erl_drv_consume_timeslice(port, pct);
        out[i] = 0;
        return cf_reply(rbuf, rlen, out);
    }
    }
    return -1;
}

static ErlDrvEntry sy_entry = {
    NULL, sy_start, NULL, NULL, NULL, NULL, "cf_sys_drv",
    NULL, NULL, sy_control, NULL, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_sys_drv) { return &sy_entry; }
