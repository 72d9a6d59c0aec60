#!/usr/bin/python3
"""Writes the image fixtures of tests/image_test.cc and tests/npy_test.cc.

Run with Debian's Python (python3-pil, python3-numpy):  /usr/bin/python3 tests/data/make_images.py

For every decodable image `images/<name>.<ext>` it also writes `images/<name>.expected.npy`: the pixels
Pillow gives for `Image.open(f).convert('L' or 'RGB')` as a uint8 [H, W] (gray) or [H, W, 3] (RGB) array.
Those arrays are the reference cnnviz's decoder is tested against, so they must come from Pillow, never
from cnnviz.

Pillow writes most files itself. The PNG kinds Pillow cannot write (2/4-bit gray, 16-bit RGB/RGBA/gray+alpha,
Adam7-interlaced) come from write_png() below, a plain PNG writer; Pillow still decodes them for the
expected arrays, which also checks that write_png() wrote valid PNGs.

The one place cnnviz deliberately differs from Pillow: a 16-bit grayscale PNG opens in Pillow as mode 'I'
and convert('L') clips every value above 255 to 255. cnnviz keeps the high byte of each sample, which is
what Pillow does for every other 16-bit PNG kind (RGB, RGBA, gray+alpha). For those two files the expected
array is Pillow's 16-bit value >> 8.

The .npy files under npy/ are written by numpy itself, to check that cnnviz's .npy encoder writes the same
bytes.
"""

import os
import struct
import warnings
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")
NPY = os.path.join(HERE, "npy")

W, H = 7, 5  # odd sizes on purpose
JW, JH = 37, 23  # JPEG: several 8x8 / 16x16 MCUs, partial MCUs at the right and bottom edges

rng = np.random.RandomState(20240601)


# ---- a plain PNG writer for the kinds Pillow cannot write ---------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def pack_row(samples, bit_depth):
    """samples: 1-D sequence of ints (channels interleaved) -> packed bytes, MSB first."""
    if bit_depth == 16:
        return b"".join(struct.pack(">H", int(s)) for s in samples)
    if bit_depth == 8:
        return bytes(int(s) for s in samples)
    per_byte = 8 // bit_depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        group = list(samples[i:i + per_byte])
        for j in range(per_byte):
            v = int(group[j]) if j < len(group) else 0
            byte |= v << (8 - bit_depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """Filters each row with types 0..4 in turn, so the decoder's every unfilter path runs."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        ftype = y % 5
        out.append(ftype)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
            out.append((x - pred) & 0xFF)
        prev = row
    return bytes(out)


def write_png(path, samples, color_type, bit_depth, interlace=False, palette=None, trns=None):
    """samples: uint array [H, W, channels] of raw sample values."""
    h, w, c = samples.shape
    assert c == CHANNELS[color_type]
    bpp = max(1, c * bit_depth // 8)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            raw += filter_rows([pack_row(r.reshape(-1), bit_depth) for r in sub], bpp)
    else:
        raw = filter_rows([pack_row(r.reshape(-1), bit_depth) for r in samples], bpp)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


# ---- fixtures -------------------------------------------------------------------------------------------

def rand(shape, high):
    return rng.randint(0, high, size=shape)


def pil_reference(path):
    """What Pillow gives for the file, as a uint8 HWC (or HW) array."""
    with Image.open(path) as im:
        im.load()
        if im.mode == "I":  # 16-bit gray: see the module docstring
            clipped = np.asarray(im.convert("L"))
            high_byte = (np.asarray(im) >> 8).astype(np.uint8)
            print(f"  {os.path.basename(path)}: Pillow mode I; convert('L') clips ({int((clipped == 255).sum())} of "
                  f"{clipped.size} pixels are 255); expected = 16-bit value >> 8")
            return high_byte
        return np.asarray(im.convert("L" if is_gray(path, im) else "RGB"), dtype=np.uint8)


def is_gray(path, im):
    """Gray by the file's own colour type: Pillow 9.4 opens a 16-bit gray+alpha PNG as RGBA (R = G = B = the
    high byte), so its mode does not say; convert('L') of such an image gives that same high byte back."""
    with open(path, "rb") as f:
        head = f.read(26)
    if head.startswith(b"\x89PNG"):
        return head[25] in (0, 4)  # IHDR colour type: gray or gray+alpha
    return im.mode == "L"


def save_expected(path):
    ref = pil_reference(path)
    np.save(os.path.splitext(path)[0] + ".expected.npy", ref)


def pil_png(name, im, **kw):
    path = os.path.join(IMAGES, name)
    im.save(path, **kw)
    save_expected(path)


def raw_png(name, samples, color_type, bit_depth, **kw):
    path = os.path.join(IMAGES, name)
    write_png(path, samples, color_type, bit_depth, **kw)
    save_expected(path)


def jpeg(name, im, **kw):
    path = os.path.join(IMAGES, name)
    im.save(path, "JPEG", **kw)
    if im.mode != "CMYK":
        save_expected(path)


def smooth_rgb(w, h):
    """A gradient with noise: exercises the DCT and chroma upsampling without being all high frequency."""
    y, x = np.mgrid[0:h, 0:w]
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 20, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def main():
    # Pillow warns that palette transparency given as bytes "should be converted to RGBA"; we want RGB.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    os.makedirs(IMAGES, exist_ok=True)
    os.makedirs(NPY, exist_ok=True)

    # PNG, written by Pillow.
    pil_png("gray1.png", Image.fromarray((rand((H, W), 2) * 255).astype(np.uint8)).convert("1"))
    pil_png("gray8.png", Image.fromarray(rand((H, W), 256).astype(np.uint8), "L"))
    pil_png("gray8_trns.png", Image.fromarray(rand((H, W), 256).astype(np.uint8), "L"), transparency=17)
    pil_png("graya8.png", Image.fromarray(rand((H, W, 2), 256).astype(np.uint8), "LA"))
    pil_png("rgb8.png", Image.fromarray(rand((H, W, 3), 256).astype(np.uint8), "RGB"))
    pil_png("rgb8_trns.png", Image.fromarray(rand((H, W, 3), 256).astype(np.uint8), "RGB"), transparency=(1, 2, 3))
    pil_png("rgba8.png", Image.fromarray(rand((H, W, 4), 256).astype(np.uint8), "RGBA"))
    palette = rand((256, 3), 256).astype(np.uint8)
    for bits in (1, 2, 4, 8):
        im = Image.fromarray(rand((H, W), 1 << bits).astype(np.uint8), "P")
        im.putpalette(palette[: 1 << bits].reshape(-1).tolist())
        pil_png(f"pal{bits}.png", im, bits=bits)
    im = Image.fromarray(rand((H, W), 16).astype(np.uint8), "P")
    im.putpalette(palette[:16].reshape(-1).tolist())
    pil_png("pal4_trns.png", im, bits=4, transparency=bytes(rand(16, 256).astype(np.uint8)))
    im = Image.fromarray(rand((H, W), 256).astype(np.uint8), "P")
    im.putpalette(palette.reshape(-1).tolist())
    pil_png("pal8_trns.png", im, transparency=bytes(rand(200, 256).astype(np.uint8)))

    # PNG kinds Pillow cannot write.
    raw_png("gray2.png", rand((H, W, 1), 4), 0, 2)
    raw_png("gray4.png", rand((H, W, 1), 16), 0, 4)
    raw_png("gray16.png", rand((H, W, 1), 65536), 0, 16)
    raw_png("graya16.png", rand((H, W, 2), 65536), 4, 16)
    raw_png("rgb16.png", rand((H, W, 3), 65536), 2, 16)
    raw_png("rgba16.png", rand((H, W, 4), 65536), 6, 16)
    raw_png("rgb8_interlaced.png", rand((H, W, 3), 256), 2, 8, interlace=True)
    raw_png("gray16_interlaced.png", rand((H, W, 1), 65536), 0, 16, interlace=True)
    raw_png("pal2_trns_interlaced.png", rand((H, W, 1), 4), 3, 2, interlace=True, palette=palette[:4],
            trns=bytes([0, 128]))
    raw_png("rgba8_interlaced_3x2.png", rand((2, 3, 4), 256), 6, 8, interlace=True)  # empty Adam7 passes
    raw_png("rgb8_1x1.png", rand((1, 1, 3), 256), 2, 8)

    # A valid PNG header claiming 100000 x 100000 pixels, with a token IDAT: must be refused from the header.
    with open(os.path.join(IMAGES, "huge_header.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))

    # JPEG, written by Pillow (libjpeg-turbo).
    rgb = Image.fromarray(smooth_rgb(JW, JH), "RGB")
    jpeg("baseline_420.jpg", rgb, quality=90)
    jpeg("baseline_422.jpg", rgb, quality=90, subsampling=1)
    jpeg("baseline_444.jpg", rgb, quality=90, subsampling=0)
    jpeg("progressive.jpg", rgb, quality=85, progressive=True)
    jpeg("gray.jpg", rgb.convert("L"), quality=90)
    jpeg("gray_progressive.jpg", rgb.convert("L"), quality=90, progressive=True)
    jpeg("cmyk.jpg", rgb.convert("CMYK"), quality=90)

    # Not PNG or JPEG.
    rgb.convert("P").save(os.path.join(IMAGES, "not_png.gif"))

    # .npy written by numpy, for byte-for-byte comparison with cnnviz's encoder.
    np.save(os.path.join(NPY, "f32_2x3.npy"), np.arange(6, dtype="<f4").reshape(2, 3))
    np.save(os.path.join(NPY, "f32_5.npy"), (np.arange(5, dtype="<f4") - 2) / 4)
    np.save(os.path.join(NPY, "f32_scalar.npy"), np.array(42, dtype="<f4"))
    np.save(os.path.join(NPY, "f32_0x3.npy"), np.zeros((0, 3), dtype="<f4"))
    np.save(os.path.join(NPY, "u8_2x2x3.npy"), np.arange(12, dtype="|u1").reshape(2, 2, 3))
    np.save(os.path.join(NPY, "f64_3.npy"), np.array([0.5, -1.25, 3.0], dtype="<f8"))
    np.save(os.path.join(NPY, "i64_2x2.npy"), np.array([[1, -2], [3, 1 << 40]], dtype="<i8"))

    total = sum(os.path.getsize(os.path.join(d, f)) for d in (IMAGES, NPY) for f in os.listdir(d))
    print(f"wrote {len(os.listdir(IMAGES)) + len(os.listdir(NPY))} files, {total} bytes")


if __name__ == "__main__":
    main()
