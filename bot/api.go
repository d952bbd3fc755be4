package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	tgbot "github.com/go-telegram/bot"
)

// Why our own Bot API client instead of the library's methods: go-telegram/bot
// v1.19.0 encodes every call as multipart/form-data through an io.Pipe and a
// goroutine, reports 5xx answers as untyped errors (and a proxy's HTML 502 as a
// JSON decode error), never looks at the HTTP status, and does not export
// getUpdates. This client posts JSON (which the Bot API accepts), keeps
// connections alive, and classifies every answer. Its errors still match the
// library's: errors.As(err, &*tgbot.TooManyRequestsError) and
// errors.Is(err, tgbot.ErrorForbidden) work as with the library, so callers
// need to know one error vocabulary. The library's models (models.Update,
// models.Message, ...) are used to decode what comes back.

// maxAPIResponse bounds a Bot API answer (100 updates with long texts fit
// easily).
const maxAPIResponse = 32 << 20

// APIError is an error answer of the Bot API (ok=false), or a non-JSON error
// page from something in front of it (then Code is the HTTP status).
type APIError struct {
	Method      string
	Code        int
	Description string
	// RetryAfter is parameters.retry_after of a 429, in seconds.
	RetryAfter int
	// MigrateToChatID is parameters.migrate_to_chat_id (a group became a
	// supergroup).
	MigrateToChatID int64
	wrapped         error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("telegram %s: %d %s", e.Method, e.Code, e.Description)
}

// Unwrap returns the go-telegram/bot error value of the same meaning.
func (e *APIError) Unwrap() error { return e.wrapped }

func newAPIError(method string, code int, desc string, retryAfter int, migrate int64) *APIError {
	e := &APIError{Method: method, Code: code, Description: desc, RetryAfter: retryAfter, MigrateToChatID: migrate}
	switch code {
	case http.StatusTooManyRequests:
		e.wrapped = &tgbot.TooManyRequestsError{Message: desc, RetryAfter: retryAfter}
	case http.StatusBadRequest:
		if migrate != 0 {
			e.wrapped = &tgbot.MigrateError{Message: desc, MigrateToChatID: int(migrate)}
		} else {
			e.wrapped = tgbot.ErrorBadRequest
		}
	case http.StatusUnauthorized:
		e.wrapped = tgbot.ErrorUnauthorized
	case http.StatusForbidden:
		e.wrapped = tgbot.ErrorForbidden
	case http.StatusNotFound:
		e.wrapped = tgbot.ErrorNotFound
	case http.StatusConflict:
		e.wrapped = tgbot.ErrorConflict
	}
	return e
}

// NetError is a transport failure (no answer from the Bot API). It never
// holds the request URL, which contains the token.
type NetError struct {
	Method string
	Err    error
}

func (e *NetError) Error() string { return "telegram " + e.Method + ": " + e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

type apiClient struct {
	base string // APIURL + "/bot" + token + "/": never log it
	hc   *http.Client
}

func newAPIClient(apiURL, token string) *apiClient {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128, // the default 2 would reconnect under load
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &apiClient{base: apiURL + "/bot" + token + "/", hc: &http.Client{Transport: tr}}
}

// apiResponse is decoded in one pass, the result straight into the caller's
// value: answers of sendMessage echo the whole message, and decoding it
// twice (first as raw JSON) was a tenth of the bot's CPU under load.
type apiResponse struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"` // the caller's pointer, or skipResult
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call performs one HTTP request: params (any JSON-encodable value, nil for
// none) as a JSON body; the result is decoded into result if non-nil.
func (c *apiClient) call(ctx context.Context, method string, params, result any) error {
	var body io.Reader
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("telegram %s: encode parameters: %w", method, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, body)
	if err != nil {
		return fmt.Errorf("telegram %s: build request: %w", method, stripURL(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &NetError{Method: method, Err: stripURL(err)}
	}
	defer resp.Body.Close()
	answer := io.LimitReader(resp.Body, maxAPIResponse)
	var head [len(okPrefix)]byte
	n, err := io.ReadFull(answer, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return &NetError{Method: method, Err: fmt.Errorf("read answer: %w", err)}
	}
	if result == nil && resp.StatusCode == http.StatusOK && string(head[:n]) == okPrefix {
		// The API's own success answer, whose result nobody reads (most
		// sendMessage calls): the echoed message is drained, not decoded.
		_, _ = io.Copy(io.Discard, answer)
		return nil
	}
	raw, err := readBody(answer, head[:n], min(resp.ContentLength, maxAPIResponse))
	if err != nil {
		return &NetError{Method: method, Err: fmt.Errorf("read answer: %w", err)}
	}
	r := apiResponse{Result: result}
	if result == nil {
		r.Result = new(skipResult)
	}
	// Unmarshal checks the syntax of the whole answer before decoding any
	// of it: with ok true, an error can only be about the result.
	if err = json.Unmarshal(raw, &r); err != nil && r.OK {
		return fmt.Errorf("telegram %s: decode result: %w", method, err)
	}
	if err != nil || (!r.OK && r.ErrorCode == 0) {
		// Not the API's JSON: an error page of a proxy or load balancer.
		code := resp.StatusCode
		if code < 400 {
			code = http.StatusBadGateway // a 200 with garbage is a broken upstream
		}
		return newAPIError(method, code, "unexpected answer ("+http.StatusText(resp.StatusCode)+")", 0, 0)
	}
	if !r.OK {
		var retry int
		var migrate int64
		if r.Parameters != nil {
			retry, migrate = r.Parameters.RetryAfter, r.Parameters.MigrateToChatID
		}
		return newAPIError(method, r.ErrorCode, r.Description, retry, migrate)
	}
	return nil
}

// readBody reads r whole after the bytes already read (head) into a buffer
// of the declared size, if known: io.ReadAll starts small and copies as it
// grows. The caller bounds size (and r).
func readBody(r io.Reader, head []byte, size int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + bytes.MinRead)
	}
	buf.Write(head)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// okPrefix starts every successful answer of the Bot API.
const okPrefix = `{"ok":true,`

// skipResult stands for a result nobody reads: the decoder skips it without
// building anything.
type skipResult struct{}

func (*skipResult) UnmarshalJSON([]byte) error { return nil }

// stripURL removes the request URL (which holds the token) from an error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// outcome labels for Bot API calls (metric putokaz_telegram_api_calls_total).
const (
	resOK           = "ok"
	resRetryAfter   = "retry_after"
	resServerError  = "server_error"
	resNetworkError = "network_error"
	resForbidden    = "forbidden"
	resBadRequest   = "bad_request"
	resOtherError   = "other_error" // 401, 404, 409, unexpected codes
	resGaveUp       = "gave_up"
	resInactive     = "skipped_inactive"
	resCanceled     = "canceled"
)

// callResult maps the error of one attempt to an outcome label. ctx is the
// caller's context: a cancellation by the caller is not a network error.
func callResult(ctx context.Context, err error) string {
	if err == nil {
		return resOK
	}
	if ctx.Err() != nil {
		return resCanceled
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Code == http.StatusTooManyRequests:
			return resRetryAfter
		case ae.Code >= 500:
			return resServerError
		case ae.Code == http.StatusForbidden:
			return resForbidden
		case ae.Code == http.StatusBadRequest:
			return resBadRequest
		default:
			return resOtherError
		}
	}
	var ne *NetError
	if errors.As(err, &ne) {
		return resNetworkError
	}
	return resOtherError
}
