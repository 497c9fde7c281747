package whatalo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook delivery headers. The X-Webhook-* set is the current delivery
// contract; X-Whatalo-Signature the REST guide's older one.
const (
	HeaderWebhookID        = "X-Webhook-Id"
	HeaderWebhookEvent     = "X-Webhook-Event"
	HeaderWebhookSignature = "X-Webhook-Signature"
	HeaderWebhookTimestamp = "X-Webhook-Timestamp"
	HeaderWhataloSignature = "X-Whatalo-Signature"
)

const (
	// WebhookTolerance is how far X-Webhook-Timestamp may be from now, in
	// either direction, as Whatalo's verification guide says.
	WebhookTolerance = 300 * time.Second
	// MaxWebhookBody is the largest delivery a receiver need accept:
	// Whatalo's entity payloads are a few kilobytes.
	MaxWebhookBody = 1 << 20
)

// Errors of VerifyWebhook and ParseWebhook, for errors.Is. A receiver
// answers 401 to the first two and 400 to the third; Whatalo does not retry
// 4xx answers.
var (
	ErrWebhookSignature = errors.New("webhook signature missing or invalid")
	ErrWebhookStale     = errors.New("webhook timestamp outside the tolerance")
	ErrWebhookPayload   = errors.New("webhook payload unusable")
)

// maxSignatures bounds the comma-separated signatures one header may make
// VerifyWebhook compute with: a sender cannot make it spin.
const maxSignatures = 4

// VerifyWebhook checks a delivery's signature against secret, before
// anything reads the body. The current contract signs timestamp + "." +
// body, with X-Webhook-Timestamp (unix seconds) within tolerance of now in
// either direction; the older one signs the body alone in
// X-Whatalo-Signature and is used only when X-Webhook-Signature is absent.
// Signatures are hex HMAC-SHA256, compared in constant time; a "sha256="
// prefix and several comma-separated signatures are accepted. tolerance <= 0
// means WebhookTolerance. An empty secret verifies nothing.
//
// A failure wraps ErrWebhookSignature or ErrWebhookStale and never shows
// the secret.
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	_, err := VerifyWebhookDelivery(secret, h, body, now, tolerance)
	return err
}

// VerifiedWebhook is what a delivery's valid signature covers, for a
// receiver that refuses replays. X-Webhook-Id is not signed: a replay can
// carry a fresh one, but not a fresh ReplayKey.
type VerifiedWebhook struct {
	// Legacy reports the older contract, whose signature covers the body
	// alone and so never expires: its deliveries can be replayed for as
	// long as the secret is in use.
	Legacy bool
	// SignedAt is X-Webhook-Timestamp; zero in the older contract. A
	// replay of the delivery is refused as stale once now passes SignedAt
	// by the tolerance.
	SignedAt time.Time
	// ReplayKey names what was signed, the timestamp with the body or the
	// body alone, however the signature header is spelled: the hex SHA-256
	// of the signed bytes, prefixed with "sig:" or, in the older contract,
	// "body:". It reveals neither the secret nor the body.
	ReplayKey string
}

// VerifyWebhookDelivery is VerifyWebhook, and on success also says what the
// signature covers, so that a receiver can tell a replay under a fresh
// delivery id from a new delivery.
func VerifyWebhookDelivery(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) (VerifiedWebhook, error) {
	if secret == "" {
		return VerifiedWebhook{}, fmt.Errorf("%w: no webhook secret is configured", ErrWebhookSignature)
	}
	if tolerance <= 0 {
		tolerance = WebhookTolerance
	}
	if sig := h.Get(HeaderWebhookSignature); sig != "" {
		ts := h.Get(HeaderWebhookTimestamp)
		if ts == "" {
			return VerifiedWebhook{}, fmt.Errorf("%w: %s without %s", ErrWebhookSignature, HeaderWebhookSignature, HeaderWebhookTimestamp)
		}
		if !signatureMatches(sig, webhookMAC(secret, ts, body)) {
			return VerifiedWebhook{}, fmt.Errorf("%w: %s does not match", ErrWebhookSignature, HeaderWebhookSignature)
		}
		at, ok := parseUnix(ts)
		if !ok {
			return VerifiedWebhook{}, fmt.Errorf("%w: %s is not unix seconds", ErrWebhookStale, HeaderWebhookTimestamp)
		}
		if d := now.Sub(at); d > tolerance || d < -tolerance {
			return VerifiedWebhook{}, fmt.Errorf("%w: %s is %s from now", ErrWebhookStale, HeaderWebhookTimestamp, d.Round(time.Second))
		}
		return VerifiedWebhook{SignedAt: at, ReplayKey: "sig:" + signedDigest(ts, body)}, nil
	}
	if sig := h.Get(HeaderWhataloSignature); sig != "" {
		if !signatureMatches(sig, webhookMAC(secret, "", body)) {
			return VerifiedWebhook{}, fmt.Errorf("%w: %s does not match", ErrWebhookSignature, HeaderWhataloSignature)
		}
		return VerifiedWebhook{Legacy: true, ReplayKey: "body:" + signedDigest("", body)}, nil
	}
	return VerifiedWebhook{}, fmt.Errorf("%w: no %s or %s header", ErrWebhookSignature, HeaderWebhookSignature, HeaderWhataloSignature)
}

// signedDigest is the hex SHA-256 of what webhookMAC signs.
func signedDigest(timestamp string, body []byte) string {
	h := sha256.New()
	if timestamp != "" {
		h.Write([]byte(timestamp))
		h.Write([]byte{'.'})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignWebhook sets on h what Whatalo signs a delivery of body with today:
// X-Webhook-Timestamp (at, in unix seconds) and X-Webhook-Signature, the
// lowercase hex HMAC-SHA256 of timestamp + "." + body keyed with secret. It
// is the sending side of VerifyWebhook, for fakes and tests.
func SignWebhook(h http.Header, secret string, body []byte, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, hex.EncodeToString(webhookMAC(secret, ts, body)))
}

// SignWebhookLegacy sets on h X-Whatalo-Signature, the lowercase hex
// HMAC-SHA256 of body alone keyed with secret: the REST guide's older
// contract, which has no timestamp.
func SignWebhookLegacy(h http.Header, secret string, body []byte) {
	h.Set(HeaderWhataloSignature, hex.EncodeToString(webhookMAC(secret, "", body)))
}

// webhookMAC is the HMAC-SHA256 both contracts sign: of timestamp + "." +
// body, or of body alone when there is no timestamp.
func webhookMAC(secret, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	if timestamp != "" {
		mac.Write([]byte(timestamp))
		mac.Write([]byte{'.'})
	}
	mac.Write(body)
	return mac.Sum(nil)
}

// signatureMatches compares the hex signatures in header with want. Decoded
// bytes are compared, so the hex's case does not matter.
func signatureMatches(header string, want []byte) bool {
	matched, tries := false, 0
	for part := range strings.SplitSeq(header, ",") {
		if tries++; tries > maxSignatures {
			break
		}
		part = strings.TrimSpace(part)
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "sha256") {
			part = v
		}
		if len(part) != hex.EncodedLen(len(want)) {
			continue
		}
		got, err := hex.DecodeString(part)
		if err == nil && hmac.Equal(got, want) {
			matched = true // no early return: time does not tell which part matched
		}
	}
	return matched
}

// parseUnix reads unix seconds; values too large for seconds in this era
// are taken as milliseconds.
func parseUnix(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if n > 1e11 || n < -1e11 {
		return time.UnixMilli(n), true
	}
	return time.Unix(n, 0), true
}
