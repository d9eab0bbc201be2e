// qlinear's one exception type. Every caller mistake (bad shape, dtype, device, config, checkpoint)
// and every failed device call is reported as a qlinear::Error whose message names the object and
// what was expected.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace qlinear {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates anything streamable into one string: cat("N (", n, ") must be even").
template <typename... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

// Throws qlinear::Error with the concatenated message unless `condition` holds. The message parts
// are evaluated before the call; on paths run for every call of a layer use QLINEAR_CHECK, which
// builds the message only when the check fails.
template <typename... Parts>
void require(bool condition, Parts&&... message) {
  if (!condition) throw Error(cat(std::forward<Parts>(message)...));
}

}  // namespace qlinear

// require() for hot paths: the message (anything streamable, comma separated) is only built on failure.
#define QLINEAR_CHECK(condition, ...) \
  do {                                \
    if (!(condition)) [[unlikely]]    \
      throw ::qlinear::Error(::qlinear::cat(__VA_ARGS__)); \
  } while (0)

namespace qlinear {

}  // namespace qlinear
