package wazion

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorSaysItsMessageOnce(t *testing.T) {
	cause := errors.New(`invalid phone "abc": not a phone number`)
	tests := []struct {
		err  error
		want string
	}{
		{PublicError(cause.Error(), cause), `invalid phone "abc": not a phone number`},
		{PublicError("upstream unavailable", fmt.Errorf("fetch orders: %w", cause)), `upstream unavailable: fetch orders: invalid phone "abc": not a phone number`},
		{PublicError("timeout", nil), "timeout"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestMaskSecret(t *testing.T) {
	for in, want := range map[string]string{"": "", "short": "…", "demo-token": "…", "wk_live_0123456789": "wk_l…", "token-aaaa-1111": "toke…"} {
		if got := MaskSecret(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
