// Globs and regular expressions over module names, in bounded time (see module_patterns.hpp).
// The regular expression is parsed into a small tree, compiled into a Thompson NFA (Russ Cox,
// "Regular Expression Matching Can Be Simple And Fast") and run state set by state set.
#include "checkpoint/module_patterns.hpp"

#include "qlinear/error.hpp"

namespace qlinear::checkpoint {

bool glob_match(std::string_view pattern, std::string_view text) {
  // Greedy with one resume point: on a mismatch, the last '*' takes one more character. Each
  // '*' only ever moves forward, so the work is at most |pattern| x |text|.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

using Op = ModuleRegex::Instruction::Op;
using Bytes = std::bitset<256>;

// Bounds that keep a compiled pattern small whatever the config holds.
constexpr int kMaxGroupDepth = 32;
constexpr int kMaxRepeatCount = 1000;
constexpr size_t kMaxProgramSize = 10000;  // x a name's length: the steps of a match

struct Node {
  enum class Kind : uint8_t { bytes, sequence, either, repeat, at_start, at_end };
  Kind kind = Kind::sequence;
  Bytes accepted;
  std::vector<Node> children;
  int min = 1, max = 1;  // repeat: max -1 is unbounded
};

Node node(Node::Kind kind) {
  Node n;
  n.kind = kind;
  return n;
}

Bytes range(unsigned char first, unsigned char last) {
  Bytes b;
  for (unsigned c = first; c <= last; ++c) b.set(c);
  return b;
}

class Parser {
 public:
  Parser(std::string_view pattern, const std::string& where) : text_(pattern), where_(where) {
    require(pattern.size() <= kMaxPatternLength, where, "pattern of ", pattern.size(),
            " characters; at most ", kMaxPatternLength, " are read");
  }

  Node parse() {
    Node root = alternatives();
    if (at_ < text_.size()) fail("unbalanced ')'");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(cat(where_, "regular expression '", text_, "': ", what, " at position ", at_,
                    "; qlinear reads literals, . [] \\d \\w \\s, groups, |, * + ? {m,n}, ^ and $"));
  }
  bool more() const { return at_ < text_.size(); }
  char peek() const { return text_[at_]; }

  Node alternatives() {
    Node either = node(Node::Kind::either);
    either.children.push_back(sequence());
    while (more() && peek() == '|') {
      ++at_;
      either.children.push_back(sequence());
    }
    return either.children.size() == 1 ? std::move(either.children[0]) : either;
  }

  Node sequence() {
    Node seq = node(Node::Kind::sequence);
    while (more() && peek() != '|' && peek() != ')') seq.children.push_back(repeated());
    return seq;
  }

  Node repeated() {
    Node atom_node = atom();
    bool repeated_once = false;
    while (more()) {
      int min = 0, max = -1;
      const size_t start = at_;
      const char c = peek();
      if (c == '*') {
        ++at_;
      } else if (c == '+') {
        min = 1;
        ++at_;
      } else if (c == '?') {
        max = 1;
        ++at_;
      } else if (c != '{' || !counted(min, max)) {
        break;
      }
      if (repeated_once) {
        at_ = start;
        fail("multiple repeat");
      }
      repeated_once = true;
      if (more() && peek() == '?') ++at_;  // lazy: the same names match
      Node r = node(Node::Kind::repeat);
      r.min = min;
      r.max = max;
      r.children.push_back(std::move(atom_node));
      atom_node = std::move(r);
    }
    return atom_node;
  }

  // {m}, {m,}, {m,n} (Python reads anything else from '{' as literal text).
  bool counted(int& min, int& max) {
    size_t i = at_ + 1;
    const auto number = [&](int& value) {
      const size_t begin = i;
      value = 0;
      while (i < text_.size() && text_[i] >= '0' && text_[i] <= '9' && i - begin < 5)
        value = value * 10 + (text_[i++] - '0');
      return i > begin;
    };
    const bool has_min = number(min);
    if (!has_min) min = 0;
    max = min;
    if (i < text_.size() && text_[i] == ',') {
      ++i;
      if (!number(max)) max = -1;
    } else if (!has_min) {
      return false;
    }
    if (i >= text_.size() || text_[i] != '}') return false;
    if (min > kMaxRepeatCount || max > kMaxRepeatCount || (max >= 0 && max < min))
      fail(cat("repeat count {", min, ",", max, "} outside 0 to ", kMaxRepeatCount));
    at_ = i + 1;
    return true;
  }

  Node atom() {
    const char c = peek();
    if (c == '*' || c == '+' || c == '?') fail("nothing to repeat");
    ++at_;
    switch (c) {
      case '(':
        return group();
      case '[':
        return bytes(bracket());
      case '.':
        return bytes(~Bytes().set('\n'));
      case '^':
        return node(Node::Kind::at_start);
      case '$':
        return node(Node::Kind::at_end);
      case '\\':
        return escape();
      default:
        return bytes(Bytes().set(static_cast<unsigned char>(c)));
    }
  }

  static Node bytes(Bytes accepted) {
    Node n = node(Node::Kind::bytes);
    n.accepted = accepted;
    return n;
  }

  Node group() {
    if (more() && peek() == '?') {
      if (text_.substr(at_).starts_with("?:")) {
        at_ += 2;
      } else if (text_.substr(at_).starts_with("?P<")) {
        const size_t close = text_.find('>', at_);
        if (close == std::string_view::npos) fail("unterminated group name");
        at_ = close + 1;
      } else {
        fail("lookaround and inline flags are not supported");
      }
    }
    if (++depth_ > kMaxGroupDepth) fail(cat("groups nested deeper than ", kMaxGroupDepth));
    Node inner = alternatives();
    --depth_;
    if (!more() || peek() != ')') fail("missing ')'");
    ++at_;
    return inner;
  }

  // \d \w \s and their negations (set), or one literal byte (returned as a one-byte set).
  Bytes escaped() {
    if (!more()) fail("trailing backslash");
    const char c = text_[at_++];
    const Bytes digits = range('0', '9');
    const Bytes word = digits | range('a', 'z') | range('A', 'Z') | Bytes().set('_');
    Bytes space;
    for (char s : {' ', '\t', '\n', '\r', '\f', '\v'}) space.set(static_cast<unsigned char>(s));
    switch (c) {
      case 'd':
        return digits;
      case 'D':
        return ~digits;
      case 'w':
        return word;
      case 'W':
        return ~word;
      case 's':
        return space;
      case 'S':
        return ~space;
      case 'n':
        return Bytes().set('\n');
      case 't':
        return Bytes().set('\t');
      case 'r':
        return Bytes().set('\r');
      case 'f':
        return Bytes().set('\f');
      case 'v':
        return Bytes().set('\v');
      default:
        break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      --at_;
      fail(cat("escape \\", c, " (backreferences and word boundaries) is not supported"));
    }
    return Bytes().set(static_cast<unsigned char>(c));
  }

  Node escape() {
    if (more() && (peek() == 'A' || peek() == 'Z'))
      return node(text_[at_++] == 'A' ? Node::Kind::at_start : Node::Kind::at_end);
    return bytes(escaped());
  }

  Bytes bracket() {
    bool negate = false;
    if (more() && peek() == '^') {
      negate = true;
      ++at_;
    }
    Bytes set;
    bool first = true;
    while (true) {
      if (!more()) fail("missing ']'");
      if (peek() == ']' && !first) break;
      first = false;
      if (peek() == '\\') {
        ++at_;
        set |= escaped();
        continue;
      }
      const auto low = static_cast<unsigned char>(text_[at_++]);
      if (at_ + 1 < text_.size() && peek() == '-' && text_[at_ + 1] != ']') {
        const auto high = static_cast<unsigned char>(text_[at_ + 1]);
        if (high < low) fail("range out of order");
        at_ += 2;
        set |= range(low, high);
      } else {
        set.set(low);
      }
    }
    ++at_;
    return negate ? ~set : set;
  }

  std::string_view text_;
  const std::string& where_;
  size_t at_ = 0;
  int depth_ = 0;
};

class Compiler {
 public:
  Compiler(std::vector<ModuleRegex::Instruction>& program, const std::string& where)
      : program_(program), where_(where) {}

  void emit(const Node& n) {
    switch (n.kind) {
      case Node::Kind::bytes: {
        const int i = add(Op::bytes);
        program_[i].accepted = n.accepted;
        break;
      }
      case Node::Kind::at_start:
        add(Op::at_start);
        break;
      case Node::Kind::at_end:
        add(Op::at_end);
        break;
      case Node::Kind::sequence:
        for (const Node& child : n.children) emit(child);
        break;
      case Node::Kind::either: {
        std::vector<int> jumps;
        for (size_t c = 0; c + 1 < n.children.size(); ++c) {
          const int split = add(Op::split);
          program_[split].next = split + 1;
          emit(n.children[c]);
          jumps.push_back(add(Op::jump));
          program_[split].alternative = size();
        }
        emit(n.children.back());
        for (int j : jumps) program_[j].next = size();
        break;
      }
      case Node::Kind::repeat:
        for (int i = 0; i < n.min; ++i) emit(n.children[0]);
        if (n.max < 0) {
          const int split = add(Op::split);
          program_[split].next = split + 1;
          emit(n.children[0]);
          const int back = add(Op::jump);
          program_[back].next = split;
          program_[split].alternative = size();
        } else {
          for (int i = n.min; i < n.max; ++i) {
            const int split = add(Op::split);
            program_[split].next = split + 1;
            emit(n.children[0]);
            program_[split].alternative = size();
          }
        }
        break;
    }
  }

  int add(Op op) {
    require(program_.size() < kMaxProgramSize, where_, "regular expression compiles to more than ",
            kMaxProgramSize, " states (repeat counts multiply)");
    program_.push_back({op, {}, 0, 0});
    program_.back().next = size();
    return size() - 1;
  }
  int size() const { return static_cast<int>(program_.size()); }

 private:
  std::vector<ModuleRegex::Instruction>& program_;
  const std::string& where_;
};

}  // namespace

ModuleRegex::ModuleRegex(std::string_view pattern, const std::string& where) {
  const Node root = Parser(pattern, where).parse();
  Compiler compiler(program_, where);
  compiler.emit(root);
  compiler.add(Op::match);
}

bool ModuleRegex::matches_start(std::string_view name) const {
  // `seen[pc] == step` marks a state already in the set of this step; `pending` is the explicit
  // stack of the epsilon closure (no recursion, however the program loops).
  std::vector<size_t> seen(program_.size(), 0);
  std::vector<int> current, next, pending;
  size_t step = 1;
  // Adds pc and every state reachable from it without reading a byte; true once `match` is one.
  const auto add = [&](std::vector<int>& set, int pc, size_t position) {
    pending.assign(1, pc);
    while (!pending.empty()) {
      const int at = pending.back();
      pending.pop_back();
      if (seen[at] == step) continue;
      seen[at] = step;
      const Instruction& in = program_[at];
      switch (in.op) {
        case Op::bytes:
          set.push_back(at);
          break;
        case Op::jump:
          pending.push_back(in.next);
          break;
        case Op::split:
          pending.push_back(in.alternative);
          pending.push_back(in.next);
          break;
        case Op::at_start:
          if (position == 0) pending.push_back(in.next);
          break;
        case Op::at_end:
          if (position == name.size()) pending.push_back(in.next);
          break;
        case Op::match:
          return true;
      }
    }
    return false;
  };
  if (add(current, 0, 0)) return true;
  for (size_t position = 0; position < name.size() && !current.empty(); ++position) {
    ++step;
    next.clear();
    const auto byte = static_cast<unsigned char>(name[position]);
    for (int pc : current)
      if (program_[pc].accepted.test(byte) && add(next, program_[pc].next, position + 1))
        return true;
    std::swap(current, next);
  }
  return false;
}

}  // namespace qlinear::checkpoint
