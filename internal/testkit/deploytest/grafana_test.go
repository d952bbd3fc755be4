package deploytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"putokaz/internal/stats"
)

// transportMetrics are the Telegram transport's metrics the dashboard shows,
// as registered in bot/metrics.go (checked below against that source, so a
// rename there fails here instead of leaving an empty panel).
var transportMetrics = []string{
	"putokaz_bot_updates_total",
	"putokaz_bot_update_handling_seconds",
	"putokaz_telegram_api_calls_total",
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

var metricRe = regexp.MustCompile(`\bputokaz_[a-z0-9_]+`)

// metricName strips the series suffixes a histogram is queried by.
func metricName(s string) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(s, suf); ok && strings.HasSuffix(base, "_seconds") {
			return base
		}
	}
	return s
}

func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "deploy/grafana/putokaz-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q", d.Title, d.UID)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Error("no Prometheus datasource variable named datasource")
	}

	known := map[string]bool{}
	for _, m := range stats.MetricNames() {
		known[m] = true
	}
	for _, m := range transportMetrics {
		known[m] = true
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...) // panels inside collapsed rows
	}
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricRe.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no putokaz metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				n = metricName(n)
				if !known[n] {
					t.Errorf("panel %q: metric %s is defined neither by internal/stats nor in transportMetrics", p.Title, n)
				}
				used[n] = true
			}
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced query %q", p.Title, tg.Expr)
			}
		}
	}
	// Every usage metric has a panel.
	for _, m := range stats.MetricNames() {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// The transport metrics the dashboard relies on are registered by bot/.
func TestTransportMetricsExist(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "bot", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("bot sources: %v %v", files, err)
	}
	nameRe := regexp.MustCompile(`Name:\s*"(putokaz_[a-z0-9_]+)"`)
	var registered []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nameRe.FindAllStringSubmatch(string(src), -1) {
			registered = append(registered, m[1])
		}
	}
	for _, m := range transportMetrics {
		if !slices.Contains(registered, m) {
			t.Errorf("the dashboard shows %s, which bot/ does not register (it registers %v)", m, registered)
		}
	}
}
