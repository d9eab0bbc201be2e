// The module-name patterns of ignore / target / exclude lists: ModelOpt's globs and
// compressed-tensors' "re:" regular expressions. Both are matched in time proportional to
// (pattern length) x (name length), whatever the pattern: std::regex backtracks, exponentially on
// patterns such as (a*)*b, and recurses once per character, so a config could hang or overflow
// the stack.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qlinear::checkpoint {

// The longest pattern read (real ones are below 200 characters): with the name's length it bounds
// the time of a match.
constexpr size_t kMaxPatternLength = 4096;

// Glob as ModelOpt's exclude_modules (fnmatch) uses it: '*' any run, '?' one character. The caller
// refuses patterns longer than kMaxPatternLength.
bool glob_match(std::string_view pattern, std::string_view text);

// A regular expression in the syntax of Python's re that module patterns use: literals, '.',
// classes ([a-z_], [^.], \d \w \s and their negations), groups ((...), (?:...), (?P<name>...)),
// alternation, the repeats * + ? {m} {m,} {m,n} (lazy forms too: they match the same names), and
// the anchors ^ and $. Backreferences, lookaround and word boundaries are refused.
class ModuleRegex {
 public:
  // Throws qlinear::Error naming `where`, the pattern and the position of what is not read.
  ModuleRegex(std::string_view pattern, const std::string& where);
  // Whether the pattern matches a prefix of `name` (Python's re.match, as compressed-tensors
  // applies targets).
  bool matches_start(std::string_view name) const;

  // One step of the compiled program, run as a Thompson NFA: every live state advances together
  // over the name, so no input is ever looked at twice by one state.
  struct Instruction {
    enum class Op : uint8_t { bytes, split, jump, at_start, at_end, match } op;
    std::bitset<256> accepted;      // bytes: the bytes that advance to the next instruction
    int next = 0, alternative = 0;  // split: both successors; jump: next
  };

 private:
  std::vector<Instruction> program_;
};

}  // namespace qlinear::checkpoint
