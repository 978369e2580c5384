// nbdkit --filter=noparallel: lowers the thread model, so that requests
// (per connection or across all) or whole connections are served one at
// a time (nbdkit-noparallel-filter(1)).  The server does the serializing;
// with serialize=connections it also stops advertising multi-conn.
#include "../common/choice.hpp"

namespace {

using nbdkit::ThreadModel;

class NoParallelFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "serialize=requests|all-requests|connections\n"
           "                           Level of serialization (default requests).";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "serialize" && key != "serialise") return false;
    model_ = nbdkit::filters::parse_choice<ThreadModel>(
        key, value,
        {{"requests", ThreadModel::serialize_requests},
         {"all-requests", ThreadModel::serialize_all_requests},
         {"all_requests", ThreadModel::serialize_all_requests},
         {"connections", ThreadModel::serialize_connections}},
        "noparallel serialize mode");
    return true;
  }
  ThreadModel thread_model() const override { return model_; }
  bool data_calls_are_nonblocking() const override { return true; }

 private:
  ThreadModel model_ = ThreadModel::serialize_requests;
};

}  // namespace

NBDKIT_REGISTER_FILTER("noparallel", NoParallelFilter);
