package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client timeouts. Session reads/writes are tiny, so a second is generous;
// with ContextTimeoutEnabled a shorter context deadline still wins.
const (
	dialTimeout   = 2 * time.Second
	readTimeout   = time.Second
	writeTimeout  = time.Second
	dialerRetries = 2
	// pingTimeout bounds Connect's start-up check when ctx has no deadline.
	pingTimeout = 5 * time.Second
)

const (
	defaultRedisPort    = "6379"
	defaultSentinelPort = "26379"
)

// Connect opens a Redis client for url and PINGs it once, so a wrong URL or
// an unreachable server fails at start-up rather than on the first message.
// Errors name the URL with the password redacted. Accepted forms:
//
//	redis://[[user]:password@]host[:port][/db]       single node
//	rediss://...                                      single node over TLS
//	redis://[[user]:password@]h1:7000,h2:7001[,...]   cluster (db must be 0)
//	rediss://h1:7000,h2:7001                          cluster over TLS
//	redis+sentinel://[[user]:password@]s1:26379,s2:26379/mastername[/db]
//
// For sentinel the credentials are those of the Redis master/replicas;
// sentinels themselves are contacted without AUTH. Query parameters are
// rejected (timeouts and pool settings are fixed in code), so nothing in the
// URL is silently ignored.
func Connect(ctx context.Context, url string) (redis.UniversalClient, error) {
	opts, err := parseURL(url)
	if err != nil {
		return nil, err // already names the redacted URL
	}
	var rdb redis.UniversalClient
	if len(opts.Addrs) > 1 && opts.MasterName == "" {
		rdb = newClusterClient(opts)
	} else {
		rdb = redis.NewUniversalClient(opts)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to redis %s: %w", redactURL(url), err)
	}
	return rdb, nil
}

// parseURL turns a Connect URL into client options (see Connect for the
// forms). NewUniversalClient then picks the client type: MasterName set ->
// sentinel failover client, several Addrs -> cluster client, else single node.
func parseURL(raw string) (*redis.UniversalOptions, error) {
	opts, err := parseURLOptions(raw)
	if err != nil {
		return nil, fmt.Errorf("redis url %s: %w", redactURL(raw), err)
	}
	opts.DialTimeout = dialTimeout
	// go-redis retries a failed dial 5 times inside every command attempt
	// (itself retried MaxRetries=3 times); 2 is enough for a blip and keeps
	// "Redis is down" from stalling each message for many seconds.
	opts.DialerRetries = dialerRetries
	opts.ReadTimeout = readTimeout
	opts.WriteTimeout = writeTimeout
	// Without this go-redis ignores context deadlines for socket I/O and
	// only the fixed timeouts above apply.
	opts.ContextTimeoutEnabled = true
	return opts, nil
}

func parseURLOptions(raw string) (*redis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errors.New("missing scheme: want redis://, rediss:// or redis+sentinel://")
	}
	// Split the authority ourselves: net/url cannot parse a comma-separated
	// host list.
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hostList := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostList = authority[:i+1], authority[i+1:]
	}
	hosts := strings.Split(hostList, ",")

	// Parse the URL with only the first host so net/url decodes userinfo,
	// path and query for us.
	u, err := url.Parse(scheme + "://" + userinfo + hosts[0] + tail)
	if err != nil {
		var esc url.EscapeError
		if errors.As(err, &esc) {
			// Its message quotes the bad escape, which may be part of the password.
			return nil, errors.New("malformed URL: invalid %-escape")
		}
		return nil, fmt.Errorf("malformed URL: %w", stripURLError(err))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("query parameters and fragments are not supported")
	}

	switch scheme {
	case "redis", "rediss":
		if len(hosts) == 1 {
			return parseSingle(u)
		}
		return parseCluster(u, hosts)
	case "redis+sentinel":
		return parseSentinel(u, hosts)
	default:
		return nil, fmt.Errorf("unsupported scheme %q: want redis://, rediss:// or redis+sentinel://", scheme)
	}
}

// parseSingle delegates to go-redis's own parser for the single-node form.
func parseSingle(u *url.URL) (*redis.UniversalOptions, error) {
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, stripURLError(err)
	}
	return &redis.UniversalOptions{
		Addrs:     []string{o.Addr},
		Username:  o.Username,
		Password:  o.Password,
		DB:        o.DB,
		TLSConfig: o.TLSConfig,
	}, nil
}

func parseCluster(u *url.URL, hosts []string) (*redis.UniversalOptions, error) {
	addrs, err := hostPorts(hosts, defaultRedisPort)
	if err != nil {
		return nil, err
	}
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, fmt.Errorf("cluster supports only db 0, got path %q", u.Path)
	}
	o := &redis.UniversalOptions{Addrs: addrs}
	o.Username, o.Password = userPassword(u)
	if u.Scheme == "rediss" {
		// No ServerName: crypto/tls takes it from each node's address.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

func parseSentinel(u *url.URL, hosts []string) (*redis.UniversalOptions, error) {
	addrs, err := hostPorts(hosts, defaultSentinelPort)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if parts[0] == "" || len(parts) > 2 {
		return nil, errors.New("sentinel URL needs /mastername[/db]")
	}
	o := &redis.UniversalOptions{Addrs: addrs, MasterName: parts[0]}
	if len(parts) == 2 {
		db, err := strconv.Atoi(parts[1])
		if err != nil || db < 0 {
			return nil, fmt.Errorf("invalid db %q", parts[1])
		}
		o.DB = db
	}
	o.Username, o.Password = userPassword(u)
	return o, nil
}

// hostPorts validates a host list and fills in the default port.
func hostPorts(hosts []string, defPort string) ([]string, error) {
	addrs := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h == "" {
			return nil, errors.New("empty host in host list")
		}
		// net/url handles [ipv6]:port and a missing port.
		hu, err := url.Parse("redis://" + h)
		if err != nil || hu.Hostname() == "" || hu.User != nil || hu.Path != "" {
			return nil, fmt.Errorf("invalid host %q", h)
		}
		port := hu.Port()
		if port == "" {
			port = defPort
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("invalid port in %q", h)
		}
		addrs = append(addrs, net.JoinHostPort(hu.Hostname(), port))
	}
	return addrs, nil
}

func userPassword(u *url.URL) (user, password string) {
	if u.User == nil {
		return "", ""
	}
	password, _ = u.User.Password()
	return u.User.Username(), password
}

// stripURLError drops the URL from a *url.Error (it would contain the
// password) and keeps only the reason.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL returns raw with the password replaced by "xxxxx", for error
// messages. Userinfo without a colon is redacted whole, since people do put a
// bare password there; a query (unsupported, but it could hold a secret) is
// replaced too. It works on the raw string because net/url cannot parse host
// lists.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if strings.ContainsAny(raw, "@?#") {
			return "<malformed URL>"
		}
		return raw
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if j := strings.IndexAny(tail, "?#"); j >= 0 {
		tail = tail[:j] + "?xxxxx"
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts := authority[:i], authority[i+1:]
		if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
			userinfo = user + ":xxxxx"
		} else {
			userinfo = "xxxxx"
		}
		authority = userinfo + "@" + hosts
	}
	return scheme + "://" + authority + tail
}
