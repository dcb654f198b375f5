// The C++ test driver's few helpers: CHECK counts failures instead of aborting, expect_throw
// returns the message of the exception it expected.
#pragma once
#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include "core/errors.h"

inline int failures = 0;
#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                           \
    }                                                                       \
  } while (0)

template <typename E, typename F>
std::string expect_throw(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (...) {
    auto d = moalign::describe_exception(std::current_exception());
    std::fprintf(stderr, "unexpected exception type: %s\n", d.message.c_str());
    ++failures;
    return {};
  }
  std::fprintf(stderr, "expected an exception, none was thrown\n");
  ++failures;
  return {};
}


// Cases defined in moo_tests.cpp (the multi-objective core), merged into the driver's list.
const std::map<std::string, std::function<void()>>& moo_test_cases();

// Cases defined in engine_tests.cpp (the transformer engine).
const std::map<std::string, std::function<void()>>& engine_test_cases();

// Cases defined in train_tests.cpp (preference training's losses and λ sampling).
const std::map<std::string, std::function<void()>>& train_test_cases();
