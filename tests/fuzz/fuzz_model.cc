// libFuzzer target: model loading on mutated TorchScript archives and torch.export (.pt2) programs.
//
// Each input is written to an in-memory file (memfd), checked with preflight_archive() (the zip pre-flight
// that runs before LibTorch sees a file) and loaded with load_model(path, kCpu), whose errors must all
// be Error(kInput/kModel). A loaded model's module tree must be consistent and the `weight` and `bias`
// of each module must be readable (module_parameter copies them, so a tensor that claims more elements
// than its storage holds shows up as an ASan report). summarize_from_archive, which reads the same archive
// without LibTorch, must answer or decline without a crash.
//
// Random bytes rarely make a zip archive, so LLVMFuzzerCustomMutator below works on the archive's
// structure: it unpacks the entries (stored or deflated), mutates the bytes of one entry (data.pkl,
// constants.pkl, code/*.py, version, ...) with LLVMFuzzerMutate, or drops, duplicates or renames one,
// and writes a consistent archive again as PyTorch does (stored, 64-byte aligned data, data
// descriptors, correct CRCs and sizes) so the input reaches the unpickler and the TorchScript compiler.
// One time in five it mutates the raw bytes instead, which exercises the pre-flight and LibTorch's own
// zip reader.
//
// Seeds: tests/fuzz/corpus/fuzz_model/ (small real exports, three .pt2 programs among them, whose
// models/model.json the mutator edits like any entry; one saved by PyTorch 2.6, whose state dict is a
// torch.save archive inside the .pt2); dictionary: tests/fuzz/fuzz_model.dict.

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cnnviz/archive_summary.h"
#include "cnnviz/model.h"
#include "cnnviz/zip_preflight.h"
#include "fuzz_check.h"

extern "C" std::size_t LLVMFuzzerMutate(uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

// ---- a minimal zip reader and writer for the mutator --------------------------------------------------

struct Entry {
  std::string name;
  std::string data;  // uncompressed
};

uint32_t le(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put(std::string& out, uint32_t v, int n) {
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

bool inflate_raw(const uint8_t* in, std::size_t in_size, std::size_t out_size, std::string& out) {
  if (out_size > (std::size_t{4} << 20)) return false;
  out.assign(out_size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return false;
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = static_cast<uInt>(in_size);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out_size);
  const int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  return rc == Z_STREAM_END && z.avail_out == 0;
}

// Reads the entries through the central directory; false if this is not an archive we can rewrite.
bool read_zip(const uint8_t* d, std::size_t n, std::vector<Entry>& entries) {
  if (n < 22) return false;
  std::size_t eocd = n - 22;
  for (;; --eocd) {
    if (le(d + eocd, 4) == 0x06054b50) break;
    if (eocd == 0 || n - eocd > 22 + 65535) return false;
  }
  const uint32_t count = le(d + eocd + 10, 2), cd_size = le(d + eocd + 12, 4), cd_offset = le(d + eocd + 16, 4);
  if (uint64_t{cd_offset} + cd_size > eocd) return false;
  std::size_t pos = cd_offset;
  for (uint32_t i = 0; i < count; ++i) {
    if (pos + 46 > cd_offset + cd_size || le(d + pos, 4) != 0x02014b50) return false;
    const uint32_t method = le(d + pos + 10, 2), csize = le(d + pos + 20, 4), usize = le(d + pos + 24, 4);
    const uint32_t name_len = le(d + pos + 28, 2), extra_len = le(d + pos + 30, 2), comment_len = le(d + pos + 32, 2);
    const uint32_t local = le(d + pos + 42, 4);
    if (pos + 46 + name_len > n) return false;
    Entry e;
    e.name.assign(reinterpret_cast<const char*>(d + pos + 46), name_len);
    if (uint64_t{local} + 30 > n || le(d + local, 4) != 0x04034b50) return false;
    const uint64_t start = uint64_t{local} + 30 + le(d + local + 26, 2) + le(d + local + 28, 2);
    if (start + csize > n) return false;
    if (method == 0) {
      if (csize != usize) return false;
      e.data.assign(reinterpret_cast<const char*>(d + start), csize);
    } else if (method == 8) {
      if (!inflate_raw(d + start, csize, usize, e.data)) return false;
    } else {
      return false;
    }
    entries.push_back(std::move(e));
    pos += 46 + name_len + extra_len + comment_len;
  }
  return !entries.empty();
}

// As PyTorch's PyTorchStreamWriter (miniz): stored entries, flags 0x0808 (data descriptor, UTF-8 names),
// an "FB" extra field of 'Z's that aligns each entry's data to 64 bytes, then the central directory.
std::string write_zip(const std::vector<Entry>& entries) {
  std::string out, cd;
  for (const Entry& e : entries) {
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size())));
    const std::size_t start = offset + 30 + e.name.size() + 4;
    const std::size_t padding = (64 - start % 64) % 64;
    put(out, 0x04034b50, 4);
    put(out, 0, 2);       // version needed
    put(out, 0x0808, 2);  // flags
    put(out, 0, 2);       // stored
    put(out, 0, 4);       // time, date
    put(out, 0, 4);       // crc, sizes: in the data descriptor
    put(out, 0, 4);
    put(out, 0, 4);
    put(out, static_cast<uint32_t>(e.name.size()), 2);
    put(out, static_cast<uint32_t>(4 + padding), 2);
    out += e.name;
    put(out, 0x4246, 2);  // "FB"
    put(out, static_cast<uint32_t>(padding), 2);
    out.append(padding, 'Z');
    out += e.data;
    put(out, 0x08074b50, 4);
    put(out, crc, 4);
    put(out, static_cast<uint32_t>(e.data.size()), 4);
    put(out, static_cast<uint32_t>(e.data.size()), 4);

    put(cd, 0x02014b50, 4);
    put(cd, 0, 2);  // version made by
    put(cd, 0, 2);  // version needed
    put(cd, 0x0808, 2);
    put(cd, 0, 2);
    put(cd, 0, 4);
    put(cd, crc, 4);
    put(cd, static_cast<uint32_t>(e.data.size()), 4);
    put(cd, static_cast<uint32_t>(e.data.size()), 4);
    put(cd, static_cast<uint32_t>(e.name.size()), 2);
    put(cd, 0, 2);  // extra
    put(cd, 0, 2);  // comment
    put(cd, 0, 2);  // disk
    put(cd, 0, 2);  // internal attributes
    put(cd, 0, 4);  // external attributes
    put(cd, offset, 4);
    cd += e.name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += cd;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);  // disk numbers
  put(out, static_cast<uint32_t>(entries.size()), 2);
  put(out, static_cast<uint32_t>(entries.size()), 2);
  put(out, static_cast<uint32_t>(cd.size()), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);  // comment
  return out;
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Which entry to mutate: mostly the ones LibTorch parses (pickles, code, version), rarely tensor data.
std::size_t pick_entry(const std::vector<Entry>& entries, std::minstd_rand& rng) {
  std::vector<unsigned> weight(entries.size());
  unsigned total = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& n = entries[i].name;
    if (ends_with(n, "/data.pkl")) weight[i] = 40;
    else if (ends_with(n, "/constants.pkl")) weight[i] = 15;
    else if (ends_with(n, "/version")) weight[i] = 8;
    else if (ends_with(n, ".py")) weight[i] = 6;
    else if (ends_with(n, ".debug_pkl")) weight[i] = 2;
    else weight[i] = 1;
    total += weight[i];
  }
  unsigned r = static_cast<unsigned>(rng() % total);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (r < weight[i]) return i;
    r -= weight[i];
  }
  return 0;
}

std::size_t raw_mutate(uint8_t* data, std::size_t size, std::size_t max_size) {
  return LLVMFuzzerMutate(data, size, max_size);
}

// ---- the target ---------------------------------------------------------------------------------------

// One in-memory file for the whole run (a memfd, so nothing is left behind when a crash ends the
// process), rewritten for each input and loaded through its /proc/self/fd path.
int scratch_fd() {
  static const int fd = ::memfd_create("cnnviz-fuzz-model.pt", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  return fd;
}

std::string scratch_path() { return "/proc/self/fd/" + std::to_string(scratch_fd()); }

void write_file(const uint8_t* data, std::size_t size) {
  const int fd = scratch_fd();
  FUZZ_CHECK(::ftruncate(fd, 0) == 0);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    FUZZ_CHECK(n > 0);
    done += static_cast<std::size_t>(n);
  }
}

void check_model(const cnnviz::Model& model) {
  const cnnviz::ModuleTree& tree = model.tree();
  FUZZ_CHECK(!tree.nodes.empty() && tree.nodes[0].parent == -1 && tree.nodes[0].depth == 0);
  for (std::size_t i = 1; i < tree.nodes.size(); ++i) {
    const cnnviz::ModuleNode& n = tree.nodes[i];
    FUZZ_CHECK(n.parent >= 0 && static_cast<std::size_t>(n.parent) < i);
    FUZZ_CHECK(n.depth == tree.nodes[static_cast<std::size_t>(n.parent)].depth + 1);
  }
  FUZZ_CHECK(tree.total_params >= 0 && tree.trainable_params >= 0 && tree.trainable_params <= tree.total_params);
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    for (const char* name : {"weight", "bias"}) {
      try {
        const cnnviz::FloatArray a = cnnviz::module_parameter(model, static_cast<int>(i), name);
        int64_t numel = 1;
        for (const int64_t d : a.shape) numel *= d;
        FUZZ_CHECK(static_cast<std::size_t>(numel) == a.values.size());
        if (std::string(name) == "weight") FUZZ_CHECK(a.shape == tree.nodes[i].weight_shape);
      } catch (const cnnviz::Error& e) {
        cnnviz::fuzz::expect_kind(e, {cnnviz::ErrorKind::kModel});
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cnnviz;
  const std::string path = scratch_path();
  write_file(data, size);
  try {
    const ArchiveInfo info = preflight_archive(path, "fuzz");
    FUZZ_CHECK(!info.entries.empty() && info.has_code && info.has_constants);
    FUZZ_CHECK(info.format_version <= ArchiveLimits{}.max_supported_version);
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kModel, ErrorKind::kInput});
    // A TorchScript archive load_model refuses the same way; a .pt2 program goes to its own runtime.
  }
  try {
    const Model model = load_model(path, DeviceKind::kCpu);
    check_model(model);
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kModel, ErrorKind::kInput});
  }
  // The instant path reads the same archive without LibTorch: an answer or nullopt, or load_model's first errors.
  try {
    SummaryRequest request;
    request.model_path = path;
    if (const std::optional<Summary> s = summarize_from_archive(request)) {
      FUZZ_CHECK(!s->records.empty() && s->stats.total_params >= 0 && s->stats.trainable_params <= s->stats.total_params);
    }
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kModel, ErrorKind::kInput});
  }
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  std::minstd_rand rng(seed);
  std::vector<Entry> entries;
  if (rng() % 5 == 0 || !read_zip(data, size, entries)) return raw_mutate(data, size, max_size);

  const unsigned op = static_cast<unsigned>(rng() % 20);
  if (op == 0 && entries.size() > 1) {
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(rng() % entries.size()));
  } else if (op == 1) {
    const std::size_t i = pick_entry(entries, rng);
    entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(rng() % (entries.size() + 1)), entries[i]);
  } else if (op == 2) {
    std::string& name = entries[rng() % entries.size()].name;
    if (name.empty()) name = "a";
    name.resize(name.size() + 8);
    name.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(name.data()), name.size() - 8, name.size()));
  } else {
    std::string& bytes = entries[pick_entry(entries, rng)].data;
    const std::size_t old_size = bytes.size();
    bytes.resize(old_size + std::min<std::size_t>(old_size + 64, 4096));
    bytes.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(bytes.data()), old_size, bytes.size()));
  }
  const std::string out = write_zip(entries);
  if (out.size() > max_size) return raw_mutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
