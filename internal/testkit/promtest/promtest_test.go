package promtest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/testkit/promtest"
)

func TestSumAddsEverySeries(t *testing.T) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total", Help: "Calls."}, []string{"result"})
	if got := promtest.Sum(c); got != 0 {
		t.Fatalf("empty vector: Sum = %v, want 0", got)
	}
	c.WithLabelValues("ok").Add(2)
	c.WithLabelValues("error").Inc()
	if got := promtest.Sum(c); got != 3 {
		t.Errorf("vector: Sum = %v, want 3", got)
	}
	if got := promtest.Sum(c.WithLabelValues("ok")); got != 2 {
		t.Errorf("one series: Sum = %v, want 2", got)
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "queue", Help: "Queue."})
	g.Set(4.5)
	if got := promtest.Sum(g); got != 4.5 {
		t.Errorf("gauge: Sum = %v, want 4.5", got)
	}
}

func TestValueReadsOneSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total", Help: "Calls."}, []string{"result"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "queue", Help: "Queue."})
	reg.MustRegister(c, g)
	c.WithLabelValues("ok").Add(2)
	c.WithLabelValues("error").Inc()
	g.Set(4.5)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"calls_total", map[string]string{"result": "ok"}, 2},
		{"calls_total", map[string]string{"result": "error"}, 1},
		{"calls_total", map[string]string{"result": "timeout"}, 0},
		{"calls_total", nil, 0},
		{"calls_total", map[string]string{"outcome": "ok"}, 0},
		{"queue", nil, 4.5},
		{"absent", nil, 0},
	} {
		if got := promtest.Value(reg, tc.name, tc.labels); got != tc.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
