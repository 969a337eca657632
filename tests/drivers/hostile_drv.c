/*
 * hostile_drv: a driver that misbehaves on purpose, for the adversarial
 * tests (tests/adversarial.rs). Run isolated, it attacks its host from
 * inside the worker; several commands only make sense there.
 *
 * port_control(Port, Cmd, Arg), Arg decimal text unless said otherwise;
 * replies are text (list mode):
 *   $f N   a thread sends N terms {Port, {seq, I}} (I = 1..N) with
 *          erl_drv_output_term at full speed, then {Port, {done, N}}
 *   $F Ms  a thread floods {Port, {seq, I}} for Ms milliseconds, then
 *          sends {Port, {done, Count}}
 *   $B Ms  as $F, each message {Port, {seq, I}, Bin}, Bin 64 KiB
 *   $s     replies how many terms the flooding thread has sent so far
 *   $a N   sends N atoms never seen before (driver_mk_atom of fresh names),
 *          1000 to a message {Port, {atoms, [...]}}, from the callback
 *   $A N   the same from a thread
 *   $n N   sends {Port, T}, T a tuple nested N deep around 'x'
 *   $w B   writes the bytes B (Arg, raw) as one frame into the ring to the
 *          parent, behind the worker's back, wakes the parent and waits
 *          500 ms (the parent must refuse the frame and kill the worker)
 *   $h     makes the ring's head impossible (more than the ring ahead)
 *   $t Ms  arms a timer; the timeout callback never returns
 *   $k     forks a helper that execs `sleep 30`, then aborts
 *   $K     forks a helper that sleeps 30 s without exec, then aborts
 *   $d     replies the descriptors above 2 that are not close-on-exec,
 *          space-separated ("" if none)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "erl_driver.h"

typedef struct {
    ErlDrvPort port;
    ErlDrvTermData port_term;
    ErlDrvTid tid;
    int has_thread;
    long n;           /* $f: how many; $F: milliseconds */
    int timed;
    int atoms;        /* the thread sends atoms */
    int big;          /* each message carries 64 KiB */
    volatile long sent;
} Hostile;

static long counter;

static long parse_num(const char *buf, ErlDrvSizeT len)
{
    char tmp[32];
    if (len >= sizeof tmp)
        len = sizeof tmp - 1;
    memcpy(tmp, buf, len);
    tmp[len] = 0;
    return atol(tmp);
}

static ErlDrvSSizeT reply_text(const char *text, char **rbuf, ErlDrvSizeT rlen)
{
    size_t n = strlen(text);
    if (n > rlen) {
        char *big = driver_alloc(n);
        if (big == NULL)
            return -1;
        *rbuf = big;
    }
    memcpy(*rbuf, text, n);
    return (ErlDrvSSizeT)n;
}

static ErlDrvData hostile_start(ErlDrvPort port, char *command)
{
    Hostile *h = driver_alloc(sizeof *h);
    (void)command;
    memset(h, 0, sizeof *h);
    h->port = port;
    h->port_term = driver_mk_port(port);
    return (ErlDrvData)h;
}

static void hostile_stop(ErlDrvData d)
{
    Hostile *h = (Hostile *)d;
    if (h->has_thread)
        erl_drv_thread_join(h->tid, NULL);
    driver_free(h);
}

static char payload[64 * 1024];

static int send_tagged(Hostile *h, const char *tag, long v)
{
    if (h->big && strcmp(tag, "seq") == 0) {
        ErlDrvTermData big[] = {
            ERL_DRV_PORT, h->port_term,
            ERL_DRV_ATOM, driver_mk_atom((char *)tag),
            ERL_DRV_INT, (ErlDrvTermData)v,
            ERL_DRV_TUPLE, 2,
            ERL_DRV_BUF2BINARY, (ErlDrvTermData)payload, sizeof payload,
            ERL_DRV_TUPLE, 3,
        };
        return erl_drv_output_term(h->port_term, big, sizeof big / sizeof big[0]);
    }
    {
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, h->port_term,
        ERL_DRV_ATOM, driver_mk_atom((char *)tag),
        ERL_DRV_INT, (ErlDrvTermData)v,
        ERL_DRV_TUPLE, 2,
        ERL_DRV_TUPLE, 2,
    };
    return erl_drv_output_term(h->port_term, spec, sizeof spec / sizeof spec[0]);
    }
}

/* {Port, {atoms, [A1, ..., Ak]}} with k fresh atoms. */
static void send_atoms(Hostile *h, long n)
{
    enum { CHUNK = 1000 };
    static ErlDrvTermData spec[2 + 2 + 2 * CHUNK + 3 + 4];
    long done = 0;
    while (done < n) {
        int k = n - done < CHUNK ? (int)(n - done) : CHUNK;
        int i = 0, j;
        spec[i++] = ERL_DRV_PORT;
        spec[i++] = h->port_term;
        spec[i++] = ERL_DRV_ATOM;
        spec[i++] = driver_mk_atom("atoms");
        for (j = 0; j < k; j++) {
            char name[64];
            snprintf(name, sizeof name, "hostile_%d_%ld", (int)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
            spec[i++] = ERL_DRV_ATOM;
            spec[i++] = driver_mk_atom(name);
        }
        spec[i++] = ERL_DRV_NIL;
        spec[i++] = ERL_DRV_LIST;
        spec[i++] = (ErlDrvTermData)(k + 1);
        spec[i++] = ERL_DRV_TUPLE;
        spec[i++] = 2;
        spec[i++] = ERL_DRV_TUPLE;
        spec[i++] = 2;
        if (erl_drv_output_term(h->port_term, spec, i) <= 0)
            return;
        done += k;
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *thread_main(void *arg)
{
    Hostile *h = arg;
    long i = 0;
    if (h->atoms) {
        send_atoms(h, h->n);
        return NULL;
    }
    if (h->timed) {
        long until = now_ms() + h->n;
        while (now_ms() < until) {
            if (send_tagged(h, "seq", ++i) <= 0)
                return NULL;
            __atomic_store_n(&h->sent, i, __ATOMIC_RELAXED);
        }
    } else {
        for (i = 1; i <= h->n; i++) {
            if (send_tagged(h, "seq", i) <= 0)
                return NULL;
            __atomic_store_n(&h->sent, i, __ATOMIC_RELAXED);
        }
        i = h->n;
    }
    send_tagged(h, "done", i);
    return NULL;
}

static int start_thread(Hostile *h, long n, int timed, int atoms, int big)
{
    if (h->has_thread)
        return -1;
    h->big = big;
    h->n = n;
    h->timed = timed;
    h->atoms = atoms;
    h->sent = 0;
    if (erl_drv_thread_create("hostile", &h->tid, thread_main, h, NULL) != 0)
        return -1;
    h->has_thread = 1;
    return 0;
}

/* The shared ring mapping of the worker, found by its memfd's name. */
static unsigned char *ring_base(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo = 0;
    if (f == NULL)
        return NULL;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "porthost-ring")) {
            sscanf(line, "%lx-", &lo);
            break;
        }
    }
    fclose(f);
    return (unsigned char *)lo;
}

/* Layout (host/isolate/ring.rs): magic and cap at 0; a 384-byte header per
 * ring from 64, the ring to the parent second; data areas from 4096. */
#define HDR_TO_PARENT (64 + 384)

static void wake_parent(unsigned char *base)
{
    uint32_t *sleep = (uint32_t *)(base + HDR_TO_PARENT + 128);
    int i;
    for (i = 0; i < 2; i++) {
        __atomic_store_n(&sleep[i], 0, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &sleep[i], FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

static int write_frame(const unsigned char *bytes, uint32_t len, uint32_t claimed)
{
    unsigned char *base = ring_base();
    uint64_t cap, head, pos, i;
    unsigned char *data;
    unsigned char hdr[4];
    if (base == NULL)
        return -1;
    cap = *(volatile uint64_t *)(base + 8);
    data = base + 4096 + cap;
    head = __atomic_load_n((uint64_t *)(base + HDR_TO_PARENT), __ATOMIC_SEQ_CST);
    memcpy(hdr, &claimed, 4);
    pos = head;
    for (i = 0; i < 4; i++, pos++)
        data[pos % cap] = hdr[i];
    for (i = 0; i < len; i++, pos++)
        data[pos % cap] = bytes[i];
    __atomic_store_n((uint64_t *)(base + HDR_TO_PARENT), pos, __ATOMIC_SEQ_CST);
    wake_parent(base);
    usleep(500 * 1000);
    return 0;
}

static int bad_head(void)
{
    unsigned char *base = ring_base();
    uint64_t cap, head;
    if (base == NULL)
        return -1;
    cap = *(volatile uint64_t *)(base + 8);
    head = __atomic_load_n((uint64_t *)(base + HDR_TO_PARENT), __ATOMIC_SEQ_CST);
    __atomic_store_n((uint64_t *)(base + HDR_TO_PARENT), head + 3 * cap, __ATOMIC_SEQ_CST);
    wake_parent(base);
    usleep(500 * 1000);
    return 0;
}

static void helper(int exec)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (exec) {
            execl("/bin/sleep", "sleep", "30", (char *)NULL);
            _exit(127);
        }
        sleep(30);
        _exit(0);
    }
    abort();
}

static void open_fds(char *out, size_t size)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    size_t used = 0;
    out[0] = 0;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
            continue;
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC) && used + 16 < size)
            used += snprintf(out + used, size - used, used ? " %d" : "%d", fd);
    }
    closedir(d);
}

static void hostile_timeout(ErlDrvData d)
{
    (void)d;
    for (;;)
        sleep(1);
}

/* {Port, T}, T nested n deep around 'x' (built with a spec of 2n + 6
 * words). */
static int send_deep(Hostile *h, long n)
{
    ErlDrvTermData *spec = driver_alloc(sizeof(ErlDrvTermData) * (2 * n + 8));
    long i, k = 0;
    int r;
    if (spec == NULL)
        return -1;
    spec[k++] = ERL_DRV_PORT;
    spec[k++] = h->port_term;
    spec[k++] = ERL_DRV_ATOM;
    spec[k++] = driver_mk_atom("x");
    for (i = 0; i < n; i++) {
        spec[k++] = ERL_DRV_TUPLE;
        spec[k++] = 1;
    }
    spec[k++] = ERL_DRV_TUPLE;
    spec[k++] = 2;
    r = erl_drv_output_term(h->port_term, spec, k);
    driver_free(spec);
    return r;
}

static ErlDrvSSizeT hostile_control(ErlDrvData d, unsigned int command, char *buf, ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    Hostile *h = (Hostile *)d;
    char text[4096];
    switch (command) {
    case 'f':
    case 'F':
        if (start_thread(h, parse_num(buf, len), command == 'F', 0, 0) != 0)
            return reply_text("error", rbuf, rlen);
        return reply_text("ok", rbuf, rlen);
    case 'B':
        if (start_thread(h, parse_num(buf, len), 1, 0, 1) != 0)
            return reply_text("error", rbuf, rlen);
        return reply_text("ok", rbuf, rlen);
    case 's':
        snprintf(text, sizeof text, "%ld", __atomic_load_n(&h->sent, __ATOMIC_RELAXED));
        return reply_text(text, rbuf, rlen);
    case 'a':
        send_atoms(h, parse_num(buf, len));
        return reply_text("ok", rbuf, rlen);
    case 'A':
        if (start_thread(h, parse_num(buf, len), 0, 1, 0) != 0)
            return reply_text("error", rbuf, rlen);
        return reply_text("ok", rbuf, rlen);
    case 'n':
        snprintf(text, sizeof text, "%d", send_deep(h, parse_num(buf, len)));
        return reply_text(text, rbuf, rlen);
    case 'w':
        return reply_text(write_frame((unsigned char *)buf, (uint32_t)len, (uint32_t)len) == 0 ? "ok" : "no ring", rbuf, rlen);
    case 'L':
        return reply_text(write_frame((unsigned char *)buf, (uint32_t)len, 0xFFFFFFF0u) == 0 ? "ok" : "no ring", rbuf, rlen);
    case 'h':
        return reply_text(bad_head() == 0 ? "ok" : "no ring", rbuf, rlen);
    case 't':
        driver_set_timer(h->port, (unsigned long)parse_num(buf, len));
        return reply_text("ok", rbuf, rlen);
    case 'k':
    case 'K':
        helper(command == 'k');
        return -1;
    case 'd':
        open_fds(text, sizeof text);
        return reply_text(text, rbuf, rlen);
    default:
        return -1;
    }
}

static ErlDrvEntry hostile_driver_entry = {
    NULL,                 /* init */
    hostile_start,
    hostile_stop,
    NULL,                 /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "hostile_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    hostile_control,
    hostile_timeout,
    NULL,                 /* outputv */
    NULL,                 /* ready_async */
    NULL,                 /* flush */
    NULL,                 /* call */
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    ERL_DRV_FLAG_USE_PORT_LOCKING,
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
};

DRIVER_INIT(hostile_drv)
{
    return &hostile_driver_entry;
}
