/*
 * cf_async_drv: async jobs (driver_SUITE's async_blast and the key
 * ordering ERTS documents for driver_async; our own code).
 * port_control(Port, $k, [K, N]) submits N jobs with key K (K = 255: no
 * key, a NULL key pointer); replies "ok" if every driver_async returned a
 * value >= 0. Each job records the order in which jobs of its key ran;
 * ready_async sends {Port, done, K, Seq, RanAs} to the owner, where Seq is
 * the job's submission number (1..N) within its key and RanAs the
 * position in which its key's jobs ran (driver-wide, per key 0..254).
 */
#include "cf_common.h"

typedef struct {
    int key, seq, ran_as;
} Job;

static ErlDrvMutex *ran_mtx;
static int ran_count[256];

static int as_init(void) { ran_mtx = erl_drv_mutex_create("cf_async"); return 0; }

static void as_finish(void) { erl_drv_mutex_destroy(ran_mtx); }

static ErlDrvData as_start(ErlDrvPort port, char *cmd) { (void)cmd; return (ErlDrvData)port; }

static void as_job(void *arg)
{
    Job *j = arg;
    erl_drv_mutex_lock(ran_mtx);
    j->ran_as = ++ran_count[j->key];
    erl_drv_mutex_unlock(ran_mtx);
}

static void as_free(void *arg) { driver_free(arg); }

static ErlDrvSSizeT as_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                               char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    int ok = 1, i, n;
    unsigned int key, after = 4711;
    char tmp[32];
    if (op != 'k' || len < 2) return -1;
    key = (unsigned char)buf[0];
    n = (unsigned char)buf[1];
    for (i = 1; i <= n; i++) {
        Job *j = driver_alloc(sizeof(Job));
        j->key = (int)key;
        j->seq = i;
        j->ran_as = 0;
        after = key; /* driver_async may write the key back */
        if (driver_async(port, key == 255 ? NULL : &after, as_job, j, as_free) < 0)
            ok = 0;
    }
    snprintf(tmp, sizeof tmp, "%s:%u", ok ? "ok" : "error", after);
    return cf_reply(rbuf, rlen, tmp);
}

static void as_ready_async(ErlDrvData d, ErlDrvThreadData td)
{
    ErlDrvPort port = (ErlDrvPort)d;
    Job *j = (Job *)td;
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, driver_mk_port(port),
        ERL_DRV_ATOM, driver_mk_atom("done"),
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)j->key,
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)j->seq,
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)j->ran_as,
        ERL_DRV_TUPLE, 5
    };
    erl_drv_output_term(driver_mk_port(port), spec, sizeof spec / sizeof spec[0]);
    driver_free(j);
}

static ErlDrvEntry as_entry = {
    as_init, as_start, NULL, NULL, NULL, NULL, "cf_async_drv",
    as_finish, NULL, as_control, NULL, NULL, as_ready_async, NULL, NULL, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_async_drv) { return &as_entry; }
