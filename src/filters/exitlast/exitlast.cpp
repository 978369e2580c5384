// nbdkit --filter=exitlast PLUGIN: exits once the last client has gone
// (nbdkit-exitlast-filter(1)).  Only connections that opened successfully
// count, so the server never exits before its first real client.
#include <atomic>
#include <memory>

#include <nbdkit/plugin.hpp>

namespace {

class ExitLastFilter;

// Lives exactly as long as one client's connection through this filter.
class CountedConnection final : public nbdkit::FilterContext {
 public:
  CountedConnection(std::unique_ptr<nbdkit::Context> next, ExitLastFilter& filter);
  ~CountedConnection() override;

 private:
  ExitLastFilter& filter_;
};

class ExitLastFilter final : public nbdkit::Filter {
 public:
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<CountedConnection>(next(readonly, exportname), *this);
  }

  void connection_opened() { ++connections_; }

  void connection_closed() {
    if (--connections_ == 0) {
      nbdkit::debug("exitlast: last client disconnected, exiting");
      nbdkit::shutdown(0);
    }
  }

 private:
  std::atomic<unsigned> connections_ = 0;
};

CountedConnection::CountedConnection(std::unique_ptr<nbdkit::Context> next,
                                     ExitLastFilter& filter)
    : FilterContext(std::move(next)), filter_(filter) {
  filter_.connection_opened();
}

CountedConnection::~CountedConnection() { filter_.connection_closed(); }

}  // namespace

NBDKIT_REGISTER_FILTER("exitlast", ExitLastFilter);
