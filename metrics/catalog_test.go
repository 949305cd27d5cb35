package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogMatchesDocs: docs/metrics.md's table of series and
// breakdowns names exactly the catalog's metrics (the summary has its own
// section), so the docs cannot drift from what Series answers.
func TestCatalogMatchesDocs(t *testing.T) {
	raw, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "## Series and breakdowns")
	end := strings.Index(doc[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("docs/metrics.md has no section \"Series and breakdowns\"")
	}
	var documented []string
	for _, line := range strings.Split(doc[start:start+1+end], "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(first, -1) {
			documented = append(documented, m[1])
		}
	}
	var listed []string
	for _, m := range catalog() {
		if m.Name != "summary" {
			listed = append(listed, m.Name)
		}
	}
	slices.Sort(documented)
	slices.Sort(listed)
	if !slices.Equal(documented, listed) {
		t.Fatalf("docs/metrics.md lists %v\nthe catalog has %v", documented, listed)
	}
}
