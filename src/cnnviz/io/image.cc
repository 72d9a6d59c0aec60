#include "cnnviz/image.h"

// png.h first: it includes setjmp.h itself.
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csetjmp>
#include <cstdlib>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared before it.
#include <jerror.h>
#include <jpeglib.h>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"

namespace cnnviz {
namespace {

// libpng and libjpeg report errors by longjmp. The rules that keep that safe here:
// - all decoder state lives in plain structs (PngState, JpegState) owned by a C++ frame *above* the
//   functions that call setjmp, and is released by a guard there, so no longjmp skips a destructor;
// - each `*_step` function calls setjmp first and has no locals with destructors and no locals that are
//   read after a longjmp; it returns false with the library's message in the state;
// - callbacks never let a C++ exception cross the C libraries: they record the failure and longjmp;
// - every libpng/libjpeg call that can fail runs inside a step; only the C++ caller throws.

constexpr std::size_t kMessageSize = 256;
static_assert(kMessageSize >= JMSG_LENGTH_MAX, "libjpeg formats messages of up to JMSG_LENGTH_MAX bytes");

// libjpeg-turbo documents that a progressive JPEG with very many scans can take a long time to decode
// (each scan walks the whole coefficient buffer); real encoders write about 10. djpeg's -maxscans and
// the libjpeg-turbo fuzzers use limits of this order.
constexpr int kMaxJpegScans = 500;

// Ancillary chunks (iCCP, zTXt, ...) libpng may hold in memory, and how many it may keep.
constexpr png_alloc_size_t kPngChunkMallocMax = png_alloc_size_t{8} << 20;
constexpr png_uint_32 kPngChunkCacheMax = 1000;

// Deflate's best case is 258 bytes from 2 bits, i.e. at most 1032:1. A PNG whose pixels cannot come
// from its bytes even at that ratio is truncated; refusing it up front keeps a tiny file with a large
// header from making us allocate the pixel buffer.
constexpr double kMaxDeflateRatio = 1032.0;

bool starts_with(const std::string& bytes, const char* magic, std::size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

bool is_png(const std::string& bytes) { return starts_with(bytes, "\x89PNG\r\n\x1a\n", 8); }
bool is_jpeg(const std::string& bytes) { return starts_with(bytes, "\xff\xd8\xff", 3); }

std::string quoted(const std::string& name) { return "'" + name + "'"; }

// Library messages start with a capital ("Not enough image data"); ours are lowercase. Acronyms
// ("CRC error", "IDAT: ...") stay as they are.
std::string lowercase_first(std::string message) {
  if (message.size() >= 2 && message[0] >= 'A' && message[0] <= 'Z' && !(message[1] >= 'A' && message[1] <= 'Z')) {
    message[0] = static_cast<char>(message[0] - 'A' + 'a');
  }
  return message;
}

Error corrupt(const std::string& name, const char* format, const char* message) {
  return Error(ErrorKind::kData,
               quoted(name) + " is a truncated or corrupt " + format + " (" + lowercase_first(message) + ")");
}

void check_pixel_count(const std::string& name, uint64_t width, uint64_t height, const ImageLimits& limits) {
  // Both factors are below 2^32, so the product fits.
  const uint64_t pixels = width * height;
  if (limits.max_pixels >= 0 && pixels > static_cast<uint64_t>(limits.max_pixels)) {
    throw Error(ErrorKind::kResource, quoted(name) + " has " + std::to_string(width) + " x " + std::to_string(height) +
                                          " = " + std::to_string(pixels) + " pixels, more than the limit of " +
                                          std::to_string(limits.max_pixels) + " pixels; use a smaller image");
  }
}

std::string describe_other_format(const std::string& bytes) {
  if (starts_with(bytes, "GIF8", 4)) return " (it is a GIF)";
  if (starts_with(bytes, "BM", 2)) return " (it is a BMP)";
  if (starts_with(bytes, "II*\0", 4) || starts_with(bytes, "MM\0*", 4)) return " (it is a TIFF)";
  if (bytes.size() >= 12 && starts_with(bytes, "RIFF", 4) && bytes.compare(8, 4, "WEBP") == 0) return " (it is a WebP)";
  return "";
}

// ---- PNG ----------------------------------------------------------------------------------------------

struct PngState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::size_t pos = 0;
  png_uint_32 max_dimension = 0;
  char message[kMessageSize] = {};
  // From the header (png_read_info).
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int color_type = 0;
  int file_pixel_bits = 0;
  // After the transforms (png_read_update_info).
  int channels = 0;
  int bit_depth = 0;
  std::size_t rowbytes = 0;
};

struct PngReadGuard {
  PngState* state;
  ~PngReadGuard() { png_destroy_read_struct(&state->png, state->info ? &state->info : nullptr, nullptr); }
};

void png_on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings are benign (libpng has already recovered); a library does not print.
void png_on_warning(png_structp /*png*/, png_const_charp /*message*/) {}

void png_on_read(png_structp png, png_bytep out, std::size_t count) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  if (count > state->size - state->pos) png_error(png, "unexpected end of file");
  std::memcpy(out, state->data + state->pos, count);
  state->pos += count;
}

bool png_read_header_step(PngState* s) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_user_limits(s->png, s->max_dimension, s->max_dimension);
  png_set_chunk_malloc_max(s->png, kPngChunkMallocMax);
  png_set_chunk_cache_max(s->png, kPngChunkCacheMax);
  png_set_read_fn(s->png, s, png_on_read);
  png_read_info(s->png, s->info);
  s->width = png_get_image_width(s->png, s->info);
  s->height = png_get_image_height(s->png, s->info);
  s->color_type = png_get_color_type(s->png, s->info);
  s->file_pixel_bits = png_get_bit_depth(s->png, s->info) * png_get_channels(s->png, s->info);
  // 16-bit samples keep their high byte (truncation, not rounding), as Pillow's "RGB;16B", "RGBA;16B"
  // and "LA;16B" unpackers do.
  png_set_strip_16(s->png);
  // Palette -> RGB, 1/2/4-bit gray -> 8-bit (scaled to 0..255), tRNS -> alpha ...
  png_set_expand(s->png);
  // ... and every alpha channel dropped without compositing, like Pillow's convert('RGB' / 'L').
  png_set_strip_alpha(s->png);
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  s->channels = png_get_channels(s->png, s->info);
  s->bit_depth = png_get_bit_depth(s->png, s->info);
  s->rowbytes = png_get_rowbytes(s->png, s->info);
  return true;
}

bool png_read_pixels_step(PngState* s, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  // The trailing chunks (after the last IDAT) are not read: they cannot change the pixels.
  png_read_image(s->png, rows);
  return true;
}

uint32_t read_be32(const std::string& bytes, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

Image decode_png(const std::string& bytes, const std::string& name, const ImageLimits& limits) {
  // IHDR must come first (signature, length 13, "IHDR", width, height): check the size before libpng
  // allocates anything.
  if (bytes.size() >= 24 && bytes.compare(12, 4, "IHDR") == 0) {
    check_pixel_count(name, read_be32(bytes, 16), read_be32(bytes, 20), limits);
  }

  PngState s;
  s.data = reinterpret_cast<const unsigned char*>(bytes.data());
  s.size = bytes.size();
  // Per-dimension limits only matter through the pixel count, which we check ourselves; raise libpng's
  // default (1000000) so a long thin image within max_pixels is not refused as corrupt.
  s.max_dimension = static_cast<png_uint_32>(std::min<int64_t>(std::max<int64_t>(limits.max_pixels, 1), 0x7fffffff));
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
  if (s.png == nullptr) throw Error(ErrorKind::kResource, "cannot decode " + quoted(name) + ": out of memory");
  PngReadGuard guard{&s};
  s.info = png_create_info_struct(s.png);
  if (s.info == nullptr) throw Error(ErrorKind::kResource, "cannot decode " + quoted(name) + ": out of memory");

  if (!png_read_header_step(&s)) throw corrupt(name, "PNG", s.message);
  check_pixel_count(name, s.width, s.height, limits);
  const double min_raw_bytes = static_cast<double>(s.width) * s.height * s.file_pixel_bits / 8.0;
  if (min_raw_bytes > kMaxDeflateRatio * static_cast<double>(bytes.size()) + 4096.0) {
    const std::string why = "its " + std::to_string(s.width) + " x " + std::to_string(s.height) +
                            " pixels cannot be in " + std::to_string(bytes.size()) + " bytes";
    throw corrupt(name, "PNG", why.c_str());
  }
  const bool gray = (s.color_type & PNG_COLOR_MASK_COLOR) == 0;
  if (s.bit_depth != 8 || s.channels != (gray ? 1 : 3) || s.rowbytes != std::size_t{s.width} * s.channels) {
    throw Error(ErrorKind::kInternal, "decoding " + quoted(name) + " gave " + std::to_string(s.channels) + " channels of " +
                                          std::to_string(s.bit_depth) + " bits; please report this as a cnnviz bug");
  }

  Image image;
  image.width = static_cast<int>(s.width);
  image.height = static_cast<int>(s.height);
  image.channels = s.channels;
  image.pixels.resize(s.rowbytes * s.height);
  std::vector<png_bytep> rows(s.height);
  for (png_uint_32 y = 0; y < s.height; ++y) rows[y] = image.pixels.data() + s.rowbytes * y;
  if (!png_read_pixels_step(&s, rows.data())) throw corrupt(name, "PNG", s.message);
  return image;
}

// ---- JPEG ---------------------------------------------------------------------------------------------

struct JpegState {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  const unsigned char* data;
  unsigned long size;  // NOLINT(google-runtime-int): jpeg_mem_src's type
  long max_memory;     // NOLINT(google-runtime-int): libjpeg's type
  char message[kMessageSize];
};

struct JpegGuard {
  JpegState* state;
  // Safe on a zeroed or half-created struct: it checks cinfo.mem.
  ~JpegGuard() { jpeg_destroy_decompress(&state->cinfo); }
};

JpegState* jpeg_state(j_common_ptr cinfo) { return static_cast<JpegState*>(cinfo->client_data); }

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
  JpegState* s = jpeg_state(cinfo);
  (*cinfo->err->format_message)(cinfo, s->message);
  std::longjmp(s->jump, 1);
}

void jpeg_on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;  // trace messages
  // On running out of data libjpeg only warns (JWRN_JPEG_EOF), inserts an EOI marker and pads the rest
  // of the image with gray; Pillow reports "image file is truncated" instead, and so do we. Other
  // warnings (e.g. extraneous bytes before a marker) leave a usable image, as in Pillow.
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(cinfo);
  ++cinfo->err->num_warnings;
}

void jpeg_on_output(j_common_ptr /*cinfo*/) {}  // a library does not print

void jpeg_on_progress(j_common_ptr cinfo) {
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->input_scan_number > kMaxJpegScans) {
    JpegState* s = jpeg_state(cinfo);
    std::snprintf(s->message, sizeof s->message, "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(s->jump, 1);
  }
}

bool jpeg_read_header_step(JpegState* s) {
  if (setjmp(s->jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  s->cinfo.mem->max_memory_to_use = s->max_memory;
  s->cinfo.progress = &s->progress;
  jpeg_mem_src(&s->cinfo, s->data, s->size);
  jpeg_read_header(&s->cinfo, TRUE);
  return true;
}

bool jpeg_start_step(JpegState* s) {
  if (setjmp(s->jump)) return false;
  jpeg_start_decompress(&s->cinfo);
  return true;
}

bool jpeg_read_pixels_step(JpegState* s, unsigned char* pixels, std::size_t stride) {
  if (setjmp(s->jump)) return false;
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = pixels + stride * s->cinfo.output_scanline;
    if (jpeg_read_scanlines(&s->cinfo, &row, 1) != 1) {
      // Only a suspending data source returns no line; jpeg_mem_src never suspends.
      std::snprintf(s->message, sizeof s->message, "decoder returned no scanline");
      return false;
    }
  }
  // No jpeg_finish_decompress: it only reads up to EOI, which cannot change the pixels.
  return true;
}

Image decode_jpeg(const std::string& bytes, const std::string& name, const ImageLimits& limits) {
  JpegState s;
  std::memset(&s, 0, sizeof s);
  s.data = reinterpret_cast<const unsigned char*>(bytes.data());
  s.size = static_cast<unsigned long>(bytes.size());  // NOLINT(google-runtime-int)
  // Caps libjpeg's whole-image buffers (progressive JPEGs keep every DCT coefficient, 2 bytes each: at
  // most 6 bytes a pixel at 4:4:4). The header check below already bounds them; this is a second guard.
  const double cap = 8.0 * static_cast<double>(std::max<int64_t>(limits.max_pixels, 0)) + double(64 << 20);
  s.max_memory = cap >= static_cast<double>(LONG_MAX) ? LONG_MAX : static_cast<long>(cap);  // NOLINT
  s.cinfo.err = jpeg_std_error(&s.err);
  s.err.error_exit = jpeg_on_error;
  s.err.emit_message = jpeg_on_message;
  s.err.output_message = jpeg_on_output;
  s.progress.progress_monitor = jpeg_on_progress;
  s.cinfo.client_data = &s;  // jpeg_create_decompress keeps err and client_data
  JpegGuard guard{&s};

  if (!jpeg_read_header_step(&s)) throw corrupt(name, "JPEG", s.message);
  const J_COLOR_SPACE space = s.cinfo.jpeg_color_space;
  if (space == JCS_CMYK || space == JCS_YCCK) {
    throw Error(ErrorKind::kData, quoted(name) + " is a CMYK JPEG, which cnnviz does not support; convert it to RGB first");
  }
  if (space != JCS_GRAYSCALE && space != JCS_YCbCr && space != JCS_RGB) {
    throw Error(ErrorKind::kData, quoted(name) + " is a JPEG with " + std::to_string(s.cinfo.num_components) +
                                      " components in an unknown colour space; convert it to RGB first");
  }
  check_pixel_count(name, s.cinfo.image_width, s.cinfo.image_height, limits);
  s.cinfo.out_color_space = space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  // libjpeg's defaults, spelled out: they are what Pillow decodes with (it changes them only in draft
  // mode), and they decide the exact pixel values.
  s.cinfo.dct_method = JDCT_ISLOW;
  s.cinfo.do_fancy_upsampling = TRUE;
  s.cinfo.do_block_smoothing = TRUE;
  s.cinfo.scale_num = 1;
  s.cinfo.scale_denom = 1;
  if (!jpeg_start_step(&s)) throw corrupt(name, "JPEG", s.message);

  Image image;
  image.width = static_cast<int>(s.cinfo.output_width);
  image.height = static_cast<int>(s.cinfo.output_height);
  image.channels = s.cinfo.output_components;
  const std::size_t stride = std::size_t{s.cinfo.output_width} * static_cast<std::size_t>(image.channels);
  image.pixels.resize(stride * s.cinfo.output_height);
  if (!jpeg_read_pixels_step(&s, image.pixels.data(), stride)) throw corrupt(name, "JPEG", s.message);
  return image;
}

// ---- files --------------------------------------------------------------------------------------------

std::string read_image_file(const std::string& path, const ImageLimits& limits) {
  return read_input_file(path, limits.max_file_bytes, "a PNG or JPEG image");
}

// ---- encoding -----------------------------------------------------------------------------------------

struct PngWriteState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::string* out = nullptr;
  char message[kMessageSize] = {};
};

struct PngWriteGuard {
  PngWriteState* state;
  ~PngWriteGuard() { png_destroy_write_struct(&state->png, state->info ? &state->info : nullptr); }
};

void png_on_write_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngWriteState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_write(png_structp png, png_bytep data, std::size_t count) {
  auto* state = static_cast<PngWriteState*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    state->out->append(reinterpret_cast<const char*>(data), count);
  } catch (...) {
    failed = true;  // no exception may unwind through libpng; report it after the catch block ends
  }
  if (failed) png_error(png, "out of memory");
}

void png_on_flush(png_structp /*png*/) {}

bool png_write_step(PngWriteState* s, const Image* image, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_write_fn(s->png, s, png_on_write, png_on_flush);
  png_set_user_limits(s->png, 0x7fffffff, 0x7fffffff);
  // Level 3 with the Sub filter: measured on VGG16's 13 feature grids, smaller files than zlib's
  // default level 6 with adaptive filtering, in a third less time (docs/benchmarks.md).
  png_set_compression_level(s->png, 3);
  png_set_filter(s->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  const int color_type = image->channels == 1   ? PNG_COLOR_TYPE_GRAY
                         : image->channels == 3 ? PNG_COLOR_TYPE_RGB
                                                : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(s->png, s->info, static_cast<png_uint_32>(image->width), static_cast<png_uint_32>(image->height), 8,
               color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(s->png, s->info);
  png_write_image(s->png, rows);
  png_write_end(s->png, nullptr);
  return true;
}

}  // namespace

Image decode_image(const std::string& bytes, const std::string& name, const ImageLimits& limits) {
  if (bytes.empty()) throw Error(ErrorKind::kData, quoted(name) + " is empty; give a PNG or JPEG image");
  if (is_png(bytes)) return decode_png(bytes, name, limits);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, name, limits);
  throw Error(ErrorKind::kData, quoted(name) + " is not a PNG or JPEG image" + describe_other_format(bytes) +
                                    "; convert it to PNG first");
}

Image load_image(const std::string& path, const ImageLimits& limits) {
  return decode_image(read_image_file(path, limits), path, limits);
}

std::string encode_png(const Image& image) {
  if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3 && image.channels != 4)) {
    throw Error::usage("cannot encode a " + std::to_string(image.width) + " x " + std::to_string(image.height) +
                       " image with " + std::to_string(image.channels) +
                       " channels as PNG; it needs a positive size and 1, 3 or 4 channels");
  }
  const std::size_t stride = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.channels);
  if (image.pixels.size() != stride * static_cast<std::size_t>(image.height)) {
    throw Error::usage("cannot encode a " + std::to_string(image.width) + " x " + std::to_string(image.height) + " x " +
                       std::to_string(image.channels) + " image as PNG: it has " + std::to_string(image.pixels.size()) +
                       " bytes of pixels instead of " + std::to_string(stride * static_cast<std::size_t>(image.height)));
  }
  std::string out;
  PngWriteState s;
  s.out = &out;
  s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, png_on_write_error, png_on_warning);
  if (s.png == nullptr) throw Error(ErrorKind::kResource, "cannot encode a PNG: out of memory");
  PngWriteGuard guard{&s};
  s.info = png_create_info_struct(s.png);
  if (s.info == nullptr) throw Error(ErrorKind::kResource, "cannot encode a PNG: out of memory");
  std::vector<png_bytep> rows(static_cast<std::size_t>(image.height));
  // libpng copies each row before filtering it, so it never writes through these pointers.
  auto* base = const_cast<png_bytep>(image.pixels.data());
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = base + stride * y;
  if (!png_write_step(&s, &image, rows.data())) {
    throw Error(ErrorKind::kResource, std::string("cannot encode a PNG: ") + lowercase_first(s.message));
  }
  return out;
}

// ---- JPEG encoding ------------------------------------------------------------------------------------

namespace {

struct JpegWriteState {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  unsigned char* buffer;
  unsigned long size;  // NOLINT(google-runtime-int): jpeg_mem_dest's type
  char message[kMessageSize];
};

struct JpegWriteGuard {
  JpegWriteState* state;
  ~JpegWriteGuard() {
    jpeg_destroy_compress(&state->cinfo);
    std::free(state->buffer);  // jpeg_mem_dest's buffer is malloc'ed and left to the caller
  }
};

[[noreturn]] void jpeg_write_on_error(j_common_ptr cinfo) {
  auto* s = static_cast<JpegWriteState*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, s->message);
  std::longjmp(s->jump, 1);
}

bool jpeg_write_step(JpegWriteState* s, const Image* image, int quality) {
  if (setjmp(s->jump)) return false;
  jpeg_create_compress(&s->cinfo);
  s->cinfo.client_data = s;
  jpeg_mem_dest(&s->cinfo, &s->buffer, &s->size);
  s->cinfo.image_width = static_cast<JDIMENSION>(image->width);
  s->cinfo.image_height = static_cast<JDIMENSION>(image->height);
  s->cinfo.input_components = image->channels;
  s->cinfo.in_color_space = image->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&s->cinfo);
  jpeg_set_quality(&s->cinfo, quality, TRUE);
  s->cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_compress(&s->cinfo, TRUE);
  const std::size_t stride = static_cast<std::size_t>(image->width) * static_cast<std::size_t>(image->channels);
  while (s->cinfo.next_scanline < s->cinfo.image_height) {
    // libjpeg reads the rows only; its API takes them as non-const.
    JSAMPROW row = const_cast<JSAMPROW>(image->pixels.data() + stride * s->cinfo.next_scanline);
    jpeg_write_scanlines(&s->cinfo, &row, 1);
  }
  jpeg_finish_compress(&s->cinfo);
  return true;
}

}  // namespace

std::string encode_jpeg(const Image& image, int quality) {
  if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * static_cast<std::size_t>(image.channels)) {
    throw Error::usage("cannot encode a " + std::to_string(image.width) + " x " + std::to_string(image.height) + " image with " +
                       std::to_string(image.channels) + " channels and " + std::to_string(image.pixels.size()) +
                       " bytes of pixels as JPEG; it needs a positive size, 1 or 3 channels and width * height * channels bytes");
  }
  if (quality < 1 || quality > 100) throw Error::usage("JPEG quality " + std::to_string(quality) + " is not in 1..100");
  JpegWriteState s{};
  s.cinfo.err = jpeg_std_error(&s.err);
  s.err.error_exit = jpeg_write_on_error;
  s.err.output_message = jpeg_on_output;
  s.cinfo.client_data = &s;
  JpegWriteGuard guard{&s};
  if (!jpeg_write_step(&s, &image, quality)) throw Error(ErrorKind::kResource, std::string("cannot encode a JPEG: ") + lowercase_first(s.message));
  return std::string(reinterpret_cast<const char*>(s.buffer), s.size);
}

}  // namespace cnnviz
