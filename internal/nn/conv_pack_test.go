package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	fastgemm "github.com/rpo-dev/rpo/internal/gemm"
)

// packCase is a stride-1 convolution of one image of shape (ch, h, w)
// with k×k filters, its image drawn from rng and padded.
type packCase struct{ ch, h, w, k, pad int }

func (c packCase) build(rng *rand.Rand) (s convShape, x, xp []float32, rows, cols int) {
	geom := ConvGeom{Stride: 1, Pad: c.pad}
	ho, wo := geom.outSize(c.h, c.w, c.k, c.k)
	s = shapeOfConv(&conv2dOp{geom: geom, x: tensor.Shape{1, c.ch, c.h, c.w}, w: tensor.Shape{4, c.ch, c.k, c.k}, out: tensor.Shape{1, 4, ho, wo}})
	x = make([]float32, c.ch*c.h*c.w)
	for i := range x {
		x[i] = rng.Float32() - 0.5
	}
	xp = x
	if c.pad > 0 {
		xp = s.pad(x, new([]float32))
	}
	return s, x, xp, c.ch * c.k * c.k, ho * wo
}

// TestPadClearsTheBorder: pad writes every value of the padded image, the
// border's zeros included, into a buffer that held other values.
func TestPadClearsTheBorder(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []packCase{{3, 4, 4, 3, 1}, {2, 8, 8, 3, 1}, {2, 16, 16, 3, 1}, {1, 32, 32, 3, 1}, {2, 5, 7, 3, 1}, {2, 6, 6, 5, 2}} {
		s, x, _, _, _ := c.build(rng)
		buf := make([]float32, 4000)
		for i := range buf {
			buf[i] = float32(math.NaN())
		}
		xp := s.pad(x, &buf)
		pd, hp, wp := c.pad, c.h+2*c.pad, c.w+2*c.pad
		for ci := 0; ci < c.ch; ci++ {
			for y := 0; y < hp; y++ {
				for xx := 0; xx < wp; xx++ {
					var want float32
					if y >= pd && y < pd+c.h && xx >= pd && xx < pd+c.w {
						want = x[(ci*c.h+y-pd)*c.w+xx-pd]
					}
					if got := xp[(ci*hp+y)*wp+xx]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%+v: padded (%d, %d, %d) is %g, want %g", c, ci, y, xx, got, want)
					}
				}
			}
		}
	}
}

// TestPackColStridedPaddedMatchesPackCol: the strided forward packer from
// the padded image writes exactly the general packer's panels (stride 2,
// even and odd sizes, partial panels and positions).
func TestPackColStridedPaddedMatchesPackCol(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []packCase{{3, 8, 8, 3, 1}, {2, 16, 16, 3, 1}, {3, 7, 9, 3, 1}, {2, 12, 10, 5, 2}} {
		geom := ConvGeom{Stride: 2, Pad: c.pad}
		ho, wo := geom.outSize(c.h, c.w, c.k, c.k)
		s := shapeOfConv(&conv2dOp{geom: geom, x: tensor.Shape{1, c.ch, c.h, c.w}, w: tensor.Shape{4, c.ch, c.k, c.k}, out: tensor.Shape{1, 4, ho, wo}})
		x := make([]float32, c.ch*c.h*c.w)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		k, p := c.ch*c.k*c.k, ho*wo
		samePanels(t, c, s.packCol(x), s.packColStridedPadded(s.pad(x, new([]float32))),
			[][4]int{{0, 0, k, p}, {2, 0, k - 2, p}, {0, 3, k, min(p-3, fastgemm.NR+5)}})
	}
}

// TestFlipFilters: every filter value lands flipped in space and with its
// channels transposed, for channel counts that are not multiples of the
// blocks.
func TestFlipFilters(t *testing.T) {
	for _, sh := range [][4]int{{3, 5, 3, 3}, {17, 9, 3, 3}, {8, 16, 1, 1}, {2, 11, 5, 5}} {
		oc, c, kh, kw := sh[0], sh[1], sh[2], sh[3]
		w, wf := make([]float32, oc*c*kh*kw), make([]float32, oc*c*kh*kw)
		for i := range w {
			w[i] = float32(i + 1)
		}
		flipFilters(w, wf, oc, c, kh*kw)
		for a := 0; a < oc; a++ {
			for b := 0; b < c; b++ {
				for i := 0; i < kh; i++ {
					for j := 0; j < kw; j++ {
						if got, want := wf[((b*oc+a)*kh+(kh-1-i))*kw+(kw-1-j)], w[((a*c+b)*kh+i)*kw+j]; got != want {
							t.Fatalf("%v: filter (%d, %d) at (%d, %d) is %g, want %g", sh, a, b, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// samePanels checks that got writes exactly want's panels for each block
// (pc, jc, kb, nb) of B, every value written.
func samePanels(t *testing.T, c packCase, want, got fastgemm.Packer, blocks [][4]int) {
	t.Helper()
	for _, blk := range blocks {
		pc, jc, kb, nb := blk[0], blk[1], blk[2], blk[3]
		if nb <= 0 || kb <= 0 {
			continue
		}
		size := (nb + fastgemm.NR - 1) / fastgemm.NR * fastgemm.NR * kb
		a, b := make([]float32, size), make([]float32, size)
		for i := range b {
			a[i], b[i] = float32(math.NaN()), 7 // every value must be written
		}
		want(pc, jc, kb, nb, a)
		got(pc, jc, kb, nb, b)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%+v block %v: value %d is %g, the general packer wrote %g", c, blk, i, b[i], a[i])
			}
		}
	}
}

// TestPackColTPaddedMatchesPackColT: the filter gradient's packer from the
// padded image writes exactly the panels of the general one, for every
// block the product asks for (partial panels and positions included).
func TestPackColTPaddedMatchesPackColT(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// the last four have whole panels of 32 patch rows (PackRowsT32's runs of 8
	// positions): rows of 16, 8 and 24, a map of 4 that takes none, 1×1 filters
	for _, c := range []packCase{{3, 8, 8, 3, 1}, {5, 7, 5, 3, 1}, {4, 6, 6, 1, 0}, {2, 4, 4, 3, 1}, {3, 9, 7, 5, 2},
		{4, 16, 16, 3, 1}, {5, 8, 24, 3, 1}, {4, 4, 4, 3, 1}, {64, 8, 8, 1, 0}} {
		s, x, xp, k, p := c.build(rng)
		samePanels(t, c, s.packColT(x), s.packColTPadded(xp), [][4]int{{0, 0, p, k}, {1, 0, p - 1, k}, {3, 5, min(7, p-3), k - 5},
			{0, fastgemm.NR, p, max(k-fastgemm.NR, 0)}, {8, 0, p - 8, min(k, fastgemm.NR)}, {16, 0, min(13, p-16), k}, {5, 0, p - 5, k}})
	}
}

// TestPackColPaddedMatchesPackCol: the forward packer from the padded image
// writes exactly the panels of the general one: whole 4×4 and 8×8 maps,
// rows of 16, and a map whose width takes the general path.
func TestPackColPaddedMatchesPackCol(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []packCase{{5, 4, 4, 3, 1}, {3, 8, 8, 3, 1}, {2, 16, 16, 3, 1}, {3, 6, 6, 3, 1}, {4, 4, 4, 1, 0}} {
		s, x, xp, k, p := c.build(rng)
		samePanels(t, c, s.packCol(x), s.packColPadded(xp), [][4]int{{0, 0, k, p}, {2, 0, k - 2, p}, {0, 0, k, min(p, fastgemm.NR)}})
	}
}

// TestPackPanelsMatchesGo: the assembly panel packers (AVX-512 or AVX2,
// whichever the CPU has) write what packPanelsGo writes, for runs of 16
// and of 8 values.
func TestPackPanelsMatchesGo(t *testing.T) {
	xp := make([]float32, 5000)
	for i := range xp {
		xp[i] = float32(i) + 0.5
	}
	offs := []int{0, 3, 40, 41, 97, 300, 301, 1200, 4000}
	for _, w := range []int{16, 8} {
		for _, n := range []int{1, 2, len(offs)} {
			got, want := make([]float32, 32*n+5), make([]float32, 32*n+5)
			packPanels(got, xp, offs[:n], 7, 13, w)
			packPanelsGo(want, xp, offs[:n], 7, 13, w)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("w %d, %d rows: value %d is %g, want %g", w, n, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkPackColTPadded packs all of col(x)ᵀ of a 64-channel 32×32 image
// (3×3 filters) in the product's blocks: the filter gradient's B.
func BenchmarkPackColTPadded(b *testing.B) {
	c := packCase{64, 32, 32, 3, 1}
	s, _, xp, k, p := c.build(rand.New(rand.NewPCG(1, 2)))
	pack := s.packColTPadded(xp)
	bp := make([]float32, 256*((k+fastgemm.NR-1)/fastgemm.NR*fastgemm.NR))
	b.SetBytes(int64(4 * k * p))
	for b.Loop() {
		for pc := 0; pc < p; pc += 256 {
			pack(pc, 0, min(256, p-pc), k, bp)
		}
	}
}
