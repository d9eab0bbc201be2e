// The safetensors reader and writer: every dtype round trips, and every malformed header is an
// error naming the file, the tensor and what was expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

namespace qlinear::checkpoint {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// A file image: 8-byte length, the header text as given, then `data_bytes` bytes.
std::vector<std::byte> image(const std::string& header, size_t data_bytes) {
  std::vector<std::byte> bytes(8 + header.size() + data_bytes, std::byte{0x5a});
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  return bytes;
}

std::string open_error(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string parse_error(const std::vector<std::byte>& bytes) {
  try {
    SafetensorsFile::parse(bytes, "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Safetensors, EveryDtypeRoundTrips) {
  const auto path = std::filesystem::temp_directory_path() / "qlinear_roundtrip.safetensors";
  constexpr int kDtypes = static_cast<int>(Dtype::C64) + 1;
  std::vector<std::vector<std::byte>> storage;
  std::vector<TensorToWrite> tensors;
  for (int d = 0; d < kDtypes; ++d) {
    const auto dtype = static_cast<Dtype>(d);
    // 8 elements: whole bytes for every width (F4 4 bytes, F6 6); element i's first byte is i + 1
    // where elements are whole bytes, and F4's codes are 0, 1, ..., 7.
    const int bits = element_bits(dtype);
    std::vector<std::byte> bytes(static_cast<size_t>(storage_bytes(dtype, 8)));
    for (size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<std::byte>(bits == 4             ? (2 * i) | (2 * i + 1) << 4
                                        : bits % 8 != 0       ? i + 1
                                        : i % (bits / 8) == 0 ? i / (bits / 8) + 1
                                                              : 0);
    storage.push_back(std::move(bytes));
    tensors.push_back({cat("t.", name(dtype)), dtype, {2, 4}, storage.back()});
  }
  const std::byte scalar[4] = {};
  tensors.push_back({"scalar", Dtype::F32, {}, scalar});
  tensors.push_back({"empty", Dtype::I32, {0, 4}, {}});
  write_safetensors(path.string(), tensors, {{"format", "pt"}});

  const auto file = SafetensorsFile::open(path.string());
  EXPECT_EQ(file->metadata().at("format"), "pt");
  ASSERT_EQ(file->tensors().size(), static_cast<size_t>(kDtypes + 2));
  for (int d = 0; d < kDtypes; ++d) {
    const auto dtype = static_cast<Dtype>(d);
    const TensorEntry* t = file->find(cat("t.", name(dtype)));
    ASSERT_NE(t, nullptr) << name(dtype);
    EXPECT_EQ(parse_dtype(name(dtype)), dtype);
    EXPECT_EQ(t->dtype, dtype);
    EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 4}));
    EXPECT_EQ(t->nbytes, static_cast<int64_t>(storage[d].size())) << name(dtype);
    EXPECT_EQ(std::memcmp(t->data, storage[d].data(), storage[d].size()), 0);
    if (dtype == Dtype::U8 || dtype == Dtype::I32 || dtype == Dtype::I64 || dtype == Dtype::U16)
      EXPECT_EQ(t->value(4), 5.0) << name(dtype);
  }
  // F4: e2m1 codes 2 (1.0), 3 (1.5) and 7 (6.0), the even element in the low nibble.
  const TensorEntry* f4 = file->find("t.F4");
  EXPECT_EQ(scalar_type(Dtype::F4), ScalarType::float4_e2m1f);
  EXPECT_EQ(f4->value(2), 1.0);
  EXPECT_EQ(f4->value(3), 1.5);
  EXPECT_EQ(f4->value(7), 6.0);
  // Dtypes qlinear holds no values of: the read is refused, naming the tensor.
  for (const char* refused : {"t.F6_E2M3", "t.F8_E4M3FNUZ", "t.C64"}) {
    try {
      file->find(refused)->value(0);
      ADD_FAILURE() << refused << " gave a value";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(refused), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(file->find("scalar")->numel(), 1);
  EXPECT_TRUE(file->find("scalar")->shape.empty());
  EXPECT_EQ(file->find("empty")->nbytes, 0);
  EXPECT_EQ(scalar_type(Dtype::F8_E4M3), ScalarType::float8_e4m3fn);
  EXPECT_EQ(scalar_type(Dtype::F8_E5M2), ScalarType::float8_e5m2);
  EXPECT_EQ(scalar_type(Dtype::F8_E8M0), ScalarType::float8_e8m0fnu);
  EXPECT_EQ(scalar_type(Dtype::BF16), ScalarType::bf16);
  std::filesystem::remove(path);
}

TEST(Safetensors, SubByteShapesMustFillWholeBytes) {
  // 3 F4 codes are 1.5 bytes, 6 F6 values 4.5: refused, naming the tensor, whatever the offsets.
  for (const auto& [header, bytes] : std::vector<std::pair<std::string, int>>{
           {R"({"w":{"dtype":"F4","shape":[1,3],"data_offsets":[0,2]}})", 2},
           {R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}})", 1},
           {R"({"w":{"dtype":"F6_E3M2","shape":[2,3],"data_offsets":[0,5]}})", 5}}) {
    const std::string message = parse_error(image(header, bytes));
    EXPECT_NE(message.find("tensor w"), std::string::npos) << message;
    EXPECT_NE(message.find("do not fill whole bytes"), std::string::npos) << message;
  }
  // 4 F4 codes need 2 bytes, not 4 (the shape counts codes).
  const std::string message =
      parse_error(image(R"({"w":{"dtype":"F4","shape":[4],"data_offsets":[0,4]}})", 4));
  EXPECT_NE(message.find("needs 2 bytes"), std::string::npos) << message;
}

TEST(Safetensors, DecodesFloatTypes) {
  const uint8_t e4m3[] = {0x38, 0xFE, 0x7F};  // 1.0, -448, NaN
  const uint8_t e8m0[] = {127, 130};          // 1, 8
  const uint16_t bf16[] = {0x3F80, 0xC000};   // 1, -2
  const auto file =
      SafetensorsFile::parse(image(R"({"a":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[0,3]},)"
                                   R"("b":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[3,5]},)"
                                   R"("c":{"dtype":"BF16","shape":[2],"data_offsets":[5,9]}})",
                                   9),
                             "floats");
  auto* bytes = const_cast<std::byte*>(file->find("a")->data);
  std::memcpy(bytes, e4m3, 3);
  std::memcpy(bytes + 3, e8m0, 2);
  std::memcpy(bytes + 5, bf16, 4);
  EXPECT_EQ(file->find("a")->value(0), 1.0);
  EXPECT_EQ(file->find("a")->value(1), -448.0);
  EXPECT_TRUE(std::isnan(file->find("a")->value(2)));
  EXPECT_EQ(file->find("b")->value(1), 8.0);
  EXPECT_EQ(file->find("c")->value(1), -2.0);
}

TEST(Safetensors, BadInputsNameFileTensorAndExpectation) {
  EXPECT_THAT(parse_error({std::byte{1}, std::byte{2}}),
              AllOf(HasSubstr("bad.safetensors"), HasSubstr("8-byte header length")));
  auto past_end = image("{}", 0);
  past_end[0] = std::byte{100};
  EXPECT_THAT(parse_error(past_end), AllOf(HasSubstr("header length 100 runs past the end")));
  EXPECT_THAT(parse_error(image("{\"a\": ", 0)), HasSubstr("header: not valid JSON"));
  EXPECT_THAT(parse_error(image("[1, 2]", 0)), HasSubstr("header does not start with '{'"));
  EXPECT_THAT(parse_error(image(R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", 1)),
              AllOf(HasSubstr("tensor w has dtype 'F7'"), HasSubstr("expected one of BOOL")));
  EXPECT_THAT(
      parse_error(image(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8)),
      AllOf(HasSubstr("tensor w has data_offsets [0, 16] past the end of the data (8 bytes)")));
  EXPECT_THAT(parse_error(image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16)),
              HasSubstr("tensor w: F32[3] needs 12 bytes; data_offsets [0, 16] hold 16"));
  EXPECT_THAT(parse_error(image(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                                16)),
              HasSubstr("tensor b [4, 12) overlaps the tensor before it, which ends at 8"));
  EXPECT_THAT(parse_error(image(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", 0)),
              HasSubstr("tensor w shape entry is -1; expected a non-negative integer"));
  EXPECT_THAT(
      parse_error(image(
          R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0)),
      HasSubstr("too large to address"));
  EXPECT_THAT(parse_error(image(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[2,1]}})", 2)),
              HasSubstr("begin must not exceed end"));
  EXPECT_THAT(parse_error(image(R"({"w":{"dtype":"U8","shape":[2]}})", 2)),
              HasSubstr("tensor w has no data_offsets"));
  EXPECT_THAT(parse_error(image(R"({"w":[1]})", 0)), HasSubstr("tensor w is array"));
  EXPECT_THAT(parse_error(image(R"({"__metadata__":{"k":1}})", 0)),
              HasSubstr("__metadata__ entry 'k' is number"));
  EXPECT_THAT(
      parse_error(image(R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1)),
      HasSubstr("has 7 dimensions"));
}

// What the format specifies beyond each entry's own fields: the tensors index the whole data
// buffer (no hole, no overlap, nothing after the last), names are unique, and the header is a
// bounded JSON object starting with '{'.
TEST(Safetensors, HeaderFollowsTheFormatAsAWhole) {
  const std::string a = R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]})";
  EXPECT_EQ(parse_error(image("{" + a + "}", 4)), "no error");
  EXPECT_THAT(parse_error(image("{" + a + "}", 6)),
              HasSubstr("bad.safetensors: the last 2 of the 6 data bytes belong to no tensor"));
  EXPECT_THAT(parse_error(image(R"({"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 6)),
              HasSubstr("bytes [0, 2) before tensor b belong to no tensor"));
  EXPECT_THAT(parse_error(image("{" + a + "," + a + "}", 4)),
              HasSubstr("header: key \"a\" appears twice in one object"));
  EXPECT_THAT(parse_error(image(R"({"__metadata__":{"k":"v","k":"w"}})", 0)),
              HasSubstr("key \"k\" appears twice"));
  EXPECT_THAT(parse_error(image(" {}", 0)), HasSubstr("header does not start with '{'"));
  // Deeply nested values fail before anything recurses over them (dump, copy).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(parse_error(image(R"({"w":{"dtype":"U8","shape":)" + deep + "}}", 0)),
              HasSubstr("JSON nests deeper than 64 levels"));
  // A header longer than the format allows, in a sparse file (mapped, never read).
  const auto path = std::filesystem::temp_directory_path() / cat("qlinear_huge_", getpid());
  const uint64_t length = 200'000'000;
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << "{";
  }
  std::filesystem::resize_file(path, 8 + length);
  EXPECT_THAT(open_error(path.string()), HasSubstr("over the format's limit of 100000000 bytes"));
  std::filesystem::remove(path);
  // An empty tensor may sit at any offset of the buffer.
  EXPECT_EQ(
      parse_error(image("{" + a + R"(,"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", 4)),
      "no error");
}

TEST(Safetensors, WriterRefusesDuplicateNames) {
  const std::byte one[1] = {};
  const std::vector<TensorToWrite> tensors = {{"t", Dtype::U8, {1}, one},
                                              {"t", Dtype::U8, {1}, one}};
  const auto path = std::filesystem::temp_directory_path() / "qlinear_duplicate.safetensors";
  EXPECT_THROW(write_safetensors(path.string(), tensors), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Safetensors, OpenReportsMissingFiles) {
  EXPECT_THAT(open_error("/nonexistent/model.safetensors"),
              HasSubstr("/nonexistent/model.safetensors: cannot open"));
  EXPECT_THAT(open_error(std::filesystem::temp_directory_path().string()),
              HasSubstr("is a directory; expected a regular file"));
  // A FIFO is refused at once; opening it for reading used to wait for a writer forever.
  const auto fifo = std::filesystem::temp_directory_path() / cat("qlinear_fifo_", getpid());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(open_error(fifo.string()), HasSubstr("is a FIFO; expected a regular file"));
  std::filesystem::remove(fifo);
}

}  // namespace
}  // namespace qlinear::checkpoint
