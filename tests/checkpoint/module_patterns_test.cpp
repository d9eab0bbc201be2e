// Module-name patterns: globs and regular expressions match as fnmatch and Python's re.match do,
// and in bounded time on the patterns that make backtracking matchers (the recursive glob and
// std::regex used before) take exponential time or overflow the stack.
#include "checkpoint/module_patterns.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "qlinear/error.hpp"

namespace qlinear::checkpoint {
namespace {

using ::testing::HasSubstr;

bool re_match(const std::string& pattern, const std::string& name) {
  return ModuleRegex(pattern, "test: ").matches_start(name);
}

std::string regex_error(const std::string& pattern) {
  try {
    ModuleRegex(pattern, "test: ");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

template <typename F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(ModulePatterns, GlobMatchesAsFnmatch) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("lm_head", "lm_head"));
  EXPECT_FALSE(glob_match("lm_head", "lm_head2"));
  EXPECT_TRUE(glob_match("*self_attn*", "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(glob_match("model.layers.?.mlp.*", "model.layers.3.mlp.up_proj"));
  EXPECT_FALSE(glob_match("model.layers.?.mlp.*", "model.layers.12.mlp.up_proj"));
  EXPECT_TRUE(glob_match("*.down_proj", "a.down_proj"));
  EXPECT_FALSE(glob_match("*.down_proj", "a.down_proj.x"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
}

TEST(ModulePatterns, GlobTimeIsBoundedOnManyStars) {
  // The recursive matcher tries every way to share 100 'a's among the stars: C(100, 20) ways.
  std::string stars;
  for (int i = 0; i < 20; ++i) stars += "*a";
  const std::string text(10000, 'a');
  EXPECT_LT(seconds([&] { EXPECT_FALSE(glob_match(stars + "*c", text)); }), 1.0);
}

TEST(ModulePatterns, RegexMatchesTheStartOfTheName) {
  EXPECT_TRUE(re_match(".*self_attn.*", "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(re_match("model", "model.layers.0"));    // a prefix is enough
  EXPECT_FALSE(re_match("layers", "model.layers.0"));  // but it starts at 0
  EXPECT_TRUE(re_match(".*mlp\\.gate$", "model.layers.1.mlp.gate"));
  EXPECT_FALSE(re_match(".*mlp\\.gate$", "model.layers.1.mlp.gate_proj"));
  EXPECT_TRUE(
      re_match("model\\.layers\\.\\d+\\.mlp\\.(up|down)_proj", "model.layers.17.mlp.down_proj"));
  EXPECT_FALSE(
      re_match("model\\.layers\\.\\d+\\.mlp\\.(up|down)_proj", "model.layers.x.mlp.up_proj"));
  EXPECT_TRUE(re_match("(?:vision|visual)_tower", "visual_tower.blocks.0"));
  EXPECT_TRUE(re_match("(?P<part>[a-z_]+)\\.\\w+", "lm_head.weight"));
  EXPECT_TRUE(re_match("[^.]+\\.layers\\.[0-9]{1,2}\\.", "model.layers.31.mlp"));
  EXPECT_FALSE(re_match("[^.]+\\.layers\\.[0-9]{1,2}\\.", "model.layers.310.mlp"));
  EXPECT_TRUE(re_match("a{2,}b", "aaab"));
  EXPECT_FALSE(re_match("a{3}b", "aab"));
  EXPECT_TRUE(re_match("x*?y?", ""));
  EXPECT_TRUE(re_match("^lm_head\\Z", "lm_head"));
  EXPECT_TRUE(re_match("a|b|", "c"));  // the empty alternative matches
  EXPECT_TRUE(re_match("[]a]+", "]a]"));
  EXPECT_TRUE(re_match("[a-]+$", "a-a"));
}

TEST(ModulePatterns, RegexTimeIsBoundedOnBacktrackingPatterns) {
  // (a*)*b and nested .* take std::regex exponential time; a name of 100,000 characters
  // overflowed its recursion.
  const std::string long_name = std::string(100000, 'a') + ".down_proj";
  EXPECT_LT(seconds([&] {
              EXPECT_FALSE(re_match("(a*)*b", std::string(5000, 'a')));
              EXPECT_FALSE(re_match("(.*.*.*.*.*.*.*.*)*x", std::string(5000, 'a')));
              EXPECT_TRUE(re_match(".*down_proj", long_name));
              EXPECT_FALSE(re_match("(a|aa)*c", long_name));
            }),
            5.0);
}

TEST(ModulePatterns, RegexRefusesWhatItDoesNotRead) {
  EXPECT_THAT(regex_error("(a"), HasSubstr("missing ')' at position 2"));
  EXPECT_THAT(regex_error("a)"), HasSubstr("unbalanced ')'"));
  EXPECT_THAT(regex_error("[ab"), HasSubstr("missing ']'"));
  EXPECT_THAT(regex_error("*a"), HasSubstr("nothing to repeat"));
  EXPECT_THAT(regex_error("a**"), HasSubstr("multiple repeat"));
  EXPECT_THAT(regex_error("(a)\\1"), HasSubstr("escape \\1"));
  EXPECT_THAT(regex_error("(?=a)"), HasSubstr("lookaround"));
  EXPECT_THAT(regex_error("a{5000}"), HasSubstr("outside 0 to 1000"));
  EXPECT_THAT(regex_error("((((a{1000}){1000}){1000}))"), HasSubstr("more than 10000 states"));
  EXPECT_THAT(regex_error(std::string(40, '(') + std::string(40, ')')),
              HasSubstr("nested deeper than 32"));
  EXPECT_THAT(regex_error(std::string(5000, 'a')), HasSubstr("at most 4096"));
}

}  // namespace
}  // namespace qlinear::checkpoint
