/*
 * Small helpers shared by the conformance drivers (static inline, so that
 * a driver that uses few of them compiles without warnings).
 */
#ifndef CF_COMMON_H
#define CF_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "erl_driver.h"

/* Copies s into the control reply (list or binary mode alike). */
static inline ErlDrvSSizeT cf_reply(char **rbuf, ErlDrvSizeT rlen, const char *s)
{
    size_t n = strlen(s);
    if (n > rlen)
        *rbuf = driver_alloc(n);
    memcpy(*rbuf, s, n);
    return (ErlDrvSSizeT)n;
}

static inline ErlDrvSSizeT cf_reply_int(char **rbuf, ErlDrvSizeT rlen, long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%ld", v);
    return cf_reply(rbuf, rlen, tmp);
}

/* The decimal number in buf[0..len). */
static inline long cf_num(const char *buf, ErlDrvSizeT len)
{
    char tmp[32];
    if (len > 31) len = 31;
    memcpy(tmp, buf, len);
    tmp[len] = 0;
    return atol(tmp);
}

/* Sends {Port, Tag, N} to `to`. */
static inline void cf_send_tag_int(ErlDrvPort port, ErlDrvTermData to, const char *tag, long n)
{
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, driver_mk_port(port),
        ERL_DRV_ATOM, driver_mk_atom((char *)tag),
        ERL_DRV_INT, (ErlDrvTermData)(ErlDrvSInt)n,
        ERL_DRV_TUPLE, 3
    };
    erl_drv_send_term(driver_mk_port(port), to, spec, sizeof spec / sizeof spec[0]);
}

/* Sends {Port, Tag} to the port's owner. */
static inline void cf_output_tag(ErlDrvPort port, const char *tag)
{
    ErlDrvTermData spec[] = {
        ERL_DRV_PORT, driver_mk_port(port),
        ERL_DRV_ATOM, driver_mk_atom((char *)tag),
        ERL_DRV_TUPLE, 2
    };
    erl_drv_output_term(driver_mk_port(port), spec, sizeof spec / sizeof spec[0]);
}

/* Milliseconds on the monotonic clock. */
static inline long cf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A driver-wide event log: cf_log("stop") appends a word; cf_log_take
 * replies the log (space-separated) and clears it. */
static char cf_log_buf[4096];
static ErlDrvMutex *cf_log_mtx;

static inline void cf_log_init(void)
{
    if (!cf_log_mtx)
        cf_log_mtx = erl_drv_mutex_create("cf_log");
}

static inline void cf_log(const char *word)
{
    erl_drv_mutex_lock(cf_log_mtx);
    if (strlen(cf_log_buf) + strlen(word) + 2 < sizeof cf_log_buf) {
        if (cf_log_buf[0]) strcat(cf_log_buf, " ");
        strcat(cf_log_buf, word);
    }
    erl_drv_mutex_unlock(cf_log_mtx);
}

static inline ErlDrvSSizeT cf_log_take(char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvSSizeT n;
    erl_drv_mutex_lock(cf_log_mtx);
    n = cf_reply(rbuf, rlen, cf_log_buf);
    cf_log_buf[0] = 0;
    erl_drv_mutex_unlock(cf_log_mtx);
    return n;
}

#define CF_ENTRY_TAIL \
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION, ERL_DRV_EXTENDED_MINOR_VERSION

#endif
