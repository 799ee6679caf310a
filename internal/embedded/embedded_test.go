package embedded

import (
	"strings"
	"testing"
)

func TestMissingModelsSaySo(t *testing.T) {
	for _, n := range []string{T2I, AlignMini, ClipMini, DinoMini} {
		if _, err := Model(n); err != nil && !strings.Contains(err.Error(), "no embedded "+n+" model yet") {
			t.Errorf("%s: %v", n, err)
		}
	}
}
