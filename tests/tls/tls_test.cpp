// TlsServer against a GnuTLS client written here, over a socketpair, with
// credentials made by tests/tls/make-credentials.sh (certtool, psktool).
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "nbdkit/plugin.hpp"
#include "tls.hpp"
#include "transport.hpp"

namespace fs = std::filesystem;
using nbdkit::server::PlainTransport;
using nbdkit::server::TlsPolicy;
using nbdkit::server::TlsServer;
using nbdkit::server::TlsSettings;
using nbdkit::server::Transport;

namespace {

constexpr const char* client_priority = "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK";

fs::path credentials;  // made once for the whole suite

struct ClientOptions {
  fs::path trust_dir;   // CA to check the server against (X.509)
  fs::path client_dir;  // client-cert.pem/client-key.pem to present, if any
  std::string psk_username;
  std::string psk_hex_key;
};

std::string read_psk_key(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line.substr(line.find(':') + 1);
}

// One end of a socketpair speaking TLS as a client.
class TestClient {
 public:
  TestClient(int fd, const ClientOptions& options) : fd_(fd) {
    gnutls_init(&session_, GNUTLS_CLIENT);
    gnutls_priority_set_direct(session_, client_priority, nullptr);
    if (!options.psk_username.empty()) {
      gnutls_psk_allocate_client_credentials(&psk_);
      gnutls_datum_t key{reinterpret_cast<unsigned char*>(const_cast<char*>(options.psk_hex_key.data())),
                         static_cast<unsigned>(options.psk_hex_key.size())};
      gnutls_psk_set_client_credentials(psk_, options.psk_username.c_str(), &key, GNUTLS_PSK_KEY_HEX);
      gnutls_credentials_set(session_, GNUTLS_CRD_PSK, psk_);
    } else {
      gnutls_certificate_allocate_credentials(&certificates_);
      gnutls_certificate_set_x509_trust_file(certificates_, (options.trust_dir / "ca-cert.pem").c_str(),
                                             GNUTLS_X509_FMT_PEM);
      if (!options.client_dir.empty())
        gnutls_certificate_set_x509_key_file(certificates_, (options.client_dir / "client-cert.pem").c_str(),
                                             (options.client_dir / "client-key.pem").c_str(),
                                             GNUTLS_X509_FMT_PEM);
      gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, certificates_);
      gnutls_session_set_verify_cert(session_, "localhost", 0);
    }
    gnutls_transport_set_int(session_, fd_);
  }
  ~TestClient() {
    gnutls_deinit(session_);
    if (psk_) gnutls_psk_free_client_credentials(psk_);
    if (certificates_) gnutls_certificate_free_credentials(certificates_);
    close(fd_);
  }

  int handshake() {
    int r;
    do r = gnutls_handshake(session_);
    while (r < 0 && !gnutls_error_is_fatal(r));
    return r;
  }
  void send(const std::string& data) {
    for (size_t done = 0; done < data.size();) {
      ssize_t r = gnutls_record_send(session_, data.data() + done, data.size() - done);
      ASSERT_GT(r, 0) << gnutls_strerror(static_cast<int>(r));
      done += static_cast<size_t>(r);
    }
  }
  // Reads until `size` bytes or end of stream.
  std::string receive(size_t size) {
    std::string data(size, '\0');
    size_t done = 0;
    while (done < size) {
      ssize_t r = gnutls_record_recv(session_, data.data() + done, size - done);
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    data.resize(done);
    return data;
  }
  ssize_t receive_end() {
    char byte;
    return gnutls_record_recv(session_, &byte, 1);
  }
  void close_connection() { shutdown(fd_, SHUT_RDWR); }

 private:
  int fd_;
  gnutls_session_t session_ = nullptr;
  gnutls_psk_client_credentials_t psk_ = nullptr;
  gnutls_certificate_credentials_t certificates_ = nullptr;
};

// A connected socketpair; both ends time out after a few seconds so that a
// bug fails the test instead of hanging it.
std::pair<std::unique_ptr<PlainTransport>, int> connected_pair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) std::abort();
  struct timeval timeout = {10, 0};
  for (int fd : fds) {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }
  return {std::make_unique<PlainTransport>(fds[0], fds[0], true), fds[1]};
}

struct Outcome {
  std::unique_ptr<TestClient> client;
  std::unique_ptr<Transport> server;  // null when the server side failed
  std::string server_error;
  int client_result;
};

// Runs both sides of the handshake.
Outcome handshake(TlsServer& tls, const ClientOptions& options) {
  auto [plain, client_fd] = connected_pair();
  Outcome outcome;
  outcome.client = std::make_unique<TestClient>(client_fd, options);
  auto server = std::async(std::launch::async, [&tls, plain = std::move(plain)]() mutable {
    return tls.upgrade(std::move(plain));
  });
  outcome.client_result = outcome.client->handshake();
  if (outcome.client_result < 0) outcome.client->close_connection();
  try {
    outcome.server = server.get();
  } catch (const nbdkit::Error& e) {
    outcome.server_error = e.what();
  }
  return outcome;
}

TlsSettings x509_settings(TlsPolicy policy = TlsPolicy::require) {
  TlsSettings settings;
  settings.policy = policy;
  settings.policy_set = true;
  settings.certificates_dir = credentials / "pki";
  return settings;
}

TlsSettings psk_settings() {
  TlsSettings settings;
  settings.policy = TlsPolicy::require;
  settings.policy_set = true;
  settings.psk_file = credentials / "keys.psk";
  return settings;
}

ClientOptions x509_client() { return {credentials / "client-pki", {}, {}, {}}; }

ClientOptions psk_client(const fs::path& key_file) {
  return {{}, {}, "alice", read_psk_key(key_file)};
}

std::string pattern(size_t size, unsigned seed) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131 + seed) >> 3);
  return data;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/tls-test-XXXXXX";
    credentials = mkdtemp(tmpl);
    std::string command = std::string(TLS_TEST_SOURCE_DIR "/make-credentials.sh ") + credentials.string();
    make_status_ = std::system(command.c_str());
  }
  static void TearDownTestSuite() { fs::remove_all(credentials); }
  void SetUp() override {
    if (make_status_ != 0) GTEST_SKIP() << "could not make credentials (is gnutls-bin installed?)";
  }
  static int make_status_;
};
int TlsTest::make_status_ = -1;

TEST_F(TlsTest, X509RoundTrip) {
  auto tls = TlsServer::load(x509_settings());
  ASSERT_TRUE(tls);
  EXPECT_FALSE(tls->uses_psk());
  EXPECT_EQ(tls->psk_username(), "");
  EXPECT_EQ(tls->policy(), TlsPolicy::require);

  auto outcome = handshake(*tls, x509_client());
  ASSERT_EQ(outcome.client_result, 0) << gnutls_strerror(outcome.client_result);
  ASSERT_TRUE(outcome.server) << outcome.server_error;
  Transport& server = *outcome.server;
  TestClient* client = outcome.client.get();
  EXPECT_TRUE(server.is_tls());

  // Server to client: a reply header and a large payload in one gather.
  std::string header = pattern(16, 1), payload = pattern(1 << 20, 2);
  struct iovec iov[2] = {{header.data(), header.size()}, {payload.data(), payload.size()}};
  auto sent = std::async(std::launch::async, [&] { return server.write_all(iov, 2); });
  EXPECT_EQ(client->receive(header.size() + payload.size()), header + payload);
  EXPECT_EQ(sent.get(), 0);

  // Client to server, with a partial read leaving decrypted bytes buffered.
  std::string request = pattern(100000, 3);
  auto received = std::async(std::launch::async, [&] {
    std::string data(request.size(), '\0');
    if (server.read_exact(data.data(), 10) != 0) return std::string();
    bool buffered = server.has_buffered_input();
    if (server.read_exact(data.data() + 10, data.size() - 10) != 0) return std::string();
    return buffered ? data : std::string("nothing was buffered");
  });
  client->send(request);
  EXPECT_EQ(received.get(), request);
  EXPECT_FALSE(server.has_buffered_input());

  server.shutdown_write();
  EXPECT_EQ(client->receive_end(), 0);
}

TEST_F(TlsTest, PskRoundTrip) {
  auto tls = TlsServer::load(psk_settings());
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->uses_psk());

  auto outcome = handshake(*tls, psk_client(credentials / "keys.psk"));
  ASSERT_EQ(outcome.client_result, 0) << gnutls_strerror(outcome.client_result);
  ASSERT_TRUE(outcome.server) << outcome.server_error;
  TestClient* client = outcome.client.get();

  client->send("hello");
  char buf[5];
  ASSERT_EQ(outcome.server->read_exact(buf, 5), 0);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(outcome.server->write_all("world", 5), 0);
  EXPECT_EQ(client->receive(5), "world");

  // The client leaving without close_notify is an ordinary end of stream.
  client->close_connection();
  EXPECT_EQ(outcome.server->read_some(buf, 5), 0);
}

TEST_F(TlsTest, WrongPskRefused) {
  auto tls = TlsServer::load(psk_settings());
  auto outcome = handshake(*tls, psk_client(credentials / "wrong.psk"));
  EXPECT_LT(outcome.client_result, 0);
  EXPECT_FALSE(outcome.server);
  EXPECT_NE(outcome.server_error.find("gnutls_handshake"), std::string::npos) << outcome.server_error;
}

TEST_F(TlsTest, UnknownPskUserRefused) {
  auto tls = TlsServer::load(psk_settings());
  auto options = psk_client(credentials / "keys.psk");
  options.psk_username = "mallory";
  auto outcome = handshake(*tls, options);
  EXPECT_LT(outcome.client_result, 0);
  EXPECT_FALSE(outcome.server);
}

TEST_F(TlsTest, PskFileIsReadAgainAtEachHandshake) {
  auto dir = credentials / "rotating";
  fs::create_directories(dir);
  fs::copy_file(credentials / "keys.psk", dir / "keys.psk", fs::copy_options::overwrite_existing);
  auto settings = psk_settings();
  // Relative on purpose: the server may chdir("/") after loading.
  auto old_cwd = fs::current_path();
  fs::current_path(dir);
  settings.psk_file = "keys.psk";
  auto tls = TlsServer::load(settings);
  fs::current_path("/");
  fs::copy_file(credentials / "wrong.psk", dir / "keys.psk", fs::copy_options::overwrite_existing);

  auto outcome = handshake(*tls, psk_client(credentials / "wrong.psk"));
  fs::current_path(old_cwd);
  EXPECT_EQ(outcome.client_result, 0) << gnutls_strerror(outcome.client_result);
  EXPECT_TRUE(outcome.server) << outcome.server_error;
}

TEST_F(TlsTest, VerifyPeerNeedsClientCertificate) {
  auto settings = x509_settings();
  settings.verify_peer = true;
  auto tls = TlsServer::load(settings);

  auto without = handshake(*tls, x509_client());
  EXPECT_FALSE(without.server);

  auto options = x509_client();
  options.client_dir = credentials / "client-pki";
  auto with = handshake(*tls, options);
  EXPECT_EQ(with.client_result, 0) << gnutls_strerror(with.client_result);
  EXPECT_TRUE(with.server) << with.server_error;

  options.client_dir = credentials / "other-client-pki";
  auto foreign = handshake(*tls, options);
  EXPECT_FALSE(foreign.server);
  EXPECT_NE(foreign.server_error.find("gnutls_handshake"), std::string::npos) << foreign.server_error;
}

TEST_F(TlsTest, ClientRejectsServerFromAnotherCa) {
  auto tls = TlsServer::load(x509_settings());
  auto options = x509_client();
  options.trust_dir = credentials / "other-client-pki";
  auto outcome = handshake(*tls, options);
  EXPECT_LT(outcome.client_result, 0);
  EXPECT_FALSE(outcome.server);
}

TEST_F(TlsTest, GarbageInsteadOfClientHello) {
  auto tls = TlsServer::load(x509_settings());
  auto [plain, client_fd] = connected_pair();
  std::string garbage = "GET / HTTP/1.0\r\n\r\n" + pattern(5000, 9);
  ASSERT_EQ(write(client_fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  shutdown(client_fd, SHUT_WR);
  EXPECT_THROW(tls->upgrade(std::move(plain)), nbdkit::Error);
  close(client_fd);
}

TEST_F(TlsTest, LoadPolicies) {
  auto off = x509_settings(TlsPolicy::off);
  EXPECT_FALSE(TlsServer::load(off));

  // --tls not given: on, as soon as credentials load.
  auto unset = x509_settings(TlsPolicy::off);
  unset.policy_set = false;
  auto tls = TlsServer::load(unset);
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->policy(), TlsPolicy::on);

  auto psk = psk_settings();
  psk.certificates_dir = credentials / "pki";
  tls = TlsServer::load(psk);
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->uses_psk());
}

TEST_F(TlsTest, MissingCertificatesMeanNoTls) {
  auto settings = x509_settings();
  settings.certificates_dir = credentials / "does-not-exist";
  EXPECT_FALSE(TlsServer::load(settings));

  auto incomplete = credentials / "incomplete";
  fs::create_directories(incomplete);
  fs::copy_file(credentials / "pki/server-cert.pem", incomplete / "server-cert.pem",
                fs::copy_options::overwrite_existing);
  fs::copy_file(credentials / "pki/server-key.pem", incomplete / "server-key.pem",
                fs::copy_options::overwrite_existing);
  settings.certificates_dir = incomplete;
  EXPECT_FALSE(TlsServer::load(settings));
}

TEST_F(TlsTest, BadFilesAreErrors) {
  auto broken = credentials / "broken";
  fs::create_directories(broken);
  for (auto name : {"ca-cert.pem", "server-cert.pem"})
    fs::copy_file(credentials / "pki" / name, broken / name, fs::copy_options::overwrite_existing);
  std::ofstream(broken / "server-key.pem") << "not a key\n";
  auto settings = x509_settings();
  settings.certificates_dir = broken;
  EXPECT_THROW(TlsServer::load(settings), nbdkit::Error);

  auto psk = psk_settings();
  psk.psk_file = credentials / "no-such.psk";
  EXPECT_THROW(TlsServer::load(psk), nbdkit::Error);

  std::ofstream(credentials / "malformed.psk") << "alice:not-hex\n";
  psk.psk_file = credentials / "malformed.psk";
  try {
    TlsServer::load(psk);
    ADD_FAILURE() << "malformed PSK file accepted";
  } catch (const nbdkit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("malformed.psk:1"), std::string::npos) << e.what();
  }

  auto priority = x509_settings();
  priority.priority = "NORMAL:+NO-SUCH-THING";
  EXPECT_THROW(TlsServer::load(priority), nbdkit::Error);
}

TEST_F(TlsTest, CustomPriority) {
  auto settings = x509_settings();
  settings.priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
  auto tls = TlsServer::load(settings);
  auto outcome = handshake(*tls, x509_client());
  EXPECT_EQ(outcome.client_result, 0) << gnutls_strerror(outcome.client_result);
  EXPECT_TRUE(outcome.server) << outcome.server_error;
}

}  // namespace
