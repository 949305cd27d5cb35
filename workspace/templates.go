package workspace

import "html/template"

var tpl = template.Must(template.New("").ParseFS(files, "templates/*.html"))
