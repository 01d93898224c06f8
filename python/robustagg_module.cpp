// robustagg._robustagg: the pybind11 bindings behind the `robustagg` Python
// package (python/robustagg/__init__.py). Everything here is a thin layer over
// the C++ API: rules come from rule_catalog()/parse_rule, aggregation is
// robustagg::aggregate on a RowsView over the caller's NumPy buffers (torch
// tensors arrive here as NumPy views sharing their memory, made by
// __init__.py), stages are robustagg::parse_stage / apply_stage, attacks come
// from robustagg::attacks::attack_catalog().
//
// Buffers: an aligned 2-D array is read in place when its rows are contiguous
// (column stride == item size, any row stride) or its strides are positive
// multiples of the item size (Fortran order, transposed and column-strided
// views: a strided RowsView, which the C++ side reads in place or gathers
// once into its workspace); a list/tuple of 1-D arrays is read through row
// pointers. Any other layout (negative column strides, unaligned buffers)
// is copied once. The GIL is
// released while a rule runs; the py::array objects held in Input keep the
// buffers alive meanwhile.
//
// Test hooks (a count of those copies, a C++-side timer for the overhead
// benchmark) exist only in a module compiled with ROBUSTAGG_PYTHON_TEST_HOOKS
// (CMake option of the same name, on in test builds), in the private
// submodule _robustagg._testing; the installed package has none.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <robustagg/aggregate.hpp>
#include <robustagg/any_stage.hpp>
#include <robustagg/attacks.hpp>
#include <robustagg/noisy.hpp>
#include <robustagg/robustagg.hpp>
#include <robustagg/sharded.hpp>
#include <robustagg/spec.hpp>
#include <robustagg/threads.hpp>
#include <robustagg/version.hpp>

namespace py = pybind11;
using robustagg::AnyRule;
using robustagg::Index;

namespace {

#if defined(ROBUSTAGG_PYTHON_TEST_HOOKS)
std::atomic<std::uint64_t> g_copies{0};
#define ROBUSTAGG_COUNT_COPY() (++g_copies)
#else
#define ROBUSTAGG_COUNT_COPY() ((void)0)
#endif

constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;
constexpr int kWriteable = py::detail::npy_api::NPY_ARRAY_WRITEABLE_;

std::string type_name(const py::handle& h) {
  return py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>();
}

std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    s += (i ? ", " : "") + std::to_string(a.shape(i));
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

/// 4 for float32, 8 for float64 (native byte order); else a TypeError.
int float_kind(const py::array& a, const std::string& what) {
  if (py::isinstance<py::array_t<float, 0>>(a)) return 4;
  if (py::isinstance<py::array_t<double, 0>>(a)) return 8;
  throw py::type_error(what + " must be float32 or float64 (native byte order), got " +
                       py::str(a.dtype()).cast<std::string>() +
                       " (convert explicitly, e.g. .astype(np.float32); robustagg never converts)");
}

py::array as_array(const py::handle& h, const std::string& what, const std::string& needed) {
  if (!py::isinstance<py::array>(h))
    throw py::type_error(what + " must be " + needed + ", got " + type_name(h));
  return py::reinterpret_borrow<py::array>(h);
}

/// The gradients as the kernels see them, prepared with the GIL held.
template <class T>
struct Input {
  std::vector<py::array> keep;         // references that keep the buffers alive
  std::vector<const T*> rows;          // row-pointer form (lists)
  std::vector<T> copy;                 // the one copy, for layouts that cannot bind
  robustagg::RowsView<T> view;
  std::vector<std::pair<const char*, const char*>> extents;  // byte ranges read

  void add_extent(const void* p, Index bytes) {
    const char* c = static_cast<const char*>(p);
    extents.emplace_back(c, c + bytes);
  }
};

bool rows_contiguous(const py::array& a, Index d) {
  return (a.flags() & kAligned) && (d <= 1 || a.strides(a.ndim() - 1) == py::ssize_t(a.itemsize()));
}

/// Records the bytes an array spans (any strides), so out= cannot overlap it.
template <class T>
void add_array_extent(const py::array& a, Input<T>& in) {
  const char* p = static_cast<const char*>(a.data());
  py::ssize_t lo = 0, hi = 0;
  for (py::ssize_t k = 0; k < a.ndim(); ++k) {
    if (a.shape(k) == 0) return;
    const py::ssize_t span = (a.shape(k) - 1) * a.strides(k);
    (span < 0 ? lo : hi) += span;
  }
  in.extents.emplace_back(p + lo, p + hi + a.itemsize());
}

template <class T>
void copy_strided_row(const char* src, py::ssize_t stride, Index d, T* dst) {
  for (Index j = 0; j < d; ++j) std::memcpy(dst + j, src + j * stride, sizeof(T));
}

template <class T>
void prepare_matrix(const py::array& a, Input<T>& in) {
  const Index n = a.shape(0), d = a.shape(1);
  in.keep.push_back(a);
  const py::ssize_t s0 = a.strides(0), s1 = a.strides(1);
  if (rows_contiguous(a, d) && (n <= 1 || s0 % py::ssize_t(sizeof(T)) == 0)) {
    const T* base = static_cast<const T*>(a.data());
    const Index stride = n <= 1 ? d : Index(s0 / py::ssize_t(sizeof(T)));
    in.view = robustagg::RowsView<T>::strided(base, n, d, stride);
    for (Index i = 0; i < n; ++i) in.add_extent(base + i * stride, d * Index(sizeof(T)));
    return;
  }
  const py::ssize_t item = py::ssize_t(sizeof(T));
  if ((a.flags() & kAligned) && n > 1 && d > 1 && s0 > 0 && s1 > 0 && s0 % item == 0 && s1 % item == 0) {
    // Column-major (Fortran order, a transposed or column-strided view):
    // read in place through the strided view; the coordinate-wise rules
    // read it as it is, the others gather it once in the C++ workspace.
    const T* base = static_cast<const T*>(a.data());
    in.view = robustagg::RowsView<T>::strided(base, n, d, Index(s0 / item), Index(s1 / item));
    add_array_extent(a, in);
    return;
  }
  ROBUSTAGG_COUNT_COPY();
  add_array_extent(a, in);
  in.copy.resize(std::size_t(n) * std::size_t(d));
  const char* base = static_cast<const char*>(a.data());
  for (Index i = 0; i < n; ++i) copy_strided_row(base + i * s0, s1, d, in.copy.data() + i * d);
  in.view = robustagg::RowsView<T>::strided(in.copy.data(), n, d, d);
}

template <class T>
void prepare_rows(const std::vector<py::array>& list, Index d, Input<T>& in) {
  const Index n = Index(list.size());
  std::vector<Index> copied;
  in.rows.resize(std::size_t(n));
  for (Index i = 0; i < n; ++i) {
    const py::array& a = list[std::size_t(i)];
    in.keep.push_back(a);
    if (rows_contiguous(a, d)) {
      in.rows[std::size_t(i)] = static_cast<const T*>(a.data());
      in.add_extent(a.data(), d * Index(sizeof(T)));
    } else {
      copied.push_back(i);
    }
  }
  if (copied.empty()) {
    in.view = robustagg::RowsView<T>::from_rows(in.rows.data(), n, d);
    return;
  }
  ROBUSTAGG_COUNT_COPY();
  in.copy.resize(copied.size() * std::size_t(d));
  for (std::size_t k = 0; k < copied.size(); ++k) {
    const py::array& a = list[std::size_t(copied[k])];
    add_array_extent(a, in);
    T* dst = in.copy.data() + k * std::size_t(d);
    copy_strided_row(static_cast<const char*>(a.data()), a.strides(0), d, dst);
    in.rows[std::size_t(copied[k])] = dst;
  }
  in.view = robustagg::RowsView<T>::from_rows(in.rows.data(), n, d);
}

const char* kNeeded =
    "a 2-D float32/float64 numpy array (n x d), a CPU torch.Tensor or a list/tuple of n "
    "1-D arrays/tensors of length d";

/// Checks the gradients and returns (kind, d) with kind 4 or 8.
struct Shape {
  int kind = 0;
  Index n = 0, d = 0;
  bool list = false;
  std::vector<py::array> rows;
};

Shape inspect(const py::handle& g, const char* who) {
  Shape s;
  const std::string w = std::string(who) + ": gradients";
  if (py::isinstance<py::list>(g) || py::isinstance<py::tuple>(g)) {
    s.list = true;
    py::sequence seq = py::reinterpret_borrow<py::sequence>(g);
    s.n = Index(py::len(seq));
    if (s.n == 0)
      throw py::value_error(w + " is an empty " + type_name(g) +
                            "; needs at least one row (n >= 1)");
    for (Index i = 0; i < s.n; ++i) {
      const std::string wi = w + "[" + std::to_string(i) + "]";
      py::array a = as_array(seq[py::size_t(i)], wi, "a 1-D float32/float64 numpy array or CPU torch.Tensor");
      if (a.ndim() != 1)
        throw py::value_error(wi + " must be 1-D (one gradient of d values), got shape " +
                              shape_text(a));
      const int k = float_kind(a, wi);
      if (i == 0) {
        s.kind = k;
        s.d = a.shape(0);
      } else if (k != s.kind) {
        throw py::type_error(wi + " is " + py::str(a.dtype()).cast<std::string>() + ", gradients[0] is " + (s.kind == 4 ? "float32" : "float64") +
                             ": all rows need the same dtype");
      } else if (a.shape(0) != s.d) {
        throw py::value_error(wi + " has " + std::to_string(a.shape(0)) + " values, gradients[0] has " + std::to_string(s.d) +
                              ": all rows need the same length (ragged list)");
      }
      s.rows.push_back(std::move(a));
    }
    return s;
  }
  py::array a = as_array(g, w, kNeeded);
  if (a.ndim() != 2)
    throw py::value_error(w + " must be 2-D (n x d, one row per worker), got a " +
                          std::to_string(a.ndim()) + "-D array of shape " + shape_text(a));
  s.kind = float_kind(a, w);
  s.n = a.shape(0);
  s.d = a.shape(1);
  s.rows.push_back(std::move(a));
  return s;
}

/// The output buffer: the caller's `out` (checked) or a new array.
py::array output(const py::object& out, int kind, Index d, const char* who) {
  if (out.is_none()) {
    if (kind == 4) return py::array_t<float>(d);
    return py::array_t<double>(d);
  }
  const std::string w = std::string(who) + ": out";
  py::array o = as_array(out, w, "a 1-D contiguous writeable float32/float64 numpy array or CPU torch.Tensor");
  const int k = float_kind(o, w);
  if (k != kind)
    throw py::type_error(w + " is " + py::str(o.dtype()).cast<std::string>() +
                         ", the gradients are " + (kind == 4 ? "float32" : "float64") +
                         ": out needs the gradients' dtype");
  if (o.ndim() != 1 || o.shape(0) != d)
    throw py::value_error(w + " must be 1-D of length d = " + std::to_string(d) +
                          ", got shape " + shape_text(o));
  if (!(o.flags() & kWriteable)) throw py::value_error(w + " is read-only");
  if (!(o.flags() & kAligned) || (d > 1 && o.strides(0) != py::ssize_t(o.itemsize())))
    throw py::value_error(w + " must be contiguous (stride " + std::to_string(o.itemsize()) +
                          " bytes), got stride " + std::to_string(o.strides(0)));
  return o;
}

template <class T>
void check_overlap(const Input<T>& in, const py::array& o, Index d, const char* who) {
  const char* a = static_cast<const char*>(o.data());
  const char* b = a + d * Index(sizeof(T));
  for (const auto& e : in.extents)
    if (a < e.second && e.first < b)
      throw py::value_error(std::string(who) +
                            ": out overlaps the gradients; it needs its own buffer");
}

/// A rule with a workspace and a lock (one Python Aggregator may be called
/// from several threads; calls on it run one at a time).
struct Runner {
  explicit Runner(AnyRule rule) : agg(std::move(rule)) {}
  // The C++ Aggregator: its workspace, and the previous output that a
  // warm-started centered clipping starts from.
  robustagg::Aggregator<AnyRule> agg;
  std::mutex lock;
  std::vector<robustagg::StageReport> report;
  // robustagg.aggregate: the calling thread's cached workspace (the C++
  // value form's, robustagg::cached_workspace_limit) instead of agg's.
  bool cached = false;
};

/// The centered clipping a start vector is for: the rule itself (not inside
/// a stage chain or DETOX), without warm-start.
const robustagg::CenteredClipping& clipping_for_start(const AnyRule& rule, const char* who) {
  const auto* cc = rule.target<robustagg::CenteredClipping>();
  if (!cc)
    throw py::type_error(std::string(who) + ": start= is the start vector of centered-clipping; the rule " +
                         rule.spec() + " takes none");
  if (cc->warm_start)
    throw py::value_error(std::string(who) + ": start= and warm-start=1 both choose the start of " +
                          rule.spec() + "; use one");
  return *cc;
}

/// The start vector: 1-D, d values, the gradients' dtype (copied: d values).
template <class T>
std::vector<T> start_vector(const py::object& start, Index d, const char* who) {
  const std::string w = std::string(who) + ": start";
  py::array a = as_array(start, w, "a 1-D float32/float64 numpy array or CPU torch.Tensor of length d");
  if (float_kind(a, w) != int(sizeof(T)))
    throw py::type_error(w + " is " + py::str(a.dtype()).cast<std::string>() + ", the gradients are " +
                         (sizeof(T) == 4 ? "float32" : "float64") + ": start needs the gradients' dtype");
  if (a.ndim() != 1 || a.shape(0) != d)
    throw py::value_error(w + " must be 1-D of length d = " + std::to_string(d) + ", got shape " + shape_text(a));
  std::vector<T> v(static_cast<std::size_t>(d));
  copy_strided_row(static_cast<const char*>(a.data()), d > 0 ? a.strides(0) : 0, d, v.data());
  return v;
}

template <class T>
py::object run_typed(const Shape& s, Runner& r, const py::object& out, const py::object& start,
                     const char* who) {
  Input<T> in;
  if (s.list)
    prepare_rows<T>(s.rows, s.d, in);
  else
    prepare_matrix<T>(s.rows[0], in);
  py::array o = output(out, sizeof(T), s.d, who);
  if (!out.is_none()) check_overlap(in, o, s.d, who);
  T* dst = static_cast<T*>(o.mutable_data());
  const robustagg::CenteredClipping* cc = nullptr;
  std::vector<T> v0;
  if (!start.is_none()) {
    cc = &clipping_for_start(r.agg.rule(), who);
    v0 = start_vector<T>(start, s.d, who);
  }
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> guard(r.lock);
    robustagg::detail::check_pointers(in.view, static_cast<const T*>(dst));
    const auto run_in = [&](robustagg::Workspace& ws) {
      if (cc) {
        cc->validate(in.view.rows(), in.view.cols());
        ws.report().clear();
        cc->run_from(robustagg::detail::view_for(*cc, in.view, ws), v0.data(), dst, ws);
      } else if (r.cached) {
        const AnyRule& rule = r.agg.rule();
        rule.validate(in.view.rows(), in.view.cols());
        ws.report().clear();
        robustagg::detail::run_rule(rule, in.view, dst, ws);
      } else {
        r.agg(in.view, dst);
      }
      r.report = ws.report();
    };
    if (r.cached)
      robustagg::detail::with_cached_workspace(run_in);
    else
      run_in(r.agg.workspace());
  }
  return std::move(o);
}

py::object run(const py::handle& g, Runner& r, const py::object& out, const py::object& start,
               const char* who) {
  const Shape s = inspect(g, who);
  if (s.kind == 4) return run_typed<float>(s, r, out, start, who);
  return run_typed<double>(s, r, out, start, who);
}

/// A parsed stage (Python's robustagg.Stage).
struct PyStage {
  robustagg::AnyStage stage;
  explicit PyStage(const std::string& spec) : stage(robustagg::parse_stage(spec)) {}
};

template <class T>
py::object stage_typed(const Shape& s, const robustagg::AnyStage& stage, std::vector<robustagg::StageReport>& report) {
  Input<T> in;
  if (s.list)
    prepare_rows<T>(s.rows, s.d, in);
  else
    prepare_matrix<T>(s.rows[0], in);
  stage.validate(in.view.rows(), in.view.cols());
  py::array_t<T> result({stage.rows_out(s.n), s.d});
  Index rows = 0;
  {
    py::gil_scoped_release release;
    robustagg::Workspace ws;
    rows = robustagg::apply_stage(in.view, stage, result.mutable_data(), ws);
    report = ws.report();
  }
  if (rows != result.shape(0)) result.resize({rows, s.d});
  return std::move(result);
}

/// A parsed rule; the Python rule classes derive from it.
struct PyRule {
  AnyRule rule;
  explicit PyRule(const std::string& spec) : rule(robustagg::parse_rule(spec)) {}
};

struct PyAggregator {
  Runner runner;
  explicit PyAggregator(const PyRule& r) : runner(r.rule) {}
};

py::list report_list(const std::vector<robustagg::StageReport>& rep) {
  py::list l;
  for (const auto& s : rep) l.append(py::make_tuple(s.stage, s.detail));
  return l;
}

template <class T>
py::array attack_typed(const robustagg::attacks::Attack& at, const py::array& a,
                       const std::vector<Index>& byzantine, std::uint64_t step) {
  const Index n = a.shape(0), d = a.shape(1);
  robustagg::GradientMatrix<T> g(n, d);
  const char* base = static_cast<const char*>(a.data());
  for (Index i = 0; i < n; ++i) copy_strided_row(base + i * a.strides(0), a.strides(1), d, g.row(i).data());
  {
    py::gil_scoped_release release;
    at.apply(g, byzantine, step);
  }
  py::array_t<T> result({n, d});
  std::memcpy(result.mutable_data(), g.data(), sizeof(T) * std::size_t(n) * std::size_t(d));
  return std::move(result);
}

template <class T>
py::array perturb_typed(const py::array& a, double b, std::uint64_t seed, std::uint64_t worker) {
  const Index d = a.shape(0);
  py::array_t<T> result(d);
  T* dst = result.mutable_data();
  copy_strided_row(static_cast<const char*>(a.data()), a.strides(0), d, dst);
  py::gil_scoped_release release;
  robustagg::perturb_inplace(dst, d, b, seed, worker);
  return std::move(result);
}

#if defined(ROBUSTAGG_PYTHON_TEST_HOOKS)
/// Seconds per call of the C++ aggregate on the same buffers, for the
/// overhead benchmark (benchmarks/bench_python.py). fresh: a new output per
/// call in the thread's cached workspace (as robustagg.aggregate); else the
/// output and a workspace of its own reused (as Aggregator).
template <class T>
std::vector<double> time_cpp_typed(const Shape& s, const AnyRule& rule, int repeats, bool fresh) {
  Input<T> in;
  if (s.list)
    prepare_rows<T>(s.rows, s.d, in);
  else
    prepare_matrix<T>(s.rows[0], in);
  std::vector<double> times;
  py::gil_scoped_release release;
  robustagg::Workspace ws;
  std::vector<T> out(std::size_t(s.d));
  robustagg::aggregate(in.view, rule, out.data(), ws);  // warm-up
  for (int k = 0; k < repeats; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    if (fresh) {  // as robustagg.aggregate: a new output, the thread's cached workspace
      std::unique_ptr<T[]> o(new T[std::size_t(s.d)]);  // uninitialised, as numpy.empty
      robustagg::detail::with_cached_workspace(
          [&](robustagg::Workspace& w) { robustagg::aggregate(in.view, rule, o.get(), w); });
    } else {
      robustagg::aggregate(in.view, rule, out.data(), ws);
    }
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return times;
}
#endif

}  // namespace

// aggregate_sharded on a C-contiguous n x len shard; reduce(values, op) is a
// Python callable that combines the float64 array `values` across shards in
// place (op "sum" or "max"). The GIL stays held: reduce runs Python.
template <class T>
py::array sharded_typed(const py::array& a, const AnyRule& rule, Index offset, Index d,
                        const py::function& reduce) {
  const auto shard = py::array_t<T, py::array::c_style>::ensure(a);
  if (!shard || shard.ndim() != 2)
    throw py::value_error("robustagg._aggregate_sharded: the shard must be a 2-D array");
  const Index n = shard.shape(0), len = shard.shape(1);
  py::array_t<T> out(static_cast<py::ssize_t>(len));
  const robustagg::ShardReduce red = [&reduce](double* v, Index count, robustagg::ReduceOp op) {
    const py::capsule owner(v, [](void*) {});
    py::array_t<double> view(static_cast<py::ssize_t>(count), v, owner);
    reduce(view, op == robustagg::ReduceOp::sum ? "sum" : "max");
  };
  static thread_local robustagg::Workspace ws;
  robustagg::aggregate_sharded(robustagg::RowsView<T>::strided(shard.data(), n, len, len), rule,
                               offset, d, out.mutable_data(), red, ws);
  return std::move(out);
}

PYBIND11_MODULE(_robustagg, m) {
  m.doc() = "robustagg's compiled core (use the robustagg package, not this module)";
  m.attr("__version__") = robustagg::version;
  py::register_exception<robustagg::Error>(m, "Error", PyExc_ValueError);

  py::class_<PyRule>(m, "Rule", py::dynamic_attr(),
                     "A rule parsed from a spec string, e.g. Rule('bulyan(f=2)').")
      .def(py::init<const std::string&>(), py::arg("spec"))
      .def_property_readonly(
          "spec", [](const PyRule& r) { return r.rule.spec(); },
          "The canonical spec string (parse_rule(rule.spec) gives the same rule).")
      .def("min_rows", [](const PyRule& r) { return r.rule.min_rows(); },
           "The fewest gradients the rule accepts.")
      .def("validate", [](const PyRule& r, Index n, Index d) { r.rule.validate(n, d); },
           py::arg("n"), py::arg("d"),
           "Raises robustagg.Error if the rule cannot aggregate n gradients of d values.")
      .def("__repr__", [](const PyRule& r) { return r.rule.spec(); })
      .def("__str__", [](const PyRule& r) { return r.rule.spec(); })
      .def("__eq__", [](const PyRule& a, const py::object& b) {
        return py::isinstance<PyRule>(b) && a.rule.spec() == b.cast<const PyRule&>().rule.spec();
      })
      .def("__hash__", [](const PyRule& r) { return py::hash(py::str(r.rule.spec())); });

  m.def("_catalog", [] {
    py::list l;
    for (const auto& r : robustagg::rule_catalog())
      l.append(py::make_tuple(r.name, r.parameters, r.requirement, r.summary));
    return l;
  }, "The rule catalogue as (name, parameters, requirement, summary) tuples.");

  m.def("_aggregate", [](const py::object& g, const PyRule& rule, const py::object& out,
                         const py::object& start) {
    Runner r(rule.rule);
    r.cached = true;  // no page faults for the rule's scratch after the first call of a shape
    return run(g, r, out, start, "robustagg.aggregate");
  }, py::arg("gradients"), py::arg("rule"), py::arg("out") = py::none(), py::arg("start") = py::none());

  m.def("_aggregate_sharded", [](const py::array& shard, const PyRule& rule, Index offset, Index d,
                                 const py::function& reduce) -> py::array {
    if (float_kind(shard, "robustagg._aggregate_sharded: shard") == 4)
      return sharded_typed<float>(shard, rule.rule, offset, d, reduce);
    return sharded_typed<double>(shard, rule.rule, offset, d, reduce);
  }, py::arg("shard"), py::arg("rule"), py::arg("offset"), py::arg("d"), py::arg("reduce"),
     "The sharded (two-phase) form: the aggregate's columns [offset, offset + len) from the n x "
     "len shard; reduce(values, op) must combine the float64 array across shards in place.");
  m.def("_is_coordinate_wise", [](const PyRule& r) { return robustagg::is_coordinate_wise(r.rule); });

  py::class_<PyStage>(m, "Stage", "A stage parsed from a spec without then=, e.g. Stage('nnm(f=2)').")
      .def(py::init<const std::string&>(), py::arg("spec"))
      .def_property_readonly("spec", [](const PyStage& s) { return s.stage.spec(); },
                             "The canonical spec (robustagg.Stage(stage.spec) is the same stage).")
      .def("rows_out", [](const PyStage& s, Index n) { return s.stage.rows_out(n); }, py::arg("n"),
           "The rows the stage outputs from n rows.")
      .def("validate", [](const PyStage& s, Index n, Index d) { s.stage.validate(n, d); },
           py::arg("n"), py::arg("d"), "Raises robustagg.Error if the stage cannot take n rows of d values.")
      .def("__repr__", [](const PyStage& s) { return "Stage('" + s.stage.spec() + "')"; })
      .def("__str__", [](const PyStage& s) { return s.stage.spec(); })
      .def("__eq__", [](const PyStage& a, const py::object& b) {
        return py::isinstance<PyStage>(b) && a.stage.spec() == b.cast<const PyStage&>().stage.spec();
      })
      .def("__hash__", [](const PyStage& s) { return py::hash(py::str(s.stage.spec())); })
      .def(py::pickle([](const PyStage& s) { return s.stage.spec(); },
                      [](const std::string& spec) { return PyStage(spec); }));

  m.def("_apply_stage", [](const py::object& g, const PyStage& stage) {
    const Shape s = inspect(g, "robustagg.apply_stage");
    std::vector<robustagg::StageReport> report;
    py::object out = s.kind == 4 ? stage_typed<float>(s, stage.stage, report)
                                 : stage_typed<double>(s, stage.stage, report);
    return py::make_tuple(out, report_list(report));
  }, py::arg("gradients"), py::arg("stage"));

  py::class_<PyAggregator>(m, "_Aggregator")
      .def(py::init<const PyRule&>())
      .def("__call__", [](PyAggregator& a, const py::object& g, const py::object& out,
                          const py::object& start) {
        return run(g, a.runner, out, start, "robustagg.Aggregator");
      }, py::arg("gradients"), py::arg("out") = py::none(), py::arg("start") = py::none())
      .def_property_readonly("report", [](PyAggregator& a) {
        std::vector<robustagg::StageReport> rep;
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> guard(a.runner.lock);
          rep = a.runner.report;
        }
        return report_list(rep);
      })
      .def_property_readonly("workspace_bytes", [](PyAggregator& a) {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> guard(a.runner.lock);
        return a.runner.agg.workspace().capacity_bytes();
      });

  m.def("perturb", [](const py::object& g, double b, std::uint64_t seed, std::uint64_t worker) {
    const std::string w = "robustagg.perturb: gradient";
    py::array a = as_array(g, w, "a 1-D float32/float64 numpy array or CPU torch.Tensor");
    if (a.ndim() != 1)
      throw py::value_error(w + " must be 1-D, got shape " + shape_text(a));
    if (float_kind(a, w) == 4) return perturb_typed<float>(a, b, seed, worker);
    return perturb_typed<double>(a, b, seed, worker);
  }, py::arg("gradient"), py::arg("b"), py::arg("seed"), py::arg("worker"));

#if defined(ROBUSTAGG_PYTHON_TEST_HOOKS)
  // Test hooks, only in a module built with ROBUSTAGG_PYTHON_TEST_HOOKS.
  py::module_ t = m.def_submodule("_testing", "test hooks (test builds only)");
  t.def("time_cpp", [](const py::object& g, const PyRule& rule, int repeats, bool fresh) {
    const Shape s = inspect(g, "robustagg._robustagg._testing.time_cpp");
    if (s.kind == 4) return time_cpp_typed<float>(s, rule.rule, repeats, fresh);
    return time_cpp_typed<double>(s, rule.rule, repeats, fresh);
  }, py::arg("gradients"), py::arg("rule"), py::arg("repeats"), py::arg("fresh"));

  t.def("copy_count", [] { return g_copies.load(); },
        "How many inputs were copied because their layout could not be read in place.");
#endif

  m.def("set_num_threads", &robustagg::set_num_threads, py::arg("k"),
        "Sets the threads aggregations use (the calling thread included); k <= 0: the "
        "hardware concurrency.");
  m.def("num_threads", &robustagg::num_threads, "The threads aggregations use (>= 1).");
  m.def("set_cached_workspace_limit", &robustagg::set_cached_workspace_limit, py::arg("bytes"),
        "The most bytes aggregate()'s per-thread workspace keeps between calls (default 1 GiB; "
        "0: a new workspace per call).");
  m.def("cached_workspace_limit", &robustagg::cached_workspace_limit,
        "The limit set by set_cached_workspace_limit (bytes).");
  m.def("release_cached_workspace", &robustagg::release_cached_workspace,
        "Frees the calling thread's cached aggregate() workspace.");
  m.def("simd_arch", [] { return std::string(robustagg::simd_arch()); },
        "The SIMD architecture the kernels run on ('avx512', 'avx2', 'sse2'), chosen at run time.");
  m.def("simd_archs", &robustagg::simd_archs,
        "The SIMD architectures compiled in that this machine runs, best first.");
  m.def("set_simd_arch", &robustagg::set_simd_arch, py::arg("name"),
        "Forces the kernels onto one architecture of simd_archs() ('auto' or '' restores the "
        "automatic choice). Every architecture gives bitwise the same results.");

  py::class_<robustagg::attacks::Attack>(m, "Attack", "An attack parsed from a spec, e.g. Attack('alie(z=1.5)').")
      .def(py::init([](const std::string& s) { return robustagg::attacks::parse_attack(s); }),
           py::arg("spec"))
      .def_property_readonly("spec", &robustagg::attacks::Attack::spec,
                             "The canonical spec (Attack(a.spec) is the same attack).")
      .def_property_readonly("name", &robustagg::attacks::Attack::name, "The catalogue name.")
      .def_property_readonly("kind", [](const robustagg::attacks::Attack& a) {
        return std::string(robustagg::attacks::kind_name(a.kind()));
      }, "'gradient' (replaces the Byzantine rows) or 'data' (changes their training labels).")
      .def("__repr__", [](const robustagg::attacks::Attack& a) { return "Attack('" + a.spec() + "')"; })
      .def("__str__", &robustagg::attacks::Attack::spec)
      .def("__eq__", [](const robustagg::attacks::Attack& a, const py::object& b) {
        return py::isinstance<robustagg::attacks::Attack>(b) &&
               a.spec() == b.cast<const robustagg::attacks::Attack&>().spec();
      })
      .def("__hash__", [](const robustagg::attacks::Attack& a) { return py::hash(py::str(a.spec())); })
      .def(py::pickle([](const robustagg::attacks::Attack& a) { return a.spec(); },
                      [](const std::string& spec) { return robustagg::attacks::parse_attack(spec); }))
      .def("_apply", [](const robustagg::attacks::Attack& at, const py::object& g,
                        const std::vector<Index>& byzantine, std::uint64_t step) {
        const std::string w = "robustagg.attacks.apply: gradients";
        py::array a = as_array(g, w, "a 2-D float32/float64 numpy array or CPU torch.Tensor");
        if (a.ndim() != 2)
          throw py::value_error(w + " must be 2-D (n x d), got shape " + shape_text(a));
        if (float_kind(a, w) == 4) return attack_typed<float>(at, a, byzantine, step);
        return attack_typed<double>(at, a, byzantine, step);
      });
  m.def("_attack_catalog", [] {
    py::list l;
    for (const auto& a : robustagg::attacks::attack_catalog())
      l.append(py::make_tuple(a.name, a.parameters, robustagg::attacks::kind_name(a.kind), a.requirement,
                              a.summary));
    return l;
  }, "The attack catalogue as (name, parameters, kind, requirement, summary) tuples.");
  m.def("flip_label", &robustagg::attacks::flip_label, py::arg("label"), py::arg("classes"),
        "label-flip's label: classes - 1 - label.");
  m.def("alie_z", &robustagg::attacks::alie_z, py::arg("n"), py::arg("f"),
        "ALIE's default z for n workers of which f are Byzantine.");
}
