package config

import "fmt"

// Announce settings: urgent updates sent to the people subscribed to their
// topics (putokaz announce; package announce).
type Announce struct {
	Approvals int `yaml:"approvals" env:"ANNOUNCE_APPROVALS" doc:"how many different editors must agree before an urgent update is sent (the one who queues it counts): 2 is the two-person rule; 1 sends what one editor queues"`
	Rate      int `yaml:"rate" env:"ANNOUNCE_RATE" doc:"most urgent-update messages per second (1 to 1000); above Telegram's 30/s only for bots with paid broadcasts, and then the overall limit of staff messages and updates rises to it. Conversations go first: updates use what is left below that limit"`
}

func (a Announce) validate() error {
	if a.Approvals < 1 || a.Approvals > 10 {
		return fmt.Errorf("config: announce.approvals must be 1 to 10, not %d", a.Approvals)
	}
	if a.Rate < 1 || a.Rate > 1000 {
		return fmt.Errorf("config: announce.rate must be 1 to 1000 messages per second, not %d", a.Rate)
	}
	return nil
}
