/* nbdkit-cxx: the nbdkit release whose plugin ABI these headers follow.
 * Included through <nbdkit-plugin.h>; see nbdkit-plugin(3). */
#ifndef NBDKIT_VERSION_H
#define NBDKIT_VERSION_H

#if !defined(NBDKIT_PLUGIN_H) && !defined(NBDKIT_FILTER_H)
#error "include <nbdkit-plugin.h>, not <nbdkit-version.h>"
#endif

#define NBDKIT_VERSION_MAJOR 1
#define NBDKIT_VERSION_MINOR 32
#define NBDKIT_VERSION_MICRO 5
#define NBDKIT_VERSION_STRING "1.32.5"

#endif
