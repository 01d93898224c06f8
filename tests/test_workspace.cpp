// The workspace's storage is keyed by type: two keys never share a buffer,
// per-thread scratch is apart from every other key, a buffer survives any
// use of another key, and release() frees everything.
#include <catch2/catch.hpp>

#include <cstdint>
#include <robustagg/robustagg.hpp>
#include <set>

namespace ra = robustagg;
using ra::detail::Key;

namespace {
struct TagA {};
struct TagB {};
}  // namespace

TEST_CASE("workspace keys of different types never share storage", "[workspace]") {
  ra::Workspace ws;
  double* a = ws.get<Key<TagA, double>>(100);
  double* b = ws.get<Key<TagB, double>>(100);
  float* af = ws.get<Key<TagA, float>>(100);  // same tag, other element type: another key
  REQUIRE(a != b);
  REQUIRE(static_cast<void*>(a) != static_cast<void*>(af));
  for (int i = 0; i < 100; ++i) a[i] = i;
  // Growing other keys (far past a's size) and every per-thread buffer of a
  // third key leaves a's buffer and contents alone.
  ws.get<Key<TagB, double>>(1 << 20);
  ws.get<Key<TagA, float>>(1 << 20);
  for (int t = 0; t < ra::kMaxThreads; ++t) ws.get_for_thread<Key<TagB, unsigned char>>(t, 1 << 12);
  CHECK(ws.get<Key<TagA, double>>(100) == a);
  for (int i = 0; i < 100; ++i) CHECK(a[i] == double(i));
  // A larger request for the same key may move it; a smaller one never does.
  double* a2 = ws.get<Key<TagA, double>>(50);
  CHECK(a2 == a);
  CHECK(reinterpret_cast<std::uintptr_t>(ws.get<Key<TagA, double>>(1 << 16)) % 64 == 0);
}

TEST_CASE("per-thread scratch: one buffer per thread id, apart from get()", "[workspace]") {
  ra::Workspace ws;
  unsigned char* shared = ws.get<Key<TagA, unsigned char>>(64);
  std::set<unsigned char*> seen{shared};
  for (int t = 0; t < ra::kMaxThreads; ++t) {
    unsigned char* p = ws.get_for_thread<Key<TagA, unsigned char>>(t, 64);
    CHECK(seen.insert(p).second);  // distinct from every other thread's and from get()'s
  }
  using Bytes = Key<TagA, unsigned char>;
  CHECK_THROWS_AS(ws.get_for_thread<Bytes>(ra::kMaxThreads, 1), ra::Error);
  CHECK_THROWS_AS(ws.get_for_thread<Bytes>(-1, 1), ra::Error);
}

TEST_CASE("child workspaces are keyed, capacity counts them, release frees all", "[workspace]") {
  ra::Workspace ws;
  CHECK(ws.capacity_bytes() == 0);
  ra::Workspace& c1 = ws.child<TagA>();
  ra::Workspace& c2 = ws.child<TagB>();
  CHECK(&c1 != &c2);
  CHECK(&ws.child<TagA>() == &c1);
  ws.get<Key<TagA, double>>(10);
  ws.get_for_thread<Key<TagA, double>>(3, 10);
  c1.get<Key<TagA, double>>(100);
  CHECK(ws.capacity_bytes() == (10 + 10 + 100) * sizeof(double));
  ws.release();
  CHECK(ws.capacity_bytes() == 0);
  // Usable again after release.
  ra::GradientMatrix<float> g = ra::GradientMatrix<float>::Random(5, 7);
  ra::Vector<float> out;
  ra::aggregate(g, ra::parse_rule("nnm(f=1, then=krum(f=1))"), out, ws);
  CHECK(out.size() == 7);
  CHECK(ws.capacity_bytes() > 0);
}
