// Package deploytest checks the deployment files at the repository root
// (Dockerfile, docker-compose.yml, the Grafana dashboard). No Docker engine
// runs where the tests run, so the files are parsed and their essentials
// asserted: a broken deployment file fails here, not on an operator's host.
package deploytest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// root is the repository root, from this package's folder.
const root = "../../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper-case: FROM, RUN, COPY, ...
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue // comments (and the syntax directive) and blank lines
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s ends inside a continued instruction", path)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	known := []string{"FROM", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "ENV", "ARG", "LABEL"}
	var froms []instruction
	for _, in := range ins {
		if !slices.Contains(known, in.cmd) {
			t.Errorf("line %d: unexpected instruction %s", in.line, in.cmd)
		}
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
	}
	// Multi-stage: a Go builder named "build", then the runtime image.
	if len(froms) != 2 {
		t.Fatalf("%d FROM lines, want 2 (build and run stages)", len(froms))
	}
	buildRe := regexp.MustCompile(`^golang:1\.26(\S*)? AS build$`)
	if !buildRe.MatchString(froms[0].args) {
		t.Errorf("first stage %q, want golang:1.26... AS build (go.mod needs Go 1.26)", froms[0].args)
	}
	final := froms[1].args
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %q is not distroless/static or scratch", final)
	}
	stage := func(i int) []instruction { // the instructions of stage i
		var out []instruction
		s := -1
		for _, in := range ins {
			if in.cmd == "FROM" {
				s++
			}
			if s == i {
				out = append(out, in)
			}
		}
		return out
	}

	// The build: static, reproducible paths, stripped.
	var build string
	for _, in := range stage(0) {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`} {
		if !strings.Contains(build, want) {
			t.Errorf("go build %q lacks %s", build, want)
		}
	}
	// The image is the production build: no build tags, so no load tool and
	// no fake Bot API in it (internal/app's TestBinaryCarriesNoTestHarness).
	if strings.Contains(build, "-tags") {
		t.Errorf("go build %q sets build tags; the image must be the default build", build)
	}
	out := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(build)
	if out == nil {
		t.Fatalf("go build %q names no output (-o)", build)
	}

	// The runtime: the binary copied from the build stage is the entrypoint,
	// run as a non-root user.
	var copied, entry, user, expose, cmd string
	for _, in := range stage(1) {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from=build" {
				if f[1] != out[1] {
					t.Errorf("COPY takes %s from the build stage, which built %s", f[1], out[1])
				}
				copied = f[2]
			}
		case "ENTRYPOINT":
			entry = in.args
		case "USER":
			user = in.args
		case "EXPOSE":
			expose = in.args
		case "CMD":
			cmd = in.args
		case "RUN":
			t.Errorf("line %d: RUN in the final stage: distroless has no shell", in.line)
		}
	}
	if copied == "" {
		t.Fatal("the final stage copies no binary from the build stage")
	}
	if entry != `["`+copied+`"]` {
		t.Errorf("ENTRYPOINT %s, want the exec form of the copied binary [%q]", entry, copied)
	}
	if cmd != `["serve"]` {
		t.Errorf("CMD %s, want [\"serve\"]", cmd)
	}
	uname, _, _ := strings.Cut(user, ":")
	if user == "" || uname == "root" || uname == "0" {
		t.Errorf("USER %q: the bot must not run as root", user)
	}
	if expose != "8080" {
		t.Errorf("EXPOSE %q, want 8080 (LISTEN_ADDR's default)", expose)
	}
}

// compose is the part of docker-compose.yml the test reads.
type compose struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Restart     string            `yaml:"restart"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		EnvFile     []struct {
			Path     string `yaml:"path"`
			Required *bool  `yaml:"required"`
		} `yaml:"env_file"`
		Ports     []string `yaml:"ports"`
		Volumes   []string `yaml:"volumes"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test     []string `yaml:"test"`
			Interval string   `yaml:"interval"`
			Retries  int      `yaml:"retries"`
		} `yaml:"healthcheck"`
		ReadOnly bool     `yaml:"read_only"`
		CapDrop  []string `yaml:"cap_drop"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestCompose(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	bot, ok := c.Services["bot"]
	if !ok {
		t.Fatal("no bot service")
	}
	redis, ok := c.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}

	if bot.Build != "." {
		t.Errorf("bot build %v, want . (the Dockerfile)", bot.Build)
	}
	if bot.Restart != "unless-stopped" || redis.Restart != "unless-stopped" {
		t.Errorf("restart: bot %q, redis %q", bot.Restart, redis.Restart)
	}
	if got := bot.Environment["REDIS_URL"]; got != "redis://redis:6379/0" {
		t.Errorf("bot REDIS_URL %q, want redis://redis:6379/0", got)
	}
	if len(bot.EnvFile) != 1 || bot.EnvFile[0].Path != ".env" {
		t.Errorf("bot env_file %+v, want .env (secrets stay out of this file)", bot.EnvFile)
	}
	if !slices.Contains(bot.Ports, "8080:8080") {
		t.Errorf("bot ports %v, want 8080:8080", bot.Ports)
	}
	if dep, ok := bot.DependsOn["redis"]; !ok || dep.Condition != "service_healthy" {
		t.Errorf("bot depends_on %+v, want redis: service_healthy", bot.DependsOn)
	}
	for k := range bot.Environment {
		if strings.Contains(k, "TOKEN") || strings.Contains(k, "SECRET") {
			t.Errorf("secret %s set in docker-compose.yml: it belongs in .env", k)
		}
	}

	if !strings.HasPrefix(redis.Image, "redis:7") {
		t.Errorf("redis image %q", redis.Image)
	}
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync everysec"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %s (AOF persistence)", cmd, want)
		}
	}
	vol := ""
	for _, v := range redis.Volumes {
		if name, target, ok := strings.Cut(v, ":"); ok && target == "/data" {
			vol = name
		}
	}
	if vol == "" {
		t.Errorf("redis volumes %v: nothing mounted at /data, where the AOF is written", redis.Volumes)
	} else if _, ok := c.Volumes[vol]; !ok {
		t.Errorf("volume %q is not declared under volumes:", vol)
	}
	hc := redis.Healthcheck
	if hc == nil || !strings.Contains(strings.Join(hc.Test, " "), "redis-cli ping") || hc.Retries < 1 {
		t.Errorf("redis healthcheck %+v, want redis-cli ping with retries", hc)
	}
	if len(redis.Ports) > 0 {
		t.Errorf("redis publishes %v on the host: it must stay on the compose network", redis.Ports)
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, want := range []string{".git", ".env"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	for _, l := range lines {
		if l == "go.mod" || l == "go.sum" || l == "flows" || l == "locales" || l == "*.go" {
			t.Errorf(".dockerignore excludes %s, which the build needs", l)
		}
	}
}
