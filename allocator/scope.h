// Attribution of allocations to where they came from: a thread-local stack of scope names and
// the current training phase, both read by the allocator at every event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "allocator/tag.h"

namespace tally {

// An interned scope path; 0 is "no scope". Ids are process-wide and never reused.
using ScopeId = std::uint32_t;

// Enters a named scope for the lifetime of the guard. Nested scopes join with '.', so modules
// that push their own names produce paths such as "encoder.3.attn".
class MemoryScope {
 public:
  explicit MemoryScope(std::string_view name);
  ~MemoryScope();
  MemoryScope(const MemoryScope&) = delete;
  MemoryScope& operator=(const MemoryScope&) = delete;

 private:
  ScopeId previous_;
};

// Makes an already interned scope current for the lifetime of the guard: how backward
// attributes an op's gradient memory to the scope its forward ran in.
class ScopeRestore {
 public:
  explicit ScopeRestore(ScopeId id);
  ~ScopeRestore();
  ScopeRestore(const ScopeRestore&) = delete;
  ScopeRestore& operator=(const ScopeRestore&) = delete;

 private:
  ScopeId previous_;
};

// Makes the scope of library `name` current for the lifetime of the guard: "(name)", in place of
// the module path rather than under it. Memory a library holds for the whole process (cuBLAS's
// workspace) or takes for every caller alike (cuDNN's) is the library's, never charged to the
// module that happened to call first; the phase stays the caller's.
class LibraryScope {
 public:
  explicit LibraryScope(std::string_view name);
  LibraryScope(const LibraryScope&) = delete;
  LibraryScope& operator=(const LibraryScope&) = delete;

 private:
  ScopeRestore restore_;
};

// Whether a scope path is a library's, "(name)", rather than a module's.
bool is_library_scope(std::string_view path);

// Sets the current thread's phase for the lifetime of the guard.
class PhaseGuard {
 public:
  explicit PhaseGuard(Phase phase);
  ~PhaseGuard();
  PhaseGuard(const PhaseGuard&) = delete;
  PhaseGuard& operator=(const PhaseGuard&) = delete;

 private:
  Phase previous_;
};

namespace detail {
// Read on every allocator event: inline so that reading them is one TLS load.
inline thread_local ScopeId current_scope = 0;
inline thread_local Phase current_phase = Phase::none;
}  // namespace detail

inline ScopeId current_scope() {
  return detail::current_scope;
}
inline Phase current_phase() {
  return detail::current_phase;
}
// The full path of an interned scope ("" for 0).
std::string scope_name(ScopeId id);
// Interns a path as given (no joining); used by trace readers and replay.
ScopeId intern_scope(std::string_view path);

}  // namespace tally
