// Package promtest reads Prometheus metrics in tests.
package promtest

import "github.com/prometheus/client_golang/prometheus"

// Sum adds up the counter and gauge values a collector reports: one
// counter, or every series of a vector. It panics if the collector cannot
// be registered or gathered, which is a bug in the test.
func Sum(c prometheus.Collector) float64 {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		panic(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var sum float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
