// The C plugin header as the server sees it: API version 2 field names
// (version 1 plugins are read through the _*_v1 fields).  Both the C and
// the C++ API define NBDKIT_REGISTER_PLUGIN; the server uses neither.
#pragma once

#include <cinttypes>

#include <nbdkit/plugin.hpp>

#undef NBDKIT_REGISTER_PLUGIN
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>
#undef NBDKIT_REGISTER_PLUGIN
