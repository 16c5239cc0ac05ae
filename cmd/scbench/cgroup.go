package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cpuGroup is a fixed CPU budget for the processes put in it: a cgroup with
// a CFS bandwidth quota (the most it may use) and a weight far above the
// default (so that other work on a busy machine cannot take its share
// away). An experiment that emulates several machines on one gives each
// its own, so what it measures is the emulated machines and not how they
// share the real one's cores with each other, with the load generator and
// with whatever else runs there.
type cpuGroup struct {
	dir   string
	root  string
	v2    bool
	cores float64 // 0: no quota, only the weight
}

// The weight of a budget: 100 times the default (cpu.weight 100 in cgroup
// v2, cpu.shares 1024 in v1).
const (
	cgroupWeightV2 = "10000"
	cgroupSharesV1 = "102400"
)

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
// processes may use cores CPUs' worth of time together, or with cores 0
// as much as they can get, ahead of other work.
func newCPUGroup(name string, cores float64) (*cpuGroup, error) {
	if cores < 0 {
		return nil, fmt.Errorf("cgroup %s: budget %v cores", name, cores)
	}
	root, v2, err := cgroupRoot()
	if err != nil {
		return nil, err
	}
	g := &cpuGroup{dir: filepath.Join(root, fmt.Sprintf("scbench-%d-%s", os.Getpid(), name)), root: root, v2: v2, cores: cores}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	period := cgroupPeriod.Microseconds()
	quota := int64(cores * float64(period))
	switch {
	case v2 && cores > 0:
		err = errors.Join(g.write("cpu.weight", cgroupWeightV2), g.write("cpu.max", fmt.Sprintf("%d %d", quota, period)))
	case v2:
		err = g.write("cpu.weight", cgroupWeightV2)
	case cores > 0:
		err = errors.Join(g.write("cpu.shares", cgroupSharesV1), g.write("cpu.cfs_period_us", strconv.FormatInt(period, 10)),
			g.write("cpu.cfs_quota_us", strconv.FormatInt(quota, 10)))
	default:
		err = g.write("cpu.shares", cgroupSharesV1)
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

// enterSelf moves this process into the group, and returns how to move it
// back to the cgroup it was in.
func (g *cpuGroup) enterSelf() (leave func() error, err error) {
	from, err := ownCgroup(g.v2)
	if err != nil {
		return nil, err
	}
	if err := g.add(os.Getpid()); err != nil {
		return nil, err
	}
	return func() error {
		if err := os.WriteFile(filepath.Join(g.root, from, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		return nil
	}, nil
}

// ownCgroup is this process's cgroup in the hierarchy of the cpu
// controller (v1) or the unified one (v2), from /proc/self/cgroup.
func ownCgroup(v2 bool) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if v2 && f[0] == "0" && f[1] == "" {
			return f[2], nil
		}
		if !v2 && slices.Contains(strings.Split(f[1], ","), "cpu") {
			return f[2], nil
		}
	}
	return "", errors.New("cgroup: this process's cpu cgroup is not in /proc/self/cgroup")
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
