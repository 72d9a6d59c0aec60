#pragma once

// Reads the .npy references that models/references.py writes with numpy (float32 arrays).

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cnnviz/float_array.h"
#include "cnnviz/npy.h"
#include "test_env.h"

namespace cnnviz::test {

/// A float32 .npy file (fails the test for another dtype).
inline FloatArray load_npy_float32(const std::string& path) {
  const NpyArray npy = decode_npy(read_file(path));
  if (npy.descr != "<f4") FAIL(path << " is " << npy.descr << ", not float32");
  FloatArray a;
  a.shape = npy.shape;
  a.values.resize(npy.data.size() / 4);
  std::memcpy(a.values.data(), npy.data.data(), npy.data.size());
  return a;
}

/// A float32 .npy file from the exported references (models/references.py).
inline FloatArray load_reference(const std::string& relative) { return load_npy_float32(model_path("references/" + relative)); }

/// Largest |value| of an array.
inline double abs_max(const FloatArray& a) {
  double m = 0;
  for (float v : a.values) m = std::max(m, static_cast<double>(std::fabs(v)));
  return m;
}

/// Largest |a - b| over two arrays of one shape (fails the test if the shapes differ).
inline double max_abs_diff(const FloatArray& a, const FloatArray& b) {
  if (a.shape != b.shape) FAIL("shapes differ");
  double worst = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a.values[i] - b.values[i])));
  return worst;
}

}  // namespace cnnviz::test
