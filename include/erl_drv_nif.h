/*
 * erl_drv_nif.h -- porthost's statement of the types that ERTS shares between
 * its driver API (erl_driver.h) and its NIF API (erl_nif.h).
 *
 * This file is porthost's own text. Every name, type, value and layout in it
 * is the one that Erlang/OTP 25's erl_drv_nif.h gives on x86_64 Linux, so
 * code built against either header sees the same ABI. OTP's header takes type
 * sizes from its configure-generated erl_int_sizes_config.h; this one states
 * them (LP64) and needs no other Erlang header.
 *
 * Drivers include <erl_driver.h>, which includes this file; there is no need
 * to include it directly. The include guard is OTP's, so that this file and
 * OTP's erl_nif.h (which includes OTP's erl_drv_nif.h) can meet in one
 * translation unit.
 */
#ifndef __ERL_DRV_NIF_H__
#define __ERL_DRV_NIF_H__

/* ---- Runtime information --------------------------------------------- */

/**
 * What driver_system_info() reports about the runtime. The runtime fills in
 * only the fields that fit in the size the caller passes, so a driver built
 * against an older, shorter struct stays safe. The two strings are owned by
 * the runtime and live as long as it does. ERTS: erl_driver(3) ErlDrvSysInfo.
 */
typedef struct {
    int driver_major_version;    /* the host's ERL_DRV_EXTENDED_MAJOR_VERSION */
    int driver_minor_version;    /* the host's ERL_DRV_EXTENDED_MINOR_VERSION */
    char *erts_version;          /* e.g. "13.1.5" */
    char *otp_release;           /* e.g. "25" */
    int thread_support;          /* nonzero: the erl_drv_thread_* API works */
    int smp_support;             /* nonzero: several scheduler threads */
    int async_threads;           /* threads in the driver_async() pool */
    int scheduler_threads;       /* scheduler threads */
    int nif_major_version;       /* NIF API version of the runtime */
    int nif_minor_version;
    int dirty_scheduler_support; /* nonzero: dirty schedulers exist */
} ErlDrvSysInfo;

/**
 * Options for erl_drv_thread_create(). Obtain one only from
 * erl_drv_thread_opts_create() (the runtime may allocate a larger object) and
 * release it with erl_drv_thread_opts_destroy().
 */
typedef struct {
    int suggested_stack_size;    /* in kilowords; a negative value: default */
} ErlDrvThreadOpts;

/** Kinds of dirty NIF job (erl_nif(3)); unused by drivers. */
typedef enum {
    ERL_DIRTY_JOB_CPU_BOUND = 1,
    ERL_DIRTY_JOB_IO_BOUND = 2
} ErlDirtyJobFlags;

/**
 * Mode bits shared by enif_select() and driver_select(); drivers use them
 * through ERL_DRV_READ, ERL_DRV_WRITE and ERL_DRV_USE (erl_driver.h).
 */
enum ErlNifSelectFlags {
    ERL_NIF_SELECT_READ = 0x01,
    ERL_NIF_SELECT_WRITE = 0x02,
    ERL_NIF_SELECT_STOP = 0x04,
    ERL_NIF_SELECT_CANCEL = 0x08,
    ERL_NIF_SELECT_CUSTOM_MSG = 0x10,
    ERL_NIF_SELECT_ERROR = 0x20
};

/**
 * A process monitor held by a driver: 32 opaque bytes (four pointers) that
 * driver_monitor_process() fills in. The driver owns the storage; the value
 * may be copied, moved or dropped freely. Compare two monitors only with
 * driver_compare_monitors().
 */
typedef struct {
    unsigned char data[sizeof(void *) * 4];
} ErlDrvMonitor;

/* ---- Integer types (x86_64 Linux, LP64) ------------------------------- */

#if !defined(__LP64__)
#  error "porthost's erl_drv_nif.h describes the LP64 ABI (x86_64 Linux) only"
#endif

/*
 * Type sizes in bytes, under the names OTP's configure output uses. A build
 * that already defines one of them must agree with these values.
 */
#if (defined(SIZEOF_CHAR) && SIZEOF_CHAR != 1)                            \
    || (defined(SIZEOF_SHORT) && SIZEOF_SHORT != 2)                       \
    || (defined(SIZEOF_INT) && SIZEOF_INT != 4)                           \
    || (defined(SIZEOF_LONG) && SIZEOF_LONG != 8)                         \
    || (defined(SIZEOF_LONG_LONG) && SIZEOF_LONG_LONG != 8)               \
    || (defined(SIZEOF_VOID_P) && SIZEOF_VOID_P != 8)
#  error "SIZEOF_* defined before erl_drv_nif.h disagrees with LP64"
#endif
#undef SIZEOF_CHAR
#undef SIZEOF_SHORT
#undef SIZEOF_INT
#undef SIZEOF_LONG
#undef SIZEOF_LONG_LONG
#undef SIZEOF_VOID_P
#define SIZEOF_CHAR 1
#define SIZEOF_SHORT 2
#define SIZEOF_INT 4
#define SIZEOF_LONG 8
#define SIZEOF_LONG_LONG 8
#define SIZEOF_VOID_P 8

/* 64-bit integers, and integers as wide as a pointer: `long` on LP64. */
typedef unsigned long ErlNapiUInt64;
typedef signed long ErlNapiSInt64;
typedef ErlNapiUInt64 ErlNapiUInt;
typedef ErlNapiSInt64 ErlNapiSInt;

#define ERL_NAPI_SINT64_MAX__ 9223372036854775807L
#define ERL_NAPI_SINT64_MIN__ (-ERL_NAPI_SINT64_MAX__ - 1L)

/* The "invalid time" value, and the time unit codes of ErlDrvTimeUnit. */
#define ERTS_NAPI_TIME_ERROR__ ERL_NAPI_SINT64_MIN__
#define ERTS_NAPI_SEC__ 0
#define ERTS_NAPI_MSEC__ 1
#define ERTS_NAPI_USEC__ 2
#define ERTS_NAPI_NSEC__ 3

/* ---- I/O vector -------------------------------------------------------- */

#include <sys/types.h>

/**
 * One segment of an I/O vector, laid out as POSIX `struct iovec` so that an
 * array of them can go to writev(). When the build defines HAVE_SYS_UIO_H it
 * is `struct iovec` itself (iov_base is then `void *`), as in OTP.
 */
#ifdef HAVE_SYS_UIO_H
#  include <sys/uio.h>
typedef struct iovec SysIOVec;
#else
typedef struct {
    char *iov_base;              /* first byte of the segment */
    size_t iov_len;              /* its length in bytes */
} SysIOVec;
#endif

/* ---- Compiler attributes on allocating functions ------------------------ */

/*
 * ERL_NAPI_ATTR_*: attributes that let the compiler check allocation calls.
 * Letters: U = returns fresh memory (malloc), S = argument SZPOS is the size
 * in bytes (alloc_size), D = DTOR(argument PTRPOS) releases the result
 * (GCC 11+). Each expands to nothing where the compiler lacks the attribute.
 */
#if defined(__has_attribute)
#  if __has_attribute(warn_unused_result)
#    define ERL_NAPI_ATTR_WUR __attribute__((warn_unused_result))
#  endif
#  if __has_attribute(alloc_size)
#    define ERL_NAPI_ATTR_ALLOC_SIZE(SZPOS)                                \
        __attribute__((alloc_size(SZPOS))) ERL_NAPI_ATTR_WUR
#  endif
#  if __has_attribute(malloc)
#    define ERL_NAPI_ATTR_MALLOC_U __attribute__((malloc)) ERL_NAPI_ATTR_WUR
#    define ERL_NAPI_ATTR_MALLOC_US(SZPOS)                                 \
        __attribute__((malloc)) ERL_NAPI_ATTR_ALLOC_SIZE(SZPOS)
#    if defined(__GNUC__) && __GNUC__ >= 11
#      define ERL_NAPI_ATTR_MALLOC_D(DTOR, PTRPOS)                         \
          __attribute__((malloc(DTOR, PTRPOS))) ERL_NAPI_ATTR_WUR
#    else
#      define ERL_NAPI_ATTR_MALLOC_D(DTOR, PTRPOS) ERL_NAPI_ATTR_WUR
#    endif
#    define ERL_NAPI_ATTR_MALLOC_UD(DTOR, PTRPOS)                          \
        ERL_NAPI_ATTR_MALLOC_U ERL_NAPI_ATTR_MALLOC_D(DTOR, PTRPOS)
#    define ERL_NAPI_ATTR_MALLOC_USD(SZPOS, DTOR, PTRPOS)                  \
        ERL_NAPI_ATTR_MALLOC_US(SZPOS) ERL_NAPI_ATTR_MALLOC_D(DTOR, PTRPOS)
#  endif
#endif

#ifndef ERL_NAPI_ATTR_WUR
#  define ERL_NAPI_ATTR_WUR
#endif
#ifndef ERL_NAPI_ATTR_ALLOC_SIZE
#  define ERL_NAPI_ATTR_ALLOC_SIZE(SZPOS)
#endif
#ifndef ERL_NAPI_ATTR_MALLOC_U
#  define ERL_NAPI_ATTR_MALLOC_U
#endif
#ifndef ERL_NAPI_ATTR_MALLOC_US
#  define ERL_NAPI_ATTR_MALLOC_US(SZPOS)
#endif
#ifndef ERL_NAPI_ATTR_MALLOC_D
#  define ERL_NAPI_ATTR_MALLOC_D(DTOR, PTRPOS)
#endif
#ifndef ERL_NAPI_ATTR_MALLOC_UD
#  define ERL_NAPI_ATTR_MALLOC_UD(DTOR, PTRPOS)
#endif
#ifndef ERL_NAPI_ATTR_MALLOC_USD
#  define ERL_NAPI_ATTR_MALLOC_USD(SZPOS, DTOR, PTRPOS)
#endif

#endif /* __ERL_DRV_NIF_H__ */
