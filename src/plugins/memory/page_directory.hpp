// A sparse radix tree from page index to page, for disks up to 2^63 bytes.
//
// Every node has 2^12 slots (the top one fewer, sized to the disk), and
// the depth is the least that covers the disk: a 2 GiB disk of 64 KiB pages
// is two levels, a 2^63 byte one four.  Slots are atomics, so looking a
// page up takes no lock; interior nodes are created on demand with a
// compare-and-swap and live until the directory is destroyed (they are
// small: one leaf node maps 4096 pages).  What a leaf slot points to is the
// owner's business, including when it may be freed.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>

namespace memory {

template <typename Page>
class PageDirectory {
 public:
  explicit PageDirectory(uint64_t page_count) {
    const int index_bits = page_count <= 1 ? 1 : std::bit_width(page_count - 1);
    levels_ = (index_bits + bits_per_level - 1) / bits_per_level;
    top_bits_ = index_bits - (levels_ - 1) * bits_per_level;
    top_ = new_node(uint64_t{1} << top_bits_);
  }
  ~PageDirectory() { destroy(top_, levels_); }
  PageDirectory(const PageDirectory&) = delete;
  PageDirectory& operator=(const PageDirectory&) = delete;

  // The page at `index`, or nullptr.
  Page* find(uint64_t index) const {
    const Slot* slot = find_slot(index);
    return slot ? static_cast<Page*>(slot->load(std::memory_order_acquire)) : nullptr;
  }

  // The slot for `index`, creating the nodes leading to it.  Throws
  // std::bad_alloc.
  std::atomic<void*>& slot(uint64_t index) {
    Node* node = top_;
    for (int level = levels_ - 1; level > 0; --level) {
      std::atomic<void*>& child = node[child_index(index, level)];
      void* existing = child.load(std::memory_order_acquire);
      if (!existing) {
        Node* fresh = new_node(uint64_t{1} << bits_per_level);
        if (child.compare_exchange_strong(existing, fresh, std::memory_order_acq_rel)) {
          existing = fresh;
        } else {
          delete[] fresh;
        }
      }
      node = static_cast<Node*>(existing);
    }
    return node[child_index(index, 0)];
  }

  // The slot for `index` if its leaf node exists, else nullptr.
  std::atomic<void*>* existing_slot(uint64_t index) { return find_slot(index); }

  // The first index in [index, end) whose leaf node exists (its slot may
  // still be empty), or `end`: lets walks over huge ranges skip the
  // subtrees nobody has written to.
  uint64_t skip_missing(uint64_t index, uint64_t end) const {
    while (index < end) {
      const Node* node = top_;
      int level = levels_ - 1;
      for (; level > 0; --level) {
        const void* child = node[child_index(index, level)].load(std::memory_order_acquire);
        if (!child) break;
        node = static_cast<const Node*>(child);
      }
      if (level == 0) return index;
      // Everything under the missing child at `level` is absent.
      const uint64_t span = uint64_t{1} << (level * bits_per_level);
      index = (index & ~(span - 1)) + span;
    }
    return end;
  }

  // Calls fn(index, page) for every page present; not safe against
  // concurrent changes (meant for tear-down).
  template <typename Fn>
  void for_each_page(Fn&& fn) const {
    visit(top_, levels_ - 1, 0, fn);
  }

 private:
  using Slot = std::atomic<void*>;
  using Node = Slot;  // a node is an array of slots
  static constexpr int bits_per_level = 12;

  static Node* new_node(uint64_t slots) { return new Slot[slots](); }

  static std::size_t child_index(uint64_t index, int level) {
    return (index >> (level * bits_per_level)) & ((uint64_t{1} << bits_per_level) - 1);
  }

  Slot* find_slot(uint64_t index) const {
    Node* node = top_;
    for (int level = levels_ - 1; level > 0; --level) {
      void* child = node[child_index(index, level)].load(std::memory_order_acquire);
      if (!child) return nullptr;
      node = static_cast<Node*>(child);
    }
    return &node[child_index(index, 0)];
  }

  template <typename Fn>
  void visit(const Node* node, int level, uint64_t base, Fn& fn) const {
    const uint64_t slots = uint64_t{1} << (level == levels_ - 1 ? top_bits_ : bits_per_level);
    for (uint64_t i = 0; i < slots; ++i) {
      void* child = node[i].load(std::memory_order_acquire);
      if (!child) continue;
      const uint64_t index = base | (i << (level * bits_per_level));
      if (level == 0) {
        fn(index, static_cast<Page*>(child));
      } else {
        visit(static_cast<const Node*>(child), level - 1, index, fn);
      }
    }
  }

  void destroy(Node* node, int level_count) {
    if (level_count > 1) {
      const uint64_t slots =
          uint64_t{1} << (node == top_ ? top_bits_ : bits_per_level);
      for (uint64_t i = 0; i < slots; ++i) {
        if (void* child = node[i].load(std::memory_order_relaxed)) {
          destroy(static_cast<Node*>(child), level_count - 1);
        }
      }
    }
    delete[] node;
  }

  int levels_;
  int top_bits_;
  Node* top_;
};

}  // namespace memory
