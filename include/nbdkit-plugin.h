/* nbdkit-cxx: the C plugin ABI.  A plugin fills a struct nbdkit_plugin and
 * registers it with NBDKIT_REGISTER_PLUGIN(); the server dlopens the
 * shared object and calls its plugin_init().  See nbdkit-plugin(3).
 *
 * Written for nbdkit-cxx from the documented nbdkit ABI: the struct has the
 * field order and types of nbdkit 1.32's, so a plugin compiled against
 * either header works with either server.  Fields are only ever appended;
 * _struct_size tells the server how many the plugin knows. */
#ifndef NBDKIT_PLUGIN_H
#define NBDKIT_PLUGIN_H

#include <nbdkit-common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version 1 (the default) has data callbacks without flags; version 2
 * adds flags (FUA, fast zero, ...).  Define it before the include. */
#ifndef NBDKIT_API_VERSION
#define NBDKIT_API_VERSION 1
#elif NBDKIT_API_VERSION + 0 != 1 && NBDKIT_API_VERSION + 0 != 2
#error "NBDKIT_API_VERSION must be 1 or 2"
#endif

struct nbdkit_plugin {
  /* Filled by NBDKIT_REGISTER_PLUGIN. */
  uint64_t _struct_size;
  int _api_version;
  int _thread_model;

  const char *name;        /* required: the short name, e.g. "memory" */
  const char *longname;
  const char *version;
  const char *description;

  void (*load)(void);
  void (*unload)(void);

  int (*config)(const char *key, const char *value);
  int (*config_complete)(void);
  const char *config_help;

  void *(*open)(int readonly);  /* required */
  void (*close)(void *handle);

  int64_t (*get_size)(void *handle);  /* required */

  int (*can_write)(void *handle);
  int (*can_flush)(void *handle);
  int (*is_rotational)(void *handle);
  int (*can_trim)(void *handle);

  /* The version 1 data callbacks; pread is required in version 1. */
#if NBDKIT_API_VERSION == 1
  int (*pread)(void *handle, void *buf, uint32_t count, uint64_t offset);
  int (*pwrite)(void *handle, const void *buf, uint32_t count, uint64_t offset);
  int (*flush)(void *handle);
  int (*trim)(void *handle, uint32_t count, uint64_t offset);
  int (*zero)(void *handle, uint32_t count, uint64_t offset, int may_trim);
#else
  int (*_pread_v1)(void *handle, void *buf, uint32_t count, uint64_t offset);
  int (*_pwrite_v1)(void *handle, const void *buf, uint32_t count, uint64_t offset);
  int (*_flush_v1)(void *handle);
  int (*_trim_v1)(void *handle, uint32_t count, uint64_t offset);
  int (*_zero_v1)(void *handle, uint32_t count, uint64_t offset, int may_trim);
#endif

  int errno_is_preserved;  /* non-zero: errno after a failure is meaningful */

  void (*dump_plugin)(void);

  int (*can_zero)(void *handle);
  int (*can_fua)(void *handle);

  /* The version 2 data callbacks; pread is required in version 2. */
#if NBDKIT_API_VERSION == 1
  int (*_pread_v2)(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags);
  int (*_pwrite_v2)(void *handle, const void *buf, uint32_t count, uint64_t offset,
                    uint32_t flags);
  int (*_flush_v2)(void *handle, uint32_t flags);
  int (*_trim_v2)(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
  int (*_zero_v2)(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
#else
  int (*pread)(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags);
  int (*pwrite)(void *handle, const void *buf, uint32_t count, uint64_t offset,
                uint32_t flags);
  int (*flush)(void *handle, uint32_t flags);
  int (*trim)(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
  int (*zero)(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
#endif

  const char *magic_config_key;

  int (*can_multi_conn)(void *handle);

  int (*can_extents)(void *handle);
  int (*extents)(void *handle, uint32_t count, uint64_t offset, uint32_t flags,
                 struct nbdkit_extents *extents);
  int (*can_cache)(void *handle);
  int (*cache)(void *handle, uint32_t count, uint64_t offset, uint32_t flags);

  int (*thread_model)(void);

  int (*can_fast_zero)(void *handle);

  int (*preconnect)(int readonly);

  int (*get_ready)(void);
  int (*after_fork)(void);

  int (*list_exports)(int readonly, int is_tls, struct nbdkit_exports *exports);
  const char *(*default_export)(int readonly, int is_tls);
  const char *(*export_description)(void *handle);

  void (*cleanup)(void);

  int (*block_size)(void *handle, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum);
};

/* The errno value a failing data callback sends to the client. */
extern void nbdkit_set_error(int err);
/* The export name the client asked for (from .open on). */
extern const char *nbdkit_export_name(void);
/* True when the client's connection uses TLS. */
extern int nbdkit_is_tls(void);

/* Defines plugin_init(), the one symbol the server looks up.  The plugin
 * must define THREAD_MODEL (one of NBDKIT_THREAD_MODEL_*) first. */
#define NBDKIT_REGISTER_PLUGIN(plugin)                      \
  NBDKIT_CXX_LANG_C NBDKIT_DLL_PUBLIC struct nbdkit_plugin * \
  plugin_init(void)                                         \
  {                                                         \
    (plugin)._struct_size = sizeof(plugin);                 \
    (plugin)._api_version = NBDKIT_API_VERSION;             \
    (plugin)._thread_model = THREAD_MODEL;                  \
    return &(plugin);                                       \
  }

#ifdef __cplusplus
}
#endif

#endif
