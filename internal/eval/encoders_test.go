package eval

import (
	"testing"

	"github.com/rpo-dev/rpo/internal/models"
)

// An encoder that embeds every image the same way cannot prefer the right
// image: r_λ ties and the pair check counts no win; the check must see
// the difference between a tie and a win.
func TestRewardPairsCountsOnlyWins(t *testing.T) {
	e, err := models.NewEncoder(models.TinyEncoderConfig("tiny-align", true, 16), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m, err := RewardPairs(e, 12, 0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"reward_wrong_context", "reward_wrong_identity"} {
		if v, ok := m[k]; !ok || v < 0 || v > 1 {
			t.Errorf("%s = %v (present %v)", k, v, ok)
		}
	}
	// zero image weights: every image embeds alike, so no pair is won
	w := e.Store.Lookup("image.proj.weight")
	if w == nil {
		t.Fatalf("no image.proj.weight among %v", e.Store.Names())
	}
	clear(w.Data().([]float32))
	m, err = RewardPairs(e, 12, 0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if m["reward_wrong_context"] != 0 || m["reward_wrong_identity"] != 0 {
		t.Errorf("constant image embeddings won pairs: %v", m)
	}
}
