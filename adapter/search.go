package adapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Result caps of the searches.
const (
	maxJoinResults   = 20
	maxGlobalResults = 15
	globalOrders     = 3
	searchPageSize   = 25
)

// FindToJoin answers sidePanel_CustomerFindToJoin: customers matching the
// query by name, email, phone or order number, except those already on the
// conversation (its phone and related phones).
func (b *Backend) FindToJoin(ctx context.Context, req wazion.Request) (*wazion.FindToJoinResponse, error) {
	ctx = b.begin(ctx)
	resp := &wazion.FindToJoinResponse{Customers: []wazion.JoinCustomer{}}
	q := strings.TrimSpace(req.Query)
	if utf8.RuneCountInString(q) < 2 {
		return resp, nil
	}
	exclude, _ := b.phoneKeys(ctx, append([]string{req.Phone}, req.RelatedPhones...))
	skip := map[string]bool{}
	for _, k := range exclude {
		skip[k] = true
	}
	cs, err := b.findCustomers(ctx, q)
	region := b.region(ctx)
	for _, c := range cs {
		if len(resp.Customers) == maxJoinResults {
			break
		}
		if k := b.customerPhoneKey(&c, region); k != "" && skip[k] {
			continue
		}
		resp.Customers = append(resp.Customers, wazion.JoinCustomer{
			ID: c.ID, Name: c.Name, Email: c.Email, Phone: b.displayPhone(c.Phone, region),
		})
	}
	return resp, public(err)
}

// GlobalSearch answers globalSearch: up to 15 customers matching the query
// that have a phone, one per phone, each with up to 3 recent orders fetched
// in what is left of the budget.
func (b *Backend) GlobalSearch(ctx context.Context, req wazion.Request) (*wazion.GlobalSearchResponse, error) {
	ctx = b.begin(ctx)
	resp := &wazion.GlobalSearchResponse{Customers: []wazion.GlobalCustomer{}}
	q := strings.TrimSpace(req.Query)
	if utf8.RuneCountInString(q) < 2 {
		return resp, nil
	}
	cs, err := b.findCustomers(ctx, q)
	region := b.region(ctx)
	storeURL, _ := b.storefront(ctx)
	seen := map[string]bool{}
	var picked []whatalo.Customer
	for _, c := range cs {
		if len(picked) == maxGlobalResults {
			break
		}
		// WAzion opens the chat with the phone it gets and keeps one
		// customer per phone: a customer without a phone it can dial
		// cannot be opened, and several would collapse into one. The next
		// ones fill the 15. (FindToJoin keeps them: joining needs no
		// phone.)
		k := b.customerPhoneKey(&c, region)
		if k == "" {
			continue
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		picked = append(picked, c)
	}
	// Orders are a bonus: fetch them in most of what remains of the
	// budget, and answer without them when time runs out.
	octx, cancel := phaseContext(ctx, 0.8)
	defer cancel()
	orders := make([][]whatalo.Order, len(picked))
	var wg sync.WaitGroup
	for i, c := range picked {
		if c.OrdersCount == 0 && c.LastOrderID == "" {
			continue
		}
		wg.Go(func() { orders[i], _ = b.recentOrders(octx, c.ID, globalOrders) })
	}
	wg.Wait()
	for i, c := range picked {
		gc := wazion.GlobalCustomer{
			ID: c.ID, Name: c.Name, Email: c.Email, Phone: b.displayPhone(c.Phone, region),
			CustomerURL: b.opts.URLs.CustomerURL(storeURL, c.ID), Orders: []wazion.OrderLink{},
		}
		for _, o := range orders[i] {
			gc.Orders = append(gc.Orders, wazion.OrderLink{
				Number: "#" + itoa(o.OrderNumber), URL: b.opts.URLs.OrderURL(storeURL, o.ID, itoa(o.OrderNumber)),
			})
		}
		resp.Customers = append(resp.Customers, gc)
	}
	resp.Found = len(resp.Customers) > 0
	return resp, public(err)
}

// phaseContext derives a context ending after frac of the time left before
// ctx's deadline, so a best-effort phase leaves room to answer.
func phaseContext(ctx context.Context, frac float64) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(dl)
	return context.WithTimeout(ctx, time.Duration(float64(left)*frac))
}

// findCustomers finds customers by name, email, phone or order number. A
// query that could be a phone or an order number runs the customer and the
// order search concurrently; exact phone matches come first.
func (b *Backend) findCustomers(ctx context.Context, q string) ([]whatalo.Customer, error) {
	var (
		byPhone, bySearch, byOrder    []whatalo.Customer
		phoneErr, searchErr, orderErr error
		wg                            sync.WaitGroup
	)
	digits := phone.DigitCount(q)
	if digits >= 7 && looksNumeric(q) {
		wg.Go(func() {
			if keys, err := b.phoneKeys(ctx, []string{q}); err == nil && len(keys) == 1 {
				byPhone, phoneErr = b.customersByPhoneKey(ctx, keys[0])
			}
		})
	}
	wg.Go(func() { bySearch, searchErr = b.customerSearch(ctx, q) })
	if n := strings.TrimPrefix(q, "#"); digits > 0 && digits <= 9 && looksNumeric(n) {
		wg.Go(func() { byOrder, orderErr = b.customersOfOrders(ctx, n) })
	}
	wg.Wait()
	var out []whatalo.Customer
	seen := map[string]bool{}
	for _, list := range [][]whatalo.Customer{byPhone, byOrder, bySearch} {
		for _, c := range list {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
	}
	err := errors.Join(phoneErr, searchErr, orderErr)
	if len(out) > 0 && err != nil && ctx.Err() == nil {
		// Some searches answered: report the failure of the others
		// without losing what was found.
		return out, fmt.Errorf("partial results: %w", err)
	}
	return out, err
}

// customerSearch is Whatalo's customer search, cached.
func (b *Backend) customerSearch(ctx context.Context, q string) ([]whatalo.Customer, error) {
	key := strings.ToLower(q)
	cs, res, err := cache.Fetch(ctx, b.cache, cache.KindCustomerSearch, key, func(ctx context.Context) ([]whatalo.Customer, error) {
		cs, _, err := b.client.Customers.List(ctx, &whatalo.CustomerListOptions{Search: q, PerPage: searchPageSize})
		if err != nil {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		return cs, nil
	})
	annotateCache(ctx, res)
	return cs, err
}

// customersOfOrders finds the customers of orders whose number is n.
func (b *Backend) customersOfOrders(ctx context.Context, n string) ([]whatalo.Customer, error) {
	o, err := b.orderByNumber(ctx, n)
	if err != nil || o == nil || o.CustomerID == "" {
		return nil, err
	}
	c, err := b.customer(ctx, o.CustomerID)
	if err != nil || c == nil {
		return nil, err
	}
	return []whatalo.Customer{*c}, nil
}

// looksNumeric reports whether s is made of digits and phone punctuation.
func looksNumeric(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && !strings.ContainsRune("+-() .", r) {
			return false
		}
	}
	return s != ""
}
