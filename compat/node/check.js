// Node client of the compatibility suite: mysql2 (text and binary protocol)
// connects to Imago, introspects the shop, runs joins and aggregates and
// checks the answers against compat/shopload's expected.json.
const fs = require('fs');
const assert = require('assert');
const mysql = require('mysql2/promise');

async function main() {
  const [host, port, expectedFile] = process.argv.slice(2);
  const exp = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));
  const conn = await mysql.createConnection({ host, port: Number(port), user: 'root', database: 'shop' });
  try {
    const [tables] = await conn.query('SHOW TABLES');
    assert.deepStrictEqual(tables.map((r) => Object.values(r)[0]), exp.tables);
    const [cols] = await conn.query('SHOW COLUMNS FROM orders');
    const orderId = cols.find((c) => c.Field === 'order_id');
    assert.strictEqual(orderId.Key, 'PRI');
    assert.strictEqual(orderId.Null, 'NO');

    const [byCountry] = await conn.query(
      'SELECT c.country, COUNT(*) AS orders, SUM(o.total_cents) AS revenue FROM orders o ' +
      'JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY c.country');
    assert.deepStrictEqual(byCountry.map((r) => [r.country, Number(r.orders), Number(r.revenue)]), exp.by_country);
    const [bySku] = await conn.execute(
      'SELECT l.sku, SUM(l.quantity) AS q FROM order_lines l JOIN products p ON p.sku = l.sku ' +
      'WHERE l.quantity >= ? GROUP BY l.sku ORDER BY l.sku', [0]);
    assert.deepStrictEqual(bySku.map((r) => [r.sku, Number(r.q)]), exp.by_sku);
    for (let i = 0; i < 3; i++) {
      const [probe] = await conn.execute('SELECT total_cents, placed_at FROM orders WHERE order_id = ?', [exp.probe[0]]);
      assert.strictEqual(Number(probe[0].total_cents), exp.probe[1]);
      assert.ok(probe[0].placed_at instanceof Date);
    }
    const [log] = await conn.execute('SELECT COUNT(*) AS n FROM imago.commands WHERE name = ?', ['place_order']);
    assert.strictEqual(Number(log[0].n), exp.orders);
  } finally {
    await conn.end();
  }
  console.log('node (mysql2): ok');
}

main().catch((e) => { console.error('node (mysql2):', e); process.exit(1); });
