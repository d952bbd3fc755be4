package bot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	tgbot "github.com/go-telegram/bot"

	"putokaz/internal/backoff"
	"putokaz/internal/lease"
)

// Command is one entry of the bot's command menu (setMyCommands).
type Command struct {
	// Name without the slash: 1–32 of a-z, 0-9 and _.
	Name string
	// Description is shown in the menu: 1–256 characters.
	Description string
}

// CommandTexts supplies the command menu per language ("en", "sr", "ar",
// "fa"); the app implements it from the content's texts. If it also
// implements ErrorTexter, it supplies the apology too.
type CommandTexts interface {
	Commands(lang string) []Command
}

// ErrorTexter optionally supplies the generic apology sent after a panic or
// a dropped (poison) update, by Telegram language_code: the content's text
// (it has every language, and the one table of language codes). Without
// one, or if it has no text, the apology is lastResortError.
type ErrorTexter interface {
	ErrorText(lang string) string
}

// lastResortError is the apology when no content supplies one: only a bot
// built without texts (tests), since the checker requires the content's.
const lastResortError = "Sorry, something went wrong on our side. Please try again in a moment, or send /menu."

// commandLanguages are the languages the menu is registered for; "" is
// Telegram's default for every other language and gets the English texts.
var commandLanguages = []string{"", "en", "sr", "ar", "fa"}

// allowedUpdates are the update types we ask Telegram for.
var allowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

// Server is the Telegram transport: webhook or long polling, the Dispatcher,
// the Sender, and the operational endpoints (/healthz, /readyz, /metrics).
type Server struct {
	cfg      Config
	log      *slog.Logger
	rdb      redis.UniversalClient
	reg      *prometheus.Registry
	m        *metrics
	sender   *Sender
	d        *Dispatcher
	handler  http.Handler
	commands CommandTexts // nil: no menu, the last-resort apology

	secretSum   [32]byte
	webhookPath string

	readyMu   sync.Mutex
	readyAt   time.Time
	readyErr  error
	readyBusy sync.Mutex // one probe at a time
	readyKey  string     // written by each probe (keys.Ready)
}

// Handlers are what the transport hands updates to.
type Handlers struct {
	// Conversation handles people's updates in private chats. Required.
	Conversation Conversation
	// Staff handles updates from Config.StaffGroups; nil ignores them.
	Staff StaffHandler
	// Commands supplies the command menu (and, as an ErrorTexter, the
	// apology); nil registers no menu.
	Commands CommandTexts
	// Blocked is told of people who block the bot; nil: nobody is.
	Blocked BlockedHook
}

// New builds the transport on sender (NewSender), which it shares with
// the other packages that send (staff notifications, urgent updates).
func New(sender *Sender, h Handlers) (*Server, error) {
	if sender == nil {
		return nil, errors.New("telegram: no sender")
	}
	if h.Conversation == nil {
		return nil, errors.New("telegram: no conversation")
	}
	cfg, log, k := sender.cfg, sender.log, sender.keys
	s := &Server{cfg: cfg, log: log, rdb: sender.rdb, reg: sender.reg, m: sender.m, sender: sender, commands: h.Commands,
		secretSum: sha256.Sum256([]byte(cfg.WebhookSecret)), webhookPath: cfg.webhookPath()}
	var sessionKey func(string) string
	if sender.rdb != nil {
		sessionKey = k.Session
		s.readyKey = k.Ready()
	}
	hard, hardStop := context.WithCancel(context.Background())
	s.d = &Dispatcher{
		conv: h.Conversation, staff: h.Staff, blocked: h.Blocked, sender: sender, state: sender.state,
		inactive: sender.inactive, sessionKey: sessionKey, staffGroups: cfg.StaffGroups, lim: cfg.Limits, m: sender.m,
		log: log, hash: sender.hash, errorText: s.errorText, hard: hard, hardStop: hardStop,
		instance: lease.NewToken()[:12], beatStop: make(chan struct{}),
	}
	if rdb := sender.rdb; rdb != nil {
		beatKey := k.Instance(s.d.instance)
		s.d.beat = func(ctx context.Context) error {
			// PSETEX, not SET: the hot path's round-trip test tells it apart.
			return rdb.Do(ctx, "PSETEX", beatKey, heartbeatTTL.Milliseconds(), "1").Err()
		}
		s.d.alive = func(ctx context.Context, instance string) (bool, error) {
			n, err := rdb.Exists(ctx, k.Instance(instance)).Result()
			return n == 1, err
		}
	}
	s.handler = s.buildHandler()
	return s, nil
}

func (s *Server) errorText(lang string) string {
	if s.commands != nil {
		if et, ok := s.commands.(ErrorTexter); ok {
			if t := et.ErrorText(lang); t != "" {
				return t
			}
		}
	}
	return lastResortError
}

// Handler serves the webhook (webhook mode, on the path of WebhookURL),
// GET /healthz, GET /readyz and GET /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	webhook := s.cfg.WebhookURL != ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if webhook && r.URL.Path == s.webhookPath {
			s.serveWebhook(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Run listens on ListenAddr and runs until ctx is cancelled (main cancels
// it on SIGTERM), then drains within ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("telegram: listen on %s: %w", s.cfg.ListenAddr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
//
// Start: getMe (learns the bot's username), setMyCommands per language, then
// setWebhook (webhook mode) or deleteWebhook and the getUpdates loop.
// Shutdown: new updates get 503 (webhook) or stay unconfirmed (polling);
// updates in flight may finish until ShutdownTimeout, after which they are
// cancelled and their unsent replies kept for the re-delivery.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.Limits.HandleTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	pollDone := make(chan struct{})
	rctx, stopRun := context.WithCancel(ctx)
	runErr := s.startAndRun(rctx, serveErr, pollDone)
	stopRun() // also when the HTTP server failed: stop the poller

	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.Limits.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := hs.Shutdown(dctx); err != nil {
			_ = hs.Close()
		}
	})
	if err := s.d.Shutdown(dctx); err != nil {
		s.log.Warn("drain incomplete", "err", err)
	}
	wg.Wait()
	<-pollDone // the poller confirms what was handled before it returns
	s.sender.api.hc.CloseIdleConnections()
	s.log.Info("telegram transport stopped")
	return runErr
}

// startAndRun does the start-up calls and runs the mode until ctx ends. The
// poller (polling mode) keeps running until its batch is done; pollDone is
// closed when it has returned (at once in webhook mode).
func (s *Server) startAndRun(ctx context.Context, serveErr <-chan error, pollDone chan struct{}) error {
	if err := s.startup(ctx); err != nil {
		close(pollDone)
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if s.cfg.WebhookURL != "" {
		close(pollDone)
		s.log.Info("telegram webhook mode", "path", s.webhookPath, "listen", s.cfg.ListenAddr)
		select {
		case <-ctx.Done():
			return nil
		case err := <-serveErr:
			return fmt.Errorf("telegram: HTTP server: %w", err)
		}
	}
	s.log.Info("telegram long-polling mode", "listen", s.cfg.ListenAddr)
	go func() {
		defer close(pollDone)
		s.poll(ctx)
	}()
	select {
	case <-ctx.Done():
		return nil
	case err := <-serveErr:
		return fmt.Errorf("telegram: HTTP server: %w", err)
	}
}

// startup: getMe, setMyCommands, setWebhook or deleteWebhook. Transient
// failures are retried until ctx ends; a wrong token or a refused webhook
// URL is returned.
func (s *Server) startup(ctx context.Context) error {
	var me struct {
		Username string `json:"username"`
	}
	if err := s.retry(ctx, "getMe", func() error { return s.sender.Call(ctx, "getMe", 0, nil, &me) }); err != nil {
		return err
	}
	if s.cfg.BotUsername == "" && me.Username != "" {
		s.sender.username.Store(&me.Username)
	}
	s.setCommands(ctx)
	if s.cfg.WebhookURL != "" {
		p := struct {
			URL                string   `json:"url"`
			SecretToken        string   `json:"secret_token"`
			AllowedUpdates     []string `json:"allowed_updates"`
			MaxConnections     int      `json:"max_connections"`
			DropPendingUpdates bool     `json:"drop_pending_updates"`
		}{s.cfg.WebhookURL, s.cfg.WebhookSecret, allowedUpdates, s.cfg.MaxConnections, false}
		return s.retry(ctx, "setWebhook", func() error { return s.sender.Call(ctx, "setWebhook", 0, p, nil) })
	}
	// Polling: a webhook left from an earlier run would make getUpdates fail.
	// Pending updates are kept.
	return s.retry(ctx, "deleteWebhook", func() error {
		return s.sender.Call(ctx, "deleteWebhook", 0, struct {
			DropPendingUpdates bool `json:"drop_pending_updates"`
		}{false}, nil)
	})
}

// retry repeats a start-up call until it succeeds, ctx ends, or the API
// refuses it for good (400, 401, 404).
func (s *Server) retry(ctx context.Context, what string, f func() error) error {
	for i := 1; ; i++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, tgbot.ErrorUnauthorized) || errors.Is(err, tgbot.ErrorNotFound) {
			return fmt.Errorf("telegram %s: the token was refused: %w", what, err)
		}
		if errors.Is(err, tgbot.ErrorBadRequest) {
			return fmt.Errorf("telegram %s: %w", what, err)
		}
		s.log.Warn("telegram start-up call failed; retrying", "call", what, "attempt", i, "err", err)
		if backoff.Wait(ctx, s.sender.backoff(min(i, 6))) != nil {
			return ctx.Err()
		}
	}
}

// setCommands registers the command menu per language. Failures are logged:
// the bot works without a menu.
func (s *Server) setCommands(ctx context.Context) {
	if s.commands == nil {
		s.log.Info("no command texts set; the command menu is not registered")
		return
	}
	type botCommand struct {
		Command     string `json:"command"`
		Description string `json:"description"`
	}
	for _, lang := range commandLanguages {
		src := lang
		if src == "" {
			src = "en"
		}
		var cmds []botCommand
		for _, c := range s.commands.Commands(src) {
			name := strings.ToLower(strings.TrimPrefix(c.Name, "/"))
			desc := strings.TrimSpace(c.Description)
			if !validCommandName(name) || desc == "" || utf8.RuneCountInString(desc) > 256 {
				s.log.Error("invalid bot command left out of the menu", "lang", src, "command", name)
				continue
			}
			cmds = append(cmds, botCommand{name, desc})
		}
		if len(cmds) == 0 {
			continue
		}
		params := struct {
			Commands     []botCommand `json:"commands"`
			LanguageCode string       `json:"language_code,omitempty"`
		}{cmds, lang}
		if err := s.sender.Call(ctx, "setMyCommands", 0, params, nil); err != nil {
			s.log.Error("setMyCommands failed", "lang", lang, "err", err)
		}
	}
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// ready checks that the bot can serve now: Redis on every probe (a keyed
// write, and for a cluster its state: a PING still succeeds while the
// cluster refuses every keyed command), then the Bot API (getMe), whose
// answer is reused for ReadyCacheTTL so probes cannot hammer Telegram.
func (s *Server) ready(ctx context.Context) error {
	s.d.drainMu.Lock()
	draining := s.d.draining
	s.d.drainMu.Unlock()
	if draining {
		return ErrShuttingDown
	}
	s.readyBusy.Lock()
	defer s.readyBusy.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if s.rdb != nil {
		if err := s.redisReady(cctx); err != nil {
			return err
		}
	}
	s.readyMu.Lock()
	if !s.readyAt.IsZero() && time.Since(s.readyAt) < s.cfg.Limits.ReadyCacheTTL {
		err := s.readyErr
		s.readyMu.Unlock()
		return err
	}
	s.readyMu.Unlock()
	var err error
	if aerr := s.sender.callOnce(cctx, "getMe", nil, nil); aerr != nil {
		err = errors.New("bot API unreachable")
		s.log.Warn("readiness: getMe failed", "err", aerr)
	}
	s.readyMu.Lock()
	s.readyAt, s.readyErr = time.Now(), err
	s.readyMu.Unlock()
	return err
}

// redisReady writes the readiness key (a keyed command reaches the master
// that owns its slot, or Sentinel's current primary) and, in a cluster,
// asks for cluster_state.
func (s *Server) redisReady(ctx context.Context) error {
	if err := s.rdb.Set(ctx, s.readyKey, "1", 10*time.Second).Err(); err != nil {
		s.m.redisErrors.WithLabelValues("ready").Inc()
		s.log.Warn("readiness: redis refused a write", "err", err)
		return errors.New("redis does not accept writes")
	}
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return nil
	}
	info, err := cc.ClusterInfo(ctx).Result()
	if err != nil {
		s.m.redisErrors.WithLabelValues("ready").Inc()
		s.log.Warn("readiness: CLUSTER INFO failed", "err", err)
		return errors.New("redis cluster unreachable")
	}
	if state := clusterState(info); state != "ok" {
		s.log.Warn("readiness: redis cluster is not ok", "cluster_state", state)
		return errors.New("redis cluster is down")
	}
	return nil
}

// clusterState reads cluster_state from CLUSTER INFO's answer.
func clusterState(info string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			return v
		}
	}
	return ""
}
