#include "tools/kiln_opt/reduce.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "ir/ops.h"
#include "ir/printer.h"

namespace kiln::tools {

namespace {

std::vector<const ir::Node*> roots_of(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : outputs) roots.push_back(o.get());
  return roots;
}
std::vector<const ir::Node*> nodes_of(const std::vector<ir::NodePtr>& outputs) {
  return ir::topological_order(roots_of(outputs));
}
std::string text_of(const std::vector<ir::NodePtr>& outputs) { return ir::print_graph(roots_of(outputs)); }

// A zero-filled input buffer of n's type, at n's line.
ir::NodePtr input_like(const ir::Node& n) {
  auto storage = ir::Storage::allocate(static_cast<size_t>(n.numel()) * element_size(n.dtype));
  if (storage->bytes()) std::memset(storage->data(), 0, storage->bytes());
  return ir::buffer(std::move(storage), n.shape, n.dtype, n.loc, n.device);
}

class Reducer {
 public:
  Reducer(std::string test, std::ostream& log)
      : test_(std::move(test)), log_(log), file_((std::filesystem::temp_directory_path() /
                                                   ("kiln-reduce-" + std::to_string(getpid()) + ".ir")).string()) {}
  ~Reducer() { std::filesystem::remove(file_); }

  std::vector<ir::NodePtr> run(std::vector<ir::NodePtr> outputs) {
    if (!interesting(outputs)) throw std::runtime_error("--reduce: the test does not hold for the input graph: " + test_);
    size_t before = nodes_of(outputs).size();
    while (step(outputs)) {
    }
    log_ << "kiln-opt: reduced " << before << " nodes to " << nodes_of(outputs).size() << " in " << tests_ << " tests\n";
    return outputs;
  }

 private:
  // One accepted change, or false when no candidate is interesting.
  bool step(std::vector<ir::NodePtr>& outputs) {
    for (size_t i = 0; outputs.size() > 1 && i < outputs.size(); ++i) {
      std::vector<ir::NodePtr> fewer = outputs;
      fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
      if (accept(outputs, fewer, "dropped output " + std::to_string(i))) return true;
    }
    std::vector<const ir::Node*> order = nodes_of(outputs);
    for (size_t k = order.size(); k-- > 0;) {  // from the outputs down: the largest cuts first
      const ir::Node* n = order[k];
      if (n->inputs.empty()) continue;
      std::string what = std::string(ir::op_name(n->op)) + " at " + n->loc.str();
      if (accept(outputs, rebuild(outputs, {{n, input_like(*n)}}, /*all=*/false), "made an input of " + what)) return true;
      for (const ir::NodePtr& in : n->inputs)
        if (in->shape == n->shape && in->dtype == n->dtype &&
            accept(outputs, rebuild(outputs, {{n, in}}, /*all=*/false), "bypassed " + what))
          return true;
    }
    return false;
  }

  bool accept(std::vector<ir::NodePtr>& outputs, std::vector<ir::NodePtr> candidate, const std::string& what) {
    if (!interesting(candidate)) return false;
    log_ << "kiln-opt: " << what << " (" << nodes_of(candidate).size() << " nodes)\n";
    outputs = std::move(candidate);
    return true;
  }

  bool interesting(const std::vector<ir::NodePtr>& outputs) {
    std::ofstream(file_) << text_of(outputs);
    ++tests_;
    int status = std::system((test_ + " " + file_ + " >/dev/null 2>&1").c_str());
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::string test_;
  std::ostream& log_;
  std::string file_;
  int tests_ = 0;
};

}  // namespace

std::string reduce(const Module& m, const std::string& test, std::ostream& log) {
  return text_of(Reducer(test, log).run(m.outputs));
}

}  // namespace kiln::tools
