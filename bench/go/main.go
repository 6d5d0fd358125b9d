// The Go side of `cargo xtask bench`: the same measures as the Rust probe (bench/src/main.rs),
// through golang.org/x/oauth2's clientcredentials and its ReuseTokenSource, the way a Go service
// would hold a token. One measure per run; the result is one JSON object on stdout.
//
// Settings come from the environment, which `cargo xtask bench` sets: BENCH_ADMIN_URL,
// BENCH_PUBLIC_URL, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET (a client with Hydra's default
// lifetime), BENCH_SHORT_ID, BENCH_SHORT_SECRET (a client whose tokens live 4 s), BENCH_N.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

type result struct {
	Value      float64     `json:"value"`
	TwoCallers float64     `json:"two_callers,omitempty"`
	Samples    []float64   `json:"samples,omitempty"`
	Requests   int64       `json:"requests,omitempty"`
	Timeline   [][2]uint64 `json:"timeline,omitempty"`
}

// counting counts token requests on their way to Hydra.
type counting struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func env(key string) string {
	v := os.Getenv(key)
	if v == "" {
		fail(fmt.Errorf("%s is not set", key))
	}
	return v
}

func n() int {
	v, err := strconv.Atoi(env("BENCH_N"))
	if err != nil || v <= 0 {
		fail(fmt.Errorf("BENCH_N: %q", os.Getenv("BENCH_N")))
	}
	return v
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go probe:", err)
	os.Exit(1)
}

func config(id, secret string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     id,
		ClientSecret: secret,
		TokenURL:     env("BENCH_PUBLIC_URL") + "/oauth2/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
}

func warmSource() oauth2.TokenSource {
	ts := config(env("BENCH_CLIENT_ID"), env("BENCH_CLIENT_SECRET")).TokenSource(context.Background())
	if _, err := ts.Token(); err != nil {
		fail(err)
	}
	return ts
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

// cached: ns per Token() from a warm source, for 1 caller and for each of 2 concurrent callers,
// measured in alternating batches in this one process as the Rust probe measures them (which
// adds a control batch of its own): in a batch every caller times its own n calls, a batch's
// figure is their mean, and each figure is the median of its batches.
func cached() result {
	const batches = 9
	ts := warmSource()
	calls := n()
	var one, two []float64
	for b := 0; b < batches; b++ {
		order := []int{1, 2}
		if b%2 == 1 {
			order = []int{2, 1}
		}
		for _, callers := range order {
			ns := perCall(ts, callers, calls)
			if callers == 1 {
				one = append(one, ns)
			} else {
				two = append(two, ns)
			}
		}
	}
	return result{Value: median(one), TwoCallers: median(two)}
}

// perCall: one batch of `callers` concurrent callers of n cached reads each; the mean of their
// ns/call.
func perCall(ts oauth2.TokenSource, callers, calls int) float64 {
	took := make([]float64, callers)
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			for i := 0; i < calls; i++ {
				if _, err := ts.Token(); err != nil {
					fail(err)
				}
			}
			took[c] = float64(time.Since(start).Nanoseconds()) / float64(calls)
		}()
	}
	wg.Wait()
	sum := 0.0
	for _, t := range took {
		sum += t
	}
	return sum / float64(callers)
}

// refresh: 4 callers for n seconds (12 in a full run) on a client whose tokens live 4 s, a
// millisecond apart; counts
// the calls over 1 ms and keeps the slowest call of each 20 ms for the plot.
func refresh() result {
	ts := config(env("BENCH_SHORT_ID"), env("BENCH_SHORT_SECRET")).TokenSource(context.Background())
	if _, err := ts.Token(); err != nil {
		fail(err)
	}
	run := time.Duration(n()) * time.Second
	const bucket = 20 * time.Millisecond
	slowest := make([]atomic.Uint64, run/bucket+1)
	var over atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < run {
				t := time.Now()
				if _, err := ts.Token(); err != nil {
					fail(err)
				}
				took := time.Since(t)
				if took > time.Millisecond {
					over.Add(1)
				}
				slot := &slowest[t.Sub(start)/bucket]
				for {
					old := slot.Load()
					if uint64(took.Nanoseconds()) <= old || slot.CompareAndSwap(old, uint64(took.Nanoseconds())) {
						break
					}
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	var timeline [][2]uint64
	for i := range slowest {
		if ns := slowest[i].Load(); ns > 0 {
			timeline = append(timeline, [2]uint64{uint64(i) * uint64(bucket/time.Millisecond), ns})
		}
	}
	return result{Value: float64(over.Load()), Timeline: timeline}
}

// herd: 1000 callers on a cold source; wall ms from the moment they all ask until all have a
// token, and the token requests sent. The median of n rounds after one warm-up round, each with a
// new source. The goroutines are started and parked at a gate first, as the Rust probe does.
func herd() result {
	var walls []float64
	var requests int64
	for round := 0; round <= n(); round++ {
		count := &counting{next: http.DefaultTransport}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: count})
		ts := config(env("BENCH_CLIENT_ID"), env("BENCH_CLIENT_SECRET")).TokenSource(ctx)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for c := 0; c < 1000; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				if _, err := ts.Token(); err != nil {
					fail(err)
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		start := time.Now()
		close(gate)
		wg.Wait()
		if round > 0 {
			walls = append(walls, float64(time.Since(start).Microseconds())/1000)
			requests = max(requests, count.n.Load())
		}
	}
	return result{Value: median(walls), Requests: requests, Samples: walls}
}

// cold: register a new client on the admin API, then get its first token; ms, the median of n
// after one warm-up, and the n samples. One HTTP client for the process, as a Go service would
// have.
func cold() result {
	client := &http.Client{}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	var took []float64
	for i := 0; i <= n(); i++ {
		start := time.Now()
		body := `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","scope":"read"}`
		resp, err := client.Post(env("BENCH_ADMIN_URL")+"/admin/clients", "application/json", bytes.NewBufferString(body))
		if err != nil {
			fail(err)
		}
		var created struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		err = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated {
			fail(fmt.Errorf("register: %d %v", resp.StatusCode, err))
		}
		cfg := config(created.ClientID, created.ClientSecret)
		cfg.Scopes = []string{"read"}
		if _, err := cfg.Token(ctx); err != nil {
			fail(err)
		}
		if i > 0 {
			took = append(took, float64(time.Since(start).Microseconds())/1000)
		}
	}
	return result{Value: median(took), Samples: took}
}

// rss: peak resident set (VmHWM, kB) of a process holding a warm source after n reads.
func rss() result {
	ts := warmSource()
	for i := 0; i < n(); i++ {
		if _, err := ts.Token(); err != nil {
			fail(err)
		}
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				fail(err)
			}
			return result{Value: kb}
		}
	}
	fail(fmt.Errorf("no VmHWM in /proc/self/status"))
	return result{}
}

func main() {
	if len(os.Args) != 2 {
		fail(fmt.Errorf("usage: go-probe cached|refresh|herd|cold|rss"))
	}
	var r result
	switch os.Args[1] {
	case "cached":
		r = cached()
	case "refresh":
		r = refresh()
	case "herd":
		r = herd()
	case "cold":
		r = cold()
	case "rss":
		r = rss()
	default:
		fail(fmt.Errorf("unknown measure %q", os.Args[1]))
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
}
