// The float64 product shared by every reference kernel.
#include <cmath>

#include "qlinear/reference.hpp"

namespace qlinear::reference {
namespace {
double bias_at(const TensorView& bias, int64_t n) { return bias.defined() ? load_value(bias, n) : 0.0; }
}  // namespace

std::vector<double> linear_f64(const std::vector<double>& x_hat, const std::vector<double>& w_hat,
                               int64_t m, int64_t n, int64_t k, const TensorView& bias) {
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double* x = &x_hat[i * k];
      const double* w = &w_hat[j * k];
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += x[p] * w[p];
      y[i * n + j] = sum + bias_at(bias, j);
    }
  return y;
}

std::vector<double> magnitude_f64(const std::vector<double>& x_hat, const std::vector<double>& w_hat,
                                  int64_t m, int64_t n, int64_t k, const TensorView& bias) {
  std::vector<double> magnitude(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = std::fabs(bias_at(bias, j));
      for (int64_t p = 0; p < k; ++p) sum += std::fabs(x_hat[i * k + p] * w_hat[j * k + p]);
      magnitude[i * n + j] = sum;
    }
  return magnitude;
}

}  // namespace qlinear::reference
