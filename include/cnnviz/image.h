#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnnviz {

/// An 8-bit image: `pixels` holds height * width * channels bytes, row-major, channels interleaved
/// ([H, W, C], HWC). Decoded images have 1 channel (gray) or 3 (RGB); rendered output has 3; encode_png()
/// also takes 4 (RGBA).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

/// What the decoder accepts before it allocates anything.
struct ImageLimits {
  int64_t max_pixels = 89478485;          ///< width * height; Pillow's decompression-bomb threshold
  int64_t max_file_bytes = int64_t{1} << 30;  ///< size of the file load_image() reads
};

/// Reads and decodes a PNG or JPEG file (detected by its magic bytes, not its name) into an Image
/// as decode_image() does. Throws Error(kInput) if the path is missing, a directory, not a regular file
/// (a FIFO, a device) or unreadable; Error(kResource) if the file is larger than limits.max_file_bytes;
/// and decode_image()'s errors.
Image load_image(const std::string& path, const ImageLimits& limits = {});

/// Decodes PNG or JPEG bytes; `name` is only used in messages. The pixels equal Pillow's
/// `Image.open(f).convert('L')` for gray images and `.convert('RGB')` for the rest:
/// - PNG gray and gray+alpha give 1 channel, everything else (RGB, RGBA, palette) 3 channels; alpha and
///   tRNS transparency are dropped without compositing; 1/2/4-bit samples are scaled to 0..255; of 16-bit
///   samples the high byte is kept (Pillow does this too, except for 16-bit gray without alpha, which it
///   clips to 255 instead); interlaced PNGs are supported.
/// - JPEG grayscale gives 1 channel, YCbCr (or RGB) 3 channels, decoded with libjpeg's defaults as Pillow
///   does (islow DCT, fancy upsampling). EXIF orientation is not applied (Pillow's open() doesn't either).
/// Throws Error(kResource) if width * height, read from the header before any pixel memory is allocated,
/// exceeds limits.max_pixels; Error(kData) for empty input, bytes that are neither PNG nor JPEG, a
/// truncated or corrupt file, or a CMYK/YCCK JPEG. Safe on arbitrary bytes (fuzzer entry point): it never
/// crashes, hangs, leaks or prints.
Image decode_image(const std::string& bytes, const std::string& name, const ImageLimits& limits = {});

/// Encodes an 8-bit gray (1 channel), RGB (3) or RGBA (4) image as a PNG, in memory: non-interlaced,
/// zlib level 3 with the Sub filter, no time stamp or other ancillary chunks, so equal images give equal bytes. Throws
/// Error(kUsage) if the image is empty, has another channel count or pixels.size() does not match.
std::string encode_png(const Image& image);

/// Encodes an 8-bit gray (1 channel) or RGB (3) image as a baseline JPEG at `quality` (1 to 100), in
/// memory, with libjpeg's defaults otherwise (JFIF, 4:2:0 chroma for RGB, the accurate integer DCT):
/// equal images give equal bytes. For pictures where size matters more than exact pixels (the HTML
/// report's overlays and feature maps). Throws Error(kUsage) as encode_png does, and for a quality
/// outside 1..100.
std::string encode_jpeg(const Image& image, int quality = 90);

}  // namespace cnnviz
