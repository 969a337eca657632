/*
 * cf_thr_drv: term messages from driver threads (driver_SUITE's
 * thr_msg_blast, otp_6602; our own code).
 * port_control(Port, Op, Data):
 *   $t [T, N]  starts T threads (erl_drv_thread_create); thread I sends
 *              {Port, thr, I, Seq} for Seq = 1..N to the caller with
 *              erl_drv_send_term, N * 10 messages each; the control
 *              joins them all and replies "bad:K", K the number of sends
 *              that did not return 1
 *   $o [N]     the same from one thread with erl_drv_output_term (to the
 *              owner)
 *   $l         starts a thread that waits 300 ms, then sends {Port, late}
 *              with erl_drv_output_term and keeps the return value; the
 *              script closes the port meanwhile
 *   $r         replies the return value the late thread kept ("none" if
 *              it has not sent yet), after joining it
 */
#include <unistd.h>
#include "cf_common.h"

typedef struct {
    ErlDrvTermData port_term, to;
    int index, count, use_output, bad;
    ErlDrvTid tid;
} Thr;

static ErlDrvTid late_tid;
static int late_started, late_result = 4711;

static ErlDrvData th_start(ErlDrvPort port, char *cmd) { (void)cmd; return (ErlDrvData)port; }

static void *blast(void *arg)
{
    Thr *t = arg;
    int s;
    for (s = 1; s <= t->count; s++) {
        ErlDrvTermData spec[] = {
            ERL_DRV_PORT, t->port_term,
            ERL_DRV_ATOM, driver_mk_atom("thr"),
            ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)t->index,
            ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)s,
            ERL_DRV_TUPLE, 4
        };
        int r = t->use_output
            ? erl_drv_output_term(t->port_term, spec, sizeof spec / sizeof spec[0])
            : erl_drv_send_term(t->port_term, t->to, spec, sizeof spec / sizeof spec[0]);
        if (r != 1) t->bad++;
    }
    return NULL;
}

static void *late(void *arg)
{
    ErlDrvTermData port_term = (ErlDrvTermData)arg;
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, port_term,
        ERL_DRV_ATOM, driver_mk_atom("late"),
        ERL_DRV_TUPLE, 2
    };
    usleep(300 * 1000);
    late_result = erl_drv_output_term(port_term, spec, sizeof spec / sizeof spec[0]);
    return NULL;
}

static ErlDrvSSizeT th_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    char tmp[32];
    switch (op) {
    case 't': case 'o': {
        int n = op == 't' ? (len >= 2 ? (unsigned char)buf[0] : 0) : 1;
        int count = op == 't' ? (len >= 2 ? (unsigned char)buf[1] * 10 : 0) : (len >= 1 ? (unsigned char)buf[0] * 10 : 0);
        int i, bad = 0;
        Thr *ts = driver_alloc(sizeof(Thr) * (n > 0 ? n : 1));
        for (i = 0; i < n; i++) {
            ts[i].port_term = driver_mk_port(port);
            ts[i].to = driver_caller(port);
            ts[i].index = i + 1;
            ts[i].count = count;
            ts[i].use_output = op == 'o';
            ts[i].bad = 0;
            erl_drv_thread_create("cf_thr", &ts[i].tid, blast, &ts[i], NULL);
        }
        for (i = 0; i < n; i++) {
            erl_drv_thread_join(ts[i].tid, NULL);
            bad += ts[i].bad;
        }
        driver_free(ts);
        snprintf(tmp, sizeof tmp, "bad:%d", bad);
        return cf_reply(rbuf, rlen, tmp);
    }
    case 'l':
        late_result = 4711;
        late_started = 1;
        erl_drv_thread_create("cf_late", &late_tid, late, (void *)driver_mk_port(port), NULL);
        return cf_reply(rbuf, rlen, "ok");
    case 'r':
        if (late_started) {
            erl_drv_thread_join(late_tid, NULL);
            late_started = 0;
        }
        if (late_result == 4711) return cf_reply(rbuf, rlen, "none");
        return cf_reply_int(rbuf, rlen, late_result);
    }
    return -1;
}

static ErlDrvEntry th_entry = {
    NULL, th_start, NULL, NULL, NULL, NULL, "cf_thr_drv",
    NULL, NULL, th_control, NULL, NULL, NULL, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_thr_drv) { return &th_entry; }
