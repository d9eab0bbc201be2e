#include "cuda/hopper/tensor_map.hpp"

#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <mutex>

#include "qlinear/error.hpp"

namespace qlinear::cuda::sm90 {
namespace {

// The driver's encoder, found through the runtime so that qlinear does not link libcuda itself.
PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 function = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* entry = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &entry, 12000, cudaEnableDefault,
                                         &found) == cudaSuccess &&
        found == cudaDriverEntryPointSuccess)
      function = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(entry);
  });
  require(function != nullptr, "the CUDA driver has no cuTensorMapEncodeTiled (needs CUDA 12+)");
  return function;
}

CUtensorMap make_map(CUtensorMapDataType type, const void* base, int64_t rows, int64_t cols,
                     int64_t pitch, int box_rows, int box_cols, CUtensorMapSwizzle swizzle,
                     const char* what) {
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(pitch)};
  const cuuint32_t box[2] = {static_cast<cuuint32_t>(box_cols), static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult result =
      encoder()(&map, type, 2, const_cast<void*>(base), dims, strides, box, element_strides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  require(result == CUDA_SUCCESS, "cuTensorMapEncodeTiled refused the map of ", what, " [", rows,
          ", ", cols, "] (pitch ", pitch, " bytes, box ", box_rows, "x", box_cols, "): CUresult ",
          static_cast<int>(result));
  return map;
}

}  // namespace

CUtensorMap make_code_map(const void* base, int64_t rows, int64_t cols, int64_t pitch, int box_rows,
                          const char* what) {
  return make_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, base, rows, cols, pitch, box_rows, kBoxK,
                  CU_TENSOR_MAP_SWIZZLE_128B, what);
}

CUtensorMap make_half_map(const void* base, int64_t rows, int64_t cols, int64_t pitch, int box_rows,
                          const char* what) {
  return make_map(CU_TENSOR_MAP_DATA_TYPE_UINT16, base, rows, cols, pitch, box_rows, kBoxK / 2,
                  CU_TENSOR_MAP_SWIZZLE_128B, what);
}

CUtensorMap make_word_map(const void* base, int64_t rows, int64_t cols, int64_t pitch, int box_rows,
                          int box_cols, const char* what) {
  return make_map(CU_TENSOR_MAP_DATA_TYPE_UINT32, base, rows, cols, pitch, box_rows, box_cols,
                  CU_TENSOR_MAP_SWIZZLE_NONE, what);
}

}  // namespace qlinear::cuda::sm90
