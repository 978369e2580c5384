// FilterContext's reopen(): a filter that recovers from failures of the
// layers below (retry) closes them and opens them again as they were
// first opened.
#include <utility>

#include <nbdkit/filter.hpp>

namespace nbdkit {

FilterContext::FilterContext(OpenNext open_next, bool readonly, std::string_view exportname)
    : next_(open_next(readonly, exportname)),
      open_next_(std::move(open_next)),
      readonly_(readonly),
      exportname_(exportname) {
  if (!next_) throw Error("the layer below returned no context", EIO);
}

void FilterContext::reopen(bool readonly) {
  if (!open_next_) throw Error("reopen: this filter context was not opened with OpenNext", EINVAL);
  // Closing first, as nbdkit does: the layer below may allow only one
  // open at a time (an exclusive lock, a single-connection source).
  next_.reset();
  next_ = open_next_(readonly, exportname_);
  if (!next_) throw Error("reopen: the layer below returned no context", EIO);
}

}  // namespace nbdkit
