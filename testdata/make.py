#!/usr/bin/python3
# Writes the image fixtures of testdata/images (Debian's python3-pil) and the
# golden reward values of testdata/reward/golden.json (plain Python, the
# formulas of RPO.md §1-2 written out again independently of the Go code).
# Run from testdata/: /usr/bin/python3 make.py
import io, json, math
from PIL import Image

W, H = 40, 20  # red left half, blue right half
def halves(mode, red, blue):
    im = Image.new(mode, (W, H), red)
    for x in range(W // 2, W):
        for y in range(H):
            im.putpixel((x, y), blue)
    return im

# EXIF orientation 6: the viewer turns it 90° clockwise, the red half on top
im = halves('RGB', (255, 0, 0), (0, 0, 255))
exif = Image.Exif(); exif[0x0112] = 6
im.save('images/exif-orientation-6.jpg', quality=95, exif=exif.tobytes())
# CMYK JPEG (as print workflows write them): red left, blue right
halves('CMYK', (0, 255, 255, 0), (255, 255, 0, 0)).save('images/cmyk.jpg', quality=95)
# 16-bit grayscale PNG: a horizontal ramp 0..65535
g = Image.new('I;16', (64, 32))
for x in range(64):
    for y in range(32):
        g.putpixel((x, y), x * 1040)
g.save('images/gray16.png')
# a PNG cut short (a download that did not finish)
b = io.BytesIO(); halves('RGB', (255, 0, 0), (0, 0, 255)).save(b, 'PNG')
open('images/truncated.png', 'wb').write(b.getvalue()[:60])

def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
refs = [[1, 0, 0], [0, 1, 0]]
cases = []
for x, t in [([1, 1, 0], [1, 0, 1]), ([2, -1, 0.5], [0, 1, 1]), ([0, 0, 1], [0, 0, 1])]:
    ai = (sum(cos(r, x) for r in refs) / len(refs) + 1) / 2
    at = (cos(t, x) + 1) / 2
    rs = {str(l): 1 / (l / (ai + 1e-8) + (1 - l) / (at + 1e-8)) for l in (0.0, 0.3, 0.5, 0.7, 1.0)}
    cases.append({'image': x, 'text': t, 'align_i': ai, 'align_t': at, 'reward': rs})
bt = [{'r_ref': a, 'r_gen': b, 'p': 1 / (1 + math.exp(-(a - b)))} for a, b in [(0.8, 0.7), (0.7, 0.8), (0.6, 0.6), (1.0, 0.0)]]
json.dump({'references': refs, 'cases': cases, 'bradley_terry': bt}, open('reward/golden.json', 'w'), indent=1)
