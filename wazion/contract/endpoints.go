package contract

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// refusal expects the answer to a wrong token to hold an error and no data.
func (c *checker) refusal(doc map[string]any, errMsg string) string {
	found, _ := doc["found"].(bool)
	leaked := found
	for _, key := range []string{"customers", "customer", "products", "results"} {
		switch v := doc[key].(type) {
		case []any:
			leaked = leaked || len(v) > 0
		case map[string]any:
			leaked = true
		}
	}
	if info, _ := doc["info"].(string); info != "" {
		leaked = true
	}
	if leaked {
		c.fail("", "answered data to a wrong token: anyone who knows the URL can read the store's customers")
		return "not refused"
	}
	if errMsg == "" {
		c.warn("", `refused without an "error" field saying why`)
		return "refused"
	}
	return fmt.Sprintf("refused: error %q", errMsg)
}

var itemStatuses = map[string]bool{wazion.ItemActive: true, wazion.ItemPartiallyRefunded: true, wazion.ItemFullyRefunded: true}

func (c *checker) customerInfo(doc map[string]any, call Call) string {
	found, _ := c.boolean(doc, "", "found", true)
	customers, ok := c.objects(doc, "", "customers", false)
	if !ok {
		if one, isObj := doc["customer"].(map[string]any); isObj {
			customers = []map[string]any{one}
		}
	}
	switch {
	case found && len(customers) == 0:
		c.fail("customers", "found is true but no customer is listed")
	case !found && len(customers) > 0:
		c.warn("found", "false, yet customers are listed")
	case call.Test && !found:
		c.fail("found", "false for test=true: WAzion's connection test expects the sample customer")
	}
	states := c.labels(doc)
	orders := 0
	for i, cu := range customers {
		p := fmt.Sprintf("customers[%d]", i)
		c.str(cu, p, "name", true)
		c.str(cu, p, "email", true)
		if c.str(cu, p, "phone", true) == "" {
			c.warn(p+".phone", "empty")
		}
		c.num(cu, p, "ordersCount", true)
		c.num(cu, p, "totalSpent", true)
		state := c.str(cu, p, "state", true)
		if len(states) > 0 && state != "" && !states[state] {
			c.warn(p+".state", "%q is not one of the state_* labels", state)
		}
		c.str(cu, p, "shopUrl", false)
		c.num(cu, p, "totalRefunded", false)
		c.num(cu, p, "totalDiscounts", false)
		os, _ := c.objects(cu, p, "orders", false)
		orders += len(os)
		for j, o := range os {
			c.order(o, fmt.Sprintf("%s.orders[%d]", p, j))
		}
		carts, _ := c.objects(cu, p, "abandonedCarts", false)
		for j, cart := range carts {
			cp := fmt.Sprintf("%s.abandonedCarts[%d]", p, j)
			c.date(cart, cp, "date", true)
			c.str(cart, cp, "url", false)
			items, _ := c.objects(cart, cp, "items", false)
			for k, it := range items {
				c.item(it, fmt.Sprintf("%s.items[%d]", cp, k))
			}
		}
	}
	if !found {
		return "not found"
	}
	return fmt.Sprintf("found: %s, %s", plural(len(customers), "customer", "customers"), plural(orders, "order", "orders"))
}

// labels checks the optional labels object, which must then hold every
// label key with a text, and returns the texts of the state_* labels.
func (c *checker) labels(doc map[string]any) map[string]bool {
	states := map[string]bool{}
	v, present := c.field(doc, "", "labels", "object", false)
	if !present {
		return states
	}
	labels := v.(map[string]any)
	var missing []string
	for _, key := range wazion.LabelKeys() {
		if t, _ := labels[key].(string); t == "" {
			missing = append(missing, key)
		} else if strings.HasPrefix(key, "state_") {
			states[t] = true
		}
	}
	if len(missing) > 0 {
		c.fail("labels", "%d of WAzion's label keys missing or empty: %s", len(missing), strings.Join(missing, ", "))
	}
	return states
}

// order checks one order of sidePanel_CustomerInfo, at path op.
func (c *checker) order(o map[string]any, op string) {
	c.str(o, op, "name", true)
	c.date(o, op, "date", true)
	c.num(o, op, "amount", true)
	c.num(o, op, "netAmount", false)
	c.num(o, op, "totalRefunded", false)
	c.num(o, op, "totalDiscounts", false)
	c.str(o, op, "currency", true)
	c.boolean(o, op, "cancelled", false)
	c.str(o, op, "shopUrl", false)
	c.str(o, op, "note", false)
	items, _ := c.objects(o, op, "items", false)
	for k, it := range items {
		ip := fmt.Sprintf("%s.items[%d]", op, k)
		c.item(it, ip)
		for _, key := range []string{"currentQuantity", "originalAmount", "discountedAmount", "discount", "refundedQuantity", "refundedAmount"} {
			c.num(it, ip, key, false)
		}
		if st := c.str(it, ip, "status", false); st != "" && !itemStatuses[st] {
			c.fail(ip+".status", "%q is not active, partially_refunded or fully_refunded", st)
		}
	}
	tracking, _ := c.objects(o, op, "tracking", false)
	for k, tr := range tracking {
		tp := fmt.Sprintf("%s.tracking[%d]", op, k)
		for _, key := range []string{"number", "company", "url", "displayStatus"} {
			c.str(tr, tp, key, false)
		}
	}
}

// item checks what every line of an order or an abandoned cart has, at
// path ip.
func (c *checker) item(it map[string]any, ip string) {
	c.str(it, ip, "title", true)
	c.num(it, ip, "quantity", true)
	c.num(it, ip, "amount", true)
}

func (c *checker) initialInfo(doc map[string]any, call Call) string {
	found, _ := c.boolean(doc, "", "found", true)
	info := c.str(doc, "", "info", found)
	switch {
	case found && strings.TrimSpace(info) == "":
		c.fail("info", "empty although found is true: the AI gets no context")
	case call.Test && !found:
		c.fail("found", "false for test=true: WAzion's connection test expects the sample text")
	}
	if !found {
		return "not found"
	}
	return fmt.Sprintf("found: %d characters of text", utf8.RuneCountInString(info))
}

func (c *checker) findToJoin(doc map[string]any, call Call) string {
	key := "customers"
	if _, ok := doc["customers"]; !ok {
		if _, ok := doc["results"]; ok {
			key = "results"
		}
	}
	customers, _ := c.objects(doc, "", key, true)
	if call.Test && len(customers) == 0 {
		c.fail(key, "empty for test=true: WAzion's connection test expects sample customers")
	}
	excluded := map[string]bool{}
	for _, p := range call.Phones {
		if d := digits(p); d != "" {
			excluded[d] = true
		}
	}
	for i, cu := range customers {
		p := fmt.Sprintf("%s[%d]", key, i)
		c.id(cu, p, "id")
		c.str(cu, p, "name", true)
		c.str(cu, p, "email", true)
		phone := c.str(cu, p, "phone", true)
		if phone == "" {
			c.warn(p+".phone", "empty: WAzion cannot link the conversation to this customer")
		}
		if !call.Test && excluded[digits(phone)] {
			c.fail(p+".phone", "is the conversation's phone or a related one, which WAzion asked to leave out")
		}
	}
	return plural(len(customers), "candidate", "candidates")
}

func (c *checker) products(doc map[string]any, call Call) string {
	if st, ok := c.num(doc, "", "http_status", true); ok && st != 200 {
		c.warn("http_status", "%v, expected 200", st)
	}
	products := c.productList(doc, call, false)
	c.str(doc, "", "target_locale", true)
	if _, ok := doc["raw"]; !ok {
		c.warn("raw", "missing (WAzion documents it for debugging)")
	}
	return plural(len(products), "product", "products")
}

func (c *checker) productsAI(doc map[string]any, call Call) string {
	products := c.productList(doc, call, true)
	c.str(doc, "", "locale", true)
	return plural(len(products), "product", "products") + " (AI format)"
}

// productList checks count and products, common to both formats.
func (c *checker) productList(doc map[string]any, call Call, ai bool) []map[string]any {
	count, hasCount := c.num(doc, "", "count", true)
	products, _ := c.objects(doc, "", "products", true)
	if hasCount && int(count) != len(products) {
		c.fail("count", "%v, but %d products are listed", count, len(products))
	}
	if call.Test && len(products) == 0 {
		c.fail("products", "empty for test=true: WAzion's connection test expects the sample product")
	}
	for i, p := range products {
		pp := fmt.Sprintf("products[%d]", i)
		if c.str(p, pp, "title", true) == "" {
			c.fail(pp+".title", "empty")
		}
		c.str(p, pp, "handle", true)
		desc := c.str(p, pp, "description", true)
		if n := utf8.RuneCountInString(desc); !ai && n > wazion.MaxDescriptionRunes {
			c.fail(pp+".description", "%d characters; WAzion's normal format allows %d", n, wazion.MaxDescriptionRunes)
		}
		c.str(p, pp, "sku", true)
		if c.str(p, pp, "url", true) == "" {
			c.warn(pp+".url", "empty: the agent cannot share a link")
		}
		if !ai {
			c.str(p, pp, "title_copy", false)
			c.str(p, pp, "image", true)
		}
		variants, _ := c.objects(p, pp, "variants", true)
		for j, v := range variants {
			vp := fmt.Sprintf("%s.variants[%d]", pp, j)
			c.id(v, vp, "id")
			c.str(v, vp, "title", true)
			c.str(v, vp, "sku", true)
			if u := c.str(v, vp, "url", true); u != "" && !strings.Contains(u, "variant=") {
				c.warn(vp+".url", "has no variant= parameter")
			}
			if !ai {
				c.str(v, vp, "title_copy", false)
				c.boolean(v, vp, "has_custom_title", false)
				c.str(v, vp, "image", false)
			}
		}
	}
	return products
}

func (c *checker) globalSearch(doc map[string]any, call Call) string {
	found, _ := c.boolean(doc, "", "found", true)
	customers, _ := c.objects(doc, "", "customers", found)
	switch {
	case found && len(customers) == 0:
		c.fail("customers", "found is true but no customer is listed")
	case call.Test && !found:
		c.fail("found", "false for test=true: WAzion's connection test expects the sample customer")
	}
	if len(customers) > wazion.MaxGlobalResults {
		c.fail("customers", "%d listed; WAzion shows at most %d", len(customers), wazion.MaxGlobalResults)
	}
	phones := map[string]bool{}
	for i, cu := range customers {
		p := fmt.Sprintf("customers[%d]", i)
		c.id(cu, p, "id")
		c.str(cu, p, "name", true)
		c.str(cu, p, "email", true)
		phone := c.str(cu, p, "phone", true)
		switch d := digits(phone); {
		case phone == "":
			c.warn(p+".phone", "empty: the agent cannot open a chat with this customer")
		case phones[d]:
			c.warn(p+".phone", "repeated: WAzion drops duplicates by phone")
		default:
			phones[d] = true
		}
		c.str(cu, p, "customerUrl", false)
		orders, _ := c.objects(cu, p, "orders", false)
		if len(orders) > wazion.MaxGlobalOrders {
			c.warn(p+".orders", "%d listed; WAzion shows at most %d", len(orders), wazion.MaxGlobalOrders)
		}
		for j, or := range orders {
			op := fmt.Sprintf("%s.orders[%d]", p, j)
			c.str(or, op, "number", true)
			c.str(or, op, "url", false)
		}
	}
	if !found {
		return "not found"
	}
	return "found: " + plural(len(customers), "customer", "customers")
}
