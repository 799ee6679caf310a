//go:build unix

package ckpt

import (
	"os"
	"syscall"
)

func flock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

func flockWait(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }
