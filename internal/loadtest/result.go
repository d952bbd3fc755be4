package loadtest

import (
	"slices"
	"time"
)

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	// P95 is filled by the spike (percentiles95) only.
	P95 float64 `json:"p95_ms,omitempty"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		// nearest rank
		i := int(float64(len(d))*p+0.999999) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Result is what one run of a target measured.
type Result struct {
	Name  string `json:"name"`
	Users int    `json:"users"`
	Sync  bool   `json:"sync_webhook"`
	Seed  uint64 `json:"seed"`
	// MaxConnections is the cap on concurrent webhook POSTs used (-1: none).
	MaxConnections int `json:"max_connections"`
	// Seconds is the window in which users started steps (Options.Duration);
	// Drain how long the steps in flight at its end took to finish.
	Seconds float64 `json:"seconds"`
	Drain   float64 `json:"drain_seconds"`
	// Steps are completed steps (a reply arrived), Replies their messages,
	// both including the drain. The rates count only steps completed within
	// the window.
	Steps            int64   `json:"steps"`
	StepsPerSecond   float64 `json:"steps_per_second"`
	Replies          int64   `json:"replies"`
	RepliesPerSecond float64 `json:"replies_per_second"`
	// Latency is from the tap (the update ready for delivery) to the last
	// message of the step's reply reaching the Bot API; FirstReply to its
	// first message.
	Latency    Latency `json:"latency"`
	FirstReply Latency `json:"first_reply"`
	// AcceptedAtOnce is Latency over the steps whose first POST was
	// answered 200 (without the re-deliveries of failed updates).
	AcceptedAtOnce Latency `json:"latency_accepted_at_once"`
	// Redelivered: steps whose update had to be POSTed more than once
	// (the bot answered 500 or 503).
	Redelivered int64 `json:"redelivered_steps"`
	// Lost: steps whose update was accepted but got no reply in time.
	Lost int64 `json:"lost"`
	// Duplicated: messages no step waited for.
	Duplicated int64 `json:"duplicated"`
	// Late: messages that came after their step had been counted lost.
	Late int64 `json:"late"`
	// Undelivered: updates never answered 200 within MaxDeliveries.
	Undelivered  int64            `json:"undelivered"`
	Redeliveries int64            `json:"redeliveries"`
	Errors       map[string]int64 `json:"errors,omitempty"`
	Actions      map[string]int64 `json:"actions,omitempty"`
	APICalls     map[string]int64 `json:"api_calls,omitempty"`
	// CPUSeconds is the user+system CPU time of the system's process in the
	// window (0 in-process).
	CPUSeconds    float64 `json:"cpu_seconds,omitempty"`
	CPUPer1kSteps float64 `json:"cpu_seconds_per_1000_steps,omitempty"`
	// ToolCPUPer1kSteps is the load tool's own CPU time (users, recorder,
	// fake Bot API) per 1000 steps: on one box it competes with the bot.
	ToolCPUPer1kSteps float64 `json:"tool_cpu_seconds_per_1000_steps,omitempty"`
	// RedisCPUSeconds is the Redis server's CPU time in the window.
	RedisCPUSeconds    float64  `json:"redis_cpu_seconds,omitempty"`
	RedisCPUPer1kSteps float64  `json:"redis_cpu_seconds_per_1000_steps,omitempty"`
	Memory             []Sample `json:"memory,omitempty"`
	// LoadAvg is the machine's load average at the end of the window.
	LoadAvg   string `json:"load_average_after,omitempty"`
	StopError string `json:"stop_error,omitempty"`
}

// ErrorCount is the total of Errors.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}
