#!/usr/bin/env python3
"""Writes short_storage.pt: a scripted Conv2d(1, 2, 3) whose tensor records (data/0, data/1) are cut to
half their size, everything else as torch.jit.save wrote it.

LibTorch 1.13's torch.jit.load accepts this file: each storage claims the element count data.pkl states,
but its buffer is only as long as its record, so `weight` ([2, 1, 3, 3], 72 bytes) sits on a 36-byte
buffer and every read of it runs past the end (found by tests/fuzz/fuzz_model as an ASan heap-buffer-overflow in
cnnviz::to_float_array). cnnviz::load_model refuses it (model.cc, StorageBoundsCheck), as
tests/model_test.cc checks.

    /usr/bin/python3 tests/data/models/make_short_storage.py
"""
import io
import zipfile
from pathlib import Path

import torch

OUT = Path(__file__).with_name("short_storage.pt")


def main() -> None:
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Conv2d(1, 2, 3)), buf)
    src = zipfile.ZipFile(buf)
    with zipfile.ZipFile(OUT, "w", zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if "/data/" in info.filename and not info.filename.endswith(".pkl"):
                data = data[: len(data) // 2]
            out.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data)
    # The LibTorch side: it loads without complaint (reading m.weight would read past the buffer).
    m = torch.jit.load(str(OUT))
    record = zipfile.ZipFile(OUT).getinfo("archive/data/0").file_size
    print(f"{OUT.name}: {OUT.stat().st_size} bytes; torch.jit.load accepted it: weight {list(m.weight.shape)} "
          f"needs {m.weight.numel() * m.weight.element_size()} bytes, its record data/0 has {record}")


if __name__ == "__main__":
    main()
