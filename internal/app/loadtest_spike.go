//go:build loadtest

package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"putokaz/internal/loadtest"
)

// spikeOpts are the flags of `putokaz loadtest --spike`.
type spikeOpts struct {
	on bool
	o  loadtest.SpikeOptions
}

func spikeFlags(fs *flag.FlagSet) *spikeOpts {
	s := &spikeOpts{}
	fs.BoolVar(&s.on, "spike", false, "a crisis spike instead: --people write within --spike-window, a few messages each, "+
		"delivered like Telegram (max_connections in flight, re-sent after non-2xx or timeout) to serve with its default limits")
	fs.IntVar(&s.o.People, "people", 3000, "spike: people writing")
	fs.DurationVar(&s.o.Window, "spike-window", 60*time.Second, "spike: people write their first message within this time")
	fs.IntVar(&s.o.Updates, "messages", 3, "spike: messages each person writes")
	fs.DurationVar(&s.o.Gap, "gap", 8*time.Second, "spike: mean pause between one person's messages")
	fs.Float64Var(&s.o.EmergencyShare, "emergency-share", 0.05, "spike: share of people who open with an emergency word; announce: share of steps that type one")
	fs.Float64Var(&s.o.APIRate, "api-rate", 0, "spike: the fake Bot API answers 429 beyond this many messages/s overall (0: no limit)")
	fs.Float64Var(&s.o.APIChatRate, "api-chat-rate", 0, "spike: the same per chat (0: no limit)")
	fs.IntVar(&s.o.APIRetryAfter, "api-retry-after", 1, "spike: retry_after of the fake's 429s, in seconds")
	return s
}

// runSpike runs the spike against target and prints its result.
func runSpike(ctx context.Context, env Env, s *spikeOpts, target loadtest.Target, args []string, asJSON bool) int {
	o := s.o
	o.Log = env.Stderr
	res, err := loadtest.Spike(ctx, target, o)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
		if res == nil {
			return 1
		}
	}
	rep := struct {
		Command string                `json:"command"`
		Date    string                `json:"date"`
		Machine loadtest.Machine      `json:"machine"`
		Result  *loadtest.SpikeResult `json:"result"`
	}{"putokaz loadtest " + strings.Join(args, " "), time.Now().UTC().Format("2006-01-02 15:04 MST"),
		loadtest.ThisMachine(), res}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(env.Stdout, "%s\n%s, %d CPUs (%s), %s\n\n", rep.Command, rep.Date, rep.Machine.CPUs, rep.Machine.CPUModel,
		rep.Machine.GoVersion)
	res.WriteText(env.Stdout)
	return 0
}
