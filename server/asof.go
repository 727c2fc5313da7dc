package server

import (
	"strconv"

	imagosql "github.com/imagodb/imago/sql"
)

// asOfStatusRows are the rows of imago.status that describe the past
// states built for AS OF and shop@N (see imago.DB.ViewAt).
func (s *Server) asOfStatusRows() []imagosql.StatusRow {
	st := s.DB().AsOfStats()
	b := st.LastBuild
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []imagosql.StatusRow{
		{Name: "as_of_cache_bytes", Value: i(st.CacheBytes)},
		{Name: "as_of_cache_limit_bytes", Value: i(st.CacheLimit)},
		{Name: "as_of_cached_states", Value: strconv.Itoa(st.CachedStates)},
		{Name: "as_of_ladder_states", Value: strconv.Itoa(st.LadderStates)},
		{Name: "as_of_hits", Value: u(st.Hits)},
		{Name: "as_of_builds", Value: u(st.Builds)},
		{Name: "as_of_last_build_seq", Value: u(b.Seq)},
		{Name: "as_of_last_build_base", Value: b.Base},
		{Name: "as_of_last_build_base_seq", Value: u(b.BaseSeq)},
		{Name: "as_of_last_build_replayed", Value: u(b.Replayed)},
		{Name: "as_of_last_build_ms", Value: i(b.Duration.Milliseconds())},
	}
}
