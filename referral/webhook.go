package referral

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Webhook events, one JSON object per request (see README "Referral
// webhooks"). The signature header is
//
//	X-Putokaz-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// A receiver recomputes the HMAC over the raw body, compares in constant
// time, rejects old timestamps (replays), and deduplicates on "id": a
// delivery is retried until it is answered 2xx, so it may arrive twice.
type HookEvent struct {
	// ID is unique per delivery (stable across its retries).
	ID string `json:"id"`
	// Event: created, claimed, message, closed, withdrawn.
	Event   string    `json:"event"`
	Code    string    `json:"code"`
	Service string    `json:"service,omitempty"`
	Kind    string    `json:"kind,omitempty"` // referral or handoff
	At      time.Time `json:"at"`             // when it happened
	// Status is the case's status when the event is delivered.
	Status string `json:"status,omitempty"`
	// Referral: the case's details (created; absent once withdrawn).
	Referral *HookReferral `json:"referral,omitempty"`
	// Message: a message between the person and staff (message).
	Message *HookMessage `json:"message,omitempty"`
}

// HookReferral is what a "created" event carries: what the case card shows.
type HookReferral struct {
	Lang           string            `json:"lang,omitempty"`
	Created        time.Time         `json:"created"`
	ConsentAt      *time.Time        `json:"consent_at,omitempty"`
	ConsentVersion string            `json:"consent_version,omitempty"`
	Answers        map[string]string `json:"answers,omitempty"`
}

// SignatureHeader carries the webhook signature.
const SignatureHeader = "X-Putokaz-Signature"

// Sign returns the signature header value for body at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// hookError is a failed webhook delivery, without the response body (it
// might echo data).
type hookError struct {
	status int
	err    error
}

func (e *hookError) Error() string {
	if e.err != nil {
		return "webhook: " + e.err.Error()
	}
	return "webhook: HTTP " + strconv.Itoa(e.status)
}

func (e *hookError) reason() string {
	if e.err != nil {
		return "webhook unreachable"
	}
	return "webhook HTTP " + strconv.Itoa(e.status)
}

// deliverHook posts one event to the queue's webhook.
func (s *Desk) deliverHook(ctx context.Context, q Queue, e entry) error {
	c, err := s.store.load(ctx, e.Code)
	if err != nil {
		return err
	}
	if c == nil {
		return errSkip
	}
	ev := HookEvent{ID: e.ID, Event: e.Event, Code: c.Code, Service: c.Service, Kind: c.Kind, At: e.time().UTC(),
		Status: c.Status}
	switch e.Event {
	case evCreated:
		if c.User != "" { // not withdrawn meanwhile
			r := &HookReferral{Lang: c.Lang, Created: c.Created, ConsentVersion: c.ConsentVersion, Answers: c.Answers}
			if !c.ConsentAt.IsZero() {
				t := c.ConsentAt
				r.ConsentAt = &t
			}
			ev.Referral = r
		}
	case evMessage:
		raw, err := s.store.payload(ctx, c.Code, payloadField(s.streams(c).hook, e.ID))
		if err != nil {
			return err
		}
		if raw == "" {
			return errSkip // erased by /delete or expired
		}
		var m HookMessage
		if json.Unmarshal([]byte(raw), &m) != nil {
			return errSkip
		}
		ev.Message = &m
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook: encode: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, q.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return &hookError{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Putokaz-Webhook/1")
	req.Header.Set("X-Putokaz-Event", e.Event)
	req.Header.Set("X-Putokaz-Delivery", e.ID)
	req.Header.Set(SignatureHeader, Sign([]byte(q.WebhookSecret), s.now(), body))
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &hookError{err: fmt.Errorf("request failed")}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &hookError{status: resp.StatusCode}
	}
	return nil
}
