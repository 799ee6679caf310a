package nn

import (
	"context"
	"fmt"
	"sync/atomic"
)

// ErrInterrupted is what a program's run returns once Interrupt has been
// called: it wraps context.Canceled, so callers treat it as the signal it
// stands for.
var ErrInterrupted = fmt.Errorf("nn: interrupted: %w", context.Canceled)

var interrupted atomic.Bool

// Interrupt makes every owned operator that starts from now on fail with
// ErrInterrupted, so that a program's run ends within one operator of a
// signal instead of at the end of a pass that may take minutes (a
// 512-pixel Stable Diffusion step). It is for the process's first signal;
// nothing resets it but ResetInterrupt.
func Interrupt() { interrupted.Store(true) }

// ResetInterrupt undoes Interrupt (tests).
func ResetInterrupt() { interrupted.Store(false) }
