//go:build !unix

package ckpt

import "os"

// flock is a no-op where advisory locks are not available.
func flock(*os.File) error { return nil }

// flockWait is a no-op where advisory locks are not available.
func flockWait(*os.File) error { return nil }
