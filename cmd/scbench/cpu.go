package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time (user + system) process pid has used, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s: Linux's
// USER_HZ on every architecture Go supports).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start at field 3.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	var ticks int64
	for _, k := range []int{11, 12} { // utime, stime: fields 14, 15
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// cost is what processes cost over a stretch of an experiment: CPU time
// (user + system) and context switches (voluntary and not), summed over
// their threads.
type cost struct {
	CPU      time.Duration `json:"cpu_ns"`
	Switches int64         `json:"switches"`
}

func (u cost) add(v cost) cost { return cost{u.CPU + v.CPU, u.Switches + v.Switches} }
func (u cost) sub(v cost) cost { return cost{u.CPU - v.CPU, u.Switches - v.Switches} }

// selfUsage is this process's cost so far (getrusage sums the threads).
func selfUsage() cost {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cost{}
	}
	return cost{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw}
}

// procUsage is process pid's cost so far: CPU from /proc/PID/stat, and
// the context switches of its live threads from /proc/PID/task/*/status
// (a Go process keeps its threads, so none are lost to exits).
func procUsage(pid int) (cost, error) {
	cpu, err := procCPU(pid)
	if err != nil {
		return cost{}, err
	}
	u := cost{CPU: cpu}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return cost{}, err
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return cost{}, fmt.Errorf("/proc/%d/task/%s/status: %w", pid, t.Name(), err)
				}
				u.Switches += n
			}
		}
	}
	return u, nil
}

// perOp is u per operation: CPU in microseconds and context switches.
func (u cost) perOp(ops int64) (cpuUs, switches float64) {
	if ops <= 0 {
		return 0, 0
	}
	return float64(u.CPU.Microseconds()) / float64(ops), float64(u.Switches) / float64(ops)
}
