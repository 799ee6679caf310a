package dreambench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const realDreamBench = "../../../shared/dreambench/dataset"

func TestLoadRealDreamBench(t *testing.T) {
	if _, err := os.Stat(realDreamBench); err != nil {
		t.Skip("no ../shared/dreambench here")
	}
	b, err := Load(realDreamBench)
	if err != nil {
		t.Fatal(err)
	}
	images, live := 0, 0
	for _, s := range b.Subjects {
		images += len(s.Images)
		if s.Live() {
			live++
		}
	}
	if len(b.Subjects) != 30 || images != 158 || live != 9 || len(b.Prompts.Object) != 25 || len(b.Prompts.Live) != 25 {
		t.Fatalf("%d subjects, %d images, %d live, %d/%d prompts", len(b.Subjects), images, live, len(b.Prompts.Object), len(b.Prompts.Live))
	}
	if got := Format(b.Prompts.Live[13], "sks", "dog"); got != "a sks dog wearing a black top hat and a monocle" {
		t.Errorf("live prompt 14: %q", got)
	}
	if got := Format(b.Prompts.Object[20], "", "stuffed animal"); got != "a red stuffed animal" {
		t.Errorf("without token: %q", got)
	}
}

const good = `Classes

subject_name,class
dog,dog
can,can

Prompts

Object Prompts

prompt_list = [
'a {0} {1} in the jungle'.format(unique_token, class_token),
]

Live Subject Prompts

prompt_list = [
'a {0} {1} in the snow'.format(unique_token, class_token)
]
`

func TestMalformedPromptsFile(t *testing.T) {
	if _, err := ParsePrompts(strings.NewReader(good), "p.txt"); err != nil {
		t.Fatalf("good file: %v", err)
	}
	for name, c := range map[string]struct{ text, says string }{
		"bad class row":   {strings.Replace(good, "can,can", "can can can", 1), "p.txt:5: want \"subject_name,class\""},
		"bad prompt line": {strings.Replace(good, "'a {0} {1} in the jungle'.format(unique_token, class_token),", "a {0} {1} in the jungle", 1), "p.txt:12: want 'TEMPLATE'.format"},
		"no token":        {strings.Replace(good, "'a {0} {1} in the snow'", "'a {1} in the snow'", 1), "p.txt:18: template \"a {1} in the snow\" lacks {0}"},
		"no live":         {good[:strings.Index(good, "Live Subject")], "no live subject prompts"},
		"stray line":      {"hello\n" + good, "p.txt:1: unexpected line \"hello\""},
	} {
		_, err := ParsePrompts(strings.NewReader(c.text), "p.txt")
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v (want %q)", name, err, c.says)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a DreamBench-layout directory") {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, PromptsFile), []byte(good), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `subject "dog"`) {
		t.Errorf("missing subject folder: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "dog"), 0o755)
	os.MkdirAll(filepath.Join(dir, "can"), 0o755)
	os.WriteFile(filepath.Join(dir, "dog", "00.png"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "can", "notes.txt"), []byte("x"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "has no .jpg, .jpeg or .png") || !strings.Contains(err.Error(), "can") {
		t.Errorf("empty subject folder: %v", err)
	}
}
