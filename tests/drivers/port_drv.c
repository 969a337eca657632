/*
 * port_drv: a test driver for the port-level parts of the driver API that a
 * script (or a Rust test) can only see through the driver: busy ports, busy
 * message queue limits, os_pid, port data locks (with a driver thread),
 * process monitors, driver_create_port, driver_lock_driver and
 * add_driver_entry/remove_driver_entry. The same script runs under ERTS and
 * under porthost, and prints what the driver reads back.
 *
 * soft_busy_drv is this driver (see soft_busy_drv.c) with the driver flags
 * ERL_DRV_FLAG_SOFT_BUSY | ERL_DRV_FLAG_NO_BUSY_MSGQ and without a
 * process_exit callback.
 *
 * Start: open_port({spawn_driver, "port_drv"}, Opts). Each port gets an
 * instance number 1, 2, ... (per load). A driver-wide event log records
 * "start(N)", "stop(N)", "process_exit(N)", "created(N)", "extra_init";
 * control $K on any port returns it
 * (space-separated) and clears it.
 *
 * output: sends "got:" followed by the data to the owner; then, if the port
 * was told $o "1", sets the port busy. The command "caller" instead sends
 * {Port, caller} to driver_caller(port) with erl_drv_send_term: the
 * process that sent the command.
 *
 * port_control(Port, Cmd, Data); numbers are decimal text; replies are text:
 *   $b "1"|"0"   -> set_busy_port(port, on); "ok"
 *   $o "1"|"0"   -> output sets the port busy after each command; "ok"
 *   $B "N"       -> driver_set_timer(N ms); the timeout sends "unbusy" and
 *                   then clears the busy state; "ok"
 *   $Z "N"       -> driver_set_timer(N ms); the timeout calls
 *                   driver_failure_atom(port, "timer_failure"); "ok"
 *   $U "N"       -> driver_set_timer(N ms); the timeout sends {tick, Port}
 *                   to driver_connected(port) with erl_drv_send_term (a
 *                   term outside any request whose first element is not
 *                   the port); "ok"
 *   $l "LO HI"   -> erl_drv_busy_msgq_limits(port, &lo, &hi) where each of
 *                   LO, HI is a number, "r" (ERL_DRV_BUSY_MSGQ_READ_ONLY),
 *                   "d" (ERL_DRV_BUSY_MSGQ_DISABLED) or "-" (a NULL
 *                   pointer); replies the values read back in the same
 *                   notation
 *   $p "N"       -> erl_drv_set_os_pid(port, N); "ok"
 *   $P           -> driver_pdl_create: "pdl", or "null" if it returned NULL
 *   $r / $i / $d -> driver_pdl_get_refc / _inc_refc / _dec_refc on this
 *                   port's PDL: the count
 *   $L           -> driver_pdl_lock, driver_pdl_get_refc, driver_pdl_unlock:
 *                   the count seen while locked
 *   $S           -> keeps this port's PDL driver-wide with
 *                   driver_pdl_inc_refc: the count
 *   $R / $D      -> driver_pdl_get_refc / _dec_refc on the kept PDL: the
 *                   count ($D forgets it when the count reaches 0)
 *   $T "N"       -> starts a thread (pthreads) that N times locks the PDL,
 *                   driver_enq's the two bytes "ab" and unlocks; "ok"
 *   $E "M"       -> M times, on the port's thread: lock the PDL, and if the
 *                   queue holds 2 bytes or more check that it starts with
 *                   "ab" (driver_peekq) and driver_deq 2 of them; unlock.
 *                   "ok", or "bad" if a check failed
 *   $J           -> joins the thread; under the PDL checks that the queue is
 *                   whole "ab" pairs and that dequeued + left = 2N, empties
 *                   it: "ok total=2N", or what went wrong
 *   $s           -> keeps driver_caller(port) as "the saved pid"; "ok"
 *   $m "S"       -> driver_monitor_process(port, driver_caller(port),
 *                   &monitor[S]): the return value
 *   $M "S"       -> the same for the saved pid
 *   $g "S"       -> driver_get_monitored_process(&monitor[S]): "caller",
 *                   "saved", "nil" (driver_term_nil) or "other"
 *   $u "S"       -> driver_demonitor_process(&monitor[S]): the return value
 *   $C "S T"     -> driver_compare_monitors(&monitor[S], &monitor[T]):
 *                   "equal" or "differ"; $C "S" compares monitor[S] with a
 *                   copy of itself
 *   process_exit -> logs "process_exit(N)" and sends "process_exit slot=S
 *                   monitored=W" where S is the slot whose monitor compares
 *                   equal (driver_compare_monitors) and W is "same" if
 *                   driver_get_monitored_process gives the pid monitored in
 *                   that slot ("nil" for driver_term_nil, else "other")
 *   $c "NAME"    -> driver_create_port(port, driver_caller(port), NAME,
 *                   child), child being a new port_drv port state (logged
 *                   "created(N)"); the new port sends "hello" to its owner
 *                   at once, or the creator sends "create failed" if
 *                   driver_create_port failed; replies "ok"
 *   $x "NAME"    -> the same with the saved pid as Owner
 *   $k           -> driver_lock_driver(port): the return value
 *   $a           -> add_driver_entry(a second entry named port_drv_extra
 *                   (soft_busy_drv_extra), same callbacks; its init logs
 *                   "extra_init"); "ok"
 *   $e           -> remove_driver_entry(that entry): the return value
 *   $X           -> remove_driver_entry(this driver's own entry)
 *   $Y           -> remove_driver_entry(an entry never registered)
 *   $F           -> get_port_flags(port) as decimal
 *   $K           -> the event log (then cleared)
 *   other        -> -1 (badarg)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

#ifndef PORT_DRV_NAME
#define PORT_DRV_NAME port_drv
#define PORT_DRV_FLAGS ERL_DRV_FLAG_USE_PORT_LOCKING
#define PORT_DRV_PROCESS_EXIT port_process_exit
#endif
#define PORT_STR2(x) #x
#define PORT_STR(x) PORT_STR2(x)

#define SLOTS 4

typedef struct {
    ErlDrvPort port;
    int id;
    int busy_on_output;
    int fail_at_timeout;
    int term_at_timeout;
    ErlDrvPDL pdl;
    ErlDrvMonitor mon[SLOTS];
    ErlDrvTermData mon_pid[SLOTS];
    /* The queue thread ($T, $E, $J). */
    pthread_t thread;
    int thread_running;
    long thread_n;
    long dequeued;
    int bad;
    /* The driver_create_port to make ($c, $x). */
    ErlDrvTermData create_owner;
    char create_name[64];
} PortData;

/* Driver-wide state, under `global` (the driver uses port-level locking, so
 * callbacks on different ports may run at once). */
static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;
static char event_log[4096];
static size_t event_len;
static int next_id;
static ErlDrvTermData saved_pid;
static ErlDrvPDL kept_pdl;

static void log_text(const char *text)
{
    size_t n = strlen(text);
    pthread_mutex_lock(&global);
    if (event_len + n + 1 < sizeof event_log) {
        if (event_len)
            event_log[event_len++] = ' ';
        memcpy(event_log + event_len, text, n);
        event_len += n;
    }
    pthread_mutex_unlock(&global);
}

static void log_event(const char *what, int id)
{
    char text[64];
    snprintf(text, sizeof text, "%s(%d)", what, id);
    log_text(text);
}

static int port_init(void)
{
    event_len = 0;
    next_id = 0;
    saved_pid = 0;
    kept_pdl = NULL;
    return 0;
}

static int extra_init(void)
{
    log_text("extra_init");
    return 0;
}

static PortData *new_port_data(ErlDrvPort port)
{
    PortData *p = driver_alloc(sizeof(PortData));
    memset(p, 0, sizeof *p);
    p->port = port;
    pthread_mutex_lock(&global);
    p->id = ++next_id;
    pthread_mutex_unlock(&global);
    return p;
}

static ErlDrvData port_start(ErlDrvPort port, char *command)
{
    PortData *p = new_port_data(port);
    log_event("start", p->id);
    return (ErlDrvData)p;
}

static void join_thread(PortData *p)
{
    if (p->thread_running) {
        pthread_join(p->thread, NULL);
        p->thread_running = 0;
    }
}

static void port_stop(ErlDrvData data)
{
    PortData *p = (PortData *)data;
    join_thread(p);
    log_event("stop", p->id);
    driver_free(p);
}

static void send_text(ErlDrvPort port, const char *text)
{
    driver_output(port, (char *)text, strlen(text));
}

static void port_output(ErlDrvData data, char *buf, ErlDrvSizeT len)
{
    PortData *p = (PortData *)data;
    if (len == 6 && memcmp(buf, "caller", 6) == 0) {
        ErlDrvTermData spec[] = {ERL_DRV_PORT, driver_mk_port(p->port),
                                 ERL_DRV_ATOM, driver_mk_atom("caller"),
                                 ERL_DRV_TUPLE, 2};
        erl_drv_send_term(driver_mk_port(p->port), driver_caller(p->port), spec,
                          sizeof(spec) / sizeof(spec[0]));
        return;
    }
    char *msg = driver_alloc(len + 4);
    memcpy(msg, "got:", 4);
    memcpy(msg + 4, buf, len);
    driver_output(p->port, msg, len + 4);
    driver_free(msg);
    if (p->busy_on_output)
        set_busy_port(p->port, 1);
}

static void port_timeout(ErlDrvData data)
{
    PortData *p = (PortData *)data;
    if (p->term_at_timeout) {
        ErlDrvTermData spec[] = {ERL_DRV_ATOM, driver_mk_atom("tick"),
                                 ERL_DRV_PORT, driver_mk_port(p->port),
                                 ERL_DRV_TUPLE, 2};
        p->term_at_timeout = 0;
        erl_drv_send_term(driver_mk_port(p->port), driver_connected(p->port), spec,
                          sizeof(spec) / sizeof(spec[0]));
        return;
    }
    if (p->fail_at_timeout) {
        driver_failure_atom(p->port, "timer_failure");
        return;
    }
    send_text(p->port, "unbusy");
    set_busy_port(p->port, 0);
}

static ErlDrvSSizeT reply_text(const char *text, char **rbuf, ErlDrvSizeT rlen)
{
    size_t len = strlen(text);
    if (len > rlen)
        *rbuf = driver_alloc(len);
    memcpy(*rbuf, text, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvSSizeT reply_num(long long n, char **rbuf, ErlDrvSizeT rlen)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", n);
    return reply_text(text, rbuf, rlen);
}

/* The control data as a NUL-terminated string (truncated to 63 bytes). */
static void arg_text(char *out, const char *buf, ErlDrvSizeT len)
{
    if (len > 63)
        len = 63;
    memcpy(out, buf, len);
    out[len] = '\0';
}

static int slot_arg(const char *buf, ErlDrvSizeT len)
{
    char text[64];
    int s;
    arg_text(text, buf, len);
    s = atoi(text);
    return s >= 0 && s < SLOTS ? s : 0;
}

/* "r", "d", "-" or a number, for $l. */
static ErlDrvSizeT *limit_arg(const char *tok, ErlDrvSizeT *store)
{
    if (strcmp(tok, "-") == 0)
        return NULL;
    if (strcmp(tok, "r") == 0)
        *store = ERL_DRV_BUSY_MSGQ_READ_ONLY;
    else if (strcmp(tok, "d") == 0)
        *store = ERL_DRV_BUSY_MSGQ_DISABLED;
    else
        *store = (ErlDrvSizeT)strtoull(tok, NULL, 10);
    return store;
}

static void limit_text(char *out, size_t cap, ErlDrvSizeT *ptr)
{
    if (ptr == NULL)
        snprintf(out, cap, "-");
    else if (*ptr == ERL_DRV_BUSY_MSGQ_DISABLED)
        snprintf(out, cap, "d");
    else if (*ptr == ERL_DRV_BUSY_MSGQ_READ_ONLY)
        snprintf(out, cap, "r");
    else
        snprintf(out, cap, "%llu", (unsigned long long)*ptr);
}

static ErlDrvSSizeT msgq_limits(PortData *p, const char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    char text[64], lo_tok[32], hi_tok[32], lo_out[32], hi_out[32], out[80];
    ErlDrvSizeT lo, hi, *lop, *hip;
    arg_text(text, buf, len);
    if (sscanf(text, "%31s %31s", lo_tok, hi_tok) != 2)
        return -1;
    lop = limit_arg(lo_tok, &lo);
    hip = limit_arg(hi_tok, &hi);
    erl_drv_busy_msgq_limits(p->port, lop, hip);
    limit_text(lo_out, sizeof lo_out, lop);
    limit_text(hi_out, sizeof hi_out, hip);
    snprintf(out, sizeof out, "%s %s", lo_out, hi_out);
    return reply_text(out, rbuf, rlen);
}

static void *queue_thread(void *arg)
{
    PortData *p = (PortData *)arg;
    long i;
    for (i = 0; i < p->thread_n; i++) {
        driver_pdl_lock(p->pdl);
        driver_enq(p->port, "ab", 2);
        driver_pdl_unlock(p->pdl);
    }
    return NULL;
}

/* With the PDL held: does the queue start with "ab"? */
static int queue_starts_with_ab(PortData *p)
{
    int vlen, i;
    char first[2];
    size_t got = 0;
    SysIOVec *iov = driver_peekq(p->port, &vlen);
    for (i = 0; iov != NULL && i < vlen && got < 2; i++) {
        size_t take = iov[i].iov_len < 2 - got ? iov[i].iov_len : 2 - got;
        memcpy(first + got, iov[i].iov_base, take);
        got += take;
    }
    return got == 2 && first[0] == 'a' && first[1] == 'b';
}

/* With the PDL held: is the whole queue "abab..."? */
static int queue_all_ab(PortData *p)
{
    int vlen, i;
    size_t k, pos = 0;
    SysIOVec *iov = driver_peekq(p->port, &vlen);
    for (i = 0; iov != NULL && i < vlen; i++)
        for (k = 0; k < iov[i].iov_len; k++, pos++)
            if (((char *)iov[i].iov_base)[k] != (pos % 2 ? 'b' : 'a'))
                return 0;
    return pos % 2 == 0;
}

static ErlDrvSSizeT queue_control(PortData *p, unsigned int command,
                                  const char *buf, ErlDrvSizeT len,
                                  char **rbuf, ErlDrvSizeT rlen)
{
    char text[96];
    long i, m;
    ErlDrvSizeT left;

    if (p->pdl == NULL)
        return reply_text("no pdl", rbuf, rlen);
    switch (command) {
    case 'T':
        if (p->thread_running)
            return reply_text("running", rbuf, rlen);
        arg_text(text, buf, len);
        p->thread_n = atol(text);
        p->dequeued = 0;
        p->bad = 0;
        if (pthread_create(&p->thread, NULL, queue_thread, p) != 0)
            return reply_text("pthread_create failed", rbuf, rlen);
        p->thread_running = 1;
        return reply_text("ok", rbuf, rlen);
    case 'E':
        arg_text(text, buf, len);
        m = atol(text);
        for (i = 0; i < m; i++) {
            driver_pdl_lock(p->pdl);
            if (driver_sizeq(p->port) >= 2) {
                if (!queue_starts_with_ab(p))
                    p->bad = 1;
                driver_deq(p->port, 2);
                p->dequeued += 2;
            }
            driver_pdl_unlock(p->pdl);
        }
        return reply_text(p->bad ? "bad" : "ok", rbuf, rlen);
    default: /* 'J' */
        join_thread(p);
        driver_pdl_lock(p->pdl);
        left = driver_sizeq(p->port);
        if (!queue_all_ab(p))
            p->bad = 1;
        if (left > 0)
            driver_deq(p->port, left);
        driver_pdl_unlock(p->pdl);
        if (p->bad)
            snprintf(text, sizeof text, "bad data");
        else if (p->dequeued + (long)left != 2 * p->thread_n)
            snprintf(text, sizeof text, "lost: dequeued=%ld left=%ld of %ld",
                     p->dequeued, (long)left, 2 * p->thread_n);
        else
            snprintf(text, sizeof text, "ok total=%ld", 2 * p->thread_n);
        return reply_text(text, rbuf, rlen);
    }
}

static const char *who(ErlDrvPort port, ErlDrvTermData pid)
{
    if (pid == driver_term_nil)
        return "nil";
    if (pid == driver_caller(port))
        return "caller";
    if (saved_pid != 0 && pid == saved_pid)
        return "saved";
    return "other";
}

/* Unused in soft_busy_drv, which has no process_exit. */
static __attribute__((unused)) void
port_process_exit(ErlDrvData data, ErlDrvMonitor *monitor)
{
    PortData *p = (PortData *)data;
    char text[96];
    int s, slot = -1;
    ErlDrvTermData pid = driver_get_monitored_process(p->port, monitor);
    for (s = 0; s < SLOTS; s++)
        if (driver_compare_monitors(monitor, &p->mon[s]) == 0) {
            slot = s;
            break;
        }
    snprintf(text, sizeof text, "process_exit slot=%d monitored=%s", slot,
             pid == driver_term_nil ? "nil"
             : slot >= 0 && pid == p->mon_pid[slot] ? "same" : "other");
    log_event("process_exit", p->id);
    send_text(p->port, text);
}

static ErlDrvEntry port_driver_entry;
static ErlDrvEntry extra_entry;
static ErlDrvEntry never_entry;

/* ERTS 25 deadlocks in driver_create_port when the driver uses
 * driver-level locking (the new port takes the driver lock the creator
 * holds): this driver uses port-level locking. */
static void create_port(PortData *p)
{
    PortData *child = new_port_data(NULL);
    ErlDrvPort np = driver_create_port(p->port, p->create_owner,
                                       p->create_name, (ErlDrvData)child);
    if (np == NULL || np == (ErlDrvPort)(long)-1) {
        driver_free(child);
        send_text(p->port, "create failed");
        return;
    }
    child->port = np;
    log_event("created", child->id);
    send_text(np, "hello");
}

static ErlDrvSSizeT port_control(ErlDrvData data, unsigned int command,
                                 char *buf, ErlDrvSizeT len,
                                 char **rbuf, ErlDrvSizeT rlen)
{
    PortData *p = (PortData *)data;
    char text[64];
    ErlDrvSSizeT res;
    ErlDrvMonitor copy;
    int s, t;

    arg_text(text, buf, len);
    switch (command) {
    case 'b':
        set_busy_port(p->port, atoi(text));
        return reply_text("ok", rbuf, rlen);
    case 'o':
        p->busy_on_output = atoi(text);
        return reply_text("ok", rbuf, rlen);
    case 'U':
        p->term_at_timeout = 1;
        driver_set_timer(p->port, (unsigned long)atol(text));
        return reply_text("ok", rbuf, rlen);
    case 'B':
    case 'Z':
        p->fail_at_timeout = command == 'Z';
        driver_set_timer(p->port, (unsigned long)atol(text));
        return reply_text("ok", rbuf, rlen);
    case 'l':
        return msgq_limits(p, buf, len, rbuf, rlen);
    case 'p':
        erl_drv_set_os_pid(p->port, (ErlDrvSInt)atol(text));
        return reply_text("ok", rbuf, rlen);
    case 'P': {
        ErlDrvPDL pdl = driver_pdl_create(p->port);
        if (pdl == NULL)
            return reply_text("null", rbuf, rlen);
        p->pdl = pdl;
        return reply_text("pdl", rbuf, rlen);
    }
    case 'r':
        return reply_num((long long)driver_pdl_get_refc(p->pdl), rbuf, rlen);
    case 'i':
        return reply_num((long long)driver_pdl_inc_refc(p->pdl), rbuf, rlen);
    case 'd':
        return reply_num((long long)driver_pdl_dec_refc(p->pdl), rbuf, rlen);
    case 'L': {
        ErlDrvSInt n;
        driver_pdl_lock(p->pdl);
        n = driver_pdl_get_refc(p->pdl);
        driver_pdl_unlock(p->pdl);
        return reply_num((long long)n, rbuf, rlen);
    }
    case 'S':
        kept_pdl = p->pdl;
        return reply_num((long long)driver_pdl_inc_refc(kept_pdl), rbuf, rlen);
    case 'R':
        return reply_num((long long)driver_pdl_get_refc(kept_pdl), rbuf, rlen);
    case 'D': {
        ErlDrvSInt n = driver_pdl_dec_refc(kept_pdl);
        if (n == 0)
            kept_pdl = NULL;
        return reply_num((long long)n, rbuf, rlen);
    }
    case 'T':
    case 'E':
    case 'J':
        return queue_control(p, command, buf, len, rbuf, rlen);
    case 's':
        saved_pid = driver_caller(p->port);
        return reply_text("ok", rbuf, rlen);
    case 'm':
    case 'M':
        s = slot_arg(buf, len);
        p->mon_pid[s] = command == 'm' ? driver_caller(p->port) : saved_pid;
        res = driver_monitor_process(p->port, p->mon_pid[s], &p->mon[s]);
        return reply_num(res, rbuf, rlen);
    case 'g':
        s = slot_arg(buf, len);
        return reply_text(who(p->port,
                              driver_get_monitored_process(p->port, &p->mon[s])),
                          rbuf, rlen);
    case 'u':
        s = slot_arg(buf, len);
        return reply_num(driver_demonitor_process(p->port, &p->mon[s]),
                         rbuf, rlen);
    case 'C':
        if (sscanf(text, "%d %d", &s, &t) == 2 && s >= 0 && s < SLOTS
            && t >= 0 && t < SLOTS)
            res = driver_compare_monitors(&p->mon[s], &p->mon[t]);
        else {
            s = slot_arg(buf, len);
            memcpy(&copy, &p->mon[s], sizeof copy);
            res = driver_compare_monitors(&p->mon[s], &copy);
        }
        return reply_text(res == 0 ? "equal" : "differ", rbuf, rlen);
    case 'c':
    case 'x':
        p->create_owner = command == 'c' ? driver_caller(p->port) : saved_pid;
        memcpy(p->create_name, text, sizeof text);
        create_port(p);
        return reply_text("ok", rbuf, rlen);
    case 'k':
        return reply_num(driver_lock_driver(p->port), rbuf, rlen);
    case 'a':
        add_driver_entry(&extra_entry);
        return reply_text("ok", rbuf, rlen);
    case 'e':
        return reply_num(remove_driver_entry(&extra_entry), rbuf, rlen);
    case 'X':
        return reply_num(remove_driver_entry(&port_driver_entry), rbuf, rlen);
    case 'Y':
        return reply_num(remove_driver_entry(&never_entry), rbuf, rlen);
    case 'F':
        return reply_num(get_port_flags(p->port), rbuf, rlen);
    case 'K':
        pthread_mutex_lock(&global);
        res = (ErlDrvSSizeT)event_len;
        if (event_len > rlen)
            *rbuf = driver_alloc(event_len);
        memcpy(*rbuf, event_log, event_len);
        event_len = 0;
        pthread_mutex_unlock(&global);
        return res;
    default:
        return -1;
    }
}

#define PORT_ENTRY(INIT, NAME)                                              \
    {                                                                       \
        INIT, port_start, port_stop, port_output,                           \
        NULL,                 /* ready_input */                             \
        NULL,                 /* ready_output */                            \
        NAME,                                                               \
        NULL,                 /* finish */                                  \
        NULL,                 /* handle */                                  \
        port_control, port_timeout,                                         \
        NULL,                 /* outputv */                                 \
        NULL,                 /* ready_async */                             \
        NULL,                 /* flush */                                   \
        NULL,                 /* call */                                    \
        NULL,                 /* unused_event_callback */                   \
        ERL_DRV_EXTENDED_MARKER,                                            \
        ERL_DRV_EXTENDED_MAJOR_VERSION,                                     \
        ERL_DRV_EXTENDED_MINOR_VERSION,                                     \
        PORT_DRV_FLAGS,                                                     \
        NULL,                 /* handle2 */                                 \
        PORT_DRV_PROCESS_EXIT,                                              \
        NULL,                 /* stop_select */                             \
        NULL                  /* emergency_close */                         \
    }

static ErlDrvEntry port_driver_entry = PORT_ENTRY(port_init, PORT_STR(PORT_DRV_NAME));
static ErlDrvEntry extra_entry = PORT_ENTRY(extra_init, PORT_STR(PORT_DRV_NAME) "_extra");
static ErlDrvEntry never_entry = PORT_ENTRY(NULL, PORT_STR(PORT_DRV_NAME) "_never");

DRIVER_INIT(PORT_DRV_NAME)
{
    return &port_driver_entry;
}
