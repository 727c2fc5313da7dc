package sql

import (
	"bytes"
	"strings"
	"sync"
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/stats"
)

// statsProvider gives GMS's planner statistics for the app's tables without
// rebuilding them for every statement. Finding no statistics, GMS builds
// uniform-distribution ones for every index of a table each time it plans a
// statement over it (a tenth of a point select's CPU, measured with pprof
// under sysbench), assuming every index 90% distinct. These are read from
// the image instead: row count, each index's distinct keys (counted on one
// pass over the index, for every prefix of its columns), functional
// dependencies; no histogram. They are kept per table and rebuilt when the
// row count has moved by more than an eighth. Row counts are exact: the
// snapshot's.
type statsProvider struct {
	mu    sync.Mutex
	cache map[*table]*tableStats
}

type tableStats struct {
	rows  uint64
	stats []gsql.Statistic
	// distinct holds, per index (by its memdb name), the number of distinct
	// keys of each prefix of its columns: distinct[ix][k-1] for k columns.
	distinct map[string][]uint64
}

var _ gsql.StatsProvider = (*statsProvider)(nil)

func newStatsProvider() *statsProvider {
	return &statsProvider{cache: map[*table]*tableStats{}}
}

func (p *statsProvider) GetTableStats(ctx *gsql.Context, _ string, t gsql.Table) ([]gsql.Statistic, error) {
	tb, ok := t.(*table)
	if !ok {
		return nil, nil
	}
	ts, err := p.of(ctx, tb)
	if err != nil {
		return nil, err
	}
	return ts.stats, nil
}

// of is tb's statistics, from the cache while its row count has not moved.
func (p *statsProvider) of(ctx *gsql.Context, tb *table) (*tableStats, error) {
	rows, _, _ := tb.RowCount(ctx)
	p.mu.Lock()
	cached := p.cache[tb]
	p.mu.Unlock()
	if cached != nil && !moved(cached.rows, rows) {
		return cached, nil
	}
	distinct, err := tb.distinctKeys(ctx)
	if err != nil {
		return nil, err
	}
	st, err := tb.statistics(ctx, rows, distinct)
	if err != nil {
		return nil, err
	}
	ts := &tableStats{rows: rows, stats: st, distinct: distinct}
	p.mu.Lock()
	p.cache[tb] = ts
	p.mu.Unlock()
	return ts, nil
}

// rowsPerKey is how many rows of ix's table one lookup with keys for its
// first k columns reads, on average; ok is false for an index that is not
// an app table's.
func (p *statsProvider) rowsPerKey(ctx *gsql.Context, ix gsql.Index, k int) (float64, bool) {
	mine, isMine := ix.(*index)
	if !isMine || k < 1 {
		return 0, false
	}
	if mine.IsUnique() && k >= len(mine.types) {
		return 1, true
	}
	ts, err := p.of(ctx, mine.table)
	if err != nil {
		return 0, false
	}
	d := ts.distinct[mine.ix.Name]
	if len(d) == 0 {
		return 0, false
	}
	distinct := d[min(k, len(d))-1]
	return float64(ts.rows) / float64(max(distinct, 1)), true
}

// moved reports whether a row count has changed enough to re-plan with it.
func moved(was, now uint64) bool {
	d := max(was, now) - min(was, now)
	return was == 0 || now == 0 || d > was/8
}

func (p *statsProvider) RowCount(ctx *gsql.Context, _ string, t gsql.Table) (uint64, error) {
	if st, ok := t.(gsql.StatisticsTable); ok {
		n, _, err := st.RowCount(ctx)
		return n, err
	}
	return 0, nil
}

func (p *statsProvider) DataLength(ctx *gsql.Context, _ string, t gsql.Table) (uint64, error) {
	if st, ok := t.(gsql.StatisticsTable); ok {
		return st.DataLength(ctx)
	}
	return 0, nil
}

func (p *statsProvider) AnalyzeTable(*gsql.Context, gsql.Table, string) error {
	return errReadOnly("ANALYZE (statistics are kept by Imago)")
}
func (p *statsProvider) SetStats(*gsql.Context, gsql.Statistic) error {
	return errReadOnly("Setting statistics")
}
func (p *statsProvider) GetStats(*gsql.Context, gsql.StatQualifier, []string) (gsql.Statistic, bool) {
	return nil, false
}
func (p *statsProvider) DropStats(*gsql.Context, gsql.StatQualifier, []string) error {
	return errReadOnly("Dropping statistics")
}
func (p *statsProvider) DropDbStats(*gsql.Context, string, bool) error { return nil }

// distinctKeys counts, for every index of t and every prefix of its
// columns, the distinct keys in the statement's snapshot: one pass over
// each secondary index in key order, comparing each row's key prefixes
// with the previous row's (the primary key is unique: every prefix but the
// whole key is counted the same way).
func (t *table) distinctKeys(ctx *gsql.Context) (map[string][]uint64, error) {
	snap := snapshotOf(ctx, t.db.src)
	out := map[string][]uint64{}
	for _, gi := range t.indexes {
		ix := gi.(*index).ix
		cols := ix.Columns()
		counts := make([]uint64, len(cols))
		it, err := snap.Scan(ix, nil)
		if err != nil {
			return nil, err
		}
		prev := make([][]byte, len(cols))
		for row := it.NextRow(); row != nil; row = it.NextRow() {
			var key []byte
			for k, c := range cols {
				if key, err = ix.AppendColumnKey(key, k, row[c]); err != nil {
					return nil, err
				}
				if counts[k] == 0 || !bytes.Equal(key, prev[k]) {
					counts[k]++
					prev[k] = append(prev[k][:0], key...)
				}
			}
		}
		out[ix.Name] = counts
	}
	return out, nil
}

// statistics are the statistics of each index of t: its distinct keys
// counted in the image (distinct), NULLs assumed 3% as GMS's default
// statistics do (uniformDistStatisticsForIndex).
func (t *table) statistics(ctx *gsql.Context, rows uint64, distinctKeys map[string][]uint64) ([]gsql.Statistic, error) {
	size, err := t.DataLength(ctx)
	if err != nil {
		return nil, err
	}
	avg := uint64(0)
	if rows > 0 {
		avg = size / rows
	}
	name := strings.ToLower(t.Name())
	var all, notNull gsql.ColSet
	for i, c := range t.schema {
		all.Add(gsql.ColumnId(i + 1))
		if !c.Nullable {
			notNull.Add(gsql.ColumnId(i + 1))
		}
	}
	out := make([]gsql.Statistic, 0, len(t.indexes))
	for _, gi := range t.indexes {
		ix := gi.(*index)
		distinct := rows
		if d := distinctKeys[ix.ix.Name]; !ix.IsUnique() && len(d) > 0 {
			distinct = d[len(d)-1]
		}
		var cols []string
		var types []gsql.Type
		var idxCols gsql.ColSet
		strict := true
		for n, p := range ix.ix.Columns() {
			cols = append(cols, strings.ToLower(t.schema[p].Name))
			types = append(types, ix.types[n].Type)
			idxCols.Add(gsql.ColumnId(p + 1))
			strict = strict && !t.schema[p].Nullable
		}
		var strictKeys, laxKeys []gsql.ColSet
		switch {
		case !ix.IsUnique():
		case strict:
			strictKeys = append(strictKeys, idxCols)
		default:
			laxKeys = append(laxKeys, idxCols)
		}
		// The qualifier's database is what the analyzer derives from the
		// table: our tables do not name theirs, so it is empty there too.
		qual := gsql.NewStatQualifier("", "", name, strings.ToLower(ix.ID()))
		st := stats.NewStatistic(rows, distinct, uint64(float64(distinct)*.03), avg, time.Time{}, qual, cols, types, nil, gsql.IndexClassDefault, nil)
		out = append(out, st.WithFuncDeps(gsql.NewTablescanFDs(all, strictKeys, laxKeys, notNull)).WithColSet(idxCols))
	}
	return out, nil
}
