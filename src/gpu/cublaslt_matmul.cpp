#include "gpu/cublaslt_matmul.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cublaslt {
namespace {

// cuBLAS's recommended workspace for Hopper.
constexpr size_t kMaxWorkspace = size_t{32} << 20;

// An owned cuBLASLt descriptor, destroyed with its own destroy function.
template <typename Handle, cublasStatus_t (*Destroy)(Handle)>
class Owned {
 public:
  Owned() = default;
  ~Owned() {
    if (handle_) Destroy(handle_);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  Handle* out() { return &handle_; }
  Handle get() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};
using MatmulDesc = Owned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using Layout = Owned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using Preference = Owned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

// One handle per device, made on first use and kept for the process (handles are thread-safe).
cublasLtHandle_t handle_for(int device) {
  static std::mutex mutex;
  static std::map<int, cublasLtHandle_t> handles;
  std::lock_guard lock(mutex);
  auto& h = handles[device];
  if (h == nullptr) check_cublas(cublasLtCreate(&h), "cublasLtCreate");
  return h;
}

template <typename V>
void set(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const V& value,
         const char* what) {
  check_cublas(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof(value)), what);
}

void make_layout(Layout& layout, cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld) {
  check_cublas(cublasLtMatrixLayoutCreate(layout.out(), type, static_cast<uint64_t>(rows),
                                          static_cast<uint64_t>(cols), ld),
               "cublasLtMatrixLayoutCreate");
}

struct Algorithm {
  cublasLtMatmulAlgo_t algo;
  size_t workspace;
};

constexpr int kTuneCandidates = 8;

std::atomic<bool>& tuning() {
  static std::atomic<bool> on = [] {
    const char* v = std::getenv("QLINEAR_CUBLASLT_TUNE");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}

// The largest power of two, up to 256 (cuBLASLt's default assumption), that divides an address.
uint32_t alignment_of(const void* pointer) {
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

template <typename V>
void prefer(cublasLtMatmulPreference_t preference, cublasLtMatmulPreferenceAttributes_t attribute,
            const V& value, const char* what) {
  check_cublas(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)),
               what);
}

// What the heuristic is told besides the descriptors: alignments of A (w), B (x), C = D (y).
struct Preferences {
  uint32_t align_w = 256, align_x = 256, align_y = 256;
  bool split_k_in_fp32 = false;
};

// The heuristic's first `count` candidates (at least one, or an error naming the problem).
std::vector<Algorithm> candidates(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                  cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                  cublasLtMatrixLayout_t d, const Preferences& wanted, int count,
                                  const std::string& problem) {
  Preference preference;
  check_cublas(cublasLtMatmulPreferenceCreate(preference.out()), "cublasLtMatmulPreferenceCreate");
  prefer(preference.get(), CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, kMaxWorkspace,
         "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
  prefer(preference.get(), CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, wanted.align_w,
         "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_A_BYTES)");
  prefer(preference.get(), CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, wanted.align_x,
         "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_B_BYTES)");
  prefer(preference.get(), CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, wanted.align_y,
         "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_C_BYTES)");
  prefer(preference.get(), CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, wanted.align_y,
         "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_D_BYTES)");
  if (wanted.split_k_in_fp32)
    prefer(preference.get(), CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
           static_cast<uint32_t>(CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE),
           "cublasLtMatmulPreferenceSetAttribute(REDUCTION_SCHEME_MASK)");
  std::vector<cublasLtMatmulHeuristicResult_t> results(static_cast<size_t>(count));
  int returned = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      handle, desc, a, b, d, d, preference.get(), count, results.data(), &returned);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || (status == CUBLAS_STATUS_SUCCESS && returned == 0))
    throw Error(cat("cuBLASLt has no algorithm for ", problem));
  check_cublas(status, "cublasLtMatmulAlgoGetHeuristic");
  std::vector<Algorithm> found;
  for (int i = 0; i < returned; ++i) found.push_back({results[i].algo, results[i].workspaceSize});
  return found;
}

// The candidate with the least median time over 5 runs (after one warm-up) on the call's operands.
template <typename Run>
Algorithm fastest(const std::vector<Algorithm>& options, const Run& run, cudaStream_t stream,
                  int device) {
  cuda::Scratch workspace(static_cast<int64_t>(kMaxWorkspace), stream, device);
  cudaEvent_t start, stop;
  cuda::check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  cuda::check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  Algorithm best = options.front();
  float best_ms = INFINITY;
  for (const Algorithm& option : options) {
    std::vector<float> times;
    for (int i = 0; i < 6; ++i) {
      cuda::check_cuda(cudaEventRecord(start, stream), "cudaEventRecord");
      run(option, workspace.get());
      cuda::check_cuda(cudaEventRecord(stop, stream), "cudaEventRecord");
      cuda::check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
      float ms = 0;
      cuda::check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
      if (i > 0) times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    if (times[times.size() / 2] < best_ms) best_ms = times[times.size() / 2], best = option;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

}  // namespace

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(cat(call, " failed: ", cublasLtGetStatusName(status), " (",
                    cublasLtGetStatusString(status), ")"));
}

std::string Problem::describe() const {
  return cat("cuda:", device, " M=", m, " N=", n, " K=", k, " ld w/x/y=", w_row_stride, "/",
             x_row_stride, "/", y_row_stride, " types w/x/y=", static_cast<int>(w_type), "/",
             static_cast<int>(x_type), "/", static_cast<int>(y_type),
             " compute=", static_cast<int>(compute), " scaling w/x=", static_cast<int>(w_scaling),
             "/", static_cast<int>(x_scaling),
             " bias=", bias_type ? static_cast<int>(*bias_type) : -1,
             split_k_in_fp32 ? " split-K in fp32" : "");
}

void matmul(const Problem& p, const Operands& o, cudaStream_t stream) {
  const bool integer = p.compute == CUBLAS_COMPUTE_32I || p.compute == CUBLAS_COMPUTE_32I_PEDANTIC;
  MatmulDesc desc;
  check_cublas(cublasLtMatmulDescCreate(desc.out(), p.compute, integer ? CUDA_R_32I : CUDA_R_32F),
               "cublasLtMatmulDescCreate");
  set(desc.get(), CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T,
      "cublasLtMatmulDescSetAttribute(TRANSA)");
  set(desc.get(), CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N,
      "cublasLtMatmulDescSetAttribute(TRANSB)");
  if (p.w_scaling != Scaling::none) {
    set(desc.get(), CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, o.w_scale,
        "cublasLtMatmulDescSetAttribute(A_SCALE_POINTER)");
    set(desc.get(), CUBLASLT_MATMUL_DESC_A_SCALE_MODE, static_cast<int32_t>(p.w_scaling),
        "cublasLtMatmulDescSetAttribute(A_SCALE_MODE)");
  }
  if (p.x_scaling != Scaling::none) {
    set(desc.get(), CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, o.x_scale,
        "cublasLtMatmulDescSetAttribute(B_SCALE_POINTER)");
    set(desc.get(), CUBLASLT_MATMUL_DESC_B_SCALE_MODE, static_cast<int32_t>(p.x_scaling),
        "cublasLtMatmulDescSetAttribute(B_SCALE_MODE)");
  }
  if (p.bias_type) {
    set(desc.get(), CUBLASLT_MATMUL_DESC_EPILOGUE, static_cast<uint32_t>(CUBLASLT_EPILOGUE_BIAS),
        "cublasLtMatmulDescSetAttribute(EPILOGUE)");
    set(desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, o.bias,
        "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
    set(desc.get(), CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, static_cast<int32_t>(*p.bias_type),
        "cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)");
  }
  Layout a, b, d;
  make_layout(a, p.w_type, p.k, p.n, p.w_row_stride);
  make_layout(b, p.x_type, p.k, p.m, p.x_row_stride);
  make_layout(d, p.y_type, p.n, p.m, p.y_row_stride);

  const cublasLtHandle_t handle = handle_for(p.device);
  const float alpha_f = o.alpha, beta_f = 0.f;
  const int32_t alpha_i = 1, beta_i = 0;
  const void* alpha = integer ? static_cast<const void*>(&alpha_i) : &alpha_f;
  const void* beta = integer ? static_cast<const void*>(&beta_i) : &beta_f;
  const auto run = [&](const Algorithm& algorithm, void* workspace) {
    check_cublas(
        cublasLtMatmul(handle, desc.get(), alpha, o.w, a.get(), o.x, b.get(), beta, o.y, d.get(),
                       o.y, d.get(), &algorithm.algo, workspace, algorithm.workspace, stream),
        "cublasLtMatmul");
  };

  // The algorithm, once per problem, operand alignment (the bias's too: the heuristic reads its
  // pointer from the descriptor) and tuning mode.
  static std::mutex mutex;
  static std::map<std::string, Algorithm> cache;
  const bool tune = tuning();
  const Preferences wanted{alignment_of(o.w), alignment_of(o.x), alignment_of(o.y),
                           p.split_k_in_fp32};
  const std::string key =
      cat(p.describe(), " align w/x/y/bias=", wanted.align_w, "/", wanted.align_x, "/",
          wanted.align_y, "/", p.bias_type ? alignment_of(o.bias) : 0, tune ? " tuned" : "");
  Algorithm algorithm{};
  {
    std::lock_guard lock(mutex);
    auto found = cache.find(key);
    if (found == cache.end()) {
      const std::vector<Algorithm> options = candidates(
          handle, desc.get(), a.get(), b.get(), d.get(), wanted, tune ? kTuneCandidates : 1, key);
      Algorithm best = options.front();
      if (tune && options.size() > 1) best = fastest(options, run, stream, p.device);
      found = cache.emplace(key, best).first;
    }
    algorithm = found->second;
  }

  cuda::Scratch workspace(static_cast<int64_t>(algorithm.workspace), stream, p.device);
  run(algorithm, workspace.get());
}

void set_tuning(bool on) { tuning() = on; }

}  // namespace qlinear::cublaslt
