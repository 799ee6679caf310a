//go:build !amd64 || purego

package nn

// packPanels fills len(offs) panel rows of 32 values from runs of w = 16
// or 8 values: row i is the 32/w runs of xp from offs[i]+add, step apart.
func packPanels(dst, xp []float32, offs []int, add, step, w int) {
	packPanelsGo(dst, xp, offs, add, step, w)
}
