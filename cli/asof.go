package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag of bytes: 256MiB, 1GB, 1048576.
type byteSize int64

func (b *byteSize) Set(s string) error {
	part, unit := strings.TrimSpace(s), uint64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(part, u.suffix); ok {
			part, unit = strings.TrimSpace(rest), u.bytes
			break
		}
	}
	n, err := strconv.ParseUint(part, 10, 63)
	if err != nil || n*unit/unit != n || n*unit > 1<<62 {
		return fmt.Errorf("want a size such as 256MiB or 1GB")
	}
	*b = byteSize(n * unit)
	return nil
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) + "B" }

func (b *byteSize) Type() string { return "size" }
