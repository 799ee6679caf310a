package rpo

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestManifestHelper is not a test: TestConcurrentManifest runs the test
// binary as several processes, each adding its own entries here.
func TestManifestHelper(t *testing.T) {
	cache, who := os.Getenv("RPOTEST_MANIFEST_CACHE"), os.Getenv("RPOTEST_MANIFEST_WHO")
	if cache == "" {
		t.Skip("run by TestConcurrentManifest")
	}
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	for i := 0; i < 40; i++ {
		n := Negative{Prompt: "p", Seed: uint64(i), Key: fmt.Sprintf("%s-%d", who, i), Image: img}
		if err := addToManifest(cache, []Negative{n}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentManifest: processes that share a negatives cache (eval
// shards) and add to its manifest at the same time lose none of each
// other's entries.
func TestConcurrentManifest(t *testing.T) {
	cache := t.TempDir()
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	for p := range cmds {
		cmds[p] = exec.Command(os.Args[0], "-test.run=^TestManifestHelper$")
		cmds[p].Env = append(os.Environ(), "RPOTEST_MANIFEST_CACHE="+cache, "RPOTEST_MANIFEST_WHO="+strconv.Itoa(p))
		if err := cmds[p].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(cache, "negatives.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Negatives) != procs*40 {
		t.Errorf("the manifest holds %d of the %d entries the processes added", len(man.Negatives), procs*40)
	}
}
