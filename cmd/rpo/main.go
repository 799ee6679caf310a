// Command rpo is subject-driven text-to-image fine-tuning with Reward
// Preference Optimization. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rpo-dev/rpo/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.NewRootCmd().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitCode prints err and returns the process status: 0 on success, 130
// when interrupted (Ctrl-C or SIGTERM), 1 otherwise.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "rpo:", err)
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return 1
}
