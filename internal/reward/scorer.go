package reward

import (
	"fmt"
	"image"
)

// Scores are the two scores of one image: ALIGN-I against the subject's
// references and ALIGN-T against its prompt.
type Scores struct {
	AlignI, AlignT float64
}

// Reward is r_λ of the scores (Harmonic).
func (s Scores) Reward(lambda float64) float64 { return Harmonic(lambda, s.AlignI, s.AlignT) }

// Score is the scores of an image embedding x against the references'
// embeddings and the prompt's text embedding.
func Score(refs [][]float64, txt, x []float64) Scores {
	return Scores{AlignI: AlignI(refs, x), AlignT: AlignT(txt, x)}
}

// Embedder is a reward model's two towers (rpo: align-mini).
type Embedder interface {
	EmbedImages([]*image.RGBA) ([][]float64, error)
	EmbedTexts([]string) ([][]float64, error)
}

// Scorer scores images of one subject: it holds the embeddings of the
// subject's references, computed once, and the text embedding of each
// prompt it has seen, by cleaned prompt (RemoveToken), so that no prompt is
// embedded twice.
type Scorer struct {
	model Embedder
	token string
	refs  [][]float64
	texts map[string][]float64
}

// NewScorer embeds the references of a subject whose prompts carry token.
func NewScorer(model Embedder, refs []*image.RGBA, token string) (*Scorer, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("reward: no reference images")
	}
	emb, err := model.EmbedImages(refs)
	if err != nil {
		return nil, err
	}
	return &Scorer{model: model, token: token, refs: emb, texts: map[string][]float64{}}, nil
}

// References are the references' image embeddings.
func (s *Scorer) References() [][]float64 { return s.refs }

// Clean is the prompt as the reward model sees it: the token removed.
func (s *Scorer) Clean(prompt string) string { return RemoveToken(prompt, s.token) }

// Texts returns the text embeddings of prompts (token removed), embedding
// those not seen yet together, in order of first appearance.
func (s *Scorer) Texts(prompts []string) ([][]float64, error) {
	var todo []string
	seen := map[string]bool{}
	for _, p := range prompts {
		c := s.Clean(p)
		if _, ok := s.texts[c]; !ok && !seen[c] {
			todo, seen[c] = append(todo, c), true
		}
	}
	if len(todo) > 0 {
		emb, err := s.model.EmbedTexts(todo)
		if err != nil {
			return nil, err
		}
		for i, c := range todo {
			s.texts[c] = emb[i]
		}
	}
	out := make([][]float64, len(prompts))
	for i, p := range prompts {
		out[i] = s.texts[s.Clean(p)]
	}
	return out, nil
}

// Score returns the scores of each image under the prompt of the same index
// (prompts with or without the token).
func (s *Scorer) Score(imgs []*image.RGBA, prompts []string) ([]Scores, error) {
	emb, err := s.model.EmbedImages(imgs)
	if err != nil {
		return nil, err
	}
	return s.ScoreEmbeddings(emb, prompts)
}

// ScoreEmbeddings is Score of images already embedded.
func (s *Scorer) ScoreEmbeddings(emb [][]float64, prompts []string) ([]Scores, error) {
	if len(emb) != len(prompts) {
		return nil, fmt.Errorf("reward: %d images and %d prompts", len(emb), len(prompts))
	}
	txt, err := s.Texts(prompts)
	if err != nil {
		return nil, err
	}
	out := make([]Scores, len(emb))
	for i, x := range emb {
		out[i] = Score(s.refs, txt[i], x)
	}
	return out, nil
}
