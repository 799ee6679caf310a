// Package par runs the parts of one computation on every core: the calling
// goroutine and GOMAXPROCS−1 helpers that stay awake for a while between
// parts instead of parking at once.
//
// On the virtual machines rpo runs on, a core whose thread has gone to sleep
// takes 100–150 µs to start on new work, and a goroutine waiting in a
// sync.WaitGroup as long to resume: with a go statement and a WaitGroup per
// operator, most of a training step's few hundred parallel operators lost
// that much twice, and two cores did a step only 1.2–1.5× faster than one.
// Here the helpers poll for parts for a few hundred microseconds after their
// last one (yielding to any other runnable goroutine while they do) and the
// caller polls for its parts' completion.
//
// The caller never waits for a part nobody has started: it runs every part
// the helpers have not claimed itself, so a busy helper (another program's
// parts, a validation beside the training steps) costs nothing but the
// parts' order. Which goroutine runs a part is not specified; callers that
// need the same bits on every run make parts whose results do not depend on
// it (a fixed split, each part writing its own output).
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Spin is how long a helper polls for new parts after its last one before
// it parks: longer than the gaps between the parallel operators of a step,
// short enough that an idle process gives its cores back at once.
const Spin = 500 * time.Microsecond

// job is one call of Run: n parts, claimed in order by whoever comes first.
type job struct {
	f    func(int)
	n    int32
	next atomic.Int32 // the next unclaimed part
	left atomic.Int32 // parts not finished
}

// claim runs unclaimed parts of j until none is left.
func (j *job) claim() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.f(int(i))
		j.left.Add(-1)
	}
}

// slots hold the jobs open now (nested or concurrent calls of Run); a call
// that finds none free runs all its parts itself.
var slots [8]atomic.Pointer[job]

var (
	start   sync.Once
	parked  atomic.Int32 // helpers waiting on wake
	wake    chan struct{}
	helpers int
)

// Run calls f(i) for every i in [0, n), on the calling goroutine and the
// helpers, and returns when all the calls have returned.
func Run(n int, f func(i int)) {
	if n <= 0 {
		return
	}
	if n == 1 || runtime.GOMAXPROCS(0) == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	start.Do(startHelpers)
	j := &job{f: f, n: int32(n)}
	j.left.Store(int32(n))
	slot := -1
	for s := range slots {
		if slots[s].CompareAndSwap(nil, j) {
			slot = s
			break
		}
	}
	if slot >= 0 && parked.Load() > 0 {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	j.claim()
	if slot >= 0 {
		slots[slot].Store(nil)
	}
	for j.left.Load() > 0 {
		runtime.Gosched()
	}
}

// startHelpers starts GOMAXPROCS−1 helpers (as many as there are cores when
// Run is first called).
func startHelpers() {
	helpers = runtime.GOMAXPROCS(0) - 1
	wake = make(chan struct{}, helpers)
	for i := 0; i < helpers; i++ {
		go helper()
	}
}

// helper claims the parts of open jobs, polling for Spin after the last one
// and then parking until Run wakes it.
func helper() {
	for {
		idleSince := time.Now()
		for {
			if found := claimAny(); found {
				idleSince = time.Now()
				continue
			}
			if time.Since(idleSince) > Spin {
				break
			}
			runtime.Gosched()
		}
		parked.Add(1)
		if claimAny() { // a job opened between the last look and parking
			parked.Add(-1)
			continue
		}
		<-wake
		parked.Add(-1)
	}
}

// claimAny runs the unclaimed parts of the open jobs; it reports whether
// there were any.
func claimAny() bool {
	found := false
	for s := range slots {
		if j := slots[s].Load(); j != nil && j.next.Load() < j.n {
			j.claim()
			found = true
		}
	}
	return found
}
