// robustagg::detail: what the subset rules (MDA, SMEA) and CAF share: their
// time bounds, the centred Gram matrix from squared distances, and a
// symmetric eigen-solver on workspace memory (no allocation).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "../errors.hpp"
#include "../gradients.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// MDA's time bound: validate() refuses a shape whose exact search could
/// take more than kMaxMdaWork elementary steps in the worst case
/// (mda_search_work in mda.hpp: a 64-bit word operation each, about 1 ns on
/// the development machine, so about 10 s). Typical inputs take far less:
/// n = 61, f = 30 (worst case 2.2e10 steps, refused) searched random inputs in
/// under 1 ms.
inline constexpr double kMaxMdaWork = 1e10;

/// SMEA's time bound: it visits all C(n, f) subsets and, for each one not cut
/// by its diameter, forms the (n - f) x (n - f) centred Gram matrix and tests
/// it against the best eigenvalue so far (a Cholesky factorisation); validate()
/// refuses C(n, f) * ((n - f)^3 / 6 + 2 (n - f)^2) > kMaxSmeaWork, about 7 s on
/// the development machine (C(25, 5) = 53130 subsets of 20 rows, work 1.1e8,
/// took 75 ms). The exact eigen-solver runs only for subsets that pass the
/// test, usually a handful; an input where each subset beats the last would
/// cost about 15 times more.
inline constexpr double kMaxSmeaWork = 1e10;

namespace detail {

/// C(n, k) as a double (exact below 2^53; +Inf when it overflows). At most
/// about 1030 steps whatever n and k: with k <= n / 2 each factor
/// (n - i) / (i + 1) after the first is >= 1 and C(n, k) >= 2^k, so the
/// product overflows before k passes 1024 and the loop stops there.
inline double binomial(Index n, Index k) {
  if (k < 0 || k > n) return 0.0;
  k = std::min(k, n - k);
  double c = 1.0;
  for (Index i = 0; i < k && c <= std::numeric_limits<double>::max(); ++i)
    c = c * double(n - i) / double(i + 1);
  return std::round(c);
}

/// SMEA's work for n rows, f Byzantine (see kMaxSmeaWork).
inline double smea_work(Index n, Index f) {
  const double m = double(n - f);
  return binomial(n, f) * (m * m * m / 6.0 + 2.0 * m * m);
}

/// "<spec> could take more than ..." when SMEA's work exceeds kMaxSmeaWork.
inline void check_smea_work(const std::string& spec, Index n, Index f) {
  const double work = smea_work(n, f);
  if (work > kMaxSmeaWork)
    fail(spec, " would take too long: it searches C(n, f) = C(", n, ", ", f,
         ") subsets of n - f = ", n - f, " rows, work C(n, f) * ((n - f)^3 / 6 + 2 (n - f)^2) = ",
         work, " > ", kMaxSmeaWork,
         " (robustagg::kMaxSmeaWork, about 7 s); use a smaller f or fewer gradients");
}

/// The centred Gram matrix of rows idx[0, m) with weights p (summing to 1,
/// nullptr: 1/m each) from the n x n squared distances D:
///   K_ab = (y_a . y_b), y_a = x_a - sum_c p_c x_c,
///        = (r_a + r_b - s - D_ab) / 2,  r_a = sum_c p_c D_ac,  s = sum_a p_a r_a.
/// r holds m doubles of scratch. K is m x m, row-major.
inline void centred_gram(const double* D, Index n, const Index* idx, Index m, const double* p,
                         double* K, double* r) {
  const double u = 1.0 / double(m);
  for (Index a = 0; a < m; ++a) {
    const double* Da = D + idx[a] * n;
    double s = 0.0;
    for (Index c = 0; c < m; ++c) s += (p ? p[c] : u) * Da[idx[c]];
    r[a] = s;
  }
  double s = 0.0;
  for (Index a = 0; a < m; ++a) s += (p ? p[a] : u) * r[a];
  for (Index a = 0; a < m; ++a) {
    const double* Da = D + idx[a] * n;
    for (Index b = 0; b < m; ++b) K[a * m + b] = 0.5 * (r[a] + r[b] - s - Da[idx[b]]);
  }
}

/// Cyclic Jacobi eigenvalue iteration on the symmetric m x m matrix A
/// (row-major, overwritten): on return its diagonal holds the eigenvalues;
/// V (m x m, may be nullptr) the eigenvectors as columns. Stops when the
/// off-diagonal mass is below (1e-16)^2 of the total, or after 64 sweeps.
inline void jacobi_eigen(double* A, Index m, double* V) {
  if (V)
    for (Index a = 0; a < m; ++a)
      for (Index b = 0; b < m; ++b) V[a * m + b] = a == b ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 64; ++sweep) {
    double off = 0.0, diag = 0.0;
    for (Index p = 0; p < m; ++p) {
      diag += A[p * m + p] * A[p * m + p];
      for (Index q = p + 1; q < m; ++q) off += A[p * m + q] * A[p * m + q];
    }
    if (!(off > 1e-32 * (diag + 2.0 * off))) break;  // also stops on NaN
    for (Index p = 0; p < m; ++p)
      for (Index q = p + 1; q < m; ++q) {
        const double apq = A[p * m + q];
        if (apq == 0.0) continue;
        const double theta = (A[q * m + q] - A[p * m + p]) / (2.0 * apq);
        const double t = std::isinf(theta * theta)
                             ? 0.5 / theta
                             : (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (Index k = 0; k < m; ++k) {  // columns p, q
          const double akp = A[k * m + p], akq = A[k * m + q];
          A[k * m + p] = c * akp - s * akq;
          A[k * m + q] = s * akp + c * akq;
        }
        for (Index k = 0; k < m; ++k) {  // rows p, q
          const double apk = A[p * m + k], aqk = A[q * m + k];
          A[p * m + k] = c * apk - s * aqk;
          A[q * m + k] = s * apk + c * aqk;
        }
        A[p * m + q] = A[q * m + p] = 0.0;
        if (V)
          for (Index k = 0; k < m; ++k) {
            const double vkp = V[k * m + p], vkq = V[k * m + q];
            V[k * m + p] = c * vkp - s * vkq;
            V[k * m + q] = s * vkp + c * vkq;
          }
      }
  }
}

/// Index of the largest diagonal entry of the m x m matrix A (lowest index on ties).
inline Index top_diagonal(const double* A, Index m) {
  Index best = 0;
  for (Index a = 1; a < m; ++a)
    if (A[a * m + a] > A[best * m + best]) best = a;
  return best;
}

}  // namespace detail
}  // namespace robustagg

ROBUSTAGG_FP_END
