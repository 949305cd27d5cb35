package api

// DescribedRoutes are the route patterns the OpenAPI document has body
// types for.
func DescribedRoutes() []string {
	var patterns []string
	for p := range bodies {
		patterns = append(patterns, p)
	}
	return patterns
}
