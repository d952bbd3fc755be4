package stats

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// Unmatched words: the single words of messages nobody understood, so that
// editors know which example phrasings to add. Per language and UTC day,
// each word has a HyperLogLog of the people who typed it — salted hashes of
// their keys, with a random salt per day that expires two days later — and
// a word is shown only once at least MinPeople different people typed it
// that day. Whole messages, numbers and person keys are never stored.
const (
	// MinPeople is how many different people must type a word in a day
	// before it is shown.
	MinPeople = 5
	// WordsTTL keeps a day's words for a month.
	WordsTTL = 31 * 24 * time.Hour
	// saltTTL lets a day's salt outlive the day only briefly.
	saltTTL = 48 * time.Hour
	// maxWordsPerDay bounds the candidate words kept per language and day.
	maxWordsPerDay = 5000
)

// wordUse is one person typing one word (buffered until the next flush).
type wordUse struct {
	day        time.Time
	lang, word string
	person     string
}

// observeWords buffers the unmatched words of an input.
func (s *Stats) observeWords(lang, person string, words []string) {
	if s.opt.Redis == nil || person == "" || len(words) == 0 {
		return
	}
	day := s.opt.Now().UTC().Truncate(24 * time.Hour)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range words {
		if len(s.words) >= maxBufferedWords {
			return
		}
		s.words = append(s.words, wordUse{day: day, lang: lang, word: w, person: person})
	}
}

// maxBufferedWords bounds the memory of words waiting for a flush.
const maxBufferedWords = 10000

// salt returns the day's salt, creating it (SET NX) if no replica has.
func salt(ctx context.Context, rdb redis.UniversalClient, k keys.Keys, day time.Time) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := k.StatsSalt(day)
	if err := rdb.SetNX(ctx, key, hex.EncodeToString(b[:]), saltTTL).Err(); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	v, err := rdb.Get(ctx, key).Result()
	if err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	return v, nil
}

// flushWords writes buffered words: PFADD of the salted person hash, SADD
// of the word to the day's set (bounded), TTLs on both.
func (s *Stats) flushWords(ctx context.Context) error {
	s.mu.Lock()
	batch := s.words
	s.words = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	salts := map[time.Time]string{}
	pipe := s.opt.Redis.Pipeline()
	for _, u := range batch {
		sl, ok := salts[u.day]
		if !ok {
			var err error
			if sl, err = salt(ctx, s.opt.Redis, s.opt.Keys, u.day); err != nil {
				return err // the words are dropped: statistics, not accounts
			}
			salts[u.day] = sl
		}
		h := sha256.Sum256([]byte(sl + "\x00" + u.person))
		set := s.opt.Keys.StatsWords(u.day, u.lang)
		hll := s.opt.Keys.StatsWord(u.day, u.lang, u.word)
		pipe.PFAdd(ctx, hll, hex.EncodeToString(h[:12]))
		pipe.Expire(ctx, hll, WordsTTL)
		pipe.Eval(ctx, addBounded, []string{set}, u.word, maxWordsPerDay, int64(WordsTTL/time.Second))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("stats: flush unmatched words: %w", err)
	}
	return nil
}

// addBounded adds a word to a day's set unless the set is full, and sets
// its TTL.
const addBounded = `
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then redis.call('SADD', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`

// WordCount is an unmatched word and how many different people typed it.
type WordCount struct {
	Lang, Word string
	People     int64 // the most in one day of the period
	Days       int   // days on which it reached MinPeople
}

// ReadWords returns the unmatched words that at least MinPeople different
// people typed on a day of the period, per language, most people first.
func ReadWords(ctx context.Context, rdb redis.UniversalClient, k keys.Keys, langs []string, until time.Time, days int) ([]WordCount, error) {
	agg := map[[2]string]*WordCount{}
	for d := 0; d < days; d++ {
		day := until.UTC().AddDate(0, 0, -d)
		for _, lang := range langs {
			words, err := rdb.SMembers(ctx, k.StatsWords(day, lang)).Result()
			if err != nil {
				return nil, fmt.Errorf("read unmatched words: %w", err)
			}
			for _, w := range words {
				n, err := rdb.PFCount(ctx, k.StatsWord(day, lang, w)).Result()
				if err != nil {
					return nil, fmt.Errorf("read unmatched words: %w", err)
				}
				if n < MinPeople {
					continue
				}
				c := agg[[2]string{lang, w}]
				if c == nil {
					c = &WordCount{Lang: lang, Word: w}
					agg[[2]string{lang, w}] = c
				}
				c.Days++
				c.People = max(c.People, n)
			}
		}
	}
	out := make([]WordCount, 0, len(agg))
	for _, c := range agg {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Lang != b.Lang {
			return a.Lang < b.Lang
		}
		if a.People != b.People {
			return a.People > b.People
		}
		return a.Word < b.Word
	})
	return out, nil
}

// WriteWords prints the unmatched words for editors.
func WriteWords(w io.Writer, words []WordCount, top int) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "\nWords nobody understood (typed by at least %d different people on one day; add example phrasings for them):\n", MinPeople)
	if len(words) == 0 {
		fmt.Fprintln(ew, "  none")
	}
	shown := map[string]int{}
	for _, c := range words {
		if top > 0 && shown[c.Lang] >= top {
			continue
		}
		shown[c.Lang]++
		fmt.Fprintf(ew, "  %-8s %-24s %4d people (most in a day), on %d day(s)\n", c.Lang, c.Word, c.People, c.Days)
	}
	return ew.err
}
