package bot

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// secretHeader carries the webhook's secret_token in every delivery.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// serveWebhook is the at-least-once webhook (the library's WebhookHandler
// answers 200 before handling, so a crash loses updates). Answers:
//
//	401  wrong or missing secret: nothing processed
//	405  not a POST
//	200  handled, a duplicate, ignored, or safely dropped (poison; a body too
//	     large or not JSON, which no retry could fix); the body may carry an
//	     answerCallbackQuery for a callback of this update — sent only after
//	     the update is finished, so losing it costs only the client's spinner
//	503  not handled for a reason outside the update: the chat is busy (its
//	     lease held by another update), we are shutting down, Redis is
//	     unreachable, or the update's end is kept in memory until Redis is
//	     back (recover.go): Telegram re-sends later
//	500  handling failed (the conversation, the Bot API, a lost lease):
//	     Telegram re-sends (up to Limits.UpdateAttempts)
//
// Every 503 and 500 is logged with its reason (never a chat ID or text) and
// counted in putokaz_bot_webhook_retry_total{status,reason}.
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.m.webhookRejected.WithLabelValues("method").Inc()
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Compare digests so that neither content nor length of the secret
	// leaks through timing.
	got := sha256.Sum256([]byte(r.Header.Get(secretHeader)))
	if subtle.ConstantTimeCompare(got[:], s.secretSum[:]) != 1 {
		s.m.webhookRejected.WithLabelValues("unauthorized").Inc()
		s.log.Warn("webhook request with a wrong or missing secret token rejected")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxBodyBytes), nil, min(r.ContentLength, s.cfg.Limits.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			// Telegram would re-send it forever; no update is this large.
			s.m.webhookRejected.WithLabelValues("too_large").Inc()
			s.log.Error("webhook body too large; dropped", "limit", s.cfg.Limits.MaxBodyBytes)
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "read error", http.StatusBadRequest) // the connection broke: let Telegram re-send
		return
	}
	u, lenient, err := decodeUpdate(body)
	if err != nil {
		s.m.webhookRejected.WithLabelValues("bad_json").Inc()
		s.log.Error("webhook body is not an update; dropped", "bytes", len(body), "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	if lenient {
		s.log.Warn("update only partly decodable (a newer Bot API type?); handled as unsupported content", "update_id", u.ID)
	}
	answer, err := s.d.process(r.Context(), u, true)
	switch {
	case err == nil && answer != "":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(callbackAnswer{Method: "answerCallbackQuery", CallbackQueryID: answer})
	case err == nil:
		w.WriteHeader(http.StatusOK)
	default:
		reason := retryReason(err)
		status := retryStatus(reason)
		s.m.webhookRetry.WithLabelValues(strconv.Itoa(status), reason).Inc()
		s.log.Warn("webhook asks Telegram to re-send the update", "status", status, "reason", reason, "update_id", u.ID)
		if status == http.StatusServiceUnavailable {
			http.Error(w, "busy, retry later", status)
		} else {
			http.Error(w, "update not handled, retry later", status)
		}
	}
}
