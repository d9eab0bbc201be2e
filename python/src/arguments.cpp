#include "arguments.hpp"

namespace qlinear::python {
namespace {

template <typename Item, typename Names>
std::string accepted(std::span<const Item> items, Names names) {
  std::string text;
  for (Item item : items) text += cat(text.empty() ? "" : ", ", names(item));
  return text;
}

}  // namespace

ScalarType scalar_type_arg(std::string_view text, std::string_view role) {
  if (const auto type = parse_scalar_type(text)) return *type;
  throw py::value_error(cat(role, " '", text, "': unknown scalar type; known: ",
                            accepted(all_scalar_types(), [](ScalarType t) { return name(t); })));
}

Granularity granularity_arg(std::string_view text, std::string_view role) {
  if (const auto g = parse_granularity(text)) return *g;
  throw py::value_error(
      cat(role, " '", text, "': expected per_tensor, per_channel, per_token, per_group or block"));
}

Family family_arg(std::string_view text) {
  if (const auto family = parse_family(text)) return *family;
  throw py::value_error(cat("family '", text, "': unknown; known: ",
                            accepted(all_families(), [](Family f) { return name(f); })));
}

Device device_arg(std::string_view text) {
  return caller_errors([&] { return Device::parse(text); });
}

Platform target_arg(std::string_view text) {
  return caller_errors([&] {
    if (text == "default") return cuda_platforms().empty() ? host_platform() : cuda_platforms()[0];
    const bool device = text == "cpu" || text == "cuda" ||
                        (text.starts_with("cuda:") && !text.starts_with("cuda:sm_"));
    return device ? platform_of(Device::parse(text)) : parse_target(text);
  });
}

}  // namespace qlinear::python
