package nn

import (
	"sync"

	fastgemm "github.com/rpo-dev/rpo/internal/gemm"
)

// The float32 convolutions of the default build never build an im2col
// matrix: internal/gemm asks for B one packed panel at a time and these
// packers gather it straight from the image (implicit GEMM).
//
//	forward:          Y_i (O×P)  = W (O×K) · col(x_i) (K×P)
//	filter gradient:  dW (O×K)  += dY_i (O×P) · col(x_i)ᵀ (P×K)
//	input gradient:   stride 1:  dx = conv(dY, W flipped and transposed, pad kh−1−pad)
//	                  stride 2:  col2im(Wᵀ · dY_i)
//
// with K = C·kh·kw and P = Ho·Wo.

// convShape is the geometry of one convolution, per image.
type convShape struct {
	c, h, w, kh, kw, ho, wo int
	g                       ConvGeom
	lo, hi                  []int // valid output columns per kernel column kj
	offs                    []int // rowOffsets
}

func shapeOfConv(o *conv2dOp) convShape {
	s := convShape{c: o.x[1], h: o.x[2], w: o.x[3], kh: o.w[2], kw: o.w[3], ho: o.out[2], wo: o.out[3], g: o.geom}
	s.lo, s.hi = make([]int, s.kw), make([]int, s.kw)
	for kj := range s.lo {
		s.lo[kj], s.hi[kj] = validRange(s.w, s.wo, kj, s.g)
	}
	s.offs = rowOffsets(&s)
	return s
}

// gatherRow writes, for patch row r = (ci, ki, kj), the values at the n
// output positions starting at pos into dst[0:n].
func (s *convShape) gatherRow(x []float32, r, pos, n int, dst []float32) {
	ci, ki, kj := r/(s.kh*s.kw), (r/s.kw)%s.kh, r%s.kw
	lo, hi := s.lo[kj], s.hi[kj]
	oy, ox := pos/s.wo, pos%s.wo
	stride, off := s.g.Stride, kj-s.g.Pad
	for q := 0; q < n; {
		run := min(n-q, s.wo-ox)
		seg := dst[q : q+run]
		iy := oy*stride - s.g.Pad + ki
		a, b := max(ox, lo), min(ox+run, hi) // valid output columns of this run
		if iy < 0 || iy >= s.h || a >= b {
			clear(seg)
		} else {
			src := x[(ci*s.h+iy)*s.w:]
			clear(seg[:a-ox])
			if stride == 1 {
				d, v := seg[a-ox:b-ox], src[a+off:b+off]
				if len(d) >= 16 {
					copy(d, v)
				} else { // short runs: a loop beats memmove's call
					v = v[:len(d)]
					for t := range d {
						d[t] = v[t]
					}
				}
			} else {
				for cx := a; cx < b; cx++ {
					seg[cx-ox] = src[cx*stride+off]
				}
			}
			clear(seg[b-ox:])
		}
		q += run
		ox = 0
		oy++
	}
}

// packCol packs col(x) (K×P) for the forward product.
func (s *convShape) packCol(x []float32) fastgemm.Packer {
	return func(pc, jc, kb, nb int, bp []float32) {
		for j0 := 0; j0 < nb; j0 += fastgemm.NR {
			panel := bp[(j0/fastgemm.NR)*fastgemm.NR*kb : (j0/fastgemm.NR+1)*fastgemm.NR*kb]
			cols := min(fastgemm.NR, nb-j0)
			for p := 0; p < kb; p++ {
				dst := panel[p*fastgemm.NR : (p+1)*fastgemm.NR]
				s.gatherRow(x, pc+p, jc+j0, cols, dst)
				clear(dst[cols:])
			}
		}
	}
}

// paddedImages recycles the zero-padded images of stride-1 convolutions.
var paddedImages = sync.Pool{New: func() any { return new([]float32) }}

// grown returns the first n values of the recycled buffer *buf, grown when
// too small (fresh buffers cost page faults on every step).
func grown(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// pad writes x (C,H,W) zero-padded by Pad on every side into *buf (grown
// when too small) and returns it.
func (s *convShape) pad(x []float32, buf *[]float32) []float32 {
	pd := s.g.Pad
	hp, wp := s.h+2*pd, s.w+2*pd
	xp := grown(buf, s.c*hp*wp)
	// only the border is cleared; rows of 4 to 32 values are copied as
	// arrays (vector moves, where copy's call cost more than the row)
	w := s.w
	for ci := 0; ci < s.c; ci++ {
		img := xp[ci*hp*wp : (ci+1)*hp*wp]
		clear(img[:pd*wp])
		clear(img[(hp-pd)*wp:])
		for iy := 0; iy < s.h; iy++ {
			row := img[(iy+pd)*wp : (iy+pd+1)*wp]
			clear(row[:pd])
			clear(row[pd+w:])
			dst, src := row[pd:pd+w], x[(ci*s.h+iy)*w:(ci*s.h+iy+1)*w]
			switch w {
			case 4:
				*(*[4]float32)(dst) = *(*[4]float32)(src)
			case 8:
				*(*[8]float32)(dst) = *(*[8]float32)(src)
			case 16:
				*(*[16]float32)(dst) = *(*[16]float32)(src)
			case 32:
				*(*[32]float32)(dst) = *(*[32]float32)(src)
			default:
				copy(dst, src)
			}
		}
	}
	return xp
}

// packColPadded packs col(x) (K×P) of a stride-1 convolution from xp, the
// image already padded (pad): each patch row is then, per output row, one
// contiguous run of reads with no bounds to check (gatherRow's clipping and
// clearing per run was 24% of a sampling step; with this packer sampling
// is 1.09× faster, README "Sampling").
func (s *convShape) packColPadded(xp []float32) fastgemm.Packer {
	const nr = fastgemm.NR
	wp := s.w + 2*s.g.Pad
	hp, khw := s.h+2*s.g.Pad, s.kh*s.kw
	return func(pc, jc, kb, nb int, bp []float32) {
		for j0 := 0; j0 < nb; j0 += nr {
			panel := bp[(j0/nr)*nr*kb : (j0/nr+1)*nr*kb]
			cols := min(nr, nb-j0)
			oy0, ox0 := (jc+j0)/s.wo, (jc+j0)%s.wo
			if s.packWholeRows(xp, panel, pc, kb, oy0, ox0, cols) {
				continue
			}
			for p := 0; p < kb; p++ {
				r := pc + p
				ci, ki, kj := r/khw, (r%khw)/s.kw, r%s.kw
				base := (ci*hp+ki)*wp + kj
				dst := panel[p*nr : (p+1)*nr]
				oy, ox := oy0, ox0
				for q := 0; q < cols; {
					run := min(cols-q, s.wo-ox)
					src := xp[base+oy*wp+ox : base+oy*wp+ox+run]
					d := dst[q : q+run]
					for t := range d {
						d[t] = src[t]
					}
					q += run
					ox = 0
					oy++
				}
				clear(dst[cols:])
			}
		}
	}
}

// packWholeRows is packColPadded's panel of cols columns for the usual
// widths: cols/wo whole output rows of 16, 8 or 4 values from (oy0, 0), or
// nr values of one row from (oy0, ox0) when wo is a multiple of nr. Full
// panels of rows of 16 or 8 and runs of 32 go through packPanels (vector
// moves with AVX-512); packing was 17% of a sampling step with a loop per
// value. It reports false for other shapes.
func (s *convShape) packWholeRows(xp, panel []float32, pc, kb, oy0, ox0, cols int) bool {
	const nr = fastgemm.NR
	wo, wp := s.wo, s.w+2*s.g.Pad
	offs := s.offs[pc : pc+kb]
	switch {
	case cols == nr && wo%nr == 0:
		packPanels(panel, xp, offs, oy0*wp+ox0, 16, 16)
	case ox0 != 0 || cols%wo != 0 || (wo != 16 && wo != 8 && wo != 4):
		return false
	case cols == nr && wo != 4:
		packPanels(panel, xp, offs, oy0*wp, wp, wo)
	case wo == 4 && cols == 16: // a whole 4×4 map per panel: four rows of four, by assignment (a copy call per row cost more than its values)
		for p, off := range offs {
			src := xp[off+oy0*wp : off+oy0*wp+3*wp+4]
			d := (*[nr]float32)(panel[p*nr : (p+1)*nr])
			r1, r2, r3 := src[wp:wp+4], src[2*wp:2*wp+4], src[3*wp:3*wp+4]
			d[0], d[1], d[2], d[3] = src[0], src[1], src[2], src[3]
			d[4], d[5], d[6], d[7] = r1[0], r1[1], r1[2], r1[3]
			d[8], d[9], d[10], d[11] = r2[0], r2[1], r2[2], r2[3]
			d[12], d[13], d[14], d[15] = r3[0], r3[1], r3[2], r3[3]
			*(*[nr - 16]float32)(d[16:]) = [nr - 16]float32{}
		}
	default: // rows of 4, or the last panel of a small image
		for p, off := range offs {
			src, dst := xp[off+oy0*wp:], panel[p*nr:(p+1)*nr]
			for q := 0; q < cols/wo; q++ {
				copy(dst[q*wo:(q+1)*wo], src[q*wp:q*wp+wo])
			}
			clear(dst[cols:])
		}
	}
	return true
}

// rowOffsets returns, for every patch row r = (ci, ki, kj), the offset in
// the padded image of its value for output (0, 0): (ci·hp + ki)·wp + kj,
// increasing in r.
func rowOffsets(s *convShape) []int {
	wp, hp := s.w+2*s.g.Pad, s.h+2*s.g.Pad
	offs := make([]int, 0, s.c*s.kh*s.kw)
	for ci := 0; ci < s.c; ci++ {
		for ki := 0; ki < s.kh; ki++ {
			for kj := 0; kj < s.kw; kj++ {
				offs = append(offs, (ci*hp+ki)*wp+kj)
			}
		}
	}
	return offs
}

// packPanelsGo is packPanels without assembly.
func packPanelsGo(dst, xp []float32, offs []int, add, step, w int) {
	for i, off := range offs {
		d := dst[32*i : 32*i+32]
		for q := 0; q < 32/w; q++ {
			copy(d[q*w:(q+1)*w], xp[off+add+q*step:])
		}
	}
}

// packColT packs col(x)ᵀ (P×K) for the filter gradient: each patch row is
// gathered contiguously, then spread over the panel.
func (s *convShape) packColT(x []float32) fastgemm.Packer {
	return func(pc, jc, kb, nb int, bp []float32) {
		row := make([]float32, kb) // per call: the parts of a parallel product pack at once
		for j0 := 0; j0 < nb; j0 += fastgemm.NR {
			panel := bp[(j0/fastgemm.NR)*fastgemm.NR*kb : (j0/fastgemm.NR+1)*fastgemm.NR*kb]
			cols := min(fastgemm.NR, nb-j0)
			if cols < fastgemm.NR {
				clear(panel)
			}
			for j := 0; j < cols; j++ {
				s.gatherRow(x, jc+j0+j, pc, kb, row)
				for p, v := range row {
					panel[p*fastgemm.NR+j] = v
				}
			}
		}
	}
}

// packColTPadded is packColT for a stride-1 convolution from xp, the image
// already padded (pad) or x itself without padding: B's row p (an output
// position) holds, for each patch row r of the panel, xp[offs[r] + base(p)]
// — a gather of nr values per position written contiguously, where
// packColT gathered each patch row and spread it over the panel with a
// stride of nr (its gathers were 16% of an embedded training step).
// Whole panels go by 8×8 transposes (fastgemm.PackRowsT32) over runs of 8 positions of
// one output row. The values, padding zeros included, are packColT's.
func (s *convShape) packColTPadded(xp []float32) fastgemm.Packer {
	const nr = fastgemm.NR
	wp := s.w + 2*s.g.Pad
	return func(pc, jc, kb, nb int, bp []float32) {
		for j0 := 0; j0 < nb; j0 += nr {
			panel := bp[(j0/nr)*nr*kb : (j0/nr+1)*nr*kb]
			cols := min(nr, nb-j0)
			offs := s.offs[jc+j0 : jc+j0+cols]
			oy, ox := pc/s.wo, pc%s.wo
			for p := 0; p < kb; {
				src := xp[oy*wp+ox:]
				// whole panels: runs of 8 positions of one output row by
				// 8×8 transposes, where the CPU has them
				if n := min(s.wo-ox, kb-p) / 8; cols == nr && n > 0 && fastgemm.PackRowsT32(panel[p*nr:], src, offs, n) {
					p, ox = p+8*n, ox+8*n
				} else {
					dst := panel[p*nr : (p+1)*nr]
					for j, o := range offs {
						dst[j] = src[o]
					}
					clear(dst[cols:])
					p, ox = p+1, ox+1
				}
				if ox == s.wo {
					ox = 0
					oy++
				}
			}
		}
	}
}

// packColStridedPadded is packCol for a strided convolution from xp, the
// image already padded (pad): patch row r at output (oy, ox) is
// xp[offs[r] + stride·(oy·wp + ox)]. Each panel's position offsets are
// computed once, and every patch row is one gather with no bounds to clip
// (gatherRow clips each run). The values, padding zeros included, are
// packCol's.
func (s *convShape) packColStridedPadded(xp []float32) fastgemm.Packer {
	const nr = fastgemm.NR
	wp, st := s.w+2*s.g.Pad, s.g.Stride
	return func(pc, jc, kb, nb int, bp []float32) {
		var base [nr]int
		for j0 := 0; j0 < nb; j0 += nr {
			panel := bp[(j0/nr)*nr*kb : (j0/nr+1)*nr*kb]
			cols := min(nr, nb-j0)
			for j := range cols {
				pos := jc + j0 + j
				base[j] = st * ((pos/s.wo)*wp + pos%s.wo)
			}
			bs := base[:cols]
			for p := 0; p < kb; p++ {
				dst, src := panel[p*nr:(p+1)*nr], xp[s.offs[pc+p]:]
				for j, b := range bs {
					dst[j] = src[b]
				}
				clear(dst[cols:])
			}
		}
	}
}

// imagePacker is the packer of image xi: for a strided convolution,
// strided on the image padded into xp where both are given, else general;
// for stride 1, padded on the image padded into xp (a recycled buffer, nil
// without padding) or on xi itself.
func (s *convShape) imagePacker(xi []float32, xp *[]float32, general, padded, strided func([]float32) fastgemm.Packer) fastgemm.Packer {
	switch {
	case s.g.Stride != 1 && strided != nil && xp != nil:
		return strided(s.pad(xi, xp))
	case s.g.Stride != 1:
		return general(xi)
	case xp != nil:
		return padded(s.pad(xi, xp))
	}
	return padded(xi)
}

// packedFilters recycles the packed filter matrices of convForwardImplicit.
var packedFilters = sync.Pool{New: func() any { return new(fastgemm.PackedA) }}

func convForwardImplicit(o *conv2dOp, x, w, b, y []float32) {
	s := shapeOfConv(o)
	n, oc := o.x[0], o.w[0]
	k, p := s.c*s.kh*s.kw, s.ho*s.wo
	serial := workers(n) > 1
	pw := packedFilters.Get().(*fastgemm.PackedA)
	defer packedFilters.Put(pw)
	fastgemm.PackA(pw, false, oc, k, 1, w, k) // once for the whole batch
	parallelFor(n, func(_, lo, hi int) {
		var xp *[]float32
		if s.g.Pad > 0 {
			xp = paddedImages.Get().(*[]float32)
			defer paddedImages.Put(xp)
		}
		for i := lo; i < hi; i++ {
			yi := y[i*oc*p : (i+1)*oc*p]
			xi := x[i*s.c*s.h*s.w : (i+1)*s.c*s.h*s.w]
			fastgemm.SgemmPrepacked(serial, pw, p, s.imagePacker(xi, xp, s.packCol, s.packColPadded, s.packColStridedPadded), 0, yi, p)
			if b != nil {
				for j := 0; j < oc; j++ {
					row := yi[j*p : (j+1)*p]
					addScalar(row, row, b[j])
				}
			}
		}
	})
}

func convGradWImplicit(o *conv2dOp, x, gy, dw []float32) {
	s := shapeOfConv(o)
	n, oc := o.x[0], o.w[0]
	k, p := s.c*s.kh*s.kw, s.ho*s.wo
	partial := make([][]float32, reductionParts(n)) // part 0 accumulates into dw itself
	partial[0] = dw
	for i := 1; i < len(partial); i++ {
		buf := filterBuffers.Get().(*[]float32)
		defer filterBuffers.Put(buf)
		partial[i] = grown(buf, len(dw))
	}
	serial := partsFillCores(n)
	parallelParts(n, func(part, lo, hi int) {
		acc := partial[part]
		if part > 0 {
			clear(acc)
		}
		var xp *[]float32
		if s.g.Stride == 1 && s.g.Pad > 0 {
			xp = paddedImages.Get().(*[]float32)
			defer paddedImages.Put(xp)
		}
		for i := lo; i < hi; i++ {
			xi := x[i*s.c*s.h*s.w : (i+1)*s.c*s.h*s.w]
			pack := s.imagePacker(xi, xp, s.packColT, s.packColTPadded, nil) // strided: the general packer
			fastgemm.SgemmPacked(serial, false, oc, k, p, 1, gy[i*oc*p:(i+1)*oc*p], p, pack, 1, acc, k)
		}
	})
	for _, acc := range partial[1:] {
		for i, v := range acc {
			dw[i] += v
		}
	}
}

// filterBuffers recycles the filter-sized buffers of the backward passes:
// convGradXImplicit's flipped filters (Stable Diffusion's are 59 MB each),
// convGradWImplicit's partial sums (fresh ones, page-faulted in on every
// step, cost the small feature maps' filter gradients the second core).
var filterBuffers = sync.Pool{New: func() any { return new([]float32) }}

// flipFilters writes w (O, C, kh·kw) flipped in space and transposed in
// channels into wf (C, O, kh·kw): wf[b, a, khw−1−t] = w[a, b, t]. It walks
// 8×8 blocks of (input, output) channel pairs, so that both sides move in
// runs of 8·kh·kw values, the blocks of input channels shared among the
// cores (one pair at a time, a plain loop, scattered the writes over
// Stable Diffusion's 59 MB filters: a quarter of its training step).
func flipFilters(w, wf []float32, oc, c, khw int) {
	const blk = 8
	parallelFor((c+blk-1)/blk, func(_, lo, hi int) {
		for b0 := lo * blk; b0 < min(hi*blk, c); b0 += blk {
			for a0 := 0; a0 < oc; a0 += blk {
				for b := b0; b < min(b0+blk, c); b++ {
					for a := a0; a < min(a0+blk, oc); a++ {
						src, dst := w[(a*c+b)*khw:(a*c+b+1)*khw], wf[(b*oc+a)*khw:(b*oc+a+1)*khw]
						if khw == 9 { // 3×3, the U-Nets' filters: one bounds check, no loop
							s, d := src[:9:9], dst[:9:9]
							d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8] = s[8], s[7], s[6], s[5], s[4], s[3], s[2], s[1], s[0]
							continue
						}
						for t, v := range src {
							dst[khw-1-t] = v
						}
					}
				}
			}
		}
	})
}

// convGradXImplicit handles stride 1: the input gradient is the convolution
// of dY with the filter flipped in space and transposed in channels.
func convGradXImplicit(o *conv2dOp, w, gy, dx []float32) {
	oc, c, kh, kw := o.w[0], o.w[1], o.w[2], o.w[3]
	buf := filterBuffers.Get().(*[]float32)
	defer filterBuffers.Put(buf)
	wf := grown(buf, len(w)) // (C, O, kh, kw)
	flipFilters(w, wf, oc, c, kh*kw)
	back := &conv2dOp{
		geom: ConvGeom{Stride: 1, Pad: kh - 1 - o.geom.Pad},
		x:    o.out, w: []int{c, oc, kh, kw}, out: o.x,
	}
	convForwardImplicit(back, gy, wf, nil, dx)
}
