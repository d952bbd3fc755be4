package console

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter bounds sign-in attempts per client address in one process
// (MemorySessions; RedisSessions shares the count between replicas).
type limiter struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	ips   map[string]*limEntry
}

type limEntry struct {
	l    *rate.Limiter
	seen time.Time
}

// maxLimited bounds the table; past it, idle entries are dropped.
const maxLimited = 10_000

func newLimiter(every time.Duration, burst int) *limiter {
	return &limiter{every: every, burst: burst, ips: map[string]*limEntry{}}
}

// allow reports whether ip may try to sign in now.
func (l *limiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ips) >= maxLimited {
		for a, e := range l.ips {
			if now.Sub(e.seen) > time.Duration(l.burst)*l.every {
				delete(l.ips, a)
			}
		}
		if len(l.ips) >= maxLimited {
			clear(l.ips) // a flood from many addresses: start over
		}
	}
	e := l.ips[ip]
	if e == nil {
		e = &limEntry{l: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.ips[ip] = e
	}
	e.seen = now
	return e.l.AllowN(now, 1)
}

// proxies are the reverse proxies whose X-Forwarded-For is believed.
type proxies []netip.Prefix

func parseProxies(list []string) proxies {
	var out proxies
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

func (p proxies) trusted(a netip.Addr) bool {
	for _, pr := range p {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address a request came from: the connection's, unless it
// is a trusted proxy, in which case X-Forwarded-For is read from the right
// (what the proxy appended) past every trusted proxy. A header the client
// wrote itself is never believed: its left part is what a client can forge.
func (p proxies) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap()
	if !p.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // malformed: the last address we can vouch for
		}
		a = a.Unmap()
		if !p.trusted(a) {
			return a
		}
		addr = a
	}
	return addr
}
