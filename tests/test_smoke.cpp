// A first end-to-end check of the public API on a hand-computed case.
#include <catch2/catch.hpp>
#include <robustagg/robustagg.hpp>

TEST_CASE("median of five rows, hand computed", "[smoke]") {
  robustagg::GradientMatrix<double> g(5, 2);
  // column 0: 1 4 7 10 100 -> median 7; column 1: 2 5 8 -100 -3 -> sorted -100 -3 2 5 8 -> 2
  g << 1, 2, 4, 5, 7, 8, 10, -100, 100, -3;
  const robustagg::Vector<double> m = robustagg::aggregate(g, robustagg::Median{});
  REQUIRE(m.size() == 2);
  CHECK(m[0] == 7.0);
  CHECK(m[1] == 2.0);
}
