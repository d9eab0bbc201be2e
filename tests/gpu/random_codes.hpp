// Random weight codes for the packing tests (host and GPU): W [n, k] flat (4-bit rows may start
// mid-byte), every code of the type equally likely, and with act order a random permutation of K.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "qlinear/tensor.hpp"

namespace qlinear::testing {

struct RandomCodes {
  Tensor codes;
  std::vector<int32_t> order;  // empty without act order
};

inline RandomCodes random_codes(ScalarType type, int64_t n, int64_t k, bool act_order,
                                uint32_t seed) {
  const int bits = static_cast<int>(info(type).bits);
  RandomCodes r{Tensor::empty(type, {n * k}), {}};
  std::mt19937 random(seed);
  for (int64_t i = 0; i < n * k; ++i) store_code(r.codes, i, random() & ((1u << bits) - 1));
  if (act_order) {
    r.order.resize(static_cast<size_t>(k));
    std::iota(r.order.begin(), r.order.end(), 0);
    std::shuffle(r.order.begin(), r.order.end(), random);
  }
  return r;
}

}  // namespace qlinear::testing
