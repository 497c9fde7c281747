package wazion

import "strings"

// Error is a Backend error that carries the text WAzion should see. WAzion
// may show "error" in the side panel, so without an Error the handler sends
// only a generic message and keeps the details for the log.
type Error struct {
	// Message is short, safe to show, and free of secrets and phones.
	Message string
	// Err is the full cause, for the log.
	Err error
}

// PublicError returns an error whose Message is msg and whose cause is err.
func PublicError(msg string, err error) error {
	return &Error{Message: msg, Err: err}
}

// Error returns the message followed by the cause, for logs; a cause that
// already says the message is not preceded by it again.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	cause := e.Err.Error()
	if strings.HasPrefix(cause, e.Message) {
		return cause
	}
	return e.Message + ": " + cause
}

// Unwrap returns the cause, so errors.Is sees context.DeadlineExceeded and
// the like through an Error.
func (e *Error) Unwrap() error { return e.Err }
