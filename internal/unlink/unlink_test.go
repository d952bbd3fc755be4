package unlink_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/unlink"
)

type backend struct {
	rdb redis.UniversalClient
	k   keys.Keys
}

// backends are a single Redis and a one-node Redis Cluster, each with its
// own key prefix.
func backends(t *testing.T) map[string]backend {
	single, k := redistest.New(t)
	return map[string]backend{
		"redis":         {single, k},
		"redis cluster": {redistest.StartClusterServer(t).Client(), keys.New("t:")},
	}
}

// TestMatching: a prefix pattern spans people, so on a cluster the
// keys of one SCAN page lie in different slots; all of them go, counted.
func TestMatching(t *testing.T) {
	t.Parallel()
	for name, c := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			for _, u := range []string{"tg:1", "tg:2", "tg:3"} {
				if err := c.rdb.Set(ctx, c.k.Session(u), "x", time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			n, err := unlink.Matching(ctx, c.rdb, c.k.PrefixPattern())
			if err != nil || n != 3 {
				t.Fatalf("deleted %d, %v; want 3", n, err)
			}
			if left, _ := c.rdb.Exists(ctx, c.k.Session("tg:1"), c.k.Session("tg:2"), c.k.Session("tg:3")).Result(); left != 0 {
				t.Fatalf("%d keys left behind", left)
			}
		})
	}
}

// TestUserOneNode: on a single Redis and on a one-node cluster, User erases
// every key of the person (whatever its kind) and none of anyone else's, not
// even of a person whose ID is a glob or a prefix of theirs.
func TestUserOneNode(t *testing.T) {
	t.Parallel()
	for name, c := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			mine, theirs := personKeys(c.k, "tg:1"), personKeys(c.k, "tg:12")
			theirs = append(theirs, personKeys(c.k, "tg:*")...)
			theirs = append(theirs, c.k.Prefix()+"global:tg:1")
			set(ctx, t, c.rdb, append(mine, theirs...))
			n, err := unlink.User(ctx, c.rdb, c.k, "tg:1")
			if err != nil || n != len(mine) {
				t.Fatalf("User = %d, %v; want %d", n, err, len(mine))
			}
			if left := c.rdb.Exists(ctx, mine...).Val(); left != 0 {
				t.Errorf("%d of the person's keys survived", left)
			}
			for _, key := range theirs {
				if c.rdb.Exists(ctx, key).Val() != 1 {
					t.Errorf("%q of someone else was erased", key)
				}
			}
		})
	}
}

// TestUserClusterScansOneNode: in a 3-master cluster, User sends SCAN and
// UNLINK only to the master that owns the person's slot (counted per node
// with a hook), erases all their keys and none of people on other masters.
// Then a master that does not own the slot dies: a scan of every master
// (what /delete did before) fails, User still erases the person.
func TestUserClusterScansOneNode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srvs := redistest.StartMultiMasterCluster(t, 3)
	rdb := srvs[0].Client().(*redis.ClusterClient)
	var mu sync.Mutex
	hooks := map[string]*redistest.CountingHook{} // by node address
	rdb.OnNewNode(func(node *redis.Client) {
		h := &redistest.CountingHook{}
		node.AddHook(h)
		mu.Lock()
		hooks[node.Options().Addr] = h
		mu.Unlock()
	})
	k := keys.New("t:")

	// One person per master: the owner of a slot is the server whose even
	// range holds it (see StartMultiMasterCluster).
	owner := func(user string) int {
		slot, err := rdb.ClusterKeySlot(ctx, k.Session(user)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return int(slot) * len(srvs) / 16384
	}
	users := make([]string, len(srvs))
	for i, found := 1, 0; found < len(srvs); i++ {
		u := "tg:" + strconv.Itoa(i)
		if o := owner(u); users[o] == "" {
			users[o] = u
			found++
		}
	}
	for _, u := range users {
		set(ctx, t, rdb, personKeys(k, u))
	}
	for _, h := range hooks {
		h.Reset()
	}

	n, err := unlink.User(ctx, rdb, k, users[1])
	if err != nil || n != len(personKeys(k, users[1])) {
		t.Fatalf("User = %d, %v; want %d", n, err, len(personKeys(k, users[1])))
	}
	mu.Lock()
	for addr, h := range hooks {
		var touched []string
		for _, cmd := range h.Commands() {
			if strings.HasPrefix(cmd, "scan") || strings.Contains(cmd, "unlink") {
				touched = append(touched, cmd)
			}
		}
		switch {
		case addr == srvs[1].Addr && !slices.Contains(touched, "scan"):
			t.Errorf("owner %s got no SCAN: %v", addr, h.Commands())
		case addr != srvs[1].Addr && len(touched) > 0:
			t.Errorf("%s does not own the slot but got %v", addr, touched)
		}
	}
	mu.Unlock()
	if left := rdb.Exists(ctx, personKeys(k, users[1])...).Val(); left != 0 {
		t.Errorf("%d of the person's keys survived", left)
	}
	for _, u := range []string{users[0], users[2]} {
		if left := rdb.Exists(ctx, personKeys(k, u)...).Val(); left != int64(len(personKeys(k, u))) {
			t.Errorf("%s on another master lost keys: %d left", u, left)
		}
	}

	// A master dies that does not own users[0]'s slot.
	srvs[2].Stop()
	// (The pattern of nobody: the scan would erase users[0] on the masters
	// that answer.)
	if _, err := unlink.Matching(ctx, rdb, k.UserPattern("tg:nobody")); err == nil {
		t.Fatal("a scan of every master succeeded with one master down; the test proves nothing")
	}
	n, err = unlink.User(ctx, rdb, k, users[0])
	if err != nil || n != len(personKeys(k, users[0])) {
		t.Fatalf("User with another master down = %d, %v; want %d", n, err, len(personKeys(k, users[0])))
	}
	if left := rdb.Exists(ctx, personKeys(k, users[0])...).Val(); left != 0 {
		t.Errorf("%d of the person's keys survived", left)
	}
}

// personKeys are keys of several kinds of one person, all with their tag.
func personKeys(k keys.Keys, user string) []string {
	s := k.Session(user)
	base := strings.TrimSuffix(s, "session")
	return []string{s, base + "lease", base + "ref:1", base + "other"}
}

func set(ctx context.Context, t *testing.T, rdb redis.UniversalClient, ks []string) {
	t.Helper()
	for _, key := range ks {
		if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUserClusterStaleSlotMap: the person's slot moves to another master
// while the client still holds the old slot map. User must not scan the old
// owner, find nothing and report success: it fails, and once the client has
// reloaded its map a retry erases every key on the new owner.
func TestUserClusterStaleSlotMap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srvs := redistest.StartMultiMasterCluster(t, 2)
	rdb := srvs[0].Client().(*redis.ClusterClient)
	k := keys.New("t:")
	// A person on the first master (it owns the lower half of the slots).
	var user string
	var slot int64
	for i := 1; user == ""; i++ {
		u := "tg:" + strconv.Itoa(i)
		s, err := rdb.ClusterKeySlot(ctx, k.Session(u)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if s < 16384/2 {
			user, slot = u, s
		}
	}
	mine := personKeys(k, user)
	set(ctx, t, rdb, mine) // the client now holds the slot map

	// Move the slot to the second master behind the client's back.
	from, to := nodeClient(t, srvs[0].Addr), nodeClient(t, srvs[1].Addr)
	fromID, toID := from.ClusterMyID(ctx).Val(), to.ClusterMyID(ctx).Val()
	host, port, _ := net.SplitHostPort(srvs[1].Addr)
	for _, step := range []struct {
		node *redis.Client
		args []any
	}{
		{to, []any{"CLUSTER", "SETSLOT", slot, "IMPORTING", fromID}},
		{from, []any{"CLUSTER", "SETSLOT", slot, "MIGRATING", toID}},
		{from, append([]any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}, anys(mine)...)},
		{to, []any{"CLUSTER", "SETSLOT", slot, "NODE", toID}},
		{from, []any{"CLUSTER", "SETSLOT", slot, "NODE", toID}},
	} {
		if err := step.node.Do(ctx, step.args...).Err(); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
	}

	if n, err := unlink.User(ctx, rdb, k, user); err == nil {
		t.Fatalf("User with a stale slot map = %d, nil; want an error", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := unlink.User(ctx, rdb, k, user)
		if err == nil {
			if n != len(mine) {
				t.Errorf("User after the map reload = %d; want %d", n, len(mine))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("User still fails after the map reload: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := to.Exists(ctx, mine...).Val(); left != 0 {
		t.Errorf("%d of the person's keys survived on the new owner", left)
	}
}

func nodeClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
