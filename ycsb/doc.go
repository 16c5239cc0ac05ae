// Package ycsb is a YCSB load generator (thesis §5.1.1): CoreWorkload's
// property files, key and request distributions, and HdrHistogram
// measurements reported in YCSB's format. A phase's clients either block
// on a DB per call (YCSB's threads, Plan.RunClient) or are driven by an
// event loop with a window of calls outstanding (Plan.Pipeline).
package ycsb
