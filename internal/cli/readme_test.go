package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestReadmeCommands parses every rpo command line of README.md (indented
// code lines and inline `rpo …` code) and checks that its command exists and
// that every flag it uses is one the command takes, so that the README
// cannot drift from the tool.
func TestReadmeCommands(t *testing.T) {
	checkCommands(t, "README.md", 15)
}

// TestModelCardCommands: the commands of every model card (docs/models)
// exist, take the flags they are given, and name config files that exist.
func TestModelCardCommands(t *testing.T) {
	for _, m := range []string{"autoencoder", "t2i", "align-mini", "clip-mini", "dino-mini"} {
		checkCommands(t, filepath.Join("docs", "models", m+".md"), 1)
	}
}

// checkCommands checks the rpo command lines of a Markdown file (indented
// code lines and inline `rpo …` code) of the repository: at least min.
func checkCommands(t *testing.T, file string, min int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(oracle.Root(), file))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(l); strings.HasPrefix(l, "    rpo ") {
			lines = append(lines, s)
		}
	}
	for _, m := range regexp.MustCompile("`(rpo [^`]+)`").FindAllStringSubmatch(string(b), -1) {
		lines = append(lines, m[1])
	}
	if len(lines) < min {
		t.Fatalf("found %d rpo command lines in %s", len(lines), file)
	}
	for _, line := range lines {
		summary := regexp.MustCompile(`^rpo [a-z]+ {2,}`).MatchString(line) // the command list: name, then prose
		if i := strings.Index(line, " #"); i > 0 {
			line = line[:i]
		}
		words := shellWords(line)[1:]
		if len(words) > 0 && words[0] == strings.ToUpper(words[0]) { // "rpo COMMAND --help": a placeholder
			continue
		}
		root := NewRootCmd()
		cmd, rest, err := root.Find(words)
		if err != nil || cmd == root {
			t.Errorf("%s: %q: no such command (%v)", file, line, err)
			continue
		}
		if summary {
			continue
		}
		if err := cmd.ParseFlags(flagsOnly(cmd, rest)); err != nil {
			t.Errorf("%s: %q: %v", file, line, err)
		}
		for i, w := range words {
			if w == "--config" && i+1 < len(words) && words[i+1] != strings.ToUpper(words[i+1]) { // FILE: a placeholder
				if _, err := os.Stat(filepath.Join(oracle.Root(), words[i+1])); err != nil {
					t.Errorf("%s: %q: %v", file, line, err)
				}
			}
		}
	}
}

// flagsOnly drops the positional arguments (files, directories) before the
// flags are parsed.
func flagsOnly(cmd *cobra.Command, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			out = append(out, args[i])
			name := strings.TrimLeft(args[i], "-")
			if f := cmd.Flags().Lookup(name); f != nil && f.Value.Type() != "bool" && !strings.Contains(args[i], "=") {
				if i+1 == len(args) { // a flag named in prose: `rpo generate --model`
					out = append(out, "x")
					continue
				}
				out = append(out, args[i+1])
				i++
			} else if f == nil && len(name) == 1 {
				if f := cmd.Flags().ShorthandLookup(name); f != nil && f.Value.Type() != "bool" && i+1 < len(args) {
					out = append(out, args[i+1])
					i++
				}
			}
		}
	}
	return out
}

// shellWords splits a command line as a shell would (double quotes).
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, has := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, has = !inQuote, true
		case r == ' ' && !inQuote:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}

func TestVersionChangelog(t *testing.T) {
	got, err := execute(t, NewRootCmd(), "version", "--changelog")
	if err != nil || !strings.HasPrefix(got, "# Changelog") || !strings.Contains(got, "## [Unreleased]") {
		t.Errorf("rpo version --changelog: %v\n%.200s", err, got)
	}
}

// TestVersionCommit: a build without a VCS stamp prints the commit the
// Makefile passes with -ldflags (and the Makefile passes it to this very
// variable).
func TestVersionCommit(t *testing.T) {
	old := Commit
	defer func() { Commit = old }()
	Commit = "0123abcd-modified"
	got, err := execute(t, NewRootCmd(), "version")
	if err != nil || !strings.Contains(got, "commit:   0123abcd (modified)") {
		t.Errorf("%v\n%s", err, got)
	}
	mk, err := os.ReadFile(filepath.Join(oracle.Root(), "Makefile"))
	if err != nil || !strings.Contains(string(mk), "-X github.com/rpo-dev/rpo/internal/cli.Commit=$(COMMIT)") || !strings.Contains(string(mk), `-ldflags "$(LDFLAGS)"`) {
		t.Errorf("the Makefile does not set cli.Commit: %v", err)
	}
}
