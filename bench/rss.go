package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ResetPeak starts a new peak-RSS measurement (Linux: writing 5 to
// /proc/self/clear_refs resets VmHWM). It reports whether that worked;
// when it did not, PeakMB is the peak since the process started.
func ResetPeak() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// PeakMB is the process's peak resident set size in MB since the last
// ResetPeak (VmHWM), or since it started.
func PeakMB() float64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}
