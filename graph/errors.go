package graph

import "errors"

// Errors a caller can tell apart with errors.Is (a missing file is fs.ErrNotExist, as the os package reports it).
var (
	// ErrUnsupportedArchitecture: the config names an architecture or model_type hift does not implement.
	ErrUnsupportedArchitecture = errors.New("unsupported architecture")
	// ErrBadConfig: config.json is not valid JSON, lacks what the architecture needs, or holds inconsistent or
	// absurd sizes.
	ErrBadConfig = errors.New("bad config")
)

// kindError adds a sentinel kind to an error without changing its message: errors.Is matches both the kind
// and everything err wraps.
type kindError struct {
	kind, err error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// withKind marks err (nil stays nil; an error already of that kind is returned as it is).
func withKind(kind, err error) error {
	if err == nil || errors.Is(err, kind) {
		return err
	}
	return &kindError{kind: kind, err: err}
}
