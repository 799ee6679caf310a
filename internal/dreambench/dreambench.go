// Package dreambench reads DreamBench-layout benchmarks (the real DreamBench
// photos or an exported MiniDreamBench): <dir>/<subject>/*.{jpg,png} plus
// prompts_and_classes.txt.
package dreambench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// PromptsFile is the name of the benchmark's prompt and class list.
const PromptsFile = "prompts_and_classes.txt"

// Subject is one benchmark subject.
type Subject struct {
	Name   string   // folder name ("dog2", "backpack_dog")
	Class  string   // class noun ("dog", "stuffed animal")
	Images []string // reference image paths, sorted
}

// Live reports whether the subject takes the live-subject prompts (class
// dog or cat, as DreamBench defines it).
func (s Subject) Live() bool { return IsLive(s.Class) }

// IsLive reports whether a class is a live subject.
func IsLive(class string) bool { return class == "dog" || class == "cat" }

// Prompts are DreamBench's prompt templates: {0} the unique token, {1} the
// class noun.
type Prompts struct {
	Classes []SubjectClass
	Object  []string
	Live    []string
}

// SubjectClass is one row of the class list.
type SubjectClass struct{ Subject, Class string }

// For returns the templates of a class (live or object).
func (p *Prompts) For(class string) []string {
	if IsLive(class) {
		return p.Live
	}
	return p.Object
}

// Format fills a template: {0} → token, {1} → class; an empty token is
// removed with its space ("a {0} {1}" → "a dog").
func Format(template, token, class string) string {
	s := strings.ReplaceAll(template, "{1}", class)
	if token == "" {
		s = strings.ReplaceAll(s, "{0} ", "")
		return strings.ReplaceAll(s, "{0}", "")
	}
	return strings.ReplaceAll(s, "{0}", token)
}

var promptLine = regexp.MustCompile(`^'([^']*)'\.format\(unique_token,\s*class_token\),?$`)

// ParsePrompts reads the DreamBench prompts_and_classes.txt format. name
// labels errors, which give the line: "prompts_and_classes.txt:12: ...".
func ParsePrompts(r io.Reader, name string) (*Prompts, error) {
	p := &Prompts{}
	sc := bufio.NewScanner(r)
	n := 0
	errf := func(format string, a ...any) error {
		return fmt.Errorf("dreambench: %s:%d: %s", name, n, fmt.Sprintf(format, a...))
	}
	section := "" // "classes", "object", "live"
	var list *[]string
	inList := false
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case line == "Classes":
			section = "classes"
			continue
		case line == "Prompts":
			section = "prompts"
			continue
		case line == "Object Prompts":
			section, list = "object", &p.Object
			continue
		case line == "Live Subject Prompts":
			section, list = "live", &p.Live
			continue
		}
		switch section {
		case "classes":
			if line == "subject_name,class" {
				continue
			}
			parts := strings.Split(line, ",")
			if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
				return nil, errf("want \"subject_name,class\", got %q", line)
			}
			p.Classes = append(p.Classes, SubjectClass{strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])})
		case "object", "live":
			switch {
			case strings.HasPrefix(line, "prompt_list = ["):
				inList = true
			case line == "]":
				inList = false
			case inList:
				m := promptLine.FindStringSubmatch(line)
				if m == nil {
					return nil, errf("want 'TEMPLATE'.format(unique_token, class_token), got %q", line)
				}
				if !strings.Contains(m[1], "{0}") || !strings.Contains(m[1], "{1}") {
					return nil, errf("template %q lacks {0} (token) or {1} (class)", m[1])
				}
				*list = append(*list, m[1])
			default:
				return nil, errf("unexpected line %q outside prompt_list", line)
			}
		default:
			return nil, errf("unexpected line %q before the Classes section", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dreambench: %s: %w", name, err)
	}
	switch {
	case len(p.Classes) == 0:
		return nil, fmt.Errorf("dreambench: %s: no subject classes (a \"Classes\" section with subject_name,class rows)", name)
	case len(p.Object) == 0:
		return nil, fmt.Errorf("dreambench: %s: no object prompts", name)
	case len(p.Live) == 0:
		return nil, fmt.Errorf("dreambench: %s: no live subject prompts", name)
	}
	return p, nil
}

// Bench is a benchmark on disk.
type Bench struct {
	Dir      string
	Prompts  *Prompts
	Subjects []Subject
}

// Load reads a benchmark directory. Every subject of the class list must
// have a folder with at least one .jpg, .jpeg or .png.
func Load(dir string) (*Bench, error) {
	pf := filepath.Join(dir, PromptsFile)
	f, err := os.Open(pf)
	if err != nil {
		return nil, fmt.Errorf("dreambench: %s is not a DreamBench-layout directory: %w", dir, err)
	}
	defer f.Close()
	p, err := ParsePrompts(f, pf)
	if err != nil {
		return nil, err
	}
	b := &Bench{Dir: dir, Prompts: p}
	for _, sc := range p.Classes {
		sd := filepath.Join(dir, sc.Subject)
		entries, err := os.ReadDir(sd)
		if err != nil {
			return nil, fmt.Errorf("dreambench: subject %q of %s: %w", sc.Subject, pf, err)
		}
		s := Subject{Name: sc.Subject, Class: sc.Class}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".jpg", ".jpeg", ".png":
				if !e.IsDir() {
					s.Images = append(s.Images, filepath.Join(sd, e.Name()))
				}
			}
		}
		if len(s.Images) == 0 {
			return nil, fmt.Errorf("dreambench: subject folder %s has no .jpg, .jpeg or .png image", sd)
		}
		sort.Strings(s.Images)
		b.Subjects = append(b.Subjects, s)
	}
	return b, nil
}

// Subject returns the subject called name.
func (b *Bench) Subject(name string) (Subject, bool) {
	for _, s := range b.Subjects {
		if s.Name == name {
			return s, true
		}
	}
	return Subject{}, false
}
