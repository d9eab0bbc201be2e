// Files a user names: anything but a regular file is refused without blocking or reading it
// unboundedly; JSON nests boundedly and holds no key twice; a replaced file is written whole or
// left as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checkpoint/json_input.hpp"
#include "qlinear/error.hpp"
#include "qlinear/files.hpp"

namespace qlinear {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class InputFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / cat("qlinear_files_", getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static std::string open_error(const std::string& path, int64_t max_bytes = 1 << 20) {
    try {
      InputFile file(path, max_bytes);
      file.read_all();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

TEST_F(InputFiles, OnlyRegularFilesOfBoundedSizeAreRead) {
  write(path("small"), "0123456789");
  EXPECT_EQ(InputFile(path("small"), 10).read_all(), "0123456789");
  EXPECT_THAT(open_error(path("small"), 9), HasSubstr("holds 10 bytes; at most 9 are read"));
  EXPECT_THAT(open_error(dir_.string()), HasSubstr("is a directory; expected a regular file"));
  // A FIFO without a writer: opening for reading would block forever without O_NONBLOCK.
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  EXPECT_THAT(open_error(path("fifo")), HasSubstr("fifo: is a FIFO; expected a regular file"));
  EXPECT_THAT(open_error("/dev/zero"), HasSubstr("/dev/zero: is a device"));
  fs::create_symlink("/dev/zero", path("endless"));
  EXPECT_THAT(open_error(path("endless")), HasSubstr("is a device"));
  fs::create_symlink(path("loop_b"), path("loop_a"));
  fs::create_symlink(path("loop_a"), path("loop_b"));
  EXPECT_THAT(open_error(path("loop_a")), HasSubstr("loop_a: cannot open (Too many levels"));
  EXPECT_THAT(open_error(path(std::string(5000, 'n'))), HasSubstr("File name too long"));
  EXPECT_THAT(open_error(path("missing")), HasSubstr("missing: cannot open (No such file"));
}

TEST_F(InputFiles, ReplacingWriterLeavesTheOldFileUntilCommit) {
  write(path("out"), "old");
  {
    ReplacingWriter writer(path("out"));
    writer.write("new bytes", 9);
    EXPECT_EQ(read(path("out")), "old");
  }  // destroyed without commit: a failed write
  EXPECT_EQ(read(path("out")), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "the temporary file is removed";
  ReplacingWriter writer(path("out"));
  writer.write("new bytes", 9);
  writer.commit();
  EXPECT_EQ(read(path("out")), "new bytes");
}

TEST_F(InputFiles, ReplacingWriterRefusesWhatItCannotWrite) {
  const auto error = [](const std::string& p) {
    try {
      ReplacingWriter writer(p);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error(dir_.string()), HasSubstr("is a directory; expected a regular file"));
  EXPECT_THAT(error(path("no_such_folder/y.npy")),
              HasSubstr("cannot create a temporary file in " + path("no_such_folder")));
  EXPECT_THAT(error("/dev/full"), HasSubstr("/dev/full: is a device"));
}

std::string json_error(const std::string& text) {
  try {
    checkpoint::parse_json(text, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonInput, NestingIsBoundedAndKeysAreUnique) {
  const int deep = 100000;  // deep enough to overflow a recursive dump or copy
  EXPECT_THAT(json_error(std::string(deep, '[') + std::string(deep, ']')),
              HasSubstr("config.json: JSON nests deeper than 64 levels"));
  std::string objects;
  for (int i = 0; i < deep; ++i) objects += "{\"a\":";
  EXPECT_THAT(json_error(objects + "1" + std::string(deep, '}')), HasSubstr("nests deeper"));
  const int fits = checkpoint::kMaxJsonDepth;
  EXPECT_EQ(json_error(std::string(fits, '[') + std::string(fits, ']')), "no error");
  EXPECT_THAT(json_error(R"({"bits": 4, "group_size": 128, "bits": 8})"),
              HasSubstr("config.json: key \"bits\" appears twice in one object"));
  EXPECT_EQ(json_error(R"({"a": {"bits": 4}, "b": {"bits": 8}})"), "no error");
  EXPECT_THAT(json_error(R"({"a": [{"x": 1, "x": 2}]})"), HasSubstr("key \"x\" appears twice"));
  EXPECT_THAT(json_error("{\"a\": "), HasSubstr("config.json: not valid JSON"));
}

}  // namespace
}  // namespace qlinear
