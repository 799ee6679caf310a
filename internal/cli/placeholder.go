package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// placeholder is a command that a later issue fills in. Run, it says so and
// fails; it never pretends to work.
type placeholder struct {
	use, short string
	issue      int
	what       string
}

var placeholders = []placeholder{}

// ErrNotImplemented marks a placeholder command.
type ErrNotImplemented struct {
	Command string
	Issue   int
	What    string
}

func (e ErrNotImplemented) Error() string {
	return fmt.Sprintf("`rpo %s` is not implemented yet: it arrives with issue #%d (%s)", e.Command, e.Issue, e.What)
}

func newPlaceholderCmd(p placeholder) *cobra.Command {
	return &cobra.Command{
		Use:                p.use,
		Short:              p.short,
		DisableFlagParsing: true, // any flags: the answer is the same
		RunE: func(*cobra.Command, []string) error {
			return ErrNotImplemented{p.use, p.issue, p.what}
		},
	}
}
