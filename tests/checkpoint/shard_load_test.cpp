// A tensor-parallel rank's part read straight from the checkpoint (load_layer with a
// TensorParallel) is split_layer's part of the whole layer, byte for byte, for every format, both
// splits and 1 to 4 ranks, on and off the group / block / packed-word grid; a split split_layer
// refuses is refused with the same message. And the part is read without touching the other
// ranks' bytes: of every tensor the split cuts (weight, scales, zero points, g_idx, bias), the
// mapped pages that hold only other ranks' bytes are never read, and garbage in those bytes
// changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "checkpoint/random_checkpoints.hpp"
#include "checkpoint/touched_pages.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

namespace qlinear::checkpoint {
namespace {

using testing::Files;
using testing::Format;
using testing::kLayer;
using testing::TensorSpec;

std::filesystem::path folder(const std::string& name) {
  return std::filesystem::temp_directory_path() / cat("qlinear_shard_", getpid(), "_", name);
}

// Equal layers: names, formats, configs and every tensor's type, shape and bytes.
void expect_same(const CheckpointLayer& a, const CheckpointLayer& b, const std::string& what) {
  EXPECT_EQ(a.name, b.name) << what;
  EXPECT_EQ(a.format, b.format) << what;
  EXPECT_EQ(a.config.describe(), b.config.describe()) << what;
  EXPECT_EQ(a.config.partition_n, b.config.partition_n) << what;
  EXPECT_EQ(a.config.partition_k, b.config.partition_k) << what;
  EXPECT_EQ(a.config.bias, b.config.bias) << what;
  const auto tensors = [](const CheckpointLayer& l) {
    return std::array{&l.weight, &l.weight_scale, &l.weight_zero_point, &l.weight_global_scale,
                      &l.g_idx,  &l.input_scale,  &l.input_zero_point,  &l.bias};
  };
  const auto ta = tensors(a), tb = tensors(b);
  for (size_t i = 0; i < ta.size(); ++i) {
    const Tensor &x = *ta[i], &y = *tb[i];
    ASSERT_EQ(x.defined(), y.defined()) << what << ", tensor " << i;
    if (!x.defined()) continue;
    ASSERT_EQ(x.view().describe(), y.view().describe()) << what << ", tensor " << i;
    EXPECT_EQ(std::memcmp(x.data(), y.data(), static_cast<size_t>(x.nbytes())), 0)
        << what << ", tensor " << i;
  }
}

// Shapes on and off the grids: sizes 3 and 4 cut 128-groups, 8-code words, 128-row blocks and
// N / 8 AWQ words in some of them, and K = 320 or N = 200 leave a partial block.
constexpr std::array<std::pair<int64_t, int64_t>, 6> kShapes{
    {{48, 768}, {40, 1536}, {200, 1536}, {512, 320}, {24, 40}, {96, 48}}};

TEST(ShardLoad, EqualsTheSplitOfTheWholeLayer) {
  uint64_t seed = 1;
  for (const Format& format : testing::all_formats()) {
    int parts[2] = {0, 0};  // shards compared, by split, with more than one rank
    for (const auto& [n, k] : kShapes) {
      if (!format.fits(n, k)) continue;
      const auto dir = folder(format.name);
      testing::write_checkpoint(dir, format, testing::random_files(format, n, k, seed++));
      const Checkpoint checkpoint = Checkpoint::open(dir.string());
      const CheckpointLayer whole = load_layer(checkpoint, kLayer);
      for (Split split : {Split::columns, Split::rows})
        for (int size = 1; size <= 4; ++size)
          for (int rank = 0; rank < size; ++rank) {
            const std::string what =
                cat(format.name, " [", n, ", ", k, "] ", name(split), " ", rank, "/", size);
            std::string refusal;
            CheckpointLayer expected;
            try {
              expected = split_layer(whole, {split, rank, size});
            } catch (const Error& e) {
              refusal = e.what();
            }
            try {
              const CheckpointLayer part = load_layer(checkpoint, kLayer, {split, rank, size});
              EXPECT_EQ(refusal, "") << what << ": read, yet split_layer refuses";
              expect_same(part, expected, what);
              parts[split == Split::rows] += size > 1;
            } catch (const Error& e) {
              EXPECT_EQ(e.what(), refusal) << what;
            }
          }
      std::filesystem::remove_all(dir);
    }
    EXPECT_GT(parts[0], 0) << format.name << ": no column split to compare";
    EXPECT_GT(parts[1], 0) << format.name << ": no row split to compare";
  }
}

// The shape of the format's tensors for [N, K], by suffix.
TensorSpec spec(const Format& format, int64_t n, int64_t k, std::string_view suffix) {
  for (const TensorSpec& t : format.tensors(n, k))
    if (t.suffix == suffix) return t;
  throw Error(cat(format.name, ": no tensor ", suffix));
}

// Wide enough that the other ranks' bytes of a weight row (or their rows) fill whole pages, and
// split in 4 on the grid (groups of 128, blocks of 128 x 128).
std::pair<int64_t, int64_t> wide_shape(const Format& format) {
  if (spec(format, 128, 128, format.weight).cut.columns == 0)  // [N, K...]
    return format.name.find("block") != std::string::npos ? std::pair{512, 16384}
                                                          : std::pair{64, 32768};
  return {format.name.starts_with("awq") ? 32768 : 4096, 512};
}

// The byte ranges of a stored tensor (`rows` rows of `row_bytes`) that hold the rank's part, where
// the split cuts across its rows or within each row.
std::vector<std::pair<int64_t, int64_t>> rank_bytes(int64_t rows, int64_t row_bytes, bool cut_rows,
                                                    const TensorParallel& tp) {
  if (cut_rows) {
    const int64_t share = rows / tp.size * row_bytes;
    return {{tp.rank * share, (tp.rank + 1) * share}};
  }
  const int64_t share = row_bytes / tp.size;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t r = 0; r < rows; ++r)
    ranges.emplace_back(r * row_bytes + tp.rank * share, r * row_bytes + (tp.rank + 1) * share);
  return ranges;
}

// Where tensor `name`'s bytes start in the safetensors file.
int64_t data_offset(const std::filesystem::path& file, const std::string& name) {
  std::ifstream in(file, std::ios::binary);
  uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), 8);
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  const auto begin = nlohmann::json::parse(header)[name]["data_offsets"][0].get<int64_t>();
  return 8 + static_cast<int64_t>(length) + begin;
}

// Writes `bytes` over the file from `offset` on (no sync: the next mapping reads the page cache).
void overwrite(const std::filesystem::path& file, int64_t offset,
               const std::vector<std::byte>& bytes) {
  std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
  out.seekp(offset);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// One stored tensor a split cuts: its entry and the byte ranges of the rank's part.
struct CutTensor {
  size_t index;  // in Files
  const TensorEntry* entry;
  std::vector<std::pair<int64_t, int64_t>> ranges;
};

TEST(ShardLoad, ReadsNoneOfTheOtherRanksBytes) {
  uint64_t seed = 1000;
  for (const Format& format : testing::all_formats()) {
    const auto [n, k] = wide_shape(format);
    ASSERT_TRUE(format.fits(n, k)) << format.name;
    const Files files = testing::random_files(format, n, k, seed++);
    const auto dir = folder(format.name);
    const auto file = dir / "model.safetensors";
    testing::write_checkpoint(dir, format, files);
    const Checkpoint checkpoint = Checkpoint::open(dir.string());
    const CheckpointLayer whole = load_layer(checkpoint, kLayer);
    // Every tensor's bytes, and the pages around them, are watched.
    const std::byte *begin = nullptr, *end = nullptr;
    for (const std::string& name : files.names) {
      const TensorEntry& e = checkpoint.get(name);
      begin = begin ? std::min(begin, e.data) : e.data;
      end = std::max(end, e.data + e.nbytes);
    }
    const TensorEntry& weight = checkpoint.get(cat(kLayer, format.weight));
    {  // the recorder sees the whole layer's reads
      const testing::TouchedPages pages(begin, end);
      load_layer(checkpoint, kLayer);
      EXPECT_TRUE(pages.touched(weight.data + weight.nbytes / 2)) << format.name;
    }
    for (Split split : {Split::columns, Split::rows})
      for (int size : {2, 4})
        for (int rank = 0; rank < size; ++rank) {
          const TensorParallel tp{split, rank, size};
          const std::string what = cat(format.name, " ", name(split), " ", rank, "/", size);
          std::vector<CutTensor> cut;
          for (size_t i = 0; i < files.names.size(); ++i) {
            const int axis =
                split == Split::columns ? files.specs[i].cut.columns : files.specs[i].cut.rows;
            if (axis < 0) continue;
            const TensorEntry& e = checkpoint.get(files.names[i]);
            const int64_t rows = e.shape.size() > 1 ? e.shape[0] : 1;
            cut.push_back({i, &e, rank_bytes(rows, e.nbytes / rows, axis == 0, tp)});
          }
          CheckpointLayer part;
          {
            const testing::TouchedPages pages(begin, end);
            part = load_layer(checkpoint, kLayer, tp);
            const auto page = static_cast<int64_t>(pages.page_size());
            for (const CutTensor& t : cut) {
              // The pages that lie inside the tensor and hold none of the rank's bytes.
              const TensorEntry& e = *t.entry;
              const int64_t skew = static_cast<int64_t>(reinterpret_cast<uintptr_t>(e.data) %
                                                        static_cast<uintptr_t>(page));
              std::vector<bool> holds_rank((e.nbytes + skew) / page + 1);
              for (const auto& [first, stop] : t.ranges)
                for (int64_t p = (first + skew) / page; p <= (stop - 1 + skew) / page; ++p)
                  holds_rank[p] = true;
              int64_t foreign = 0, read = 0;
              for (int64_t p = 1; (p + 1) * page <= e.nbytes + skew; ++p) {
                if (holds_rank[p]) continue;
                ++foreign;
                read += pages.touched(e.data + p * page - skew);
              }
              if (&e == &weight)
                EXPECT_GT(foreign, 0) << what << ": the shape leaves no page to the other ranks";
              EXPECT_EQ(read, 0) << what << ": read " << read << " of the " << foreign
                                 << " pages of " << e.name << " that hold only other ranks' bytes";
            }
          }
          expect_same(part, split_layer(whole, tp), what);

          // The other ranks' bytes made garbage in the file (0xff: e4m3 NaN, g_idx out of range):
          // the part read is the same.
          for (const CutTensor& t : cut) {
            const std::vector<std::byte>& clean = files.bytes[t.index];
            std::vector<std::byte> garbage(clean.size(), std::byte{0xff});
            for (const auto& [first, stop] : t.ranges)
              std::memcpy(garbage.data() + first, clean.data() + first,
                          static_cast<size_t>(stop - first));
            overwrite(file, data_offset(file, t.entry->name), garbage);
          }
          expect_same(load_layer(Checkpoint::open(dir.string()), kLayer, tp), part,
                      what + " (others' bytes garbage)");
          for (const CutTensor& t : cut)
            overwrite(file, data_offset(file, t.entry->name), files.bytes[t.index]);
        }
    std::filesystem::remove_all(dir);
  }
}

// Bad files are refused as the whole layer's conversion refuses them, whatever the rank.
TEST(ShardLoad, BadFilesGiveTheSameErrors) {
  const std::vector<Format> formats = testing::all_formats();
  const Format& gptq = formats.front();
  Files files = testing::random_files(gptq, 64, 256, 7);
  files.specs[1].shape = {2, 32};  // scales [G, N] of the wrong N
  files.bytes[1].resize(2 * 32 * 2);
  const auto dir = folder("bad");
  testing::write_checkpoint(dir, gptq, files);
  const Checkpoint checkpoint = Checkpoint::open(dir.string());
  std::string whole;
  try {
    load_layer(checkpoint, kLayer);
  } catch (const Error& e) {
    whole = e.what();
  }
  ASSERT_NE(whole.find("scales"), std::string::npos) << whole;
  for (Split split : {Split::columns, Split::rows})
    for (int rank = 0; rank < 2; ++rank) try {
        load_layer(checkpoint, kLayer, {split, rank, 2});
        ADD_FAILURE() << "read a layer whose scales have the wrong shape";
      } catch (const Error& e) {
        EXPECT_EQ(e.what(), whole);
      }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qlinear::checkpoint
