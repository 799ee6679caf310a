package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"
)

// NewLogger returns a log/slog logger writing to w at level ("debug",
// "info", "warn", "error") in format ("text" or "json").
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q is not one of debug, info, warn, error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		o.ReplaceAttr = compactNumbers
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		o.ReplaceAttr = durationString
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q is not text or json", format)
}

// durationString writes durations as the text handler does ("6m53s"):
// slog's JSON handler writes them as integer nanoseconds.
func durationString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// compactNumbers writes floats with 4 significant digits in text logs
// (l_sim=1.377, not 1.3767131567001343), in maps too (reward=map[0.5:0.7936]);
// JSON logs keep every digit for machines.
func compactNumbers(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Any().(type) {
	case float64:
		a.Value = slog.StringValue(fmt.Sprintf("%.4g", v))
	case map[string]float64:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s:%.4g", k, v[k])
		}
		a.Value = slog.StringValue("map[" + strings.Join(parts, " ") + "]")
	}
	return a
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
