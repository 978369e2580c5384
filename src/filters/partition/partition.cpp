// nbdkit --filter=partition: serves one partition of a disk with an MBR
// or GPT partition table (nbdkit-partition-filter(1)).
#include <nbdkit/plugin.hpp>

#include "partition_table.hpp"

namespace {

class PartitionFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "partition=<PART>    (required) The partition number (counting from 1).\n"
           "partition-sectorsize=512|4k  Sector size of the partition table (default 512).";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "partition") {
      number_ = nbdkit::parse_uint32(key, value);
      if (number_ == 0) throw nbdkit::Error("invalid partition number: partitions count from 1");
    } else if (key == "partition-sectorsize") {
      sector_size_ = nbdkit::parse_size(key, value);
      if (sector_size_ != 512 && sector_size_ != 4096)
        throw nbdkit::Error("partition-sectorsize must be 512 or 4096");
    } else {
      return false;
    }
    return true;
  }

  void config_complete() override {
    if (number_ == 0) throw nbdkit::Error("you must supply the partition parameter on the command line");
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    const auto part = nbdkit::filters::find_partition(nbdkit::filters::reader_of(*below),
                                                      below->get_size(), number_,
                                                      static_cast<uint32_t>(sector_size_));
    nbdkit::debug("partition %u: offset %llu, length %llu", number_,
                  static_cast<unsigned long long>(part.start),
                  static_cast<unsigned long long>(part.length));
    return std::make_unique<nbdkit::filters::RangeContext>(std::move(below), part.start,
                                                           part.length);
  }

 private:
  uint32_t number_ = 0;
  uint64_t sector_size_ = 512;
};

}  // namespace

NBDKIT_REGISTER_FILTER("partition", PartitionFilter);
