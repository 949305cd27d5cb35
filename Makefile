# deskpulse: `make run` starts it with demo data, `make test` runs every test
# (installing what the tests need when it is missing).

GO       ?= go
BIN      := bin/deskpulse

# duckdb_arrow: bulk loads (imports, demo data) append events as Arrow
# record batches instead of through the DuckDB Appender (ingest/import_arrow.go).
# A plain `go build` without the tag works too, with the Appender.
export GOFLAGS := -tags=duckdb_arrow $(GOFLAGS)

.PHONY: run build test deps test-deps assets bench clean fuzz

# ECharts (pinned in package.json / package-lock.json) is fetched from the
# npm registry and embedded in the binary by package dashboards; the copy
# is not committed (.gitignore).
ECHARTS  := dashboards/assets/echarts.min.js
# axe-core (pinned in package.json's devDependencies) is used only by the
# workspace's browser tests, never embedded.
AXE      := node_modules/axe-core/axe.min.js

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './node_modules/*') go.mod go.sum $(ECHARTS)
	$(GO) build -o $(BIN) ./cmd/deskpulse

# Front-end assets the dashboards embed: run before go build / vet / test.
assets: $(ECHARTS)

$(ECHARTS): package.json package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update && apt-get install -y npm; } || { echo "npm is needed to fetch ECharts: install Node.js and npm"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p $(dir $@)
	cp node_modules/echarts/dist/echarts.min.js $@

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# Builds and starts deskpulse with demo data on http://127.0.0.1:8080.
run: build
	@echo "Starting deskpulse: open http://127.0.0.1:8080/ (first start writes demo data, a few seconds)"
	./$(BIN) serve

# Tools the tests use, installed when missing (apt-get needs root).
# Chromium runs the dashboards' browser test (dashboards/browser_test.go).
test-deps: assets $(AXE)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
		else echo "Chromium is missing: run 'sudo apt-get install -y chromium' (the dashboards' browser test needs it)"; fi; \
	fi
	@if ! command -v soffice >/dev/null 2>&1 && ! command -v libreoffice >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libreoffice-calc-nogui; \
		else echo "LibreOffice is missing: run 'sudo apt-get install -y libreoffice-calc-nogui' (the workbook test reads the export with it)"; fi; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
		else echo "PostgreSQL is missing: run 'sudo apt-get install -y postgresql' (the benchmark's PostgreSQL comparison test needs it)"; fi; \
	fi
	@if ! command -v promtool >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus; \
		else echo "promtool is missing: run 'sudo apt-get install -y prometheus' (the /metrics test checks the exposition with it)"; fi; \
	fi
	@if ! command -v mailpit >/dev/null 2>&1 && [ ! -x "$$($(GO) env GOPATH)/bin/mailpit" ]; then \
		$(GO) install github.com/axllent/mailpit@v1.27.11; \
	fi

test: test-deps assets
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

# Fuzz the parsers of untrusted input, about 10-20 s each here; the corpora
# under */testdata/fuzz are committed and also run as plain tests. The
# budget is a count of inputs, not a duration: a duration can end while the
# fuzzer minimises an input, which go test reports as a failure ("context
# deadline exceeded").
FUZZFLAGS = -run '^$$' -fuzzminimizetime 10s
fuzz:
	$(GO) test ./api $(FUZZFLAGS) -fuzz '^FuzzDecodeRequest$$' -fuzztime 300000x
	$(GO) test ./ingest $(FUZZFLAGS) -fuzz '^FuzzNDJSONLine$$' -fuzztime 100000x
	$(GO) test ./ingest $(FUZZFLAGS) -fuzz '^FuzzMappedCSVRow$$' -fuzztime 300000x

# The benchmark harness (docs/benchmarks.md): generate BENCH_TICKETS tickets,
# import, metrics, exports, API writes, and PostgreSQL 15 when installed.
# E.g. make bench BENCH_TICKETS=1000000 BENCH_ARGS="--dir /tmp/dpbench".
# The per-package Go benchmarks: go test -run '^$$' -bench . ./PKG
BENCH_TICKETS ?= 100000
BENCH_ARGS    ?=
bench: build
	@pg=; if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then pg=--compare-postgres; \
	else echo "PostgreSQL is not installed, so no comparison: apt-get install postgresql adds it"; fi; \
	echo "./$(BIN) bench --tickets $(BENCH_TICKETS) $$pg $(BENCH_ARGS)"; \
	./$(BIN) bench --tickets $(BENCH_TICKETS) $$pg $(BENCH_ARGS)

clean:
	rm -rf bin testout
