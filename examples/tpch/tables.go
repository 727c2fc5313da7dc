// Package tpch is TPC-H's schema as an Imago app: the eight tables with the
// specification's primary keys and the secondary indexes its joins use,
// loaded through commands (one per table, a batch of rows each), with data
// from the specification's generator (gen.go: go-tpc's dbgen). bench/tpch
// runs the 22 queries on it against MariaDB.
package tpch

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago/memdb"
)

var money = memdb.Decimal(15, 2)

// Region is a row of region.
type Region struct {
	RegionKey int32  `imago:"r_regionkey" json:"r_regionkey"`
	Name      string `imago:"r_name" json:"r_name"`
	Comment   string `imago:"r_comment" json:"r_comment"`
}

// Nation is a row of nation.
type Nation struct {
	NationKey int32  `imago:"n_nationkey" json:"n_nationkey"`
	Name      string `imago:"n_name" json:"n_name"`
	RegionKey int32  `imago:"n_regionkey" json:"n_regionkey"`
	Comment   string `imago:"n_comment" json:"n_comment"`
}

// Supplier is a row of supplier.
type Supplier struct {
	SuppKey   int32           `imago:"s_suppkey" json:"s_suppkey"`
	Name      string          `imago:"s_name" json:"s_name"`
	Address   string          `imago:"s_address" json:"s_address"`
	NationKey int32           `imago:"s_nationkey" json:"s_nationkey"`
	Phone     string          `imago:"s_phone" json:"s_phone"`
	AcctBal   decimal.Decimal `imago:"s_acctbal" json:"s_acctbal"`
	Comment   string          `imago:"s_comment" json:"s_comment"`
}

// Part is a row of part.
type Part struct {
	PartKey     int32           `imago:"p_partkey" json:"p_partkey"`
	Name        string          `imago:"p_name" json:"p_name"`
	Mfgr        string          `imago:"p_mfgr" json:"p_mfgr"`
	Brand       string          `imago:"p_brand" json:"p_brand"`
	Type        string          `imago:"p_type" json:"p_type"`
	Size        int32           `imago:"p_size" json:"p_size"`
	Container   string          `imago:"p_container" json:"p_container"`
	RetailPrice decimal.Decimal `imago:"p_retailprice" json:"p_retailprice"`
	Comment     string          `imago:"p_comment" json:"p_comment"`
}

// PartSupp is a row of partsupp.
type PartSupp struct {
	PartKey    int32           `imago:"ps_partkey" json:"ps_partkey"`
	SuppKey    int32           `imago:"ps_suppkey" json:"ps_suppkey"`
	AvailQty   int32           `imago:"ps_availqty" json:"ps_availqty"`
	SupplyCost decimal.Decimal `imago:"ps_supplycost" json:"ps_supplycost"`
	Comment    string          `imago:"ps_comment" json:"ps_comment"`
}

// Customer is a row of customer.
type Customer struct {
	CustKey    int32           `imago:"c_custkey" json:"c_custkey"`
	Name       string          `imago:"c_name" json:"c_name"`
	Address    string          `imago:"c_address" json:"c_address"`
	NationKey  int32           `imago:"c_nationkey" json:"c_nationkey"`
	Phone      string          `imago:"c_phone" json:"c_phone"`
	AcctBal    decimal.Decimal `imago:"c_acctbal" json:"c_acctbal"`
	MktSegment string          `imago:"c_mktsegment" json:"c_mktsegment"`
	Comment    string          `imago:"c_comment" json:"c_comment"`
}

// Order is a row of orders.
type Order struct {
	OrderKey      int64           `imago:"o_orderkey" json:"o_orderkey"`
	CustKey       int32           `imago:"o_custkey" json:"o_custkey"`
	OrderStatus   string          `imago:"o_orderstatus" json:"o_orderstatus"`
	TotalPrice    decimal.Decimal `imago:"o_totalprice" json:"o_totalprice"`
	OrderDate     time.Time       `imago:"o_orderdate" json:"o_orderdate"`
	OrderPriority string          `imago:"o_orderpriority" json:"o_orderpriority"`
	Clerk         string          `imago:"o_clerk" json:"o_clerk"`
	ShipPriority  int32           `imago:"o_shippriority" json:"o_shippriority"`
	Comment       string          `imago:"o_comment" json:"o_comment"`
}

// LineItem is a row of lineitem.
type LineItem struct {
	OrderKey      int64           `imago:"l_orderkey" json:"l_orderkey"`
	PartKey       int32           `imago:"l_partkey" json:"l_partkey"`
	SuppKey       int32           `imago:"l_suppkey" json:"l_suppkey"`
	LineNumber    int32           `imago:"l_linenumber" json:"l_linenumber"`
	Quantity      decimal.Decimal `imago:"l_quantity" json:"l_quantity"`
	ExtendedPrice decimal.Decimal `imago:"l_extendedprice" json:"l_extendedprice"`
	Discount      decimal.Decimal `imago:"l_discount" json:"l_discount"`
	Tax           decimal.Decimal `imago:"l_tax" json:"l_tax"`
	ReturnFlag    string          `imago:"l_returnflag" json:"l_returnflag"`
	LineStatus    string          `imago:"l_linestatus" json:"l_linestatus"`
	ShipDate      time.Time       `imago:"l_shipdate" json:"l_shipdate"`
	CommitDate    time.Time       `imago:"l_commitdate" json:"l_commitdate"`
	ReceiptDate   time.Time       `imago:"l_receiptdate" json:"l_receiptdate"`
	ShipInstruct  string          `imago:"l_shipinstruct" json:"l_shipinstruct"`
	ShipMode      string          `imago:"l_shipmode" json:"l_shipmode"`
	Comment       string          `imago:"l_comment" json:"l_comment"`
}

func col(name string, t memdb.Type) memdb.Column { return memdb.Column{Name: name, Type: t} }

// The tables, with the specification's keys; dates are DATETIME (the
// image has no DATE), at midnight UTC.
var (
	Regions = memdb.MustBind[Region](memdb.MustDefine(memdb.TableDef{Name: "region",
		Columns:    []memdb.Column{col("r_regionkey", memdb.Int), col("r_name", memdb.Char(25)), col("r_comment", memdb.Varchar(152))},
		PrimaryKey: []string{"r_regionkey"}}))
	Nations = memdb.MustBind[Nation](memdb.MustDefine(memdb.TableDef{Name: "nation",
		Columns:    []memdb.Column{col("n_nationkey", memdb.Int), col("n_name", memdb.Char(25)), col("n_regionkey", memdb.Int), col("n_comment", memdb.Varchar(152))},
		PrimaryKey: []string{"n_nationkey"}, Indexes: []memdb.IndexDef{{Name: "n_regionkey", Columns: []string{"n_regionkey"}}}}))
	Suppliers = memdb.MustBind[Supplier](memdb.MustDefine(memdb.TableDef{Name: "supplier",
		Columns: []memdb.Column{col("s_suppkey", memdb.Int), col("s_name", memdb.Char(25)), col("s_address", memdb.Varchar(40)),
			col("s_nationkey", memdb.Int), col("s_phone", memdb.Char(15)), col("s_acctbal", money), col("s_comment", memdb.Varchar(101))},
		PrimaryKey: []string{"s_suppkey"}, Indexes: []memdb.IndexDef{{Name: "s_nationkey", Columns: []string{"s_nationkey"}}}}))
	Parts = memdb.MustBind[Part](memdb.MustDefine(memdb.TableDef{Name: "part",
		Columns: []memdb.Column{col("p_partkey", memdb.Int), col("p_name", memdb.Varchar(55)), col("p_mfgr", memdb.Char(25)), col("p_brand", memdb.Char(10)),
			col("p_type", memdb.Varchar(25)), col("p_size", memdb.Int), col("p_container", memdb.Char(10)), col("p_retailprice", money), col("p_comment", memdb.Varchar(23))},
		PrimaryKey: []string{"p_partkey"}}))
	PartSupps = memdb.MustBind[PartSupp](memdb.MustDefine(memdb.TableDef{Name: "partsupp",
		Columns: []memdb.Column{col("ps_partkey", memdb.Int), col("ps_suppkey", memdb.Int), col("ps_availqty", memdb.Int),
			col("ps_supplycost", money), col("ps_comment", memdb.Varchar(199))},
		PrimaryKey: []string{"ps_partkey", "ps_suppkey"}, Indexes: []memdb.IndexDef{{Name: "ps_suppkey", Columns: []string{"ps_suppkey"}}}}))
	Customers = memdb.MustBind[Customer](memdb.MustDefine(memdb.TableDef{Name: "customer",
		Columns: []memdb.Column{col("c_custkey", memdb.Int), col("c_name", memdb.Varchar(25)), col("c_address", memdb.Varchar(40)), col("c_nationkey", memdb.Int),
			col("c_phone", memdb.Char(15)), col("c_acctbal", money), col("c_mktsegment", memdb.Char(10)), col("c_comment", memdb.Varchar(117))},
		PrimaryKey: []string{"c_custkey"}, Indexes: []memdb.IndexDef{{Name: "c_nationkey", Columns: []string{"c_nationkey"}}}}))
	Orders = memdb.MustBind[Order](memdb.MustDefine(memdb.TableDef{Name: "orders",
		Columns: []memdb.Column{col("o_orderkey", memdb.BigInt), col("o_custkey", memdb.Int), col("o_orderstatus", memdb.Char(1)), col("o_totalprice", money),
			col("o_orderdate", memdb.Datetime), col("o_orderpriority", memdb.Char(15)), col("o_clerk", memdb.Char(15)), col("o_shippriority", memdb.Int), col("o_comment", memdb.Varchar(79))},
		PrimaryKey: []string{"o_orderkey"}, Indexes: []memdb.IndexDef{{Name: "o_custkey", Columns: []string{"o_custkey"}}, {Name: "o_orderdate", Columns: []string{"o_orderdate"}}}}))
	LineItems = memdb.MustBind[LineItem](memdb.MustDefine(memdb.TableDef{Name: "lineitem",
		Columns: []memdb.Column{col("l_orderkey", memdb.BigInt), col("l_partkey", memdb.Int), col("l_suppkey", memdb.Int), col("l_linenumber", memdb.Int),
			col("l_quantity", money), col("l_extendedprice", money), col("l_discount", money), col("l_tax", money), col("l_returnflag", memdb.Char(1)),
			col("l_linestatus", memdb.Char(1)), col("l_shipdate", memdb.Datetime), col("l_commitdate", memdb.Datetime), col("l_receiptdate", memdb.Datetime),
			col("l_shipinstruct", memdb.Char(25)), col("l_shipmode", memdb.Char(10)), col("l_comment", memdb.Varchar(44))},
		PrimaryKey: []string{"l_orderkey", "l_linenumber"},
		Indexes: []memdb.IndexDef{{Name: "l_partsupp", Columns: []string{"l_partkey", "l_suppkey"}}, {Name: "l_suppkey", Columns: []string{"l_suppkey"}},
			{Name: "l_shipdate", Columns: []string{"l_shipdate"}}}}))
)
