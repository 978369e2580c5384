/* A shared object whose plugin_init claims an API version no server
 * knows: loading it must fail with a clear message. */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <stddef.h>

static struct nbdkit_plugin plugin = {
  .name = "badapi",
};

NBDKIT_CXX_LANG_C NBDKIT_DLL_PUBLIC struct nbdkit_plugin *plugin_init(void)
{
  plugin._struct_size = sizeof plugin;
  plugin._api_version = 99;
  plugin._thread_model = NBDKIT_THREAD_MODEL_PARALLEL;
  return &plugin;
}
