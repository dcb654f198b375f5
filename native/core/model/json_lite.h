// A small JSON reader and writer for the files the native core reads itself: safetensors headers
// and their index files. (Configs are parsed and validated in TypeScript.) Numbers are doubles;
// object keys keep their file order.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moalign::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;

  const Value* find(std::string_view key) const;  // nullptr when absent or not an object
  bool is_object() const { return kind == Kind::Object; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Number; }
};

// Throws std::runtime_error("<what>: <problem> at byte N") on malformed text.
Value parse(std::string_view text, const std::string& what);

// A JSON string literal, quotes included.
std::string quote(std::string_view s);

}  // namespace moalign::json
