/* Compiled twice: once against our <nbdkit-plugin.h>, once against
 * nbdkit's (Debian's nbdkit-plugin-dev).  PROBE names the function; each
 * reports the size of struct nbdkit_plugin and the offset of every field,
 * which layout-main.c compares. */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <stddef.h>
#include <stdint.h>

#include "layout-fields.h"

#define FIELD_OFFSET(field) offsetof(struct nbdkit_plugin, field),
static const size_t offsets[] = {NBDKIT_PLUGIN_FIELDS(FIELD_OFFSET)};

size_t PROBE(const size_t **fields, size_t *count, int constants[8])
{
  *fields = offsets;
  *count = sizeof offsets / sizeof offsets[0];
  constants[0] = NBDKIT_FLAG_MAY_TRIM;
  constants[1] = NBDKIT_FLAG_FUA;
  constants[2] = NBDKIT_FLAG_REQ_ONE;
  constants[3] = NBDKIT_FLAG_FAST_ZERO;
  constants[4] = NBDKIT_FUA_NATIVE;
  constants[5] = NBDKIT_CACHE_NATIVE;
  constants[6] = NBDKIT_EXTENT_HOLE | (NBDKIT_EXTENT_ZERO << 4);
  constants[7] = NBDKIT_THREAD_MODEL_SERIALIZE_REQUESTS | (NBDKIT_THREAD_MODEL_PARALLEL << 4);
  return sizeof(struct nbdkit_plugin);
}
