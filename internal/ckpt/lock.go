package ckpt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the name of a run directory's lock.
const LockFile = ".lock"

// ErrLocked means another process holds a run directory's lock.
var ErrLocked = errors.New("run directory is in use")

// Lock is an advisory lock on a run directory, held for the life of the
// run: a second run into the same directory is refused while the first
// lives. The kernel releases it when its process dies, so the lock of a
// killed run is taken over by the next one; took names the pid that had
// held it then ("" when the lock was free).
type Lock struct {
	f    *os.File
	Took string
}

// LockDir creates dir if needed and takes its lock, or returns ErrLocked
// naming the process that holds it.
func LockDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	p := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	prev := make([]byte, 32)
	n, _ := f.ReadAt(prev, 0)
	holder := strings.TrimSpace(string(prev[:n]))
	if err := flock(f); err != nil {
		f.Close()
		if holder == "" {
			holder = "another process"
		} else {
			holder = "process " + holder
		}
		return nil, fmt.Errorf("%s: %w by %s (its lock is %s)", dir, ErrLocked, holder, p)
	}
	l := &Lock{f: f}
	if holder != "" && holder != strconv.Itoa(os.Getpid()) {
		l.Took = holder
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return l, nil
}

// Unlock empties the lock file (a run that ended leaves no holder behind)
// and releases the lock. The file stays: removing it could let two later
// runs lock two different files of the same name.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	l.f.Close()
	l.f = nil
}

// WithLock runs f holding an exclusive advisory lock on the file path
// (created if needed), waiting for other processes that hold it: the
// read-modify-write of a file that several processes update (a shared
// negatives cache's index) then loses no one's entries.
func WithLock(path string, f func() error) error {
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	defer lf.Close() // closing releases the lock
	if err := flockWait(lf); err != nil {
		return fmt.Errorf("ckpt: lock %s: %w", path, err)
	}
	return f()
}
