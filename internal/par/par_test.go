package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// every part runs exactly once, whoever runs it
func checkOnce(t *testing.T, n int, run func(n int, f func(int))) {
	t.Helper()
	counts := make([]atomic.Int32, n)
	run(n, func(i int) { counts[i].Add(1) })
	for i := range counts {
		if c := counts[i].Load(); c != 1 {
			t.Fatalf("n=%d: part %d ran %d times", n, i, c)
		}
	}
}

func TestRunEveryPartOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
		checkOnce(t, n, Run)
	}
	// after the helpers have parked
	time.Sleep(3 * Spin)
	checkOnce(t, 5, Run)
}

func TestRunOneCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var order []int // no synchronisation: with one core every part runs on the caller, in order
	Run(4, func(i int) { order = append(order, i) })
	if len(order) != 4 || order[0] != 0 || order[3] != 3 {
		t.Fatalf("parts ran in order %v, want 0 1 2 3", order)
	}
}

// Nested calls (a part that itself calls Run) and calls from many goroutines
// at once (more than there are slots) finish, each part once.
func TestRunNestedAndConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	var wg sync.WaitGroup
	for g := 0; g < 3*len(slots); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				var total atomic.Int64
				Run(4, func(i int) {
					Run(3, func(j int) { total.Add(int64(10*i + j)) })
				})
				// Σ over i<4, j<3 of 10i+j = 3·10·6 + 4·3 = 192
				if got := total.Load(); got != 192 {
					t.Errorf("nested sum %d, want 192", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A part the caller waits for may take long: Run returns only after it.
func TestRunWaitsForHelpersParts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	var done atomic.Int32
	Run(2, func(i int) {
		time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
		done.Add(1)
	})
	if done.Load() != 2 {
		t.Fatalf("Run returned with %d of 2 parts done", done.Load())
	}
}
