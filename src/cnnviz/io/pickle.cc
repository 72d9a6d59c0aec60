#include "cnnviz/pickle.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace cnnviz {

PickleRef evaluate_pickle(const std::string& p, std::string& error, const std::function<bool(const std::string&)>& unwrap_call) {
  std::vector<PickleRef> stack;
  std::vector<std::size_t> marks;
  std::vector<PickleRef> memo;
  std::unordered_map<const PickleValue*, std::vector<std::size_t>> memo_slots;  // value -> the memo slots holding it
  std::size_t i = 0;
  std::size_t op_at = 0;
  auto fail = [&](const std::string& why) {
    error = why + " at byte " + std::to_string(op_at);
    return nullptr;
  };
  auto make = [](PickleValue::Kind kind, std::vector<PickleRef> items = {}) {
    auto v = std::make_shared<PickleValue>();
    v->kind = kind;
    for (const PickleRef& item : items) v->depth = std::max(v->depth, item->depth + 1);
    v->items = std::move(items);
    return v;
  };
  auto take = [&](std::size_t bytes, uint64_t& v) {
    if (bytes > p.size() - i) return false;
    v = 0;
    for (std::size_t b = bytes; b-- > 0;) v = (v << 8) | static_cast<unsigned char>(p[i + b]);
    i += bytes;
    return true;
  };
  auto push = [&](PickleRef v) {
    if (v->depth > kMaxPickleDepth) return false;
    stack.push_back(std::move(v));
    return true;
  };
  // The items above the last MARK (which must not lie above the stack).
  auto to_mark = [&](std::vector<PickleRef>& items) {
    if (marks.empty() || marks.back() > stack.size()) return false;
    items.assign(stack.begin() + static_cast<std::ptrdiff_t>(marks.back()), stack.end());
    stack.resize(marks.back());
    marks.pop_back();
    return true;
  };
  while (i < p.size()) {
    op_at = i;
    const unsigned char op = static_cast<unsigned char>(p[i++]);
    uint64_t n = 0;
    std::vector<PickleRef> items;
    bool ok = true;
    switch (op) {
      case '.':  // STOP
        if (stack.size() != 1 || !marks.empty()) return fail("a pickle that does not end with one value");
        return stack.back();
      case 0x80:  // PROTO
        ok = take(1, n) && n <= 2;
        if (!ok) return fail("protocol " + std::to_string(n) + " (cnnviz reads 0 to 2) or truncated");
        break;
      case '(': marks.push_back(stack.size()); break;
      case ')': ok = push(make(PickleValue::kTuple)); break;
      case ']': ok = push(make(PickleValue::kList)); break;
      case '}': ok = push(make(PickleValue::kDict)); break;
      case 'N': ok = push(make(PickleValue::kNone)); break;
      case 0x88: case 0x89: {
        auto v = make(PickleValue::kBool);
        v->number = op == 0x88 ? 1 : 0;
        ok = push(v);
        break;
      }
      case 'K': case 'M': case 'J': {
        if (!take(op == 'K' ? 1 : op == 'M' ? 2 : 4, n)) return fail("truncated");
        auto v = make(PickleValue::kInt);
        v->number = op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(n)) : static_cast<int64_t>(n);
        ok = push(v);
        break;
      }
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes (at most 8 read)
        if (!take(1, n) || n > 8) return fail("a LONG1 of more than 8 bytes, or truncated");
        const std::size_t bytes = n;
        if (!take(bytes, n)) return fail("truncated");
        auto v = make(PickleValue::kInt);
        if (bytes > 0 && bytes < 8 && (n >> (bytes * 8 - 1)) & 1) n |= ~uint64_t{0} << (bytes * 8);
        v->number = static_cast<int64_t>(n);
        ok = push(v);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        if (8 > p.size() - i) return fail("truncated");
        uint64_t bits = 0;
        for (int b = 0; b < 8; ++b) bits = (bits << 8) | static_cast<unsigned char>(p[i + static_cast<std::size_t>(b)]);
        i += 8;
        auto v = make(PickleValue::kFloat);
        std::memcpy(&v->real, &bits, sizeof bits);
        ok = push(v);
        break;
      }
      case 'X': case 0x8c: {  // BINUNICODE, SHORT_BINUNICODE
        if (!take(op == 'X' ? 4 : 1, n)) return fail("truncated");
        if (n > p.size() - i) return fail("a string of " + std::to_string(n) + " bytes runs past its end");
        auto v = make(PickleValue::kString);
        v->text = p.substr(i, n);
        i += n;
        ok = push(v);
        break;
      }
      case 'c': {  // GLOBAL: module and name, each up to a newline
        const std::size_t a = p.find('\n', i);
        const std::size_t b = a == std::string::npos ? a : p.find('\n', a + 1);
        if (b == std::string::npos) return fail("an unterminated GLOBAL");
        auto v = make(PickleValue::kGlobal);
        v->text = p.substr(i, a - i) + "." + p.substr(a + 1, b - a - 1);
        i = b + 1;
        ok = push(v);
        break;
      }
      case 'q': case 'r': {  // BINPUT, LONG_BINPUT
        if (!take(op == 'q' ? 1 : 4, n)) return fail("truncated");
        if (stack.empty()) return fail("a memo store with an empty stack");
        if (n > p.size()) return fail("memo index " + std::to_string(n) + " in a pickle of " + std::to_string(p.size()) + " bytes");
        if (n >= memo.size()) memo.resize(n + 1);
        memo[n] = stack.back();
        memo_slots[stack.back().get()].push_back(n);
        break;
      }
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        if (!take(op == 'h' ? 1 : 4, n)) return fail("truncated");
        if (n >= memo.size() || !memo[n]) return fail("memo index " + std::to_string(n) + " read before it is stored");
        ok = push(memo[n]);
        break;
      }
      case 't': case 'l': case 'd':  // TUPLE, LIST, DICT
        if (!to_mark(items)) return fail("an unmatched MARK");
        if (op == 'd' && items.size() % 2) return fail("a dict with a key and no value");
        ok = push(make(op == 't' ? PickleValue::kTuple : op == 'l' ? PickleValue::kList : PickleValue::kDict, std::move(items)));
        break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const std::size_t count = op - 0x84u;
        if (stack.size() < count || (!marks.empty() && marks.back() > stack.size() - count)) return fail("too few operands");
        items.assign(stack.end() - static_cast<std::ptrdiff_t>(count), stack.end());
        stack.resize(stack.size() - count);
        ok = push(make(PickleValue::kTuple, std::move(items)));
        break;
      }
      case 'e': case 'u': case 'a': case 's': {  // APPENDS, SETITEMS, APPEND, SETITEM: into the container below
        if (op == 'e' || op == 'u') {
          if (marks.empty() || marks.back() == 0 || !to_mark(items)) return fail("an unmatched MARK");
        } else {
          const std::size_t count = op == 'a' ? 1 : 2;
          if (stack.size() < count + 1 || (!marks.empty() && marks.back() > stack.size() - count - 1)) return fail("too few operands");
          items.assign(stack.end() - static_cast<std::ptrdiff_t>(count), stack.end());
          stack.resize(stack.size() - count);
        }
        const bool list = op == 'e' || op == 'a';
        const PickleValue::Kind want = list ? PickleValue::kList : PickleValue::kDict;
        if (stack.back()->kind != want) return fail(list ? "an append to something that is not a list" : "a set item on something that is not a dict");
        if (!list && items.size() % 2) return fail("a dict with a key and no value");
        // Values are shared (memo): the container grows as a new value.
        auto grown = std::make_shared<PickleValue>(*stack.back());
        for (const PickleRef& item : items) grown->depth = std::max(grown->depth, item->depth + 1);
        grown->items.insert(grown->items.end(), items.begin(), items.end());
        if (const auto slots = memo_slots.find(stack.back().get()); slots != memo_slots.end()) {
          std::vector<std::size_t> moved = std::move(slots->second);
          memo_slots.erase(slots);
          for (const std::size_t slot : moved) {
            if (memo[slot] == stack.back()) memo[slot] = grown, memo_slots[grown.get()].push_back(slot);
          }
        }
        stack.back() = grown;
        ok = grown->depth <= kMaxPickleDepth;
        break;
      }
      case 'R': case 'b': case 0x81: {  // REDUCE, BUILD, NEWOBJ
        if (stack.size() < 2 || (!marks.empty() && marks.back() > stack.size() - 2)) return fail("too few operands");
        PickleRef arg = stack.back();
        stack.pop_back();
        PickleRef callee = stack.back();
        stack.pop_back();
        if (unwrap_call && callee->kind == PickleValue::kGlobal && unwrap_call(callee->text) &&
            arg->kind == PickleValue::kTuple && !arg->items.empty()) {
          ok = push(arg->items[0]);
        } else if (op == 'R' && callee->kind == PickleValue::kGlobal && callee->text == "collections.OrderedDict" &&
                   arg->kind == PickleValue::kTuple && arg->items.empty()) {
          ok = push(make(PickleValue::kDict));  // filled by SETITEMS, as torch.save writes a state_dict
        } else {
          ok = push(make(PickleValue::kCall, {callee, arg}));
        }
        break;
      }
      case 'Q': {  // BINPERSID
        if (stack.empty() || (!marks.empty() && marks.back() >= stack.size())) return fail("too few operands");
        PickleRef id = stack.back();
        stack.pop_back();
        ok = push(make(PickleValue::kPersistentId, {id}));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        return fail(std::string("opcode ") + hex + ", which cnnviz does not read");
      }
    }
    if (!ok) return fail("values nested deeper than " + std::to_string(kMaxPickleDepth) + " levels");
  }
  return fail("no STOP opcode");
}

}  // namespace cnnviz
