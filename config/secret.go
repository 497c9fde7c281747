package config

import (
	"encoding/json"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"log/slog"
)

// Secret is a credential. Its String, JSON and slog forms are redacted so it
// cannot leak through logs or error messages by accident; Value gives the
// real text to the code that must send it.
type Secret string

const redacted = "[redacted]"

// Value returns the secret's text.
func (s Secret) Value() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret under %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Mask shows at most the secret's first 4 characters ("wk_l…"), by the one
// rule keys and tokens are masked by wherever they are shown
// (wazion.MaskSecret).
func (s Secret) Mask() string { return wazion.MaskSecret(string(s)) }
