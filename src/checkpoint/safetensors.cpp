// safetensors: reader (memory-mapped, every header field checked before any byte is trusted) and
// writer. This file depends only on the scalar-type table, files.cpp, json_input.cpp and
// nlohmann-json, so that the fuzz target can build them alone.
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "checkpoint/json_input.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"
#include "qlinear/files.hpp"

namespace qlinear::checkpoint {
namespace {

using json = nlohmann::json;

// The reference implementation's bound on the header (safetensors' MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeRow {
  Dtype dtype;
  std::string_view name;
  int bits;
  std::optional<ScalarType> type;
};
// clang-format off
constexpr std::array<DtypeRow, 22> kDtypes{{
  {Dtype::BOOL, "BOOL", 8, std::nullopt},          {Dtype::U8, "U8", 8, ScalarType::uint8},
  {Dtype::I8, "I8", 8, ScalarType::int8},          {Dtype::F8_E5M2, "F8_E5M2", 8, ScalarType::float8_e5m2},
  {Dtype::F8_E4M3, "F8_E4M3", 8, ScalarType::float8_e4m3fn},
  {Dtype::F8_E8M0, "F8_E8M0", 8, ScalarType::float8_e8m0fnu},
  {Dtype::I16, "I16", 16, std::nullopt},           {Dtype::U16, "U16", 16, std::nullopt},
  {Dtype::F16, "F16", 16, ScalarType::fp16},       {Dtype::BF16, "BF16", 16, ScalarType::bf16},
  {Dtype::I32, "I32", 32, ScalarType::int32},      {Dtype::U32, "U32", 32, std::nullopt},
  {Dtype::F32, "F32", 32, ScalarType::fp32},       {Dtype::F64, "F64", 64, std::nullopt},
  {Dtype::I64, "I64", 64, std::nullopt},           {Dtype::U64, "U64", 64, std::nullopt},
  {Dtype::F4, "F4", 4, ScalarType::float4_e2m1f},  {Dtype::F6_E2M3, "F6_E2M3", 6, std::nullopt},
  {Dtype::F6_E3M2, "F6_E3M2", 6, std::nullopt},    {Dtype::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8, std::nullopt},
  {Dtype::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8, std::nullopt},
  {Dtype::C64, "C64", 64, std::nullopt},
}};
// clang-format on
static_assert(std::endian::native == std::endian::little, "safetensors is little-endian");

const DtypeRow& row(Dtype d) { return kDtypes[static_cast<int>(d)]; }

// "BOOL, U8, ..., C64": the names a header may use, for messages.
std::string dtype_names() {
  std::string text;
  for (const auto& r : kDtypes) text += cat(text.empty() ? "" : ", ", r.name);
  return text;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += cat(i ? ", " : "", shape[i]);
  return text + "]";
}

// A non-negative integer that fits int64 (JSON numbers may be negative, fractional or huge).
int64_t header_integer(const json& value, const std::string& where) {
  require(value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0),
          where, " is ", value.dump(), "; expected a non-negative integer");
  const auto v = value.get<uint64_t>();
  require(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where, " is ", v,
          "; too large");
  return static_cast<int64_t>(v);
}

}  // namespace

std::string_view name(Dtype dtype) { return row(dtype).name; }
int element_bits(Dtype dtype) { return row(dtype).bits; }
int64_t storage_bytes(Dtype dtype, int64_t numel) {
  const int64_t bits = element_bits(dtype);
  require(numel >= 0 && numel <= std::numeric_limits<int64_t>::max() / bits, numel, " elements of ",
          name(dtype), " are too many to address");
  require(numel * bits % 8 == 0, numel, " elements of ", name(dtype), " (", bits,
          " bits each) do not fill whole bytes");
  return numel * bits / 8;
}
std::optional<ScalarType> scalar_type(Dtype dtype) { return row(dtype).type; }
std::optional<Dtype> parse_dtype(std::string_view text) {
  for (const auto& r : kDtypes)
    if (r.name == text) return r.dtype;
  return std::nullopt;
}

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorEntry::describe() const {
  return cat(name, " (", checkpoint::name(dtype), shape_text(shape), " in ", file, ")");
}

double TensorEntry::value(int64_t index) const {
  // The message is built only on the error: describe() costs more than the read.
  if (index < 0 || index >= numel())
    throw Error(cat(describe(), ": element ", index, " is out of range"));
  const int bits = element_bits(dtype);
  const std::byte* p = data + index * bits / 8;
  const auto read = [p]<typename T>(T) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  };
  switch (dtype) {
    case Dtype::BOOL:
      return static_cast<double>(read(uint8_t{}) != 0);
    case Dtype::I16:
      return read(int16_t{});
    case Dtype::U16:
      return read(uint16_t{});
    case Dtype::U32:
      return read(uint32_t{});
    case Dtype::F64:
      return read(double{});
    case Dtype::I64:
      return static_cast<double>(read(int64_t{}));
    case Dtype::U64:
      return static_cast<double>(read(uint64_t{}));
    case Dtype::F4:  // the even element in the low nibble
      return decode(ScalarType::float4_e2m1f,
                    (static_cast<uint32_t>(*p) >> (index % 2 == 0 ? 0 : 4)) & 0xfu);
    default: {
      const auto t = scalar_type(dtype);
      if (!t)
        throw Error(cat(describe(), ": qlinear reads no values of ", checkpoint::name(dtype)));
      uint32_t code = 0;
      std::memcpy(&code, p, static_cast<size_t>(bits / 8));
      return decode(*t, code);
    }
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) munmap(mapping_, static_cast<size_t>(size_));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const InputFile input(path, std::numeric_limits<int64_t>::max());  // mapped, not read
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile);
  file->path_ = path;
  file->size_ = input.size();
  if (file->size_ > 0) {
    void* p = mmap(nullptr, static_cast<size_t>(file->size_), PROT_READ, MAP_PRIVATE,
                   input.descriptor(), 0);
    require(p != MAP_FAILED, path, ": cannot map ", file->size_, " bytes (", std::strerror(errno),
            ")");
    file->mapping_ = p;
    file->bytes_ = static_cast<const std::byte*>(p);
  }
  file->read_header();
  return file;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::parse(std::span<const std::byte> bytes,
                                                              const std::string& label) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile);
  file->path_ = label;
  file->owned_.assign(bytes.begin(), bytes.end());
  file->bytes_ = file->owned_.data();
  file->size_ = static_cast<int64_t>(bytes.size());
  file->read_header();
  return file;
}

const TensorEntry* SafetensorsFile::find(std::string_view name) const {
  const auto it =
      std::lower_bound(tensors_.begin(), tensors_.end(), name,
                       [](const TensorEntry& e, std::string_view n) { return e.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

void SafetensorsFile::read_header() {
  const std::string& f = path_;
  require(size_ >= 8, f, ": file has ", size_,
          " bytes; a safetensors file starts with an 8-byte header length");
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes_, 8);
  require(header_length <= static_cast<uint64_t>(size_ - 8), f, ": header length ", header_length,
          " runs past the end of the file (", size_, " bytes)");
  require(header_length <= kMaxHeaderBytes, f, ": header length ", header_length,
          " is over the format's limit of ", kMaxHeaderBytes, " bytes");
  const auto* header_begin = reinterpret_cast<const char*>(bytes_ + 8);
  // The format: the header starts with '{' (no leading space or byte-order mark).
  require(header_length > 0 && header_begin[0] == '{', f,
          ": header does not start with '{'; expected a JSON object");
  const json header = parse_json({header_begin, header_length}, cat(f, ": header"));
  require(header.is_object(), f, ": header is ", header.type_name(), "; expected a JSON object");
  const int64_t data_begin = 8 + static_cast<int64_t>(header_length);
  const int64_t data_size = size_ - data_begin;

  struct Span {
    int64_t begin, end;
    const std::string* name;
  };
  std::vector<Span> spans;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      require(value.is_object(), f, ": __metadata__ is ", value.type_name(),
              "; expected an object of strings");
      for (const auto& [mk, mv] : value.items()) {
        require(mv.is_string(), f, ": __metadata__ entry '", mk, "' is ", mv.type_name(),
                "; expected a string");
        metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = cat(f, ": tensor ", key);
    require(value.is_object(), where, " is ", value.type_name(),
            "; expected {dtype, shape, data_offsets}");
    require(value.contains("dtype") && value["dtype"].is_string(), where, " has no dtype string");
    const auto dtype = parse_dtype(value["dtype"].get<std::string>());
    require(dtype.has_value(), where, " has dtype '", value["dtype"].get<std::string>(),
            "'; expected one of ", dtype_names());
    require(value.contains("shape") && value["shape"].is_array(), where, " has no shape array");
    require(value["shape"].size() <= static_cast<size_t>(kMaxDims), where, " has ",
            value["shape"].size(), " dimensions; at most ", kMaxDims, " are supported");
    TensorEntry entry;
    entry.name = key;
    entry.dtype = *dtype;
    entry.file = f;
    // Byte size computed with an overflow check: a shape may claim more elements than exist.
    int64_t elements = 1;
    for (const auto& d : value["shape"]) {
      const int64_t extent = header_integer(d, cat(where, " shape entry"));
      entry.shape.push_back(extent);
      require(extent == 0 || elements <= std::numeric_limits<int64_t>::max() / extent, where,
              " has shape ", value["shape"].dump(), ", too large to address");
      elements *= extent;
    }
    int64_t bytes = 0;
    try {
      bytes = storage_bytes(*dtype, elements);
    } catch (const Error& e) {
      throw Error(cat(where, " has shape ", value["shape"].dump(), ": ", e.what()));
    }
    require(value.contains("data_offsets") && value["data_offsets"].is_array() &&
                value["data_offsets"].size() == 2,
            where, " has no data_offsets [begin, end]");
    const int64_t begin = header_integer(value["data_offsets"][0], cat(where, " data_offsets[0]"));
    const int64_t end = header_integer(value["data_offsets"][1], cat(where, " data_offsets[1]"));
    require(begin <= end, where, " has data_offsets [", begin, ", ", end,
            "]; begin must not exceed end");
    require(end <= data_size, where, " has data_offsets [", begin, ", ", end,
            "] past the end of the data (", data_size, " bytes)");
    require(end - begin == bytes, where, ": ", name(*dtype), shape_text(entry.shape), " needs ",
            bytes, " bytes; data_offsets [", begin, ", ", end, "] hold ", end - begin);
    entry.data = bytes_ + data_begin + begin;
    entry.nbytes = bytes;
    tensors_.push_back(std::move(entry));
  }
  std::sort(tensors_.begin(), tensors_.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  for (const auto& t : tensors_) {
    const int64_t begin = t.data - (bytes_ + data_begin);
    spans.push_back({begin, begin + t.nbytes, &t.name});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The format indexes the whole data buffer: tensors follow each other without a hole or an
  // overlap, from offset 0 to the end of the file (so no bytes can hide another file's content).
  int64_t covered = 0;
  for (const Span& s : spans) {
    require(s.begin <= covered, f, ": bytes [", covered, ", ", s.begin, ") before tensor ", *s.name,
            " belong to no tensor; the format leaves no holes");
    require(s.begin == covered || s.begin == s.end, f, ": tensor ", *s.name, " [", s.begin, ", ",
            s.end, ") overlaps the tensor before it, which ends at ", covered);
    covered = std::max(covered, s.end);
  }
  require(covered == data_size, f, ": the last ", data_size - covered, " of the ", data_size,
          " data bytes belong to no tensor; the format leaves no holes");
}

void write_safetensors(const std::string& path, std::span<const TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const auto& t : tensors) {
    require(!header.contains(t.name), path, ": tensor ", t.name, " is given twice");
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    const int64_t bytes = storage_bytes(t.dtype, numel);
    require(static_cast<int64_t>(t.bytes.size()) == bytes, path, ": tensor ", t.name, " is ",
            name(t.dtype), shape_text(t.shape), " (", bytes, " bytes) but ", t.bytes.size(),
            " bytes were given");
    header[t.name] = {
        {"dtype", name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the format pads the header with spaces
  ReplacingWriter out(path);
  const uint64_t length = text.size();
  out.write(&length, 8);
  out.write(text.data(), text.size());
  for (const auto& t : tensors) out.write(t.bytes.data(), t.bytes.size());
  out.commit();
}

}  // namespace qlinear::checkpoint
