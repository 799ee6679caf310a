// Command rpo is subject-driven text-to-image fine-tuning with Reward
// Preference Optimization. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rpo-dev/rpo/internal/cli"
	"github.com/rpo-dev/rpo/internal/nn"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig // the first: the command stops within an operator, keeps what is complete and saves
		cancel()
		nn.Interrupt()
		<-sig // the second: at once
		fmt.Fprintln(os.Stderr, "rpo: second interrupt: exiting without saving")
		os.Exit(130)
	}()
	err := cli.NewRootCmd().ExecuteContext(ctx)
	stopProfile()
	os.Exit(exitCode(err))
}

// stopProfile ends the CPU profile of a build with -tags prof.
var stopProfile = func() {}

// exitCode prints err and returns the process status: 0 on success, 130
// when interrupted (Ctrl-C or SIGTERM), 1 otherwise.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "interrupted" // the command has said what it kept
	}
	if !strings.HasPrefix(msg, "rpo:") {
		msg = "rpo: " + msg
	}
	fmt.Fprintln(os.Stderr, msg)
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return 1
}
