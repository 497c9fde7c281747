package adapter

import (
	"context"
	"errors"
	"sync"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// CustomerInfo answers sidePanel_CustomerInfo: every customer whose phone
// matches the phone or a related phone, with recent orders, items, state and
// abandoned carts.
func (b *Backend) CustomerInfo(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
	ctx = b.begin(ctx)
	phones := append([]string{req.Phone}, req.RelatedPhones...)
	found, lookupErr := b.customersByPhones(ctx, phones)
	resp := &wazion.CustomerInfoResponse{Customers: []wazion.Customer{}}
	if len(found) == 0 {
		return resp, public(lookupErr)
	}
	profiles, err := b.profiles(ctx, found)
	for _, p := range profiles {
		resp.Customers = append(resp.Customers, b.panelCustomer(p))
	}
	resp.Found = len(resp.Customers) > 0
	return resp, public(errors.Join(lookupErr, err))
}

// profile is a customer with the orders the endpoints show.
type profile struct {
	customer whatalo.Customer
	orders   []whatalo.Order // newest first; the first few carry items
	region   string
	storeURL string
}

// profiles loads the recent orders of each customer in parallel, and the
// items of the newest few. A customer whose orders fail still appears, with
// the orders that could be had.
func (b *Backend) profiles(ctx context.Context, cs []whatalo.Customer) ([]profile, error) {
	region := b.region(ctx)
	storeURL, _ := b.storefront(ctx)
	out := make([]profile, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		out[i] = profile{customer: c, region: region, storeURL: storeURL}
		if c.OrdersCount == 0 && c.LastOrderID == "" {
			continue
		}
		if c.OrdersCount == 1 && c.LastOrderID != "" && b.opts.OrdersWithItems > 0 {
			wg.Go(func() { out[i].orders, errs[i] = b.onlyOrder(ctx, c) })
			continue
		}
		wg.Go(func() {
			orders, err := b.recentOrders(ctx, c.ID, b.opts.OrdersCount)
			if err != nil {
				errs[i] = err
				return
			}
			out[i].orders, errs[i] = b.withItems(ctx, orders, b.opts.OrdersWithItems)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// panelCustomer maps a profile to the side panel's customer.
func (b *Backend) panelCustomer(p profile) wazion.Customer {
	c := &p.customer
	wc := wazion.Customer{
		Name:           c.Name,
		Email:          c.Email,
		Phone:          b.displayPhone(c.Phone, p.region),
		ShopURL:        b.opts.URLs.CustomerURL(p.storeURL, c.ID),
		OrdersCount:    max(c.OrdersCount, len(p.orders)),
		TotalSpent:     b.money(c.TotalSpent),
		State:          b.labels.Text(ComputeState(p.orders, b.now(), b.opts.State)),
		Orders:         make([]wazion.Order, 0, len(p.orders)),
		AbandonedCarts: b.abandonedCarts(c, p.region),
	}
	for i := range p.orders {
		o := b.mapOrder(&p.orders[i], p.storeURL)
		wc.TotalRefunded += o.TotalRefunded
		wc.TotalDiscounts += o.TotalDiscounts
		wc.Orders = append(wc.Orders, o)
	}
	wc.TotalRefunded = round2(wc.TotalRefunded)
	wc.TotalDiscounts = round2(wc.TotalDiscounts)
	return wc
}
