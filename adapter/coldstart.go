package adapter

import (
	"errors"

	"golang.org/x/time/rate"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// errIndexBuilding refuses a lookup's search while the store's first index
// build runs and the lookups already searching used the searches it allows.
var errIndexBuilding = errors.New("phone index still building: searches for phones it does not hold yet are rationed")

// A store's first index build is what every lookup waits for, since until
// it ends each new phone costs a search: two things keep lookups from
// taking the budget it needs. The build holds the Limiter's background
// share (whatalo.Limiter.ReserveShare), so interactive calls cannot take
// its turns, and the searches lookups make meanwhile are rationed
// (coldSearches), so those past the ration answer at once with a clear
// error instead of queueing for turns until their deadline.

// defaultColdSearches is IndexOptions.ColdSearchesPerMinute's default for
// a key's Limiter: half of what interactive calls have beside the
// background share, leaving the other half for the orders and details of
// the customers found.
func defaultColdSearches(l *whatalo.Limiter) int {
	return max(1, int(float64(l.PerMinute())*(1-l.BackgroundShare())/2))
}

// newColdSearches returns the ration of searches, perMinute of them,
// a tenth at once; nil when perMinute is negative (no ration).
func newColdSearches(perMinute int) *rate.Limiter {
	if perMinute < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(1, perMinute/10))
}

// indexCold reports whether lookups wait for a first build: Run keeps the
// index (building it, or following another replica's) and it was never
// ready. Without Run, as in a tool or a test, lookups search freely.
func (b *Backend) indexCold() bool {
	if !b.running.Load() {
		return false
	}
	built, _, _ := b.index.syncState()
	return !built
}

// allowColdSearch takes a search from the ration while the index is cold.
func (b *Backend) allowColdSearch() error {
	if b.coldSearches == nil || !b.indexCold() || b.coldSearches.Allow() {
		return nil
	}
	return errIndexBuilding
}

// holdShareForFirstBuild reserves the background share while the index
// has never been built (see ReserveShare); release ends it.
func (b *Backend) holdShareForFirstBuild() (release func()) {
	if built, _, _ := b.index.syncState(); built {
		return func() {}
	}
	return b.client.Limiter().ReserveShare()
}
