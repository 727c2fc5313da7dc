package sql

import (
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
// under sysbench). These are the same statistics (row count, distinct
// values, functional dependencies; no histogram), kept per table and rebuilt
// when the row count has moved by more than an eighth. Row counts are
// exact: the snapshot's.
type statsProvider struct {
	mu    sync.Mutex
	cache map[*table]*tableStats
}

type tableStats struct {
	rows  uint64
	stats []gsql.Statistic
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
	rows, _, _ := tb.RowCount(ctx)
	p.mu.Lock()
	cached := p.cache[tb]
	p.mu.Unlock()
	if cached != nil && !moved(cached.rows, rows) {
		return cached.stats, nil
	}
	st, err := tb.statistics(ctx, rows)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.cache[tb] = &tableStats{rows: rows, stats: st}
	p.mu.Unlock()
	return st, nil
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

// statistics are GMS's default statistics for each index of t, as its
// analyzer builds them (uniformDistStatisticsForIndex): non-unique indexes
// are assumed 90% distinct and 3% NULL.
func (t *table) statistics(ctx *gsql.Context, rows uint64) ([]gsql.Statistic, error) {
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
		if !ix.IsUnique() {
			distinct = uint64(float64(rows) * .90)
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
