// Package tpcc is the TPC-C benchmark's database as an Imago app: the
// specification's nine tables with their keys and the secondary indexes its
// transactions read by, the three read-write transactions as commands
// (NewOrder, Payment, Delivery), and the initial population as commands
// (LoadItems, LoadStock, LoadWarehouse, LoadDistrict). The two read-only
// transactions, Order-Status and Stock-Level, are SQL reads over the MySQL
// protocol (package workload holds them, with the driver's input generation
// and the consistency conditions).
//
// Every random input of a transaction is in its payload (the driver draws
// it, as the specification's terminal does), so Apply is deterministic: the
// customer chosen by last name, the oldest undelivered order and every amount
// follow from the payload and the image. New-Order's 1% rollback is an item
// number that does not exist: Apply refuses the command and nothing of it is
// logged. The population commands carry a seed instead of rows: Apply draws
// the specification's random rows from it (math/rand/v2's PCG, whose output
// is fixed for a seed), so a warehouse's half million rows cost a few dozen
// log entries of a hundred bytes, and replay draws the same rows again.
//
// Money is DECIMAL with the specification's scale (amounts in 12,2, rates
// in 4,4), as in go-tpc's schema for MySQL; times come from the envelope.
//
// Guarantees:
//   - Apply reads no clock and no randomness but the payload's.
//   - A refused command (an unknown item, customer or district, a
//     population batch that overlaps rows already loaded) changes nothing.
package tpcc

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// App is the TPC-C application.
func App() *imago.App {
	return &imago.App{
		Name:              "tpcc",
		ProjectionVersion: 1,
		Tables: []*memdb.Table{
			Warehouses.Table(), Districts.Table(), Customers.Table(), History.Table(), NewOrders.Table(),
			Orders.Table(), OrderLines.Table(), Items.Table(), Stock.Table(),
		},
		Commands: []commands.Definition{
			commands.Define[LoadItems]("load_items", 1),
			commands.Define[LoadWarehouse]("load_warehouse", 1),
			commands.Define[LoadStock]("load_stock", 1),
			commands.Define[LoadDistrict]("load_district", 1),
			commands.Define[NewOrder]("new_order", 1),
			commands.Define[Payment]("payment", 1),
			commands.Define[Delivery]("delivery", 1),
		},
	}
}

// The specification's cardinalities (clause 1.2 and 4.3.3.1): the full
// scale, which the load commands take as their defaults.
const (
	DistrictsPerWarehouse = 10
	CustomersPerDistrict  = 3000
	OrdersPerDistrict     = 3000
	ItemCount             = 100_000
)

// Warehouse is a row of warehouse.
type Warehouse struct {
	ID      int32           `imago:"w_id"`
	Name    string          `imago:"w_name"`
	Street1 string          `imago:"w_street_1"`
	Street2 string          `imago:"w_street_2"`
	City    string          `imago:"w_city"`
	State   string          `imago:"w_state"`
	Zip     string          `imago:"w_zip"`
	Tax     decimal.Decimal `imago:"w_tax"`
	YTD     decimal.Decimal `imago:"w_ytd"`
}

// District is a row of district.
type District struct {
	ID      int32           `imago:"d_id"`
	WID     int32           `imago:"d_w_id"`
	Name    string          `imago:"d_name"`
	Street1 string          `imago:"d_street_1"`
	Street2 string          `imago:"d_street_2"`
	City    string          `imago:"d_city"`
	State   string          `imago:"d_state"`
	Zip     string          `imago:"d_zip"`
	Tax     decimal.Decimal `imago:"d_tax"`
	YTD     decimal.Decimal `imago:"d_ytd"`
	NextOID int32           `imago:"d_next_o_id"`
}

// Customer is a row of customer.
type Customer struct {
	ID          int32           `imago:"c_id"`
	DID         int32           `imago:"c_d_id"`
	WID         int32           `imago:"c_w_id"`
	First       string          `imago:"c_first"`
	Middle      string          `imago:"c_middle"`
	Last        string          `imago:"c_last"`
	Street1     string          `imago:"c_street_1"`
	Street2     string          `imago:"c_street_2"`
	City        string          `imago:"c_city"`
	State       string          `imago:"c_state"`
	Zip         string          `imago:"c_zip"`
	Phone       string          `imago:"c_phone"`
	Since       time.Time       `imago:"c_since"`
	Credit      string          `imago:"c_credit"`
	CreditLim   decimal.Decimal `imago:"c_credit_lim"`
	Discount    decimal.Decimal `imago:"c_discount"`
	Balance     decimal.Decimal `imago:"c_balance"`
	YTDPayment  decimal.Decimal `imago:"c_ytd_payment"`
	PaymentCnt  int32           `imago:"c_payment_cnt"`
	DeliveryCnt int32           `imago:"c_delivery_cnt"`
	Data        string          `imago:"c_data"`
}

// HistoryRow is a row of history. The specification gives history no key;
// h_seq (the seq of the command that wrote the row) with h_c_id is one.
type HistoryRow struct {
	Seq    int64           `imago:"h_seq"`
	CID    int32           `imago:"h_c_id"`
	CDID   int32           `imago:"h_c_d_id"`
	CWID   int32           `imago:"h_c_w_id"`
	DID    int32           `imago:"h_d_id"`
	WID    int32           `imago:"h_w_id"`
	Date   time.Time       `imago:"h_date"`
	Amount decimal.Decimal `imago:"h_amount"`
	Data   string          `imago:"h_data"`
}

// NewOrderRow is a row of new_order: an order not yet delivered.
type NewOrderRow struct {
	OID int32 `imago:"no_o_id"`
	DID int32 `imago:"no_d_id"`
	WID int32 `imago:"no_w_id"`
}

// Order is a row of orders.
type Order struct {
	ID        int32     `imago:"o_id"`
	DID       int32     `imago:"o_d_id"`
	WID       int32     `imago:"o_w_id"`
	CID       int32     `imago:"o_c_id"`
	EntryD    time.Time `imago:"o_entry_d"`
	CarrierID *int32    `imago:"o_carrier_id"`
	OLCnt     int32     `imago:"o_ol_cnt"`
	AllLocal  int32     `imago:"o_all_local"`
}

// OrderLine is a row of order_line.
type OrderLine struct {
	OID       int32           `imago:"ol_o_id"`
	DID       int32           `imago:"ol_d_id"`
	WID       int32           `imago:"ol_w_id"`
	Number    int32           `imago:"ol_number"`
	IID       int32           `imago:"ol_i_id"`
	SupplyWID int32           `imago:"ol_supply_w_id"`
	DeliveryD *time.Time      `imago:"ol_delivery_d"`
	Quantity  int32           `imago:"ol_quantity"`
	Amount    decimal.Decimal `imago:"ol_amount"`
	DistInfo  string          `imago:"ol_dist_info"`
}

// Item is a row of item.
type Item struct {
	ID    int32           `imago:"i_id"`
	ImID  int32           `imago:"i_im_id"`
	Name  string          `imago:"i_name"`
	Price decimal.Decimal `imago:"i_price"`
	Data  string          `imago:"i_data"`
}

// StockRow is a row of stock.
type StockRow struct {
	IID       int32  `imago:"s_i_id"`
	WID       int32  `imago:"s_w_id"`
	Quantity  int32  `imago:"s_quantity"`
	Dist01    string `imago:"s_dist_01"`
	Dist02    string `imago:"s_dist_02"`
	Dist03    string `imago:"s_dist_03"`
	Dist04    string `imago:"s_dist_04"`
	Dist05    string `imago:"s_dist_05"`
	Dist06    string `imago:"s_dist_06"`
	Dist07    string `imago:"s_dist_07"`
	Dist08    string `imago:"s_dist_08"`
	Dist09    string `imago:"s_dist_09"`
	Dist10    string `imago:"s_dist_10"`
	YTD       int32  `imago:"s_ytd"`
	OrderCnt  int32  `imago:"s_order_cnt"`
	RemoteCnt int32  `imago:"s_remote_cnt"`
	Data      string `imago:"s_data"`
}

// Column types of the specification (clause 1.3), as go-tpc declares them
// for MySQL.
var (
	id     = memdb.Int
	money  = memdb.Decimal(12, 2)
	rate   = memdb.Decimal(4, 4)
	street = memdb.Varchar(20)
)

func address(prefix string) []memdb.Column {
	return []memdb.Column{
		{Name: prefix + "street_1", Type: street}, {Name: prefix + "street_2", Type: street},
		{Name: prefix + "city", Type: street}, {Name: prefix + "state", Type: memdb.Char(2)},
		{Name: prefix + "zip", Type: memdb.Char(9)},
	}
}

func columns(parts ...[]memdb.Column) []memdb.Column {
	var all []memdb.Column
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// The tables with the specification's primary keys (clause 1.3) and the
// secondary indexes its transactions look rows up by: customers by last
// name (Payment and Order-Status, clause 2.5.2.2 and 2.6.2.2) and orders by
// customer (Order-Status's latest order), as in go-tpc's schema.
var (
	Warehouses = memdb.MustBind[Warehouse](memdb.MustDefine(memdb.TableDef{
		Name: "warehouse",
		Columns: columns([]memdb.Column{{Name: "w_id", Type: id}, {Name: "w_name", Type: memdb.Varchar(10)}},
			address("w_"), []memdb.Column{{Name: "w_tax", Type: rate}, {Name: "w_ytd", Type: money}}),
		PrimaryKey: []string{"w_id"},
	}))
	Districts = memdb.MustBind[District](memdb.MustDefine(memdb.TableDef{
		Name: "district",
		Columns: columns([]memdb.Column{{Name: "d_id", Type: id}, {Name: "d_w_id", Type: id}, {Name: "d_name", Type: memdb.Varchar(10)}},
			address("d_"), []memdb.Column{{Name: "d_tax", Type: rate}, {Name: "d_ytd", Type: money}, {Name: "d_next_o_id", Type: id}}),
		PrimaryKey: []string{"d_w_id", "d_id"},
	}))
	Customers = memdb.MustBind[Customer](memdb.MustDefine(memdb.TableDef{
		Name: "customer",
		Columns: columns([]memdb.Column{
			{Name: "c_id", Type: id}, {Name: "c_d_id", Type: id}, {Name: "c_w_id", Type: id},
			{Name: "c_first", Type: memdb.Varchar(16)}, {Name: "c_middle", Type: memdb.Char(2)}, {Name: "c_last", Type: memdb.Varchar(16)},
		}, address("c_"), []memdb.Column{
			{Name: "c_phone", Type: memdb.Char(16)}, {Name: "c_since", Type: memdb.Datetime}, {Name: "c_credit", Type: memdb.Char(2)},
			{Name: "c_credit_lim", Type: money}, {Name: "c_discount", Type: rate}, {Name: "c_balance", Type: money},
			{Name: "c_ytd_payment", Type: money}, {Name: "c_payment_cnt", Type: id}, {Name: "c_delivery_cnt", Type: id},
			{Name: "c_data", Type: memdb.Varchar(500)},
		}),
		PrimaryKey: []string{"c_w_id", "c_d_id", "c_id"},
		Indexes:    []memdb.IndexDef{{Name: "idx_customer", Columns: []string{"c_w_id", "c_d_id", "c_last", "c_first"}}},
	}))
	History = memdb.MustBind[HistoryRow](memdb.MustDefine(memdb.TableDef{
		Name: "history",
		Columns: []memdb.Column{
			{Name: "h_seq", Type: memdb.BigInt}, {Name: "h_c_id", Type: id}, {Name: "h_c_d_id", Type: id}, {Name: "h_c_w_id", Type: id},
			{Name: "h_d_id", Type: id}, {Name: "h_w_id", Type: id}, {Name: "h_date", Type: memdb.Datetime},
			{Name: "h_amount", Type: memdb.Decimal(6, 2)}, {Name: "h_data", Type: memdb.Varchar(24)},
		},
		PrimaryKey: []string{"h_seq", "h_c_id"},
	}))
	NewOrders = memdb.MustBind[NewOrderRow](memdb.MustDefine(memdb.TableDef{
		Name:       "new_order",
		Columns:    []memdb.Column{{Name: "no_o_id", Type: id}, {Name: "no_d_id", Type: id}, {Name: "no_w_id", Type: id}},
		PrimaryKey: []string{"no_w_id", "no_d_id", "no_o_id"},
	}))
	Orders = memdb.MustBind[Order](memdb.MustDefine(memdb.TableDef{
		Name: "orders",
		Columns: []memdb.Column{
			{Name: "o_id", Type: id}, {Name: "o_d_id", Type: id}, {Name: "o_w_id", Type: id}, {Name: "o_c_id", Type: id},
			{Name: "o_entry_d", Type: memdb.Datetime}, {Name: "o_carrier_id", Type: id, Nullable: true},
			{Name: "o_ol_cnt", Type: id}, {Name: "o_all_local", Type: id},
		},
		PrimaryKey: []string{"o_w_id", "o_d_id", "o_id"},
		Indexes:    []memdb.IndexDef{{Name: "idx_order", Columns: []string{"o_w_id", "o_d_id", "o_c_id", "o_id"}}},
	}))
	OrderLines = memdb.MustBind[OrderLine](memdb.MustDefine(memdb.TableDef{
		Name: "order_line",
		Columns: []memdb.Column{
			{Name: "ol_o_id", Type: id}, {Name: "ol_d_id", Type: id}, {Name: "ol_w_id", Type: id}, {Name: "ol_number", Type: id},
			{Name: "ol_i_id", Type: id}, {Name: "ol_supply_w_id", Type: id}, {Name: "ol_delivery_d", Type: memdb.Datetime, Nullable: true},
			{Name: "ol_quantity", Type: id}, {Name: "ol_amount", Type: memdb.Decimal(6, 2)}, {Name: "ol_dist_info", Type: memdb.Char(24)},
		},
		PrimaryKey: []string{"ol_w_id", "ol_d_id", "ol_o_id", "ol_number"},
	}))
	Items = memdb.MustBind[Item](memdb.MustDefine(memdb.TableDef{
		Name: "item",
		Columns: []memdb.Column{
			{Name: "i_id", Type: id}, {Name: "i_im_id", Type: id}, {Name: "i_name", Type: memdb.Varchar(24)},
			{Name: "i_price", Type: memdb.Decimal(5, 2)}, {Name: "i_data", Type: memdb.Varchar(50)},
		},
		PrimaryKey: []string{"i_id"},
	}))
	Stock = memdb.MustBind[StockRow](memdb.MustDefine(memdb.TableDef{
		Name: "stock",
		Columns: columns([]memdb.Column{{Name: "s_i_id", Type: id}, {Name: "s_w_id", Type: id}, {Name: "s_quantity", Type: id}},
			stockDists(), []memdb.Column{
				{Name: "s_ytd", Type: id}, {Name: "s_order_cnt", Type: id}, {Name: "s_remote_cnt", Type: id}, {Name: "s_data", Type: memdb.Varchar(50)},
			}),
		PrimaryKey: []string{"s_w_id", "s_i_id"},
	}))
)

func stockDists() []memdb.Column {
	var cols []memdb.Column
	for d := 1; d <= DistrictsPerWarehouse; d++ {
		cols = append(cols, memdb.Column{Name: fmt.Sprintf("s_dist_%02d", d), Type: memdb.Char(24)})
	}
	return cols
}

// customersByLast is customer's index by (w, d, last name, first name).
var customersByLast = Customers.Table().Indexes()[0]
