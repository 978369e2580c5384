// Driver properties modelled on libblkio: each driver instance keeps a
// table of named, typed properties that may be read or written only in
// some of the driver's states.  The table gives every driver libblkio's
// checks, errors and string conversions (the form the command line uses),
// so drivers only say what each property is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <nbdkit/services.hpp>

namespace blkio {

// A driver instance moves forward through these, never back.
enum class State : uint8_t { created, connected, started };
const char* to_string(State state);

// A set of states, one bit each.
using States = uint8_t;
inline constexpr States in_created = 1u << 0;
inline constexpr States in_connected = 1u << 1;
inline constexpr States in_started = 1u << 2;
inline constexpr States never = 0;
inline constexpr States after_connect = in_connected | in_started;
inline constexpr States always = in_created | in_connected | in_started;
constexpr bool includes(States set, State state) {
  return (set & (1u << static_cast<unsigned>(state))) != 0;
}

enum class Type : uint8_t { boolean, int32, uint64, string };
const char* to_string(Type type);

using Value = std::variant<bool, int32_t, uint64_t, std::string>;
Type type_of(const Value& value);

// A failure with libblkio's errno (positive here) and message.  Being an
// nbdkit::Error, it reaches the server's log (and a client's errno) as is.
class Error : public nbdkit::Error {
 public:
  Error(int err, const std::string& message) : nbdkit::Error(message, err) {}
  int err() const { return errno_value; }
};

struct Property {
  std::string name;
  Type type;
  States readable;
  States writable;
  std::function<Value()> get;
  // Called with a value of `type` in a state that allows writing; may
  // throw Error for a value the driver refuses (range, power of two...).
  std::function<void(const Value&)> set;
};

// String conversions as libblkio's: bool is exactly "true" or "false",
// int a signed 32-bit decimal, uint64 an unsigned 64-bit decimal.  Throw
// Error(EINVAL) for anything else.
Value parse_value(Type type, std::string_view text);
std::string format_value(const Value& value);

class PropertyTable {
 public:
  // A property of the same name added earlier is replaced: drivers
  // override the defaults the common layer adds.
  void add(Property property);

  // A read-only property whose value comes from `get`.
  void add_readonly(std::string name, Type type, States readable, std::function<Value()> get);

  // A property kept in `variable` (bool, int32_t, uint64_t or
  // std::string), which must outlive the table.  `check` may refuse a
  // value by throwing Error before it is stored.
  template <class T>
  void add_variable(std::string name, T& variable, States readable, States writable,
                    std::function<void(const T&)> check = {});

  // nullptr when there is no such property.
  const Property* find(std::string_view name) const;
  const std::vector<Property>& all() const { return properties_; }

  // libblkio's access checks, in `state`: ENOENT for an unknown name,
  // ENODEV before connect for a property readable only after it, EACCES
  // for writing a read-only property, EBUSY for writing one past the
  // states that allow it, ENOTTY for the wrong type.
  Value get(std::string_view name, State state) const;
  void set(std::string_view name, const Value& value, State state);
  std::string get_string(std::string_view name, State state) const;
  void set_string(std::string_view name, std::string_view text, State state);

 private:
  const Property& require(std::string_view name) const;
  std::vector<Property> properties_;
};

template <class T>
void PropertyTable::add_variable(std::string name, T& variable, States readable,
                                 States writable, std::function<void(const T&)> check) {
  constexpr Type type = std::is_same_v<T, bool>       ? Type::boolean
                        : std::is_same_v<T, int32_t>  ? Type::int32
                        : std::is_same_v<T, uint64_t> ? Type::uint64
                                                      : Type::string;
  static_assert(std::is_same_v<T, bool> || std::is_same_v<T, int32_t> ||
                std::is_same_v<T, uint64_t> || std::is_same_v<T, std::string>);
  add(Property{std::move(name), type, readable, writable, [&variable] { return Value{variable}; },
               [&variable, check](const Value& value) {
                 const T& typed = std::get<T>(value);
                 if (check) check(typed);
                 variable = typed;
               }});
}

}  // namespace blkio
