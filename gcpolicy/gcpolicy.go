// Package gcpolicy sets Go's garbage collector for a process whose heap is
// mostly one large, long-lived image: a policy while serving, and a pause
// while recovering.
//
// While serving, most of the heap is the image, which lives on, and the
// garbage is what statements and commands allocate. A collection's cost is
// marking the live heap; how often one runs is set by GOGC (the heap may grow
// by GOGC% of the live heap before the next). The collector's share of the
// CPU therefore falls as GOGC rises, at the price of memory: the default
// here is GOGC=400 bounded by a soft memory limit of three quarters of the
// machine's memory, so the heap grows up to five times the image while
// memory allows and the runtime collects harder as the limit nears. Measured
// (`go test -run XXX -bench ReadOnlyGC ./bench/sbtest/`, oltp_read_only over
// 100,000 rows, 4 clients, two runs): the collector took 20-26% of the
// process's CPU at GOGC=100, 12-16% at 200, 10-13% at 400 and 6-8% at 800.
//
// Guarantees:
//   - Apply sets both settings and returns the function restoring the
//     previous ones; GOGC and GOMEMLIMIT in the environment are the
//     defaults' inputs, never overridden silently (Default keeps them).
//   - Pauses nest and overlap (two databases opened at once): the collector
//     is off while at least one pause is held and is restored to the
//     settings from before the first once the last is released.
//   - While paused, the heap stays bounded: by the memory limit in force
//     (the policy's, GOMEMLIMIT), else by three quarters of the memory of
//     the machine or its container (cgroup), past which the runtime
//     collects as usual. Where that memory is unknown, Pause changes
//     nothing.
package gcpolicy
