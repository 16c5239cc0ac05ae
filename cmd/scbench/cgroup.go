package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuGroup is a fixed CPU budget for the processes put in it: a cgroup with
// a CFS bandwidth quota. An experiment that emulates several machines on
// one gives each its own, so what it measures is the emulated machines and
// not how they share the real one's cores with each other and with the
// load generator.
type cpuGroup struct {
	dir   string
	cores float64
}

// cgroupPeriod is the CFS period of a budget: short, so a throttled
// instance waits at most a few milliseconds rather than most of the
// default 100 ms period, which would add that to request latencies.
const cgroupPeriod = 10 * time.Millisecond

// cgroupRoot finds where CPU budgets can be made: the unified hierarchy
// (cgroup v2) when its cpu controller is available at /sys/fs/cgroup,
// else cgroup v1's cpu hierarchy. v2 is true for the unified hierarchy.
func cgroupRoot() (root string, v2 bool, err error) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		if !strings.Contains(" "+strings.TrimSpace(string(b))+" ", " cpu ") {
			return "", false, errors.New("cgroup v2 at /sys/fs/cgroup has no cpu controller")
		}
		// Children of the root get the cpu controller only when the
		// root hands it down.
		if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0); err != nil {
			return "", false, fmt.Errorf("cgroup v2: enable cpu for children: %w", err)
		}
		return "/sys/fs/cgroup", true, nil
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		return "/sys/fs/cgroup/cpu", false, nil
	}
	return "", false, errors.New("no cgroup cpu controller (neither cgroup v2's at /sys/fs/cgroup nor v1's at /sys/fs/cgroup/cpu)")
}

// newCPUGroup makes a cgroup named name (unique to this process) whose
// processes may use cores CPUs' worth of time together.
func newCPUGroup(name string, cores float64) (*cpuGroup, error) {
	if cores <= 0 {
		return nil, fmt.Errorf("cgroup %s: budget %v cores", name, cores)
	}
	root, v2, err := cgroupRoot()
	if err != nil {
		return nil, err
	}
	g := &cpuGroup{dir: filepath.Join(root, fmt.Sprintf("scbench-%d-%s", os.Getpid(), name)), cores: cores}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	period := cgroupPeriod.Microseconds()
	quota := int64(cores * float64(period))
	if v2 {
		err = g.write("cpu.max", fmt.Sprintf("%d %d", quota, period))
	} else {
		err = errors.Join(g.write("cpu.cfs_period_us", strconv.FormatInt(period, 10)),
			g.write("cpu.cfs_quota_us", strconv.FormatInt(quota, 10)))
	}
	if err != nil {
		_ = os.Remove(g.dir)
		return nil, err
	}
	return g, nil
}

func (g *cpuGroup) write(file, value string) error {
	if err := os.WriteFile(filepath.Join(g.dir, file), []byte(value), 0); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	return nil
}

// add moves process pid (all its threads) into the group.
func (g *cpuGroup) add(pid int) error {
	return g.write("cgroup.procs", strconv.Itoa(pid))
}

// remove deletes the group once its processes have exited (the kernel
// refuses to while any is left, and a killed process takes a moment to
// leave).
func (g *cpuGroup) remove() error {
	var err error
	for range 100 {
		if err = os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cgroup: %w", err)
}

// throttleStats are the group's CFS periods so far and how many of them
// ended with the group throttled (its budget used up).
func (g *cpuGroup) throttleStats() (periods, throttled int64, err error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return 0, 0, fmt.Errorf("cgroup: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "nr_periods":
			periods = n
		case "nr_throttled":
			throttled = n
		}
	}
	return periods, throttled, nil
}
