/*
 * sys_drv: a test driver for the thread, synchronisation and system parts
 * of the erl_driver API (erl_drv_thread_*, erl_drv_mutex_*, erl_drv_cond_*,
 * erl_drv_rwlock_*, erl_drv_tsd_*, driver_system_info, erl_drv_getenv,
 * erl_drv_putenv, the time functions, driver_dl_*, null_func,
 * erl_drv_consume_timeslice).
 *
 * Start: open_port({spawn_driver, "sys_drv"}, []).
 *
 * erlang:port_call(Port, Cmd, Arg) replies with a list of atoms, each a
 * `name=value` fact, so that a script prints them readably. Arg is [] for
 * most commands, a string or an integer for the others. Machine-dependent
 * values (times, CPU counts, stack sizes, paths) are never replied: only
 * comparisons of them.
 *   $i       -> driver_system_info: versions, thread/smp/dirty support, and
 *               which fields a short si_size leaves untouched
 *   $t       -> two threads count to 1000 each under a mutex, then wait on a
 *               condition variable for the creator's go; one returns its
 *               result, the other leaves with erl_drv_thread_exit from a
 *               nested call; joined, with tid, name and stack checks
 *   $m       -> mutex trylock semantics and names
 *   $w       -> rwlock try semantics (same thread and from another thread)
 *   $s       -> thread-specific data: keys, values per thread, key reuse
 *   $e       -> erl_drv_putenv / erl_drv_getenv round trip, the too-small
 *               and the missing cases, and whether libc's getenv sees it
 *   $c       -> erl_drv_convert_time_unit on fixed values
 *   $T       -> erl_drv_monotonic_time, erl_drv_time_offset, driver_get_now:
 *               consistency checks only
 *   $d Path  -> driver_dl_open on a missing file, then on Path (a library
 *               path without its ".so"), dl_sym of a present and a missing
 *               symbol, dl_close, driver_dl_error after each; error texts
 *               with Path replaced by "PATH" and spaces by "_"
 *   $n       -> null_func()
 *   $x P     -> erl_drv_consume_timeslice(port, P) (P an integer) until
 *               it returns nonzero (at most 1000 calls): how many calls it
 *               took (ERTS 25: 93 for P = 1, 10 for P = 10, 1 for P >= 100)
 *   other    -> -1 (badarg)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
} SysDrv;

/* A reply under construction: the items, each NUL-terminated. */
typedef struct {
    char text[4096];
    size_t len;
    int items;
} Out;

/* Appends the space-separated words of the formatted text as items (each
 * at most 255 bytes: an atom). */
static void put(Out *o, const char *fmt, ...)
{
    va_list ap;
    char text[1024];
    char *word, *save = NULL;
    size_t n;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    for (word = strtok_r(text, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
        n = strlen(word);
        if (n > 255)
            n = 255;
        if (o->len + n + 1 > sizeof(o->text))
            return;
        memcpy(o->text + o->len, word, n);
        o->text[o->len + n] = '\0';
        o->len += n + 1;
        o->items++;
    }
}

#define ETF_VERSION 131
#define ETF_SMALL_INTEGER 97
#define ETF_INTEGER 98
#define ETF_NIL 106
#define ETF_STRING 107
#define ETF_LIST 108
#define ETF_SMALL_ATOM_UTF8 119

/* Encodes the items as a list of atoms in the external term format. */
static ErlDrvSSizeT reply(Out *o, char **rbuf, ErlDrvSizeT rlen)
{
    size_t need = 1 + 5 + o->len + (size_t)o->items + 1, n = 0, at = 0;
    unsigned char *out;
    int i;
    if (need > rlen) {
        *rbuf = driver_alloc(need);
        if (*rbuf == NULL)
            return -1;
    }
    out = (unsigned char *)*rbuf;
    out[n++] = ETF_VERSION;
    if (o->items > 0) {
        out[n++] = ETF_LIST;
        out[n++] = (unsigned char)(o->items >> 24);
        out[n++] = (unsigned char)(o->items >> 16);
        out[n++] = (unsigned char)(o->items >> 8);
        out[n++] = (unsigned char)o->items;
        for (i = 0; i < o->items; i++) {
            size_t len = strlen(o->text + at);
            out[n++] = ETF_SMALL_ATOM_UTF8;
            out[n++] = (unsigned char)len;
            memcpy(out + n, o->text + at, len);
            n += len;
            at += len + 1;
        }
    }
    out[n++] = ETF_NIL;
    return (ErlDrvSSizeT)n;
}

/* The argument of a call: a string (or []) into `str`, or an integer. */
static int decode_arg(const char *buf, ErlDrvSizeT len, char *str, size_t size, long *num)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t n;
    str[0] = '\0';
    *num = 0;
    if (len < 2 || b[0] != ETF_VERSION)
        return -1;
    switch (b[1]) {
    case ETF_NIL:
        return 0;
    case ETF_STRING:
        if (len < 4)
            return -1;
        n = ((size_t)b[2] << 8) | b[3];
        if (n + 4 > len || n + 1 > size)
            return -1;
        memcpy(str, b + 4, n);
        str[n] = '\0';
        return 0;
    case ETF_SMALL_INTEGER:
        if (len < 3)
            return -1;
        *num = b[2];
        return 0;
    case ETF_INTEGER:
        if (len < 6)
            return -1;
        *num = (long)(int)(((unsigned)b[2] << 24) | ((unsigned)b[3] << 16) |
                           ((unsigned)b[4] << 8) | b[5]);
        return 0;
    default:
        return -1;
    }
}

static const char *yes(int b)
{
    return b ? "yes" : "no";
}

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "0";
    case EBUSY: return "ebusy";
    case EINVAL: return "einval";
    case EDEADLK: return "edeadlk";
    case EPERM: return "eperm";
    case ENOMEM: return "enomem";
    default: return "other";
    }
}

/* ---- driver_system_info ------------------------------------------------ */

#define SI_SIZE(FIELD) \
    (offsetof(ErlDrvSysInfo, FIELD) + sizeof(((ErlDrvSysInfo *)0)->FIELD))

static void sysinfo(Out *o)
{
    ErlDrvSysInfo si;

    memset(&si, 0x5a, sizeof(si));
    driver_system_info(&si, sizeof(si));
    put(o, "drv=%d.%d", si.driver_major_version, si.driver_minor_version);
    put(o, "erts=%s otp=%s", si.erts_version, si.otp_release);
    put(o, "thread=%d smp=%d", si.thread_support, si.smp_support);
    put(o, "async=%d sched_ok=%s", si.async_threads,
        yes(si.scheduler_threads >= 1 && si.scheduler_threads <= 1024));
    put(o, "nif=%d.%d dirty=%d", si.nif_major_version, si.nif_minor_version,
        si.dirty_scheduler_support);

    /* The first version of the struct ends at smp_support. */
    memset(&si, 0x5a, sizeof(si));
    driver_system_info(&si, SI_SIZE(smp_support));
    put(o, "v1_smp=%d v1_async_untouched=%s", si.smp_support,
        yes(si.async_threads == 0x5a5a5a5a));
    /* The second ends at scheduler_threads. */
    memset(&si, 0x5a, sizeof(si));
    driver_system_info(&si, SI_SIZE(scheduler_threads));
    put(o, "v2_async=%d v2_nif_untouched=%s", si.async_threads,
        yes(si.nif_major_version == 0x5a5a5a5a));
    /* The third ends at nif_minor_version. */
    memset(&si, 0x5a, sizeof(si));
    driver_system_info(&si, SI_SIZE(nif_minor_version));
    put(o, "v3_nif=%d.%d v3_dirty_untouched=%s", si.nif_major_version,
        si.nif_minor_version, yes(si.dirty_scheduler_support == 0x5a5a5a5a));
}

/* ---- threads, mutex, condition variable -------------------------------- */

#define COUNT 1000

typedef struct {
    ErlDrvMutex *mtx;
    ErlDrvCond *cnd;   /* the creator's go, broadcast to both threads */
    ErlDrvCond *ready_cnd; /* a thread is done counting: only the creator waits */
    long counter;      /* incremented by both threads under mtx */
    int ready;         /* threads done counting, under mtx */
    int go;            /* set by the creator, under mtx */
    ErlDrvTid tids[2]; /* written by the creator before go */
    int self_ok[2];
    int self_name_ok[2];
    int stack_kb[2];
} Shared;

typedef struct {
    Shared *sh;
    int index;
} ThreadArg;

static void count_and_wait(ThreadArg *a)
{
    Shared *sh = a->sh;
    int i;
    pthread_attr_t attr;
    size_t stack = 0;

    for (i = 0; i < COUNT; i++) {
        erl_drv_mutex_lock(sh->mtx);
        sh->counter++;
        erl_drv_mutex_unlock(sh->mtx);
    }
    erl_drv_mutex_lock(sh->mtx);
    sh->ready++;
    erl_drv_cond_signal(sh->ready_cnd);
    while (!sh->go)
        erl_drv_cond_wait(sh->cnd, sh->mtx);
    erl_drv_mutex_unlock(sh->mtx);

    sh->self_ok[a->index] = erl_drv_equal_tids(erl_drv_thread_self(), sh->tids[a->index]);
    sh->self_name_ok[a->index] =
        strcmp(erl_drv_thread_name(erl_drv_thread_self()), a->index ? "sys_t2" : "sys_t1") == 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstacksize(&attr, &stack);
        pthread_attr_destroy(&attr);
    }
    sh->stack_kb[a->index] = (int)(stack / 1024);
}

static void leave_early(void *resp)
{
    erl_drv_thread_exit(resp);
}

static void *thread_main(void *arg)
{
    ThreadArg *a = (ThreadArg *)arg;
    count_and_wait(a);
    if (a->index == 1) {
        leave_early((void *)0x2222);
        return (void *)0xbad; /* not reached */
    }
    return (void *)0x1111;
}

static void threads(Out *o)
{
    Shared sh;
    ThreadArg args[2];
    ErlDrvThreadOpts *opts;
    void *res[2] = {NULL, NULL};
    int r1, r2, j1, j2, i;
    ErlDrvTid me = erl_drv_thread_self();

    memset(&sh, 0, sizeof(sh));
    sh.mtx = erl_drv_mutex_create("sys_mtx");
    sh.cnd = erl_drv_cond_create("sys_cnd");
    sh.ready_cnd = erl_drv_cond_create("sys_ready");
    for (i = 0; i < 2; i++) {
        args[i].sh = &sh;
        args[i].index = i;
    }
    opts = erl_drv_thread_opts_create("sys_opts");
    put(o, "opts_default=%d", opts->suggested_stack_size);
    r1 = erl_drv_thread_create("sys_t1", &sh.tids[0], thread_main, &args[0], NULL);
    opts->suggested_stack_size = 64; /* kilowords: 512 KiB on 64-bit */
    r2 = erl_drv_thread_create("sys_t2", &sh.tids[1], thread_main, &args[1], opts);
    erl_drv_thread_opts_destroy(opts);
    put(o, "create=%d,%d", r1, r2);
    if (r1 != 0 || r2 != 0)
        return;
    put(o, "names=%s,%s", erl_drv_thread_name(sh.tids[0]), erl_drv_thread_name(sh.tids[1]));
    put(o, "equal_self=%d equal_t1_t2=%d t1_is_me=%d",
        erl_drv_equal_tids(me, erl_drv_thread_self()) != 0,
        erl_drv_equal_tids(sh.tids[0], sh.tids[1]) != 0,
        erl_drv_equal_tids(sh.tids[0], me) != 0);

    erl_drv_mutex_lock(sh.mtx);
    while (sh.ready < 2)
        erl_drv_cond_wait(sh.ready_cnd, sh.mtx);
    put(o, "counter=%ld", sh.counter);
    sh.go = 1;
    erl_drv_cond_broadcast(sh.cnd);
    erl_drv_mutex_unlock(sh.mtx);

    j1 = erl_drv_thread_join(sh.tids[0], &res[0]);
    j2 = erl_drv_thread_join(sh.tids[1], &res[1]);
    put(o, "join=%d,%d results=%lx,%lx", j1, j2, (unsigned long)res[0], (unsigned long)res[1]);
    put(o, "self_in_thread=%d,%d self_name_in_thread=%d,%d",
        sh.self_ok[0] != 0, sh.self_ok[1] != 0, sh.self_name_ok[0], sh.self_name_ok[1]);
    /* Default stacks are the system's (8 MiB here, at least 1 MiB anywhere
     * sensible); 64 kilowords gives 512 KiB plus a page or two. */
    put(o, "stack_default_big=%s stack_small=%s", yes(sh.stack_kb[0] >= 1024),
        yes(sh.stack_kb[1] >= 512 && sh.stack_kb[1] < 1024));
    put(o, "mtx_name=%s cnd_name=%s", erl_drv_mutex_name(sh.mtx), erl_drv_cond_name(sh.cnd));
    erl_drv_cond_destroy(sh.ready_cnd);
    erl_drv_cond_destroy(sh.cnd);
    erl_drv_mutex_destroy(sh.mtx);

    /* A thread that is not a driver thread cannot be joined. */
    put(o, "host_name=%s join_host=%s", erl_drv_thread_name(me),
        err_name(erl_drv_thread_join(me, NULL)));
}

static void *null_name_thread(void *arg)
{
    return arg;
}

static void mutexes(Out *o)
{
    ErlDrvMutex *m = erl_drv_mutex_create("sys_m");
    ErlDrvMutex *anon = erl_drv_mutex_create(NULL);
    ErlDrvCond *c = erl_drv_cond_create(NULL);
    ErlDrvRWLock *rw = erl_drv_rwlock_create(NULL);
    ErlDrvTid tid;
    void *res = NULL;
    int r;

    put(o, "trylock=%s", err_name(erl_drv_mutex_trylock(m)));
    put(o, "trylock_held=%s", err_name(erl_drv_mutex_trylock(m)));
    erl_drv_mutex_unlock(m);
    put(o, "trylock_again=%s", err_name(erl_drv_mutex_trylock(m)));
    erl_drv_mutex_unlock(m);
    put(o, "name=%s anon=%s anon_cond=%s anon_rw=%s null=%s", erl_drv_mutex_name(m),
        erl_drv_mutex_name(anon), erl_drv_cond_name(c), erl_drv_rwlock_name(rw),
        erl_drv_mutex_name(NULL) == NULL ? "NULL" : "not_null");
    /* The name is a copy. */
    {
        char buf[8];
        ErlDrvMutex *m2;
        strcpy(buf, "abc");
        m2 = erl_drv_mutex_create(buf);
        strcpy(buf, "xyz");
        put(o, "copied=%s", erl_drv_mutex_name(m2));
        erl_drv_mutex_destroy(m2);
    }
    r = erl_drv_thread_create(NULL, &tid, null_name_thread, (void *)0x33, NULL);
    put(o, "anon_thread=%d name=%s", r, r == 0 ? erl_drv_thread_name(tid) : "-");
    if (r == 0) {
        r = erl_drv_thread_join(tid, &res);
        put(o, "join=%d res=%lx", r, (unsigned long)res);
    }
    /* join with respp NULL */
    r = erl_drv_thread_create("sys_nullresp", &tid, null_name_thread, NULL, NULL);
    if (r == 0)
        put(o, "join_null_respp=%d", erl_drv_thread_join(tid, NULL));
    erl_drv_rwlock_destroy(rw);
    erl_drv_cond_destroy(c);
    erl_drv_mutex_destroy(anon);
    erl_drv_mutex_destroy(m);
}

/* ---- rwlock ------------------------------------------------------------ */

typedef struct {
    ErlDrvRWLock *rw;
    int tryr;
    int tryw;
} RwProbe;

static void *rw_other(void *arg)
{
    RwProbe *p = (RwProbe *)arg;
    p->tryr = erl_drv_rwlock_tryrlock(p->rw);
    if (p->tryr == 0)
        erl_drv_rwlock_runlock(p->rw);
    p->tryw = erl_drv_rwlock_tryrwlock(p->rw);
    if (p->tryw == 0)
        erl_drv_rwlock_rwunlock(p->rw);
    return NULL;
}

static void probe_other(Out *o, const char *label, ErlDrvRWLock *rw)
{
    RwProbe p;
    ErlDrvTid tid;
    p.rw = rw;
    p.tryr = p.tryw = -1;
    if (erl_drv_thread_create("sys_rw", &tid, rw_other, &p, NULL) == 0)
        erl_drv_thread_join(tid, NULL);
    put(o, "%s_other_tryr=%s %s_other_tryw=%s", label, err_name(p.tryr), label, err_name(p.tryw));
}

static void rwlocks(Out *o)
{
    ErlDrvRWLock *rw = erl_drv_rwlock_create("sys_rw");

    put(o, "name=%s", erl_drv_rwlock_name(rw));
    probe_other(o, "free", rw);
    put(o, "tryr=%s", err_name(erl_drv_rwlock_tryrlock(rw)));
    put(o, "tryr_again=%s", err_name(erl_drv_rwlock_tryrlock(rw)));
    erl_drv_rwlock_runlock(rw);
    put(o, "read_self_tryw=%s", err_name(erl_drv_rwlock_tryrwlock(rw)));
    probe_other(o, "read", rw);
    erl_drv_rwlock_runlock(rw);
    erl_drv_rwlock_rlock(rw);
    erl_drv_rwlock_runlock(rw);
    put(o, "tryw=%s", err_name(erl_drv_rwlock_tryrwlock(rw)));
    put(o, "write_self_tryr=%s write_self_tryw=%s", err_name(erl_drv_rwlock_tryrlock(rw)),
        err_name(erl_drv_rwlock_tryrwlock(rw)));
    probe_other(o, "write", rw);
    erl_drv_rwlock_rwunlock(rw);
    erl_drv_rwlock_rwlock(rw);
    erl_drv_rwlock_rwunlock(rw);
    put(o, "tryw_free=%s", err_name(erl_drv_rwlock_tryrwlock(rw)));
    erl_drv_rwlock_rwunlock(rw);
    erl_drv_rwlock_destroy(rw);
}

/* ---- thread-specific data ---------------------------------------------- */

typedef struct {
    ErlDrvTSDKey key;
    void *before;
    void *after;
} TsdProbe;

static void *tsd_thread(void *arg)
{
    TsdProbe *p = (TsdProbe *)arg;
    p->before = erl_drv_tsd_get(p->key);
    erl_drv_tsd_set(p->key, (void *)0x77);
    p->after = erl_drv_tsd_get(p->key);
    return NULL;
}

static void tsd(Out *o)
{
    ErlDrvTSDKey k1 = -1, k2 = -1, k3 = -1;
    int r1, r2, r3;
    TsdProbe p;
    ErlDrvTid tid;

    r1 = erl_drv_tsd_key_create("sys_k1", &k1);
    r2 = erl_drv_tsd_key_create(NULL, &k2);
    put(o, "create=%d,%d distinct=%s nonneg=%s", r1, r2, yes(k1 != k2), yes(k1 >= 0 && k2 >= 0));
    put(o, "unset=%lx", (unsigned long)erl_drv_tsd_get(k1));
    erl_drv_tsd_set(k1, (void *)0x55);
    erl_drv_tsd_set(k2, (void *)0x66);
    put(o, "get=%lx,%lx", (unsigned long)erl_drv_tsd_get(k1), (unsigned long)erl_drv_tsd_get(k2));
    p.key = k1;
    p.before = p.after = (void *)1;
    if (erl_drv_thread_create("sys_tsd", &tid, tsd_thread, &p, NULL) == 0)
        erl_drv_thread_join(tid, NULL);
    put(o, "thread_before=%lx thread_after=%lx", (unsigned long)p.before, (unsigned long)p.after);
    put(o, "mine_after=%lx", (unsigned long)erl_drv_tsd_get(k1));
    erl_drv_tsd_set(k1, NULL);
    erl_drv_tsd_set(k2, NULL);
    erl_drv_tsd_key_destroy(k1);
    r3 = erl_drv_tsd_key_create("sys_k3", &k3);
    put(o, "recreate=%d reused=%s", r3, yes(k3 == k1));
    erl_drv_tsd_key_destroy(k3);
    erl_drv_tsd_key_destroy(k2);
}

/* ---- environment ------------------------------------------------------- */

static void env(Out *o)
{
    char buf[64];
    size_t size;
    int r;

    r = erl_drv_putenv("PORTHOST_SYS_DRV_VAR", "hello");
    put(o, "put=%d", r);
    memset(buf, 'x', sizeof(buf));
    size = sizeof(buf);
    r = erl_drv_getenv("PORTHOST_SYS_DRV_VAR", buf, &size);
    put(o, "get=%d size=%lu value=%s", r, (unsigned long)size, r == 0 ? buf : "-");
    /* exactly big enough: the value and its NUL */
    size = 6;
    r = erl_drv_getenv("PORTHOST_SYS_DRV_VAR", buf, &size);
    put(o, "get6=%d size=%lu", r, (unsigned long)size);
    /* one byte short */
    memset(buf, 'x', sizeof(buf));
    size = 5;
    r = erl_drv_getenv("PORTHOST_SYS_DRV_VAR", buf, &size);
    put(o, "get5=%d size=%lu buf_untouched=%s", r, (unsigned long)size, yes(buf[0] == 'x'));
    size = 2;
    r = erl_drv_getenv("PORTHOST_SYS_DRV_VAR", buf, &size);
    put(o, "get2=%d size=%lu", r, (unsigned long)size);
    size = sizeof(buf);
    r = erl_drv_getenv("PORTHOST_SYS_DRV_NO_SUCH_VAR", buf, &size);
    put(o, "missing=%d size=%lu", r, (unsigned long)size);
    r = erl_drv_putenv("PORTHOST_SYS_DRV_VAR", "");
    size = sizeof(buf);
    r = erl_drv_getenv("PORTHOST_SYS_DRV_VAR", buf, &size);
    put(o, "empty=%d size=%lu", r, (unsigned long)size);
    put(o, "libc_sees_it=%s", yes(getenv("PORTHOST_SYS_DRV_VAR") != NULL));
    {
        char big[8192];
        size = sizeof(big);
        r = erl_drv_getenv("PATH", big, &size);
        put(o, "inherited_path=%s", r == 0 ? "found" : r > 0 ? "too_small" : "missing");
    }
}

/* ---- time -------------------------------------------------------------- */

static void convert(Out *o)
{
    put(o, "s_ms=%lld", (long long)erl_drv_convert_time_unit(1, ERL_DRV_SEC, ERL_DRV_MSEC));
    put(o, "s_ns=%lld", (long long)erl_drv_convert_time_unit(3, ERL_DRV_SEC, ERL_DRV_NSEC));
    put(o, "ms_us=%lld", (long long)erl_drv_convert_time_unit(-7, ERL_DRV_MSEC, ERL_DRV_USEC));
    put(o, "ms_s=%lld", (long long)erl_drv_convert_time_unit(1999, ERL_DRV_MSEC, ERL_DRV_SEC));
    put(o, "neg_ms_s=%lld,%lld,%lld,%lld",
        (long long)erl_drv_convert_time_unit(-1, ERL_DRV_MSEC, ERL_DRV_SEC),
        (long long)erl_drv_convert_time_unit(-1000, ERL_DRV_MSEC, ERL_DRV_SEC),
        (long long)erl_drv_convert_time_unit(-1001, ERL_DRV_MSEC, ERL_DRV_SEC),
        (long long)erl_drv_convert_time_unit(-999, ERL_DRV_MSEC, ERL_DRV_SEC));
    put(o, "ns_us=%lld", (long long)erl_drv_convert_time_unit(123456789, ERL_DRV_NSEC, ERL_DRV_USEC));
    put(o, "same=%lld", (long long)erl_drv_convert_time_unit(-42, ERL_DRV_USEC, ERL_DRV_USEC));
    put(o, "bad_from=%s", yes(erl_drv_convert_time_unit(1, (ErlDrvTimeUnit)4, ERL_DRV_SEC) == ERL_DRV_TIME_ERROR));
    put(o, "bad_to=%s", yes(erl_drv_convert_time_unit(1, ERL_DRV_SEC, (ErlDrvTimeUnit)17) == ERL_DRV_TIME_ERROR));
    put(o, "bad_neg=%s", yes(erl_drv_convert_time_unit(1, (ErlDrvTimeUnit)-1, ERL_DRV_SEC) == ERL_DRV_TIME_ERROR));
}

/* driver_get_now is deprecated (and so declared); it is tested anyway. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static long long now_us(const ErlDrvNowData *n)
{
    return ((long long)n->megasecs * 1000000 + (long long)n->secs) * 1000000 + (long long)n->microsecs;
}

static void times(Out *o)
{
    ErlDrvTime m1 = erl_drv_monotonic_time(ERL_DRV_NSEC);
    ErlDrvTime m2 = erl_drv_monotonic_time(ERL_DRV_NSEC);
    ErlDrvTime ms = erl_drv_monotonic_time(ERL_DRV_SEC);
    ErlDrvTime off = erl_drv_time_offset(ERL_DRV_USEC);
    ErlDrvTime mus = erl_drv_monotonic_time(ERL_DRV_USEC);
    ErlDrvNowData n1, n2;
    long long sys_us, d;
    int i, increasing = 1;

    put(o, "mono_nondecreasing=%s", yes(m2 >= m1));
    /* ERTS's monotonic time starts far below zero (at about -2^59 ns). */
    put(o, "mono_negative=%s", yes(m1 < 0));
    put(o, "mono_sec_consistent=%s",
        yes(ms >= erl_drv_convert_time_unit(m1, ERL_DRV_NSEC, ERL_DRV_SEC) - 1 &&
            ms <= erl_drv_convert_time_unit(m2, ERL_DRV_NSEC, ERL_DRV_SEC) + 1));
    put(o, "mono_bad=%s offset_bad=%s",
        yes(erl_drv_monotonic_time((ErlDrvTimeUnit)9) == ERL_DRV_TIME_ERROR),
        yes(erl_drv_time_offset((ErlDrvTimeUnit)9) == ERL_DRV_TIME_ERROR));
    put(o, "offset_units_agree=%s",
        yes(erl_drv_time_offset(ERL_DRV_SEC) == erl_drv_convert_time_unit(off, ERL_DRV_USEC, ERL_DRV_SEC)));

    put(o, "get_now=%d get_now_null=%s", driver_get_now(&n1), yes(driver_get_now(NULL) < 0));
    for (i = 0; i < 1000; i++) {
        driver_get_now(&n2);
        if (now_us(&n2) <= now_us(&n1))
            increasing = 0;
        n1 = n2;
    }
    put(o, "now_strictly_increasing=%s", yes(increasing));
    put(o, "now_fields_ok=%s", yes(n1.secs < 1000000 && n1.microsecs < 1000000));
    /* erlang:now() follows Erlang system time = monotonic + offset (1000
     * calls above may each have bumped it by 1 us). */
    sys_us = mus + off;
    d = now_us(&n1) - sys_us;
    put(o, "now_is_system_time=%s", yes(d > -1000000 && d < 1000000));
}

/* ---- driver_dl_* ------------------------------------------------------- */

/* Appends "label=TEXT" with every occurrence of `path` in TEXT replaced by
 * PATH and spaces by underscores. */
static void put_error(Out *o, const char *label, const char *text, const char *path)
{
    char buf[512];
    size_t n = 0, plen = path ? strlen(path) : 0;
    if (!text) {
        put(o, "%s=NULL", label);
        return;
    }
    while (*text && n < sizeof(buf) - 8) {
        if (plen && strncmp(text, path, plen) == 0) {
            memcpy(buf + n, "PATH", 4);
            n += 4;
            text += plen;
        } else {
            buf[n++] = *text == ' ' ? '_' : *text;
            text++;
        }
    }
    buf[n] = '\0';
    put(o, "%s=%s", label, buf);
}

/* All in one callback: driver_dl_error's answer depends on what failed
 * before on the same thread. */
static void dl(Out *o, const char *path)
{
    void *h, *sym;
    char missing[] = "/nonexistent/porthost_sys_drv_lib";
    char nosym[] = "porthost_no_such_symbol";
    char init[] = "driver_init";
    char with_ext[300];
    char *p = (char *)path;

    put_error(o, "fresh_error", driver_dl_error(), path);
    h = driver_dl_open(missing);
    put(o, "missing=%s", h ? "handle" : "NULL");
    put_error(o, "missing_error", driver_dl_error(), path);

    h = driver_dl_open(p);
    put(o, "open=%s", h ? "handle" : "NULL");
    if (!h)
        return;
    sym = driver_dl_sym(h, init);
    put(o, "sym=%s", sym ? "found" : "NULL");
    put_error(o, "sym_error", driver_dl_error(), path);
    sym = driver_dl_sym(h, nosym);
    put(o, "nosym=%s", sym ? "found" : "NULL");
    put_error(o, "nosym_error", driver_dl_error(), path);
    sym = driver_dl_sym(h, init);
    put_error(o, "after_found_error", driver_dl_error(), path);
    put(o, "close=%d", driver_dl_close(h));

    h = driver_dl_open(missing);
    put_error(o, "missing_again_error", driver_dl_error(), path);
    /* driver_dl_open appends ".so" to the path it is given. */
    snprintf(with_ext, sizeof(with_ext), "%s.so", path);
    h = driver_dl_open(with_ext);
    put(o, "open_with_ext=%s", h ? "handle" : "NULL");
    if (h)
        driver_dl_close(h);
}

/* ---- the driver -------------------------------------------------------- */

static ErlDrvData sys_start(ErlDrvPort port, char *command)
{
    SysDrv *d = driver_alloc(sizeof(SysDrv));
    d->port = port;
    return (ErlDrvData)d;
}

static void sys_stop(ErlDrvData data)
{
    driver_free(data);
}

static ErlDrvSSizeT sys_call(ErlDrvData data, unsigned int command,
                             char *buf, ErlDrvSizeT len,
                             char **rbuf, ErlDrvSizeT rlen, unsigned int *flags)
{
    SysDrv *d = (SysDrv *)data;
    Out o;
    char arg[256];
    long num;
    int n;

    o.len = 0;
    o.items = 0;
    if (decode_arg(buf, len, arg, sizeof(arg), &num) != 0)
        return -1;

    switch (command) {
    case 'i': sysinfo(&o); break;
    case 't': threads(&o); break;
    case 'm': mutexes(&o); break;
    case 'w': rwlocks(&o); break;
    case 's': tsd(&o); break;
    case 'e': env(&o); break;
    case 'c': convert(&o); break;
    case 'T': times(&o); break;
    case 'd': dl(&o, arg); break;
    case 'n': put(&o, "null_func=%d", null_func()); break;
    case 'x':
        for (n = 1; n <= 1000; n++)
            if (erl_drv_consume_timeslice(d->port, (int)num))
                break;
        put(&o, "calls=%d", n);
        break;
    default:
        return -1;
    }
    return reply(&o, rbuf, rlen);
}

static ErlDrvEntry sys_driver_entry = {
    NULL,                 /* init */
    sys_start,
    sys_stop,
    NULL,                 /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "sys_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    NULL,                 /* control */
    NULL,                 /* timeout */
    NULL,                 /* outputv */
    NULL,                 /* ready_async */
    NULL,                 /* flush */
    sys_call,
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    ERL_DRV_FLAG_USE_PORT_LOCKING,
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(sys_drv)
{
    return &sys_driver_entry;
}
