#include "cnnviz/zip_preflight.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

// Zip record signatures (PKWARE APPNOTE 4.3).
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;

uint64_t read_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class ArchiveReader {
 public:
  // Reads `file` through its open_name(); messages name its path().
  explicit ArchiveReader(const InputFile& file) : path_(file.path()), in_(file.open_name(), std::ios::binary) {
    if (!in_) throw Error::unreadable(path_, "permission denied or I/O error");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<int64_t>(in_.tellg());
  }

  int64_t size() const { return size_; }

  std::vector<unsigned char> read(int64_t offset, int64_t count) {
    if (offset < 0 || count < 0 || offset + count > size_) throw corrupted("an entry points outside the file");
    std::vector<unsigned char> buf(static_cast<std::size_t>(count));
    in_.clear();
    in_.seekg(offset);
    in_.read(reinterpret_cast<char*>(buf.data()), count);
    if (!in_) throw Error::unreadable(path_, "read failed");
    return buf;
  }

  Error corrupted(const std::string& why) const {
    return Error(ErrorKind::kModel, "'" + path_ + "' is a truncated or corrupted zip archive (" + why +
                                        "); copy or export the model again");
  }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t size_ = 0;
};

std::string describe_non_zip(const std::vector<unsigned char>& head) {
  auto starts = [&](const char* magic, std::size_t n) {
    return head.size() >= n && std::memcmp(head.data(), magic, n) == 0;
  };
  if (head.empty()) return "the file is empty";
  if (starts("\x89PNG", 4)) return "not a zip archive: it is a PNG image";
  if (starts("\xff\xd8\xff", 3)) return "not a zip archive: it is a JPEG image";
  if (head[0] == 0x80) return "not a zip archive: it is a legacy torch.save pickle";
  if (starts("\x1f\x8b", 2)) return "not a zip archive: it is gzip data";
  return "not a zip archive";
}

// LibTorch 1.13's unpickler trusts the pickles of an archive (data.pkl, constants.pkl, the code's
// .debug_pkl files): it reserves a string of whatever length a BINUNICODE states before reading it (a
// 4 GB allocation from a 1 kB file), grows its memo table to whatever index a LONG_BINPUT names, and
// pops and indexes its stack and mark list without checking them (undefined behaviour on an opcode
// with too few operands). Found by tests/fuzz/fuzz_model. This walks the opcodes as that unpickler
// would, without building anything, and returns what is wrong, or "" for a pickle it can read.
//
// The stack depth is tracked exactly for every opcode but BUILD and REDUCE, whose effect depends on the
// global they call: those count as "pop the callee, replace the argument", which is what every global
// torch writes does, so a pickle torch wrote is never refused.
std::string check_pickle(const std::string& p) {
  std::size_t i = 0;
  std::size_t depth = 0;
  std::vector<std::size_t> marks;  // stack depth at each open MARK
  uint64_t memo_size = 0;          // one past the largest memo index stored
  auto at = [&](std::size_t op_at) { return " at byte " + std::to_string(op_at); };
  while (i < p.size()) {
    const std::size_t op_at = i;
    const unsigned char op = static_cast<unsigned char>(p[i++]);
    auto need_bytes = [&](std::size_t n) { return n <= p.size() - i; };
    auto take = [&](int bytes) {
      uint64_t v = 0;
      for (int b = bytes - 1; b >= 0; --b) v = (v << 8) | static_cast<unsigned char>(p[i + static_cast<std::size_t>(b)]);
      i += static_cast<std::size_t>(bytes);
      return v;
    };
    auto need_stack = [&](std::size_t n) { return depth >= n; };
    auto close_mark = [&]() -> bool {  // the ops that take the items above the last MARK
      if (marks.empty() || marks.back() > depth) return false;
      depth = marks.back();
      marks.pop_back();
      return true;
    };
    std::string bad;
    switch (op) {
      case '.':  // STOP: the unpickler reads no further
        return "";
      case 0x80:  // PROTO
        if (!need_bytes(1)) bad = "truncated";
        else take(1);
        break;
      case ')': case ']': case '}': case 'N': case 0x88: case 0x89:  // empty tuple/list/dict, None, True, False
        ++depth;
        break;
      case '(':  // MARK
        marks.push_back(depth);
        break;
      case 'K':  // BININT1
      case 'M':  // BININT2
      case 'J':  // BININT
      case 'G':  // BINFLOAT
        if (!need_bytes(op == 'K' ? 1 : op == 'M' ? 2 : op == 'J' ? 4 : 8)) {
          bad = "truncated";
        } else {
          take(op == 'K' ? 1 : op == 'M' ? 2 : op == 'J' ? 4 : 8);
          ++depth;
        }
        break;
      case 0x8a: {  // LONG1: LibTorch reads an 8-byte integer
        if (!need_bytes(1)) {
          bad = "truncated";
          break;
        }
        const std::size_t n = take(1);
        if (n != 8 || !need_bytes(8)) bad = "a LONG1 of " + std::to_string(n) + " bytes";
        else take(8), ++depth;
        break;
      }
      case 'X': {  // BINUNICODE
        if (!need_bytes(4)) {
          bad = "truncated";
          break;
        }
        const uint64_t n = take(4);
        if (!need_bytes(n)) bad = "a string of " + std::to_string(n) + " bytes runs past its end";
        else i += n, ++depth;
        break;
      }
      case 'c': {  // GLOBAL: module and name, each up to a newline
        const std::size_t a = p.find('\n', i);
        const std::size_t b = a == std::string::npos ? a : p.find('\n', a + 1);
        if (b == std::string::npos) bad = "an unterminated GLOBAL";
        else i = b + 1, ++depth;
        break;
      }
      case 'q':  // BINPUT
      case 'r': {  // LONG_BINPUT: the memo table grows to the index
        if (!need_bytes(op == 'q' ? 1 : 4)) {
          bad = "truncated";
          break;
        }
        const uint64_t id = take(op == 'q' ? 1 : 4);
        if (!need_stack(1)) bad = "a memo store with an empty stack";
        else if (id > p.size()) bad = "memo index " + std::to_string(id) + " in a pickle of " + std::to_string(p.size()) + " bytes";
        else memo_size = std::max(memo_size, id + 1);
        break;
      }
      case 'h':  // BINGET
      case 'j': {  // LONG_BINGET
        if (!need_bytes(op == 'h' ? 1 : 4)) {
          bad = "truncated";
          break;
        }
        const uint64_t id = take(op == 'h' ? 1 : 4);
        if (id >= memo_size) bad = "memo index " + std::to_string(id) + " read before it is stored";
        else ++depth;
        break;
      }
      case 't':  // TUPLE
      case 'l':  // LIST
      case 'd':  // DICT
        if (!close_mark()) bad = "an unmatched MARK";
        else ++depth;
        break;
      case 'e':  // APPENDS
      case 'u':  // SETITEMS: the list or dict sits right below the MARK
        if (marks.empty() || marks.back() == 0 || !close_mark()) bad = "an unmatched MARK";
        break;
      case 0x85:  // TUPLE1
        if (!need_stack(1)) bad = "too few operands";
        break;
      case 0x86:  // TUPLE2
      case 0x87:  // TUPLE3
        if (!need_stack(op == 0x86 ? 2 : 3)) bad = "too few operands";
        else depth -= op == 0x86 ? 1 : 2;
        break;
      case 's':  // SETITEM
        if (!need_stack(3)) bad = "too few operands";
        else depth -= 2;
        break;
      case 0x81:  // NEWOBJ: drops its argument tuple
        if (!need_stack(1)) bad = "too few operands";
        else depth -= 1;
        break;
      case 'b':  // BUILD
      case 'R':  // REDUCE
        if (!need_stack(2)) bad = "too few operands";
        else depth -= 1;
        break;
      case 'Q':  // BINPERSID
        if (!need_stack(1)) bad = "too few operands";
        break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        bad = std::string("opcode ") + hex + ", which LibTorch does not read";
        break;
      }
    }
    if (!bad.empty()) return bad + at(op_at);
  }
  return "no STOP opcode";
}

// A code file's .debug_pkl maps the code back to the Python source it came from. LibTorch 1.13 reads it
// when it formats an error about that code (a compile error while loading, or a TorchScript exception
// in forward) and indexes its string table and tuples without bounds checks: a corrupted debug_pkl
// turns any such error into a crash (found by tests/fuzz/fuzz_model: tests/fuzz/corpus/fuzz_model/
// regression_debug_pkl.pt). So the pre-flight evaluates each debug_pkl (a pickle of tuples, lists,
// strings and ints) and checks what that code relies on.
struct PickleValue {
  enum Kind { kOpaque, kNone, kInt, kString, kTuple, kList, kGlobal } kind = kOpaque;
  int64_t number = 0;
  std::string text;  // a string, or a global's "module.name"
  std::vector<std::shared_ptr<PickleValue>> items;
};
using PickleRef = std::shared_ptr<PickleValue>;

// Evaluates a pickle that check_pickle() accepted; the values LibTorch would build from globals other
// than the list builders torch writes, from dicts and from persistent ids stay opaque.
PickleRef evaluate_pickle(const std::string& p) {
  std::vector<PickleRef> stack;
  std::vector<std::size_t> marks;
  std::vector<PickleRef> memo;
  auto make = [](PickleValue::Kind kind) {
    auto v = std::make_shared<PickleValue>();
    v->kind = kind;
    return v;
  };
  auto pop = [&] {
    PickleRef v = stack.back();
    stack.pop_back();
    return v;
  };
  auto take = [&](std::size_t& i, int bytes) {
    uint64_t v = 0;
    for (int b = bytes - 1; b >= 0; --b) v = (v << 8) | static_cast<unsigned char>(p[i + static_cast<std::size_t>(b)]);
    i += static_cast<std::size_t>(bytes);
    return v;
  };
  auto to_mark = [&] {
    std::vector<PickleRef> items(stack.begin() + static_cast<std::ptrdiff_t>(marks.back()), stack.end());
    stack.resize(marks.back());
    marks.pop_back();
    return items;
  };
  std::size_t i = 0;
  while (i < p.size()) {
    const unsigned char op = static_cast<unsigned char>(p[i++]);
    switch (op) {
      case '.': return stack.size() == 1 ? stack.back() : nullptr;
      case 0x80: i += 1; break;
      case '(': marks.push_back(stack.size()); break;
      case ')': stack.push_back(make(PickleValue::kTuple)); break;
      case ']': stack.push_back(make(PickleValue::kList)); break;
      case '}': case 0x88: case 0x89: stack.push_back(make(PickleValue::kOpaque)); break;
      case 'N': stack.push_back(make(PickleValue::kNone)); break;
      case 'K': case 'M': case 'J': {
        auto v = make(PickleValue::kInt);
        const uint64_t raw = take(i, op == 'K' ? 1 : op == 'M' ? 2 : 4);
        v->number = op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(raw)) : static_cast<int64_t>(raw);
        stack.push_back(v);
        break;
      }
      case 0x8a: {
        i += 1;
        auto v = make(PickleValue::kInt);
        v->number = static_cast<int64_t>(take(i, 8));
        stack.push_back(v);
        break;
      }
      case 'G': i += 8; stack.push_back(make(PickleValue::kOpaque)); break;
      case 'X': {
        const std::size_t n = take(i, 4);
        auto v = make(PickleValue::kString);
        v->text = p.substr(i, n);
        i += n;
        stack.push_back(v);
        break;
      }
      case 'c': {
        const std::size_t a = p.find('\n', i), b = p.find('\n', a + 1);
        auto v = make(PickleValue::kGlobal);
        v->text = p.substr(i, a - i) + "." + p.substr(a + 1, b - a - 1);
        i = b + 1;
        stack.push_back(v);
        break;
      }
      case 'q': case 'r': {
        const std::size_t id = take(i, op == 'q' ? 1 : 4);
        if (id >= memo.size()) memo.resize(id + 1);
        memo[id] = stack.back();
        break;
      }
      case 'h': case 'j': {
        PickleRef v = memo[take(i, op == 'h' ? 1 : 4)];
        stack.push_back(v ? v : make(PickleValue::kNone));
        break;
      }
      case 't': case 'l': {
        auto v = make(op == 't' ? PickleValue::kTuple : PickleValue::kList);
        v->items = to_mark();
        stack.push_back(v);
        break;
      }
      case 'd': to_mark(); stack.push_back(make(PickleValue::kOpaque)); break;
      case 'e': {
        const PickleRef list = stack[marks.back() - 1];
        std::vector<PickleRef> items = to_mark();
        if (list->kind != PickleValue::kList) return nullptr;  // LibTorch: not a list
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case 'u': to_mark(); break;
      case 0x85: case 0x86: case 0x87: {
        auto v = make(PickleValue::kTuple);
        v->items.assign(stack.end() - (op - 0x84), stack.end());
        stack.resize(stack.size() - (op - 0x84));
        stack.push_back(v);
        break;
      }
      case 's': stack.resize(stack.size() - 2); break;
      case 0x81: stack.pop_back(); break;
      case 'b': case 'R': {
        const PickleRef arg = pop(), callee = pop();
        const bool unwrap = callee->kind == PickleValue::kGlobal &&
                            (callee->text == "torch.jit._pickle.build_intlist" ||
                             callee->text == "torch.jit._pickle.build_tensorlist" ||
                             callee->text == "torch.jit._pickle.build_doublelist" ||
                             callee->text == "torch.jit._pickle.build_boollist" ||
                             callee->text == "torch.jit._pickle.restore_type_tag");
        stack.push_back(unwrap && arg->kind == PickleValue::kTuple && !arg->items.empty() ? arg->items[0]
                                                                                       : make(PickleValue::kOpaque));
        break;
      }
      case 'Q': stack.back() = make(PickleValue::kOpaque); break;
      default: return nullptr;
    }
  }
  return nullptr;
}

// What LibTorch 1.13's ConcreteSourceRangeUnpickler and SourceRangeDeserializer read from a debug_pkl
// without checking; "" if it is all there.
std::string check_debug_pickle(const PickleRef& root) {
  auto is = [](const PickleRef& v, PickleValue::Kind kind, std::size_t min_items = 0) {
    return v && v->kind == kind && v->items.size() >= min_items;
  };
  if (!is(root, PickleValue::kTuple)) return "not a tuple";
  std::size_t table = 0;
  const std::vector<PickleRef>* lines = &root->items;
  if (root->items.size() == 3 && is(root->items[0], PickleValue::kString) &&
      root->items[0]->text == "FORMAT_WITH_STRING_TABLE") {
    if (!is(root->items[1], PickleValue::kTuple) || !is(root->items[2], PickleValue::kTuple)) return "a malformed string table";
    for (const PickleRef& s : root->items[1]->items) {
      if (!is(s, PickleValue::kString)) return "a string table entry that is not a string";
      ++table;
    }
    lines = &root->items[2]->items;
  }
  const bool with_table = lines != &root->items;
  for (const PickleRef& line : *lines) {
    if (!is(line, PickleValue::kTuple, 2) || !is(line->items[0], PickleValue::kInt)) return "a malformed record";
    const PickleRef& range = line->items[1];
    if (!is(range, PickleValue::kTuple, 3) || range->items.size() != 3 || !is(range->items[1], PickleValue::kInt) ||
        !is(range->items[2], PickleValue::kInt)) {
      return "a malformed source range";
    }
    const PickleRef& source = range->items[0];
    if (!is(source, PickleValue::kTuple, 3)) return "a malformed source";
    if (with_table) {
      if (!is(source->items[0], PickleValue::kList) || !is(source->items[1], PickleValue::kInt) ||
          !is(source->items[2], PickleValue::kInt)) {
        return "a malformed source";
      }
      auto in_table = [&](const PickleRef& v) {
        return is(v, PickleValue::kInt) && v->number >= 0 && static_cast<uint64_t>(v->number) < table;
      };
      if (!in_table(source->items[1])) return "a file name index outside its string table";
      for (const PickleRef& piece : source->items[0]->items) {
        if (!in_table(piece)) return "a text index outside its string table";
      }
    } else {
      if (!is(source->items[0], PickleValue::kString) || !is(source->items[2], PickleValue::kInt) ||
          !(is(source->items[1], PickleValue::kString) || is(source->items[1], PickleValue::kNone))) {
        return "a malformed source";
      }
    }
  }
  return "";
}

}  // namespace

ArchiveInfo preflight_archive(const std::string& path, const std::string& libtorch_version,
                              const ArchiveLimits& limits) {
  const InputFile file(path, kModelFile);
  return preflight_archive(file, libtorch_version, limits);
}

ArchiveInfo preflight_archive(const InputFile& file, const std::string& libtorch_version, const ArchiveLimits& limits) {
  const std::string& path = file.path();
  ArchiveReader reader(file);
  const int64_t size = reader.size();
  auto head = reader.read(0, std::min<int64_t>(size, 8));
  if (head.size() < 4 || read_le(head.data(), 4) != kLocalHeader) {
    throw Error::not_torchscript(path, describe_non_zip(head));
  }

  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const int64_t tail_len = std::min<int64_t>(size, 22 + 65535);
  auto tail = reader.read(size - tail_len, tail_len);
  int64_t eocd = -1;
  for (int64_t i = tail_len - 22; i >= 0; --i) {
    if (read_le(&tail[static_cast<std::size_t>(i)], 4) == kEndOfCentralDir) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw reader.corrupted("no end-of-central-directory record");
  const unsigned char* e = &tail[static_cast<std::size_t>(eocd)];
  uint64_t entry_count = read_le(e + 10, 2);
  uint64_t cd_size = read_le(e + 12, 4);
  uint64_t cd_offset = read_le(e + 16, 4);
  if (entry_count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    // Zip64: the locator sits 20 bytes before the classic record.
    const int64_t locator = size - tail_len + eocd - 20;
    if (locator < 0) throw reader.corrupted("missing zip64 locator");
    auto loc = reader.read(locator, 20);
    if (read_le(loc.data(), 4) != kZip64Locator) throw reader.corrupted("missing zip64 locator");
    auto rec = reader.read(static_cast<int64_t>(read_le(loc.data() + 8, 8)), 56);
    if (read_le(rec.data(), 4) != kZip64EndOfCentralDir) throw reader.corrupted("bad zip64 record");
    entry_count = read_le(rec.data() + 32, 8);
    cd_size = read_le(rec.data() + 40, 8);
    cd_offset = read_le(rec.data() + 48, 8);
  }
  if (entry_count > limits.max_entries) {
    throw Error(ErrorKind::kModel, "'" + path + "' has " + std::to_string(entry_count) +
                                       " zip entries, more than the limit of " +
                                       std::to_string(limits.max_entries) + "; this is not a model cnnviz reads");
  }
  if (cd_offset + cd_size > static_cast<uint64_t>(size)) throw reader.corrupted("central directory beyond end of file");
  auto cd = reader.read(static_cast<int64_t>(cd_offset), static_cast<int64_t>(cd_size));

  ArchiveInfo info;
  struct Located {
    std::string name;
    uint64_t offset, csize, usize;
    uint16_t method;
  };
  std::vector<Located> located;
  std::size_t pos = 0;
  for (uint64_t i = 0; i < entry_count; ++i) {
    if (pos + 46 > cd.size() || read_le(&cd[pos], 4) != kCentralHeader) throw reader.corrupted("bad central directory entry");
    const unsigned char* c = &cd[pos];
    Located l;
    l.method = static_cast<uint16_t>(read_le(c + 10, 2));
    l.csize = read_le(c + 20, 4);
    l.usize = read_le(c + 24, 4);
    const std::size_t name_len = read_le(c + 28, 2), extra_len = read_le(c + 30, 2), comment_len = read_le(c + 32, 2);
    l.offset = read_le(c + 42, 4);
    if (pos + 46 + name_len + extra_len + comment_len > cd.size()) throw reader.corrupted("bad central directory entry");
    l.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // Zip64 extended information: 64-bit sizes/offset for fields saturated at 0xffffffff.
    std::size_t x = pos + 46 + name_len;
    const std::size_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint64_t id = read_le(&cd[x], 2), len = read_le(&cd[x + 2], 2);
      if (x + 4 + len > x_end) break;
      if (id == 0x0001) {
        std::size_t f = x + 4;
        auto take = [&](uint64_t& field) {
          if (field == 0xffffffff && f + 8 <= x + 4 + len) {
            field = read_le(&cd[f], 8);
            f += 8;
          }
        };
        take(l.usize);
        take(l.csize);
        take(l.offset);
      }
      x += 4 + len;
    }
    if (l.name.find("..") != std::string::npos) throw reader.corrupted("entry name '" + l.name + "' escapes the archive");
    if (l.offset + 30 > static_cast<uint64_t>(size) || l.offset + l.csize > static_cast<uint64_t>(size)) {
      throw reader.corrupted("entry '" + l.name + "' lies beyond the end of the file");
    }
    info.entries.push_back(l.name);
    located.push_back(l);
    pos += 46 + name_len + extra_len + comment_len;
  }
  if (located.empty()) throw Error::not_torchscript(path, "an empty zip archive");

  const std::string& first = located.front().name;
  info.prefix = first.substr(0, first.find('/'));
  const std::string p = info.prefix + "/";
  for (const auto& l : located) {
    if (l.name.rfind(p + "code/", 0) == 0) info.has_code = true;
    if (l.name == p + "constants.pkl") info.has_constants = true;
    if ((l.name == p + "version" || l.name == p + ".data/version") && l.method == 0 && l.usize < 32) {
      auto local = reader.read(static_cast<int64_t>(l.offset), 30);
      if (read_le(local.data(), 4) != kLocalHeader) throw reader.corrupted("bad local header for '" + l.name + "'");
      const int64_t data_at = static_cast<int64_t>(l.offset) + 30 + static_cast<int64_t>(read_le(local.data() + 26, 2)) +
                              static_cast<int64_t>(read_le(local.data() + 28, 2));
      auto text = reader.read(data_at, static_cast<int64_t>(l.usize));
      std::string s(text.begin(), text.end());
      try {
        info.format_version = std::stoll(s);
      } catch (const std::exception&) {
        throw reader.corrupted("unreadable version record '" + s + "'");
      }
    }
  }
  // Every pickle and code file LibTorch may read, stored or deflated as miniz reads them.
  auto ends_with = [](const std::string& name, const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return text;
  };
  const std::string code_dir = lower(p + "code/");
  // Its zip lookups ignore case. Other entries (extra/ files) are not read by LibTorch, nor checked.
  for (const auto& l : located) {
    const std::string lower_name = lower(l.name);
    const bool in_code = lower_name.rfind(code_dir, 0) == 0;
    const bool code = in_code && ends_with(lower_name, ".py");
    const bool debug = in_code && ends_with(lower_name, ".debug_pkl");
    const bool pickle = debug || lower_name == lower(p + "data.pkl") || lower_name == lower(p + "constants.pkl");
    if (!(code || pickle) || (l.method != 0 && l.method != 8)) continue;
    auto local = reader.read(static_cast<int64_t>(l.offset), 30);
    if (read_le(local.data(), 4) != kLocalHeader) throw reader.corrupted("bad local header for '" + l.name + "'");
    const int64_t data_at = static_cast<int64_t>(l.offset) + 30 + static_cast<int64_t>(read_le(local.data() + 26, 2)) +
                            static_cast<int64_t>(read_le(local.data() + 28, 2));
    if (l.usize > (uint64_t{1} << 32) || l.csize > static_cast<uint64_t>(size)) throw reader.corrupted("entry '" + l.name + "' is too large");
    const auto raw = reader.read(data_at, static_cast<int64_t>(l.csize));
    std::string bytes;
    if (l.method == 0) {
      bytes.assign(raw.begin(), raw.end());
    } else {
      bytes.assign(static_cast<std::size_t>(l.usize), '\0');
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error(ErrorKind::kResource, "cannot check '" + path + "': out of memory");
      z.next_in = const_cast<Bytef*>(raw.data());
      z.avail_in = static_cast<uInt>(raw.size());
      z.next_out = reinterpret_cast<Bytef*>(bytes.data());
      z.avail_out = static_cast<uInt>(bytes.size());
      const int rc = inflate(&z, Z_FINISH);
      const bool whole = rc == Z_STREAM_END && z.avail_out == 0;
      inflateEnd(&z);
      if (!whole) throw reader.corrupted("entry '" + l.name + "' does not inflate to its size");
    }
    if (code) {
      info.code_files.emplace_back(l.name, std::move(bytes));
      continue;
    }
    std::string problem = check_pickle(bytes);
    if (!problem.empty()) throw reader.corrupted("'" + l.name + "' is not a pickle LibTorch can read: " + problem);
    if (debug) {
      problem = check_debug_pickle(evaluate_pickle(bytes));
      if (!problem.empty()) throw reader.corrupted("'" + l.name + "' is debug information with " + problem);
    }
  }

  bool has_data_pkl = std::any_of(located.begin(), located.end(), [&](const Located& l) { return l.name == p + "data.pkl"; });
  if (!has_data_pkl) throw Error::not_torchscript(path, "a zip archive without data.pkl");
  if (!info.has_code || !info.has_constants) {
    throw Error::not_torchscript(path, "a zip archive with no TorchScript code: a state_dict or tensors saved with torch.save?");
  }
  // LibTorch 1.13's archive reader throws from its constructor without a version record, or with a
  // version below 1, and then never frees the zip state it built (found by tests/fuzz/fuzz_model as a
  // LeakSanitizer report): refuse those here, with a clearer message.
  const bool has_version = std::any_of(located.begin(), located.end(), [&](const Located& l) {
    return l.name == p + "version" || l.name == p + ".data/version";
  });
  if (!has_version) throw reader.corrupted("no version record");
  if (info.format_version != -1 && info.format_version < 1) {
    throw reader.corrupted("version record '" + std::to_string(info.format_version) + "'");
  }
  if (info.format_version > limits.max_supported_version) {
    throw Error(ErrorKind::kModel,
                "'" + path + "' was written by a newer PyTorch (archive format version " +
                    std::to_string(info.format_version) + "); this cnnviz runs on LibTorch " + libtorch_version +
                    ", which reads format versions up to " + std::to_string(limits.max_supported_version) +
                    ": re-export the model with that PyTorch version or rebuild cnnviz against a newer LibTorch");
  }
  return info;
}

}  // namespace cnnviz
