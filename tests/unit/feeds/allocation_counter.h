// tests/unit/feeds/allocation_counter.h: global operator new/delete replaced
// by malloc/free plus a counter, for the "parsing allocates nothing per
// frame" tests. It defines the replacements, so include it in exactly one
// file per test executable (each tests/unit/feeds/*_test.cc is its own).
//
// Not under AddressSanitizer: ASan owns operator new (and the nothrow new[]
// simdjson's parser uses), so replacing some forms mismatches the others.
// Tests check kCountsAllocations and skip there.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace tickflow::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kCountsAllocations = false;
#else
inline constexpr bool kCountsAllocations = true;
#endif

inline std::atomic<long> allocations{0};

// Heap allocations so far; compare two readings around the code under test.
inline long allocation_count() noexcept { return allocations.load(std::memory_order_relaxed); }

}  // namespace tickflow::test

#if !defined(__SANITIZE_ADDRESS__)
// noinline: so that GCC pairs each delete with its new rather than seeing
// free() applied to the result of operator new (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t n) {
  tickflow::test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) { return operator new(n); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif
