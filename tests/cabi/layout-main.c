/* Our <nbdkit-plugin.h> against nbdkit's: the same struct size, the same
 * offset for every field and the same constants, or plugins built
 * against one would misbehave under a server built against the other. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layout-fields.h"

size_t probe_ours(const size_t **fields, size_t *count, int constants[8]);
size_t probe_nbdkit(const size_t **fields, size_t *count, int constants[8]);

#define FIELD_NAME(field) #field,
static const char *const names[] = {NBDKIT_PLUGIN_FIELDS(FIELD_NAME)};

int main(void)
{
  const size_t *ours, *theirs;
  size_t our_count, their_count;
  int our_constants[8], their_constants[8];
  const size_t our_size = probe_ours(&ours, &our_count, our_constants);
  const size_t their_size = probe_nbdkit(&theirs, &their_count, their_constants);
  int failures = 0;
  if (our_size != their_size) {
    printf("FAIL: sizeof(struct nbdkit_plugin): ours %zu, nbdkit's %zu\n", our_size, their_size);
    failures++;
  }
  for (size_t i = 0; i < our_count && i < their_count; i++) {
    if (ours[i] != theirs[i]) {
      printf("FAIL: offset of %s: ours %zu, nbdkit's %zu\n", names[i], ours[i], theirs[i]);
      failures++;
    }
  }
  if (memcmp(our_constants, their_constants, sizeof our_constants) != 0) {
    printf("FAIL: the flag, FUA, cache, extent or thread model constants differ\n");
    failures++;
  }
  printf("%zu fields, struct size %zu: %s\n", our_count, our_size, failures ? "DIFFERENT" : "same");
  return failures ? 1 : 0;
}
