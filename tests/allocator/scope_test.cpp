// Scopes and phases: nesting, libraries' scopes replacing module paths, restoring, and staying
// on their own thread.
#include "allocator/scope.h"

#include <gtest/gtest.h>

#include <thread>

#include "allocator/error.h"

namespace tally {
namespace {

TEST(MemoryScope, NestedNamesJoinWithDots) {
  EXPECT_EQ(current_scope(), 0u);
  {
    MemoryScope outer("encoder");
    const ScopeId encoder = current_scope();
    EXPECT_EQ(scope_name(encoder), "encoder");
    {
      MemoryScope layer("3");
      MemoryScope attn("attn");
      EXPECT_EQ(scope_name(current_scope()), "encoder.3.attn");
    }
    EXPECT_EQ(current_scope(), encoder);
  }
  EXPECT_EQ(current_scope(), 0u);
  EXPECT_EQ(scope_name(0), "");
}

TEST(MemoryScope, NamesWithLineBreaksAreRejected) {
  EXPECT_THROW(MemoryScope("two\nlines"), UsageError);
  EXPECT_EQ(current_scope(), 0u);
}

TEST(MemoryScope, SamePathGetsTheSameId) {
  ScopeId first, second;
  {
    MemoryScope a("layers.0");
    first = current_scope();
  }
  {
    MemoryScope a("layers");
    MemoryScope b("0");
    second = current_scope();
  }
  EXPECT_EQ(first, second);
  EXPECT_EQ(intern_scope("layers.0"), first);
}

TEST(MemoryScope, ScopesAndPhasesAreThreadLocal) {
  MemoryScope scope("main");
  PhaseGuard phase(Phase::backward);
  ScopeId seen_scope = 99;
  Phase seen_phase = Phase::optimizer;
  std::thread([&] {
    seen_scope = current_scope();
    seen_phase = current_phase();
  }).join();
  EXPECT_EQ(seen_scope, 0u);
  EXPECT_EQ(seen_phase, Phase::none);
  EXPECT_EQ(current_phase(), Phase::backward);
}

TEST(LibraryScope, ReplacesTheModulePathInsteadOfNestingAndRestoresIt) {
  MemoryScope classifier("classifier");
  MemoryScope layer("1");
  const ScopeId module = current_scope();
  {
    LibraryScope cublas("cublas");
    EXPECT_EQ(scope_name(current_scope()), "(cublas)");
  }
  EXPECT_EQ(current_scope(), module);
  EXPECT_EQ(scope_name(module), "classifier.1");
}

TEST(LibraryScope, OnlyParenthesisedNamesAreLibraries) {
  EXPECT_TRUE(is_library_scope("(cublas)"));
  EXPECT_TRUE(is_library_scope("(cudnn)"));
  EXPECT_FALSE(is_library_scope("classifier.1"));
  EXPECT_FALSE(is_library_scope("classifier.(cublas)"));
  EXPECT_FALSE(is_library_scope("()"));
  EXPECT_FALSE(is_library_scope(""));
}

TEST(PhaseGuard, RestoresThePreviousPhase) {
  PhaseGuard forward(Phase::forward);
  {
    PhaseGuard recompute(Phase::recompute);
    EXPECT_EQ(current_phase(), Phase::recompute);
  }
  EXPECT_EQ(current_phase(), Phase::forward);
}

TEST(Names, TagsAndPhasesRoundTrip) {
  for (const Tag tag : kAllTags) EXPECT_EQ(parse_tag(tag_name(tag)), tag);
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    const auto phase = static_cast<Phase>(i);
    EXPECT_EQ(parse_phase(phase_name(phase)), phase);
  }
  EXPECT_EQ(phase_name(Phase::eval), "eval");
  EXPECT_FALSE(parse_tag("weights").has_value());
  EXPECT_EQ(tag_name(Tag::communication), "communication");
}

}  // namespace
}  // namespace tally
