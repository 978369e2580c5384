/* A plugin of API version 1 (data callbacks without flags), built against
 * our header with the default API version: a 64 KiB RAM disk that counts
 * its flushes, so that the test can see FUA emulated through .flush. */
#include <nbdkit-plugin.h>

#include <stdio.h>
#include <string.h>

#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_REQUESTS

static unsigned char disk[65536];
static unsigned flushes;

static void *v1_open(int readonly)
{
  (void)readonly;
  return NBDKIT_HANDLE_NOT_NEEDED;
}

static int64_t v1_get_size(void *handle)
{
  (void)handle;
  return sizeof disk;
}

static int v1_pread(void *handle, void *buf, uint32_t count, uint64_t offset)
{
  (void)handle;
  /* The last byte reports the flush count. */
  disk[sizeof disk - 1] = (unsigned char)flushes;
  memcpy(buf, disk + offset, count);
  return 0;
}

static int v1_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset)
{
  (void)handle;
  memcpy(disk + offset, buf, count);
  return 0;
}

static int v1_flush(void *handle)
{
  (void)handle;
  flushes++;
  return 0;
}

static int v1_zero(void *handle, uint32_t count, uint64_t offset, int may_trim)
{
  (void)handle;
  (void)may_trim;
  memset(disk + offset, 0, count);
  return 0;
}

static struct nbdkit_plugin plugin = {
  .name = "v1test",
  .open = v1_open,
  .get_size = v1_get_size,
  .pread = v1_pread,
  .pwrite = v1_pwrite,
  .flush = v1_flush,
  .zero = v1_zero,
};

NBDKIT_REGISTER_PLUGIN(plugin)
