package proctest_test

import (
	"io"
	"net/http"
	"os"
	"testing"

	"putokaz/internal/testkit/proctest"
)

const childEnv = "PUTOKAZ_PROCTEST_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(proctest.Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, v)
		})))
	}
	os.Exit(m.Run())
}

// TestStartServeKill: the child serves what its environment says, and is
// gone once killed.
func TestStartServeKill(t *testing.T) {
	c := proctest.Start(t, childEnv+"=hello")
	resp, err := http.Get("http://" + c.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("child answered %q, want hello", body)
	}
	c.Kill()
	if resp, err := http.Get("http://" + c.Addr + "/"); err == nil {
		resp.Body.Close()
		t.Error("the killed child still answers")
	}
	c.Kill() // idempotent
}
