package dashboards

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// humanMinutes writes a duration in minutes in human units: "45 s",
// "12 min", "2 h 15 min", "3 d 4 h". nil is "–".
func humanMinutes(p *float64) string {
	if p == nil {
		return "–"
	}
	return humanDur(*p)
}

func humanDur(m float64) string {
	neg := m < 0
	if neg {
		m = -m
	}
	var s string
	switch {
	case m < 1:
		s = fmt.Sprintf("%d s", int(math.Round(m*60)))
	case m < 60:
		s = fmt.Sprintf("%d min", int(math.Round(m)))
	case m < 24*60:
		total := int(math.Round(m))
		h, mm := total/60, total%60
		if mm == 0 {
			s = fmt.Sprintf("%d h", h)
		} else {
			s = fmt.Sprintf("%d h %d min", h, mm)
		}
	default:
		total := int(math.Round(m / 60))
		d, h := total/24, total%24
		if h == 0 {
			s = fmt.Sprintf("%d d", d)
		} else {
			s = fmt.Sprintf("%d d %d h", d, h)
		}
	}
	if neg {
		return "-" + s
	}
	return s
}

// count writes an integer with thin thousands separators: 12 345.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// percent writes a percentage with one decimal, "–" for nil.
func percent(p *float64) string {
	if p == nil {
		return "–"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + " %"
}

func val(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
