// GnuTLS, loaded the first time TLS is configured instead of when nbdkit
// starts.  Linking it costs every start a dozen shared libraries (about 170
// page faults and most of the dynamic loader's work), which is most of the
// start-up time of `nbdkit --run` without TLS.
#pragma once

#include <gnutls/gnutls.h>

namespace nbdkit::server {

// The GnuTLS functions the server calls, named as in GnuTLS without the
// gnutls_ prefix.
#define NBDKIT_GNUTLS_FUNCTIONS(X)                                                        \
  X(bye) X(certificate_allocate_credentials) X(certificate_free_credentials)              \
  X(certificate_server_set_request) X(certificate_set_known_dh_params)                    \
  X(certificate_set_x509_crl_file) X(certificate_set_x509_key_file2)                      \
  X(certificate_set_x509_trust_file) X(certificate_verification_status_print)             \
  X(credentials_set) X(deinit) X(error_is_fatal) X(global_init)                           \
  X(global_set_log_function) X(global_set_log_level) X(handshake) X(hex_decode2) X(init)  \
  X(priority_deinit) X(priority_init) X(priority_set) X(psk_allocate_server_credentials)  \
  X(psk_free_server_credentials) X(psk_set_server_credentials_function)                   \
  X(record_check_pending) X(record_get_max_size) X(record_recv) X(record_send)            \
  X(session_get_desc) X(session_get_ptr) X(session_get_verify_cert_status)                \
  X(session_set_ptr) X(session_set_verify_cert) X(strerror) X(transport_set_errno)        \
  X(transport_set_ptr) X(transport_set_pull_function) X(transport_set_pull_timeout_function) \
  X(transport_set_push_function)

struct GnuTls {
#define NBDKIT_GNUTLS_MEMBER(name) decltype(&::gnutls_##name) name;
  NBDKIT_GNUTLS_FUNCTIONS(NBDKIT_GNUTLS_MEMBER)
#undef NBDKIT_GNUTLS_MEMBER
  gnutls_free_function free;  // a variable in GnuTLS, not a function
};

// Loads GnuTLS on first use; throws nbdkit::Error if it cannot.
const GnuTls& gnutls();

}  // namespace nbdkit::server
