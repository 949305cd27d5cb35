package portal

import "net/http"

func (p *Portal) registerStatus(mux *http.ServeMux) {}
