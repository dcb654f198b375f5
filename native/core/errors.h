// Errors the core raises, and how any exception becomes a message for a caller.
// Torch-free: the N-API layer includes this without pulling in libtorch headers.
#pragma once
#include <exception>
#include <stdexcept>
#include <string>

namespace moalign {

// Bad input from the caller (wrong shape, dtype, option): maps to a JS TypeError/RangeError-like Error.
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Long work stopped because its CancelToken was cancelled: maps to an AbortError.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("the operation was aborted") {}
};

enum class ErrorKind { InvalidArgument, Cancelled, Torch, Other };

struct ErrorDescription {
  ErrorKind kind;
  std::string message;  // without libtorch's C++ backtrace
};

// Classifies an in-flight exception; libtorch's c10::Error loses its backtrace.
ErrorDescription describe_exception(std::exception_ptr e) noexcept;

}  // namespace moalign
