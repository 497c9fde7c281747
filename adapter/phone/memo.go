package phone

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultMemoSize bounds a Normalizer's memo unless Options set another
// bound: some thousands of phones in use at once, a few hundred bytes each.
const DefaultMemoSize = 20_000

// Options configure a Normalizer.
type Options struct {
	// MemoSize is how many results the Normalizer remembers at most
	// (default DefaultMemoSize).
	MemoSize int
}

// Normalizer is Normalize with a bounded memory of its results: the same few
// phones are read over and over, and a parse costs tens of microseconds
// where remembering costs tens of nanoseconds. Past the bound the least
// recently used result is forgotten: a flood of distinct phones costs a
// parse each, as without the memo, and the phones read again and again stay.
//
// Give each independent user its own: results do not depend on who asks,
// but what is kept, and so what a flood of one user's phones pushes out, is
// that user's alone. A Normalizer is safe for concurrent use.
type Normalizer struct {
	memo *lru.Cache[memoKey, memoResult]
}

type memoKey struct{ raw, region string }

type memoResult struct {
	e164 string
	err  error
}

// NewNormalizer returns a Normalizer with an empty memo.
func NewNormalizer(opts Options) *Normalizer {
	if opts.MemoSize <= 0 {
		opts.MemoSize = DefaultMemoSize
	}
	memo, err := lru.New[memoKey, memoResult](opts.MemoSize)
	if err != nil {
		// lru.New fails only for a size below 1, excluded above.
		panic("phone: " + err.Error())
	}
	return &Normalizer{memo: memo}
}

// Normalize is the package's Normalize, answered from the memo when raw was
// read in region before.
func (n *Normalizer) Normalize(raw, region string) (string, error) {
	if len(raw) > maxInput {
		// Rejected without parsing, and not worth a place in the memo.
		return Normalize(raw, region)
	}
	k := memoKey{raw, region}
	if r, ok := n.memo.Get(k); ok {
		return r.e164, r.err
	}
	e164, err := Normalize(raw, region)
	n.memo.Add(k, memoResult{e164, err})
	return e164, err
}

// KeyOf is the Key of raw read in region, or "" when raw is blank or does
// not parse: what matching a stored or received phone needs.
func (n *Normalizer) KeyOf(raw, region string) string {
	if strings.TrimSpace(raw) == "" {
		return ""
	}
	e164, err := n.Normalize(raw, region)
	if err != nil {
		return ""
	}
	return Key(e164)
}
