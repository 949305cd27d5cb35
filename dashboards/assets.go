package dashboards

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"time"
)

// assets holds app.css, app.js and, when `make assets` has run before the
// build, echarts.min.js (ECharts 5.6.0 from the npm registry; git-ignored).
//
//go:embed assets
var assets embed.FS

// EChartsVersion is the ECharts release the dashboards are built for (the
// one pinned in package.json); go-echarts v2.6 expects ECharts 5.
const EChartsVersion = "5.6.0"

// MakeTarget is the make target that fetches ECharts into the embed folder.
const MakeTarget = "make assets"

// echartsJS is the embedded ECharts, nil when the build had none.
var echartsJS = func() []byte {
	b, err := assets.ReadFile("assets/echarts.min.js")
	if err != nil {
		return nil
	}
	return b
}()

// EChartsEmbedded reports whether this binary carries ECharts, the exact
// pinned version.
func EChartsEmbedded() bool {
	return echartsJS != nil && bytes.Contains(echartsJS, []byte(`version="`+EChartsVersion+`"`))
}

// built is the modification time the static files are served with.
var built = time.Now()

// staticHandler serves /static/echarts/echarts.min.js and
// /static/dashboards/{app.css,app.js} from the binary.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+assetsHost+"echarts.min.js", func(w http.ResponseWriter, r *http.Request) {
		if echartsJS == nil {
			http.Error(w, "ECharts is not in this build: run `"+MakeTarget+"` and rebuild", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeContent(w, r, "echarts.min.js", built, bytes.NewReader(echartsJS))
	})
	mux.Handle("GET /static/dashboards/", http.StripPrefix("/static/dashboards/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "app.css" && r.URL.Path != "app.js" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	return mux
}
