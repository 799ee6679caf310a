"""CLIPImageProcessor's resize and crop, as transformers does it with PIL:
the shortest edge to SIDE with bicubic resampling (antialiased), then the
centre SIDE×SIDE crop; writes the 8-bit pixels of each image.

    ../shared/oracle/python internal/oracle/preprocess.py OUT SIDE IMAGE...
"""
import os, sys
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

out, side, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
res = {}
for i, p in enumerate(paths):
    im = Image.open(p).convert("RGB")
    w, h = im.size
    if w < h:
        nw, nh = side, int(side * h / w)
    else:
        nw, nh = int(side * w / h), side
    im = im.resize((nw, nh), Image.BICUBIC)
    top, left = int(round((nh - side) / 2.0)), int(round((nw - side) / 2.0))
    im = im.crop((left, top, left + side, top + side))
    res[f"image{i}"] = torch.from_numpy(np.asarray(im, dtype=np.float32).transpose(2, 0, 1).copy())
save_file(res, os.path.join(out, "pixels.safetensors"))
