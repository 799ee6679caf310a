//go:build amd64 && !purego

package nn

//go:noescape
func packPanelsAVX512(dst, xp *float32, offs *int, n, add, step int)

//go:noescape
func packPanels8AVX(dst, xp *float32, offs *int, n, add, step int)

//go:noescape
func packPanels16AVX(dst, xp *float32, offs *int, n, add, step int)

// packPanels fills len(offs) panel rows of 32 values from runs of w = 16
// or 8 values: row i is the 32/w runs of xp from offs[i]+add, step apart.
// offs must increase (checked at its ends, which bound every read).
func packPanels(dst, xp []float32, offs []int, add, step, w int) {
	n := len(offs)
	if n == 0 {
		return
	}
	if len(dst) < 32*n || offs[0]+add < 0 || offs[n-1]+add+(32/w-1)*step+w > len(xp) || step < 0 || (w != 16 && w != 8) {
		panic("nn: packPanels out of range")
	}
	switch {
	case w == 16 && hasAVX512:
		packPanelsAVX512(&dst[0], &xp[0], &offs[0], n, add, step)
	case w == 16 && hasAVX2:
		packPanels16AVX(&dst[0], &xp[0], &offs[0], n, add, step)
	case w == 8 && (hasAVX512 || hasAVX2):
		packPanels8AVX(&dst[0], &xp[0], &offs[0], n, add, step)
	default:
		packPanelsGo(dst, xp, offs, add, step, w)
	}
}
