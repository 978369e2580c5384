/* A C plugin built against our <nbdkit-plugin.h>, loaded by path in the
 * tests (and by Debian's nbdkit, to show the ABI is the same).
 *
 * A RAM disk of size=SIZE (default 1M) whose last 4096 bytes fail to read
 * with EPERM; exports "" (the default, named "a"), "a" and "b"; reads of
 * export "b" see every byte as 'b'; extents report the first half as data
 * and the second half as a hole; writing "SHUTDOWN" at offset 0 asks the
 * server to shut down. */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

/* -D cabitest.verbose=1 sets this. */
NBDKIT_DLL_PUBLIC int cabitest_debug_verbose;

static int64_t size = 1024 * 1024;
static unsigned char *disk;
static unsigned fail_config;
static const char *greeting;

static int cabitest_config(const char *key, const char *value)
{
  if (strcmp(key, "size") == 0) {
    size = nbdkit_parse_size(value);
    return size == -1 ? -1 : 0;
  }
  if (strcmp(key, "fail") == 0) {
    if (nbdkit_parse_unsigned("fail", value, &fail_config) == -1) return -1;
    if (fail_config) {
      nbdkit_error("cabitest: failing as asked (fail=%s)", value);
      return -1;
    }
    return 0;
  }
  if (strcmp(key, "greeting") == 0) {
    greeting = nbdkit_strdup_intern(value);
    return 0;
  }
  nbdkit_error("cabitest: unknown parameter '%s'", key);
  return -1;
}

static int cabitest_config_complete(void)
{
  disk = calloc(1, (size_t)size);
  if (!disk) {
    nbdkit_error("calloc: %m");
    return -1;
  }
  return 0;
}

static int cabitest_get_ready(void)
{
  if (cabitest_debug_verbose) nbdkit_debug("cabitest: verbose debug flag is %d", cabitest_debug_verbose);
  if (greeting) nbdkit_debug("cabitest: greeting %s", greeting);
  return 0;
}

static void cabitest_unload(void) { free(disk); }

static void cabitest_dump_plugin(void) { printf("cabitest_dump=yes\n"); }

static int cabitest_list_exports(int readonly, int is_tls, struct nbdkit_exports *exports)
{
  (void)readonly;
  (void)is_tls;
  if (nbdkit_use_default_export(exports) == -1) return -1;
  if (nbdkit_add_export(exports, "a", "export a") == -1) return -1;
  return nbdkit_add_export(exports, "b", "export b");
}

static const char *cabitest_default_export(int readonly, int is_tls)
{
  (void)readonly;
  (void)is_tls;
  return "a";
}

struct handle {
  const char *export_name; /* interned */
};

static void *cabitest_open(int readonly)
{
  (void)readonly;
  const char *name = nbdkit_export_name();
  if (name == NULL) return NULL;
  if (*name == '\0') name = "a";
  if (strcmp(name, "a") != 0 && strcmp(name, "b") != 0) {
    nbdkit_error("cabitest: no export called '%s'", name);
    return NULL;
  }
  struct handle *h = malloc(sizeof *h);
  if (!h) return NULL;
  h->export_name = nbdkit_printf_intern("%s", name);
  return h;
}

static void cabitest_close(void *handle) { free(handle); }

static const char *cabitest_export_description(void *handle)
{
  struct handle *h = handle;
  return nbdkit_printf_intern("cabitest export %s", h->export_name);
}

static int64_t cabitest_get_size(void *handle)
{
  (void)handle;
  return size;
}

static int cabitest_can_write(void *handle)
{
  struct handle *h = handle;
  return strcmp(h->export_name, "a") == 0;
}

static int cabitest_can_multi_conn(void *handle)
{
  (void)handle;
  return 1;
}

static int cabitest_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
                          uint32_t flags)
{
  struct handle *h = handle;
  (void)flags;
  if (offset + count > (uint64_t)size - 4096) {
    nbdkit_error("cabitest: reading the last 4096 bytes fails");
    nbdkit_set_error(EPERM);
    return -1;
  }
  if (strcmp(h->export_name, "b") == 0)
    memset(buf, 'b', count);
  else
    memcpy(buf, disk + offset, count);
  return 0;
}

static int cabitest_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
                           uint32_t flags)
{
  (void)handle;
  (void)flags;
  memcpy(disk + offset, buf, count);
  if (offset == 0 && count >= 8 && memcmp(buf, "SHUTDOWN", 8) == 0) nbdkit_shutdown();
  return 0;
}

/* Fails with errno alone: errno_is_preserved says that is enough. */
static int cabitest_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
  (void)handle;
  (void)count;
  (void)offset;
  (void)flags;
  errno = ENOSPC;
  return -1;
}

static int cabitest_extents(void *handle, uint32_t count, uint64_t offset, uint32_t flags,
                            struct nbdkit_extents *extents)
{
  (void)handle;
  (void)count;
  (void)offset;
  (void)flags;
  const uint64_t half = (uint64_t)size / 2;
  if (nbdkit_add_extent(extents, 0, half, 0) == -1) return -1;
  return nbdkit_add_extent(extents, half, (uint64_t)size - half,
                           NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO);
}

static struct nbdkit_plugin plugin = {
  .name = "cabitest",
  .longname = "nbdkit-cxx C ABI test plugin",
  .version = "0.1",
  .description = "a RAM disk for testing the C plugin ABI",
  .config = cabitest_config,
  .config_complete = cabitest_config_complete,
  .config_help = "size=<SIZE>      size of the disk\n"
                 "fail=1           fail in config",
  .magic_config_key = "size",
  .get_ready = cabitest_get_ready,
  .unload = cabitest_unload,
  .dump_plugin = cabitest_dump_plugin,
  .list_exports = cabitest_list_exports,
  .default_export = cabitest_default_export,
  .open = cabitest_open,
  .close = cabitest_close,
  .export_description = cabitest_export_description,
  .get_size = cabitest_get_size,
  .can_write = cabitest_can_write,
  .can_multi_conn = cabitest_can_multi_conn,
  .pread = cabitest_pread,
  .pwrite = cabitest_pwrite,
  .trim = cabitest_trim,
  .extents = cabitest_extents,
  .errno_is_preserved = 1,
};

NBDKIT_REGISTER_PLUGIN(plugin)
