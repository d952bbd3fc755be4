package bot

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// hasher turns chat IDs into short pseudonyms for logs: the first 12 hex
// digits of HMAC-SHA256(salt, chat ID). Logs then correlate one chat's events
// without holding its ID (with the same salt on every replica, across them).
// Logs never hold message text, names, phone numbers or locations either.
type hasher struct{ key []byte }

func newHasher(salt string) hasher {
	if salt != "" {
		return hasher{key: []byte(salt)}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand panics instead)
	return hasher{key: key}
}

func (h hasher) chat(id int64) string {
	if id == 0 {
		return ""
	}
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(strconv.FormatInt(id, 10)))
	return hex.EncodeToString(m.Sum(nil))[:12]
}
