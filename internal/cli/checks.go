package cli

import (
	"fmt"
	"strings"
)

// badOptions collects the out-of-range options of a command, one line per
// flag, so that all of them are refused together before any work.
type badOptions []string

// check adds a line when ok is false.
func (b *badOptions) check(ok bool, format string, a ...any) {
	if !ok {
		*b = append(*b, fmt.Sprintf(format, a...))
	}
}

// atLeastOne checks a count flag.
func (b *badOptions) atLeastOne(flag string, n int) {
	b.check(n >= 1, "%s %d: must be at least 1", flag, n)
}

// unit checks a flag that must lie in [0, 1] (λ).
func (b *badOptions) unit(flag string, v float64) {
	b.check(v >= 0 && v <= 1, "%s %g: must be in [0, 1]", flag, v)
}

// err is the error of command, or nil when every option is in range.
func (b badOptions) err(command string) error {
	if len(b) == 0 {
		return nil
	}
	return fmt.Errorf("%s: bad options:\n  %s", command, strings.Join(b, "\n  "))
}
