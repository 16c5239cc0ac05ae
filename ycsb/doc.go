// Package ycsb is a YCSB load generator (thesis §5.1.1): CoreWorkload's
// property files, key and request distributions, and HdrHistogram
// measurements reported in YCSB's format.
package ycsb
