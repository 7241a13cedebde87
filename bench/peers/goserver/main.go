// Command goserver is the Go peer of the benchmark: the server described by the
// second seed (net/http, routes under an environment prefix, a map cache of
// Fibonacci results under a mutex, slog request logs with a request id), written
// with the standard library only. Results are exact: math/big, fast doubling.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const requestIDHeader = "X-Request-ID"

type fiboCache struct {
	mu      sync.Mutex
	values  map[int]*big.Int
	enabled bool
}

func (c *fiboCache) get(n int, log *slog.Logger) *big.Int {
	if c.enabled {
		c.mu.Lock()
		v, ok := c.values[n]
		c.mu.Unlock()
		if ok {
			return v
		}
		log.Debug("cache miss", "key", n)
	}
	v := fibonacci(n)
	if c.enabled {
		c.mu.Lock()
		c.values[n] = v
		c.mu.Unlock()
		log.Debug("cache fibo", "key", n)
	}
	return v
}

// fibonacci returns F(n) by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)),
// F(2k+1) = F(k)^2 + F(k+1)^2, O(log n) big-number multiplications.
func fibonacci(n int) *big.Int {
	a, b := big.NewInt(0), big.NewInt(1)
	t1, t2 := new(big.Int), new(big.Int)
	for bit := bitLen(n) - 1; bit >= 0; bit-- {
		t1.Lsh(b, 1).Sub(t1, a).Mul(t1, a) // F(2k)
		t2.Mul(a, a)
		b.Mul(b, b).Add(b, t2) // F(2k+1)
		a.Set(t1)
		if n>>bit&1 == 1 {
			a, b = b, a.Add(a, b)
		}
	}
	return a
}

func bitLen(n int) int {
	l := 0
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}

func sanitizeRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// withRequestLog gives every request an id (the incoming one if sane) and logs
// its start and end, as the seed's server does.
func withRequestLog(log *slog.Logger, version string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(requestIDHeader)
		if !sanitizeRequestID(id) {
			id = newUUID()
		}
		w.Header().Set(requestIDHeader, id)
		w.Header().Set("X-Version", version)
		log.Info("start", "id", id, "method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("end", "id", id, "method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr,
			"status", rec.status, "duration", time.Since(start).String())
	})
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func parseN(r *http.Request, maxN int) (int, int, error) {
	values, ok := r.URL.Query()["n"]
	if !ok || len(values) != 1 || values[0] == "" {
		return 0, http.StatusBadRequest, errors.New("n must be given once")
	}
	for _, c := range values[0] {
		if c < '0' || c > '9' {
			return 0, http.StatusBadRequest, errors.New("n must be a non-negative decimal integer")
		}
	}
	n, err := strconv.Atoi(values[0])
	if err != nil || n > maxN {
		return 0, http.StatusUnprocessableEntity, fmt.Errorf("n must be at most %d", maxN)
	}
	return n, http.StatusOK, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	env := flag.String("env", "prod", "environment, also the route prefix")
	maxN := flag.Int("max-n", 100000, "largest n that /fibo serves")
	cache := flag.Bool("cache", true, "cache Fibonacci results")
	level := flag.String("log-level", "INFO", "DEBUG, INFO, WARN or ERROR")
	version := flag.String("version", "bench", "version reported in headers")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintln(os.Stderr, "bad -log-level:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: lvl}))
	fibo := &fiboCache{values: map[int]*big.Int{}, enabled: *cache}
	prefix := "/" + *env

	mux := http.NewServeMux()
	mux.HandleFunc(prefix+"/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"status": "ok"}`)
	})
	mux.HandleFunc(prefix+"/fibo", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, `{"error": "method not allowed"}`)
			return
		}
		n, status, err := parseN(r, *maxN)
		if err != nil {
			writeJSON(w, status, `{"error": `+strconv.Quote(err.Error())+`}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"result": `+fibo.get(n, log).String()+`}`)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := &http.Server{Handler: withRequestLog(log, *version, mux), ReadHeaderTimeout: 5 * time.Second}
	log.Info("server start", "addr", ln.Addr().String())
	go func() {
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve failed", "err", err)
			os.Exit(1)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	log.Info("graceful stopping server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		log.Error("shutdown failed", "err", err)
		os.Exit(1)
	}
}
