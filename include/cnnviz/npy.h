#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnnviz {

/// Encodes a C-order float32 array as a NumPy .npy file (format 1.0; 2.0 only for a header over 64 KiB),
/// byte for byte what numpy 1.24's np.save writes: descr '<f4', the header dict padded with spaces to a
/// 64-byte boundary. `data` holds the product of `shape` elements (may be null when that is 0). Throws
/// Error(kUsage) for a negative dimension or an element count that overflows.
std::string encode_npy_float32(const std::vector<int64_t>& shape, const float* data);

/// As encode_npy_float32(), for uint8 data (descr '|u1'), e.g. an Image's pixels with shape {H, W, C}.
std::string encode_npy_uint8(const std::vector<int64_t>& shape, const uint8_t* data);

/// A decoded .npy array.
struct NpyArray {
  std::vector<int64_t> shape;  ///< () for a scalar
  std::string descr;           ///< "<f4", "<f8", "|u1" or "<i8"
  std::string data;            ///< the elements, little-endian, C order: numel * itemsize bytes
};

/// Decodes a .npy file of format version 1.0 or 2.0 with descr '<f4', '<f8', '|u1' or '<i8' in C order
/// (what np.save writes for those dtypes). Throws Error(kData) naming the problem for anything else:
/// bad magic, a malformed header, another dtype, Fortran order, or a data size that does not match
/// the shape.
NpyArray decode_npy(const std::string& bytes);

}  // namespace cnnviz
