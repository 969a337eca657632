/*
 * term_drv: a test driver for term output (erl_drv_output_term,
 * erl_drv_send_term, the deprecated driver_output_term and driver_send_term,
 * driver_mk_term_nil and driver_term_nil): it builds one term spec of each
 * kind, sends it, and replies with the send function's return value, so that
 * a script sees both what arrives and what the driver was told.
 *
 * port_control(Port, Cmd, [Target | Arg]) builds the spec that Cmd names,
 * sends it the way Target says, and replies the return value as decimal text
 * (list mode), e.g. "1". Targets:
 *   $o  erl_drv_output_term(driver_mk_port(port), ...)   (to the owner)
 *   $O  driver_output_term(port, ...)
 *   $s  erl_drv_send_term(driver_mk_port(port), driver_caller(port), ...)
 *   $S  driver_send_term(port, driver_caller(port), ...)
 *   $c  erl_drv_send_term(driver_mk_port(port), driver_connected(port), ...)
 *   $d  erl_drv_send_term to a pid handle of no live process (DEAD_PID)
 *   $D  driver_send_term(port, DEAD_PID, ...)
 *   $n  erl_drv_send_term to driver_term_nil (a receiver that is no pid)
 *   $p  erl_drv_output_term(NO_PORT, ...): a port handle of no open port
 *   $P  erl_drv_send_term(NO_PORT, driver_caller(port), ...)
 *   $a  erl_drv_output_term(driver_mk_atom("port"), ...): not a port handle
 *
 * Cmd (the spec):
 *   $N  []
 *   $A  {ok, 'hello world', '', true}                      (ERL_DRV_ATOM)
 *   $I  a list of INT, UINT, INT64 and UINT64 values, small and big
 *   $F  a list of floats
 *   $f  a non-finite float: Arg "n" NaN, "i" +inf, "m" -inf
 *   $T  {{}, {a, {b, []}, {}}}
 *   $L  {[1,2,3], [1,2|3], foo, [], [1]}                   (ERL_DRV_LIST)
 *   $s  strings: STRING, STRING of length 0, STRING_CONS onto a string, an
 *       atom and [], bytes >= 128
 *   $b  sub-binaries of one 100-byte driver binary (bytes 0..99); replies
 *       "R refc=K", K being the binary's refc after the send
 *   $B  BUF2BINARY: "abc", (NULL, 0), 100 bytes 0..99
 *   $p  {driver_mk_port, driver_caller, driver_connected}
 *   $e  {ext, T} where T is ERL_DRV_EXT2TERM over Arg (the external format
 *       bytes the script passes)
 *   $M  {#{b => 2, a => [1], {} => x}, #{}}                (keys unsorted)
 *   $H  a map of 40 pairs I => I*I, I = 1..40 (a hash map in ERTS)
 *   $E  a malformed spec, Arg[0] naming it (see bad_spec below)
 *   $V  "same" or "differ" (driver_mk_term_nil() vs driver_term_nil), then
 *       driver_term_nil as a signed decimal
 *
 * Recording: what the send functions return where the control reply cannot
 * carry it. The record is driver-wide; $G on any port replies it (and clears
 * it). Each recorded send sends the atom of the place ('start', 'flush',
 * 'stop', 'failed') with, in order, erl_drv_output_term, driver_output_term,
 * erl_drv_send_term to the connected process and driver_send_term to it.
 *   open_port({spawn_driver, "term_drv start"}, []) records "start: R1 R2 R3 R4"
 *   $K  enqueues 3 bytes (driver_enq) and arms flush: port_close/1 then calls
 *       flush, which records "flush: ..." and dequeues everything
 *   $Z  arms stop: stop records "stop: ..."
 *   $X  driver_failure_atom(port, "failed"), then records "failed: ..."
 *   $G  replies the record
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "erl_driver.h"

/* driver_output_term and driver_send_term are deprecated: testing them is the
 * point. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Handles of no live process and of no open port (the same immediate
 * tagging in ERTS and porthost). */
#define DEAD_PID ((((ErlDrvTermData)0x0FFFFFFF) << 4) | 0x3)
#define NO_PORT ((((ErlDrvTermData)0x0FFFFFFF) << 4) | 0x7)

#define REC_FLUSH 1
#define REC_STOP 2

typedef struct {
    ErlDrvPort port;
    int rec;
} TermDrv;

static char record[200];

static int send_spec(ErlDrvPort port, char target, ErlDrvTermData *spec, int len)
{
    ErlDrvTermData me = driver_mk_port(port);
    switch (target) {
    case 'o': return erl_drv_output_term(me, spec, len);
    case 'O': return driver_output_term(port, spec, len);
    case 's': return erl_drv_send_term(me, driver_caller(port), spec, len);
    case 'S': return driver_send_term(port, driver_caller(port), spec, len);
    case 'c': return erl_drv_send_term(me, driver_connected(port), spec, len);
    case 'd': return erl_drv_send_term(me, DEAD_PID, spec, len);
    case 'D': return driver_send_term(port, DEAD_PID, spec, len);
    case 'n': return erl_drv_send_term(me, driver_term_nil, spec, len);
    case 'p': return erl_drv_output_term(NO_PORT, spec, len);
    case 'P': return erl_drv_send_term(NO_PORT, driver_caller(port), spec, len);
    case 'a': return erl_drv_output_term(driver_mk_atom("port"), spec, len);
    default: return -100;
    }
}

/* Sends the atom `place` the four ways and records the results. */
static void record_sends(ErlDrvPort port, char *place)
{
    ErlDrvTermData spec[2] = {ERL_DRV_ATOM, driver_mk_atom(place)};
    ErlDrvTermData me = driver_mk_port(port);
    ErlDrvTermData to = driver_connected(port);
    int r1 = erl_drv_output_term(me, spec, 2);
    int r2 = driver_output_term(port, spec, 2);
    int r3 = erl_drv_send_term(me, to, spec, 2);
    int r4 = driver_send_term(port, to, spec, 2);
    size_t used = strlen(record);
    snprintf(record + used, sizeof record - used, "%s%s: %d %d %d %d", used ? "; " : "", place,
             r1, r2, r3, r4);
}

static ErlDrvData term_start(ErlDrvPort port, char *command)
{
    TermDrv *d = driver_alloc(sizeof *d);
    d->port = port;
    d->rec = 0;
    if (strcmp(command, "term_drv start") == 0)
        record_sends(port, "start");
    return (ErlDrvData)d;
}

static void term_stop(ErlDrvData drv_data)
{
    TermDrv *d = (TermDrv *)drv_data;
    if (d->rec & REC_STOP)
        record_sends(d->port, "stop");
    driver_free(d);
}

static void term_flush(ErlDrvData drv_data)
{
    TermDrv *d = (TermDrv *)drv_data;
    if (d->rec & REC_FLUSH)
        record_sends(d->port, "flush");
    driver_deq(d->port, driver_sizeq(d->port));
}

static ErlDrvSSizeT reply(char **rbuf, ErlDrvSizeT rlen, const char *text)
{
    size_t n = strlen(text);
    if (n > rlen)
        n = rlen;
    memcpy(*rbuf, text, n);
    return (ErlDrvSSizeT)n;
}

static ErlDrvSSizeT reply_int(char **rbuf, ErlDrvSizeT rlen, int r)
{
    char text[32];
    snprintf(text, sizeof text, "%d", r);
    return reply(rbuf, rlen, text);
}

#define W(x) (spec[n++] = (ErlDrvTermData)(x))

static ErlDrvBinary *bin100(void)
{
    ErlDrvBinary *bin = driver_alloc_binary(100);
    for (int i = 0; i < 100; i++)
        bin->orig_bytes[i] = (char)i;
    return bin;
}

/* Malformed specs: each must make the send function return -1 (when the
 * port is open and the receiver alive) and send nothing. */
static int bad_spec(ErlDrvPort port, char target, char which, char *extra, size_t extra_len)
{
    ErlDrvTermData spec[200];
    int n = 0, len = -2, r;
    ErlDrvBinary *bin = bin100();
    double nan_v = NAN, inf_v = INFINITY;
    static char ext_trunc[] = {(char)131, 104, 2, 100, 0, 1, 'a'}; /* {a, ... cut */
    switch (which) {
    case 'a': W(99); break;                                /* unknown tag */
    case 'b': len = 0; break;                              /* empty spec */
    case 'c': W(ERL_DRV_NIL); len = -1; break;             /* negative len */
    case 'd': W(ERL_DRV_NIL); W(ERL_DRV_NIL); break;       /* two terms left */
    case 'e': W(ERL_DRV_NIL); W(ERL_DRV_TUPLE); W(2); break; /* tuple underflow */
    case 'f': W(ERL_DRV_NIL); W(ERL_DRV_LIST); W(0); break; /* LIST 0 */
    case 'g': W(ERL_DRV_NIL); W(ERL_DRV_LIST); W(2); break; /* list underflow */
    case 'h': W(ERL_DRV_STRING_CONS); W("ab"); W(2); break; /* cons on nothing */
    case 'i': W(ERL_DRV_NIL); W(ERL_DRV_INT); break;       /* argument missing */
    case 'j': W(ERL_DRV_ATOM); W(5); break;                /* not an atom */
    case 'k': W(ERL_DRV_ATOM); W(driver_caller(port)); break; /* pid as atom */
    case 'l': W(ERL_DRV_PID); W(driver_mk_atom("x")); break;  /* atom as pid */
    case 'm': W(ERL_DRV_PORT); W(driver_caller(port)); break; /* pid as port */
    case 'n': W(ERL_DRV_ATOM); W(driver_term_nil); break;  /* [] as atom */
    case 'o': W(ERL_DRV_BINARY); W(NULL); W(0); W(0); break; /* NULL binary */
    case 'p': W(ERL_DRV_BINARY); W(bin); W(10); W(95); break; /* past the end */
    case 'q': W(ERL_DRV_STRING); W(NULL); W(0); break;     /* NULL string */
    case 'r': W(ERL_DRV_STRING); W("abc"); W(-1); break;   /* negative length */
    case 's': W(ERL_DRV_BUF2BINARY); W(NULL); W(3); break; /* NULL buffer */
    case 't': W(ERL_DRV_EXT2TERM); W(NULL); W(3); break;   /* NULL ext */
    case 'u': W(ERL_DRV_EXT2TERM); W(extra); W(0); break;  /* empty ext */
    case 'v': W(ERL_DRV_EXT2TERM); W(ext_trunc); W(sizeof ext_trunc); break;
    case 'w': W(ERL_DRV_NIL); W(ERL_DRV_TUPLE); W(-1); break; /* negative arity */
    case 'x': W(ERL_DRV_MAP); W(-1); break;                /* negative pairs */
    case 'y': W(ERL_DRV_ATOM); W(driver_mk_atom("a")); W(ERL_DRV_MAP); W(1); break;
    case 'z':                                              /* duplicate key */
        W(ERL_DRV_ATOM); W(driver_mk_atom("a")); W(ERL_DRV_INT); W(1);
        W(ERL_DRV_ATOM); W(driver_mk_atom("a")); W(ERL_DRV_INT); W(2);
        W(ERL_DRV_MAP); W(2);
        break;
    case 'Z':                                              /* 40 pairs, one key twice */
        for (int i = 1; i <= 40; i++) {
            W(ERL_DRV_INT); W(i == 40 ? 1 : i); W(ERL_DRV_INT); W(i);
        }
        W(ERL_DRV_MAP); W(40);
        break;
    case 'N': W(ERL_DRV_FLOAT); W(&nan_v); break;          /* NaN */
    case 'I': W(ERL_DRV_FLOAT); W(&inf_v); break;          /* infinity */
    case 'B':  /* a good binary, then a bad tag: the binary must not leak */
        W(ERL_DRV_BINARY); W(bin); W(80); W(0); W(ERL_DRV_NIL);
        W(ERL_DRV_TUPLE); W(2); W(0);
        break;
    case 'T': W(0); break;                                 /* tag 0 */
    case 'C':  /* a whole good term with a bad word after it */
        W(ERL_DRV_ATOM); W(driver_mk_atom("good")); W(ERL_DRV_INT);
        break;
    default:
        driver_free_binary(bin);
        return -100;
    }
    (void)extra_len;
    if (len == -2)
        len = n;
    r = send_spec(port, target, spec, len);
    if (which == 'B' || which == 'p') {
        /* Report the refc too: -1 means nothing kept a reference. */
        int refc = (int)driver_binary_get_refc(bin);
        driver_free_binary(bin);
        return r * 10 + (r < 0 ? -refc : refc);
    }
    driver_free_binary(bin);
    return r;
}

static ErlDrvSSizeT term_control(ErlDrvData drv_data, unsigned int cmd, char *buf,
                                 ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    TermDrv *d = (TermDrv *)drv_data;
    ErlDrvPort port = d->port;
    ErlDrvTermData spec[300];
    int n = 0, r;
    char target = len > 0 ? buf[0] : 'o';
    char *arg = len > 0 ? buf + 1 : buf;
    size_t arg_len = len > 0 ? len - 1 : 0;

    switch (cmd) {
    case 'N':
        W(ERL_DRV_NIL);
        break;
    case 'A':
        W(ERL_DRV_ATOM); W(driver_mk_atom("ok"));
        W(ERL_DRV_ATOM); W(driver_mk_atom("hello world"));
        W(ERL_DRV_ATOM); W(driver_mk_atom(""));
        W(ERL_DRV_ATOM); W(driver_mk_atom("true"));
        W(ERL_DRV_TUPLE); W(4);
        break;
    case 'I': {
        static ErlDrvSInt64 i64[3] = {INT64_MIN, INT64_MAX, -1};
        static ErlDrvUInt64 u64[2] = {UINT64_MAX, 0};
        W(ERL_DRV_INT); W((ErlDrvSInt)0);
        W(ERL_DRV_INT); W((ErlDrvSInt)1);
        W(ERL_DRV_INT); W((ErlDrvSInt)-1);
        W(ERL_DRV_INT); W(((ErlDrvSInt)1 << 59) - 1);
        W(ERL_DRV_INT); W((ErlDrvSInt)1 << 59);
        W(ERL_DRV_INT); W(-((ErlDrvSInt)1 << 59));
        W(ERL_DRV_INT); W(-((ErlDrvSInt)1 << 59) - 1);
        W(ERL_DRV_INT); W((ErlDrvSInt)LONG_MIN);
        W(ERL_DRV_INT); W((ErlDrvSInt)LONG_MAX);
        W(ERL_DRV_UINT); W((ErlDrvUInt)0);
        W(ERL_DRV_UINT); W(ULONG_MAX);
        W(ERL_DRV_UINT); W((ErlDrvUInt)1 << 59);
        W(ERL_DRV_INT64); W(&i64[0]);
        W(ERL_DRV_INT64); W(&i64[1]);
        W(ERL_DRV_INT64); W(&i64[2]);
        W(ERL_DRV_UINT64); W(&u64[0]);
        W(ERL_DRV_UINT64); W(&u64[1]);
        W(ERL_DRV_NIL);
        W(ERL_DRV_LIST); W(18);
        break;
    }
    case 'F': {
        static double f[5] = {3.5, 0.1, -2.5e-300, 1.0e300, -0.0};
        for (int i = 0; i < 5; i++) {
            W(ERL_DRV_FLOAT); W(&f[i]);
        }
        W(ERL_DRV_NIL);
        W(ERL_DRV_LIST); W(6);
        break;
    }
    case 'f': {
        static double v[3];
        v[0] = NAN; v[1] = INFINITY; v[2] = -INFINITY;
        int i = arg_len > 0 && arg[0] == 'i' ? 1 : arg_len > 0 && arg[0] == 'm' ? 2 : 0;
        W(ERL_DRV_FLOAT); W(&v[i]);
        break;
    }
    case 'T':
        W(ERL_DRV_TUPLE); W(0);
        W(ERL_DRV_ATOM); W(driver_mk_atom("a"));
        W(ERL_DRV_ATOM); W(driver_mk_atom("b"));
        W(ERL_DRV_NIL);
        W(ERL_DRV_TUPLE); W(2);
        W(ERL_DRV_TUPLE); W(0);
        W(ERL_DRV_TUPLE); W(3);
        W(ERL_DRV_TUPLE); W(2);
        break;
    case 'L':
        W(ERL_DRV_INT); W(1); W(ERL_DRV_INT); W(2); W(ERL_DRV_INT); W(3);
        W(ERL_DRV_NIL); W(ERL_DRV_LIST); W(4);
        W(ERL_DRV_INT); W(1); W(ERL_DRV_INT); W(2); W(ERL_DRV_INT); W(3);
        W(ERL_DRV_LIST); W(3);
        W(ERL_DRV_ATOM); W(driver_mk_atom("foo")); W(ERL_DRV_LIST); W(1);
        W(ERL_DRV_NIL); W(ERL_DRV_LIST); W(1);
        W(ERL_DRV_INT); W(1); W(ERL_DRV_NIL); W(ERL_DRV_LIST); W(2);
        W(ERL_DRV_TUPLE); W(5);
        break;
    case 's':
        W(ERL_DRV_STRING); W("abc"); W(3);
        W(ERL_DRV_STRING); W("x"); W(0);
        W(ERL_DRV_STRING); W("world"); W(5);
        W(ERL_DRV_STRING_CONS); W("hello "); W(6);
        W(ERL_DRV_ATOM); W(driver_mk_atom("foo"));
        W(ERL_DRV_STRING_CONS); W("xy"); W(2);
        W(ERL_DRV_ATOM); W(driver_mk_atom("foo"));
        W(ERL_DRV_STRING_CONS); W("xy"); W(0);
        W(ERL_DRV_NIL);
        W(ERL_DRV_STRING_CONS); W("ab"); W(2);
        W(ERL_DRV_STRING); W("\xff\x80\x00"); W(3);
        W(ERL_DRV_TUPLE); W(7);
        break;
    case 'b': {
        ErlDrvBinary *bin = bin100();
        char text[40];
        W(ERL_DRV_BINARY); W(bin); W(10); W(5);
        W(ERL_DRV_BINARY); W(bin); W(80); W(20);
        W(ERL_DRV_BINARY); W(bin); W(0); W(0);
        W(ERL_DRV_BINARY); W(bin); W(0); W(100);
        W(ERL_DRV_BINARY); W(bin); W(100); W(0);
        W(ERL_DRV_TUPLE); W(5);
        r = send_spec(port, target, spec, n);
        snprintf(text, sizeof text, "%d refc=%ld", r, (long)driver_binary_get_refc(bin));
        driver_free_binary(bin);
        return reply(rbuf, rlen, text);
    }
    case 'B': {
        static char big[100];
        for (int i = 0; i < 100; i++)
            big[i] = (char)i;
        W(ERL_DRV_BUF2BINARY); W("abc"); W(3);
        W(ERL_DRV_BUF2BINARY); W(NULL); W(0);
        W(ERL_DRV_BUF2BINARY); W(big); W(100);
        W(ERL_DRV_TUPLE); W(3);
        break;
    }
    case 'p':
        W(ERL_DRV_PORT); W(driver_mk_port(port));
        W(ERL_DRV_PID); W(driver_caller(port));
        W(ERL_DRV_PID); W(driver_connected(port));
        W(ERL_DRV_TUPLE); W(3);
        break;
    case 'e':
        W(ERL_DRV_ATOM); W(driver_mk_atom("ext"));
        W(ERL_DRV_EXT2TERM); W(arg); W(arg_len);
        W(ERL_DRV_TUPLE); W(2);
        break;
    case 'M':
        W(ERL_DRV_ATOM); W(driver_mk_atom("b")); W(ERL_DRV_INT); W(2);
        W(ERL_DRV_ATOM); W(driver_mk_atom("a"));
        W(ERL_DRV_INT); W(1); W(ERL_DRV_NIL); W(ERL_DRV_LIST); W(2);
        W(ERL_DRV_TUPLE); W(0); W(ERL_DRV_ATOM); W(driver_mk_atom("x"));
        W(ERL_DRV_MAP); W(3);
        W(ERL_DRV_MAP); W(0);
        W(ERL_DRV_TUPLE); W(2);
        break;
    case 'H':
        for (int i = 1; i <= 40; i++) {
            W(ERL_DRV_INT); W(i); W(ERL_DRV_INT); W(i * i);
        }
        W(ERL_DRV_MAP); W(40);
        break;
    case 'E':
        return reply_int(rbuf, rlen,
                         bad_spec(port, target, arg_len > 0 ? arg[0] : '?', arg + 1,
                                  arg_len > 0 ? arg_len - 1 : 0));
    case 'V': {
        char text[64];
        snprintf(text, sizeof text, "%s %ld",
                 driver_mk_term_nil() == driver_term_nil ? "same" : "differ",
                 (long)driver_term_nil);
        return reply(rbuf, rlen, text);
    }
    case 'K':
        driver_enq(port, "abc", 3);
        d->rec |= REC_FLUSH;
        return reply(rbuf, rlen, "ok");
    case 'Z':
        d->rec |= REC_STOP;
        return reply(rbuf, rlen, "ok");
    case 'X':
        driver_failure_atom(port, "failed");
        record_sends(port, "failed");
        return reply(rbuf, rlen, "");
    case 'G': {
        ErlDrvSSizeT k = reply(rbuf, rlen, record);
        record[0] = '\0';
        return k;
    }
    default:
        return -1;
    }
    r = send_spec(port, target, spec, n);
    return reply_int(rbuf, rlen, r);
}

static ErlDrvEntry term_driver_entry = {
    NULL,                 /* init */
    term_start,
    term_stop,
    NULL,                 /* output */
    NULL,                 /* ready_input */
    NULL,                 /* ready_output */
    "term_drv",
    NULL,                 /* finish */
    NULL,                 /* handle */
    term_control,
    NULL,                 /* timeout */
    NULL,                 /* outputv */
    NULL,                 /* ready_async */
    term_flush,
    NULL,                 /* call */
    NULL,                 /* unused_event_callback */
    ERL_DRV_EXTENDED_MARKER,
    ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION,
    0,                    /* driver_flags: driver-level locking */
    NULL,                 /* handle2 */
    NULL,                 /* process_exit */
    NULL,                 /* stop_select */
    NULL                  /* emergency_close */
};

DRIVER_INIT(term_drv)
{
    return &term_driver_entry;
}
