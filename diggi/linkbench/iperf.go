package linkbench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/securecached/securecached/internal/netns"
)

// Iperf3 measures TCP throughput from namespace A to B of pair with
// iperf3, writing and reading msgSize bytes per call (-l), for d. It is
// the baseline of Fig. 5.2: the same veth, the same message size.
func Iperf3(pair *netns.Pair, port, msgSize int, d time.Duration) (mbit float64, err error) {
	srv := netns.Command(pair.B, "iperf3", "-s", "-1", "-p", strconv.Itoa(port), "-B", pair.AddrB)
	if err := srv.Start(); err != nil {
		return 0, fmt.Errorf("iperf3 server: %w", err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	secs := max(1, int(d/time.Second))
	var out []byte
	for try := 0; ; try++ { // the server needs a moment to listen
		cli := netns.Command(pair.A, "iperf3", "-c", pair.AddrB, "-p", strconv.Itoa(port), "-t", strconv.Itoa(secs), "-l", strconv.Itoa(msgSize), "-J")
		out, err = cli.Output()
		if err == nil || try == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return 0, fmt.Errorf("iperf3 client: %w: %s", err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("iperf3 output: %w", err)
	}
	if res.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", res.Error)
	}
	return res.End.SumReceived.BitsPerSecond / 1e6, nil
}
