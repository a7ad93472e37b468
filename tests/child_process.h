// Runs tests/env_probe in a child process with a chosen environment, for settings that Kiln reads
// once per process (KILN_NUM_THREADS, KILN_CACHE_BYTES) and so cannot be re-tested in-process.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace kiln::testing {

struct ChildResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;     // its stdout (and stderr, when asked for)
};

// Path of a test helper binary in tests/: from the test's runfiles under Bazel, else next to this
// binary.
inline std::string helper_path(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    std::string p = std::string(srcdir) + "/" + workspace + "/tests/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string dir = len > 0 ? std::string(self, static_cast<size_t>(len)) : std::string();
  return dir.substr(0, dir.rfind('/') + 1) + name;
}

// Runs `env_probe mode` with this process's environment, except that each variable in `env` is set
// to its value, or removed where the value is nullopt. With `with_stderr`, the output holds the
// child's stderr too.
inline ChildResult run_env_probe(const std::string& mode,
                                 const std::map<std::string, std::optional<std::string>>& env,
                                 const std::string& program = "env_probe", bool with_stderr = false) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (!env.contains(kv.substr(0, kv.find('=')))) vars.push_back(kv);
  }
  for (const auto& [name, value] : env)
    if (value) vars.push_back(name + "=" + *value);
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);

  std::string path = helper_path(program);
  std::string mode_arg = mode;
  char* argv[] = {path.data(), mode_arg.data(), nullptr};
  int fds[2];
  if (pipe(fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (with_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  ChildResult result;
  if (rc != 0) {
    close(fds[0]);
    result.out = "posix_spawn(" + path + ") failed: " + std::strerror(rc);
    return result;
  }
  char buf[4096];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof(buf))) > 0) result.out.append(buf, static_cast<size_t>(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace kiln::testing
