// Command shopload places a deterministic shop workload through Imago's HTTP
// API and writes what any SQL client must then read (expected.json): the
// client compatibility suite (compat/run.sh) checks every client against it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
)

// Expected is what the clients check.
type Expected struct {
	Customers int      `json:"customers"`
	Orders    int      `json:"orders"`
	ByCountry [][3]any `json:"by_country"` // country, orders, revenue cents; by country
	BySKU     [][2]any `json:"by_sku"`     // sku, quantity ordered; by sku
	Probe     [2]any   `json:"probe"`      // an order id and its total, for a prepared lookup
	Tables    []string `json:"tables"`
}

func main() {
	base := flag.String("http", "http://127.0.0.1:8080", "Imago's HTTP address")
	out := flag.String("out", "expected.json", "where to write the expected answers")
	customers := flag.Int("customers", 30, "customers to register")
	orders := flag.Int("orders", 300, "orders to place")
	flag.Parse()
	exp, err := load(*base, *customers, *orders)
	if err == nil {
		var b []byte
		b, err = json.MarshalIndent(exp, "", "  ")
		if err == nil {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shopload:", err)
		os.Exit(1)
	}
}

func load(base string, customers, orders int) (*Expected, error) {
	post := func(name string, body any) error {
		b, _ := json.Marshal(body)
		resp, err := http.Post(base+"/v1/commands/"+name, "application/json", bytes.NewReader(b))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s: %s: %s", name, resp.Status, msg)
		}
		return nil
	}
	skus := []string{"book", "lamp", "mug", "pen"}
	prices := map[string]int{"book": 1999, "lamp": 4550, "mug": 1250, "pen": 199}
	for _, s := range skus {
		if err := post("add_product", map[string]any{"sku": s, "name": "The " + s, "category": "things", "price_cents": prices[s], "stock": 1_000_000}); err != nil {
			return nil, err
		}
	}
	countries := []string{"DE", "FR", "GB", "JP", "US"}
	countryOf := map[string]string{}
	for i := range customers {
		id := fmt.Sprintf("c-%03d", i)
		countryOf[id] = countries[i%len(countries)]
		if err := post("register_customer", map[string]any{"customer_id": id, "name": fmt.Sprintf("Customer %d", i),
			"email": fmt.Sprintf("c%d@example.com", i), "country": countryOf[id]}); err != nil {
			return nil, err
		}
	}
	type agg struct{ orders, revenue int }
	byCountry := map[string]*agg{}
	bySKU := map[string]int{}
	exp := &Expected{Customers: customers, Orders: orders, Tables: []string{"customers", "order_lines", "orders", "products"}}
	for i := range orders {
		id := fmt.Sprintf("o-%04d", i)
		cust := fmt.Sprintf("c-%03d", (i*7)%customers)
		var lines []map[string]any
		total := 0
		for j := 0; j <= i%3; j++ {
			sku := skus[(i+j)%len(skus)]
			qty := 1 + (i*j)%4
			lines = append(lines, map[string]any{"sku": sku, "quantity": qty})
			total += qty * prices[sku]
			bySKU[sku] += qty
		}
		if err := post("place_order", map[string]any{"order_id": id, "customer_id": cust, "lines": lines}); err != nil {
			return nil, err
		}
		a := byCountry[countryOf[cust]]
		if a == nil {
			a = &agg{}
			byCountry[countryOf[cust]] = a
		}
		a.orders++
		a.revenue += total
		if i == orders/2 {
			exp.Probe = [2]any{id, total}
		}
	}
	for _, c := range sortedKeys(byCountry) {
		exp.ByCountry = append(exp.ByCountry, [3]any{c, byCountry[c].orders, byCountry[c].revenue})
	}
	for _, s := range sortedKeys(bySKU) {
		exp.BySKU = append(exp.BySKU, [2]any{s, bySKU[s]})
	}
	return exp, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
