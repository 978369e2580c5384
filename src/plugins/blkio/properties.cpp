// libblkio's property rules, shared by every driver.
#include "properties.hpp"

#include <cerrno>
#include <charconv>
#include <climits>

namespace blkio {

const char* to_string(State state) {
  switch (state) {
    case State::created: return "created";
    case State::connected: return "connected";
    case State::started: return "started";
  }
  return "?";
}

const char* to_string(Type type) {
  switch (type) {
    case Type::boolean: return "bool";
    case Type::int32: return "int";
    case Type::uint64: return "uint64";
    case Type::string: return "str";
  }
  return "?";
}

Type type_of(const Value& value) { return static_cast<Type>(value.index()); }

namespace {

// The whole text must be a decimal number of type T (no sign for
// unsigned types, no spaces, no base prefixes): what libblkio accepts.
template <class T>
bool parse_decimal(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

Value parse_value(Type type, std::string_view text) {
  switch (type) {
    case Type::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      throw Error(EINVAL, "Value must be \"true\" or \"false\"");
    case Type::int32: {
      int32_t value;
      if (!parse_decimal(text, value))
        throw Error(EINVAL, "Value must be an integer from " + std::to_string(INT32_MIN) +
                                " to " + std::to_string(INT32_MAX));
      return value;
    }
    case Type::uint64: {
      uint64_t value;
      if (!parse_decimal(text, value))
        throw Error(EINVAL, "Value must be an unsigned integer from 0 to " +
                                std::to_string(UINT64_MAX));
      return value;
    }
    case Type::string: return std::string(text);
  }
  throw Error(EINVAL, "unknown property type");
}

std::string format_value(const Value& value) {
  switch (type_of(value)) {
    case Type::boolean: return std::get<bool>(value) ? "true" : "false";
    case Type::int32: return std::to_string(std::get<int32_t>(value));
    case Type::uint64: return std::to_string(std::get<uint64_t>(value));
    case Type::string: return std::get<std::string>(value);
  }
  return {};
}

void PropertyTable::add(Property property) {
  for (auto& existing : properties_) {
    if (existing.name == property.name) {
      existing = std::move(property);
      return;
    }
  }
  properties_.push_back(std::move(property));
}

void PropertyTable::add_readonly(std::string name, Type type, States readable,
                                 std::function<Value()> get) {
  add(Property{std::move(name), type, readable, never, std::move(get), {}});
}

const Property* PropertyTable::find(std::string_view name) const {
  for (const auto& property : properties_)
    if (property.name == name) return &property;
  return nullptr;
}

const Property& PropertyTable::require(std::string_view name) const {
  const Property* property = find(name);
  if (!property) throw Error(ENOENT, "Unknown property name");
  return *property;
}

Value PropertyTable::get(std::string_view name, State state) const {
  const Property& property = require(name);
  // Every property is readable from some state on; before it, the device
  // has not told us yet.
  if (!includes(property.readable, state)) throw Error(ENODEV, "Device must be connected");
  return property.get();
}

namespace {

void check_writable(const Property& property, State state) {
  if (property.writable == never) throw Error(EACCES, "Property is read-only");
  if (includes(property.writable, state)) return;
  if (state == State::created) throw Error(ENODEV, "Device must be connected");
  throw Error(EBUSY, std::string("Cannot set property in ") + to_string(state) + " state");
}

}  // namespace

void PropertyTable::set(std::string_view name, const Value& value, State state) {
  const Property& property = require(name);
  check_writable(property, state);
  if (type_of(value) != property.type)
    throw Error(ENOTTY, std::string("Property is of type ") + to_string(property.type));
  property.set(value);
}

std::string PropertyTable::get_string(std::string_view name, State state) const {
  return format_value(get(name, state));
}

void PropertyTable::set_string(std::string_view name, std::string_view text, State state) {
  const Property& property = require(name);
  // The access checks come before the value's: "read-only" is the more
  // useful answer for `capacity=abc`.
  check_writable(property, state);
  set(name, parse_value(property.type, text), state);
}

}  // namespace blkio
