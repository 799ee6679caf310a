// Package gemm is rpo's single-precision matrix multiply: packed, blocked
// (BLIS-style loops around a 12×32 micro-kernel), with FMA micro-kernels
// in Go assembly on amd64 (AVX-512, else AVX2 as four 6×16 tiles; the two
// give the same bits) and a pure-Go kernel elsewhere, and using every core
// on large products. It is a drop-in for BLAS Sgemm on row-major data.
package gemm

import (
	"runtime"
	"sync"

	"github.com/rpo-dev/rpo/internal/par"
)

// Blocking: a micro-tile is mr×nr; an A block mc×kc stays in L2, a B
// micro-panel kc×nr in L1.
const (
	mr = 12
	nr = 32
	kc = 256
	mc = 120
	nc = 2048
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices:
// op(A) is m×k, op(B) is k×n, C is m×n with row strides lda, ldb, ldc.
// When beta is 0, C is overwritten (NaNs in C do not propagate), as in BLAS.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// already split their work across the cores.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// NR is the width of a packed B panel (see Packer).
const NR = nr

// Packer writes op(B)[pc:pc+kb, jc:jc+nb] into bp in panels of NR columns:
// element (p, j) at bp[(j/NR)·NR·kb + p·NR + j%NR], the last panel
// zero-padded. A Packer lets a caller compute B on the fly instead of
// materialising it (a convolution's patch matrix).
type Packer func(pc, jc, kb, nb int, bp []float32)

// SgemmPacked is Sgemm with B supplied by a Packer: C = alpha·op(A)·B + beta·C.
// serial keeps the work on the calling goroutine.
func SgemmPacked(serial, transA bool, m, n, k int, alpha float32, a []float32, lda int, pack Packer, beta float32, c []float32, ldc int) {
	run(workersFor(serial), transA, m, n, k, alpha, a, lda, pack, beta, c, ldc)
}

// workersFor is 1 when the caller keeps the work serial, else every core.
func workersFor(serial bool) int {
	if serial {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

func sgemm(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	run(workers, transA, m, n, k, alpha, a, lda, func(pc, jc, kb, nb int, bp []float32) {
		packB(transB, b, ldb, pc, jc, kb, nb, bp)
	}, beta, c, ldc)
}

func run(workers int, transA bool, m, n, k int, alpha float32, a []float32, lda int, pack Packer, beta float32, c []float32, ldc int) {
	blockA := func(ic, pc, mb, kb int, buf []float32) []float32 {
		ap := buf[:roundUp(mb, mr)*kb]
		packA(transA, a, lda, ic, pc, mb, kb, alpha, ap)
		return ap
	}
	if alpha == 0 {
		k = 0 // C = beta·C
	}
	runBlocks(workers, m, n, k, blockA, pack, beta, c, ldc)
}

// PackedA is op(A) packed once, in the blocks the product walks, for
// several products with the same A (a convolution's filter applied to
// every image of a batch): packing A per product costs as much as the
// multiply when B is narrow (small feature maps).
type PackedA struct {
	m, k int
	buf  []float32
}

// PackA packs alpha·op(A) (m×k) into dst's storage (grown if too small).
func PackA(dst *PackedA, transA bool, m, k int, alpha float32, a []float32, lda int) {
	size := 0
	for pc := 0; pc < k; pc += kc {
		size += roundUp(m, mr) * min(kc, k-pc)
	}
	if cap(dst.buf) < size {
		dst.buf = make([]float32, size)
	}
	dst.m, dst.k, dst.buf = m, k, dst.buf[:size]
	type block struct{ ic, pc, mb, kb, off int }
	var blocks []block
	off := 0
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		for ic := 0; ic < m; ic += mc {
			mb := min(mc, m-ic)
			blocks = append(blocks, block{ic, pc, mb, kb, off})
			off += roundUp(mb, mr) * kb
		}
	}
	pack := func(bs []block) {
		for _, b := range bs {
			packA(transA, a, lda, b.ic, b.pc, b.mb, b.kb, alpha, dst.buf[b.off:b.off+roundUp(b.mb, mr)*b.kb])
		}
	}
	w := min(runtime.GOMAXPROCS(0), len(blocks))
	if w < 2 || size < parallelPack {
		pack(blocks)
		return
	}
	// the blocks on every core: the packing is otherwise the one serial
	// part of a convolution over a batch (each block is written by one worker)
	par.Run(w, func(i int) { pack(blocks[i*len(blocks)/w : (i+1)*len(blocks)/w]) })
}

// parallelPack is the smallest packed A (values) whose blocks PackA shares
// among the cores.
const parallelPack = 1 << 15

// SgemmPrepacked is SgemmPacked with A packed by PackA: C = A·B + beta·C
// (alpha was applied when packing).
func SgemmPrepacked(serial bool, a *PackedA, n int, pack Packer, beta float32, c []float32, ldc int) {
	m := a.m
	blockA := func(ic, pc, mb, kb int, _ []float32) []float32 {
		// blocks of earlier pc panels hold roundUp(m, mr)·kc values each;
		// within a panel, blocks of mc rows (mc is a multiple of mr)
		off := roundUp(m, mr)*pc + ic*kb
		return a.buf[off : off+roundUp(mb, mr)*kb]
	}
	runBlocks(workersFor(serial), m, n, a.k, blockA, pack, beta, c, ldc)
}

// runBlocks is the blocked product with A blocks from blockA.
func runBlocks(workers int, m, n, k int, blockA func(ic, pc, mb, kb int, buf []float32) []float32, pack Packer, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if workers > 1 && m*n*k >= parallelWork && (m >= 2*mr || n >= 2*nr) {
		splitBlocks(workers, m, n, k, blockA, pack, beta, c, ldc)
		return
	}
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if k == 0 {
		return
	}
	bufs := pool.Get().(*buffers)
	defer pool.Put(bufs)
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			bp := bufs.b[:roundUp(nb, nr)*kb]
			pack(pc, jc, kb, nb, bp)
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				ap := blockA(ic, pc, mb, kb, bufs.a)
				macro(ap, bp, mb, nb, kb, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// parallelWork is the smallest product (m·n·k) shared among the cores.
const parallelWork = 1 << 18

// splitBlocks runs the product as independent serial products on parts of
// C, one per worker: row parts when A is the larger operand (each worker
// then packs all of B), column parts otherwise (each packs all of A).
// Parts start at multiples of the micro-tile, so every element of C is
// computed by the same operations, in the same order, as in a serial run.
// One par.Run per product: on virtual machines, waking an idle core
// costs about as much as a block's work, so sharing each block left the
// second core mostly idle.
func splitBlocks(workers int, m, n, k int, blockA func(ic, pc, mb, kb int, buf []float32) []float32, pack Packer, beta float32, c []float32, ldc int) {
	var parts []func()
	if m >= n && m >= 2*mr || n < 2*nr {
		per := roundUp((m+workers-1)/workers, mr)
		for i0 := 0; i0 < m; i0 += per {
			mb := min(per, m-i0)
			parts = append(parts, func() {
				rows := func(ic, pc, mb, kb int, buf []float32) []float32 { return blockA(i0+ic, pc, mb, kb, buf) }
				runBlocks(1, mb, n, k, rows, pack, beta, c[i0*ldc:], ldc)
			})
		}
	} else {
		per := roundUp((n+workers-1)/workers, nr)
		for j0 := 0; j0 < n; j0 += per {
			nb := min(per, n-j0)
			parts = append(parts, func() {
				cols := func(pc, jc, kb, nb int, bp []float32) { pack(pc, j0+jc, kb, nb, bp) }
				runBlocks(1, m, nb, k, blockA, cols, beta, c[j0:], ldc)
			})
		}
	}
	par.Run(len(parts), func(i int) { parts[i]() })
}

type buffers struct{ a, b []float32 }

var pool = sync.Pool{New: func() any {
	return &buffers{a: make([]float32, roundUp(mc, mr)*kc), b: make([]float32, roundUp(nc, nr)*kc)}
}}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies alpha·op(A)[ic:ic+mb, pc:pc+kb] into panels of mr rows:
// ap[panel][p][i], zero-padded. Reads go along memory rows.
func packA(trans bool, a []float32, lda, ic, pc, mb, kb int, alpha float32, ap []float32) {
	for i0 := 0; i0 < mb; i0 += mr {
		panel := ap[(i0/mr)*mr*kb : (i0/mr+1)*mr*kb]
		rows := min(mr, mb-i0)
		if rows < mr {
			clear(panel)
		}
		if trans {
			for p := 0; p < kb; p++ {
				src := a[(pc+p)*lda+ic+i0 : (pc+p)*lda+ic+i0+rows]
				dst := panel[p*mr : p*mr+rows]
				for i, v := range src {
					dst[i] = alpha * v
				}
			}
			continue
		}
		if rows == mr { // a whole panel: twelve rows read side by side, each p's values written at once
			packA12(a, (ic+i0)*lda+pc, lda, kb, alpha, panel)
			continue
		}
		for i := 0; i < rows; i++ {
			src := a[(ic+i0+i)*lda+pc : (ic+i0+i)*lda+pc+kb]
			for p, v := range src {
				panel[p*mr+i] = alpha * v
			}
		}
	}
}

// packA12 writes panel[p·12+i] = alpha·a[off+i·lda+p] for i < 12, p < kb.
func packA12(a []float32, off, lda, kb int, alpha float32, panel []float32) {
	r0, r1, r2, r3 := a[off:off+kb], a[off+lda:off+lda+kb], a[off+2*lda:off+2*lda+kb], a[off+3*lda:off+3*lda+kb]
	r4, r5, r6, r7 := a[off+4*lda:off+4*lda+kb], a[off+5*lda:off+5*lda+kb], a[off+6*lda:off+6*lda+kb], a[off+7*lda:off+7*lda+kb]
	r8, r9, r10, r11 := a[off+8*lda:off+8*lda+kb], a[off+9*lda:off+9*lda+kb], a[off+10*lda:off+10*lda+kb], a[off+11*lda:off+11*lda+kb]
	panel = panel[:kb*mr]
	for p := packA12Vec(a, off, lda, kb, alpha, panel); p < kb; p++ {
		d := panel[p*mr : p*mr+mr : p*mr+mr]
		d[0], d[1], d[2], d[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
		d[4], d[5], d[6], d[7] = alpha*r4[p], alpha*r5[p], alpha*r6[p], alpha*r7[p]
		d[8], d[9], d[10], d[11] = alpha*r8[p], alpha*r9[p], alpha*r10[p], alpha*r11[p]
	}
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into panels of nr columns:
// bp[panel][p][j], zero-padded. Reads go along memory rows.
func packB(trans bool, b []float32, ldb, pc, jc, kb, nb int, bp []float32) {
	for j0 := 0; j0 < nb; j0 += nr {
		panel := bp[(j0/nr)*nr*kb : (j0/nr+1)*nr*kb]
		cols := min(nr, nb-j0)
		if cols < nr {
			clear(panel)
		}
		if !trans {
			for p := 0; p < kb; p++ {
				copy(panel[p*nr:p*nr+cols], b[(pc+p)*ldb+jc+j0:])
			}
			continue
		}
		for j := 0; j < cols; j++ {
			src := b[(jc+j0+j)*ldb+pc : (jc+j0+j)*ldb+pc+kb]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
	}
}

// macro multiplies a packed A block by a packed B block into C, one
// micro-tile at a time.
func macro(ap, bp []float32, mb, nb, kb int, c []float32, ldc int) {
	np := (nb + nr - 1) / nr
	tiles := (mb + mr - 1) / mr * np
	var tmp [mr * nr]float32
	for t := 0; t < tiles; t++ {
		ir, jr := t/np, t%np
		i0, j0 := ir*mr, jr*nr
		a := ap[ir*mr*kb:]
		b := bp[jr*nr*kb:]
		rows, cols := min(mr, mb-i0), min(nr, nb-j0)
		if rows == mr && cols == nr {
			kernel(kb, a, b, c[i0*ldc+j0:], ldc)
			continue
		}
		if kernelQuarters(kb, a, b, c[i0*ldc+j0:], ldc, rows, cols) {
			continue
		}
		clear(tmp[:])
		kernelCorner(kb, a, b, tmp[:], rows, cols)
		for i := 0; i < rows; i++ {
			src := tmp[i*nr : i*nr+cols]
			dst := c[(i0+i)*ldc+j0:]
			dst = dst[:len(src)] // one bounds check per row
			for j, v := range src {
				dst[j] += v
			}
		}
	}
}

// kernelGo is the portable micro-kernel: C[0:mr, 0:nr] += Apᵀ·Bp.
func kernelGo(k int, a, b, c []float32, ldc int) {
	var acc [mr][nr]float32
	for p := 0; p < k; p++ {
		bs := b[p*nr : p*nr+nr]
		as := a[p*mr : p*mr+mr]
		for i, av := range as {
			row := &acc[i]
			for j, bv := range bs {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < mr; i++ {
		dst := c[i*ldc : i*ldc+nr]
		for j := range dst {
			dst[j] += acc[i][j]
		}
	}
}
