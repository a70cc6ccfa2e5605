package serve

import (
	"embed"
	"net/http"
	"path"
)

// assets are the page's files, hand-written and embedded: no CDN, no build
// step.
//
//go:embed assets/index.html assets/app.js assets/app.css
var assets embed.FS

var assetTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// page serves the web page's HTML; it routes between the list of runs and
// a run's page in the browser (#/run/<id>).
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.serveAsset(w, "index.html", "text/html; charset=utf-8")
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ctype, ok := assetTypes[path.Ext(name)]
	if !ok || name != path.Base(name) {
		http.NotFound(w, r)
		return
	}
	s.serveAsset(w, name, ctype)
}

func (s *Server) serveAsset(w http.ResponseWriter, name, ctype string) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not found: /assets/"+name)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	// The page loads only its own files and talks only to this server.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(b)
}
