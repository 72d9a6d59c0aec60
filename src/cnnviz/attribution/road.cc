// ROAD's pixel removal and linear imputation (pytorch-grad-cam's RemoveMostRelevantFirst,
// RemoveLeastRelevantFirst and NoisyLinearImputer, after Rong et al., arXiv:2202.00449, section 4).
//
// The imputation solves, for the removed pixels x, x_i = sum_j w_ij v_j / sum_j w_ij over the 8
// neighbours j inside the image, with v_j the image where j is kept and x_j where it is removed.
// pytorch-grad-cam hands that system to SciPy's spsolve (SuperLU). Its matrix is symmetric (the
// weights of opposite offsets are equal) and weakly diagonally dominant, strictly in every row next to
// a kept pixel; every connected patch of removed pixels touches a kept one unless all pixels are
// removed, so it is positive definite, and conjugate gradients in double precision reach SuperLU's
// solution far below float32's resolution (tests/cam_test.cc checks it against SciPy's). That is a
// hundred lines against a new dependency (Eigen's sparse Cholesky would be the one; docs/cli.md).

#include "cnnviz/road.h"

#include <algorithm>
#include <cmath>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

// pytorch-grad-cam's neighbour list, in its order (the right-hand side is summed in this order):
// {row offset, column offset, weight}.
struct Neighbour {
  int dr, dc;
  double weight;
};
constexpr Neighbour kNeighbours[] = {{1, 1, 1.0 / 12}, {0, 1, 1.0 / 6},  {-1, 1, 1.0 / 12}, {1, -1, 1.0 / 12},
                                     {0, -1, 1.0 / 6}, {-1, -1, 1.0 / 12}, {1, 0, 1.0 / 6},   {-1, 0, 1.0 / 6}};
constexpr int kSlots = 8;

// The system M x = rhs over the removed pixels, M = -A of pytorch-grad-cam's setup_sparse_system:
// M_ii the weights of i's neighbours inside the image, M_ij = -w for a removed neighbour j.
struct RoadSystem {
  std::vector<int64_t> pixels;      // removed pixels, row-major
  std::vector<double> diagonal;     // M_ii
  std::vector<int64_t> neighbours;  // kSlots per pixel: the removed neighbour's index into `pixels`, or -1
};

// Conjugate gradients with the diagonal as preconditioner, from x = 0, until the residual is 1e-13 of
// the right-hand side's norm, or has not reached a new low in 100 steps (rounding's floor).
std::vector<double> solve(const RoadSystem& system, const std::vector<double>& rhs) {
  const std::size_t n = rhs.size();
  std::vector<double> x(n, 0.0), r = rhs, z(n), p(n), q(n);
  double rhs_norm2 = 0;
  for (double v : rhs) rhs_norm2 += v * v;
  if (rhs_norm2 == 0) return x;
  auto multiply = [&](const std::vector<double>& in, std::vector<double>& out) {
    for (std::size_t i = 0; i < n; ++i) {
      double sum = system.diagonal[i] * in[i];
      for (int s = 0; s < kSlots; ++s) {
        const int64_t j = system.neighbours[i * kSlots + static_cast<std::size_t>(s)];
        if (j >= 0) sum -= kNeighbours[s].weight * in[static_cast<std::size_t>(j)];
      }
      out[i] = sum;
    }
  };
  double rz = 0;
  for (std::size_t i = 0; i < n; ++i) {
    z[i] = r[i] / system.diagonal[i];
    p[i] = z[i];
    rz += r[i] * z[i];
  }
  const double target = 1e-26 * rhs_norm2;  // (1e-13)^2
  double lowest = rhs_norm2;
  std::size_t lowest_at = 0;
  for (std::size_t k = 0; k < lowest_at + 100; ++k) {
    multiply(p, q);
    double pq = 0;
    for (std::size_t i = 0; i < n; ++i) pq += p[i] * q[i];
    if (!(pq > 0)) break;
    const double alpha = rz / pq;
    double r_norm2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      x[i] += alpha * p[i];
      r[i] -= alpha * q[i];
      r_norm2 += r[i] * r[i];
    }
    if (r_norm2 <= target) break;
    if (r_norm2 < lowest) {
      lowest = r_norm2;
      lowest_at = k;
    }
    double rz_next = 0;
    for (std::size_t i = 0; i < n; ++i) {
      z[i] = r[i] / system.diagonal[i];
      rz_next += r[i] * z[i];
    }
    const double beta = rz_next / rz;
    rz = rz_next;
    for (std::size_t i = 0; i < n; ++i) p[i] = z[i] + beta * p[i];
  }
  return x;
}

}  // namespace

float numpy_percentile(std::vector<float> values, double percentile) {
  if (values.empty()) throw Error(ErrorKind::kInternal, "numpy_percentile: no values");
  // numpy's "linear" method: the virtual index (n - 1) * q in double, then _lerp in the array's dtype
  // (float32; the weight is a Python float, so float32 too, NEP 50), from the upper end when the
  // weight is at least 0.5.
  const int64_t n = static_cast<int64_t>(values.size());
  const double index = static_cast<double>(n - 1) * (percentile / 100.0);
  int64_t below = static_cast<int64_t>(std::floor(index));
  int64_t above = below + 1;
  if (index >= static_cast<double>(n - 1)) below = above = n - 1;
  if (index < 0) below = above = 0;
  const double gamma = index - static_cast<double>(below);
  std::nth_element(values.begin(), values.begin() + below, values.end());
  const float a = values[static_cast<std::size_t>(below)];
  const float b = above == below ? a : *std::min_element(values.begin() + below + 1, values.end());
  const float diff = b - a;
  if (gamma >= 0.5) {
    const float step = diff * static_cast<float>(1.0 - gamma);
    return b - step;
  }
  const float step = diff * static_cast<float>(gamma);
  return a + step;
}

std::vector<uint8_t> road_removed_pixels(const FloatArray& map, double percentile, bool most_relevant_first) {
  if (map.dims() != 2) throw Error(ErrorKind::kInternal, "road_removed_pixels: the map is not [H, W]");
  std::vector<float> values = map.values;
  // pytorch-grad-cam's RemoveLeastRelevantFirst thresholds 1 - map (a float32 tensor subtraction).
  if (!most_relevant_first) {
    for (float& v : values) v = 1.0f - v;
  }
  const float threshold = numpy_percentile(values, percentile);
  std::vector<uint8_t> removed(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) removed[i] = !(values[i] < threshold);
  return removed;
}

FloatArray impute_linear(const FloatArray& image, const std::vector<uint8_t>& removed) {
  if (image.dims() != 3) throw Error(ErrorKind::kInternal, "impute_linear: the image is not [C, H, W]");
  const int64_t channels = image.size(0), h = image.size(1), w = image.size(2);
  const std::size_t plane = static_cast<std::size_t>(h * w);
  if (removed.size() != plane) throw Error(ErrorKind::kInternal, "impute_linear: the mask is not H * W");

  RoadSystem system;
  std::vector<int64_t> index_of(plane, -1);
  for (std::size_t i = 0; i < plane; ++i) {
    if (removed[i]) {
      index_of[i] = static_cast<int64_t>(system.pixels.size());
      system.pixels.push_back(static_cast<int64_t>(i));
    }
  }
  const std::size_t n = system.pixels.size();
  FloatArray out = image;
  if (n == 0) return out;
  system.diagonal.assign(n, 1.0);
  system.neighbours.assign(n * kSlots, -1);
  // Per channel, the kept neighbours' share: SciPy's right-hand side sums float32 products
  // (float32 image times a Python float is float32 in numpy) into doubles.
  std::vector<std::vector<double>> rhs(static_cast<std::size_t>(channels), std::vector<double>(n, 0.0));
  for (std::size_t k = 0; k < n; ++k) {
    const int64_t row = system.pixels[k] / w, col = system.pixels[k] % w;
    for (int s = 0; s < kSlots; ++s) {
      const Neighbour& nb = kNeighbours[s];
      const int64_t r = row + nb.dr, c = col + nb.dc;
      if (r < 0 || c < 0 || r >= h || c >= w) {
        system.diagonal[k] -= nb.weight;
        continue;
      }
      const std::size_t j = static_cast<std::size_t>(r * w + c);
      if (removed[j]) {
        system.neighbours[k * kSlots + static_cast<std::size_t>(s)] = index_of[j];
      } else {
        const float weight = static_cast<float>(nb.weight);
        for (int64_t ch = 0; ch < channels; ++ch) {
          const float share = weight * image.values[static_cast<std::size_t>(ch) * plane + j];
          rhs[static_cast<std::size_t>(ch)][k] += static_cast<double>(share);
        }
      }
    }
  }
  for (int64_t ch = 0; ch < channels; ++ch) {
    const std::vector<double> x = solve(system, rhs[static_cast<std::size_t>(ch)]);
    float* values = out.values.data() + static_cast<std::size_t>(ch) * plane;
    for (std::size_t k = 0; k < n; ++k) values[system.pixels[k]] = static_cast<float>(x[k]);
  }
  return out;
}

}  // namespace cnnviz
