package wazion

import (
	"reflect"
	"slices"
	"strings"
	"unsafe"
)

// The six customer states. Their label text is what WAzion shows as a
// customer's state, so a Backend picks one of these keys and sends
// Labels.Text(key).
const (
	StateNoOrders     = "state_no_orders"
	StateConflictive  = "state_conflictive"
	StateProcessing   = "state_processing"
	StateNewOrders    = "state_new_orders"
	StateRecentOrders = "state_recent_orders"
	StateOldOrders    = "state_old_orders"
)

// Labels is WAzion's label table for the side panel, in one language. Each
// field's JSON tag is its WAzion key, the one place a key is written:
// LabelKeys and Text read the keys from the tags. Field order is the order
// of WAzion's published table, and encoding/json keeps it, so the JSON
// object lists the keys as WAzion documents them.
type Labels struct {
	LabelLanguages    string `json:"label_languages"`
	CustomerInfo      string `json:"customer_info"`
	Name              string `json:"name"`
	Email             string `json:"email"`
	Phone             string `json:"phone"`
	OrdersCount       string `json:"orders_count"`
	TotalSpent        string `json:"total_spent"`
	TotalRefunded     string `json:"total_refunded"`
	Discounts         string `json:"discounts"`
	CustomerState     string `json:"customer_state"`
	RecentOrders      string `json:"recent_orders"`
	Order             string `json:"order"`
	Orders            string `json:"orders"`
	OrderNumber       string `json:"order_number"`
	Date              string `json:"date"`
	Amount            string `json:"amount"`
	NetAmount         string `json:"net_amount"`
	Subtotal          string `json:"subtotal"`
	Discount          string `json:"discount"`
	Refund            string `json:"refund"`
	Refunded          string `json:"refunded"`
	Cancelled         string `json:"cancelled"`
	CancelReason      string `json:"cancel_reason"`
	Items             string `json:"items"`
	ItemStatus        string `json:"item_status"`
	Quantity          string `json:"quantity"`
	OriginalQuantity  string `json:"original_quantity"`
	CurrentQuantity   string `json:"current_quantity"`
	SKU               string `json:"sku"`
	Shipments         string `json:"shipments"`
	Shipping          string `json:"shipping"`
	TrackingNumber    string `json:"tracking_number"`
	NoShippingInfo    string `json:"no_shipping_info"`
	OrderNote         string `json:"order_note"`
	FullyRefunded     string `json:"fully_refunded"`
	PartiallyRefunded string `json:"partially_refunded"`
	Active            string `json:"active"`
	AbandonedCarts    string `json:"abandoned_carts"`
	CopyLink          string `json:"copy_link"`
	ViewCustomer      string `json:"view_customer"`
	ViewProfile       string `json:"view_profile"`
	RemoveAssignment  string `json:"remove_assignment"`
	NotFound          string `json:"not_found"`
	NoOrders          string `json:"no_orders"`
	Error             string `json:"error"`
	StateNoOrders     string `json:"state_no_orders"`
	StateConflictive  string `json:"state_conflictive"`
	StateProcessing   string `json:"state_processing"`
	StateNewOrders    string `json:"state_new_orders"`
	StateRecentOrders string `json:"state_recent_orders"`
	StateOldOrders    string `json:"state_old_orders"`
}

// labelKeys lists every label key in table order and labelFields finds
// where each key's text sits in Labels. Both are read once from Labels' JSON
// tags, so the struct is the one list of keys and adding a label takes its
// field and one line in each language table.
var labelKeys, labelFields = indexLabels()

// labelSlots is the size of labelFields: a power of two over twice the
// number of labels, so that a lookup probes one or two slots.
const labelSlots = 128

// labelField is a label key and the offset of its string field in Labels.
type labelField struct {
	key    string
	offset uintptr
}

// labelSlot hashes a key by its length and two of its bytes, which tell
// WAzion's keys apart well enough for a probe or two. Text runs for every
// state and AI text line, and hashing so little keeps it as cheap as a
// switch over the keys, a third of a map lookup, which hashes every byte.
func labelSlot(key string) int {
	n := len(key)
	return (n<<3 ^ int(key[n-1]) ^ int(key[n>>1])<<1) & (labelSlots - 1)
}

func indexLabels() (keys []string, fields *[labelSlots]labelField) {
	t := reflect.TypeFor[Labels]()
	if 2*t.NumField() > labelSlots {
		panic("wazion: more labels than labelSlots/2: raise labelSlots")
	}
	keys = make([]string, t.NumField())
	fields = new([labelSlots]labelField)
	for i := range keys {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Type.Kind() != reflect.String || key == "" || key == "-" {
			panic("wazion: Labels." + f.Name + " is not a string with a JSON key")
		}
		keys[i] = key
		j := labelSlot(key)
		for fields[j].key != "" {
			j = (j + 1) & (labelSlots - 1)
		}
		fields[j] = labelField{key: key, offset: f.Offset}
	}
	return keys, fields
}

// LabelKeys returns every label key in WAzion's table order.
func LabelKeys() []string {
	return slices.Clone(labelKeys)
}

// Text returns the label text for key, or "" for a key outside the table.
// It lets callers name a label by its WAzion key, as state rules and the AI
// text do, without a field per key.
func (l *Labels) Text(key string) string {
	if l == nil || key == "" {
		return ""
	}
	for j := labelSlot(key); ; j = (j + 1) & (labelSlots - 1) {
		switch f := &labelFields[j]; f.key {
		case key:
			// f.offset is that of a string field of Labels, read from
			// its type; reflect's Value.Field would cost more than the
			// lookup itself.
			return *(*string)(unsafe.Add(unsafe.Pointer(l), f.offset))
		case "":
			return ""
		}
	}
}

// labelTables holds the shared, read-only table of each supported language,
// the default first.
var labelTables = [...]*Labels{&labelsES, &labelsEN, &labelsPT, &labelsFR, &labelsDE, &labelsIT}

// SupportedLanguages returns the label languages this package ships, the
// default (es, WAzion's own) first.
func SupportedLanguages() []string {
	langs := make([]string, len(labelTables))
	for i, l := range labelTables {
		langs[i] = l.LabelLanguages
	}
	return langs
}

// DefaultLanguage is the label language used when none, or one without a
// table, is asked for: WAzion's reference table is Spanish.
const DefaultLanguage = "es"

// LabelsFor returns a copy of the label table for lang. It accepts a bare
// language ("en") or a locale ("en-US", "pt_BR"), in any case; anything
// else, including "", gets the Spanish table. The copy is the caller's to
// keep or change.
func LabelsFor(lang string) *Labels {
	l := *labelTable(normalizeLanguage(lang))
	return &l
}

// normalizeLanguage maps lang to a supported language, or "" when it has
// no table.
func normalizeLanguage(lang string) string {
	lang = strings.TrimSpace(lang)
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	lang = strings.ToLower(lang)
	if labelTable(lang).LabelLanguages != lang {
		return ""
	}
	return lang
}

// labelTable returns the shared, read-only table for a supported language,
// or the default language's.
func labelTable(lang string) *Labels {
	for _, l := range labelTables {
		if l.LabelLanguages == lang {
			return l
		}
	}
	return labelTables[0]
}

// labelsES holds WAzion's reference defaults, word for word.
var labelsES = Labels{
	LabelLanguages:    "es",
	CustomerInfo:      "Información del Cliente",
	Name:              "Nombre",
	Email:             "Email",
	Phone:             "Teléfono",
	OrdersCount:       "Pedidos",
	TotalSpent:        "Total gastado",
	TotalRefunded:     "Total reembolsado",
	Discounts:         "Descuentos",
	CustomerState:     "Estado",
	RecentOrders:      "Pedidos recientes",
	Order:             "Pedido",
	Orders:            "Pedidos",
	OrderNumber:       "Nº de pedido",
	Date:              "Fecha",
	Amount:            "Importe",
	NetAmount:         "Importe neto",
	Subtotal:          "Subtotal",
	Discount:          "Descuento",
	Refund:            "Reembolso",
	Refunded:          "Reembolsado",
	Cancelled:         "Cancelado",
	CancelReason:      "Motivo cancelación",
	Items:             "Artículos",
	ItemStatus:        "Estado artículo",
	Quantity:          "Cantidad",
	OriginalQuantity:  "Cantidad original",
	CurrentQuantity:   "Cantidad actual",
	SKU:               "SKU",
	Shipments:         "Envíos",
	Shipping:          "Envío",
	TrackingNumber:    "Nº seguimiento",
	NoShippingInfo:    "Sin información de envío",
	OrderNote:         "Nota del pedido",
	FullyRefunded:     "Reembolsado completamente",
	PartiallyRefunded: "Reembolsado parcialmente",
	Active:            "Activo",
	AbandonedCarts:    "Carrito/s abandonado/s",
	CopyLink:          "Copiar enlace",
	ViewCustomer:      "Ver perfil del cliente",
	ViewProfile:       "Ver perfil",
	RemoveAssignment:  "Quitar asignación",
	NotFound:          "Cliente no encontrado",
	NoOrders:          "Sin pedidos",
	Error:             "Error",
	StateNoOrders:     "Sin pedidos",
	StateConflictive:  "Conflictivo",
	StateProcessing:   "Procesando",
	StateNewOrders:    "Pedidos nuevos",
	StateRecentOrders: "Pedidos recientes",
	StateOldOrders:    "Pedidos antiguos",
}

// labelsEN is the English table.
var labelsEN = Labels{
	LabelLanguages:    "en",
	CustomerInfo:      "Customer Information",
	Name:              "Name",
	Email:             "Email",
	Phone:             "Phone",
	OrdersCount:       "Orders",
	TotalSpent:        "Total spent",
	TotalRefunded:     "Total refunded",
	Discounts:         "Discounts",
	CustomerState:     "Status",
	RecentOrders:      "Recent orders",
	Order:             "Order",
	Orders:            "Orders",
	OrderNumber:       "Order no.",
	Date:              "Date",
	Amount:            "Amount",
	NetAmount:         "Net amount",
	Subtotal:          "Subtotal",
	Discount:          "Discount",
	Refund:            "Refund",
	Refunded:          "Refunded",
	Cancelled:         "Cancelled",
	CancelReason:      "Cancellation reason",
	Items:             "Items",
	ItemStatus:        "Item status",
	Quantity:          "Quantity",
	OriginalQuantity:  "Original quantity",
	CurrentQuantity:   "Current quantity",
	SKU:               "SKU",
	Shipments:         "Shipments",
	Shipping:          "Shipping",
	TrackingNumber:    "Tracking no.",
	NoShippingInfo:    "No shipping information",
	OrderNote:         "Order note",
	FullyRefunded:     "Fully refunded",
	PartiallyRefunded: "Partially refunded",
	Active:            "Active",
	AbandonedCarts:    "Abandoned cart(s)",
	CopyLink:          "Copy link",
	ViewCustomer:      "View customer profile",
	ViewProfile:       "View profile",
	RemoveAssignment:  "Remove assignment",
	NotFound:          "Customer not found",
	NoOrders:          "No orders",
	Error:             "Error",
	StateNoOrders:     "No orders",
	StateConflictive:  "Problematic",
	StateProcessing:   "Processing",
	StateNewOrders:    "New orders",
	StateRecentOrders: "Recent orders",
	StateOldOrders:    "Old orders",
}

// labelsPT is the Portuguese table.
var labelsPT = Labels{
	LabelLanguages:    "pt",
	CustomerInfo:      "Informações do Cliente",
	Name:              "Nome",
	Email:             "E-mail",
	Phone:             "Telefone",
	OrdersCount:       "Pedidos",
	TotalSpent:        "Total gasto",
	TotalRefunded:     "Total reembolsado",
	Discounts:         "Descontos",
	CustomerState:     "Estado",
	RecentOrders:      "Pedidos recentes",
	Order:             "Pedido",
	Orders:            "Pedidos",
	OrderNumber:       "Nº do pedido",
	Date:              "Data",
	Amount:            "Valor",
	NetAmount:         "Valor líquido",
	Subtotal:          "Subtotal",
	Discount:          "Desconto",
	Refund:            "Reembolso",
	Refunded:          "Reembolsado",
	Cancelled:         "Cancelado",
	CancelReason:      "Motivo do cancelamento",
	Items:             "Itens",
	ItemStatus:        "Estado do item",
	Quantity:          "Quantidade",
	OriginalQuantity:  "Quantidade original",
	CurrentQuantity:   "Quantidade atual",
	SKU:               "SKU",
	Shipments:         "Envios",
	Shipping:          "Envio",
	TrackingNumber:    "Nº de rastreamento",
	NoShippingInfo:    "Sem informações de envio",
	OrderNote:         "Nota do pedido",
	FullyRefunded:     "Totalmente reembolsado",
	PartiallyRefunded: "Parcialmente reembolsado",
	Active:            "Ativo",
	AbandonedCarts:    "Carrinho(s) abandonado(s)",
	CopyLink:          "Copiar link",
	ViewCustomer:      "Ver perfil do cliente",
	ViewProfile:       "Ver perfil",
	RemoveAssignment:  "Remover associação",
	NotFound:          "Cliente não encontrado",
	NoOrders:          "Sem pedidos",
	Error:             "Erro",
	StateNoOrders:     "Sem pedidos",
	StateConflictive:  "Conflituoso",
	StateProcessing:   "Em processamento",
	StateNewOrders:    "Pedidos novos",
	StateRecentOrders: "Pedidos recentes",
	StateOldOrders:    "Pedidos antigos",
}

// labelsFR is the French table.
var labelsFR = Labels{
	LabelLanguages:    "fr",
	CustomerInfo:      "Informations client",
	Name:              "Nom",
	Email:             "E-mail",
	Phone:             "Téléphone",
	OrdersCount:       "Commandes",
	TotalSpent:        "Total dépensé",
	TotalRefunded:     "Total remboursé",
	Discounts:         "Remises",
	CustomerState:     "Statut",
	RecentOrders:      "Commandes récentes",
	Order:             "Commande",
	Orders:            "Commandes",
	OrderNumber:       "N° de commande",
	Date:              "Date",
	Amount:            "Montant",
	NetAmount:         "Montant net",
	Subtotal:          "Sous-total",
	Discount:          "Remise",
	Refund:            "Remboursement",
	Refunded:          "Remboursé",
	Cancelled:         "Annulée",
	CancelReason:      "Motif d'annulation",
	Items:             "Articles",
	ItemStatus:        "Statut de l'article",
	Quantity:          "Quantité",
	OriginalQuantity:  "Quantité initiale",
	CurrentQuantity:   "Quantité actuelle",
	SKU:               "SKU",
	Shipments:         "Expéditions",
	Shipping:          "Expédition",
	TrackingNumber:    "N° de suivi",
	NoShippingInfo:    "Aucune information d'expédition",
	OrderNote:         "Note de commande",
	FullyRefunded:     "Entièrement remboursé",
	PartiallyRefunded: "Partiellement remboursé",
	Active:            "Actif",
	AbandonedCarts:    "Panier(s) abandonné(s)",
	CopyLink:          "Copier le lien",
	ViewCustomer:      "Voir le profil du client",
	ViewProfile:       "Voir le profil",
	RemoveAssignment:  "Retirer l'association",
	NotFound:          "Client introuvable",
	NoOrders:          "Aucune commande",
	Error:             "Erreur",
	StateNoOrders:     "Aucune commande",
	StateConflictive:  "Conflictuel",
	StateProcessing:   "En cours de traitement",
	StateNewOrders:    "Nouvelles commandes",
	StateRecentOrders: "Commandes récentes",
	StateOldOrders:    "Commandes anciennes",
}

// labelsDE is the German table.
var labelsDE = Labels{
	LabelLanguages:    "de",
	CustomerInfo:      "Kundeninformationen",
	Name:              "Name",
	Email:             "E-Mail",
	Phone:             "Telefon",
	OrdersCount:       "Bestellungen",
	TotalSpent:        "Gesamtausgaben",
	TotalRefunded:     "Insgesamt erstattet",
	Discounts:         "Rabatte",
	CustomerState:     "Status",
	RecentOrders:      "Letzte Bestellungen",
	Order:             "Bestellung",
	Orders:            "Bestellungen",
	OrderNumber:       "Bestellnr.",
	Date:              "Datum",
	Amount:            "Betrag",
	NetAmount:         "Nettobetrag",
	Subtotal:          "Zwischensumme",
	Discount:          "Rabatt",
	Refund:            "Erstattung",
	Refunded:          "Erstattet",
	Cancelled:         "Storniert",
	CancelReason:      "Stornierungsgrund",
	Items:             "Artikel",
	ItemStatus:        "Artikelstatus",
	Quantity:          "Menge",
	OriginalQuantity:  "Ursprüngliche Menge",
	CurrentQuantity:   "Aktuelle Menge",
	SKU:               "SKU",
	Shipments:         "Sendungen",
	Shipping:          "Versand",
	TrackingNumber:    "Sendungsnummer",
	NoShippingInfo:    "Keine Versandinformationen",
	OrderNote:         "Bestellnotiz",
	FullyRefunded:     "Vollständig erstattet",
	PartiallyRefunded: "Teilweise erstattet",
	Active:            "Aktiv",
	AbandonedCarts:    "Abgebrochene(r) Warenkorb/Warenkörbe",
	CopyLink:          "Link kopieren",
	ViewCustomer:      "Kundenprofil anzeigen",
	ViewProfile:       "Profil anzeigen",
	RemoveAssignment:  "Zuordnung entfernen",
	NotFound:          "Kunde nicht gefunden",
	NoOrders:          "Keine Bestellungen",
	Error:             "Fehler",
	StateNoOrders:     "Keine Bestellungen",
	StateConflictive:  "Problematisch",
	StateProcessing:   "In Bearbeitung",
	StateNewOrders:    "Neue Bestellungen",
	StateRecentOrders: "Kürzliche Bestellungen",
	StateOldOrders:    "Ältere Bestellungen",
}

// labelsIT is the Italian table.
var labelsIT = Labels{
	LabelLanguages:    "it",
	CustomerInfo:      "Informazioni cliente",
	Name:              "Nome",
	Email:             "Email",
	Phone:             "Telefono",
	OrdersCount:       "Ordini",
	TotalSpent:        "Totale speso",
	TotalRefunded:     "Totale rimborsato",
	Discounts:         "Sconti",
	CustomerState:     "Stato",
	RecentOrders:      "Ordini recenti",
	Order:             "Ordine",
	Orders:            "Ordini",
	OrderNumber:       "N. ordine",
	Date:              "Data",
	Amount:            "Importo",
	NetAmount:         "Importo netto",
	Subtotal:          "Subtotale",
	Discount:          "Sconto",
	Refund:            "Rimborso",
	Refunded:          "Rimborsato",
	Cancelled:         "Annullato",
	CancelReason:      "Motivo dell'annullamento",
	Items:             "Articoli",
	ItemStatus:        "Stato articolo",
	Quantity:          "Quantità",
	OriginalQuantity:  "Quantità originale",
	CurrentQuantity:   "Quantità attuale",
	SKU:               "SKU",
	Shipments:         "Spedizioni",
	Shipping:          "Spedizione",
	TrackingNumber:    "N. di tracciamento",
	NoShippingInfo:    "Nessuna informazione di spedizione",
	OrderNote:         "Nota dell'ordine",
	FullyRefunded:     "Rimborsato completamente",
	PartiallyRefunded: "Rimborsato parzialmente",
	Active:            "Attivo",
	AbandonedCarts:    "Carrello/i abbandonato/i",
	CopyLink:          "Copia link",
	ViewCustomer:      "Visualizza profilo cliente",
	ViewProfile:       "Visualizza profilo",
	RemoveAssignment:  "Rimuovi associazione",
	NotFound:          "Cliente non trovato",
	NoOrders:          "Nessun ordine",
	Error:             "Errore",
	StateNoOrders:     "Nessun ordine",
	StateConflictive:  "Conflittuale",
	StateProcessing:   "In elaborazione",
	StateNewOrders:    "Nuovi ordini",
	StateRecentOrders: "Ordini recenti",
	StateOldOrders:    "Ordini meno recenti",
}
