//go:build unix

package ckpt

import (
	"fmt"
	"os"
	"syscall"
)

// Map reads a safetensors file through a read-only memory map, so that a
// multi-gigabyte checkpoint is not copied onto the heap: its tensors' bytes
// are the file's pages. The File must not be used after release.
func Map(path string) (f *File, release func(), err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("ckpt: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("ckpt: %w", err)
	}
	if fi.Size() < 1<<20 { // small files: read them
		f, err := Read(path)
		return f, func() {}, err
	}
	data, err := syscall.Mmap(int(fh.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f, err := Read(path)
		return f, func() {}, err
	}
	f, err = Parse(data)
	if err != nil {
		syscall.Munmap(data)
		return nil, nil, fmt.Errorf("ckpt: %s: %w", path, err)
	}
	return f, func() { syscall.Munmap(data) }, nil
}
