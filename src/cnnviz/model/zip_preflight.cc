#include "cnnviz/zip_preflight.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/pickle.h"
#include "cnnviz/zip_archive.h"

namespace cnnviz {
namespace {

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
bool is_list_builder(const std::string& global) {
  return global == "torch.jit._pickle.build_intlist" || global == "torch.jit._pickle.build_tensorlist" ||
         global == "torch.jit._pickle.build_doublelist" || global == "torch.jit._pickle.build_boollist" ||
         global == "torch.jit._pickle.restore_type_tag";
}

// What LibTorch 1.13's ConcreteSourceRangeUnpickler and SourceRangeDeserializer read from a debug_pkl
// without checking; "" if it is all there.
std::string check_debug_pickle(const PickleRef& root) {
  if (!is_kind(root, PickleValue::kTuple)) return "not a tuple";
  std::size_t table = 0;
  const std::vector<PickleRef>* lines = &root->items;
  if (root->items.size() == 3 && is_kind(root->items[0], PickleValue::kString) &&
      root->items[0]->text == "FORMAT_WITH_STRING_TABLE") {
    if (!is_kind(root->items[1], PickleValue::kTuple) || !is_kind(root->items[2], PickleValue::kTuple)) return "a malformed string table";
    for (const PickleRef& s : root->items[1]->items) {
      if (!is_kind(s, PickleValue::kString)) return "a string table entry that is not a string";
      ++table;
    }
    lines = &root->items[2]->items;
  }
  const bool with_table = lines != &root->items;
  for (const PickleRef& line : *lines) {
    if (!is_kind(line, PickleValue::kTuple, 2) || !is_kind(line->items[0], PickleValue::kInt)) return "a malformed record";
    const PickleRef& range = line->items[1];
    if (!is_kind(range, PickleValue::kTuple, 3) || range->items.size() != 3 || !is_kind(range->items[1], PickleValue::kInt) ||
        !is_kind(range->items[2], PickleValue::kInt)) {
      return "a malformed source range";
    }
    const PickleRef& source = range->items[0];
    if (!is_kind(source, PickleValue::kTuple, 3)) return "a malformed source";
    if (with_table) {
      if (!is_kind(source->items[0], PickleValue::kList) || !is_kind(source->items[1], PickleValue::kInt) ||
          !is_kind(source->items[2], PickleValue::kInt)) {
        return "a malformed source";
      }
      auto in_table = [&](const PickleRef& v) {
        return is_kind(v, PickleValue::kInt) && v->number >= 0 && static_cast<uint64_t>(v->number) < table;
      };
      if (!in_table(source->items[1])) return "a file name index outside its string table";
      for (const PickleRef& piece : source->items[0]->items) {
        if (!in_table(piece)) return "a text index outside its string table";
      }
    } else {
      if (!is_kind(source->items[0], PickleValue::kString) || !is_kind(source->items[2], PickleValue::kInt) ||
          !(is_kind(source->items[1], PickleValue::kString) || is_kind(source->items[1], PickleValue::kNone))) {
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
  ZipArchive zip(file, limits.max_entries);
  return preflight_archive(zip, libtorch_version, limits);
}

ArchiveInfo preflight_archive(ZipArchive& zip, const std::string& libtorch_version, const ArchiveLimits& limits) {
  const std::string& path = zip.path();
  const auto& located = zip.entries();
  if (located.empty()) throw Error::not_torchscript(path, "an empty zip archive");

  ArchiveInfo info;
  for (const ZipEntry& l : located) info.entries.push_back(l.name);
  info.prefix = zip.prefix();
  const std::string p = info.prefix + "/";
  for (const ZipEntry& l : located) {
    if (l.name.rfind(p + "code/", 0) == 0) info.has_code = true;
    if (l.name == p + "constants.pkl") info.has_constants = true;
    if ((l.name == p + "version" || l.name == p + ".data/version") && l.method == 0 && l.size < 32) {
      const std::string s = zip.read(l);
      try {
        info.format_version = std::stoll(s);
      } catch (const std::exception&) {
        throw zip.corrupted("unreadable version record '" + s + "'");
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
  for (const ZipEntry& l : located) {
    const std::string lower_name = lower(l.name);
    const bool in_code = lower_name.rfind(code_dir, 0) == 0;
    const bool code = in_code && ends_with(lower_name, ".py");
    const bool debug = in_code && ends_with(lower_name, ".debug_pkl");
    const bool pickle = debug || lower_name == lower(p + "data.pkl") || lower_name == lower(p + "constants.pkl");
    if (!(code || pickle) || (l.method != 0 && l.method != 8)) continue;
    if (l.size > (uint64_t{1} << 32) || l.compressed_size > static_cast<uint64_t>(zip.file_size())) {
      throw zip.corrupted("entry '" + l.name + "' is too large");
    }
    std::string bytes = zip.read(l);
    if (code) {
      info.code_files.emplace_back(l.name, std::move(bytes));
      continue;
    }
    std::string problem = check_pickle(bytes);
    if (!problem.empty()) throw zip.corrupted("'" + l.name + "' is not a pickle LibTorch can read: " + problem);
    if (debug) {
      std::string error;
      const PickleRef root = evaluate_pickle(bytes, error, is_list_builder);
      problem = root ? check_debug_pickle(root) : error;
      if (!problem.empty()) throw zip.corrupted("'" + l.name + "' is debug information with " + problem);
    }
  }

  bool has_data_pkl = std::any_of(located.begin(), located.end(), [&](const ZipEntry& l) { return l.name == p + "data.pkl"; });
  if (!has_data_pkl) throw Error::not_torchscript(path, "a zip archive without data.pkl");
  if (!info.has_code || !info.has_constants) {
    throw Error::not_torchscript(path, "a zip archive with no TorchScript code: a state_dict or tensors saved with torch.save?");
  }
  // LibTorch 1.13's archive reader throws from its constructor without a version record, or with a
  // version below 1, and then never frees the zip state it built (found by tests/fuzz/fuzz_model as a
  // LeakSanitizer report): refuse those here, with a clearer message.
  const bool has_version = std::any_of(located.begin(), located.end(), [&](const ZipEntry& l) {
    return l.name == p + "version" || l.name == p + ".data/version";
  });
  if (!has_version) throw zip.corrupted("no version record");
  if (info.format_version != -1 && info.format_version < 1) {
    throw zip.corrupted("version record '" + std::to_string(info.format_version) + "'");
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
