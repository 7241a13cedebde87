// Command openloop sends GET requests at a fixed rate (open loop, as wrk2 does)
// for a bounded time and prints latency percentiles as JSON. Latency is measured
// from the moment each request was due, not from when a free connection sent it,
// so a server that falls behind shows its queueing delay (no coordinated omission).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

type result struct {
	URL           string  `json:"url"`
	RateRequested float64 `json:"rate_requested"`
	RateAchieved  float64 `json:"rate_achieved"`
	DurationS     float64 `json:"duration_s"`
	Connections   int     `json:"connections"`
	Requests      int     `json:"requests"`
	Errors        int     `json:"errors"`
	Unsent        int     `json:"unsent"`
	LatencyMs     pcts    `json:"latency_ms"`
	ServiceTimeMs pcts    `json:"service_time_ms"`
	SendLagP99Ms  float64 `json:"send_lag_p99_ms"`
}

type pcts struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

func percentiles(d []time.Duration) pcts {
	if len(d) == 0 {
		return pcts{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(d)-1))
		return float64(d[i].Microseconds()) / 1000
	}
	return pcts{at(0.50), at(0.90), at(0.99), at(0.999), at(1)}
}

type sample struct{ latency, service, lag time.Duration }

func main() {
	url := flag.String("url", "", "URL to GET")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	conns := flag.Int("conns", 32, "keep-alive connections (one request in flight each)")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	flag.Parse()
	if *url == "" || *rate <= 0 || *conns <= 0 {
		fmt.Fprintln(os.Stderr, "usage: openloop -url URL -rate R -duration D -conns C")
		os.Exit(2)
	}

	total := int(*rate * duration.Seconds())
	due := make(chan time.Time, total)
	samples := make([][]sample, *conns)
	errs := make([]int, *conns)
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: *timeout, Transport: &http.Transport{
				MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true,
			}}
			for t := range due {
				sent := time.Now()
				resp, err := client.Get(*url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				end := time.Now()
				if err != nil {
					errs[w]++
					continue
				}
				samples[w] = append(samples[w], sample{end.Sub(t), end.Sub(sent), sent.Sub(t)})
			}
		}(w)
	}

	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	for i := 0; i < total; i++ {
		t := start.Add(time.Duration(i) * interval)
		if d := time.Until(t); d > 0 {
			time.Sleep(d)
		}
		due <- t
	}
	close(due)
	// Requests still queued when the clock runs out are not sent: the run stays bounded.
	deadline := time.Now().Add(*timeout)
	unsent := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		unsent = len(due)
		for range due {
		}
		<-done
	}
	elapsed := time.Since(start)

	var lat, svc, lag []time.Duration
	nerr := 0
	for w := range samples {
		nerr += errs[w]
		for _, s := range samples[w] {
			lat = append(lat, s.latency)
			svc = append(svc, s.service)
			lag = append(lag, s.lag)
		}
	}
	r := result{
		URL: *url, RateRequested: *rate, DurationS: elapsed.Seconds(), Connections: *conns,
		Requests: len(lat), Errors: nerr, Unsent: unsent,
		RateAchieved: float64(len(lat)) / elapsed.Seconds(),
		LatencyMs:    percentiles(lat), ServiceTimeMs: percentiles(svc),
	}
	r.SendLagP99Ms = percentiles(lag).P99
	out, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(out))
}
