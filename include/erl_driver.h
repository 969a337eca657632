/*
 * erl_driver.h -- the port driver ABI, as porthost implements it.
 *
 * A port driver is a shared library that exports `driver_init` (see
 * DRIVER_INIT) returning an ErlDrvEntry: the driver's callbacks. The host --
 * ERTS or porthost -- calls them for each port (driver instance) opened on
 * the driver, and the driver calls back into the host through the functions
 * declared below.
 *
 * ABI. This file is porthost's own text, but every type, constant, struct
 * layout and prototype in it is the one of Erlang/OTP 25's erl_driver.h
 * (extended marker 0xfeeeeeed, driver version 3.3) on x86_64 Linux. A driver
 * built against OTP's header loads in porthost without being rebuilt, and a
 * driver built against this one loads in ERTS 25. porthost's test suite
 * compares the two headers' layouts, constants and prototypes.
 *
 * Symbols. porthost exports every function and the data symbol declared in
 * this file, from the `porthost` binary and from any program linked with the
 * porthost library, so that a driver opened with dlopen() resolves them.
 *
 * Conventions of the comments below:
 *   - "Thread: port" -- call only from a callback of the driver instance that
 *     `port` names (or from code that callback calls), while it runs. This is
 *     the rule for every function that ERTS does not document as thread-safe.
 *   - "Thread: any" -- any thread, including threads the driver created.
 *   - "Thread: PDL" -- as "port", or from any thread that holds the port's
 *     data lock (driver_pdl_lock()); once a port has a data lock, every
 *     caller must hold it.
 *   - Pointers passed in are borrowed for the duration of the call unless the
 *     comment says who keeps or frees them.
 *   - "ERTS:" names the reference: erl_driver(3) for functions and types,
 *     driver_entry(3) for the callbacks.
 */
#ifndef __ERL_DRIVER_H__
#define __ERL_DRIVER_H__

/* Autoconf-style builds get their config.h first, as with OTP's header. */
#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

/* Marks the API calls that ERTS deprecates. */
#if defined(__GNUC__) && __GNUC__ >= 3
#  define ERL_DRV_DEPRECATED_FUNC __attribute__((deprecated))
#else
#  define ERL_DRV_DEPRECATED_FUNC
#endif

#include "erl_drv_nif.h"

#include <stdlib.h>

/* Storage class of the API declarations; C linkage under C++. */
#ifndef EXTERN
#  ifdef __cplusplus
#    define EXTERN extern "C"
#  else
#    define EXTERN extern
#  endif
#endif

/* ======================================================================== */
/* Constants                                                                */
/* ======================================================================== */

/* driver_select() mode bits. ERL_DRV_USE: the driver uses the event; clearing
 * it (on == 0) asks the host to call stop_select once the event is no longer
 * in use. ERL_DRV_USE_NO_CALLBACK: as ERL_DRV_USE, without stop_select. */
#define ERL_DRV_READ ((int)ERL_NIF_SELECT_READ)
#define ERL_DRV_WRITE ((int)ERL_NIF_SELECT_WRITE)
#define ERL_DRV_USE ((int)ERL_NIF_SELECT_STOP)
#define ERL_DRV_USE_NO_CALLBACK (ERL_DRV_USE | (ERL_DRV_USE << 1))

/* Pre-R13 names of ERL_DRV_READ and ERL_DRV_WRITE. */
#define DO_READ ERL_DRV_READ
#define DO_WRITE ERL_DRV_WRITE

/* Values a driver puts in ErlDrvEntry.extended_marker, .major_version and
 * .minor_version. The host refuses another marker, a version newer than its
 * own, and a major version below ERL_DRV_MIN_REQUIRED_MAJOR_VERSION_ON_LOAD. */
#define ERL_DRV_EXTENDED_MARKER (0xfeeeeeed)
#define ERL_DRV_EXTENDED_MAJOR_VERSION 3
#define ERL_DRV_EXTENDED_MINOR_VERSION 3
#define ERL_DRV_MIN_REQUIRED_MAJOR_VERSION_ON_LOAD 2

/* set_port_control_flags() bits. BINARY: control replies are binaries (the
 * callback returns an ErlDrvBinary in *rbuf) instead of lists. HEAVY is
 * accepted and has no effect. */
#define PORT_CONTROL_FLAG_BINARY (1 << 0)
#define PORT_CONTROL_FLAG_HEAVY (1 << 1)

/* get_port_flags() bits: the port was opened with `binary`, or `{line, N}`. */
#define PORT_FLAG_BINARY (1 << 0)
#define PORT_FLAG_LINE (1 << 1)

/* ErlDrvEntry.driver_flags bits. See driver_entry(3) "driver_flags".
 *   USE_PORT_LOCKING: lock per port instead of per driver; the driver then
 *                     synchronises data shared between its ports itself.
 *   SOFT_BUSY:        output/outputv may be called while the port is busy
 *                     (port_command with the `force` option).
 *   NO_BUSY_MSGQ:     no busy message queue limits for this driver's ports.
 *   USE_INIT_ACK:     start returns before the port is ready; the driver
 *                     completes it with erl_drv_init_ack(). */
#define ERL_DRV_FLAG_USE_PORT_LOCKING (1 << 0)
#define ERL_DRV_FLAG_SOFT_BUSY (1 << 1)
#define ERL_DRV_FLAG_NO_BUSY_MSGQ (1 << 2)
#define ERL_DRV_FLAG_USE_INIT_ACK (1 << 3)

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

/* Integers: 64-bit, pointer-sized, and the driver term word. */
typedef ErlNapiUInt64 ErlDrvUInt64;
typedef ErlNapiSInt64 ErlDrvSInt64;
typedef ErlNapiUInt ErlDrvUInt;
typedef ErlNapiSInt ErlDrvSInt;

/** One word of a driver term spec (erl_drv_output_term()): a term type tag
 *  (`ERL_DRV_*`), an argument, or a handle from `driver_mk_*()`. */
typedef ErlNapiUInt ErlDrvTermData;

/* Sizes and byte counts in the API. */
typedef size_t ErlDrvSizeT;
typedef ssize_t ErlDrvSSizeT;

/**
 * A reference-counted binary shared between the driver and the host. It is
 * the visible head of a larger host object: allocate it only with
 * driver_alloc_binary(), release it with driver_free_binary(). Once a binary
 * has been sent (or received), its bytes must not change.
 */
typedef struct erl_drv_binary {
    ErlDrvSInt orig_size;        /* size of the data in bytes */
    char orig_bytes[1];          /* the data; aligned for doubles */
} ErlDrvBinary;

/* Opaque handles. The incomplete struct types only give type checking. */

/** The driver's own per-port state: what start returns, and what every
 *  callback of that port receives. The host never looks inside. */
typedef struct _erl_drv_data *ErlDrvData;
/** An event to select on: on Unix, a file descriptor cast to a pointer,
 *  e.g. `(ErlDrvEvent)(long)fd`. */
typedef struct _erl_drv_event *ErlDrvEvent;
/** A port (driver instance), as the host passes it to start. Valid until the
 *  port's stop callback returns. */
typedef struct _erl_drv_port *ErlDrvPort;
/** What ready_async receives: the async_data given to driver_async(). */
typedef struct _erl_drv_port *ErlDrvThreadData;

/** A timestamp as erlang:now/0 gives it (see driver_get_now()). */
typedef struct {
    unsigned long megasecs;
    unsigned long secs;
    unsigned long microsecs;
} ErlDrvNowData;

/** A time or time difference in the unit an ErlDrvTimeUnit names. */
typedef ErlDrvSInt64 ErlDrvTime;

/* The result of the erl_drv_*time* functions when they fail. */
#define ERL_DRV_TIME_ERROR ((ErlDrvSInt64)ERTS_NAPI_TIME_ERROR__)

/** Units of ErlDrvTime. */
typedef enum {
    ERL_DRV_SEC = ERTS_NAPI_SEC__,
    ERL_DRV_MSEC = ERTS_NAPI_MSEC__,
    ERL_DRV_USEC = ERTS_NAPI_USEC__,
    ERL_DRV_NSEC = ERTS_NAPI_NSEC__
} ErlDrvTimeUnit;

/* Values start may return instead of a handle to refuse the port. open_port/2
 * then fails with an error naming: einval, the errno atom of `errno`, or
 * badarg respectively. */
#define ERL_DRV_ERROR_GENERAL ((ErlDrvData)-1)
#define ERL_DRV_ERROR_ERRNO ((ErlDrvData)-2)
#define ERL_DRV_ERROR_BADARG ((ErlDrvData)-3)

/**
 * An I/O vector: `vsize` segments totalling `size` bytes. `binv[i]` is the
 * binary that holds `iov[i]`, or NULL when the segment is not in a binary.
 * This is how outputv receives data and how the driver queue is read.
 */
typedef struct erl_io_vec {
    int vsize;                   /* number of entries in iov and binv */
    ErlDrvSizeT size;            /* total bytes over all segments */
    SysIOVec *iov;
    ErlDrvBinary **binv;
} ErlIOVec;

/* Threads and their synchronisation objects, all opaque. */
typedef struct ErlDrvTid_ *ErlDrvTid;
typedef struct ErlDrvMutex_ ErlDrvMutex;
typedef struct ErlDrvCond_ ErlDrvCond;
typedef struct ErlDrvRWLock_ ErlDrvRWLock;
typedef int ErlDrvTSDKey;

/** A port data lock: guards a port's driver queue so that threads other than
 *  the port's callbacks may use it. Reference counted. */
typedef struct erl_drv_port_data_lock *ErlDrvPDL;

/**
 * The driver entry: what driver_init returns. The driver owns it (usually a
 * static object), it must stay valid until finish returns, and the host
 * reads it but never frees it. NULL callbacks are allowed unless noted.
 * Callbacks of one port never run concurrently; those of different ports may,
 * unless driver_flags lacks ERL_DRV_FLAG_USE_PORT_LOCKING, in which case the
 * host runs at most one callback of the driver at a time. Callbacks may run
 * on different threads from one call to the next. ERTS: driver_entry(3).
 */
typedef struct erl_drv_entry {
    /* After the library is loaded, before any port opens. Nonzero refuses
     * the load. */
    int (*init)(void);
    /* open_port/2 with {spawn_driver, Command} (or {spawn, Command}): create
     * the port's state. `command` is the whole command string, borrowed for
     * the call. Returns the state, or an ERL_DRV_ERROR_* value to refuse. */
    ErlDrvData (*start)(ErlDrvPort port, char *command);
    /* The port is closing: release its state. Last callback of the port
     * (stop_select may still follow for its events). */
    void (*stop)(ErlDrvData drv_data);
    /* port_command/2 data, flattened into `buf` (borrowed for the call).
     * Not used when outputv is set. */
    void (*output)(ErlDrvData drv_data, char *buf, ErlDrvSizeT len);
    /* An event selected with ERL_DRV_READ is ready. */
    void (*ready_input)(ErlDrvData drv_data, ErlDrvEvent event);
    /* An event selected with ERL_DRV_WRITE is ready. */
    void (*ready_output)(ErlDrvData drv_data, ErlDrvEvent event);
    /* The name open_port uses. It must equal the library's file name without
     * extension; the string must stay valid while the driver is loaded. */
    char *driver_name;
    /* Before the library is unloaded. */
    void (*finish)(void);
    /* Reserved for the host; set to NULL. */
    void *handle;
    /* port_control/3. `buf` (borrowed) holds the caller's data. *rbuf points
     * to a host buffer of `rlen` bytes; to reply with more, set *rbuf to
     * memory from driver_alloc() (in binary mode: an ErlDrvBinary from
     * driver_alloc_binary()), which the host frees. Returns the reply length
     * (in binary mode the host takes it from the binary's orig_size). */
    ErlDrvSSizeT (*control)(ErlDrvData drv_data, unsigned int command,
                            char *buf, ErlDrvSizeT len,
                            char **rbuf, ErlDrvSizeT rlen);
    /* The timer set with driver_set_timer() expired. */
    void (*timeout)(ErlDrvData drv_data);
    /* port_command/2 data as an I/O vector, without flattening. `ev` is
     * borrowed: keep data by referencing its binaries
     * (driver_binary_inc_refc()) or with driver_enqv(). */
    void (*outputv)(ErlDrvData drv_data, ErlIOVec *ev);
    /* A driver_async() job finished; `thread_data` is its async_data, now
     * owned by this callback (async_free is not called). */
    void (*ready_async)(ErlDrvData drv_data, ErlDrvThreadData thread_data);
    /* port_close/1 found data in the driver queue: write it out. The port
     * stops once the queue is empty. */
    void (*flush)(ErlDrvData drv_data);
    /* erlang:port_call/3. `buf` holds the argument in the external term
     * format; the reply must be in that format too. *rbuf and `rlen` work as
     * in control; a replaced *rbuf is freed with driver_free() unless the
     * callback sets DRIVER_CALL_KEEP_BUFFER in *flags. A negative return
     * makes port_call fail with badarg. */
    ErlDrvSSizeT (*call)(ErlDrvData drv_data, unsigned int command,
                         char *buf, ErlDrvSizeT len,
                         char **rbuf, ErlDrvSizeT rlen, unsigned int *flags);
    /* Obsolete slot; set to NULL. */
    void (*unused_event_callback)(void);
    /* ERL_DRV_EXTENDED_MARKER, _MAJOR_VERSION and _MINOR_VERSION. */
    int extended_marker;
    int major_version;
    int minor_version;
    /* ERL_DRV_FLAG_* bits. */
    int driver_flags;
    /* Reserved for the host; set to NULL. */
    void *handle2;
    /* A process monitored with driver_monitor_process() exited; `monitor`
     * (borrowed) identifies the monitor. */
    void (*process_exit)(ErlDrvData drv_data, ErlDrvMonitor *monitor);
    /* driver_select(.., ERL_DRV_USE, 0) was called and the host no longer
     * uses `event`: close it now. `reserved` is NULL. May run after the
     * port's stop, outside any port. */
    void (*stop_select)(ErlDrvEvent event, void *reserved);
    /* The host is going down abruptly: release OS resources only, without
     * calling the API. */
    void (*emergency_close)(ErlDrvData drv_data);
} ErlDrvEntry;

/* Flag a call callback may set in *flags: the host must not free *rbuf. */
#define DRIVER_CALL_KEEP_BUFFER 0x1

/* ======================================================================== */
/* Driver term specs                                                        */
/* ======================================================================== */

/* Casts a value to a term spec word. */
#define TERM_DATA(x) ((ErlDrvTermData)(x))

/*
 * Term spec tags for erl_drv_output_term() and erl_drv_send_term(). A spec is
 * an array of ErlDrvTermData in postfix order: each tag is followed by its
 * arguments (noted on the right), and composite terms come after their
 * elements. STRING makes a string; STRING_CONS puts characters in front of
 * the list term before it; BUF2BINARY copies bytes into a new binary;
 * EXT2TERM decodes the external term format. ERTS: erl_drv_output_term.
 */
#define ERL_DRV_NIL         ((ErlDrvTermData)1)  /* [] */
#define ERL_DRV_ATOM        ((ErlDrvTermData)2)  /* driver_mk_atom() value */
#define ERL_DRV_INT         ((ErlDrvTermData)3)  /* ErlDrvSInt */
#define ERL_DRV_PORT        ((ErlDrvTermData)4)  /* driver_mk_port() value */
#define ERL_DRV_BINARY      ((ErlDrvTermData)5)  /* ErlDrvBinary*, len, offs */
#define ERL_DRV_STRING      ((ErlDrvTermData)6)  /* char*, len */
#define ERL_DRV_TUPLE       ((ErlDrvTermData)7)  /* arity */
#define ERL_DRV_LIST        ((ErlDrvTermData)8)  /* length, with the tail */
#define ERL_DRV_STRING_CONS ((ErlDrvTermData)9)  /* char*, len */
#define ERL_DRV_PID         ((ErlDrvTermData)10) /* pid (driver_caller() ...) */
#define ERL_DRV_FLOAT       ((ErlDrvTermData)11) /* double* */
#define ERL_DRV_EXT2TERM    ((ErlDrvTermData)12) /* char*, len */
#define ERL_DRV_UINT        ((ErlDrvTermData)13) /* ErlDrvUInt */
#define ERL_DRV_BUF2BINARY  ((ErlDrvTermData)14) /* char*, len */
#define ERL_DRV_INT64       ((ErlDrvTermData)15) /* ErlDrvSInt64* */
#define ERL_DRV_UINT64      ((ErlDrvTermData)16) /* ErlDrvUInt64* */
#define ERL_DRV_MAP         ((ErlDrvTermData)17) /* number of pairs */

/* ======================================================================== */
/* The driver's entry point                                                 */
/* ======================================================================== */

/*
 * DRIVER_INIT(name) starts the definition of the function the host calls
 * after loading the library, which returns the driver's ErlDrvEntry:
 *
 *     static ErlDrvEntry echo_entry = { ... };
 *     DRIVER_INIT(echo_drv) { return &echo_entry; }
 *
 * A shared library exports it as `driver_init`. With STATIC_ERLANG_DRIVER
 * defined, it is `<name>_driver_init` instead, for drivers linked into the
 * host program.
 */
#ifdef STATIC_ERLANG_DRIVER
#  define ERLANG_DRIVER_NAME(NAME) NAME##_driver_init
#  define ERL_DRIVER_EXPORT
#else
#  define ERLANG_DRIVER_NAME(NAME) driver_init
#  if defined(__GNUC__) && __GNUC__ >= 4
#    define ERL_DRIVER_EXPORT __attribute__((visibility("default")))
#  else
#    define ERL_DRIVER_EXPORT
#  endif
#endif

/* With ERL_DRIVER_TYPES_ONLY defined, this header declares types and term
 * constants only: no DRIVER_INIT and no API functions. */
#ifndef ERL_DRIVER_TYPES_ONLY

#define DRIVER_INIT(DRIVER_NAME)                                              \
    ERL_DRIVER_EXPORT ErlDrvEntry *ERLANG_DRIVER_NAME(DRIVER_NAME)(void);     \
    ERL_DRIVER_EXPORT ErlDrvEntry *ERLANG_DRIVER_NAME(DRIVER_NAME)(void)

/* Limits for erl_drv_busy_msgq_limits(), in bytes. DISABLED turns the busy
 * message queue off for good; READ_ONLY reads the current limit. */
#define ERL_DRV_BUSY_MSGQ_DISABLED (~((ErlDrvSizeT)0))
#define ERL_DRV_BUSY_MSGQ_READ_ONLY ((ErlDrvSizeT)0)
#define ERL_DRV_BUSY_MSGQ_LIM_MAX (ERL_DRV_BUSY_MSGQ_DISABLED - 1)
#define ERL_DRV_BUSY_MSGQ_LIM_MIN ((ErlDrvSizeT)1)

/* ======================================================================== */
/* Output to the port owner                                                 */
/* ======================================================================== */

/** Sends `len` bytes of `buf` to the port owner as `{Port, {data, Data}}`,
 *  Data being a binary or a list as the port was opened. Copies `buf`.
 *  Returns 0 (sends nothing while the port is closing). Thread: port. */
EXTERN int driver_output(ErlDrvPort port, char *buf, ErlDrvSizeT len);

/** As driver_output(), with `hlen` bytes of `hbuf` first, always as list
 *  elements: `Data = [H1, ..., Hn | Rest]`. Copies both. Thread: port. */
EXTERN int driver_output2(ErlDrvPort port, char *hbuf, ErlDrvSizeT hlen,
                          char *buf, ErlDrvSizeT len);

/** Sends `[H1, ..., Hn | <<Bytes>>]`: `hbuf` (may be NULL) as list elements,
 *  then `len` bytes of `bin` from `offset` as a binary, shared rather than
 *  copied (the host takes its own reference; the caller keeps its own).
 *  Thread: port. */
EXTERN int driver_output_binary(ErlDrvPort port, char *hbuf, ErlDrvSizeT hlen,
                                ErlDrvBinary *bin, ErlDrvSizeT offset,
                                ErlDrvSizeT len);

/** As driver_output2(), with the data of `ev` after its first `skip` bytes
 *  as the rest; in binary mode its binaries are shared rather than copied.
 *  The caller keeps `ev`. Thread: port. */
EXTERN int driver_outputv(ErlDrvPort port, char *hbuf, ErlDrvSizeT hlen,
                          ErlIOVec *ev, ErlDrvSizeT skip);

/** Copies the data of `ev`, in order, into `buf`, at most `len` bytes.
 *  Returns the number of bytes copied (ERTS's implementation; its manual
 *  says "space left"). Thread: any. */
EXTERN ErlDrvSizeT driver_vec_to_buf(ErlIOVec *ev, char *buf, ErlDrvSizeT len);

/* ======================================================================== */
/* Terms: building and sending                                              */
/* ======================================================================== */

/** Returns the atom named by the NUL-terminated `string` (borrowed), for
 *  ERL_DRV_ATOM. The value stays valid for the host's lifetime and may be
 *  cached. Thread: port. */
EXTERN ErlDrvTermData driver_mk_atom(char *string);

/** Returns `port` as a term, for ERL_DRV_PORT and as the `port` argument of
 *  erl_drv_output_term()/erl_drv_send_term(). Thread: port. */
EXTERN ErlDrvTermData driver_mk_port(ErlDrvPort port);

/** Returns the pid of the port owner (the connected process). Thread: port. */
EXTERN ErlDrvTermData driver_connected(ErlDrvPort port);

/** Returns the pid of the process whose call is running the current
 *  callback; meaningful only in start, output, outputv, control and call.
 *  Thread: port. */
EXTERN ErlDrvTermData driver_caller(ErlDrvPort port);

/** The term `[]` (what driver_get_monitored_process() returns for a dead
 *  monitor). A constant exported by the host. */
EXTERN const ErlDrvTermData driver_term_nil;

/** Returns driver_term_nil. Thread: any. */
EXTERN ErlDrvTermData driver_mk_term_nil(void);

/** Sends the term that `data` (`len` words, borrowed) specifies to the owner
 *  of `port`, a driver_mk_port() value. Returns 1 if sent, 0 if it could not
 *  be delivered (port closing, receiver gone), -1 if the spec or port is
 *  invalid. Thread: any. */
EXTERN int erl_drv_output_term(ErlDrvTermData port, ErlDrvTermData *data,
                               int len);

/** As erl_drv_output_term(), but sends to the local process `to`, which
 *  need not be the port owner. Thread: any. */
EXTERN int erl_drv_send_term(ErlDrvTermData port, ErlDrvTermData to,
                             ErlDrvTermData *data, int len);

/** Deprecated form of erl_drv_output_term() taking the port handle.
 *  Thread: port. */
EXTERN int driver_output_term(ErlDrvPort port, ErlDrvTermData *data,
                              int len) ERL_DRV_DEPRECATED_FUNC;

/** Deprecated form of erl_drv_send_term() taking the port handle.
 *  Thread: any. */
EXTERN int driver_send_term(ErlDrvPort port, ErlDrvTermData to,
                            ErlDrvTermData *data,
                            int len) ERL_DRV_DEPRECATED_FUNC;

/* ======================================================================== */
/* Failure and exit                                                         */
/* ======================================================================== */

/** Reports end of input. If the port was opened with `eof`, the owner gets
 *  `{Port, eof}` and the port stays open; otherwise the port closes with
 *  reason normal. Returns 0. Thread: port. */
EXTERN int driver_failure_eof(ErlDrvPort port);

/** Closes the port with the exit reason atom named by `string` (borrowed),
 *  discarding the driver queue. Returns 0. Thread: port. */
EXTERN int driver_failure_atom(ErlDrvPort port, char *string);

/** Closes the port with the errno atom of `error` (e.g. eacces) as exit
 *  reason, discarding the driver queue. Returns 0. Thread: port. */
EXTERN int driver_failure_posix(ErlDrvPort port, int error);

/** Closes the port with the integer `error` as exit reason, discarding the
 *  driver queue. Returns 0. Thread: port. */
EXTERN int driver_failure(ErlDrvPort port, int error);

/** Closes the port as if by driver_failure_posix(), or with reason normal
 *  when `err` is 0; the owner is unlinked first, so it gets no 'EXIT'
 *  message. Returns 0. Thread: port. */
EXTERN int driver_exit(ErlDrvPort port, int err);

/** Returns the errno atom name of `error` ("eacces", ...; "unknown" if none):
 *  a static string the caller must not free. Thread: any. */
EXTERN char *erl_errno_id(int error);

/* ======================================================================== */
/* Port attributes and scheduling                                           */
/* ======================================================================== */

/** Sets (on != 0) or clears the port's busy state: while busy, processes
 *  sending command data to it are suspended. Thread: port. */
EXTERN void set_busy_port(ErlDrvPort port, int on);

/** Reads or sets the port's busy message queue limits, in bytes. In `*low`
 *  and `*high`: `ERL_DRV_BUSY_MSGQ_READ_ONLY` reads, `_DISABLED` disables, a
 *  value from `_LIM_MIN` to `_LIM_MAX` sets; the limit in use is written
 *  back. Thread: port. */
EXTERN void erl_drv_busy_msgq_limits(ErlDrvPort port, ErlDrvSizeT *low,
                                     ErlDrvSizeT *high);

/** Sets `PORT_CONTROL_FLAG_*` bits: how control replies reach the caller (a
 *  list by default). Thread: port. */
EXTERN void set_port_control_flags(ErlDrvPort port, int flags);

/** Returns the port's `PORT_FLAG_*` bits. Thread: port. */
EXTERN int get_port_flags(ErlDrvPort port);

/** Reports that the running callback used about `percent` (1..100) of a
 *  time slice (~1 ms). Returns nonzero when the slice is used up: the
 *  callback should then return soon. Thread: port. */
EXTERN int erl_drv_consume_timeslice(ErlDrvPort port, int percent);

/** Makes `event` (a file descriptor) a source of ready_input/ready_output
 *  calls: `mode` is ERL_DRV_READ, ERL_DRV_WRITE and/or ERL_DRV_USE bits, `on`
 *  1 to set them, 0 to clear. Returns 0, or -1 on failure. Thread: port. */
EXTERN int driver_select(ErlDrvPort port, ErlDrvEvent event, int mode, int on);

/** Starts the port's single timer: the timeout callback runs after `time`
 *  milliseconds. Replaces a running timer. Returns 0 (also when the driver
 *  has no timeout callback: then nothing runs). Thread: port. */
EXTERN int driver_set_timer(ErlDrvPort port, unsigned long time);

/** Stops the port's timer, if any. Returns 0. Thread: port. */
EXTERN int driver_cancel_timer(ErlDrvPort port);

/** Stores the milliseconds left on the port's timer in `*time_left` (0 if
 *  none). Returns 0. Thread: port. */
EXTERN int driver_read_timer(ErlDrvPort port, unsigned long *time_left);

/** Records `pid` as the port's OS process id, reported by
 *  erlang:port_info(Port, os_pid). Thread: port. */
EXTERN void erl_drv_set_os_pid(ErlDrvPort port, ErlDrvSInt pid);

/** Completes the start of a port whose driver has ERL_DRV_FLAG_USE_INIT_ACK:
 *  `res` is the port's state or an `ERL_DRV_ERROR_*` value, as start would
 *  return. Thread: port. */
EXTERN void erl_drv_init_ack(ErlDrvPort port, ErlDrvData res);

/* ======================================================================== */
/* Processes and ports                                                      */
/* ======================================================================== */

/** Monitors `process` (a pid term) and fills in `*monitor` (caller's storage).
 *  Its exit calls process_exit. Returns 0, `> 0` if the process is already
 *  dead, `< 0` if the driver has no process_exit callback. Thread: port. */
EXTERN int driver_monitor_process(ErlDrvPort port, ErlDrvTermData process,
                                  ErlDrvMonitor *monitor);

/** Cancels a monitor made by driver_monitor_process(). Returns 0, or `> 0`
 *  if it no longer existed. Thread: port. */
EXTERN int driver_demonitor_process(ErlDrvPort port,
                                    const ErlDrvMonitor *monitor);

/** Returns the pid a live monitor watches (useful in process_exit), or
 *  driver_term_nil if the monitor is gone. Thread: port. */
EXTERN ErlDrvTermData driver_get_monitored_process(
    ErlDrvPort port, const ErlDrvMonitor *monitor);

/** Orders two monitors: 0 if equal, `< 0` or `> 0` otherwise, like memcmp().
 *  Thread: any. */
EXTERN int driver_compare_monitors(const ErlDrvMonitor *monitor1,
                                   const ErlDrvMonitor *monitor2);

/** Opens a new port on the calling port's driver, owned by (and linked to)
 *  `owner_pid`, named `name` (borrowed), with `drv_data` as its state; start
 *  is not called. Returns the new port. Thread: creator_port. */
EXTERN ErlDrvPort driver_create_port(ErlDrvPort creator_port,
                                     ErlDrvTermData owner_pid, char *name,
                                     ErlDrvData drv_data);

/* ======================================================================== */
/* Memory                                                                   */
/* ======================================================================== */

/** Releases memory from driver_alloc() or driver_realloc(); NULL is ignored.
 *  Thread: any. */
EXTERN void driver_free(void *ptr);

/** Allocates `size` bytes; NULL when out of memory. The caller owns the block
 *  and frees it with driver_free(). Thread: any. */
EXTERN void *driver_alloc(ErlDrvSizeT size)
    ERL_NAPI_ATTR_MALLOC_USD(1, driver_free, 1);

/** Resizes a driver_alloc() block, keeping its contents; returns the new
 *  block, or NULL (the old block stays valid) when out of memory.
 *  Thread: any. */
EXTERN void *driver_realloc(void *ptr, ErlDrvSizeT size)
    ERL_NAPI_ATTR_ALLOC_SIZE(2);

/** Drops one reference to `bin`; the last reference frees it. Thread: any. */
EXTERN void driver_free_binary(ErlDrvBinary *bin);

/** Allocates a binary of `size` data bytes with a reference count of 1, owned
 *  by the caller (release with driver_free_binary()). NULL when out of
 *  memory. Thread: any. */
EXTERN ErlDrvBinary *driver_alloc_binary(ErlDrvSizeT size)
    ERL_NAPI_ATTR_MALLOC_UD(driver_free_binary, 1);

/** Resizes `bin` to `size` data bytes, keeping its contents; returns the
 *  binary to use from now on (`bin` is then invalid), or NULL when out of
 *  memory. Only for a binary nobody else references. Thread: any. */
EXTERN ErlDrvBinary *driver_realloc_binary(ErlDrvBinary *bin, ErlDrvSizeT size)
    ERL_NAPI_ATTR_WUR;

/** Returns the reference count of `dbp`. Thread: any. */
EXTERN ErlDrvSInt driver_binary_get_refc(ErlDrvBinary *dbp);

/** Adds a reference to `dbp`; returns the new count. Thread: any. */
EXTERN ErlDrvSInt driver_binary_inc_refc(ErlDrvBinary *dbp);

/** Removes a reference from `dbp` without ever freeing it; returns the new
 *  count. Use driver_free_binary() unless the count stays above 0.
 *  Thread: any. */
EXTERN ErlDrvSInt driver_binary_dec_refc(ErlDrvBinary *dbp);

/* ======================================================================== */
/* The driver queue                                                         */
/* ======================================================================== */

/*
 * Each port has a byte queue for data waiting to be written out. While it is
 * not empty, port_close waits (see flush). All of these return 0, or -1 for a
 * bad port, unless stated otherwise.
 */

/** Appends a copy of `len` bytes of `buf`. Thread: PDL. */
EXTERN int driver_enq(ErlDrvPort port, char *buf, ErlDrvSizeT len);

/** Prepends a copy of `len` bytes of `buf`. Thread: PDL. */
EXTERN int driver_pushq(ErlDrvPort port, char *buf, ErlDrvSizeT len);

/** Removes `size` bytes from the head. Returns the bytes left, or
 *  (ErlDrvSizeT)-1 if the queue holds fewer than `size`. Thread: PDL. */
EXTERN ErlDrvSizeT driver_deq(ErlDrvPort port, ErlDrvSizeT size);

/** Returns the bytes in the queue, or (ErlDrvSizeT)-1 for a bad port.
 *  Thread: PDL. */
EXTERN ErlDrvSizeT driver_sizeq(ErlDrvPort port);

/** Appends `len` bytes of `bin` from `offset` without copying; the queue
 *  takes its own reference. Thread: PDL. */
EXTERN int driver_enq_bin(ErlDrvPort port, ErlDrvBinary *bin,
                          ErlDrvSizeT offset, ErlDrvSizeT len);

/** Prepends `len` bytes of `bin` from `offset` without copying; the queue
 *  takes its own reference. Thread: PDL. */
EXTERN int driver_pushq_bin(ErlDrvPort port, ErlDrvBinary *bin,
                            ErlDrvSizeT offset, ErlDrvSizeT len);

/** Fills `*ev` (caller's storage) with a view of the queue, which stays owned
 *  by the queue and valid until it changes. Returns the bytes queued, or
 *  (ErlDrvSizeT)-1. Removes nothing (see driver_deq()). Thread: PDL. */
EXTERN ErlDrvSizeT driver_peekqv(ErlDrvPort port, ErlIOVec *ev);

/** Returns the queue's segments (owned by the queue, valid until it changes;
 *  suitable for writev()) and their number in `*vlen`; NULL if the queue is
 *  empty (`*vlen == 0`) or the port bad (`*vlen == -1`). Thread: PDL. */
EXTERN SysIOVec *driver_peekq(ErlDrvPort port, int *vlen);

/** Appends the data of `ev` after its first `skip` bytes, referencing (not
 *  copying) its binaries. The caller keeps `ev`. Thread: PDL. */
EXTERN int driver_enqv(ErlDrvPort port, ErlIOVec *ev, ErlDrvSizeT skip);

/** Prepends the data of `ev` after its first `skip` bytes, referencing (not
 *  copying) its binaries. The caller keeps `ev`. Thread: PDL. */
EXTERN int driver_pushqv(ErlDrvPort port, ErlIOVec *ev, ErlDrvSizeT skip);

/* ======================================================================== */
/* Port data locks                                                          */
/* ======================================================================== */

/** Creates the port's data lock (reference count 1, held by the port until
 *  it exits). Returns NULL if the port is bad or already has one.
 *  Thread: port. */
EXTERN ErlDrvPDL driver_pdl_create(ErlDrvPort port);

/** Locks `pdl` (blocking). Thread: any. */
EXTERN void driver_pdl_lock(ErlDrvPDL pdl);

/** Unlocks `pdl`. Thread: any (the locking one). */
EXTERN void driver_pdl_unlock(ErlDrvPDL pdl);

/** Returns the reference count of `pdl`. Thread: any. */
EXTERN ErlDrvSInt driver_pdl_get_refc(ErlDrvPDL pdl);

/** Adds a reference to `pdl`, keeping it alive after its port exits;
 *  returns the new count. Thread: any. */
EXTERN ErlDrvSInt driver_pdl_inc_refc(ErlDrvPDL pdl);

/** Removes a reference from `pdl`, destroying it at 0; returns the new
 *  count. Thread: any. */
EXTERN ErlDrvSInt driver_pdl_dec_refc(ErlDrvPDL pdl);

/* ======================================================================== */
/* Asynchronous jobs                                                        */
/* ======================================================================== */

/** Returns a key for driver_async() that maps this port to one pool thread,
 *  so that its jobs run in order. Thread: port. */
EXTERN unsigned int driver_async_port_key(ErlDrvPort port);

/** Runs async_invoke(async_data) on a thread of the async pool (the one `*key`
 *  picks, or the next one if key is NULL), then ready_async on the port; if
 *  the driver has no ready_async, async_free(async_data) instead. Returns -1
 *  if the job could not be queued. Thread: port. */
EXTERN long driver_async(ErlDrvPort port, unsigned int *key,
                         void (*async_invoke)(void *), void *async_data,
                         void (*async_free)(void *));

/* ======================================================================== */
/* Drivers                                                                  */
/* ======================================================================== */

/** Keeps the port's driver loaded until the host exits. Returns 0.
 *  Thread: port. */
EXTERN int driver_lock_driver(ErlDrvPort port);

/** Registers `de` (owned by the caller, must outlive its registration) as a
 *  driver and calls its init. Deprecated by ERTS; a driver in a dlopen()ed
 *  library should call driver_lock_driver() first. Thread: port. */
EXTERN void add_driver_entry(ErlDrvEntry *de);

/** Unregisters a driver added with add_driver_entry(). Returns 1 if removed,
 *  0 if not found, -1 for a driver loaded by erl_ddll. Thread: port. */
EXTERN int remove_driver_entry(ErlDrvEntry *de);

/** Fills the fields of `*sip` (caller's storage) that fit in `si_size` bytes
 *  with facts about the host; pass sizeof(ErlDrvSysInfo). Invalid arguments
 *  end the host with status 1, as in ERTS. Thread: port. */
EXTERN void driver_system_info(ErlDrvSysInfo *sip, size_t si_size);

/** dlopen()s (RTLD_NOW) the library `path` + ".so" (`path` is borrowed;
 *  ".so" is always appended, as ERTS does); returns a handle or NULL.
 *  Thread: port. */
EXTERN void *driver_dl_open(char *path);

/** Looks up `symbol` in a driver_dl_open() handle; NULL if missing.
 *  Thread: port. */
EXTERN void *driver_dl_sym(void *handle, char *symbol);

/** Closes a driver_dl_open() handle. Returns 0 on success. Thread: port. */
EXTERN int driver_dl_close(void *handle);

/** Returns the text of the calling thread's last driver_dl_sym() failure
 *  (ERTS 25 reports no driver_dl_open() failures here), or "Unspecified
 *  dynamic library error"; owned by the host for its whole life.
 *  Thread: port. */
EXTERN char *driver_dl_error(void);

/** Does nothing and returns 0. Thread: any. */
EXTERN int null_func(void);

/* ======================================================================== */
/* Time                                                                     */
/* ======================================================================== */

/** Deprecated: stores erlang:now/0-style time in `*now`. Returns 0, or `< 0` if
 *  `now` is NULL. Use erl_drv_monotonic_time(). Thread: any. */
EXTERN int driver_get_now(ErlDrvNowData *now) ERL_DRV_DEPRECATED_FUNC;

/** Returns Erlang monotonic time in `time_unit`, or ERL_DRV_TIME_ERROR for a
 *  bad unit. Thread: any. */
EXTERN ErlDrvTime erl_drv_monotonic_time(ErlDrvTimeUnit time_unit);

/** Returns Erlang system time minus Erlang monotonic time, in `time_unit`,
 *  or ERL_DRV_TIME_ERROR for a bad unit. Thread: any. */
EXTERN ErlDrvTime erl_drv_time_offset(ErlDrvTimeUnit time_unit);

/** Converts `val` from unit `from` to unit `to`, rounding down;
 *  ERL_DRV_TIME_ERROR for a bad unit. Thread: any. */
EXTERN ErlDrvTime erl_drv_convert_time_unit(ErlDrvTime val,
                                            ErlDrvTimeUnit from,
                                            ErlDrvTimeUnit to);

/* ======================================================================== */
/* Environment                                                              */
/* ======================================================================== */

/** Sets the environment variable `key` to `value` (both NUL-terminated,
 *  copied). Returns 0 on success. Use instead of putenv(). Thread: any. */
EXTERN int erl_drv_putenv(const char *key, char *value);

/** Copies the value of `key` into `value`, whose size `*value_size` gives.
 *  Returns 0 and sets `*value_size` to the string length; `> 0` if too small
 *  and `< 0` if unset, both setting `*value_size` to its size minus one (as
 *  ERTS 25 does, not the size needed). Thread: any. */
EXTERN int erl_drv_getenv(const char *key, char *value, size_t *value_size);

/* ======================================================================== */
/* Threads                                                                  */
/* ======================================================================== */

/*
 * A subset of POSIX threads. Every `name` is a NUL-terminated string, copied,
 * that identifies the object in debugging output. A driver must destroy
 * every object it creates, and join every thread, before it is unloaded. An
 * operation that cannot fail sensibly (e.g. locking) aborts the host on
 * error. Thread: any, for every function in this section.
 */

/** Destroys an unlocked mutex from erl_drv_mutex_create(). */
EXTERN void erl_drv_mutex_destroy(ErlDrvMutex *mtx);

/** Creates a mutex, owned by the caller; NULL on failure. */
EXTERN ErlDrvMutex *erl_drv_mutex_create(char *name)
    ERL_NAPI_ATTR_MALLOC_D(erl_drv_mutex_destroy, 1);

/** Locks `mtx` if free: returns 0, or EBUSY. Not recursive. */
EXTERN int erl_drv_mutex_trylock(ErlDrvMutex *mtx);

/** Locks `mtx`, blocking. Not recursive. Never return to the host from a
 *  callback with a lock held. */
EXTERN void erl_drv_mutex_lock(ErlDrvMutex *mtx);

/** Unlocks `mtx`, which the calling thread holds. */
EXTERN void erl_drv_mutex_unlock(ErlDrvMutex *mtx);

/** Destroys a condition variable from erl_drv_cond_create(). */
EXTERN void erl_drv_cond_destroy(ErlDrvCond *cnd);

/** Creates a condition variable, owned by the caller; NULL on failure. */
EXTERN ErlDrvCond *erl_drv_cond_create(char *name)
    ERL_NAPI_ATTR_MALLOC_D(erl_drv_cond_destroy, 1);

/** Wakes one thread waiting on `cnd`. */
EXTERN void erl_drv_cond_signal(ErlDrvCond *cnd);

/** Wakes every thread waiting on `cnd`. */
EXTERN void erl_drv_cond_broadcast(ErlDrvCond *cnd);

/** Releases `mtx` (held by the caller), waits on `cnd`, and relocks `mtx`.
 *  May wake spuriously: recheck the condition. */
EXTERN void erl_drv_cond_wait(ErlDrvCond *cnd, ErlDrvMutex *mtx);

/** Destroys an unlocked rwlock from erl_drv_rwlock_create(). */
EXTERN void erl_drv_rwlock_destroy(ErlDrvRWLock *rwlck);

/** Creates a read/write lock, owned by the caller; NULL on failure. */
EXTERN ErlDrvRWLock *erl_drv_rwlock_create(char *name)
    ERL_NAPI_ATTR_MALLOC_D(erl_drv_rwlock_destroy, 1);

/** Read-locks `rwlck` if possible: returns 0, or EBUSY. */
EXTERN int erl_drv_rwlock_tryrlock(ErlDrvRWLock *rwlck);

/** Read-locks `rwlck`, blocking. */
EXTERN void erl_drv_rwlock_rlock(ErlDrvRWLock *rwlck);

/** Releases a read lock the calling thread holds. */
EXTERN void erl_drv_rwlock_runlock(ErlDrvRWLock *rwlck);

/** Write-locks `rwlck` if possible: returns 0, or EBUSY. */
EXTERN int erl_drv_rwlock_tryrwlock(ErlDrvRWLock *rwlck);

/** Write-locks `rwlck`, blocking. */
EXTERN void erl_drv_rwlock_rwlock(ErlDrvRWLock *rwlck);

/** Releases a write lock the calling thread holds. */
EXTERN void erl_drv_rwlock_rwunlock(ErlDrvRWLock *rwlck);

/** Creates a thread-specific data key in `*key`. Returns 0, or an errno
 *  value. */
EXTERN int erl_drv_tsd_key_create(char *name, ErlDrvTSDKey *key);

/** Destroys `key`; every thread must have cleared its value first. */
EXTERN void erl_drv_tsd_key_destroy(ErlDrvTSDKey key);

/** Sets the calling thread's value for `key`. On a host thread, reset it to
 *  NULL before the callback returns. */
EXTERN void erl_drv_tsd_set(ErlDrvTSDKey key, void *data);

/** Returns the calling thread's value for `key`, NULL if unset. */
EXTERN void *erl_drv_tsd_get(ErlDrvTSDKey key);

/** Destroys options from erl_drv_thread_opts_create(). */
EXTERN void erl_drv_thread_opts_destroy(ErlDrvThreadOpts *opts);

/** Creates thread options holding the defaults, owned by the caller; NULL on
 *  failure. The only valid way to obtain an ErlDrvThreadOpts. */
EXTERN ErlDrvThreadOpts *erl_drv_thread_opts_create(char *name)
    ERL_NAPI_ATTR_MALLOC_D(erl_drv_thread_opts_destroy, 1);

/** Starts a thread running func(args) and stores its id in `*tid`; `opts` may
 *  be NULL. Returns 0, or an errno value. The thread must be joined with
 *  erl_drv_thread_join(); there are no detached threads. */
EXTERN int erl_drv_thread_create(char *name, ErlDrvTid *tid,
                                 void *(*func)(void *), void *args,
                                 ErlDrvThreadOpts *opts);

/** Returns the calling thread's id. */
EXTERN ErlDrvTid erl_drv_thread_self(void);

/** Returns nonzero if `tid1` and `tid2` name the same thread. */
EXTERN int erl_drv_equal_tids(ErlDrvTid tid1, ErlDrvTid tid2);

/** Ends the calling thread, which erl_drv_thread_create() started, with exit
 *  value `resp`; on any other thread it is a fatal error, as in ERTS. */
EXTERN void erl_drv_thread_exit(void *resp);

/** Waits for thread `tid` to end and stores its exit value in `*respp` (if
 *  respp is not NULL). Returns 0, or an errno value. Join a thread once. */
EXTERN int erl_drv_thread_join(ErlDrvTid tid, void **respp);

/** Returns the name `mtx` was created with, owned by it (for debugging). */
EXTERN char *erl_drv_mutex_name(ErlDrvMutex *mtx);

/** Returns the name `cnd` was created with, owned by it (for debugging). */
EXTERN char *erl_drv_cond_name(ErlDrvCond *cnd);

/** Returns the name `rwlck` was created with, owned by it (for debugging). */
EXTERN char *erl_drv_rwlock_name(ErlDrvRWLock *rwlck);

/** Returns the name thread `tid` was created with (for debugging). */
EXTERN char *erl_drv_thread_name(ErlDrvTid tid);

#endif /* !ERL_DRIVER_TYPES_ONLY */

#endif /* __ERL_DRIVER_H__ */
