// The bad-input battery: every command fed broken files and paths. Each run must exit with a
// documented code (never 1, an internal error, and never a signal or a hang), print a few lines on
// stderr without a stack trace, and leave no partial or temporary file behind; an existing output
// must survive a failed run untouched.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <random>
#include <set>

#include "test_env.h"

using cnnviz::test::model_path;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;
namespace fs = std::filesystem;

namespace {

// The exit codes of docs/cli.md, less 0 (success) and 1 (internal error).
const std::set<int> kDocumentedFailures = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

// One command line with slots for its model, image and output paths.
struct Command {
  const char* name;
  bool takes_image;
  std::vector<std::string> (*args)(const std::string& model, const std::string& image, const std::string& output);
};

const Command kCommands[] = {
    {"summary", false, [](const std::string& m, const std::string&, const std::string&) {
       return std::vector<std::string>{"summary", m, "--input", "1,3,32,32"};
     }},
    {"layers", false, [](const std::string& m, const std::string&, const std::string&) {
       return std::vector<std::string>{"layers", m, "--input", "1,3,32,32"};
     }},
    {"kernels", false, [](const std::string& m, const std::string&, const std::string& o) {
       return std::vector<std::string>{"kernels", m, "--layer", "features.0", "-o", o};
     }},
    {"features", true, [](const std::string& m, const std::string& i, const std::string& o) {
       return std::vector<std::string>{"features", m, i, "--input", "1,3,32,32", "--layer", "features.0", "-o", o};
     }},
    {"features --all-layers", true, [](const std::string& m, const std::string& i, const std::string& o) {
       // --all-layers takes a directory: the one the output file would go to.
       return std::vector<std::string>{"features", m, i, "--input", "1,3,32,32", "--all-layers", fs::path(o).parent_path().string()};
     }},
    {"gradcam", true, [](const std::string& m, const std::string& i, const std::string& o) {
       return std::vector<std::string>{"gradcam", m, i, "--input", "1,3,32,32", "-o", o};
     }},
    {"saliency", true, [](const std::string& m, const std::string& i, const std::string& o) {
       return std::vector<std::string>{"saliency", m, i, "--input", "1,3,32,32", "-o", o};
     }},
    {"maximize", false, [](const std::string& m, const std::string&, const std::string& o) {
       return std::vector<std::string>{"maximize", m, "--layer", "features.0", "--input", "1,3,32,32", "--steps", "1", "-o", o};
     }},
    {"report", true, [](const std::string& m, const std::string& i, const std::string& o) {
       return std::vector<std::string>{"report", m, i, "--input", "1,3,32,32", "-o", o};
     }},
    // Several models: the broken one second, after a good one.
    {"summary of several models", false, [](const std::string& m, const std::string&, const std::string&) {
       return std::vector<std::string>{"summary", model_path("tiny_cnn.script.pt"), m, "--input", "1,3,32,32", "--format", "json"};
     }},
    {"summary --write-expect-file", false, [](const std::string& m, const std::string&, const std::string& o) {
       return std::vector<std::string>{"summary", model_path("tiny_cnn.script.pt"), m, "--input", "1,3,32,32", "--write-expect-file", o};
     }},
    {"diff (old)", false, [](const std::string& m, const std::string&, const std::string&) {
       return std::vector<std::string>{"diff", m, model_path("tiny_cnn.script.pt"), "--input", "1,3,32,32"};
     }},
    {"diff (new)", false, [](const std::string& m, const std::string&, const std::string&) {
       return std::vector<std::string>{"diff", model_path("tiny_cnn.script.pt"), m, "--input", "1,3,32,32", "--format", "json"};
     }},
};

// The commands that write only to stdout.
bool stdout_only(const Command& c) {
  const std::string name = c.name;
  return name == "summary" || name == "layers" || name == "summary of several models" || name.rfind("diff", 0) == 0;
}

// CNNVIZ_BATTERY_SAMPLE=1 (scripts/test sets it for the sanitizer stage, where each run costs seconds)
// runs each broken input with one command, in turn, rather than with every command: every input and every
// command still run, in fewer combinations. The Release stages run them all.
bool sampled() {
  const char* s = std::getenv("CNNVIZ_BATTERY_SAMPLE");
  return s != nullptr && std::string(s) == "1";
}

// Whether the pair (command `c`, input `i`) runs: all pairs, or one command per input when sampled.
bool runs(std::size_t c, std::size_t i, std::size_t commands) { return !sampled() || (c + commands - i % commands) % commands == 0; }

std::string describe(const std::vector<std::string>& args) {
  std::string s = "cnnviz";
  for (const auto& a : args) s += " " + (a.size() > 80 ? a.substr(0, 40) + "..." + a.substr(a.size() - 20) : a);
  return s;
}

// A failed run as the battery requires it (with exit code `expected_exit`, when given); returns stderr.
std::string check_clean_failure(const std::vector<std::string>& args, int expected_exit = 0) {
  const auto r = run_cnnviz(args, 120);
  INFO(describe(args) << "\nexit " << r.exit_code << "\nstderr: " << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(kDocumentedFailures.count(r.exit_code) == 1);
  if (expected_exit != 0) CHECK(r.exit_code == expected_exit);
  CHECK(r.err.rfind("cnnviz: error: ", 0) == 0);
  CHECK(cnnviz::test::count_lines(r.err) >= 1);
  CHECK(cnnviz::test::count_lines(r.err) <= 3);
  for (const char* trace : {"Exception raised from", "frame #", "terminate called", "Traceback", "what():", "internal error"}) {
    CHECK(r.err.find(trace) == std::string::npos);
  }
  // Every line is a whole message of cnnviz's (a line break from the user's input would start one
  // that is not), and nothing reaches the terminal as an escape sequence.
  std::size_t start = 0;
  while (start < r.err.size()) {
    CHECK(r.err.compare(start, 8, "cnnviz: ") == 0);
    const std::size_t end = r.err.find('\n', start);
    start = end == std::string::npos ? r.err.size() : end + 1;
  }
  CHECK(r.err.find('\x1b') == std::string::npos);
  return r.err;
}

// Every file under `dir`, relative (a leftover temporary file would show up here).
std::set<std::string> files_under(const std::string& dir) {
  std::set<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    files.insert(fs::relative(it->path(), dir).string());
  }
  return files;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The broken inputs, made in `dir` from a good file: name -> path.
std::vector<std::pair<std::string, std::string>> broken_files(const TempDir& dir, const std::string& good, const std::string& ext) {
  const std::string bytes = cnnviz::test::read_file(good);
  std::vector<std::pair<std::string, std::string>> files;
  auto add = [&](const std::string& what, const std::string& content) {
    const std::string path = dir.file(what + ext);
    write(path, content);
    files.emplace_back(what, path);
  };
  add("empty", "");
  add("random", random_bytes(4096, 7));
  add("truncated", bytes.substr(0, bytes.size() / 2));
  add("one-byte", bytes.substr(0, 1));
  add("flipped", [&] {
    std::string b = bytes;
    for (std::size_t i = b.size() / 3; i < b.size(); i += 97) b[i] = static_cast<char>(b[i] ^ 0x5a);
    return b;
  }());
  fs::create_directories(dir.file("a-directory" + ext));
  files.emplace_back("directory", dir.file("a-directory" + ext));
  const std::string fifo = dir.file("fifo" + ext);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  files.emplace_back("fifo", fifo);
  files.emplace_back("missing", dir.file("missing" + ext));
  files.emplace_back("too long a path", dir.path() + "/" + std::string(5000, 'x') + ext);
  files.emplace_back("too long a name", dir.path() + "/" + std::string(300, 'y') + ext);
  files.emplace_back("non-UTF-8 missing name", dir.file("caf\xe9\xff" + ext));
  const std::string locked = dir.file("unreadable" + ext);
  write(locked, bytes);
  ::chmod(locked.c_str(), 0);
  // root reads it anyway: then there is nothing to test.
  if (::access(locked.c_str(), R_OK) != 0) files.emplace_back("unreadable", locked);
  return files;
}

}  // namespace

TEST_CASE("bad input battery: broken model files", "[cli][battery][models]") {
  TempDir dir;
  const std::string image = model_path("references/photo.png");
  const auto models = broken_files(dir, model_path("tiny_cnn.script.pt"), ".pt");
  const std::size_t commands = std::size(kCommands);
  for (std::size_t ci = 0; ci < commands; ++ci) {
    const Command& c = kCommands[ci];
    for (std::size_t mi = 0; mi < models.size(); ++mi) {
      if (!runs(ci, mi, commands)) continue;
      const auto& [what, model] = models[mi];
      INFO(c.name << " with a model that is: " << what);
      const std::string out = dir.file("out");
      fs::create_directories(out);
      const std::string err = check_clean_failure(c.args(model, image, out + "/o.png"));
      CHECK(files_under(out).empty());
      if (what != "too long a path") CHECK(err.find(fs::path(model).filename().string().substr(0, 20)) != std::string::npos);
      fs::remove_all(out);
    }
  }
}

TEST_CASE("bad input battery: broken images", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  for (const auto& [good, ext] : {std::pair<std::string, std::string>{model_path("references/photo.png"), ".png"},
                                  std::pair<std::string, std::string>{model_path("references/photo.jpg"), ".jpg"}}) {
    const auto images = broken_files(dir, good, ext);
    for (std::size_t ii = 0; ii < images.size(); ++ii) {
      const auto& [what, image] = images[ii];
      // The image commands only: features, features --all-layers, gradcam, saliency.
      std::size_t image_command = 0;
      for (const Command& c : kCommands) {
        if (!c.takes_image) continue;
        if (!runs(image_command++, ii, 4)) continue;
        if (what == "directory" && std::string(c.name) == "gradcam") continue;  // a directory is a batch there: below
        INFO(c.name << " with an image that is: " << what << ext);
        const std::string out = dir.file("out");
        fs::create_directories(out);
        // libjpeg-turbo, like Pillow, decodes a JPEG with damaged entropy-coded data (with a warning):
        // that image may work.
        if (what == "flipped" && ext == ".jpg" && run_cnnviz(c.args(model, image, out + "/o.png"), 120).exit_code == 0) {
          fs::remove_all(out);
          continue;
        }
        check_clean_failure(c.args(model, image, out + "/o.png"));
        CHECK(files_under(out).empty());
        fs::remove_all(out);
      }
    }
  }
}

TEST_CASE("bad input battery: outputs that cannot be written", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string image = model_path("references/photo.png");
  const std::string locked = dir.file("read-only");
  fs::create_directories(locked);
  ::chmod(locked.c_str(), 0555);
  // root writes there anyway; /sys refuses new files even to root.
  const std::string read_only = ::access(locked.c_str(), W_OK) == 0 ? "/sys" : locked;
  const std::string file_as_dir = dir.file("a-file");
  write(file_as_dir, "x");
  const std::pair<const char*, std::string> outputs[] = {
      {"in a missing directory", dir.file("missing/sub/o.png")},
      {"in a read-only directory", read_only + "/o.png"},
      {"under a regular file", file_as_dir + "/o.png"},
      {"an existing directory", dir.path()},
      {"too long a path", dir.path() + "/" + std::string(5000, 'z') + ".png"},
      {"too long a name", dir.file(std::string(300, 'w') + ".png")},
  };
  std::size_t writer = 0;  // the commands that write files: kernels, features, features --all-layers, gradcam, saliency, maximize, report,
                           // summary --write-expect-file
  for (const Command& c : kCommands) {
    if (stdout_only(c)) continue;
    const std::size_t ci = writer++;
    for (std::size_t oi = 0; oi < std::size(outputs); ++oi) {
      if (!runs(ci, oi, 8)) continue;
      const auto& [what, output] = outputs[oi];
      const bool all_layers = std::string(c.name) == "features --all-layers";
      if (all_layers && std::string(what) == "an existing directory") continue;  // its job
      INFO(c.name << " with an output " << what);
      const auto before = files_under(dir.path());
      // --all-layers writes into the directory it is given: give it the output path as one.
      check_clean_failure(c.args(model, image, all_layers ? output + "/o.png" : output));
      CHECK(files_under(dir.path()) == before);
    }
  }
}

TEST_CASE("bad input battery: a failed run leaves an existing output untouched", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string image = model_path("references/photo.png");
  const std::string output = dir.file("precious.png");
  write(output, "the user's own file");
  for (const Command& c : kCommands) {
    if (stdout_only(c) || std::string(c.name) == "features --all-layers") continue;
    INFO(c.name);
    // Each fails late: after the model loaded and, where there is one, the image was read.
    std::vector<std::string> args = c.args(model, image, output);
    if (std::string(c.name) == "summary --write-expect-file") {
      args.insert(args.begin() + 3, dir.file("missing.pt"));  // after two good models
    } else if (std::string(c.name) == "kernels") {
      args[3] = "classifier.1";  // a Linear: no kernels to draw
    } else if (std::string(c.name) == "features") {
      args.insert(args.end(), {"--channels", "40-50"});  // features.0 has 8
    } else if (std::string(c.name) == "maximize") {
      args.insert(args.end(), {"--filters", "40-50"});
    } else {
      args.insert(args.end(), {"--class", "99"});
    }
    check_clean_failure(args);
    CHECK(cnnviz::test::read_file(output) == "the user's own file");
    CHECK(files_under(dir.path()) == std::set<std::string>{"precious.png"});
  }
}

TEST_CASE("bad input battery: non-UTF-8 and odd file names work", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = dir.file("mod\xe8le \xff.pt");
  fs::copy_file(model_path("tiny_cnn.script.pt"), model);
  const std::string image = dir.file("-image \xe9\n.png");
  fs::copy_file(model_path("references/photo.png"), image);
  for (const char* format : {"text", "json"}) {
    INFO("summary --format " << format);
    const auto r = run_cnnviz({"summary", model, "--input", "1,3,32,32", "--format", format});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
  }
  const auto layers = run_cnnviz({"layers", model, "--format", "json"});
  CHECK(layers.exit_code == 0);
  const auto cam = run_cnnviz({"gradcam", model, image, "--input", "1,3,32,32", "-o", dir.file("o\xff.png"), "--format", "json"});
  CHECK(cam.exit_code == 0);
  CHECK(fs::exists(dir.file("o\xff.png")));
  const auto page = run_cnnviz({"report", model, image, "--input", "1,3,32,32", "-o", dir.file("r\xff.html")});
  CHECK(page.exit_code == 0);
  CHECK(fs::exists(dir.file("r\xff.html")));
  // Batch mode's JSON lines carry such names too.
  const std::string images = dir.file("imgs");
  fs::create_directories(images);
  fs::copy_file(image, images + "/\xff.png");
  const auto batch = run_cnnviz({"gradcam", model, images, "--input", "1,3,32,32", "-o", dir.file("out"), "--format", "json"});
  CHECK(batch.exit_code == 0);
  CHECK(fs::exists(dir.file("out") + "/\xff.png"));
}

TEST_CASE("bad input battery: broken list files, labels and batch sources", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string image = model_path("references/photo.png");
  const std::string fifo = dir.file("list.txt");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  check_clean_failure({"gradcam", model, fifo, "--input", "1,3,32,32", "-o", dir.file("out")});
  const std::string labels_fifo = dir.file("labels");
  REQUIRE(::mkfifo(labels_fifo.c_str(), 0600) == 0);
  check_clean_failure({"gradcam", model, image, "--input", "1,3,32,32", "-o", dir.file("o.png"), "--labels", labels_fifo});
  check_clean_failure({"gradcam", model, image, "--input", "1,3,32,32", "-o", dir.file("o.png"), "--labels", dir.path()});
  check_clean_failure({"gradcam", model, image, "--input", "1,3,32,32", "-o", dir.file("o.png"), "--labels", dir.file("none")});
  const std::string binary_list = dir.file("binary.txt");
  write(binary_list, random_bytes(2048, 3));
  const auto r = run_cnnviz({"gradcam", model, binary_list, "--input", "1,3,32,32", "-o", dir.file("out2")}, 120);
  // Each garbage line is an image that fails to load: a partial batch (11), reported per image.
  CHECK(r.exit_code == 11);
  CHECK(r.err.find("Exception raised from") == std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("o.png")));
}

// Line breaks and escape sequences in file names and option values: the error is still one line.
TEST_CASE("bad input battery: control characters in arguments stay on one line", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string image = model_path("references/photo.png");
  const std::string odd = "a\nb\r\x1b[2J\tc";
  const std::vector<std::vector<std::string>> runs = {
      {"summary", model, "--input", "1\n2"},
      {"summary", dir.file(odd + ".pt"), "--input", "1,3,32,32"},
      {"summary", model, "--input", "1,3,32,32", "--device", odd},
      {"summary", model, "--input", "1,3,32,32", "--max-memory", odd},
      {"summary", model, "--input", "1,3,32,32", "--" + odd},
      {"layers", model, "--input", "1,3,32,32", "--depth", odd},
      {"kernels", model, "--layer", odd, "-o", dir.file("k.png")},
      {"kernels", model, "--layer", "features.0", "--channels", odd, "-o", dir.file("k.png")},
      {"features", model, dir.file(odd + ".png"), "--input", "1,3,32,32", "--layer", "features.0", "-o", dir.file("f.png")},
      {"features", model, image, "--input", "1,3,32,32", "--layer", odd, "-o", dir.file("f.png")},
      {"gradcam", model, image, "--input", "1,3,32,32", "--class", odd, "-o", dir.file("g.png")},
      {"gradcam", model, image, "--input", "1,3,32,32", "--method", odd, "-o", dir.file("g.png")},
      {"gradcam", model, image, "--input", "1,3,32,32", "--labels", dir.file(odd), "-o", dir.file("g.png")},
      {"gradcam", model, image, "--input", "1,3,32,32", "-o", dir.file(odd) + "/g.png"},
      {"saliency", model, image, "--input", "1,3,32,32", "--method", odd, "-o", dir.file("s.png")},
      {"saliency", model, image, "--input", "1,3,32,32", "--reduce", odd, "-o", dir.file("s.png")},
      {"saliency", model, image, "--input", "1,3,32,32", "--gradient", dir.file(odd) + "/g.npy"},
      {"maximize", model, "--layer", odd, "--input", "1,3,32,32", "-o", dir.file("m.png")},
      {"maximize", model, "--layer", "features.0", "--filters", odd, "-o", dir.file("m.png")},
  };
  for (const auto& args : runs) {
    const std::string err = check_clean_failure(args);
    CHECK(cnnviz::test::count_lines(err) == 1);
  }
  CHECK(files_under(dir.path()).empty());
}

// The memory guard on every command that runs a model: an absurd input is refused before anything is
// allocated, with the estimate.
TEST_CASE("bad input battery: absurd inputs meet the memory guard", "[cli][battery][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string image = model_path("references/photo.png");
  fs::create_directories(dir.file("all"));
  const std::vector<std::vector<std::string>> runs = {
      {"summary", model, "--input", "100000,3,1000,1000"},
      {"layers", model, "--input", "100000,3,1000,1000"},
      {"summary", model_path("vgg16.script.pt"), "--input", "64,3,224,224", "--max-memory", "1G"},
      {"layers", model_path("resnet18.script.pt"), "--input", "4,3,224,224", "--max-memory", "20M"},
      {"features", model, image, "--input", "1,3,30000,30000", "--layer", "features.0", "-o", dir.file("f.png")},
      {"features", model_path("vgg16.script.pt"), image, "--layer", "features.0", "-o", dir.file("f.png"), "--max-memory", "50M"},
      {"features", model, image, "--input", "1,3,30000,30000", "--all-layers", dir.file("all")},
      {"gradcam", model, image, "--input", "1,3,30000,30000", "-o", dir.file("g.png")},
      {"gradcam", model_path("resnet18.script.pt"), image, "-o", dir.file("g.png"), "--max-memory", "10M"},
      {"gradcam", model, image, "--input", "1,3,32,32", "--resize", "1000000", "--crop", "32", "-o", dir.file("g.png"), "--max-memory", "1G"},
      {"gradcam", model_path("resnet18.script.pt"), image, "-o", dir.file("g.png"), "--method", "scorecam", "--batch-size", "4096",
       "--max-memory", "2G"},
      {"saliency", model, image, "--input", "1,3,30000,30000", "-o", dir.file("s.png")},
      {"saliency", model_path("resnet18.script.pt"), image, "-o", dir.file("s.png"), "--max-memory", "20M"},
      {"saliency", model_path("resnet18.script.pt"), image, "-o", dir.file("s.png"), "--method", "smoothgrad", "--batch-size", "4096",
       "--samples", "4096", "--max-memory", "2G"},
      {"maximize", model, "--layer", "features.0", "--input", "1,3,4096,4096", "--filters", "0-15", "--max-memory", "1G", "-o",
       dir.file("m.png")},
  };
  for (const auto& args : runs) {
    const std::string err = check_clean_failure(args);
    CHECK(err.find("needs about") != std::string::npos);
    CHECK(err.find("--max-memory") != std::string::npos);
  }
  CHECK(files_under(dir.path()) == std::set<std::string>{"all"});
}

#if CNNVIZ_TEST_MODERN_MODELS
// Broken torch.export programs (models/export_models.py, BAD_PT2_FILES): one line each, naming what is
// wrong, exit 4, nothing written, from every command.
TEST_CASE("bad input battery: broken .pt2 programs", "[cli][battery][models][modern][export]") {
  TempDir dir;
  const std::string image = model_path("references/photo.png");
  const std::pair<const char*, const char*> files[] = {
      {"pt2_bad_json.pt2", "(models/model.json) is not a torch.export program cnnviz can read (not valid JSON)"},
      {"pt2_schema_99.pt2", "uses torch.export schema 99."},
      {"pt2_short_weight.pt2", "the weight file of 'features.0.weight' holds"},
      {"pt2_missing_weight.pt2", "is missing the weight file 'data/weights/weight_0' of 'features.0.weight'"},
      {"pt2_bigger_sizes.pt2", "fewer than its"},
      {"pt2_unknown_value.pt2", "uses a value 'no_such_value' that nothing defines"},
      {"pt2_unknown_op.pt2", "calls the operator aten::relx, which LibTorch"},
      {"pt2_aoti.pt2", "is an AOTInductor package"},
      {"pt2_26_not_tensor.pt2", "(serialized_state_dict.pt) holds 'features.0.weight', which is not a plain tensor"},
      {"pt2_26_no_state.pt2", "has no stored tensor for 'features.0.weight'"},
      {"pt2_26_cut_state.pt2", "is a truncated or corrupted zip archive"},
  };
  for (std::size_t fi = 0; fi < std::size(files); ++fi) {
    const auto& [file, message] = files[fi];
    for (std::size_t ci = 0; ci < std::size(kCommands); ++ci) {
      if (!runs(ci, fi, std::size(kCommands))) continue;
      const Command& c = kCommands[ci];
      INFO(c.name << " with " << file);
      const std::string out = dir.file("out");
      fs::create_directories(out);
      const auto args = c.args(model_path(std::string("bad/") + file), image, out + "/o.png");
      const std::string err = check_clean_failure(args, 4);
      CHECK(err.find(message) != std::string::npos);
      CHECK(files_under(out).empty());
      fs::remove_all(out);
    }
  }
}
#endif
