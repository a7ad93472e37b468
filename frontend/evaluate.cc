#include "frontend/evaluate.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "frontend/tensor_impl.h"
#include "ir/external_check.h"
#include "ir/printer.h"
#include "kiln/config.h"
#include "runtime/executor.h"
#include "runtime/thread_pool.h"
#include "runtime/reference_executor.h"

namespace kiln {

namespace {

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

std::atomic<Backend> g_backend{env_is("KILN_BACKEND", "reference") ? Backend::Reference : Backend::Jit};
std::atomic<bool> g_fusion{!env_is("KILN_FUSION", "0")};
std::atomic<bool> g_runtime_extents{!env_is("KILN_RUNTIME_EXTENTS", "0")};

}  // namespace

void set_backend(Backend b) { g_backend = b; }
Backend backend() { return g_backend; }
void set_fusion(bool enabled) { g_fusion = enabled; }
bool fusion_enabled() { return g_fusion; }
void set_runtime_extents(bool enabled) { g_runtime_extents = enabled; }
void set_check_external(bool enabled) { ir::set_external_checks(enabled); }
void set_num_threads(int n, std::source_location loc) {
  check(n >= 1, "set_num_threads", SourceLoc::from(loc), [&] { return "expects a positive number of threads, got " + std::to_string(n); });
  runtime::thread_pool().set_num_threads(n);
}
int get_num_threads() { return runtime::thread_pool().num_threads(); }
bool check_external_enabled() { return ir::external_checks_enabled(); }
bool runtime_extents_enabled() { return g_runtime_extents; }

namespace detail {

void evaluate(const std::vector<ir::NodePtr>& requested, bool with_pending_updates) {
  std::vector<ir::NodePtr> outputs = requested;
  if (with_pending_updates)
    for (ir::NodePtr& state : take_pending_updates()) outputs.push_back(std::move(state));
  std::vector<std::shared_ptr<ir::Storage>> external;  // memory the user holds that the graph reads
  if (ir::external_checks_enabled()) {
    std::vector<const ir::Node*> roots;
    for (const ir::NodePtr& o : outputs) roots.push_back(o.get());
    external = ir::check_external_reads(ir::topological_order(roots));
  }
  if (backend() == Backend::Reference) runtime::evaluate_reference(outputs);
  else runtime::execute(outputs, {fusion_enabled(), runtime_extents_enabled()});
  ir::forget_external_reads(external);
}

}  // namespace detail
}  // namespace kiln
