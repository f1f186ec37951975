#include "allocator/scope.h"

#include <deque>
#include <mutex>
#include <unordered_map>

#include "allocator/error.h"

namespace tally {
namespace {

class ScopeTable {
 public:
  ScopeId intern(std::string_view path) {
    if (path.empty()) return 0;
    std::lock_guard lock(mutex_);
    std::string key(path);
    if (auto it = ids_.find(key); it != ids_.end()) return it->second;
    const auto id = static_cast<ScopeId>(names_.size());
    names_.push_back(key);
    ids_.emplace(std::move(key), id);
    return id;
  }

  std::string name(ScopeId id) {
    std::lock_guard lock(mutex_);
    TALLY_CHECK(id < names_.size(), "unknown scope id " + std::to_string(id));
    return names_[id];
  }

 private:
  std::mutex mutex_;
  std::deque<std::string> names_{""};
  std::unordered_map<std::string, ScopeId> ids_;
};

ScopeTable& table() {
  static ScopeTable instance;
  return instance;
}

}  // namespace

MemoryScope::MemoryScope(std::string_view name) : previous_(detail::current_scope) {
  // A trace holds one event per line.
  if (name.find_first_of("\r\n") != std::string_view::npos) {
    throw UsageError("MemoryScope: scope names cannot contain line breaks");
  }
  if (previous_ == 0) {
    detail::current_scope = table().intern(name);
  } else {
    detail::current_scope = table().intern(table().name(previous_) + "." + std::string(name));
  }
}

MemoryScope::~MemoryScope() {
  detail::current_scope = previous_;
}

ScopeRestore::ScopeRestore(ScopeId id) : previous_(detail::current_scope) {
  detail::current_scope = id;
}

ScopeRestore::~ScopeRestore() {
  detail::current_scope = previous_;
}

LibraryScope::LibraryScope(std::string_view name)
    : restore_(table().intern(std::string("(").append(name).append(")"))) {}

bool is_library_scope(std::string_view path) {
  return path.size() > 2 && path.front() == '(' && path.back() == ')';
}

PhaseGuard::PhaseGuard(Phase phase) : previous_(detail::current_phase) {
  detail::current_phase = phase;
}
PhaseGuard::~PhaseGuard() {
  detail::current_phase = previous_;
}

std::string scope_name(ScopeId id) {
  return table().name(id);
}
ScopeId intern_scope(std::string_view path) {
  return table().intern(path);
}

}  // namespace tally
