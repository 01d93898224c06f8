// Simulated workers: how training data is handed out (iid minibatches,
// DETOX groups computing the same batch, class-heterogeneous shards), where
// the Byzantine workers sit, and the workers' gradients as rows of a
// robustagg::GradientMatrix<float>. Shared by the demo and the MPI example.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <robustagg/gradients.hpp>

#include "digits.hpp"
#include "mlp.hpp"

namespace demo {

using robustagg::Index;

/// Byzantine worker ids among p workers in groups of r consecutive workers,
/// placed as the DETOX paper's worst case: the adversary fills groups with
/// ceil(r/2) Byzantines each (capturing their votes) while it can, and puts
/// any remainder in the next group (where it is outvoted); once every group
/// holds a majority, the rest fill the first free workers. r = 1: workers
/// 0..q-1. Returns min(q, p) ids in ascending order. The same ids serve the
/// plain rules (for which the placement does not matter).
inline std::vector<Index> byzantine_workers(Index p, Index q, Index r) {
  std::vector<char> chosen(static_cast<std::size_t>(std::max<Index>(p, 0)), 0);
  const Index want = std::min(q, p);
  const Index per_group = (r + 1) / 2;
  Index placed = 0;
  for (Index g = 0; placed < want && g * r < p; ++g)
    for (Index k = 0; k < per_group && placed < want && g * r + k < p; ++k)
      chosen[std::size_t(g * r + k)] = 1, ++placed;
  for (Index i = 0; i < p && placed < want; ++i)
    if (!chosen[std::size_t(i)]) chosen[std::size_t(i)] = 1, ++placed;
  std::vector<Index> ids;
  for (Index i = 0; i < p; ++i)
    if (chosen[std::size_t(i)]) ids.push_back(i);
  return ids;
}

/// splitmix64's finaliser (Steele, Lea, Flood 2014): a bijective avalanche
/// mix of a 64-bit key (the demo's own copy: robustagg's is internal).
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// q Byzantine worker ids among p drawn at random (seeded): the DETOX
/// paper's model, where the parameter server assigns workers to groups at
/// random, so the adversary cannot choose its groups. Ascending order.
inline std::vector<Index> random_workers(Index p, Index q, std::uint64_t seed) {
  std::vector<Index> ids(static_cast<std::size_t>(std::max<Index>(p, 0)));
  for (Index i = 0; i < p; ++i) ids[std::size_t(i)] = i;
  std::mt19937_64 rng(mix64(seed ^ 0x6a09e667f3bcc909ULL));
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[std::size_t(rng() % i)]);
  ids.resize(std::size_t(std::min(q, p)));
  std::sort(ids.begin(), ids.end());
  return ids;
}

/// The groups of r consecutive workers in which the Byzantine workers hold
/// a majority (those whose vote they capture).
inline Index captured_groups(const std::vector<Index>& byzantine, Index p, Index r) {
  std::vector<Index> count(static_cast<std::size_t>(std::max<Index>((p + r - 1) / r, 0)), 0);
  for (Index b : byzantine) ++count[std::size_t(b / r)];
  Index captured = 0;
  for (Index c : count) captured += c >= r / 2 + 1;
  return captured;
}

/// The minibatch of `batch` training indices (drawn with replacement) for
/// (seed, step, stream): every worker of a DETOX group uses its group's
/// stream, so the group's honest replicas compute bitwise-equal gradients.
inline void sample_batch(Index n_train, int batch, std::uint64_t seed, std::uint64_t step,
                         std::uint64_t stream, int* out) {
  std::mt19937_64 rng(mix64(mix64(mix64(seed) ^ step) ^ stream));
  for (int i = 0; i < batch; ++i) out[i] = int(rng() % std::uint64_t(n_train));
}

/// Class-heterogeneous shards for `workers` workers: worker w holds the
/// classes w mod 10 and (w+1) mod 10, each class's training examples split
/// evenly (in data order) among the workers holding that class.
inline std::vector<std::vector<int>> two_class_shards(const Dataset& train, int workers) {
  std::vector<std::vector<int>> holders(kClasses);
  for (int w = 0; w < workers; ++w) {
    holders[std::size_t(w % kClasses)].push_back(w);
    holders[std::size_t((w + 1) % kClasses)].push_back(w);
  }
  std::vector<std::vector<int>> shards(static_cast<std::size_t>(workers));
  std::vector<int> seen(kClasses, 0);
  for (Index i = 0; i < train.size(); ++i) {
    const int c = train.y[std::size_t(i)];
    const std::vector<int>& h = holders[std::size_t(c)];
    if (h.empty()) continue;
    shards[std::size_t(h[std::size_t(seen[std::size_t(c)]++) % h.size()])].push_back(int(i));
  }
  return shards;
}

/// Class-heterogeneous shards: worker w holds the training examples of the
/// classes classes_of[w]; each class's examples are split evenly (in data
/// order, round robin) among the workers holding that class.
inline std::vector<std::vector<int>> class_shards(const Dataset& train,
                                                  const std::vector<std::vector<int>>& classes_of) {
  std::vector<std::vector<int>> holders(kClasses);
  for (std::size_t w = 0; w < classes_of.size(); ++w)
    for (int c : classes_of[w]) holders[std::size_t(c)].push_back(int(w));
  std::vector<std::vector<int>> shards(classes_of.size());
  std::vector<int> seen(kClasses, 0);
  for (Index i = 0; i < train.size(); ++i) {
    const int c = train.y[std::size_t(i)];
    const std::vector<int>& h = holders[std::size_t(c)];
    if (h.empty()) continue;
    shards[std::size_t(h[std::size_t(seen[std::size_t(c)]++) % h.size()])].push_back(int(i));
  }
  return shards;
}

/// Fills G (p x Model::kParams) with the workers' gradients: row i is the
/// gradient on the examples batches[stream_of[i]] (rows sharing a stream get
/// the same, bitwise-equal gradient, computed once). Workers i with
/// `flipped[i]` (when given) train on flipped labels 9 - y instead (label
/// flipping, a data attack; a flipped row is never shared with an honest
/// one). Returns the sum of the distinct batches' mean losses.
template <class Model = Mlp>
double worker_gradients(const float* params, const Dataset& train,
                        const std::vector<std::vector<int>>& batches,
                        const std::vector<int>& stream_of, robustagg::GradientMatrix<float>& G,
                        typename Model::Scratch& s, const std::vector<char>* flipped = nullptr) {
  const Index p = Index(stream_of.size());
  if (G.rows() != p || G.cols() != Model::kParams) G.resize(p, Model::kParams);
  // first[2 * stream + flip]: the row already holding that gradient.
  std::vector<int> first(2 * batches.size(), -1);
  double loss = 0.0;
  for (Index i = 0; i < p; ++i) {
    const int st = stream_of[std::size_t(i)];
    const bool flip = flipped && (*flipped)[std::size_t(i)];
    int& seen = first[2 * std::size_t(st) + (flip ? 1 : 0)];
    if (seen >= 0) {
      G.row(i) = G.row(seen);
      continue;
    }
    seen = int(i);
    const std::vector<int>& b = batches[std::size_t(st)];
    loss += Model::gradient(params, train, b.data(), Index(b.size()), G.row(i).data(), s, flip);
  }
  return loss;
}

}  // namespace demo
