package eval

import (
	"testing"

	"github.com/rpo-dev/rpo/internal/dreambench"
)

// TestMeanCI: one subject has no interval, and says so.
func TestMeanCI(t *testing.T) {
	one := dreambench.Summarize([]float64{0.5})
	if got := meanCI(one, 3, false); got != "0.500 (n = 1)" {
		t.Errorf("one value: %q", got)
	}
	three := dreambench.Summarize([]float64{0.1, 0.2, 0.3})
	if got := meanCI(three, 3, true); got != "+0.200 ± 0.248" {
		t.Errorf("three values: %q", got)
	}
}
