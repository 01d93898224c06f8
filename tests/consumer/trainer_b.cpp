// The second translation unit of the plain trainer (trainer.cpp).
#include <robustagg/robustagg.hpp>

float median_of_column(const robustagg::GradientMatrix<float>& g) {
  return robustagg::aggregate(g, robustagg::Median{})[0];
}
