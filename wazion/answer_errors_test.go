package wazion_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// errorObserver records the answers that carried an error.
type errorObserver struct {
	recordingObserver
	mu   sync.Mutex
	errs []wazion.AnswerError
}

func (o *errorObserver) ObserveAnswerError(e wazion.AnswerError) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, e)
}

func (o *errorObserver) errors() []wazion.AnswerError {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]wazion.AnswerError(nil), o.errs...)
}

func TestErrorObserverSeesAnswersWithAnError(t *testing.T) {
	fake := &fakeBackend{name: "A", customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
		return nil, wazion.PublicError("upstream unavailable", errors.New("dial tcp: refused"))
	}}
	obs := &errorObserver{}
	app := oneStore(t, fake, wazion.Options{Observer: obs})

	do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA+"&phone=%2B18095551234"))
	do(t, app, get(path(wazion.EndpointCustomerInitialInfo)+"?token="+tokenA+"&phone=%2B18095551234"))
	do(t, app, get(path(wazion.EndpointGlobalSearch)+"?token="+tokenA+"&query=x"))
	do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token=wrong-token-1234&phone=%2B18095551234"))

	got := obs.errors()
	if len(got) != 2 {
		t.Fatalf("observed %d answers with an error, want 2 (the failing lookup and the short query; not the good answer nor the bad token): %+v", len(got), got)
	}
	first := got[0]
	if first.Store != "A" || first.Endpoint != wazion.EndpointCustomerInfo || first.Outcome != wazion.OutcomeError ||
		first.Error != "upstream unavailable" || first.Time.IsZero() {
		t.Errorf("first = %+v", first)
	}
	if first.Phone != wazion.MaskPhone("+18095551234") {
		t.Errorf("phone = %q, want it masked as %q", first.Phone, wazion.MaskPhone("+18095551234"))
	}
	if second := got[1]; second.Endpoint != wazion.EndpointGlobalSearch || second.Outcome != wazion.OutcomeBadRequest || second.Phone != "" {
		t.Errorf("second = %+v", second)
	}
}
