#include "model/load_checks.h"

#include <c10/core/CPUAllocator.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/frontend/parser.h>
#include <torch/csrc/jit/frontend/tree_views.h>

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "model/torch_compat.h"

namespace cnnviz {
namespace {

// LibTorch 1.13 trusts data.pkl about the tensors of an archive (tests/data/models/make_short_storage.py):
// - a storage's size is the element count its pickle entry states, while its buffer is the data/N
//   record as long as the zip entry is: a truncated or edited record leaves a storage that claims more
//   bytes than its buffer has;
// - a tensor's sizes, strides and offset are set on its storage without checking that they fit.
// Either way every read of the tensor (our copies, every kernel) runs past the buffer. So load_model
// records the size of each CPU buffer allocated during torch::jit::load (LoadAllocationRecorder) and
// checks that every tensor the model holds, in module attributes (at any depth of lists, tuples,
// dicts and objects) and as a graph constant, lies inside its storage and its storage inside its
// buffer (StorageBoundsCheck). Found by tests/fuzz/fuzz_model.

// Once installed, stays LibTorch's CPU allocator (storages keep a pointer to the allocator they came
// from, for resizing) and passes every allocation to the one it replaced. While recording, it remembers
// the size of each buffer by address until the buffer is freed.
class RecordingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) CNNVIZ_ALLOCATE_QUALIFIER override {
    c10::DataPtr p = base_->allocate(n);
    if (!recording_.load(std::memory_order_relaxed) || p.get() == nullptr) return p;
    // The default CPU allocator's buffers are their own context, freed by its raw deleter: wrap that
    // deleter so the entry goes when the buffer does. Anything else is not recorded.
    if (base_deleter_ == nullptr || p.get_context() != p.get() || p.get_deleter() != base_deleter_) return p;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[p.get()] = n;
    }
    const c10::Device device = p.device();
    void* data = p.release_context();
    return c10::DataPtr(data, data, &forget_and_delete, device);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_deleter_ ? &forget_and_delete : nullptr; }
#if CNNVIZ_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

  /// Installs itself over the current CPU allocator (the first time) and starts recording.
  void start() {
    if (base_ == nullptr) {
      base_ = c10::GetCPUAllocator();
      base_deleter_ = base_->raw_deleter();
      c10::SetCPUAllocator(this, /*priority=*/255);
    }
    recording_ = true;
  }
  void stop() { recording_ = false; }

  /// The size of the live buffer at `data` if it was allocated while recording, else -1.
  int64_t size_of(const void* data) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = sizes_.find(data);
    return it == sizes_.end() ? -1 : static_cast<int64_t>(it->second);
  }

  static RecordingCpuAllocator& instance() {
    static auto* recorder = new RecordingCpuAllocator();  // never destroyed: LibTorch may outlive statics
    return *recorder;
  }

 private:
  static void forget_and_delete(void* data) {
    RecordingCpuAllocator& self = instance();
    {
      std::lock_guard<std::mutex> lock(self.mutex_);
      self.sizes_.erase(data);
    }
    self.base_deleter_(data);
  }

  c10::Allocator* base_ = nullptr;
  c10::DeleterFnPtr base_deleter_ = nullptr;
  std::atomic<bool> recording_{false};
  mutable std::mutex mutex_;
  mutable std::unordered_map<const void*, std::size_t> sizes_;
};

RecordingCpuAllocator& load_allocations() { return RecordingCpuAllocator::instance(); }

class StorageBoundsCheck {
 public:
  explicit StorageBoundsCheck(const std::string& path) : path_(path) {}

  void module(const torch::jit::Module& module) {
    values(module._ivalue(), "");
    for (torch::jit::Function* fn : module._ivalue()->compilation_unit()->get_functions()) {
      if (!fn->isGraphFunction()) continue;
      const auto graph = torch::jit::toGraphFunction(*fn).graph();
      if (graph) block(*graph->block(), fn->qualname().qualifiedName() + " (a constant)");
    }
  }

 private:
  // Walks `root` and everything it holds without recursion (a pickle can nest values deeply); each
  // value's path ("features.0.weight", "x[2]") is put together only for the message.
  void values(const c10::IValue& root, const std::string& root_name) {
    struct Step {
      c10::IValue value;
      std::size_t parent;  // index into `steps`, or npos for the root
      std::string name;    // ".weight", "[2]"
    };
    auto holds_tensors = [](const c10::IValue& v) {
      return v.isTensor() || v.isObject() || v.isList() || v.isTuple() || v.isGenericDict();
    };
    if (!holds_tensors(root)) return;
    std::vector<Step> steps;
    std::vector<std::size_t> todo;
    steps.push_back({root, std::string::npos, root_name});
    todo.push_back(0);
    auto path = [&](std::size_t i) {
      std::string p;
      for (; i != std::string::npos && p.size() < 300; i = steps[i].parent) p.insert(0, steps[i].name);
      return !p.empty() && p[0] == '.' ? p.substr(1) : p;
    };
    while (!todo.empty()) {
      const std::size_t at = todo.back();
      todo.pop_back();
      const c10::IValue v = steps[at].value;
      const std::size_t first_child = todo.size();
      auto add = [&](const c10::IValue& child, std::string name) {
        if (!holds_tensors(child)) return;
        steps.push_back({child, at, std::move(name)});
        todo.push_back(steps.size() - 1);
      };
      if (v.isTensor()) {
        if (!tensor_fits(v.toTensor())) fail(v.toTensor(), path(at));
        continue;
      }
      if (!visited_.insert(v.internalToPointer()).second) continue;  // shared, or a cycle
      if (v.isObject()) {
        const auto object = v.toObject();
        const auto type = object->type();
        for (std::size_t i = 0; i < object->slots().size() && i < type->numAttributes(); ++i) {
          add(object->getSlot(i), "." + type->getAttributeName(i));
        }
      } else if (v.isList()) {
        const auto list = v.toListRef();
        for (std::size_t i = 0; i < list.size(); ++i) add(list[i], "[" + std::to_string(i) + "]");
      } else if (v.isTuple()) {
        const auto& elements = v.toTupleRef().elements();
        for (std::size_t i = 0; i < elements.size(); ++i) add(elements[i], "[" + std::to_string(i) + "]");
      } else if (v.isGenericDict()) {
        for (const auto& entry : v.toGenericDict()) {
          add(entry.key(), "[key]");
          add(entry.value(), "[value]");
        }
      }
      std::reverse(todo.begin() + static_cast<std::ptrdiff_t>(first_child), todo.end());  // visit in order
    }
  }

  void block(const torch::jit::Block& b, const std::string& where) {
    std::vector<const torch::jit::Block*> blocks = {&b};
    while (!blocks.empty()) {
      const torch::jit::Block* current = blocks.back();
      blocks.pop_back();
      for (const torch::jit::Node* node : current->nodes()) {
        for (const torch::jit::Block* sub : node->blocks()) blocks.push_back(sub);
        if (node->kind() != c10::prim::Constant || node->outputs().size() != 1) continue;
        if (auto v = torch::jit::toIValue(node->output())) values(*v, where);
      }
    }
  }

  // Whether every element of `t` lies inside its storage, and its storage inside the buffer LibTorch
  // allocated for it.
  bool tensor_fits(const at::Tensor& t) {
    if (!t.defined() || !t.has_storage() || !seen_.insert(t.unsafeGetTensorImpl()).second) return true;
    if (t.numel() == 0) return true;
    return needed_bytes(t) >= 0 && needed_bytes(t) <= held_bytes(t);
  }

  // Bytes from the storage's start to the end of the last element, -1 for a negative offset or stride
  // or an overflow.
  static int64_t needed_bytes(const at::Tensor& t) {
    int64_t last = t.storage_offset();  // element index of the last element
    if (last < 0) return -1;
    for (int64_t d = 0; d < t.dim(); ++d) {
      int64_t extent = 0;
      if (t.stride(d) < 0 || __builtin_mul_overflow(t.size(d) - 1, t.stride(d), &extent) ||
          __builtin_add_overflow(last, extent, &last)) {
        return -1;
      }
    }
    int64_t needed = 0;
    if (__builtin_add_overflow(last, int64_t{1}, &needed) ||
        __builtin_mul_overflow(needed, static_cast<int64_t>(t.element_size()), &needed)) {
      return -1;
    }
    return needed;
  }

  static int64_t held_bytes(const at::Tensor& t) {
    int64_t held = static_cast<int64_t>(t.storage().nbytes());
    if (t.device().is_cpu() && t.storage().data() != nullptr) {
      const int64_t buffer = load_allocations().size_of(t.storage().data());
      if (buffer >= 0) held = std::min(held, buffer);
    }
    return held;
  }

  [[noreturn]] void fail(const at::Tensor& t, const std::string& where) const {
    const int64_t needed = needed_bytes(t);
    throw Error(ErrorKind::kModel,
                "'" + path_ + "' is corrupted: tensor '" + where + "' of shape " + shape_to_string(t.sizes().vec()) +
                    (needed >= 0 ? " needs " + std::to_string(needed) + " bytes" : " has an invalid offset or strides") +
                    " but its data holds " + std::to_string(held_bytes(t)) + "; copy or export the model again");
  }

  std::string path_;
  std::unordered_set<const void*> visited_;
  std::unordered_set<const c10::TensorImpl*> seen_;
};

}  // namespace

LoadAllocationRecorder::LoadAllocationRecorder() : lock_(mutex()) { load_allocations().start(); }

LoadAllocationRecorder::~LoadAllocationRecorder() { load_allocations().stop(); }

std::mutex& LoadAllocationRecorder::mutex() {
  static std::mutex m;
  return m;
}

void check_storage_bounds(const std::string& path, const torch::jit::Module& module) { StorageBoundsCheck(path).module(module); }

// LibTorch 1.13's source importer passes every class-level assignment `name = value` (other than
// __parameters__, __buffers__ and the hook lists) to ScriptTypeParser::parseClassConstant, which reads
// its type annotation without checking that there is one: without it, it reads past the end of a
// syntax tree (a SEGV under ASan, a nonsense error without). torch.jit.save writes class constants as
// `name : Final[T] = value`. So the code files are parsed here first, with LibTorch's own parser, and
// an untyped class constant is refused. Found by tests/fuzz/fuzz_model
// (tests/fuzz/corpus/fuzz_model/regression_class_constant.pt). A file that does not parse is left to
// LibTorch, which reports the syntax error.
void check_class_constants(const std::string& path, const ArchiveInfo& archive) {
  using namespace torch::jit;
  for (const auto& [name, text] : archive.code_files) {
    std::string problem;
    try {
      Parser parser(std::make_shared<Source>(text, name, 1));
      Lexer& lexer = parser.lexer();
      // As SourceImporter reads a file: an optional version line, then imports, classes and functions.
      if (lexer.cur().kind == TK_IDENT && lexer.cur().text() == "op_version_set") {
        lexer.next();
        lexer.expect('=');
        lexer.expect(TK_NUMBER);
        lexer.expect(TK_NEWLINE);
      }
      while (problem.empty() && lexer.cur().kind != TK_EOF) {
        while (lexer.nextIf(TK_IMPORT)) {
          while (lexer.cur().kind != TK_NEWLINE && lexer.cur().kind != TK_EOF) lexer.next();
          lexer.expect(TK_NEWLINE);
        }
        if (lexer.cur().kind == TK_DEF) {
          parser.parseFunction(/*is_method=*/false);
          continue;
        }
        if (lexer.cur().kind != TK_CLASS_DEF) break;
        const ClassDef cls(parser.parseClass());
        for (const Stmt& stmt : cls.body()) {
          if (stmt.kind() != TK_ASSIGN) continue;
          const Assign assign(stmt);
          if (assign.lhs().kind() != TK_VAR || !assign.rhs().present() || assign.type().present()) continue;
          const std::string var = Var(assign.lhs()).name().name();
          if (var == "__parameters__" || var == "__buffers__" || var == "__forward_pre_hooks__" || var == "__forward_hooks__") {
            continue;
          }
          problem = "class " + cls.name().name() + " in " + name + " assigns '" + var + "' without a type";
          break;
        }
      }
    } catch (const std::exception&) {
      continue;  // a syntax error: torch::jit::load reports it
    }
    if (!problem.empty()) throw Error(ErrorKind::kModel, "'" + path + "' is corrupted: " + problem + "; copy or export the model again");
  }
}

}  // namespace cnnviz
