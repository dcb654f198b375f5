#include "errors.h"

#include <c10/util/Exception.h>

namespace moalign {

ErrorDescription describe_exception(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const Cancelled& err) {
    return {ErrorKind::Cancelled, err.what()};
  } catch (const InvalidArgument& err) {
    return {ErrorKind::InvalidArgument, err.what()};
  } catch (const c10::Error& err) {
    // what() appends a C++ stack trace; users need the message only.
    return {ErrorKind::Torch, err.what_without_backtrace()};
  } catch (const std::exception& err) {
    return {ErrorKind::Other, err.what()};
  } catch (...) {
    return {ErrorKind::Other, "unknown native exception"};
  }
}

}  // namespace moalign
