/* nbdkit-cxx: what C plugins share with the server, constants and the
 * services the server exports (nbdkit_error, the parsers, ...).
 *
 * Written for nbdkit-cxx from the documented nbdkit plugin ABI
 * (nbdkit-plugin(3)); plugins built against nbdkit's own headers and
 * against these are interchangeable.  Included through <nbdkit-plugin.h>. */
#ifndef NBDKIT_COMMON_H
#define NBDKIT_COMMON_H

#if !defined(NBDKIT_PLUGIN_H) && !defined(NBDKIT_FILTER_H)
#error "include <nbdkit-plugin.h>, not <nbdkit-common.h>"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <nbdkit-version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Thread models, most restrictive first. */
#define NBDKIT_THREAD_MODEL_SERIALIZE_CONNECTIONS 0
#define NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS 1
#define NBDKIT_THREAD_MODEL_SERIALIZE_REQUESTS 2
#define NBDKIT_THREAD_MODEL_PARALLEL 3

/* Flags of the data callbacks (API version 2). */
#define NBDKIT_FLAG_MAY_TRIM (1 << 0)  /* zero: the range may become a hole */
#define NBDKIT_FLAG_FUA (1 << 1)       /* write/zero/trim: persist first */
#define NBDKIT_FLAG_REQ_ONE (1 << 2)   /* extents: one extent is enough */
#define NBDKIT_FLAG_FAST_ZERO (1 << 3) /* zero: fail with ENOTSUP unless fast */

/* Results of .can_fua and .can_cache. */
#define NBDKIT_FUA_NONE 0
#define NBDKIT_FUA_EMULATE 1
#define NBDKIT_FUA_NATIVE 2
#define NBDKIT_CACHE_NONE 0
#define NBDKIT_CACHE_EMULATE 1
#define NBDKIT_CACHE_NATIVE 2

/* Extent types, as in NBD's base:allocation context. */
#define NBDKIT_EXTENT_HOLE (1 << 0)
#define NBDKIT_EXTENT_ZERO (1 << 1)

#if defined(__GNUC__) || defined(__clang__)
#define NBDKIT_PRINTF_LIKE(fmt, first) __attribute__((__format__(__printf__, fmt, first)))
#define NBDKIT_DLL_PUBLIC __attribute__((__visibility__("default")))
#else
#define NBDKIT_PRINTF_LIKE(fmt, first)
#define NBDKIT_DLL_PUBLIC
#endif
/* The spelling nbdkit's headers use, for plugins that borrowed it. */
#define ATTRIBUTE_FORMAT_PRINTF(fmt, first) NBDKIT_PRINTF_LIKE(fmt, first)
#define NBDKIT_EXTERN_DECL(ret, fn, args) extern ret fn args

#ifdef __cplusplus
#define NBDKIT_CXX_LANG_C extern "C"
#else
#define NBDKIT_CXX_LANG_C
#endif

/* A non-NULL handle for plugins that keep no per-connection state. */
#define NBDKIT_HANDLE_NOT_NEEDED (&errno)

/* Messages.  Both keep errno, and %m works. */
extern void nbdkit_error(const char *fmt, ...) NBDKIT_PRINTF_LIKE(1, 2);
extern void nbdkit_verror(const char *fmt, va_list args) NBDKIT_PRINTF_LIKE(1, 0);
extern void nbdkit_debug(const char *fmt, ...) NBDKIT_PRINTF_LIKE(1, 2);
extern void nbdkit_vdebug(const char *fmt, va_list args) NBDKIT_PRINTF_LIKE(1, 0);

/* Parsers for configuration values: -1 after nbdkit_error on bad input. */
extern int64_t nbdkit_parse_size(const char *text);
extern int nbdkit_parse_bool(const char *text);
extern int nbdkit_parse_probability(const char *what, const char *text, double *result);
extern int nbdkit_parse_delay(const char *what, const char *text, unsigned *sec,
                              unsigned *nsec);
extern int nbdkit_parse_int(const char *what, const char *text, int *result);
extern int nbdkit_parse_unsigned(const char *what, const char *text, unsigned *result);
extern int nbdkit_parse_int8_t(const char *what, const char *text, int8_t *result);
extern int nbdkit_parse_uint8_t(const char *what, const char *text, uint8_t *result);
extern int nbdkit_parse_int16_t(const char *what, const char *text, int16_t *result);
extern int nbdkit_parse_uint16_t(const char *what, const char *text, uint16_t *result);
extern int nbdkit_parse_int32_t(const char *what, const char *text, int32_t *result);
extern int nbdkit_parse_uint32_t(const char *what, const char *text, uint32_t *result);
extern int nbdkit_parse_int64_t(const char *what, const char *text, int64_t *result);
extern int nbdkit_parse_uint64_t(const char *what, const char *text, uint64_t *result);

/* Paths (malloc'd results, freed by the caller) and passwords. */
extern char *nbdkit_absolute_path(const char *path);
extern char *nbdkit_realpath(const char *path);
extern int nbdkit_read_password(const char *value, char **password);
extern int nbdkit_stdio_safe(void);

/* Sleeping and stopping. */
extern int nbdkit_nanosleep(unsigned sec, unsigned nsec);
extern void nbdkit_shutdown(void);
extern void nbdkit_disconnect(int force);

/* The connection being served by the calling thread. */
extern int nbdkit_peer_name(struct sockaddr *addr, socklen_t *addrlen);
extern int64_t nbdkit_peer_pid(void);
extern int64_t nbdkit_peer_uid(void);
extern int64_t nbdkit_peer_gid(void);
extern char *nbdkit_peer_security_context(void);

/* Strings that live until the connection (or, outside one, the server)
 * ends. */
extern const char *nbdkit_strdup_intern(const char *text);
extern const char *nbdkit_strndup_intern(const char *text, size_t length);
extern const char *nbdkit_printf_intern(const char *fmt, ...) NBDKIT_PRINTF_LIKE(1, 2);
extern const char *nbdkit_vprintf_intern(const char *fmt, va_list args)
    NBDKIT_PRINTF_LIKE(1, 0);

/* Extent lists, filled by .extents. */
struct nbdkit_extents;
extern int nbdkit_add_extent(struct nbdkit_extents *list, uint64_t offset, uint64_t length,
                             uint32_t type);

/* Export lists, filled by .list_exports. */
struct nbdkit_exports;
extern int nbdkit_add_export(struct nbdkit_exports *list, const char *name,
                             const char *description);
extern int nbdkit_use_default_export(struct nbdkit_exports *list);

#ifdef __cplusplus
}
#endif

#endif
