package store

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const secret = "s3cr3t"

func TestParseURL(t *testing.T) {
	type want struct {
		client   string // "single", "cluster", "sentinel"
		addrs    []string
		user     string
		password string
		db       int
		master   string
		tls      bool
		tlsName  string
	}
	for _, tc := range []struct {
		url  string
		want want
	}{
		{"redis://127.0.0.1:6379/0", want{client: "single", addrs: []string{"127.0.0.1:6379"}}},
		{"redis://localhost", want{client: "single", addrs: []string{"localhost:6379"}}},
		{"redis://:" + secret + "@h:6380/3", want{client: "single", addrs: []string{"h:6380"}, password: secret, db: 3}},
		{"redis://bot:p%40ss%3Aw@h/1", want{client: "single", addrs: []string{"h:6379"}, user: "bot", password: "p@ss:w", db: 1}},
		{"rediss://cache.example.com:6380", want{client: "single", addrs: []string{"cache.example.com:6380"}, tls: true, tlsName: "cache.example.com"}},
		{"redis://[::1]:7000/2", want{client: "single", addrs: []string{"[::1]:7000"}, db: 2}},
		{"redis://h1:7000,h2:7001", want{client: "cluster", addrs: []string{"h1:7000", "h2:7001"}}},
		{"redis://:" + secret + "@h1:7000,h2,h3:7002/", want{client: "cluster", addrs: []string{"h1:7000", "h2:6379", "h3:7002"}, password: secret}},
		{"rediss://u:pw@h1:7000,h2:7001/0", want{client: "cluster", addrs: []string{"h1:7000", "h2:7001"}, user: "u", password: "pw", tls: true}},
		{"redis://[::1]:7000,[::2]", want{client: "cluster", addrs: []string{"[::1]:7000", "[::2]:6379"}}},
		{"redis+sentinel://:" + secret + "@s1:26379,s2/mymaster/2", want{client: "sentinel", addrs: []string{"s1:26379", "s2:26379"}, password: secret, db: 2, master: "mymaster"}},
		{"redis+sentinel://s1/mymaster", want{client: "sentinel", addrs: []string{"s1:26379"}, master: "mymaster"}},
		{"redis+sentinel://s1:5000,s2:5001/m/", want{client: "sentinel", addrs: []string{"s1:5000", "s2:5001"}, master: "m"}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			o, err := parseURL(tc.url)
			if err != nil {
				t.Fatalf("parseURL: %v", err)
			}
			w := tc.want
			if strings.Join(o.Addrs, ",") != strings.Join(w.addrs, ",") {
				t.Errorf("Addrs = %v, want %v", o.Addrs, w.addrs)
			}
			if o.Username != w.user || o.Password != w.password {
				t.Errorf("credentials = %q/%q, want %q/%q", o.Username, o.Password, w.user, w.password)
			}
			if o.DB != w.db || o.MasterName != w.master {
				t.Errorf("DB, MasterName = %d, %q; want %d, %q", o.DB, o.MasterName, w.db, w.master)
			}
			if (o.TLSConfig != nil) != w.tls {
				t.Errorf("TLS = %v, want %v", o.TLSConfig != nil, w.tls)
			} else if w.tls && o.TLSConfig.ServerName != w.tlsName {
				t.Errorf("TLS ServerName = %q, want %q", o.TLSConfig.ServerName, w.tlsName)
			}
			if !o.ContextTimeoutEnabled || o.DialTimeout != dialTimeout ||
				o.ReadTimeout != readTimeout || o.WriteTimeout != writeTimeout {
				t.Errorf("timeouts not set: ctx=%v dial=%v read=%v write=%v",
					o.ContextTimeoutEnabled, o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
			}

			// The options must make NewUniversalClient pick the right client
			// type (no connection is made here).
			rdb := redis.NewUniversalClient(o)
			defer rdb.Close()
			var got string
			switch rdb.(type) {
			case *redis.ClusterClient:
				got = "cluster"
			case *redis.Client:
				got = "single"
				if o.MasterName != "" {
					got = "sentinel" // NewFailoverClient returns a *Client
				}
			default:
				got = "other"
			}
			if got != w.client {
				t.Errorf("client = %s (%T), want %s", got, rdb, w.client)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, raw := range []string{
		"",
		"127.0.0.1:6379",
		":" + secret + "@127.0.0.1:6379",
		"http://:" + secret + "@h",
		"unix:///tmp/redis.sock",
		"redis://:" + secret + "@h/notadb",
		"redis://:" + secret + "@h/1/2",
		"redis://:" + secret + "@h:badport",
		"redis://:" + secret + "@h?dial_timeout=3",
		"redis://h?password=" + secret,
		"redis://:" + secret + "@h#frag",
		"redis://:pa%zz" + secret + "@h",
		"redis://:" + secret + "@h1:7000,h2:7001/1",
		"redis://:" + secret + "@h1,,h2",
		"redis://:" + secret + "@h1,h2:99999",
		"redis://:" + secret + "@h1,h2:x",
		"redis+sentinel://:" + secret + "@s1",
		"redis+sentinel://:" + secret + "@s1/",
		"redis+sentinel://:" + secret + "@s1/m/x",
		"redis+sentinel://:" + secret + "@s1/m/-1",
		"redis+sentinel://:" + secret + "@s1/m/1/2",
	} {
		o, err := parseURL(raw)
		if err == nil {
			t.Errorf("parseURL(%q) = %+v, want error", raw, o)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("parseURL(%q) error leaks the password: %v", raw, err)
		}
		if !strings.HasPrefix(err.Error(), "redis url ") {
			t.Errorf("parseURL(%q) error lacks context: %v", raw, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://h:6379/0", "redis://h:6379/0"},
		{"redis://:pw@h:6379/0", "redis://:xxxxx@h:6379/0"},
		{"redis://user:pw@h1:1,h2:2", "redis://user:xxxxx@h1:1,h2:2"},
		{"redis://barepassword@h", "redis://xxxxx@h"},
		{"redis://:p@ss@h/1", "redis://:xxxxx@h/1"},
		{"redis+sentinel://:pw@s1,s2/m/1", "redis+sentinel://:xxxxx@s1,s2/m/1"},
		{"redis://h?password=pw", "redis://h?xxxxx"},
		{"redis://:pw@h/0?a=b#c", "redis://:xxxxx@h/0?xxxxx"},
		{":pw@h", "<malformed URL>"},
		{"localhost", "localhost"},
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func testRedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func TestConnect(t *testing.T) {
	rdb, err := Connect(t.Context(), testRedisURL())
	if err != nil {
		t.Fatalf("Connect: %v (is Redis running? redis-server --daemonize yes --save \"\" --appendonly no)", err)
	}
	defer rdb.Close()
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestConnectFailsFastAndRedacts(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	start := time.Now()
	rdb, err := Connect(t.Context(), "redis://bot:"+secret+"@"+addr+"/0")
	if err == nil {
		rdb.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	if d := time.Since(start); d > pingTimeout+time.Second {
		t.Errorf("Connect took %v", d)
	}
	msg := err.Error()
	if strings.Contains(msg, secret) {
		t.Errorf("error leaks the password: %v", err)
	}
	if !strings.Contains(msg, "redis://bot:xxxxx@"+addr+"/0") {
		t.Errorf("error does not name the redacted URL: %v", err)
	}

	// A deadline on ctx bounds Connect too.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	// 192.0.2.0/24 is TEST-NET-1: unroutable, so the dial hangs until the
	// deadline (or is refused at once in a sandbox; either way it is bounded).
	start = time.Now()
	if rdb, err := Connect(ctx, "redis://192.0.2.1:6379"); err == nil {
		rdb.Close()
		t.Fatal("Connect to an unroutable address succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Connect ignored the ctx deadline: took %v", d)
	}
}
