/* Every field of struct nbdkit_plugin (API version 2 names), in order. */
#define NBDKIT_PLUGIN_FIELDS(X)                                                     \
  X(_struct_size) X(_api_version) X(_thread_model) X(name) X(longname) X(version)   \
  X(description) X(load) X(unload) X(config) X(config_complete) X(config_help)      \
  X(open) X(close) X(get_size) X(can_write) X(can_flush) X(is_rotational)          \
  X(can_trim) X(_pread_v1) X(_pwrite_v1) X(_flush_v1) X(_trim_v1) X(_zero_v1)      \
  X(errno_is_preserved) X(dump_plugin) X(can_zero) X(can_fua) X(pread) X(pwrite)   \
  X(flush) X(trim) X(zero) X(magic_config_key) X(can_multi_conn) X(can_extents)    \
  X(extents) X(can_cache) X(cache) X(thread_model) X(can_fast_zero) X(preconnect)  \
  X(get_ready) X(after_fork) X(list_exports) X(default_export)                     \
  X(export_description) X(cleanup) X(block_size)
