package eval

import (
	"math"
	"testing"

	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/reward"
	"github.com/rpo-dev/rpo/internal/world"
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

// The prompt ensemble is the unit mean of unit vectors: (3,0), (0,2) and
// (0,0.5) become (1,0), (0,1), (0,1), mean (1/3, 2/3), unit (1, 2)/√5.
func TestEnsembleHandChecked(t *testing.T) {
	got := ensemble([][]float64{{3, 0}, {0, 2}, {0, 0.5}})
	want := []float64{1 / math.Sqrt(5), 2 / math.Sqrt(5)}
	for k := range want {
		if math.Abs(got[k]-want[k]) > 1e-15 {
			t.Fatalf("ensemble = %v, want %v", got, want)
		}
	}
}

// The zero-shot class embedding of a class is the ensemble of "a <class>"
// and "a <class> <setting>" over every setting; the plain one is "a <class>".
func TestZeroShotClassPrompts(t *testing.T) {
	e, err := models.NewEncoder(models.TinyEncoderConfig("tiny-clip", true, 16), nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	z, err := newZeroShot(e)
	if err != nil {
		t.Fatal(err)
	}
	c := world.Classes[2]
	ps := []string{"a " + c.Name}
	for _, x := range world.Contexts {
		ps = append(ps, "a "+c.Name+" "+x.Phrase)
	}
	emb, err := e.EmbedTexts(ps)
	if err != nil {
		t.Fatal(err)
	}
	want := ensemble(emb)
	for k := range want {
		if math.Abs(z.classes[2][k]-want[k]) > 1e-12 {
			t.Fatalf("class embedding %d differs from the ensemble of its %d prompts", k, len(ps))
		}
	}
	if d := reward.Cosine(z.plainClasses[2], emb[0]); math.Abs(d-1) > 1e-12 {
		t.Errorf("plain class embedding: cos with \"a %s\" = %v", c.Name, d)
	}
	if d := reward.Cosine(z.classes[2], emb[0]); d > 1-1e-9 {
		t.Errorf("ensemble equals the single prompt (cos %v)", d)
	}
}
