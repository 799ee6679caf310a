package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo"
	"github.com/rpo-dev/rpo/internal/nn"
)

// Version is rpo's version; release builds set it with
// -ldflags "-X github.com/rpo-dev/rpo/internal/cli.Version=v0.1.0".
var Version = "v0.1.0-dev"

// Commit is the commit the binary was built from when the build carries no
// VCS stamp (GOFLAGS=-buildvcs=false): the Makefile sets it with
// -ldflags "-X github.com/rpo-dev/rpo/internal/cli.Commit=<hash>", with
// "-modified" appended when the tree had changes.
var Commit = ""

// BuildInfo describes this binary.
type BuildInfo struct {
	Version, Commit, Go, Gorgonia, BLAS, Platform string
	Modified                                      bool
}

// ReadBuildInfo collects the version, VCS commit and module versions.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: Version, Go: runtime.Version(), BLAS: nn.BLASName(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Commit: "unknown", Gorgonia: "unknown"}
	if Commit != "" {
		b.Commit, _ = strings.CutSuffix(Commit, "-modified")
		b.Modified = strings.HasSuffix(Commit, "-modified")
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
		for _, d := range info.Deps {
			if d.Path == "gorgonia.org/gorgonia" {
				b.Gorgonia = d.Version
			}
		}
	}
	return b
}

// NewVersionCmd builds `rpo version`.
func NewVersionCmd() *cobra.Command {
	var changelog bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of rpo and of what it is built with (--changelog: what changed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if changelog {
				fmt.Fprint(cmd.OutOrStdout(), rpo.Changelog)
				return nil
			}
			b := ReadBuildInfo()
			commit := b.Commit
			if b.Modified {
				commit += " (modified)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rpo %s\ncommit:   %s\ngo:       %s %s\ngorgonia: %s\nblas:     %s\n",
				b.Version, commit, b.Go, b.Platform, b.Gorgonia, b.BLAS)
			return nil
		},
	}
	cmd.Flags().BoolVar(&changelog, "changelog", false, "print the changelog (CHANGELOG.md)")
	return cmd
}
