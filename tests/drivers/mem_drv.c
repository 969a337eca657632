/*
 * mem_drv: memory, binaries and the rest of the queue API, each answered
 * as text so that a script can compare ERTS and porthost.
 *
 * port_control(P, Cmd, Data):
 *   $e "N"  -> erl_errno_id(N)
 *   $r      -> driver_alloc(4), driver_realloc to 100 and back to 10,
 *              contents kept: "abcd"
 *   $b      -> driver_alloc_binary(3) "abc", driver_realloc_binary to 6
 *              "abcdef", the counts from driver_binary_inc_refc and
 *              driver_binary_dec_refc: "abcdef 2 1"
 *   $p Data -> driver_pushqv of a two-element ErlIOVec (binaries "XY" and
 *              "Z") skipping 1 byte, in front of Data enqueued before: the
 *              queue, then its size
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

static ErlDrvData mem_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static void mem_stop(ErlDrvData d)
{
}

static void mem_output(ErlDrvData d, char *buf, ErlDrvSizeT len)
{
}

static ErlDrvSSizeT reply(char **rbuf, ErlDrvSizeT rlen, const char *text)
{
    ErlDrvSizeT n = strlen(text);
    if (n > rlen)
        n = rlen;
    memcpy(*rbuf, text, n);
    return (ErlDrvSSizeT)n;
}

static ErlDrvSSizeT mem_control(ErlDrvData d, unsigned int cmd, char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    char text[128], arg[32];
    if (len >= sizeof arg)
        len = sizeof arg - 1;
    memcpy(arg, buf, len);
    arg[len] = 0;
    switch (cmd) {
    case 'e':
        return reply(rbuf, rlen, erl_errno_id(atoi(arg)));
    case 'r': {
        char *p = driver_alloc(4);
        memcpy(p, "abcd", 4);
        p = driver_realloc(p, 100);
        memset(p + 4, 'z', 96);
        p = driver_realloc(p, 10);
        memcpy(text, p, 4);
        text[4] = 0;
        driver_free(p);
        return reply(rbuf, rlen, text);
    }
    case 'b': {
        ErlDrvBinary *b = driver_alloc_binary(3);
        ErlDrvSInt up, down;
        memcpy(b->orig_bytes, "abc", 3);
        b = driver_realloc_binary(b, 6);
        memcpy(b->orig_bytes + 3, "def", 3);
        up = driver_binary_inc_refc(b);
        down = driver_binary_dec_refc(b);
        snprintf(text, sizeof text, "%.*s %ld %ld", (int)b->orig_size, b->orig_bytes, (long)up, (long)down);
        driver_free_binary(b);
        return reply(rbuf, rlen, text);
    }
    case 'p': {
        ErlDrvBinary *b = driver_alloc_binary(2), *c = driver_alloc_binary(1);
        SysIOVec iov[2];
        ErlDrvBinary *binv[2];
        ErlIOVec ev;
        SysIOVec *q;
        int vlen, i;
        size_t n = 0;
        memcpy(b->orig_bytes, "XY", 2);
        driver_enq(port, arg, strlen(arg));
        iov[0].iov_base = b->orig_bytes;
        iov[0].iov_len = 2;
        binv[0] = b;
        c->orig_bytes[0] = 'Z';
        iov[1].iov_base = c->orig_bytes;
        iov[1].iov_len = 1;
        binv[1] = c; /* ERTS needs a binary behind every element */
        ev.vsize = 2;
        ev.size = 3;
        ev.iov = iov;
        ev.binv = binv;
        driver_pushqv(port, &ev, 1);
        driver_free_binary(b);
        driver_free_binary(c);
        q = driver_peekq(port, &vlen);
        for (i = 0; i < vlen && n + q[i].iov_len < sizeof text - 16; i++) {
            memcpy(text + n, q[i].iov_base, q[i].iov_len);
            n += q[i].iov_len;
        }
        snprintf(text + n, sizeof text - n, " %lu", (unsigned long)driver_sizeq(port));
        driver_deq(port, driver_sizeq(port));
        return reply(rbuf, rlen, text);
    }
    }
    return -1;
}

static ErlDrvEntry mem_entry = {
    NULL, mem_start, mem_stop, mem_output, NULL, NULL, "mem_drv", NULL, NULL,
    mem_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION, ERL_DRV_EXTENDED_MINOR_VERSION,
    0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(mem_drv)
{
    return &mem_entry;
}
