// summarize_from_archive(): the summaries a model file answers by itself, read without LibTorch.
//
// TorchScript: the module objects are data.pkl's objects (GLOBAL class, NEWOBJ, a dict of the slots,
// BUILD), their tensors `_rebuild_tensor_v2` calls on persistent ids of data/N records; which slot is a
// submodule, a parameter or a buffer, and their order, are in the class definitions of code/ (what
// LibTorch's importer reads to make the class types). The tree is built as module_tree.cc builds it from
// the loaded torch::jit::Module, and the rows and totals by the same functions the full path uses.
//
// torch.export programs: archive_summary_export.cc.
//
// Everything not read exactly as LibTorch reads it declines (nullopt), and the caller loads the model.

#include "cnnviz/archive_summary.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <zlib.h>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"
#include "cnnviz/pickle.h"
#include "cnnviz/zip_archive.h"
#include "cnnviz/zip_preflight.h"
#include "summary/archive_summary_impl.h"

namespace cnnviz {
namespace {

// kJitOperatorNames: this LibTorch's operators, written at build time (src/tools/op_table.cc).
#define CNNVIZ_WANT_JIT_OPERATOR_NAMES
#include "op_table.inc"

using archive_summary::Decline;
using archive_summary::decline;
using archive_summary::check_local_header;

// ---- the class definitions of code/ -----------------------------------------------------------------

struct ClassDef {
  bool is_module = false;
  std::vector<std::string> parameters;
  std::vector<std::string> buffers;
  std::vector<std::pair<std::string, std::string>> attributes;  // name, type, in declaration order
  std::map<std::string, std::string> constants;                 // name -> value text (Final)
  std::vector<std::pair<std::string, std::vector<std::string>>> methods;  // name, body lines
};

std::string trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const std::size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

std::size_t indent_of(const std::string& line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// `["weight", "bias", ]` as its strings.
std::vector<std::string> string_list(const std::string& text) {
  const std::string t = trim(text);
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') decline("a malformed name list");
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i < t.size() - 1) {
    const char c = t[i];
    if (c == ' ' || c == ',') {
      ++i;
      continue;
    }
    if (c != '"') decline("a malformed name list");
    const std::size_t end = t.find('"', i + 1);
    if (end == std::string::npos) decline("a malformed name list");
    const std::string name = t.substr(i + 1, end - i - 1);
    if (name.find('\\') != std::string::npos) decline("an escaped name");
    out.push_back(name);
    i = end + 1;
  }
  return out;
}

// The classes of one code file (`code/__torch__/a/b.py` defines `__torch__.a.b.<Class>`).
void parse_code_file(const std::string& module, const std::string& text, std::map<std::string, ClassDef>& classes) {
  std::vector<std::string> lines;
  {
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = text.find('\n', start);
      lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  ClassDef* cls = nullptr;
  std::vector<std::string>* method = nullptr;
  for (const std::string& raw : lines) {
    if (trim(raw).empty()) continue;
    const std::size_t indent = indent_of(raw);
    const std::string line = trim(raw);
    if (indent == 0) {
      cls = nullptr;
      method = nullptr;
      if (line.rfind("class ", 0) == 0 && line.find('(') == std::string::npos) {
        // A TorchScript class that is no module (`class ImageList:`): only its name matters here.
        const std::string name = trim(line.substr(6, line.size() - 7));
        if (line.back() != ':' || !is_identifier(name)) decline("a class line it does not read: " + line);
        const std::string qualified = module + "." + name;
        if (classes.count(qualified)) decline("class " + qualified + " defined twice");
        cls = &classes[qualified];
      } else if (line.rfind("class ", 0) == 0) {
        const std::size_t open = line.find('(');
        const std::size_t close = line.find(')');
        if (open == std::string::npos || close == std::string::npos || close < open || line.back() != ':') decline("a class line it does not read: " + line);
        const std::string name = trim(line.substr(6, open - 6));
        const std::string base = trim(line.substr(open + 1, close - open - 1));
        if (!is_identifier(name)) decline("a class name it does not read");
        const std::string qualified = module + "." + name;
        if (classes.count(qualified)) decline("class " + qualified + " defined twice");
        cls = &classes[qualified];
        cls->is_module = base == "Module";
      }
      // Imports, functions and their bodies: not class definitions.
      continue;
    }
    if (!cls) continue;  // a function body
    if (indent == 2) {
      method = nullptr;
      if (line.rfind("def ", 0) == 0) {
        const std::size_t open = line.find('(');
        if (open == std::string::npos) decline("a method line it does not read");
        cls->methods.emplace_back(trim(line.substr(4, open - 4)), std::vector<std::string>{});
        method = &cls->methods.back().second;
        continue;
      }
      if (line.rfind("__parameters__ = ", 0) == 0) {
        cls->parameters = string_list(line.substr(17));
        continue;
      }
      if (line.rfind("__buffers__ = ", 0) == 0) {
        cls->buffers = string_list(line.substr(14));
        continue;
      }
      if (line.rfind("__forward_pre_hooks__ = ", 0) == 0 || line.rfind("__forward_hooks__ = ", 0) == 0) continue;
      if (line.rfind("__annotations__[\"", 0) == 0) {
        const std::size_t end = line.find("\"] = ", 17);
        if (end == std::string::npos) decline("an annotation it does not read");
        const std::string name = line.substr(17, end - 17);
        if (name.find_first_of("\\\"") != std::string::npos) decline("an escaped attribute name");
        cls->attributes.emplace_back(name, trim(line.substr(end + 5)));
        continue;
      }
      const std::size_t colon = line.find(" : ");
      if (colon == std::string::npos || !is_identifier(line.substr(0, colon))) decline("a class body line it does not read: " + line);
      const std::string name = line.substr(0, colon);
      const std::string rest = line.substr(colon + 3);
      if (rest.rfind("Final[", 0) == 0) {
        const std::size_t eq = rest.find("] = ");
        if (eq == std::string::npos) decline("a constant it does not read");
        cls->constants[name] = trim(rest.substr(eq + 4));
        continue;
      }
      if (rest.find(" = ") != std::string::npos) decline("an attribute with a value: " + line);
      cls->attributes.emplace_back(name, trim(rest));
      continue;
    }
    if (!method) decline("an indented line outside a method");
    method->push_back(raw);
  }
}

// "__torch__.a.b" for "<prefix>/code/__torch__/a/b.py".
std::string module_of_code_file(const std::string& entry, const std::string& prefix) {
  const std::string head = prefix + "/code/";
  if (entry.rfind(head, 0) != 0 || entry.size() < head.size() + 3 || entry.compare(entry.size() - 3, 3, ".py") != 0) return "";
  std::string m = entry.substr(head.size(), entry.size() - head.size() - 3);
  std::replace(m.begin(), m.end(), '/', '.');
  return m;
}

// The Python class a TorchScript class name stands for (module_tree.cc's python_class_name).
std::string python_class_name(std::string name) {
  const std::string mangle = "___torch_mangle_";
  for (std::size_t at = name.find(mangle); at != std::string::npos; at = name.find(mangle, at)) {
    std::size_t end = at + mangle.size();
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end > at + mangle.size() && end < name.size() && name[end] == '.') {
      name.erase(at, end + 1 - at);
    } else {
      at = end;
    }
  }
  const std::string prefix = "__torch__.";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// ---- operators ------------------------------------------------------------------------------------

const std::unordered_set<std::string>& jit_operator_names() {
  static const std::unordered_set<std::string> names(std::begin(kJitOperatorNames), std::end(kJitOperatorNames));
  return names;
}

bool identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// LibTorch compiles the code as it loads it and refuses a builtin it does not have ("Unknown builtin op:
// aten::relx"): every `torch.NAME(` (aten::NAME) and `ops.NS.NAME(` (NS::NAME) must be one of its
// operators. Other calls (methods, torch.backends.* sugar) are not checked here.
void check_operators(const std::string& text) {
  const std::unordered_set<std::string>& known = jit_operator_names();
  for (const char* head : {"torch.", "ops."}) {
    const std::size_t head_size = std::strlen(head);
    for (std::size_t at = text.find(head); at != std::string::npos; at = text.find(head, at + 1)) {
      if (at > 0 && (identifier_char(text[at - 1]) || text[at - 1] == '.')) continue;
      std::size_t end = at + head_size;
      while (end < text.size() && (identifier_char(text[end]) || text[end] == '.')) ++end;
      if (end >= text.size() || text[end] != '(') continue;
      const std::string name = text.substr(at + head_size, end - at - head_size);
      std::string op;
      if (head_size == 6) {
        if (name.find('.') != std::string::npos) continue;
        op = "aten::" + name;
      } else {
        const std::size_t dot = name.find('.');
        if (dot == std::string::npos || name.find('.', dot + 1) != std::string::npos) decline("a call it does not read: ops." + name);
        op = name.substr(0, dot) + "::" + name.substr(dot + 1);
      }
      if (!known.count(op)) decline("the operator " + op + ", which this LibTorch does not have");
    }
  }
}


// What LibTorch's zip reader (miniz) checks of the central directory as it opens an archive, beyond
// ZipArchive's checks: one disk, no zip64 (declined), no encryption or patch flags, stored entries with one
// size, every entry's data inside the file. Read from the file's own bytes; a decline where it differs.
std::map<std::string, uint32_t> check_central_directory_as_miniz(const InputFile& file) {
  std::map<std::string, uint32_t> crcs;
  std::set<std::string> lower_names;
  std::ifstream in(file.open_name(), std::ios::binary);
  const int64_t size = file.size();
  const int64_t tail_len = std::min<int64_t>(size, 22 + 65535);
  std::string tail(static_cast<std::size_t>(tail_len), '\0');
  in.seekg(static_cast<std::streamoff>(size - tail_len));
  if (!in.read(tail.data(), tail_len)) decline("an unreadable end of the file");
  auto le = [](const std::string& b, std::size_t at, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)]);
    return v;
  };
  std::size_t eocd = std::string::npos;
  for (std::size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;) {
    if (le(tail, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) decline("no end of central directory");
  const uint64_t this_disk = le(tail, eocd + 4, 2), cd_disk = le(tail, eocd + 6, 2);
  const uint64_t on_disk = le(tail, eocd + 8, 2), total = le(tail, eocd + 10, 2);
  const uint64_t cd_size = le(tail, eocd + 12, 4), cd_offset = le(tail, eocd + 16, 4);
  if (this_disk != 0 || cd_disk != 0 || on_disk != total || total == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    decline("a multi-disk or zip64 central directory");
  }
  // PyTorch writes a zip64 end record and its locator (just before the end record) whatever the size:
  // miniz then reads the directory's place and count from it, so they must say the same.
  if (eocd >= 20 && le(tail, eocd - 20, 4) == 0x07064b50) {
    const uint64_t record_at = le(tail, eocd - 20 + 8, 8), disks = le(tail, eocd - 20 + 16, 4);
    if (disks != 1 || record_at > static_cast<uint64_t>(size) - 56) decline("a malformed zip64 locator");
    std::string record(56, '\0');
    in.seekg(static_cast<std::streamoff>(record_at));
    if (!in.read(record.data(), 56) || le(record, 0, 4) != 0x06064b50 || le(record, 4, 8) < 44) decline("a malformed zip64 end record");
    if (le(record, 16, 4) != 0 || le(record, 20, 4) != 0 || le(record, 24, 8) != on_disk || le(record, 32, 8) != total ||
        le(record, 40, 8) != cd_size || le(record, 48, 8) != cd_offset) {
      decline("a zip64 end record that disagrees with the end record");
    }
  }
  if (cd_size < total * 46 || cd_offset + cd_size > static_cast<uint64_t>(size)) decline("a central directory outside the file");
  std::string cd(static_cast<std::size_t>(cd_size), '\0');
  in.seekg(static_cast<std::streamoff>(cd_offset));
  if (!in.read(cd.data(), static_cast<std::streamsize>(cd_size))) decline("an unreadable central directory");
  std::size_t p = 0;
  for (uint64_t k = 0; k < total; ++k) {
    if (cd.size() - p < 46 || le(cd, p, 4) != 0x02014b50) decline("a malformed central directory");
    const uint64_t flags = le(cd, p + 8, 2), method = le(cd, p + 10, 2);
    const uint64_t comp = le(cd, p + 20, 4), decomp = le(cd, p + 24, 4);
    const uint64_t name = le(cd, p + 28, 2), extra = le(cd, p + 30, 2), comment = le(cd, p + 32, 2);
    const uint64_t disk = le(cd, p + 34, 2), local = le(cd, p + 42, 4);
    if (comp == 0xFFFFFFFF || decomp == 0xFFFFFFFF || local == 0xFFFFFFFF) decline("a zip64 entry");
    if ((method == 0 && decomp != comp) || (decomp != 0 && comp == 0)) decline("an entry with inconsistent sizes");
    if (disk != 0 && disk != 1) decline("a multi-disk entry");
    if (local + 30 + comp > static_cast<uint64_t>(size)) decline("an entry beyond the end of the file");
    if (flags & (0x1 | 0x20 | 0x40 | 0x2000)) decline("an encrypted or patched entry");
    if (method != 0 && method != 8) decline("an entry with compression method " + std::to_string(method));
    const uint64_t header = 46 + name + extra + comment;
    if (header > cd.size() - p) decline("a malformed central directory");
    // LibTorch looks names up without regard to case: two entries it cannot tell apart may not be the one read here.
    const std::string entry_name = cd.substr(p + 46, static_cast<std::size_t>(name));
    std::string lower = entry_name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!lower_names.insert(lower).second) decline("two entries named '" + entry_name + "'");
    crcs[entry_name] = static_cast<uint32_t>(le(cd, p + 16, 4));
    p += static_cast<std::size_t>(header);
  }
  return crcs;
}

// An entry this path relies on must hold the bytes PyTorch wrote: its CRC-32 must match (LibTorch does not
// check it, so a file whose code or pickles were damaged may fail there in ways no reading here foresees).
void check_crc(const std::map<std::string, uint32_t>& crcs, const std::string& name, const std::string& bytes) {
  const auto it = crcs.find(name);
  if (it == crcs.end()) decline("entry '" + name + "' is not in the central directory");
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t at = 0; at < bytes.size(); at += 1u << 30) {
    const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n));
  }
  if (static_cast<uint32_t>(crc) != it->second) decline("entry '" + name + "' does not match its CRC-32");
}

// ---- tensors --------------------------------------------------------------------------------------

struct TensorFacts {
  std::vector<int64_t> sizes;
  int64_t numel = 1;
  int64_t element_size = 0;
  bool requires_grad = false;
  std::string storage_type;  // "torch.FloatStorage"
  std::string storage_key;
  int64_t offset = 0;
  bool contiguous = true;
};

int64_t storage_element_size(const std::string& global) {
  static const std::map<std::string, int64_t> sizes = {
      {"torch.FloatStorage", 4},  {"torch.DoubleStorage", 8}, {"torch.HalfStorage", 2},
      {"torch.BFloat16Storage", 2}, {"torch.LongStorage", 8}, {"torch.IntStorage", 4},
      {"torch.ShortStorage", 2},  {"torch.CharStorage", 1},   {"torch.ByteStorage", 1},
      {"torch.BoolStorage", 1},   {"torch.ComplexFloatStorage", 8}, {"torch.ComplexDoubleStorage", 16}};
  const auto it = sizes.find(global);
  return it == sizes.end() ? 0 : it->second;
}

int64_t checked_mul(int64_t a, int64_t b) {
  if (a < 0 || b < 0) decline("a negative size");
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) decline("a size that overflows");
  return a * b;
}

int64_t checked_add(int64_t a, int64_t b) {
  if (a < 0 || b < 0 || a > std::numeric_limits<int64_t>::max() - b) decline("a size that overflows");
  return a + b;
}

bool is_tensor(const PickleRef& v) {
  return is_kind(v, PickleValue::kCall, 2) && is_kind(v->items[0], PickleValue::kGlobal) &&
         v->items[0]->text == "torch._utils._rebuild_tensor_v2";
}

// Reads the tensors of one pickle (data.pkl or constants.pkl) whose storages lie under `storage_dir`,
// checking each against its record as load_checks.cc checks the loaded tensor against its buffer.
class TensorReader {
 public:
  TensorReader(const InputFile& file, ZipArchive& zip, std::string storage_dir) : file_(file), zip_(zip), dir_(std::move(storage_dir)) {}

  const TensorFacts& facts(const PickleRef& v) {
    if (const auto it = cache_.find(v.get()); it != cache_.end()) return it->second;
    if (!is_tensor(v)) decline("a tensor it does not read");
    const PickleRef& args = v->items[1];
    if (!is_kind(args, PickleValue::kTuple, 5) || args->items.size() > 6) decline("a tensor it does not read");
    const PickleRef& pid = args->items[0];
    if (!is_kind(pid, PickleValue::kPersistentId, 1)) decline("a tensor without a storage");
    const PickleRef& s = pid->items[0];
    if (!is_kind(s, PickleValue::kTuple, 5) || s->items.size() != 5 || !is_kind(s->items[0], PickleValue::kString) ||
        s->items[0]->text != "storage" || !is_kind(s->items[1], PickleValue::kGlobal) ||
        !is_kind(s->items[2], PickleValue::kString) || !is_kind(s->items[3], PickleValue::kString) ||
        !is_kind(s->items[4], PickleValue::kInt)) {
      decline("a storage it does not read");
    }
    const int64_t element_size = storage_element_size(s->items[1]->text);
    if (element_size == 0) decline("storage type " + s->items[1]->text);
    if (s->items[3]->text != "cpu") decline("a storage saved on " + s->items[3]->text);
    const std::string& key = s->items[2]->text;
    const int64_t storage_numel = s->items[4]->number;
    if (storage_numel < 0) decline("a negative storage size");
    // One key is one storage: its type and size must agree wherever it is named.
    if (const auto seen = storages_.find(key); seen != storages_.end()) {
      if (seen->second != std::make_pair(element_size, storage_numel)) decline("storage " + key + " named with two types or sizes");
    } else {
      const ZipEntry* record = zip_.find(dir_ + key);
      if (!record) decline("no record for storage " + key);
      if (static_cast<uint64_t>(checked_mul(storage_numel, element_size)) > record->size) decline("storage " + key + " is shorter than its size");
      // Not read (that is the point): stored, so its size is what LibTorch's read gives, with a sound local header.
      if (record->method != 0 || record->compressed_size != record->size) decline("a compressed storage record");
      check_local_header(file_, *record);
      storages_.emplace(key, std::make_pair(element_size, storage_numel));
    }
    const PickleRef& offset = args->items[1];
    const PickleRef& size = args->items[2];
    const PickleRef& stride = args->items[3];
    const PickleRef& grad = args->items[4];
    if (!is_kind(offset, PickleValue::kInt) || !is_kind(size, PickleValue::kTuple) || !is_kind(stride, PickleValue::kTuple) ||
        size->items.size() != stride->items.size() || !is_kind(grad, PickleValue::kBool)) {
      decline("a tensor it does not read");
    }
    if (args->items.size() == 6 && !is_kind(args->items[5], PickleValue::kDict) ) decline("a tensor with hooks");
    if (args->items.size() == 6 && !args->items[5]->items.empty()) decline("a tensor with hooks");
    TensorFacts f;
    f.element_size = element_size;
    f.storage_type = s->items[1]->text;
    f.storage_key = key;
    f.offset = offset->number;
    f.requires_grad = grad->number != 0;
    int64_t extent = 0;  // last element's index past the offset
    for (std::size_t d = 0; d < size->items.size(); ++d) {
      if (!is_kind(size->items[d], PickleValue::kInt) || !is_kind(stride->items[d], PickleValue::kInt)) decline("a tensor it does not read");
      const int64_t n = size->items[d]->number;
      const int64_t st = stride->items[d]->number;
      if (n < 0 || st < 0) decline("a negative size or stride");
      f.sizes.push_back(n);
      f.numel = checked_mul(f.numel, n);
      if (n > 0) extent = checked_add(extent, checked_mul(n - 1, st));
    }
    int64_t expected = 1;
    for (std::size_t d = f.sizes.size(); d-- > 0;) {
      if (f.sizes[d] != 1 && stride->items[d]->number != expected) f.contiguous = false;
      expected = checked_mul(expected, f.sizes[d]);
    }
    if (offset->number < 0) decline("a negative storage offset");
    if (f.numel > 0 && checked_add(checked_add(offset->number, extent), 1) > storage_numel) decline("a tensor outside its storage");
    return cache_.emplace(v.get(), std::move(f)).first->second;
  }

 private:
  const InputFile& file_;
  ZipArchive& zip_;
  std::string dir_;
  std::unordered_map<const PickleValue*, TensorFacts> cache_;
  std::map<std::string, std::pair<int64_t, int64_t>> storages_;
};

// Reads (and so checks) every tensor inside `root`, each shared value once.
void check_every_tensor(const PickleRef& root, TensorReader& reader) {
  std::unordered_set<const PickleValue*> seen;
  std::vector<const PickleRef*> todo = {&root};
  while (!todo.empty()) {
    const PickleRef& v = *todo.back();
    todo.pop_back();
    if (!v || !seen.insert(v.get()).second) continue;
    if (is_tensor(v)) {
      reader.facts(v);
      continue;
    }
    if (is_kind(v, PickleValue::kCall, 2) && is_kind(v->items[0], PickleValue::kGlobal) && v->items[0]->text.rfind("torch.", 0) == 0 &&
        v->items[0]->text != "torch.jit._pickle.restore_type_tag") {
      decline("a call of " + v->items[0]->text);  // another tensor rebuild (quantized, sparse, ...)
    }
    if (v->kind == PickleValue::kPersistentId) decline("a persistent id outside a tensor");
    for (const PickleRef& item : v->items) todo.push_back(&item);
  }
}

// ---- the module objects ---------------------------------------------------------------------------

// A module object of data.pkl: its class and its slots.
struct Object {
  std::string qualified;  // "__torch__.torch.nn.modules.conv.Conv2d"
  const ClassDef* cls = nullptr;
  std::vector<std::pair<std::string, PickleRef>> slots;  // in the class's attribute order
};

bool is_list_builder(const std::string& global) {
  return global == "torch.jit._pickle.build_intlist" || global == "torch.jit._pickle.build_tensorlist" ||
         global == "torch.jit._pickle.build_doublelist" || global == "torch.jit._pickle.build_boollist" ||
         global == "torch.jit._pickle.restore_type_tag";
}

// Whether `v` is a built object: kCall{kCall{GLOBAL, ()}, state}.
bool is_object(const PickleRef& v) {
  return is_kind(v, PickleValue::kCall, 2) && is_kind(v->items[0], PickleValue::kCall, 2) &&
         is_kind(v->items[0]->items[0], PickleValue::kGlobal) && v->items[0]->items[0]->text.rfind("__torch__.", 0) == 0;
}

class TreeBuilder {
 public:
  TreeBuilder(const std::map<std::string, ClassDef>& classes, TensorReader& tensors) : classes_(classes), tensors_(tensors) {}

  const Object& object(const PickleRef& v) {
    if (const auto it = objects_.find(v.get()); it != objects_.end()) return it->second;
    if (!is_object(v)) decline("a module that is not an object it reads");
    const PickleRef& newobj = v->items[0];
    if (!is_kind(newobj->items[1], PickleValue::kTuple) || !newobj->items[1]->items.empty()) decline("an object built with arguments");
    Object o;
    o.qualified = newobj->items[0]->text;
    const auto cls = classes_.find(o.qualified);
    if (cls == classes_.end()) decline("class " + o.qualified + " is not defined in code/");
    o.cls = &cls->second;
    if (!o.cls->is_module) decline("class " + o.qualified + " is not a module");
    for (const auto& method : o.cls->methods) {
      if (method.first == "__setstate__" || method.first == "__getstate__") decline("class " + o.qualified + " has " + method.first);
    }
    const PickleRef& state = v->items[1];
    if (!is_kind(state, PickleValue::kDict)) decline("an object whose state is not a dict");
    const auto& attrs = o.cls->attributes;
    if (state->items.size() != 2 * attrs.size()) decline("an object whose slots differ from its class");
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      const PickleRef& key = state->items[2 * i];
      if (!is_kind(key, PickleValue::kString) || key->text != attrs[i].first) decline("an object whose slots differ from its class");
      o.slots.emplace_back(attrs[i].first, state->items[2 * i + 1]);
    }
    for (const std::string& p : o.cls->parameters) {
      if (std::none_of(attrs.begin(), attrs.end(), [&](const auto& a) { return a.first == p; })) decline("a parameter that is not an attribute");
    }
    for (const std::string& b : o.cls->buffers) {
      if (std::none_of(attrs.begin(), attrs.end(), [&](const auto& a) { return a.first == b; })) decline("a buffer that is not an attribute");
    }
    return objects_.emplace(v.get(), std::move(o)).first->second;
  }

  // Whether slot `i` of `o` is a submodule (its declared type is a module class); checks the value.
  bool is_module_slot(const Object& o, std::size_t i) {
    const std::string& type = o.cls->attributes[i].second;
    const auto cls = classes_.find(type);
    const bool module_type = cls != classes_.end() && cls->second.is_module;
    const PickleRef& value = o.slots[i].second;
    if (module_type != is_object(value)) {
      if (module_type || is_kind(value, PickleValue::kCall)) decline("attribute '" + o.slots[i].first + "' of " + o.qualified + " of type " + type);
    }
    if (module_type && value->items[0]->items[0]->text != type) decline("a module attribute of another class than declared");
    if (!module_type && type.find("__torch__.") != std::string::npos) decline("an attribute of type " + type);
    return module_type;
  }

  static bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  // named_parameters(recurse=true) of a module, as torch::jit::Module's slot iterator yields them.
  void named_parameters(const PickleRef& v, const std::string& prefix, std::vector<std::pair<std::string, PickleRef>>& out, int depth) {
    if (depth > 200) decline("modules nested too deep");
    if (++steps_ > 50000000) decline("a module graph too large to walk");
    const Object& o = object(v);
    for (std::size_t i = 0; i < o.slots.size(); ++i) {
      const std::string& name = o.slots[i].first;
      const PickleRef& value = o.slots[i].second;
      if (is_module_slot(o, i)) {
        named_parameters(value, prefix + name + ".", out, depth + 1);
      } else if (contains(o.cls->parameters, name)) {
        if (is_kind(value, PickleValue::kNone)) continue;
        if (!is_tensor(value)) decline("parameter '" + name + "' is not a tensor");
        out.emplace_back(prefix + name, value);
      }
    }
  }

  void buffers(const PickleRef& v, std::vector<PickleRef>& out, int depth) {
    if (depth > 200) decline("modules nested too deep");
    if (++steps_ > 50000000) decline("a module graph too large to walk");
    const Object& o = object(v);
    for (std::size_t i = 0; i < o.slots.size(); ++i) {
      const std::string& name = o.slots[i].first;
      const PickleRef& value = o.slots[i].second;
      if (is_module_slot(o, i)) {
        buffers(value, out, depth + 1);
      } else if (contains(o.cls->buffers, name)) {
        // LibTorch's buffer policy: declared a buffer and of type Tensor (an Optional[Tensor] one is not listed).
        if (o.cls->attributes[i].second != "Tensor") continue;
        if (!is_tensor(value)) decline("buffer '" + name + "' is not a tensor");
        out.push_back(value);
      }
    }
  }

  // named_modules(): pre-order over module slots, no deduplication (torch::jit::Module's).
  void named_modules(const PickleRef& v, const std::string& path, std::vector<std::pair<std::string, PickleRef>>& out, int depth) {
    if (depth > 200) decline("modules nested too deep");
    if (out.size() > 100000) decline("too many modules");
    out.emplace_back(path, v);
    const Object& o = object(v);
    for (std::size_t i = 0; i < o.slots.size(); ++i) {
      if (is_module_slot(o, i)) named_modules(o.slots[i].second, path.empty() ? o.slots[i].first : path + "." + o.slots[i].first, out, depth + 1);
    }
  }

  TensorReader& tensors() { return tensors_; }

 private:
  const std::map<std::string, ClassDef>& classes_;
  TensorReader& tensors_;
  std::unordered_map<const PickleValue*, Object> objects_;
  int64_t steps_ = 0;  // module visits: shared submodules are walked once per path
};

// ---- kernel sizes (module_tree.cc's find_kernel_size) ----------------------------------------------

// A constant's or attribute's text as an int or a tuple/list of ints; nullopt for other values, and a
// decline for text it cannot tell.
std::optional<KernelSize> kernel_from_text(const std::string& text) {
  const std::string t = trim(text);
  auto parse_int = [](const std::string& s, int64_t& out) {
    const std::string x = trim(s);
    if (x.empty()) return false;
    std::size_t i = x[0] == '-' ? 1 : 0;
    if (i == x.size()) return false;
    for (std::size_t j = i; j < x.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(x[j]))) return false;
    }
    if (x.size() > 18) return false;
    out = std::stoll(x);
    return true;
  };
  KernelSize k;
  int64_t n = 0;
  if (parse_int(t, n)) {
    k.dims = {n};
    k.is_scalar = true;
    return k;
  }
  if (t.size() >= 2 && ((t.front() == '(' && t.back() == ')') || (t.front() == '[' && t.back() == ']'))) {
    std::string inner = t.substr(1, t.size() - 2);
    std::size_t start = 0;
    while (start < inner.size()) {
      std::size_t comma = inner.find(',', start);
      if (comma == std::string::npos) comma = inner.size();
      const std::string item = trim(inner.substr(start, comma - start));
      start = comma + 1;
      if (item.empty()) continue;
      if (!parse_int(item, n)) return std::nullopt;  // a tuple with something else: not a kernel size
      k.dims.push_back(n);
    }
    if (k.dims.empty()) decline("an empty kernel size");
    return k;
  }
  if (t == "None" || t == "True" || t == "False" || (!t.empty() && t.front() == '"')) return std::nullopt;
  decline("a kernel_size it does not read: " + t);
}

std::optional<KernelSize> kernel_from_value(const PickleRef& v) {
  KernelSize k;
  if (is_kind(v, PickleValue::kInt)) {
    k.dims = {v->number};
    k.is_scalar = true;
    return k;
  }
  if (is_kind(v, PickleValue::kTuple) || is_kind(v, PickleValue::kList)) {
    if (v->items.empty()) decline("an empty kernel size");
    for (const PickleRef& e : v->items) {
      if (!is_kind(e, PickleValue::kInt)) {
        if (v->kind == PickleValue::kList && !is_kind(e, PickleValue::kFloat) && !is_kind(e, PickleValue::kBool)) decline("a kernel_size list it does not read");
        return std::nullopt;
      }
      k.dims.push_back(e->number);
    }
    return k;
  }
  if (is_kind(v, PickleValue::kNone) || is_kind(v, PickleValue::kBool) || is_kind(v, PickleValue::kFloat) || is_kind(v, PickleValue::kString) || is_tensor(v)) {
    return std::nullopt;
  }
  decline("a kernel_size it does not read");
}

// The arguments of the call that starts at `open` (just past its '('), split at top-level commas.
std::vector<std::string> call_arguments(const std::string& text, std::size_t open) {
  std::vector<std::string> args;
  int level = 0;
  std::string cur;
  for (std::size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' ) decline("a string inside a pool call");
    if (c == '(' || c == '[') ++level;
    if (c == ')' || c == ']') {
      if (level == 0) {
        if (!trim(cur).empty()) args.push_back(trim(cur));
        return args;
      }
      --level;
    }
    if (c == ',' && level == 0) {
      args.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  decline("an unterminated call");
}

// A traced pool's kernel, from its forward code's first `torch.<pool>(x, [k, k], ...)` (the first
// aten pooling node of the forward graph, as pool_kernel_from_graph reads it).
std::optional<KernelSize> pool_kernel_from_code(const ClassDef& cls) {
  for (const auto& [name, body] : cls.methods) {
    if (name.rfind("forward", 0) != 0) continue;
    for (const std::string& raw : body) {
      const std::string line = trim(raw);
      // The graph's top level only (the signature's continuation lines are indented 4 too): blocks are not read.
      if (indent_of(raw) > 4 || line.rfind("if ", 0) == 0 || line.rfind("for ", 0) == 0 || line.rfind("while ", 0) == 0 ||
          line.rfind("with ", 0) == 0) {
        decline("a pool whose forward has blocks");
      }
      // A pooling function of code/ (LibTorch may inline it into the graph): only adaptive ones, which
      // the graph rule skips, are read.
      for (std::size_t at = line.find("__torch__."); at != std::string::npos; at = line.find("__torch__.", at + 1)) {
        std::size_t end = at;
        while (end < line.size() && (identifier_char(line[end]) || line[end] == '.')) ++end;
        const std::string function = line.substr(at, end - at);
        if (function.find("pool") != std::string::npos && function.find("adaptive") == std::string::npos) decline("a pool calling a pooling function");
      }
      for (std::size_t at = line.find("torch."); at != std::string::npos; at = line.find("torch.", at + 1)) {
        if (at > 0 && (identifier_char(line[at - 1]) || line[at - 1] == '.')) continue;
        std::size_t end = at + 6;
        while (end < line.size() && (identifier_char(line[end]) || line[end] == '.')) ++end;
        if (end >= line.size() || line[end] != '(') continue;
        std::string op = line.substr(at + 6, end - at - 6);
        if (op.rfind("_C._nn.", 0) == 0) op = op.substr(7);
        if (op.find('.') != std::string::npos) {
          if (op.find("pool") != std::string::npos) decline("a pooling call it does not read");
          continue;
        }
        if (op.find("pool") == std::string::npos || op.find("adaptive") != std::string::npos) continue;
        const std::vector<std::string> args = call_arguments(line, end + 1);
        if (args.size() < 2) return std::nullopt;
        const std::string& k = args[1];
        if (k.size() < 2 || k.front() != '[' || k.back() != ']') decline("a pool kernel that is not a literal list");
        std::optional<KernelSize> parsed = kernel_from_text(k);
        if (!parsed) decline("a pool kernel that is not a literal list");
        KernelSize ks = *parsed;
        ks.is_scalar = false;
        if (std::all_of(ks.dims.begin(), ks.dims.end(), [&](int64_t d) { return d == ks.dims[0]; })) {
          ks.dims.erase(ks.dims.begin() + 1, ks.dims.end());
          ks.is_scalar = true;
        }
        return ks;
      }
    }
  }
  return std::nullopt;
}

bool is_exact_weight_or_bias(const std::string& name) { return name == "weight" || name == "bias"; }
bool mentions_weight_or_bias(const std::string& name) {
  return name.find("weight") != std::string::npos || name.find("bias") != std::string::npos;
}

// ---- frozen models ----------------------------------------------------------------------------------

// Float tensors of one shape whose values are equal (at::equal): LibTorch's constant pooling may merge
// them while it compiles the code, so they are declined rather than guessed.
class PoolingCheck {
 public:
  PoolingCheck(const InputFile& file, ZipArchive& zip, std::string dir) : file_(file), zip_(zip), dir_(std::move(dir)) {}

  bool may_be_pooled(const TensorFacts& a, const TensorFacts& b) {
    if (a.storage_type != "torch.FloatStorage" || b.storage_type != a.storage_type || !a.contiguous || !b.contiguous) return true;
    // Their first values tell most pairs apart without reading either whole.
    if (head(a) != head(b)) return false;
    return values(a) == values(b);  // element-wise ==, as at::equal compares (NaN unequal)
  }

 private:
  std::vector<float> head(const TensorFacts& t) {
    const ZipEntry* record = zip_.find(dir_ + t.storage_key);
    if (!record || record->method != 0) decline("a constant's record");
    const uint64_t at = check_local_header(file_, *record) + static_cast<uint64_t>(t.offset) * 4;
    std::vector<float> v(static_cast<std::size_t>(std::min<int64_t>(t.numel, 16)));
    std::ifstream in(file_.open_name(), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(at));
    if (!v.empty() && !in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4))) decline("a constant outside its record");
    return v;
  }

  const std::vector<float>& values(const TensorFacts& t) {
    if (const auto it = cache_.find(&t); it != cache_.end()) return it->second;
    const ZipEntry* record = zip_.find(dir_ + t.storage_key);
    if (!record || record->size > (uint64_t{1} << 31)) decline("a constant's record");
    const std::string bytes = zip_.read(*record);
    const auto first = static_cast<std::size_t>(t.offset) * 4;
    const auto count = static_cast<std::size_t>(t.numel);
    if (first + count * 4 > bytes.size()) decline("a constant outside its record");
    std::vector<float> v(count);
    if (count > 0) std::memcpy(v.data(), bytes.data() + first, count * 4);
    return cache_.emplace(&t, std::move(v)).first->second;
  }

  const InputFile& file_;
  ZipArchive& zip_;
  std::string dir_;
  std::map<const TensorFacts*, std::vector<float>> cache_;
};

// module_tree.cc's count_frozen_constants: the distinct tensor constants of the root's methods' graphs.
void count_frozen_constants(const ClassDef& root, const InputFile& file, ZipArchive& zip, const std::string& prefix, ModuleTree& tree) {
  std::vector<std::size_t> used;
  for (const auto& [name, body] : root.methods) {
    for (const std::string& raw : body) {
      const std::string line = trim(raw);
      // Constants inside blocks are nodes of those blocks, not of the graph's top level.
      if (indent_of(raw) > 4 && line.find("CONSTANTS.") != std::string::npos) decline("a frozen forward with constants in blocks");
      if (line.find("__torch__.") != std::string::npos && line.rfind("def ", 0) != 0) {
        // A call into other code: its constants are in other graphs.
        if (line.find("self:") == std::string::npos) decline("a frozen forward that calls other code");
      }
      for (std::size_t at = line.find("CONSTANTS.c"); at != std::string::npos; at = line.find("CONSTANTS.c", at + 1)) {
        std::size_t end = at + 11;
        while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
        if (end == at + 11 || end - at - 11 > 9) decline("a constant it does not read");
        const std::size_t index = static_cast<std::size_t>(std::stoul(line.substr(at + 11, end - at - 11)));
        if (std::find(used.begin(), used.end(), index) == used.end()) used.push_back(index);
      }
    }
  }
  if (used.empty()) return;
  const ZipEntry* entry = zip.find(prefix + "/constants.pkl");
  if (!entry || entry->size > (uint64_t{1} << 30)) decline("no constants.pkl");
  std::string error;
  const PickleRef constants = evaluate_pickle(zip.read(*entry), error, is_list_builder);
  if (!is_kind(constants, PickleValue::kTuple)) decline("a constants.pkl it does not read");
  TensorReader reader(file, zip, prefix + "/constants/");
  std::vector<PickleRef> distinct;
  for (const std::size_t index : used) {
    if (index >= constants->items.size()) decline("a constant index outside constants.pkl");
    const PickleRef& t = constants->items[index];
    if (!is_tensor(t)) decline("a constant that is not a tensor");
    if (std::find(distinct.begin(), distinct.end(), t) == distinct.end()) distinct.push_back(t);
  }
  std::vector<const TensorFacts*> facts;
  for (const PickleRef& t : distinct) facts.push_back(&reader.facts(t));
  PoolingCheck pooling(file, zip, prefix + "/constants/");
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    for (std::size_t j = i + 1; j < distinct.size(); ++j) {
      if (facts[i]->sizes == facts[j]->sizes && facts[i]->element_size == facts[j]->element_size &&
          pooling.may_be_pooled(*facts[i], *facts[j])) {
        decline("frozen constants of one shape, which LibTorch may pool");
      }
    }
  }
  for (const TensorFacts* f : facts) {
    tree.constant_tensors += 1;
    tree.constant_elements += f->numel;
    tree.constant_bytes += f->numel * f->element_size;
  }
}

// ---- TorchScript ----------------------------------------------------------------------------------

Summary summarize_torchscript(const SummaryRequest& request, const InputFile& file, ZipArchive& zip) {
  if (!request.inputs.empty()) decline("inputs: the model must run");
  ArchiveInfo archive;
  try {
    archive = preflight_archive(zip, CNNVIZ_OP_TABLE_LIBTORCH);
  } catch (const Error& e) {
    decline(std::string("the pre-flight refuses it: ") + e.what());
  }
  const std::string& prefix = archive.prefix;
  const std::map<std::string, uint32_t> crcs = check_central_directory_as_miniz(file);
  // Every entry LibTorch reads as it loads, but the tensors' data: the code, its debug pickles, the pickles.
  for (const auto& [name, text] : archive.code_files) check_crc(crcs, name, text);
  for (const ZipEntry& e : zip.entries()) {
    const bool debug = e.name.rfind(prefix + "/code/", 0) == 0 && e.name.size() > 10 && e.name.compare(e.name.size() - 10, 10, ".debug_pkl") == 0;
    if (debug || e.name == prefix + "/version" || e.name == prefix + "/byteorder") check_crc(crcs, e.name, zip.read(e));
  }
  if (const ZipEntry* order = zip.find(prefix + "/byteorder")) {
    if (order->size > 16 || zip.read(*order) != "little") decline("a byte order other than little");
  }
  std::map<std::string, ClassDef> classes;
  for (const auto& [name, text] : archive.code_files) {
    const std::string module = module_of_code_file(name, prefix);
    if (module.empty()) decline("a code file named " + name);
    parse_code_file(module, text, classes);
    check_operators(text);
  }

  const ZipEntry* data = zip.find(prefix + "/data.pkl");
  if (!data || data->size > (uint64_t{1} << 30)) decline("no data.pkl");
  std::string error;
  const std::string data_bytes = zip.read(*data);
  check_crc(crcs, data->name, data_bytes);
  const PickleRef root = evaluate_pickle(data_bytes, error, is_list_builder);
  if (!root) decline("data.pkl: " + error);

  TensorReader tensors(file, zip, prefix + "/data/");
  // LibTorch's load checks every tensor the module holds, at any depth, and the graphs' constants, against
  // its storage (load_checks.cc): so does this, on every tensor of data.pkl and constants.pkl.
  check_every_tensor(root, tensors);
  if (const ZipEntry* constants = zip.find(prefix + "/constants.pkl")) {
    if (constants->size > (uint64_t{1} << 30)) decline("a constants.pkl too large");
    const std::string constants_bytes = zip.read(*constants);
    check_crc(crcs, constants->name, constants_bytes);
    const PickleRef table = evaluate_pickle(constants_bytes, error, is_list_builder);
    if (!table) decline("constants.pkl: " + error);
    TensorReader constant_tensors(file, zip, prefix + "/constants/");
    check_every_tensor(table, constant_tensors);
  }
  TreeBuilder builder(classes, tensors);
  std::vector<std::pair<std::string, PickleRef>> modules;
  builder.named_modules(root, "", modules, 0);

  ModuleTree tree;
  std::unordered_map<std::string, int> index_of_path;
  for (const auto& [path, value] : modules) {
    const Object& o = builder.object(value);
    ModuleNode node;
    node.path = path;
    const std::size_t last_dot = o.qualified.rfind('.');
    node.class_name = o.qualified.substr(last_dot + 1);
    node.qualified_class = python_class_name(o.qualified);
    const auto dot = path.rfind('.');
    node.var_name = path.empty() ? node.class_name : path.substr(dot == std::string::npos ? 0 : dot + 1);
    node.depth = path.empty() ? 0 : 1 + static_cast<int>(std::count(path.begin(), path.end(), '.'));
    if (!path.empty()) {
      const std::string parent = dot == std::string::npos ? "" : path.substr(0, dot);
      auto it = index_of_path.find(parent);
      node.parent = it == index_of_path.end() ? 0 : it->second;
    }
    node.is_leaf = true;
    for (std::size_t i = 0; i < o.slots.size(); ++i) {
      if (builder.is_module_slot(o, i)) node.is_leaf = false;
    }
    std::vector<std::pair<std::string, PickleRef>> params;
    builder.named_parameters(value, "", params, 0);
    std::unordered_set<const PickleValue*> seen;
    for (const auto& [name, tensor] : params) {
      if (!seen.insert(tensor.get()).second) continue;
      const TensorFacts& f = tensors.facts(tensor);
      node.num_params += f.numel;
      if (f.requires_grad) node.trainable_params += f.numel;
      node.param_bytes += f.numel * f.element_size;
      if (is_exact_weight_or_bias(name)) {
        node.weight_bias_params += f.numel;
      } else if (mentions_weight_or_bias(name)) {
        node.other_weight_bias_params += f.numel;
      }
    }
    // find_kernel_size: a `kernel_size` attribute or class constant, a convolution's weight, a pool's graph.
    const PickleRef* weight = nullptr;
    const PickleRef* kernel_attr = nullptr;
    for (const auto& [name, v] : o.slots) {
      if (name == "weight") weight = &v;
      if (name == "kernel_size") kernel_attr = &v;
    }
    const auto kernel_const = o.cls->constants.find("kernel_size");
    if (kernel_attr) {
      node.kernel_size = kernel_from_value(*kernel_attr);
    } else if (kernel_const != o.cls->constants.end()) {
      node.kernel_size = kernel_from_text(kernel_const->second);
    }
    if (o.cls->constants.count("weight")) decline("a constant named weight");
    const bool weight_tensor = weight && is_tensor(*weight);
    if (weight_tensor) node.weight_shape = tensors.facts(*weight).sizes;
    if (!node.kernel_size) {
      if (node.class_name.find("Conv") != std::string::npos && weight_tensor && node.weight_shape.size() >= 3) {
        node.kernel_size = KernelSize{std::vector<int64_t>(node.weight_shape.begin() + 2, node.weight_shape.end()), false};
      } else if (node.class_name.find("Pool") != std::string::npos) {
        node.kernel_size = pool_kernel_from_code(*o.cls);
      }
    }
    // node.conv is for `cnnviz layers`, not printed by a summary: left unset.
    const int index = static_cast<int>(tree.nodes.size());
    index_of_path[node.path] = index;
    tree.nodes.push_back(std::move(node));
  }

  std::vector<std::pair<std::string, PickleRef>> params;
  builder.named_parameters(root, "", params, 0);
  std::unordered_set<const PickleValue*> seen;
  for (const auto& [name, tensor] : params) {
    if (!seen.insert(tensor.get()).second) continue;
    const TensorFacts& f = tensors.facts(tensor);
    tree.total_params += f.numel;
    if (f.requires_grad) tree.trainable_params += f.numel;
    tree.param_bytes += f.numel * f.element_size;
  }
  std::vector<PickleRef> buffers;
  builder.buffers(root, buffers, 0);
  for (const PickleRef& b : buffers) tree.buffer_count += tensors.facts(b).numel;

  if (tree.nodes.size() == 1 && tree.total_params == 0) {
    count_frozen_constants(*builder.object(root).cls, file, zip, prefix, tree);
    tree.frozen = tree.constant_tensors > 0;
    tree.total_params = tree.nodes[0].num_params = tree.constant_elements;
    tree.param_bytes = tree.nodes[0].param_bytes = tree.constant_bytes;
  }

  Summary summary;
  summary.context = summary_context(request, file.size(), archive.format_version, tree, "cpu", {});
  summary.records = build_layer_records_without_input(tree);
  summary.stats = compute_summary_stats(summary.records, tree, {});
  return summary;
}

}  // namespace

namespace archive_summary {

// ZipArchive::read's check of a stored entry that is not read here: a sound local header, and the data
// inside the file (an archive at the start of its file, as both model formats are).
uint64_t check_local_header(const InputFile& file, const ZipEntry& entry) {
  std::ifstream in(file.open_name(), std::ios::binary);
  unsigned char h[30] = {};
  in.seekg(static_cast<std::streamoff>(entry.offset));
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) decline("a local header past the end");
  auto le = [&](int at, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | h[at + k];
    return v;
  };
  if (le(0, 4) != 0x04034b50) decline("a bad local header");
  const uint64_t at = entry.offset + 30 + le(26, 2) + le(28, 2);
  const auto size = static_cast<uint64_t>(file.size());
  if (at > size || entry.compressed_size > size - at) decline("an entry beyond the end of the file");
  return at;
}

}  // namespace archive_summary

std::optional<Summary> summarize_from_archive(const SummaryRequest& request, std::string* why_not) {
  auto no = [&](const std::string& why) -> std::optional<Summary> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  if (request.device != DeviceKind::kCpu) return no("a device other than the CPU");
  if (request.count_flops) return no("FLOPs: the model must run");
  // The same first steps as load_model, so a missing file or a non-archive gives the same Error.
  const InputFile file(request.model_path, kModelFile);
  ZipArchive zip(file);
  try {
    if (archive_summary::is_export_archive(zip)) return archive_summary::summarize_export(request, file, zip);
    return summarize_torchscript(request, file, zip);
  } catch (const Decline& d) {
    return no(d.why);
  } catch (const Error& e) {
    return no(e.what());
  }
}

}  // namespace cnnviz
