package whatalo_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// sign computes a signature the way Whatalo's guide describes it, apart
// from the package's own signing, so that a slip shared by SignWebhook and
// VerifyWebhook cannot pass unseen.
func sign(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	body := []byte(`{"event_id":"1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := sign("s3cret", ts+"."+string(body))
	legacy := sign("s3cret", string(body))
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	const (
		sigH    = whatalo.HeaderWebhookSignature
		tsH     = whatalo.HeaderWebhookTimestamp
		legacyH = whatalo.HeaderWhataloSignature
	)
	errSig, errStale := whatalo.ErrWebhookSignature, whatalo.ErrWebhookStale
	cases := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"current", "s3cret", hdr(sigH, good, tsH, ts), body, now, nil},
		{"uppercase hex", "s3cret", hdr(sigH, strings.ToUpper(good), tsH, ts), body, now, nil},
		{"sha256= prefix", "s3cret", hdr(sigH, "sha256="+good, tsH, ts), body, now, nil},
		{"one of several", "s3cret", hdr(sigH, strings.Repeat("0", 64)+", "+good, tsH, ts), body, now, nil},
		{"299 s late", "s3cret", hdr(sigH, good, tsH, ts), body, now.Add(299 * time.Second), nil},
		{"301 s late", "s3cret", hdr(sigH, good, tsH, ts), body, now.Add(301 * time.Second), errStale},
		{"301 s early", "s3cret", hdr(sigH, good, tsH, ts), body, now.Add(-301 * time.Second), errStale},
		{"wrong secret", "other", hdr(sigH, good, tsH, ts), body, now, errSig},
		{"tampered body", "s3cret", hdr(sigH, good, tsH, ts), []byte(`{"event_id":"2"}`), now, errSig},
		{"tampered timestamp", "s3cret", hdr(sigH, good, tsH, strconv.FormatInt(now.Unix()+1, 10)), body, now, errSig},
		{"no timestamp", "s3cret", hdr(sigH, good), body, now, errSig},
		{"truncated", "s3cret", hdr(sigH, good[:63], tsH, ts), body, now, errSig},
		{"not hex", "s3cret", hdr(sigH, strings.Repeat("zz", 32), tsH, ts), body, now, errSig},
		{"legacy", "s3cret", hdr(legacyH, legacy), body, now, nil},
		{"legacy wrong", "s3cret", hdr(legacyH, good), body, now, errSig},
		{"current wins over legacy", "s3cret", hdr(sigH, "00", tsH, ts, legacyH, legacy), body, now, errSig},
		{"unsigned", "s3cret", hdr(), body, now, errSig},
		{"no secret", "", hdr(sigH, sign("", ts+"."+string(body)), tsH, ts), body, now, errSig},
	}
	for _, c := range cases {
		err := whatalo.VerifyWebhook(c.secret, c.h, c.body, c.now, 0)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the secret: %v", c.name, err)
		}
	}
}

func TestSignWebhook(t *testing.T) {
	at := time.Unix(1_760_000_000, 0)
	body := []byte(`{"delivery_id":"d1"}`)
	h := http.Header{}
	whatalo.SignWebhook(h, "s3cret", body, at)
	if got, want := h.Get(whatalo.HeaderWebhookTimestamp), "1760000000"; got != want {
		t.Errorf("timestamp %q, want %q", got, want)
	}
	if got, want := h.Get(whatalo.HeaderWebhookSignature), sign("s3cret", "1760000000."+string(body)); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	legacy := http.Header{}
	whatalo.SignWebhookLegacy(legacy, "s3cret", body)
	if got, want := legacy.Get(whatalo.HeaderWhataloSignature), sign("s3cret", string(body)); got != want {
		t.Errorf("legacy signature %s, want %s", got, want)
	}
	if len(legacy) != 1 {
		t.Errorf("legacy signing set %v, want only %s", legacy, whatalo.HeaderWhataloSignature)
	}
}

// FuzzVerifyWebhook checks that verification never panics and that a
// delivery signed with the secret always verifies, in both contracts.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add("whsec_abc", int64(1_760_000_000), []byte(`{"delivery_id":"d1"}`), false, "00")
	f.Add("k", int64(0), []byte{}, true, "sha256=zz, ,")
	f.Fuzz(func(t *testing.T, secret string, ts int64, body []byte, legacy bool, junk string) {
		ts %= 1e11 // beyond that the header is read as milliseconds
		now := time.Unix(ts, 0)
		h := http.Header{}
		if legacy {
			whatalo.SignWebhookLegacy(h, secret, body)
		} else {
			whatalo.SignWebhook(h, secret, body, now)
		}
		err := whatalo.VerifyWebhook(secret, h, body, now, whatalo.WebhookTolerance)
		if secret != "" && err != nil {
			t.Fatalf("valid signature rejected: %v", err)
		}
		if secret == "" && err == nil {
			t.Fatal("verified without a secret")
		}
		tampered := append([]byte{'x'}, body...)
		if whatalo.VerifyWebhook(secret, h, tampered, now, whatalo.WebhookTolerance) == nil {
			t.Fatal("tampered body verified")
		}
		// Junk headers must not panic, whatever they hold.
		j := http.Header{}
		j.Set(whatalo.HeaderWebhookSignature, junk)
		j.Set(whatalo.HeaderWebhookTimestamp, junk)
		_ = whatalo.VerifyWebhook(secret, j, body, now, 0)
		j = http.Header{}
		j.Set(whatalo.HeaderWhataloSignature, junk)
		_ = whatalo.VerifyWebhook(secret, j, body, now, -1)
	})
}

// The replay key names what was signed, however the signature header is
// spelled and whatever the delivery id: the id is not signed.
func TestVerifyWebhookDeliveryReplayKey(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	body := []byte(`{"event_id":"1"}`)
	verify := func(h http.Header) whatalo.VerifiedWebhook {
		t.Helper()
		v, err := whatalo.VerifyWebhookDelivery("s3cret", h, body, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	h := http.Header{}
	whatalo.SignWebhook(h, "s3cret", body, now)
	h.Set(whatalo.HeaderWebhookID, "dlv_1")
	first := verify(h)
	if first.Legacy || !first.SignedAt.Equal(now) || !strings.HasPrefix(first.ReplayKey, "sig:") {
		t.Fatalf("current scheme: %+v", first)
	}
	h.Set(whatalo.HeaderWebhookID, "dlv_other")
	h.Set(whatalo.HeaderWebhookSignature, "sha256="+strings.ToUpper(h.Get(whatalo.HeaderWebhookSignature))+", 00")
	if again := verify(h); again.ReplayKey != first.ReplayKey {
		t.Errorf("respelled signature under another id: key %q, want %q", again.ReplayKey, first.ReplayKey)
	}
	later := http.Header{}
	whatalo.SignWebhook(later, "s3cret", body, now.Add(time.Second))
	if k := verify(later).ReplayKey; k == first.ReplayKey {
		t.Error("another timestamp gave the same replay key")
	}
	old := http.Header{}
	whatalo.SignWebhookLegacy(old, "s3cret", body)
	v := verify(old)
	if !v.Legacy || !v.SignedAt.IsZero() || !strings.HasPrefix(v.ReplayKey, "body:") || strings.Contains(v.ReplayKey, "event_id") {
		t.Errorf("older scheme: %+v", v)
	}
	if _, err := whatalo.VerifyWebhookDelivery("wrong", h, body, now, 0); !errors.Is(err, whatalo.ErrWebhookSignature) {
		t.Errorf("wrong secret: %v", err)
	}
}
