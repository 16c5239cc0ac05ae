package linkbench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/securecached/securecached/internal/netns"
)

// Iperf3Server runs "iperf3 -s" in namespace B of pair, on its address
// and port, until stop is called.
func Iperf3Server(pair *netns.VethPair, port int) (stop func(), err error) {
	srv := pair.Command(pair.B, "iperf3", "-s", "-p", strconv.Itoa(port), "-B", pair.AddrB)
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("iperf3 server: %w", err)
	}
	return func() { _ = srv.Process.Kill(); _ = srv.Wait() }, nil
}

// Iperf3 measures TCP throughput from namespace A to the iperf3 server in
// B with iperf3, writing and reading msgSize bytes per call (-l), for d
// (whole seconds, at least one). It is the baseline of Fig. 5.2: the same
// veth, the same message size.
func Iperf3(pair *netns.VethPair, port, msgSize int, d time.Duration) (mbit float64, err error) {
	secs := max(1, int(d/time.Second))
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	// The server may still be starting, or finishing the previous test.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cli := pair.Command(pair.A, "iperf3", "-c", pair.AddrB, "-p", strconv.Itoa(port), "-t", strconv.Itoa(secs), "-l", strconv.Itoa(msgSize), "-J")
		out, cerr := cli.Output()
		res.Error = ""
		if jerr := json.Unmarshal(out, &res); jerr != nil && cerr == nil {
			return 0, fmt.Errorf("iperf3 output: %w", jerr)
		}
		if cerr == nil && res.Error == "" {
			return res.End.SumReceived.BitsPerSecond / 1e6, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("iperf3 client: %v %s", cerr, res.Error)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
