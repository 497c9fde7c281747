package adapter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// CustomerInitialInfo answers ai_CustomerInitialInfo: a compact text about
// the customer for WAzion's AI, in the store's label language. The phone
// finds the customer, or the email when the phone does not; a mentioned order
// is described in detail.
func (b *Backend) CustomerInitialInfo(ctx context.Context, req wazion.Request) (*wazion.InitialInfoResponse, error) {
	ctx = b.begin(ctx)
	phones := append([]string{req.Phone}, req.RelatedPhones...)
	found, lookupErr := b.customersByPhones(ctx, phones)
	if len(found) == 0 && req.Email != "" {
		var err error
		found, err = b.customersByEmail(ctx, req.Email)
		lookupErr = errors.Join(lookupErr, err)
		if len(found) > 0 {
			// The email found the customer: a phone WAzion could not
			// parse is not worth an error any more.
			lookupErr = err
		}
	}
	var mentioned *whatalo.Order
	var orderErr error
	if req.Order != "" {
		mentioned, orderErr = b.orderByNumber(ctx, req.Order)
	}
	resp := &wazion.InitialInfoResponse{}
	if len(found) == 0 && mentioned == nil {
		return resp, public(errors.Join(lookupErr, orderErr))
	}
	profiles, err := b.profiles(ctx, found)
	resp.Found = true
	resp.Info = b.aiText(profiles, mentioned)
	return resp, public(errors.Join(lookupErr, orderErr, err))
}

// maxAICustomers bounds how many customers the AI text describes.
const maxAICustomers = 3

// aiText writes the AI context, cut to the configured length.
func (b *Backend) aiText(ps []profile, mentioned *whatalo.Order) string {
	t := b.phrases()
	var sb strings.Builder
	if mentioned != nil {
		// The mentioned order goes first: it is what the chat is about,
		// and it must survive the length cut.
		b.writeOrderDetail(&sb, t, mentioned)
	}
	for i, p := range ps {
		if i == maxAICustomers {
			fmt.Fprintf(&sb, "%s: %d\n", t.moreCustomers, len(ps)-i)
			break
		}
		if i > 0 || mentioned != nil {
			sb.WriteString("\n")
		}
		b.writeCustomer(&sb, t, p)
	}
	return Truncate(strings.TrimSpace(sb.String()), b.opts.AIInfoMax)
}

func (b *Backend) writeCustomer(sb *strings.Builder, t phrases, p profile) {
	c := &p.customer
	l := b.labels
	fmt.Fprintf(sb, "%s: %s", t.customer, c.Name)
	if c.Email != "" {
		fmt.Fprintf(sb, " | %s: %s", l.Text("email"), c.Email)
	}
	if c.Phone != "" {
		fmt.Fprintf(sb, " | %s: %s", l.Text("phone"), b.displayPhone(c.Phone, p.region))
	}
	sb.WriteString("\n")
	fmt.Fprintf(sb, "%s: %s\n", l.Text("customer_state"), l.Text(ComputeState(p.orders, b.now(), b.opts.State)))
	currency := ""
	if len(p.orders) > 0 {
		currency = " " + p.orders[0].Currency
	}
	fmt.Fprintf(sb, "%s: %d | %s: %s%s", l.Text("orders_count"), max(c.OrdersCount, len(p.orders)),
		l.Text("total_spent"), formatMoney(b.money(c.TotalSpent)), currency)
	var refundedSum, discSum float64
	for i := range p.orders {
		o := b.mapOrder(&p.orders[i], p.storeURL)
		refundedSum += o.TotalRefunded
		discSum += o.TotalDiscounts
	}
	if refundedSum > 0 {
		fmt.Fprintf(sb, " | %s: %s%s", l.Text("total_refunded"), formatMoney(refundedSum), currency)
	}
	if discSum > 0 {
		fmt.Fprintf(sb, " | %s: %s%s", l.Text("discounts"), formatMoney(discSum), currency)
	}
	sb.WriteString("\n")
	if c.Notes != "" {
		fmt.Fprintf(sb, "%s: %s\n", t.notes, oneLine(c.Notes))
	}
	if len(p.orders) > 0 {
		fmt.Fprintf(sb, "%s:\n", t.lastOrders)
		for i := range p.orders[:min(3, len(p.orders))] {
			o := &p.orders[i]
			fmt.Fprintf(sb, "- #%d %s %s, %s %s, %s %s %s",
				o.OrderNumber, o.CreatedAt.Format(aiDate), t.status(o.Status),
				t.payment, t.paymentStatus(o.PaymentStatus),
				l.Text("amount"), formatMoney(b.money(o.Total)), o.Currency)
			if len(o.Items) > 0 {
				fmt.Fprintf(sb, "; %s: %s", strings.ToLower(l.Text("items")), itemList(o.Items))
			}
			sb.WriteString("\n")
		}
	}
	if fav := frequentProducts(p.orders, 3); len(fav) > 0 {
		fmt.Fprintf(sb, "%s: %s\n", t.frequent, strings.Join(fav, ", "))
	}
}

func (b *Backend) writeOrderDetail(sb *strings.Builder, t phrases, o *whatalo.Order) {
	l := b.labels
	fmt.Fprintf(sb, "%s #%d (%s): %s %s, %s %s, %s %s %s\n",
		t.mentionedOrder, o.OrderNumber, o.CreatedAt.Format(aiDate),
		l.Text("customer_state"), t.status(o.Status),
		t.payment, t.paymentStatus(o.PaymentStatus)+paymentMethod(o),
		l.Text("amount"), formatMoney(b.money(o.Total)), o.Currency)
	if o.CustomerName != "" {
		fmt.Fprintf(sb, "%s: %s\n", t.customer, o.CustomerName)
	}
	ship := o.ShippingMethod
	if o.ShippingAddress != nil && o.ShippingAddress.City != "" {
		ship = strings.TrimSpace(ship + " → " + o.ShippingAddress.City)
	}
	if ship != "" {
		fmt.Fprintf(sb, "%s: %s\n", l.Text("shipping"), ship)
	}
	if len(o.Items) > 0 {
		fmt.Fprintf(sb, "%s: %s\n", l.Text("items"), itemList(o.Items))
	}
	if note := b.orderNote(o, true); note != "" {
		fmt.Fprintf(sb, "%s: %s\n", l.Text("order_note"), oneLine(note))
	}
}

func paymentMethod(o *whatalo.Order) string {
	if o.PaymentMethod == "" {
		return ""
	}
	return " (" + o.PaymentMethod + ")"
}

func itemList(items []whatalo.LineItem) string {
	parts := make([]string, 0, len(items))
	for _, li := range items {
		parts = append(parts, fmt.Sprintf("%d× %s", li.Quantity, itemTitle(li)))
	}
	return strings.Join(parts, ", ")
}

// frequentProducts names the products bought most often across orders.
func frequentProducts(orders []whatalo.Order, n int) []string {
	count := map[string]int{}
	for _, o := range orders {
		if cancelled(&o) {
			continue
		}
		for _, li := range o.Items {
			count[li.ProductName] += li.Quantity
		}
	}
	names := make([]string, 0, len(count))
	for name := range count {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b))
	})
	return names[:min(n, len(names))]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func formatMoney(f float64) string { return fmt.Sprintf("%.2f", f) }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// phrases are the AI text's words that WAzion's label table lacks.
type phrases struct {
	customer, notes, lastOrders, frequent, payment, mentionedOrder, moreCustomers string
	internalNote                                                                  string // marks the store's internal notes
	statuses, payments                                                            map[string]string
}

func (t phrases) status(s string) string {
	if v, ok := t.statuses[s]; ok {
		return v
	}
	return s
}

func (t phrases) paymentStatus(s string) string {
	if v, ok := t.payments[s]; ok {
		return v
	}
	return s
}

func (b *Backend) phrases() phrases {
	if p, ok := aiPhrases[b.opts.Language]; ok {
		return p
	}
	return aiPhrases[wazion.DefaultLanguage]
}

var aiPhrases = map[string]phrases{
	"es": {
		internalNote: "Nota interna",
		customer:     "Cliente", notes: "Notas", lastOrders: "Últimos pedidos", frequent: "Productos frecuentes",
		payment: "pago", mentionedOrder: "Pedido mencionado", moreCustomers: "Otros clientes con este teléfono",
		statuses: map[string]string{"pending": "pendiente", "confirmed": "confirmado", "in_progress": "en preparación",
			"completed": "completado", "cancelled": "cancelado", "returned": "devuelto"},
		payments: map[string]string{"pending": "pendiente", "paid": "pagado", "refunded": "reembolsado", "failed": "fallido"},
	},
	"en": {
		internalNote: "Internal note",
		customer:     "Customer", notes: "Notes", lastOrders: "Last orders", frequent: "Frequent products",
		payment: "payment", mentionedOrder: "Mentioned order", moreCustomers: "Other customers with this phone",
		statuses: map[string]string{"pending": "pending", "confirmed": "confirmed", "in_progress": "in progress",
			"completed": "completed", "cancelled": "cancelled", "returned": "returned"},
		payments: map[string]string{"pending": "pending", "paid": "paid", "refunded": "refunded", "failed": "failed"},
	},
	"pt": {
		internalNote: "Nota interna",
		customer:     "Cliente", notes: "Notas", lastOrders: "Últimos pedidos", frequent: "Produtos frequentes",
		payment: "pagamento", mentionedOrder: "Pedido mencionado", moreCustomers: "Outros clientes com este telefone",
		statuses: map[string]string{"pending": "pendente", "confirmed": "confirmado", "in_progress": "em preparação",
			"completed": "concluído", "cancelled": "cancelado", "returned": "devolvido"},
		payments: map[string]string{"pending": "pendente", "paid": "pago", "refunded": "reembolsado", "failed": "falhou"},
	},
	"fr": {
		internalNote: "Note interne",
		customer:     "Client", notes: "Notes", lastOrders: "Dernières commandes", frequent: "Produits fréquents",
		payment: "paiement", mentionedOrder: "Commande mentionnée", moreCustomers: "Autres clients avec ce téléphone",
		statuses: map[string]string{"pending": "en attente", "confirmed": "confirmée", "in_progress": "en préparation",
			"completed": "terminée", "cancelled": "annulée", "returned": "retournée"},
		payments: map[string]string{"pending": "en attente", "paid": "payé", "refunded": "remboursé", "failed": "échoué"},
	},
	"de": {
		internalNote: "Interne Notiz",
		customer:     "Kunde", notes: "Notizen", lastOrders: "Letzte Bestellungen", frequent: "Häufige Produkte",
		payment: "Zahlung", mentionedOrder: "Erwähnte Bestellung", moreCustomers: "Weitere Kunden mit dieser Nummer",
		statuses: map[string]string{"pending": "ausstehend", "confirmed": "bestätigt", "in_progress": "in Bearbeitung",
			"completed": "abgeschlossen", "cancelled": "storniert", "returned": "zurückgesendet"},
		payments: map[string]string{"pending": "ausstehend", "paid": "bezahlt", "refunded": "erstattet", "failed": "fehlgeschlagen"},
	},
	"it": {
		internalNote: "Nota interna",
		customer:     "Cliente", notes: "Note", lastOrders: "Ultimi ordini", frequent: "Prodotti frequenti",
		payment: "pagamento", mentionedOrder: "Ordine menzionato", moreCustomers: "Altri clienti con questo telefono",
		statuses: map[string]string{"pending": "in attesa", "confirmed": "confermato", "in_progress": "in preparazione",
			"completed": "completato", "cancelled": "annullato", "returned": "reso"},
		payments: map[string]string{"pending": "in attesa", "paid": "pagato", "refunded": "rimborsato", "failed": "fallito"},
	},
}

// aiDate is the date format of the AI text: ISO, so no reader mistakes
// day for month.
const aiDate = time.DateOnly
