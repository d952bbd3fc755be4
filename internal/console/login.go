package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Login is who signed in with the Telegram Login widget.
type Login struct {
	ID        int64
	FirstName string
	// Hash is the login data's signature (to use the data once).
	Hash     string
	AuthDate time.Time
}

// Reasons login data is refused.
var (
	ErrLoginMissing = errors.New("login data incomplete")
	ErrLoginForged  = errors.New("login data not signed by the bot")
	ErrLoginExpired = errors.New("login data too old")
	ErrLoginFuture  = errors.New("login data dated in the future")
)

// allowedSkew is how far in the future auth_date may be (clocks differ).
const allowedSkew = time.Minute

// VerifyLogin checks the Telegram Login widget's data as Telegram documents
// (core.telegram.org/widgets/login#checking-authorization): the
// data-check-string is every received field but hash, sorted by name, as
// key=value lines joined by "\n"; its HMAC-SHA-256 with SHA-256(bot token) as
// the key, in hex, must equal hash (compared in constant time). auth_date must
// be no older than maxAge and not in the future.
func VerifyLogin(q url.Values, token string, now time.Time, maxAge time.Duration) (Login, error) {
	hash := q.Get("hash")
	if hash == "" || q.Get("id") == "" || q.Get("auth_date") == "" {
		return Login{}, ErrLoginMissing
	}
	var lines []string
	for k, v := range q {
		if k == "hash" {
			continue
		}
		// Every received field is signed (a field Telegram adds later
		// too), so none is refused by name; a repeated one is not Telegram's.
		if len(v) != 1 {
			return Login{}, fmt.Errorf("%w: field %q repeated", ErrLoginForged, k)
		}
		lines = append(lines, k+"="+v[0])
	}
	slices.Sort(lines)
	secret := sha256.Sum256([]byte(token))
	mac := hmac.New(sha256.New, secret[:])
	mac.Write([]byte(strings.Join(lines, "\n")))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(hash))) {
		return Login{}, ErrLoginForged
	}
	id, err := strconv.ParseInt(q.Get("id"), 10, 64)
	if err != nil || id <= 0 {
		return Login{}, fmt.Errorf("%w: id", ErrLoginMissing)
	}
	secs, err := strconv.ParseInt(q.Get("auth_date"), 10, 64)
	if err != nil {
		return Login{}, fmt.Errorf("%w: auth_date", ErrLoginMissing)
	}
	at := time.Unix(secs, 0)
	switch {
	case at.After(now.Add(allowedSkew)):
		return Login{}, ErrLoginFuture
	case now.Sub(at) > maxAge:
		return Login{}, ErrLoginExpired
	}
	return Login{ID: id, FirstName: q.Get("first_name"), Hash: strings.ToLower(hash), AuthDate: at}, nil
}

// SignLogin signs login data as Telegram does (for tests).
func SignLogin(q url.Values, token string) url.Values {
	out := url.Values{}
	var lines []string
	for k, v := range q {
		if k == "hash" || len(v) == 0 {
			continue
		}
		out.Set(k, v[0])
		lines = append(lines, k+"="+v[0])
	}
	slices.Sort(lines)
	secret := sha256.Sum256([]byte(token))
	mac := hmac.New(sha256.New, secret[:])
	mac.Write([]byte(strings.Join(lines, "\n")))
	out.Set("hash", hex.EncodeToString(mac.Sum(nil)))
	return out
}
