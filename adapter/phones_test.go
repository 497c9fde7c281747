package adapter

import (
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func newOfflineBackend(t *testing.T, name string) *Backend {
	t.Helper()
	client, err := whatalo.NewClient("wk_test_"+name, whatalo.WithBaseURL("http://127.0.0.1:1/v1"), whatalo.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	b := New(client, Options{Name: name, Region: "DO"})
	t.Cleanup(b.Close)
	return b
}

// Each store's Backend remembers its own phones: a flood at one store
// pushes out nothing another store uses.
func TestBackendsOwnTheirNormalizer(t *testing.T) {
	a, b := newOfflineBackend(t, "a"), newOfflineBackend(t, "b")
	if a.phones == nil || b.phones == nil {
		t.Fatal("a Backend from New has no Normalizer")
	}
	if a.phones == b.phones {
		t.Error("two Backends share one Normalizer")
	}
}

// Phone errors reach responses and logs, and mask a possible real number
// exactly as WAzion's log lines do, so one number reads the same in both.
func TestPhoneErrorsMaskedLikeLogs(t *testing.T) {
	b := newOfflineBackend(t, "mask")
	tests := []struct{ raw, region string }{
		{"1234567890123456789012", "DO"},
		{"+1234567890123456789", ""},
		{"+34 612 34 56 78 99", ""},
		{"3001234567891", "CO"},
		{"555-7777", "DO"},
		{"809-555-7777", ""},
		{"+999 1234 5678", ""},
		{"00999 1234 5678", ""},
		{"+910000000000", ""},
		{"3001234567", "ES"},
	}
	for _, tt := range tests {
		_, err := b.phones.Normalize(tt.raw, tt.region)
		if err == nil {
			t.Errorf("Normalize(%q, %q) accepted it", tt.raw, tt.region)
			continue
		}
		if want := `phone "` + wazion.MaskPhone(tt.raw) + `"`; !strings.Contains(err.Error(), want) {
			t.Errorf("Normalize(%q, %q) error %q, want it to name %s", tt.raw, tt.region, err, want)
		}
		if strings.Contains(err.Error(), tt.raw) {
			t.Errorf("Normalize(%q, %q) error %q shows the number unmasked", tt.raw, tt.region, err)
		}
	}
}
