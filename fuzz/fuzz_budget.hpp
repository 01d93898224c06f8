// Which fuzzer-written specs the fuzz targets skip for cost, not for
// correctness: libFuzzer's 10 s timeout under ASan is far below what the
// library allows a caller to ask for.
//  * iterations=K (geometric-median, centered-clipping): a caller may ask for
//    any K >= 1 and gets up to K passes over the rows (centered clipping runs
//    exactly K); above 256 the targets skip the spec.
//  * smea/mda: bounded by the library (kMaxSmeaWork and kMaxMdaWork, 1e10
//    worst-case steps each, about 7 and 10 s natively), but far below those
//    bounds a call can outlast the timeout under ASan and coverage counters:
//    the targets keep them to n <= 15, whatever f (validate() still runs at
//    any n in fuzz_spec).
#pragma once

#include <cstdlib>
#include <string>

#include <robustagg/robustagg.hpp>

namespace fuzz {

inline bool over_fuzz_budget(const std::string& canonical, robustagg::Index n) {
  constexpr const char* kKey = "iterations=";
  for (std::size_t at = canonical.find(kKey); at != std::string::npos;
       at = canonical.find(kKey, at + 1)) {
    const char* digits = canonical.c_str() + at + std::char_traits<char>::length(kKey);
    if (std::strtoll(digits, nullptr, 10) > 256) return true;
  }
  const bool subsets =
      canonical.find("smea(") != std::string::npos || canonical.find("mda(") != std::string::npos;
  return subsets && n > 15;
}

}  // namespace fuzz
