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

// Value is the counter or gauge value of the series of the metric name
// whose labels are exactly labels (nil: a metric without labels), as g
// gathers it; 0 when there is no such series. It panics if g cannot be
// gathered, which is a bug in the test.
func Value(g prometheus.Gatherer, name string, labels map[string]string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}
