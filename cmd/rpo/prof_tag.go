//go:build prof

package main

import (
	"os"
	"runtime/pprof"
)

// With -tags prof, RPO_CPUPROFILE=FILE writes a CPU profile of the command.
func init() {
	if p := os.Getenv("RPO_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
		stopProfile = pprof.StopCPUProfile
	}
}
