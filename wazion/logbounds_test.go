package wazion_test

import (
	"context"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// maxPhone is the longest a masked phone may be in a log line.
const maxPhone = 32

// TestLogFieldsAreBounded sends requests whose every part is as long as the
// body limit allows and checks that no log field grows with them: a caller
// must not be able to turn one request into kilobytes of log.
func TestLogFieldsAreBounded(t *testing.T) {
	var logs logBuffer
	long := strings.Repeat("7", 10000)
	fake := &fakeBackend{name: "A", customerInfo: func(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		// A Backend quoting the request in a note, as adapter does with
		// unreadable phones.
		wazion.Annotate(ctx, "bad_phones", "phone: cannot read "+strings.Repeat("x", 10000))
		wazion.Annotate(ctx, strings.Repeat("k", 1000), "v")
		return &wazion.CustomerInfoResponse{}, nil
	}}
	app := oneStore(t, fake, wazion.Options{Logger: newLogger(&logs), BodyLimit: 64 << 10})

	do(t, app, postJSON(path(wazion.EndpointCustomerInfo)+"?token="+tokenA, `{"phone":"+`+long+`"}`))
	// An odd Content-Type is quoted in the parse error's detail.
	r := postJSON(path(wazion.EndpointCustomerInfo)+"?token="+tokenA, `{"phone":`)
	r.Header.Set("Content-Type", "application/x-"+strings.Repeat("z", 3000))
	do(t, app, r)

	lines := logs.lines(t)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2: %.300s", len(lines), logs.String())
	}
	if p, _ := lines[0]["phone"].(string); len(p) > maxPhone || !strings.HasPrefix(p, "+7777*") || !strings.Contains(p, "*77") {
		t.Errorf("logged phone %q (%d bytes), want at most %d", p, len(p), maxPhone)
	}
	if d, _ := lines[1]["detail"].(string); d == "" || len(d) > 1024 {
		t.Errorf("logged detail of %d bytes: %.100s", len(d), d)
	}
	for i, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if len(l) > 2048 {
			t.Errorf("log line %d is %d bytes: %.300s...", i, len(l), l)
		}
	}
	if strings.Contains(logs.String(), long[:100]) {
		t.Errorf("the phone's digits reach the log: %.300s", logs.String())
	}
}

func TestMaskPhoneIsBounded(t *testing.T) {
	for _, in := range []string{strings.Repeat("1", 10000), "+" + strings.Repeat("2", 33), "+34 " + strings.Repeat("5 ", 5000)} {
		got := wazion.MaskPhone(in)
		if len(got) > maxPhone || len(got) < 20 || !strings.Contains(got, "****") {
			t.Errorf("MaskPhone(%.20q...) = %q (%d bytes)", in, got, len(got))
		}
	}
	// Past the longest real number the masked form says the length, so
	// such inputs stay apart by length.
	if got := wazion.MaskPhone("+" + strings.Repeat("3", 31)); got != "+3333********33 (31 digits)" {
		t.Errorf("31 digits masked as %q", got)
	}
}
