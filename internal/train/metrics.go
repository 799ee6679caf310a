package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/rpo-dev/rpo/internal/ckpt"
)

// TruncateMetrics rewrites the metrics.jsonl at path without the records of
// steps after step (written after the checkpoint a run resumes from) and
// without lines that are not whole records (a write cut by a kill), so that
// a resumed run's file holds every step once. A record's step is its "step"
// field, or that of the one object it wraps ({"validation": {"step": 40, …}}).
func TruncateMetrics(path string, step int) error { return truncateMetrics(path, step, -1) }

// truncateMetrics is TruncateMetrics on the file's first limit bytes (a
// pending checkpoint's: the records before its job's), all of it when
// limit < 0.
func truncateMetrics(path string, step int, limit int64) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	whole := b
	if limit >= 0 && int64(len(b)) > limit {
		b = b[:limit]
	}
	var keep []byte
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if n, ok := RecordStep(line); ok && n <= step {
			keep = append(append(keep, line...), '\n')
		}
	}
	if bytes.Equal(keep, whole) {
		return nil
	}
	return ckpt.WriteFileAtomic(path, keep)
}

// RecordStep returns the step of one metrics.jsonl line.
func RecordStep(line []byte) (int, bool) {
	var m map[string]json.RawMessage
	if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &m) != nil {
		return 0, false
	}
	if raw, ok := m["step"]; ok {
		var n int
		if json.Unmarshal(raw, &n) == nil {
			return n, true
		}
	}
	if len(m) == 1 {
		for _, raw := range m {
			var inner struct {
				Step *int `json:"step"`
			}
			if json.Unmarshal(raw, &inner) == nil && inner.Step != nil {
				return *inner.Step, true
			}
		}
	}
	return 0, false
}
