// The payload of the option a client is negotiating.  It is read in pieces
// as the bytes arrive (never sized from the length the client announces),
// and what it holds is charged to a budget shared by every connection in
// negotiation, so that clients which have not authenticated cannot make
// the server hold much memory between them.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace nbdkit::server {

// The most memory all option payloads together may hold at once.
inline constexpr size_t kNegotiationBudget = 16u << 20;

class OptionPayload {
 public:
  OptionPayload() = default;
  OptionPayload(const OptionPayload&) = delete;
  OptionPayload& operator=(const OptionPayload&) = delete;
  ~OptionPayload() { release(); }

  // Makes room for `n` more bytes at the end and returns where they go;
  // nullptr when the shared budget cannot cover them.
  unsigned char* extend(size_t n);
  // Forgets the content; gives the memory back unless it is small.
  void clear();
  // Gives all memory back (when negotiation is over).
  void release();

  std::span<const unsigned char> bytes() const { return {data_.data(), data_.size()}; }
  bool empty() const { return data_.empty(); }

  // Bytes currently charged by all payloads (for tests and logs).
  static size_t charged_total();

 private:
  std::vector<unsigned char> data_;
  size_t charged_ = 0;  // == data_.capacity(), as far as the budget knows
};

}  // namespace nbdkit::server
