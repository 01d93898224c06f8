// The second translation unit of the header-only check (header_only_a.cpp).
#include <robustagg/robustagg.hpp>

float median_of_column(const robustagg::GradientMatrix<float>& g) {
  return robustagg::aggregate(g, robustagg::Median{})[0];
}
